package deadbolt

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, snake_case error code. Clients match on it; the web
// layer maps it to an HTTP status in one place.
type Code string

// The error codes of the API. Renaming one breaks clients.
const (
	CodeBadRequest           Code = "bad_request"            // malformed request body or parameters
	CodeInvalidInput         Code = "invalid_input"          // well-formed but unacceptable values
	CodeTooLarge             Code = "request_too_large"      // body over the limit
	CodeUnauthorized         Code = "unauthorized"           // no valid session
	CodeInvalidCredentials   Code = "invalid_credentials"    // login or password wrong
	CodeInvalidCode          Code = "invalid_code"           // second-factor code wrong
	CodeDeviceDisconnected   Code = "device_disconnected"    // device token no longer valid
	CodeForbidden            Code = "forbidden"              // signed in but not allowed
	CodeSecondFactorRequired Code = "second_factor_required" // pending session used for more than the second step
	CodeSetupRequired        Code = "setup_required"         // policy demands 2FA setup first
	CodeCaptchaRequired      Code = "captcha_required"       // recovery code attempt without a solved CAPTCHA
	CodeReauthRequired       Code = "reauth_required"        // factor change without a fresh proof
	CodeNotFound             Code = "not_found"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeConflict             Code = "conflict"
	CodeLoginTaken           Code = "login_taken"
	CodePhoneInUse           Code = "phone_in_use"
	CodeLocked               Code = "locked"       // second factor locked until an administrator unlocks
	CodeRateLimited          Code = "rate_limited" // slow down; RetryAfter says how long
	CodeUnavailable          Code = "unavailable"  // a dependency (SMS provider, …) failed
	CodeInternal             Code = "internal"
)

// Error is the product's one error type. Message is safe to show a person;
// Err is internal detail for logs and never reaches a client.
type Error struct {
	Code    Code
	Message string
	// RetryAfter accompanies CodeRateLimited.
	RetryAfter time.Duration
	// CaptchaRequired accompanies CodeInvalidCode: whether the next
	// recovery-code attempt needs a solved CAPTCHA.
	CaptchaRequired *bool
	// Extra holds further public fields of the error envelope.
	Extra map[string]any
	// Err is the internal cause, if any.
	Err error
}

// Error returns the code, the message and the internal cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted public message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of the first *Error in err's chain, "" for a
// nil err, and CodeInternal for any other error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the public message of err: the message of the first
// *Error in its chain, or a generic sentence for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "An internal error occurred."
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// RateLimited returns a CodeRateLimited error asking to wait d.
func RateLimited(d time.Duration, msg string) *Error {
	if d < time.Second {
		d = time.Second
	}
	return &Error{Code: CodeRateLimited, Message: msg, RetryAfter: d}
}
