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
	CodeBadRequest             Code = "bad_request"              // malformed request body or parameters
	CodeInvalidInput           Code = "invalid_input"            // well-formed but unacceptable values
	CodeTooLarge               Code = "request_too_large"        // body over the limit
	CodeUnauthorized           Code = "unauthorized"             // no valid session
	CodeInvalidCredentials     Code = "invalid_credentials"      // login or password wrong
	CodeInvalidCode            Code = "invalid_code"             // second-factor code wrong
	CodeDeviceDisconnected     Code = "device_disconnected"      // device token no longer valid
	CodeForbidden              Code = "forbidden"                // signed in but not allowed
	CodeAccessDenied           Code = "access_denied"            // an application does not admit this employee
	CodeSecondFactorRequired   Code = "second_factor_required"   // pending session used for more than the second step
	CodeSetupRequired          Code = "setup_required"           // policy demands 2FA setup first
	CodePasswordChangeRequired Code = "password_change_required" // a one-time password must be replaced first
	CodeCaptchaRequired        Code = "captcha_required"         // recovery code attempt without a solved CAPTCHA
	CodeReauthRequired         Code = "reauth_required"          // factor change without a fresh proof
	CodeNotFound               Code = "not_found"
	CodeMethodNotAllowed       Code = "method_not_allowed"
	CodeMisdirected            Code = "misdirected_request" // a Host this server does not answer for
	CodeConflict               Code = "conflict"
	CodeLoginTaken             Code = "login_taken"
	CodePhoneInUse             Code = "phone_in_use"
	CodeLocked                 Code = "locked"        // second factor locked until an administrator unlocks
	CodeRateLimited            Code = "rate_limited"  // slow down; RetryAfter says how long
	CodeUnavailable            Code = "unavailable"   // a dependency (database, SMS provider, …) failed or did not answer in time
	CodeLimitReached           Code = "limit_reached" // a count has reached its maximum (passkeys per employee, …)
	// CodePasskeysUnavailable: passkeys are off because the public URL's
	// host is an IP address (WebAuthn needs a domain name).
	CodePasskeysUnavailable Code = "passkeys_unavailable"
	// CodeUserVerificationRequired: a passkey sign-in without a login
	// needs the authenticator to verify the user (PIN, biometrics).
	CodeUserVerificationRequired Code = "user_verification_required"
	// CodeAdminLockout: the change would leave no active administrator
	// able to sign in.
	CodeAdminLockout Code = "admin_lockout"
	CodeInternal     Code = "internal"
)

// Error is the product's one error type. Message is safe to show a person;
// Err is internal detail for logs and never reaches a client.
//
// Stores answer with a Code and internal detail only (StoreError): words
// for a person belong to the services, which add them where they call the
// store (WithMessage). An error that reaches a client without a Message
// shows its code's general sentence (ErrorMessage).
type Error struct {
	Code    Code
	Message string
	// RetryAfter accompanies CodeRateLimited and CodeUnavailable: how long
	// to wait before trying again (the Retry-After header).
	RetryAfter time.Duration
	// CaptchaRequired accompanies CodeInvalidCode: whether the next
	// recovery-code attempt needs a solved CAPTCHA.
	CaptchaRequired *bool
	// Extra holds further public fields of the error envelope.
	Extra map[string]any
	// Err is the internal cause, if any.
	Err error
	// words are Message before formatting, so that the web layer can say
	// it in the reader's language (ErrorWords).
	words Words
}

// Words is a sentence meant for a person, kept as its English format and
// arguments so that it can be said in another language where it is shown
// (the web layer looks the format up in its message catalogue). Arguments
// that are Words themselves are translated too. Its String is the English
// sentence.
type Words struct {
	Format string
	Args   []any
}

// Phrase marks a sentence (an fmt format and its arguments) that becomes
// part of a message for a person, typically an argument of Errorf: the
// catalogue test finds every Phrase, as it finds every Errorf, so that no
// sentence goes untranslated.
func Phrase(format string, args ...any) Words { return Words{Format: format, Args: args} }

// String returns the sentence in English.
func (w Words) String() string {
	if len(w.Args) == 0 {
		return w.Format
	}
	return fmt.Sprintf(w.Format, w.Args...)
}

