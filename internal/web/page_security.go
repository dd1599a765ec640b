package web

import (
	"net/http"
	"strings"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// eventTexts are the Security page's words for the audit event types.
var eventTexts = map[string]string{
	deadbolt.EventSignIn:             "Signed in",
	deadbolt.EventSignInFailed:       "Failed sign-in",
	deadbolt.EventSecondFactorFail:   "Wrong second-factor code",
	deadbolt.EventSecondFactorLock:   "Second factor locked",
	deadbolt.EventLogout:             "Signed out",
	deadbolt.EventLogoutAll:          "Signed out of all devices",
	deadbolt.EventSessionEnded:       "Ended a session",
	deadbolt.EventPasswordChanged:    "Password changed",
	deadbolt.EventDeviceDisconnect:   "Trusted device disconnected",
	deadbolt.EventDeviceConfirmed:    "Trusted device paired",
	deadbolt.EventRecoveryGenerated:  "New recovery codes generated",
	deadbolt.EventAdminPasswordReset: "Password reset by an administrator",
	deadbolt.EventPasskeyAdded:       "Passkey added",
	deadbolt.EventPasskeyRemoved:     "Passkey removed",
	deadbolt.EventPasskeyRenamed:     "Passkey renamed",
	deadbolt.EventPasskeyCounter:     "A passkey's counter went back (a copy of it?); it was refused",
}

func (s *server) securityData(r *http.Request, a *signin.Auth) (*pageData, error) {
	list, err := s.Signin.Sessions(r.Context(), a)
	if err != nil {
		return nil, err
	}
	tf, err := s.twoFactorData(r, a)
	if err != nil {
		return nil, err
	}
	pk, err := s.passkeysData(r, a)
	if err != nil {
		return nil, err
	}
	d := &pageData{Title: "Security", User: a.User, Flash: flash(r), TwoFactor: tf, Passkeys: pk}
	for _, sess := range list {
		d.Sessions = append(d.Sessions, sessionRow{ID: sess.ID, UserAgent: sess.UserAgent, IP: sess.IP,
			Created: fmtTime(sess.CreatedAt), LastSeen: fmtTime(sess.LastSeenAt), Current: sess.ID == a.Session.ID})
	}
	events, err := s.Events.Events(r.Context(), deadbolt.EventFilter{UserID: a.User.ID, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		text, ok := eventTexts[e.Type]
		if !ok {
			text = strings.ReplaceAll(e.Type, "_", " ")
		}
		d.Events = append(d.Events, eventRow{At: fmtTime(e.At), Text: text, IP: e.IP})
	}
	return d, nil
}

func (s *server) pageSecurity(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	d, err := s.securityData(r, a)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "security", d)
}

// securityFailed shows the Security page again with an error.
func (s *server) securityFailed(w http.ResponseWriter, r *http.Request, a *signin.Auth, err error) {
	status, _ := errorBody(err)
	if status >= 500 {
		s.pageError(w, r, err)
		return
	}
	d, derr := s.securityData(r, a)
	if derr != nil {
		s.pageError(w, r, derr)
		return
	}
	d.Error = deadbolt.ErrorMessage(err)
	s.render(w, r, status, "security", d)
}

func (s *server) pagePasswordSubmit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	err := s.Signin.ChangePassword(r.Context(), a, r.PostFormValue("current"), r.PostFormValue("new"), s.client(r))
	if deadbolt.IsCode(err, deadbolt.CodeReauthRequired) && s.needFresh(w, r, a, "/security/password") {
		// The passwords typed do not travel through the confirmation
		// page: after it, the form asks for them again.
		return
	}
	if err != nil {
		s.securityFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/security?msg=password_changed", http.StatusSeeOther)
}

func (s *server) pageEndSession(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if err := s.Signin.EndSession(r.Context(), a, r.PathValue("id"), s.client(r)); err != nil {
		s.securityFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/security?msg=session_ended", http.StatusSeeOther)
}
