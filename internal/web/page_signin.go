package web

import (
	"net/http"

	"deadbolt/internal/authz"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

func (s *server) pageLogin(w http.ResponseWriter, r *http.Request) {
	// rd: an app behind forward-auth sent the browser here; it goes back
	// there after the sign-in (only to a registered app: never elsewhere).
	target, hasTarget := s.takeContinue(w, r)
	a, err := s.authenticate(r)
	if err == nil && a.User.PasswordChangeRequired && a.Session.State != deadbolt.SessionPending {
		// Signed in with a one-time password: choosing a new one is the
		// way on.
		http.Redirect(w, r, "/security/password/new", http.StatusSeeOther)
		return
	}
	if err == nil && a.Session.State == deadbolt.SessionSetup && !a.User.TwoFactorEnabled() {
		// Signed in for setup only: the way on is setup, not a bare
		// sign-in form (logging out is offered there).
		http.Redirect(w, r, "/security/2fa/setup", http.StatusSeeOther)
		return
	}
	if err == nil && a.Full() {
		if !hasTarget {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		d, _, err := s.Authz.Explain(r.Context(), target, s.sessionToken(r), func() string { return s.clientIP(r) })
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		// Signed in already: back to the app, unless it needs this
		// sign-in to have used a second factor (then sign in again below).
		if d.Outcome != authz.StepUp {
			s.clearContinue(w)
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, http.StatusOK, "login", &pageData{Title: tr(r).T("login.title"), Flash: flash(r), App: s.continueApp(r), PasskeyLogin: s.passkeyLogin()})
}

// passkeyLogin tells whether the sign-in page offers passkeys.
func (s *server) passkeyLogin() bool { return s.Passkeys != nil && s.Passkeys.Available() == nil }

func (s *server) pageLoginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	login, pw := r.PostFormValue("login"), r.PostFormValue("password")
	res, err := s.Signin.Login(r.Context(), login, pw, s.client(r))
	if err != nil {
		status := errorStatus(err)
		if status >= 500 {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, status, "login", &pageData{Title: tr(r).T("login.title"), Error: errorText(tr(r), err), Login: login, App: s.continueApp(r), PasskeyLogin: s.passkeyLogin()})
		return
	}
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	r = s.syncLanguage(w, r, res.User)
	switch res.State {
	case signin.StateSecondFactor:
		if res.Push != nil {
			http.Redirect(w, r, "/login/verify?method=push&push="+res.Push.ID, http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login/verify", http.StatusSeeOther)
	case signin.StateSetupRequired:
		http.Redirect(w, r, "/security/2fa/setup", http.StatusSeeOther)
	case signin.StatePasswordChange:
		http.Redirect(w, r, "/security/password/new", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func (s *server) pageLogout(w http.ResponseWriter, r *http.Request) {
	if a, err := s.authenticate(r); err == nil {
		if err := s.Signin.Logout(r.Context(), a, s.client(r)); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login?msg=logged_out", http.StatusSeeOther)
}

func (s *server) pageLogoutAll(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if err := s.Signin.LogoutAll(r.Context(), a, s.client(r)); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login?msg=logged_out_all", http.StatusSeeOther)
}

func (s *server) pageHome(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	tf, err := s.twoFactorData(r, a)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	banners, err := s.bannersFor(r, a, tf)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if target := s.continueTarget(r); target != "" {
		// A sign-in (or setup) that began at an app is done: back to it.
		s.clearContinue(w)
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "home", &pageData{Title: tr(r).T("home.title"), User: a.User, Flash: flash(r), TwoFactor: tf, Banners: s.bannerViews(r, banners)})
}
