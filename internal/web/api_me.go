package web

import (
	"net/http"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/phone"
	"deadbolt/internal/signin"
)

func userJSON(u *deadbolt.User) map[string]any {
	return map[string]any{
		"id":         u.ID,
		"login":      u.Login,
		"name":       u.Name,
		"email":      emailJSON(u.Email),
		"admin":      u.Admin,
		"active":     u.Active,
		"created_at": timeJSON(u.CreatedAt),
		// A one-time password (the first administrator's) is still to be
		// replaced.
		"password_change_required": u.PasswordChangeRequired,
	}
}

// emailJSON is an employee's email, null for none.
func emailJSON(e string) any {
	if e == "" {
		return nil
	}
	return e
}

// apiMe answers the employee's account, second factor and banners. With
// a session limited to setup it answers too, so the setup page can show
// what is required and by when.
func (s *server) apiMe(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	st, err := s.policyStatus(r.Context(), a.User)
	if err != nil {
		return err
	}
	d := st.Device
	var phone any
	if a.User.Phone != "" {
		phone = phoneMask(a.User.Phone)
	}
	var exempt any
	if st.State.Exempt(st.Now) {
		exempt = timeJSON(a.User.ExemptUntil)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user": userJSON(a.User),
		"session": map[string]any{
			"id": a.Session.ID, "state": a.Session.State, "expires_at": timeJSON(a.Session.ExpiresAt),
		},
		"two_factor": map[string]any{
			"enabled":             a.User.TwoFactorEnabled(),
			"device":              deviceJSON(d),
			"phone":               phone,
			"recovery_codes_left": st.State.RecoveryCodesLeft,
			"required":            st.Required,
			"deadline":            timeJSON(st.Deadline),
			"setup_required":      st.SetupRequired,
			"exempt_until":        exempt,
			"passkeys":            st.State.Passkeys,
			"min_method":          st.State.Requirement.MinMethod.String(),
			"min_method_deadline": timeJSON(st.State.Requirement.MethodDeadline),
		},
		"banners":     bannersJSON(st, deviceJSON(d), phone),
		"language":    tr(r).Code(),
		"preferences": preferencesJSON(a.User),
	})
	return nil
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (s *server) apiChangePassword(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req passwordRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := s.Signin.ChangePassword(r.Context(), a, req.Current, req.New, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

type reauthRequest struct {
	Password *string      `json:"password"`
	Method   *string      `json:"method"`
	Code     *string      `json:"code"`
	Captcha  *captchaJSON `json:"captcha"`
	// Credential is the passkey assertion of method "passkey", made for
	// POST /me/reauth/passkey/options.
	Credential *credentialJSON `json:"credential"`
}

func (s *server) apiReauth(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req reauthRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	switch {
	case req.Method != nil && *req.Method == signin.MethodPasskey && req.Credential != nil && req.Password == nil && req.Code == nil:
		if err := s.Signin.ReauthPasskey(r.Context(), a, req.Credential.raw, s.client(r)); err != nil {
			return err
		}
	case req.Credential != nil:
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, `Send {"method":"passkey","credential":{…}} for a passkey.`)
	case req.Password != nil && req.Method == nil && req.Code == nil:
		if err := s.Signin.ReauthPassword(r.Context(), a, *req.Password, s.client(r)); err != nil {
			return err
		}
	case req.Password == nil && req.Method != nil && req.Code != nil:
		var cap *signin.CaptchaAnswer
		if req.Captcha != nil {
			cap = &signin.CaptchaAnswer{ID: req.Captcha.ID, Answer: req.Captcha.Answer}
		}
		if err := s.Signin.ReauthCode(r.Context(), a, *req.Method, *req.Code, cap, s.client(r)); err != nil {
			return err
		}
	default:
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, `Send {"password"}, {"method","code"} or {"method":"passkey","credential"}.`)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func sessionJSON(sess *deadbolt.Session, currentID string) map[string]any {
	return map[string]any{
		"id":           sess.ID,
		"current":      sess.ID == currentID,
		"state":        sess.State,
		"created_at":   timeJSON(sess.CreatedAt),
		"last_seen_at": timeJSON(sess.LastSeenAt),
		"expires_at":   timeJSON(sess.ExpiresAt),
		"ip":           sess.IP,
		"user_agent":   sess.UserAgent,
	}
}

func sessionsJSON(list []*deadbolt.Session, currentID string) map[string]any {
	out := make([]any, 0, len(list))
	for _, sess := range list {
		out = append(out, sessionJSON(sess, currentID))
	}
	return map[string]any{"sessions": out}
}

func (s *server) apiMySessions(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	list, err := s.Signin.Sessions(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionsJSON(list, a.Session.ID))
	return nil
}

func (s *server) apiEndMySession(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Signin.EndSession(r.Context(), a, r.PathValue("id"), s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *server) apiMyEvents(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	f, err := eventFilter(r)
	if err != nil {
		return err
	}
	f.UserID = a.User.ID
	list, err := s.Events.Events(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, eventsJSON(list))
	return nil
}

func phoneMask(e164 string) string { return phone.Mask(e164) }
