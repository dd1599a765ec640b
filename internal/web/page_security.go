package web

import (
	"net/http"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/i18n"
	"deadbolt/internal/signin"
)

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
	l := tr(r)
	d := &pageData{Title: l.T("security.title"), User: a.User, Flash: flash(r), TwoFactor: tf, Passkeys: pk}
	for _, sess := range list {
		d.Sessions = append(d.Sessions, sessionRow{ID: sess.ID, Browser: browserName(l, sess.UserAgent), IP: sess.IP,
			Created: s.when(r, sess.CreatedAt), LastSeen: s.when(r, sess.LastSeenAt), Current: sess.ID == a.Session.ID})
	}
	events, err := s.Events.Events(r.Context(), deadbolt.EventFilter{UserID: a.User.ID, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		d.Events = append(d.Events, eventRow{At: s.when(r, e.At), Text: eventText(l, e.Type), IP: e.IP})
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
	status := errorStatus(err)
	if status >= 500 {
		s.pageError(w, r, err)
		return
	}
	d, derr := s.securityData(r, a)
	if derr != nil {
		s.pageError(w, r, derr)
		return
	}
	d.Error = errorText(tr(r), err)
	s.render(w, r, status, "security", d)
}

// pageNewPassword asks an employee who signed in with a one-time password
// to choose their own; anyone else changes it on the Security page.
func (s *server) pageNewPassword(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if !a.User.PasswordChangeRequired {
		http.Redirect(w, r, "/security", http.StatusSeeOther)
		return
	}
	s.newPasswordPage(w, r, a, http.StatusOK, "")
}

func (s *server) newPasswordPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, status int, errMsg string) {
	s.render(w, r, status, "password_new", &pageData{Title: tr(r).T("password_new.title"), User: a.User, Error: errMsg})
}

func (s *server) pagePasswordSubmit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if a.User.PasswordChangeRequired {
		s.pageOneTimePasswordSubmit(w, r, a)
		return
	}
	if a.Session.State == deadbolt.SessionSetup {
		// Only a one-time password is changed before the setup.
		http.Redirect(w, r, "/security/2fa/setup", http.StatusSeeOther)
		return
	}
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

// pageOneTimePasswordSubmit replaces a one-time password (typed twice),
// then goes on to the page asked for before (a deep link), else to the
// portal; a session limited to setup goes on to setup.
func (s *server) pageOneTimePasswordSubmit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	next := r.PostFormValue("new")
	if next != r.PostFormValue("repeat") {
		s.newPasswordPage(w, r, a, http.StatusBadRequest, tr(r).T("password_new.mismatch"))
		return
	}
	if err := s.Signin.ChangePassword(r.Context(), a, r.PostFormValue("current"), next, s.client(r)); err != nil {
		if status := errorStatus(err); status < 500 {
			s.newPasswordPage(w, r, a, status, errorText(tr(r), err))
			return
		}
		s.pageError(w, r, err)
		return
	}
	// The portal goes on to a page remembered before (pageHome).
	if a.Session.State == deadbolt.SessionSetup {
		http.Redirect(w, r, "/security/2fa/setup", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/?msg=password_set", http.StatusSeeOther)
}

func (s *server) pageEndSession(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if err := s.Signin.EndSession(r.Context(), a, r.PathValue("id"), s.client(r)); err != nil {
		s.securityFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/security?msg=session_ended", http.StatusSeeOther)
}

// browserName names the browser and system of a User-Agent header in l,
// as the companion app does: "Chrome on Linux".
func browserName(l *i18n.Locale, ua string) string {
	b, os := device.ParseUserAgent(ua)
	if b == "Unknown browser" {
		b = l.T("ua.unknown_browser")
	}
	if os == "Unknown system" {
		return b
	}
	return l.T("ua.browser_on", "browser", b, "os", os)
}
