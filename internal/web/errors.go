package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/policy"
)

// statusOf is the one place an error code becomes an HTTP status.
func statusOf(code deadbolt.Code) int {
	switch code {
	case deadbolt.CodeBadRequest, deadbolt.CodeInvalidInput:
		return http.StatusBadRequest
	case deadbolt.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case deadbolt.CodeUnauthorized, deadbolt.CodeInvalidCredentials, deadbolt.CodeInvalidCode, deadbolt.CodeDeviceDisconnected:
		return http.StatusUnauthorized
	case deadbolt.CodeForbidden, deadbolt.CodeAccessDenied, deadbolt.CodeSecondFactorRequired, deadbolt.CodeSetupRequired,
		deadbolt.CodeCaptchaRequired, deadbolt.CodeReauthRequired:
		return http.StatusForbidden
	case deadbolt.CodeNotFound:
		return http.StatusNotFound
	case deadbolt.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case deadbolt.CodeMisdirected:
		return http.StatusMisdirectedRequest
	case deadbolt.CodeConflict, deadbolt.CodeLoginTaken, deadbolt.CodePhoneInUse:
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

// errorBody is the error envelope of every API error.
func errorBody(err error) (int, map[string]any) {
	code := deadbolt.ErrorCode(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code = deadbolt.CodeUnavailable
	}
	inner := map[string]any{"code": code, "message": deadbolt.ErrorMessage(err)}
	var e *deadbolt.Error
	if errors.As(err, &e) {
		for k, v := range e.Extra {
			inner[k] = v
		}
		if e.RetryAfter > 0 {
			inner["retry_after"] = retrySeconds(e)
		}
		if e.CaptchaRequired != nil {
			inner["captcha_required"] = *e.CaptchaRequired
		}
	}
	if code == deadbolt.CodeUnavailable && e == nil {
		inner["message"] = "The service is busy. Please try again."
	}
	return statusOf(code), map[string]any{"error": inner}
}

func retrySeconds(e *deadbolt.Error) int64 {
	s := int64(e.RetryAfter.Seconds())
	if float64(s) < e.RetryAfter.Seconds() {
		s++
	}
	return max(s, 1)
}

// writeError answers an API request with the error envelope. Internal
// errors are logged with their detail; the client sees a generic message.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorBody(err)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var e *deadbolt.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(retrySeconds(e), 10))
	}
	writeJSON(w, status, body)
}

// logQuiet logs at debug level: expected failures are not noise.
func (s *server) logQuiet(r *http.Request, msg string, args ...any) {
	s.log.Log(r.Context(), slog.LevelDebug, msg, args...)
}
