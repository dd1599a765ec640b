package web

import (
	"net/http"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
	"deadbolt/internal/smscode"
)

// smsService returns the SMS service, or CodeUnavailable when the server
// runs without one.
func (s *server) smsService() (*smscode.Service, error) {
	if s.SMS == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeUnavailable, "Text messages are not set up on this server.")
	}
	return s.SMS, nil
}

// writeSent answers a sent code: the masked number and the wait before
// another may be asked for, in whole seconds.
func writeSent(w http.ResponseWriter, to string, resend time.Duration) {
	secs := int64(resend / time.Second)
	if resend%time.Second != 0 {
		secs++
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent_to": to, "resend_after": secs})
}

// apiLoginSMS sends a sign-in code for the pending session.
func (s *server) apiLoginSMS(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.smsService()
	if err != nil {
		return err
	}
	// A locked second factor cannot be proved: send nothing.
	if err := s.Signin.RequireUnlocked(r.Context(), a.User.ID); err != nil {
		return err
	}
	to, resend, err := svc.SendLogin(r.Context(), a.User, a.Session.ID, s.clientIP(r))
	if err != nil {
		return err
	}
	writeSent(w, to, resend)
	return nil
}

// apiReauthSMS sends a code that renews the session's fresh proof through
// POST /me/reauth {"method":"sms","code"}.
func (s *server) apiReauthSMS(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.smsService()
	if err != nil {
		return err
	}
	// A locked second factor cannot be proved: send nothing.
	if err := s.Signin.RequireUnlocked(r.Context(), a.User.ID); err != nil {
		return err
	}
	to, resend, err := svc.SendReauth(r.Context(), a.User, a.Session.ID, s.clientIP(r))
	if err != nil {
		return err
	}
	writeSent(w, to, resend)
	return nil
}

type phoneRequest struct {
	Phone string `json:"phone"`
}

// apiStartPhone sends a code to the number the employee wants to link.
func (s *server) apiStartPhone(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req phoneRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	svc, err := s.smsService()
	if err != nil {
		return err
	}
	to, resend, err := svc.StartLink(r.Context(), a.User, req.Phone, s.clientIP(r))
	if err != nil {
		return err
	}
	writeSent(w, to, resend)
	return nil
}

// apiConfirmPhone links the number once its code is right.
func (s *server) apiConfirmPhone(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req codeRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	svc, err := s.smsService()
	if err != nil {
		return err
	}
	e164, err := svc.ConfirmLink(r.Context(), a.User, req.Code, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "phone": phoneMask(e164)})
	return nil
}

// apiRemovePhone unlinks the employee's number.
func (s *server) apiRemovePhone(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	svc, err := s.smsService()
	if err != nil {
		return err
	}
	if err := svc.Remove(r.Context(), a.User, s.clientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// apiPhoneHolder tells an administrator which account holds a number.
func (s *server) apiPhoneHolder(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.smsService()
	if err != nil {
		return err
	}
	u, err := svc.Holder(r.Context(), r.PathValue("e164"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"phone": phoneMask(u.Phone),
		"user":  map[string]any{"id": u.ID, "login": u.Login, "name": u.Name, "active": u.Active},
	})
	return nil
}

// apiAdminRemovePhone frees an employee's number.
func (s *server) apiAdminRemovePhone(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.smsService()
	if err != nil {
		return err
	}
	u, err := s.Accounts.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := svc.RemoveByAdmin(r.Context(), u, a.User.ID, s.clientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// smsAvailable reports whether this server can send text messages.
func (s *server) smsAvailable() bool { return s.SMS.Enabled() }
