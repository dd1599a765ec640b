package web

import (
	"net/http"
	"time"

	"deadbolt/internal/deadbolt"
)

func (s *server) apiDevClock(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"now": s.DevClock.Now().Format(time.RFC3339Nano)})
	return nil
}

type devClockRequest struct {
	Now     *string `json:"now"`
	Advance *string `json:"advance"`
}

func (s *server) apiDevClockSet(w http.ResponseWriter, r *http.Request) error {
	var req devClockRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	switch {
	case req.Now != nil && req.Advance == nil:
		t, err := time.Parse(time.RFC3339Nano, *req.Now)
		if err != nil {
			return deadbolt.Errorf(deadbolt.CodeInvalidInput, "now must be an RFC 3339 time.")
		}
		s.DevClock.Set(t)
	case req.Advance != nil && req.Now == nil:
		d, err := time.ParseDuration(*req.Advance)
		if err != nil {
			return deadbolt.Errorf(deadbolt.CodeInvalidInput, `advance must be a duration such as "36h" or "90s".`)
		}
		s.DevClock.Advance(d)
	default:
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, `Send either {"now"} or {"advance"}.`)
	}
	return s.apiDevClock(w, r)
}

func (s *server) apiDevSMS(w http.ResponseWriter, r *http.Request) error {
	msgs := []DevMessage{}
	if s.DevOutbox != nil {
		msgs = append(msgs, s.DevOutbox()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
	return nil
}
