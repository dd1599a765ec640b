package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/policy"
)

// statusOf is the one place an error code becomes an HTTP status.
func statusOf(code deadbolt.Code) int {
	switch code {
	case deadbolt.CodeBadRequest, deadbolt.CodeInvalidInput:
		return http.StatusBadRequest
	case deadbolt.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case deadbolt.CodeUnauthorized, deadbolt.CodeInvalidCredentials, deadbolt.CodeInvalidCode, deadbolt.CodeDeviceDisconnected,
		deadbolt.CodeUserVerificationRequired:
		return http.StatusUnauthorized
	case deadbolt.CodeForbidden, deadbolt.CodeAccessDenied, deadbolt.CodeSecondFactorRequired, deadbolt.CodeSetupRequired,
		deadbolt.CodePasswordChangeRequired, deadbolt.CodeCaptchaRequired, deadbolt.CodeReauthRequired:
		return http.StatusForbidden
	case deadbolt.CodeNotFound:
		return http.StatusNotFound
	case deadbolt.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case deadbolt.CodeMisdirected:
		return http.StatusMisdirectedRequest
	case deadbolt.CodeConflict, deadbolt.CodeLoginTaken, deadbolt.CodePhoneInUse, deadbolt.CodeLimitReached,
		deadbolt.CodePasskeysUnavailable, deadbolt.CodeAdminLockout:
		return http.StatusConflict
	case policy.CodeBannerNotClosable, policy.CodeBannerNotShown:
		return http.StatusConflict
	case policy.CodeInvalidAction:
		return http.StatusBadRequest
	case deadbolt.CodeLocked:
		return http.StatusLocked
	case deadbolt.CodeRateLimited:
		return http.StatusTooManyRequests
	case deadbolt.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// defaultRetryAfter is the wait an unavailable answer suggests when the
// error names none (a request cut off by an ended context).
const defaultRetryAfter = 2 * time.Second

// errorCode is the code err answers with: a cancelled or timed-out call is
// CodeUnavailable.
func errorCode(err error) deadbolt.Code {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return deadbolt.CodeUnavailable
	}
	return deadbolt.ErrorCode(err)
}

// errorStatus is the HTTP status err answers with.
func errorStatus(err error) int { return statusOf(errorCode(err)) }

// errorText is the public message of err in l: its words translated, and
// for a refusal that says how long to wait, that wait in words. An error
// without an *Error (an internal failure, a cancelled call) shows the
// general sentence of its code.
func errorText(l *i18n.Locale, err error) string {
	code := errorCode(err)
	var e *deadbolt.Error
	if !errors.As(err, &e) {
		return l.Words(deadbolt.Words{Format: deadbolt.Sentence(code)})
	}
	msg := l.Error(err)
	if e.Code == deadbolt.CodeRateLimited && e.RetryAfter > 0 {
		msg += " " + l.T("error.retry_in", "duration", l.Duration(e.RetryAfter))
	}
	return msg
}

// errorBody is the error envelope of every API error, its message in l;
// the code never changes with the language.
func errorBody(l *i18n.Locale, err error) (int, map[string]any) {
	code := errorCode(err)
	inner := map[string]any{"code": code, "message": errorText(l, err)}
	var e *deadbolt.Error
	if errors.As(err, &e) {
		for k, v := range e.Extra {
			inner[k] = v
		}
		if e.CaptchaRequired != nil {
			inner["captcha_required"] = *e.CaptchaRequired
		}
	}
	if wait := retryAfter(err); wait > 0 {
		inner["retry_after"] = wait
	}
	return statusOf(code), map[string]any{"error": inner}
}

// retryAfter is the whole seconds (rounded up) err asks a client to wait
// before trying again, 0 for none: the error's RetryAfter, or
// defaultRetryAfter for a request cut off by an ended context.
func retryAfter(err error) int64 {
	d := time.Duration(0)
	var e *deadbolt.Error
	switch {
	case errors.As(err, &e) && e.RetryAfter > 0:
		d = e.RetryAfter
	case e == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		d = defaultRetryAfter
	default:
		return 0
	}
	s := int64(d / time.Second)
	if time.Duration(s)*time.Second < d {
		s++
	}
	return max(s, 1)
}

// setRetryAfter sends the Retry-After header err asks for, if any.
func setRetryAfter(w http.ResponseWriter, err error) {
	if wait := retryAfter(err); wait > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(wait, 10))
	}
}

// logFailure logs a failed request's cause once: server failures as
// errors, an unavailable dependency as a warning, and nothing for a client
// that went away (it hears no answer).
func (s *server) logFailure(r *http.Request, status int, msg string, err error) {
	switch {
	case status < 500 || r.Context().Err() != nil:
	case status == http.StatusServiceUnavailable:
		s.log.WarnContext(r.Context(), msg, "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		s.log.ErrorContext(r.Context(), msg, "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

// writeError answers an API request with the error envelope. Internal
// errors are logged with their detail; the client sees a generic message.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	l := tr(r)
	status, body := errorBody(l, err)
	w.Header().Set("Content-Language", l.Code())
	s.logFailure(r, status, "request failed", err)
	setRetryAfter(w, err)
	writeJSON(w, status, body)
}

// logQuiet logs at debug level: expected failures are not noise.
func (s *server) logQuiet(r *http.Request, msg string, args ...any) {
	s.log.Log(r.Context(), slog.LevelDebug, msg, args...)
}
