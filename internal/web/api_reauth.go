package web

import (
	"net/http"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// apiReauthPush sends a push request that renews this session's fresh
// proof once approved on the trusted device with its number.
func (s *server) apiReauthPush(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := decodeJSON(w, r, &struct{}{}, true); err != nil {
		return err
	}
	p, err := s.Signin.ReauthPush(r.Context(), a, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pushJSON(p))
	return nil
}

// apiReauthPushStatus reports (and with ?wait= long-polls) a reauth push
// request; on approval the session is freshly proven.
func (s *server) apiReauthPushStatus(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	status, err := s.Signin.WaitReauthPush(r.Context(), a, r.PathValue("id"), wait, s.Draining, s.client(r))
	if err != nil {
		return err
	}
	body := map[string]any{"status": status}
	if status == deadbolt.PushApproved {
		body["fresh_until"] = timeJSON(a.Session.AuthAt.Add(s.Signin.Config().FreshProof))
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