// Error returns the code, the message and the internal cause.
func (e *Error) Error() string {
	switch {
	case e.Message == "" && e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted public message. The
// format must be a constant sentence (a catalogue test translates every
// one); arguments that are Words are translated with it.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), words: Words{Format: format, Args: args}}
}

// StoreError returns the answer of a store that refuses a call: code, with
// the formatted internal detail as its cause and no public message.
func StoreError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// WithMessage gives err the public message msg when the first *Error in its
// chain carries code and has no message yet (a store's answer); any other
// err, nil included, is returned unchanged. The result keeps err as its
// internal cause.
func WithMessage(err error, code Code, msg string) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != code || e.Message != "" {
		return err
	}
	return &Error{Code: code, Message: msg, Err: err, words: Words{Format: msg}}
}

// WithMessagef is WithMessage with a formatted message.
func WithMessagef(err error, code Code, format string, args ...any) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != code || e.Message != "" {
		return err
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err, words: Words{Format: format, Args: args}}
}

// sentences are the general sentences of the codes, shown when an error
// reaches a person without words of its own.
var sentences = map[Code]string{
	CodeBadRequest:               "The request is malformed.",
	CodeInvalidInput:             "Some of the values sent are not acceptable.",
	CodeTooLarge:                 "The request is too large.",
	CodeUnauthorized:             "Sign in first.",
	CodeInvalidCredentials:       "The login or password is not correct.",
	CodeInvalidCode:              "The code is not correct.",
	CodeDeviceDisconnected:       "This device is disconnected. Pair it again from the Security page.",
	CodeForbidden:                "You are not allowed to do this.",
	CodeAccessDenied:             "You do not have access to this application. Ask your administrator.",
	CodeSecondFactorRequired:     "Finish signing in with your second factor first.",
	CodeSetupRequired:            "Set up two-factor authentication first.",
	CodePasswordChangeRequired:   "Choose a new password first: the one you signed in with was for one time only.",
	CodeCaptchaRequired:          "Solve the CAPTCHA first.",
	CodeReauthRequired:           "Confirm it is you again before changing this.",
	CodeNotFound:                 "What you asked for does not exist.",
	CodeMethodNotAllowed:         "This method is not allowed here.",
	CodeMisdirected:              "This server does not answer for that host name.",
	CodeConflict:                 "This conflicts with the current state. Reload and try again.",
	CodeLoginTaken:               "This login is already taken.",
	CodePhoneInUse:               "This phone number is linked to another account. Ask an administrator.",
	CodeLocked:                   "The second factor is locked. Ask an administrator to unlock it.",
	CodeRateLimited:              "Too many attempts. Wait a moment and try again.",
	CodeUnavailable:              "The service is busy. Please try again.",
	CodeInternal:                 "An internal error occurred.",
	CodeLimitReached:             "The maximum has been reached.",
	CodePasskeysUnavailable:      "Passkeys are off: the server's public address is an IP address, and passkeys need a domain name.",
	CodeUserVerificationRequired: "Your passkey did not verify you (PIN or biometrics). Sign in with your password and use the passkey as the second step.",
	CodeAdminLockout:             "This change would leave no administrator able to sign in.",
}

// Sentence returns the general sentence of code, shown when an error
// carries no message of its own; "" for a code it does not know.
func Sentence(code Code) string { return sentences[code] }

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
// *Error in its chain or, without one, the general sentence of its code; a
// generic sentence for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return sentences[CodeInternal]
	}
	if e.Message != "" {
		return e.Message
	}
	if m := sentences[e.Code]; m != "" {
		return m
	}
	return "The request failed."
}

// ErrorWords returns the public message of err as Words, for translation:
// the format and arguments it was made with, or the general sentence of
// its code (as ErrorMessage).
func ErrorWords(err error) Words {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		if e.words.Format != "" {
			return e.words
		}
		return Words{Format: e.Message}
	}
	return Words{Format: ErrorMessage(err)}
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// RateLimited returns a CodeRateLimited error asking to wait d, with a
// formatted message (a constant format, as for Errorf). The web layer adds
// how long to wait to the message.
func RateLimited(d time.Duration, format string, args ...any) *Error {
	if d < time.Second {
		d = time.Second
	}
	return &Error{Code: CodeRateLimited, Message: fmt.Sprintf(format, args...), RetryAfter: d, words: Words{Format: format, Args: args}}
}
