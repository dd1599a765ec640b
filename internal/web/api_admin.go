package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"deadbolt/internal/accounts"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

func (s *server) actor(r *http.Request, a *signin.Auth) accounts.Actor {
	return accounts.Actor{User: a.User, IP: s.clientIP(r)}
}

func (s *server) apiListUsers(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	list, err := s.Accounts.List(r.Context(), s.actor(r, a))
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, u := range list {
		out = append(out, userJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

type createUserRequest struct {
	Login    string `json:"login"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

func (s *server) apiCreateUser(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req createUserRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	u, err := s.Accounts.Create(r.Context(), s.actor(r, a), accounts.NewUser{
		Login: req.Login, Name: req.Name, Email: req.Email, Password: req.Password, Admin: req.Admin,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

func (s *server) apiGetUser(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	u, err := s.Accounts.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (s *server) apiSetActive(active bool) authHandler {
	return func(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
		u, err := s.Accounts.SetActive(r.Context(), s.actor(r, a), r.PathValue("id"), active)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, userJSON(u))
		return nil
	}
}

type resetPasswordRequest struct {
	Password string `json:"password"`
}

func (s *server) apiResetPassword(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req resetPasswordRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := s.Accounts.ResetPassword(r.Context(), s.actor(r, a), r.PathValue("id"), req.Password); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *server) apiUserSessions(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	list, err := s.Accounts.Sessions(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionsJSON(list, a.Session.ID))
	return nil
}

func (s *server) apiEndUserSessions(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Accounts.EndSessions(r.Context(), s.actor(r, a), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// eventFilter reads the audit filters of a query string.
func eventFilter(r *http.Request) (deadbolt.EventFilter, error) {
	q := r.URL.Query()
	f := deadbolt.EventFilter{UserID: q.Get("user_id"), Type: q.Get("type"), BeforeID: q.Get("before")}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, deadbolt.Errorf(deadbolt.CodeBadRequest, "%s must be an RFC 3339 time.", name)
			}
			*dst = t
		}
	}
	if v := q.Get("before"); v != "" {
		if _, err := strconv.ParseUint(v, 10, 63); err != nil {
			return f, deadbolt.Errorf(deadbolt.CodeBadRequest, "before must be an event id.")
		}
	}
	f.Limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, deadbolt.Errorf(deadbolt.CodeBadRequest, "limit must be between 1 and 1000.")
		}
		f.Limit = n
	}
	return f, nil
}

func eventJSON(e *deadbolt.Event) map[string]any {
	detail := e.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	m := map[string]any{"id": e.ID, "type": e.Type, "at": timeJSON(e.At), "user_id": e.UserID, "ip": e.IP, "detail": detail}
	if e.ActorID != "" {
		m["actor_id"] = e.ActorID
	}
	return m
}

func eventsJSON(list []*deadbolt.Event) map[string]any {
	out := make([]any, 0, len(list))
	for _, e := range list {
		out = append(out, eventJSON(e))
	}
	return map[string]any{"events": out}
}

// apiAudit lists the audit log; ?format=jsonl exports JSON lines.
func (s *server) apiAudit(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	f, err := eventFilter(r)
	if err != nil {
		return err
	}
	list, err := s.Events.Events(r.Context(), f)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "jsonl" {
		w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="deadbolt-audit.jsonl"`)
		enc := json.NewEncoder(w)
		for _, e := range list {
			enc.Encode(eventJSON(e))
		}
		return nil
	}
	writeJSON(w, http.StatusOK, eventsJSON(list))
	return nil
}
