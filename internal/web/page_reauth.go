package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// The "Confirm it is you" page (/security/reauth) renews the session's
// fresh proof by any method the employee has — push (with the number and
// its QR code), a code from the app, an SMS code, a recovery code (with the
// CAPTCHA rule), or the password for employees without a second factor —
// and then carries on with the action that asked for it, so the employee
// does not click it again.
//
// What it carries on with is one of a fixed set of continuations, named by
// the action's own path in next; anything else goes back to Security (no
// open redirect). A GET action (the pairing wizard, the phone form) is
// reached by a redirect. A POST action (new recovery codes, disconnecting
// the device, removing the phone) is performed only after the proof, and
// only inside a POST of this page — the one that gave the proof, or
// "continue" once a push was approved — so CrossOriginProtection covers it
// and no GET ever performs it. Nothing the employee typed for the action
// travels through this page: a password change asks for the passwords
// again after the proof (they never sit in a URL or in this page).

// continuation is an action a fresh proof can carry on with.
type continuation struct {
	// Next is the action's path, what ?next= names.
	Next string
	// For is the catalogue key of the page's sentence naming the action:
	// "To <do it>, confirm it is you first."
	For string
	// Redirect is where a GET action goes after the proof.
	Redirect string
	// Post: a POST action, performed after the proof (server.perform).
	Post bool
	// full: the action's route is for full sessions only (routes.go), so
	// a session limited to setup does not carry on with it either.
	full bool
}

// continuations are the only actions the confirmation page carries on
// with; the first is the default.
var continuations = []*continuation{
	{Next: "/security", For: "reauth.for.settings", Redirect: "/security"},
	{Next: "/security/2fa/setup", For: "reauth.for.pair", Redirect: "/security/2fa/setup"},
	{Next: "/security/phone", For: "reauth.for.phone", Redirect: "/security/phone"},
	{Next: "/security/password", For: "reauth.for.password", Redirect: "/security?msg=reauth_password#password-section"},
	{Next: "/security/recovery-codes", For: "reauth.for.codes", Post: true},
	{Next: "/security/2fa/device/remove", For: "reauth.for.disconnect", Post: true, full: true},
	{Next: "/security/phone/remove", For: "reauth.for.phone_remove", Post: true, full: true},
}

// continuationFor returns the continuation next names, or the default.
// Besides the fixed set, a confirmation asked for by an application
// (OpenID Connect step-up) carries on with its pending request.
func continuationFor(next string) *continuation {
	if oidcContinueRef(next) != "" {
		return &continuation{Next: next, For: "continue to the application", Redirect: next}
	}
	for _, c := range continuations {
		if c.Next == next {
			return c
		}
	}
	return continuations[0]
}

// reauthURL is the confirmation page for the continuation, with the
// method (and push request) to show; empty values are left out.
func reauthURL(next, method, push string) string {
	q := url.Values{"next": {continuationFor(next).Next}}
	if method != "" {
		q.Set("method", method)
	}
	if push != "" {
		q.Set("push", push)
	}
	return "/security/reauth?" + q.Encode()
}

