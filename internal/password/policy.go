package password

import (
	"strconv"
	"unicode"
	"unicode/utf8"
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
}

// Error returns e.Message.
func (e *PolicyError) Error() string { return e.Message }

// Validate checks a password someone wants to set: it must be valid UTF-8, at
// most MaxBytes bytes long, free of control characters (NUL, line breaks,
// tabs, DEL, C1 controls), and at least MinLength characters long, counted as
// Unicode code points. It returns nil or a *PolicyError for the first rule
// broken, in that order. Existing passwords are never checked against it. It
// is safe for concurrent use.
func Validate(password string) error {
	if !utf8.ValidString(password) {
		return &PolicyError{RuleInvalidUTF8, "The password contains bytes that are not valid text."}
	}
	if len(password) > MaxBytes {
		return &PolicyError{RuleTooLong, "The password must not be longer than " + strconv.Itoa(MaxBytes) + " bytes."}
	}
	n := 0
	for _, r := range password {
		if unicode.IsControl(r) {
			return &PolicyError{RuleControl, "The password must not contain control characters such as tabs or line breaks."}
		}
		n++
	}
	if n < MinLength {
		return &PolicyError{RuleTooShort, "The password must have at least " + strconv.Itoa(MinLength) + " characters."}
	}
	return nil
}
