package web

import (
	"net/http"

	"deadbolt/internal/signin"
)

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

func (s *server) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	res, err := s.Signin.Login(r.Context(), req.Login, req.Password, s.client(r))
	if err != nil {
		return err
	}
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	writeJSON(w, http.StatusOK, loginJSON(res))
	return nil
}

func loginJSON(res *signin.Result) map[string]any {
	methods := res.Methods
	if methods == nil {
		methods = []string{}
	}
	m := map[string]any{
		"state":            res.State,
		"session_token":    res.Token,
		"expires_at":       timeJSON(res.Session.ExpiresAt),
		"methods":          methods,
		"captcha_required": res.CaptchaRequired,
		"locked":           res.Locked,
	}
	if res.Push != nil {
		m["push"] = pushJSON(res.Push)
	}
	if res.PushUnavailable != "" {
		m["push_unavailable"] = res.PushUnavailable
	}
	return m
}

func (s *server) apiLogout(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Signin.Logout(r.Context(), a, s.client(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *server) apiLogoutAll(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Signin.LogoutAll(r.Context(), a, s.client(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}
