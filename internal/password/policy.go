package password

import (
	"errors"
	"unicode"
	"unicode/utf8"

	"deadbolt/internal/deadbolt"
)

const (
	// MinLength is the least number of characters (Unicode code points) of
	// a new password.
	MinLength = 8
	// MaxBytes is the largest size of a new password in bytes (UTF-8).
	MaxBytes = 1024
)

// Rules a new password can break, as PolicyError.Rule.
const (
	RuleInvalidUTF8 = "invalid_utf8"
	RuleTooLong     = "too_long"
	RuleControl     = "control_character"
	RuleTooShort    = "too_short"
)

// PolicyError reports a new password that breaks the policy.
type PolicyError struct {
	// Rule names the broken rule, one of the Rule constants.
	Rule string
	// Message explains the rule to the person choosing the password; it
	// never quotes the password.
	Message string
	// Words are Message before formatting, for translation.
	Words deadbolt.Words
}

// Error returns e.Message.
func (e *PolicyError) Error() string { return e.Message }

func policyError(rule string, w deadbolt.Words) *PolicyError {
	return &PolicyError{Rule: rule, Message: w.String(), Words: w}
}

// Explain returns the words of a Validate error, for a message to the
// person who chose the password: a *PolicyError's own, else the error's
// text.
func Explain(err error) deadbolt.Words {
	var pe *PolicyError
	if errors.As(err, &pe) {
		return pe.Words
	}
	return deadbolt.Phrase("%s", err.Error())
}

// Validate checks a password someone wants to set: it must be valid UTF-8, at
// most MaxBytes bytes long, free of control characters (NUL, line breaks,
// tabs, DEL, C1 controls), and at least MinLength characters long, counted as
// Unicode code points. It returns nil or a *PolicyError for the first rule
// broken, in that order. Existing passwords are never checked against it. It
// is safe for concurrent use.
func Validate(password string) error {
	if !utf8.ValidString(password) {
		return policyError(RuleInvalidUTF8, deadbolt.Phrase("The password contains bytes that are not valid text."))
	}
	if len(password) > MaxBytes {
		return policyError(RuleTooLong, deadbolt.Phrase("The password must not be longer than %d bytes.", MaxBytes))
	}
	n := 0
	for _, r := range password {
		if unicode.IsControl(r) {
			return policyError(RuleControl, deadbolt.Phrase("The password must not contain control characters such as tabs or line breaks."))
		}
		n++
	}
	if n < MinLength {
		return policyError(RuleTooShort, deadbolt.Phrase("The password must have at least %d characters.", MinLength))
	}
	return nil
}