// needFresh sends the employee to the confirmation page, to carry on with
// next afterwards, when the session's proof is too old, and reports
// whether it did. When the action was a POST (so CrossOriginProtection
// vouched for it) and push is the employee's first method, the push
// request is sent at once, as at sign-in.
func (s *server) needFresh(w http.ResponseWriter, r *http.Request, a *signin.Auth, next string) bool {
	if err := s.Signin.RequireFresh(a); err == nil {
		return false
	}
	target := reauthURL(next, "", "")
	if r.Method == http.MethodPost && a.Full() && a.User.TwoFactorEnabled() {
		if methods, err := s.Signin.Methods(r.Context(), a.User); err == nil && len(methods) > 0 && methods[0] == signin.MethodPush {
			if p, err := s.Signin.ReauthPush(r.Context(), a, s.client(r)); err == nil {
				target = reauthURL(next, signin.MethodPush, p.ID)
			}
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return true
}

// reauthNext is the continuation a confirmation request names (the query
// of a GET, the form of a POST).
func reauthNext(r *http.Request) *continuation {
	if r.Method == http.MethodPost {
		return continuationFor(r.PostFormValue("next"))
	}
	return continuationFor(r.URL.Query().Get("next"))
}

func (s *server) pageReauth(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.reauthPageWith(w, r, a, r.URL.Query().Get("method"), http.StatusOK, "", nil)
}

// reauthPageWith renders the confirmation page for method (the first the
// employee has when it is not one of theirs); more fills in extras.
func (s *server) reauthPageWith(w http.ResponseWriter, r *http.Request, a *signin.Auth, method string, status int, errMsg string, more func(*pageData)) {
	ctx, l := r.Context(), tr(r)
	next := reauthNext(r)
	d := &pageData{Title: l.T("reauth.title"), User: a.User, Next: next.Next, ReauthFor: l.T(next.For), Error: errMsg}
	if ref := oidcContinueRef(next.Next); ref != "" && s.OIDC != nil {
		if app, err := s.OIDC.Pending(ctx, ref); err == nil {
			d.App, d.ReauthFor = app.Name, l.T("reauth.for.app", "app", app.Name)
		}
	}
	if a.User.TwoFactorEnabled() {
		methods, err := s.Signin.Methods(ctx, a.User)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if len(methods) == 0 {
			s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeForbidden, "None of your second factors can be used now. Contact your administrator."))
			return
		}
		d.Method = methods[0]
		for _, m := range methods {
			if m == method {
				d.Method = m
			}
		}
		d.Methods = methodLinks(l, methods)
		paused, wait, err := s.Signin.PushPaused(ctx, a.User)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if paused != "" && slices.Contains(methods, signin.MethodPush) {
			d.PushPaused = true
			if method == "" && d.Method == signin.MethodPush && len(methods) > 1 {
				d.Method = methods[1]
			}
		}
		if errMsg == "" {
			if err := s.Signin.RequireUnlocked(ctx, a.User.ID); deadbolt.IsCode(err, deadbolt.CodeLocked) {
				d.Error = errorText(tr(r), err)
			}
		}
		switch d.Method {
		case signin.MethodPush:
			d.PushNote = l.T("reauth.push.send_note")
			if d.PushPaused {
				d.PushNote = pausedText(l, paused, wait)
			}
			if id := r.FormValue("push"); id != "" {
				p, err := s.Signin.ReauthPushFor(ctx, a, id)
				if err == nil && p.StatusAt(s.Clock.Now()) == deadbolt.PushPending {
					if d.Push, err = newPushView(p); err != nil {
						s.pageError(w, r, err)
						return
					}
				} else if err == nil && !d.PushPaused {
					d.PushNote = l.T("verify.push.gone")
				}
			}
		case signin.MethodRecovery:
			if err := s.recoveryCaptcha(w, r, a, d); err != nil {
				s.pageError(w, r, err)
				return
			}
		case signin.MethodSMS:
			d.PhoneMasked = phoneMask(a.User.Phone)
			if s.SMS != nil && a.User.Phone != "" {
				if sent, wait, err := s.SMS.ReauthSent(ctx, a.User, a.Session.ID); err == nil && sent {
					d.SentTo, d.ResendAfter = d.PhoneMasked, secondsUp(wait)
				}
			}
		}
	}
	if more != nil {
		more(d)
	}
	s.render(w, r, status, "reauth", d)
}

// reauthFailed shows the confirmation page again with the error of a
// proof that did not go through.
func (s *server) reauthFailed(w http.ResponseWriter, r *http.Request, a *signin.Auth, method string, err error) {
	status := errorStatus(err)
	if status >= 500 && !deadbolt.IsCode(err, deadbolt.CodeUnavailable) {
		s.pageError(w, r, err)
		return
	}
	if deadbolt.IsCode(err, deadbolt.CodeUnauthorized) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.reauthPageWith(w, r, a, method, status, errorText(tr(r), err), func(d *pageData) {
		if method == signin.MethodRecovery && deadbolt.IsCode(err, deadbolt.CodeCaptchaRequired) {
			d.CodeInput = r.PostFormValue("code")
		}
	})
}

