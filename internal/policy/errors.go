package policy

import (
	"deadbolt/internal/deadbolt"
)

// Error codes returned by Act in addition to the shared ones of package
// deadbolt (deadbolt.CodeNotFound for an unknown banner kind,
// deadbolt.CodeInvalidInput for an invalid policy or setting).
const (
	// CodeBannerNotClosable: the banner is shown but cannot be closed or
	// put off now (two-factor setup is past its deadline).
	CodeBannerNotClosable deadbolt.Code = "banner_not_closable"
	// CodeBannerNotShown: the banner's condition does not hold, so there is
	// nothing to close or confirm.
	CodeBannerNotShown deadbolt.Code = "banner_not_shown"
	// CodeInvalidAction: the action is unknown, or not one this kind of
	// banner offers.
	CodeInvalidAction deadbolt.Code = "invalid_action"
)

func errorf(code deadbolt.Code, field, format string, args ...any) *deadbolt.Error {
	e := deadbolt.Errorf(code, format, args...)
	if field != "" {
		e.Extra = map[string]any{"field": field}
	}
	return e
}
