// Package sms sends sign-in codes by text message through one of several
// providers behind the small Sender interface: Log (development: the log and
// an in-memory outbox), a generic HTTP webhook, and Twilio's Messages API.
//
// Text messages carry only server wording and a code (see Body); nothing an
// employee typed ever goes into one. No sender writes a code, a message body
// or a provider credential into a log line or an error.
package sms

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"deadbolt/internal/i18n"
)

// Message is one text message to send.
type Message struct {
	// To is the recipient in E.164 form, such as "+14155550143".
	To string
	// Body is the full text, built by Body or BodyExpiring.
	Body string
	// Code is the code alone. Only the Log provider's outbox keeps it, so
	// that development tools can read it; it is never logged.
	Code string
}

// Sender sends text messages. Implementations in this package are safe for
// concurrent use.
type Sender interface {
	// Send sends m once; it never retries. It returns nil when the provider
	// accepted the message, or an error that matches (errors.Is) exactly
	// one of:
	//   - ErrInvalidMessage: m was refused before anything was sent;
	//   - ErrUnavailable: the provider could not be reached or answered
	//     with an error (then often a *ProviderError); the message was not
	//     accepted and may be sent again;
	//   - ErrAmbiguous: the request reached the provider but no answer came
	//     back (timeout, connection reset), so the message may have been
	//     delivered. Callers must not resend it automatically.
	Send(ctx context.Context, m Message) error
}

var (
	// ErrUnavailable marks errors for which the provider certainly did not
	// accept the message: outage, refused connection, error response.
	ErrUnavailable = errors.New("sms provider unavailable")
	// ErrAmbiguous marks errors after which the message may or may not
	// have been delivered. Do not resend automatically after it.
	ErrAmbiguous = errors.New("sms delivery unknown")
	// ErrInvalidMessage marks a Message refused before sending: a To that
	// is not E.164, or an empty, oversized or malformed Body.
	ErrInvalidMessage = errors.New("invalid sms message")
)

// ProviderError is a provider's error response. It matches ErrUnavailable.
// Message is a short extract of the provider's answer with every
// non-printable character removed and the recipient number, the code and
// the credentials blanked out.
type ProviderError struct {
	// Provider is "webhook" or "twilio".
	Provider string
	// Status is the HTTP status code of the answer.
	Status int
	// Code is the provider's own error code (Twilio's "code"), or 0.
	Code int
	// Message is the provider's sanitized explanation, possibly empty.
	Message string
}

// Error describes the provider's answer.
func (e *ProviderError) Error() string {
	s := "sms: " + e.Provider + ": " + ErrUnavailable.Error() + ": status " + strconv.Itoa(e.Status)
	if e.Code != 0 {
		s += ", code " + strconv.Itoa(e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns ErrUnavailable.
func (e *ProviderError) Unwrap() error { return ErrUnavailable }

// DefaultCodeLifetime is how long a sign-in code sent by SMS stays valid
// unless configured otherwise; Body states it.
const DefaultCodeLifetime = 5 * time.Minute

// Maximum lengths enforced by every Sender.
const (
	maxBodyBytes = 1600 // Twilio's limit for one message
	minCodeLen   = 4
	maxCodeLen   = 10
)

// Body returns the text of a sign-in code message stating the default
// lifetime of five minutes:
//
//	Your Deadbolt sign-in code is 123456. It expires in 5 minutes. Do not share it.
//
// It returns "" when code is not 4 to 10 ASCII digits, and every Sender
// refuses an empty Body, so nothing else can reach a message through it.
// Body is safe for concurrent use.
func Body(code string) string {
	return BodyExpiring(code, DefaultCodeLifetime)
}

// BodyExpiring is Body for a code valid for lifetime, stated in whole
// minutes rounded up (at least one). It returns "" when code is not 4 to 10
// ASCII digits or lifetime is not positive. It is safe for concurrent use.
func BodyExpiring(code string, lifetime time.Duration) string {
	return BodyIn(i18n.English(), code, lifetime)
}

// BodyIn is BodyExpiring in the language l (the catalogue's "sms.code"):
// server wording and the code, nothing a person typed.
func BodyIn(l *i18n.Locale, code string, lifetime time.Duration) string {
	if !isCode(code) || lifetime <= 0 {
		return ""
	}
	minutes := int((lifetime + time.Minute - 1) / time.Minute)
	return l.T("sms.code", "code", code, "n", minutes)
}

func isCode(s string) bool {
	if len(s) < minCodeLen || len(s) > maxCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isE164 reports whether s is "+" followed by 7 to 15 digits, the first
// not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validate checks m before any provider sees it. Its errors name the field
// but never repeat its value.
func (m Message) validate() error {
	if !isE164(m.To) {
		return fmt.Errorf("sms: recipient is not an E.164 number: %w", ErrInvalidMessage)
	}
	if m.Body == "" {
		return fmt.Errorf("sms: empty body: %w", ErrInvalidMessage)
	}
	if len(m.Body) > maxBodyBytes {
		return fmt.Errorf("sms: body longer than %d bytes: %w", maxBodyBytes, ErrInvalidMessage)
	}
	if !utf8.ValidString(m.Body) {
		return fmt.Errorf("sms: body is not UTF-8: %w", ErrInvalidMessage)
	}
	for _, r := range m.Body {
		if r < 0x20 && r != '\n' || r == 0x7f {
			return fmt.Errorf("sms: body contains a control character: %w", ErrInvalidMessage)
		}
	}
	return nil
}