// pageReauthSubmit takes a code (or, without a second factor, the
// password) and carries on.
func (s *server) pageReauthSubmit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	method := r.PostFormValue("method")
	var err error
	if a.User.TwoFactorEnabled() {
		err = s.Signin.ReauthCode(r.Context(), a, method, r.PostFormValue("code"), s.formCaptcha(r), s.client(r))
	} else {
		err = s.Signin.ReauthPassword(r.Context(), a, r.PostFormValue("password"), s.client(r))
	}
	if err != nil {
		s.reauthFailed(w, r, a, method, err)
		return
	}
	s.carryOn(w, r, reauthNext(r))
}

// pageReauthPushNew sends a push request for the confirmation.
func (s *server) pageReauthPushNew(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	p, err := s.Signin.ReauthPush(r.Context(), a, s.client(r))
	if err != nil {
		s.reauthFailed(w, r, a, signin.MethodPush, err)
		return
	}
	http.Redirect(w, r, reauthURL(r.PostFormValue("next"), signin.MethodPush, p.ID), http.StatusSeeOther)
}

// pageReauthPushCheck is the no-JavaScript "I approved it" button: it
// collects the approval and carries on.
func (s *server) pageReauthPushCheck(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	id := r.PostFormValue("id")
	status, err := s.Signin.WaitReauthPush(r.Context(), a, id, 0, nil, s.client(r))
	if err != nil {
		s.reauthFailed(w, r, a, signin.MethodPush, err)
		return
	}
	switch status {
	case deadbolt.PushApproved:
		s.carryOn(w, r, reauthNext(r))
	case deadbolt.PushPending:
		http.Redirect(w, r, reauthURL(r.PostFormValue("next"), signin.MethodPush, id), http.StatusSeeOther)
	default:
		s.reauthPageWith(w, r, a, signin.MethodPush, http.StatusOK, tr(r).T("verify.push.ended"), nil)
	}
}

// pageReauthContinue carries on once the page saw the push approved (the
// long poll collected it).
func (s *server) pageReauthContinue(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	r.ParseForm()
	s.carryOn(w, r, reauthNext(r))
}

// pageReauthSMS sends an SMS code for the confirmation, unless the second
// factor is locked.
func (s *server) pageReauthSMS(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	r.ParseForm()
	svc, err := s.smsService()
	if err == nil {
		err = s.Signin.RequireUnlocked(r.Context(), a.User.ID)
	}
	var to string
	var resend time.Duration
	if err == nil {
		to, resend, err = svc.SendReauth(r.Context(), a.User, a.Session.ID, s.clientIP(r))
	}
	if err != nil {
		s.reauthFailed(w, r, a, signin.MethodSMS, err)
		return
	}
	s.reauthPageWith(w, r, a, signin.MethodSMS, http.StatusOK, "", func(d *pageData) {
		d.SentTo, d.ResendAfter = to, secondsUp(resend)
	})
}

// carryOn performs the continuation for a session that has just given its
// proof: it reads the session again (the proof renewed it in the store)
// and, while it is fresh, redirects to a GET action or performs a POST
// one. A session that is not fresh (the proof expired meanwhile, or a
// "continue" came without one) goes back to the confirmation page.
func (s *server) carryOn(w http.ResponseWriter, r *http.Request, c *continuation) {
	a, err := s.authenticate(r)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err := s.Signin.RequireFresh(a); err != nil {
		http.Redirect(w, r, reauthURL(c.Next, "", ""), http.StatusSeeOther)
		return
	}
	if !c.Post {
		http.Redirect(w, r, c.Redirect, http.StatusSeeOther)
		return
	}
	if c.full && !a.Full() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if r.Method != http.MethodPost {
		// Never reached: only POST handlers carry on. A GET performs
		// nothing.
		http.Redirect(w, r, "/security", http.StatusSeeOther)
		return
	}
	s.perform(w, r, a, c)
}

// perform runs a POST continuation's own handler.
func (s *server) perform(w http.ResponseWriter, r *http.Request, a *signin.Auth, c *continuation) {
	switch c.Next {
	case "/security/recovery-codes":
		s.pageRecoveryCodes(w, r, a)
	case "/security/2fa/device/remove":
		s.pageRemoveDevice(w, r, a)
	case "/security/phone/remove":
		s.pagePhoneRemove(w, r, a)
	default:
		http.Redirect(w, r, "/security", http.StatusSeeOther)
	}
}
