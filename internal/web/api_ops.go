package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"deadbolt/internal/deadbolt"
)

func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyTimeout bounds the readiness check of the database.
const readyTimeout = 2 * time.Second

// handleReadyz answers 200 while the server takes traffic: 503 from the
// moment it begins to drain, or when the database does not answer within
// readyTimeout.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.Draining:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openAPI)
}

// apiNoRoute answers an API request no route took: CodeMethodNotAllowed
// with an Allow header when routes take the path with other methods,
// CodeNotFound otherwise.
func (s *server) apiNoRoute(w http.ResponseWriter, r *http.Request) error {
	if allow := s.allowedMethods(r); len(allow) > 0 {
		list := strings.Join(allow, ", ")
		w.Header().Set("Allow", list)
		return deadbolt.Errorf(deadbolt.CodeMethodNotAllowed, "%s is not allowed on %s; use %s.", r.Method, r.URL.Path, list)
	}
	return deadbolt.Errorf(deadbolt.CodeNotFound, "There is nothing at %s %s.", r.Method, r.URL.Path)
}

// allowedMethods lists, sorted, the methods of the routes other than the
// API fallback that take r's path, asking the ServeMux itself so the list
// is what is registered.
func (s *server) allowedMethods(r *http.Request) []string {
	if s.mux == nil {
		return nil
	}
	var out []string
	for _, m := range s.methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != apiFallback {
			out = append(out, m)
		}
	}
	return out
}

// timeJSON formats t as RFC 3339 UTC, or nil for the zero time.
func timeJSON(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}
