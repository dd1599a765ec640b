package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"deadbolt/internal/captcha"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/i18n"
	"deadbolt/internal/policy"
	"deadbolt/internal/signin"
)

// methodLink is one entry of "Other login methods".
type methodLink struct{ Name, Label string }

// methodLinks labels the methods in l (the catalogue's "method.<name>").
func methodLinks(l *i18n.Locale, methods []string) []methodLink {
	out := make([]methodLink, 0, len(methods))
	for _, m := range methods {
		out = append(out, methodLink{Name: m, Label: l.T("method." + m)})
	}
	return out
}

type captchaView struct{ ID, Image, Audio string }

// pushView is a push request as a page shows it: the number large, in
// groups of digits, and as a QR code the companion app can scan.
type pushView struct {
	ID     string
	Number int
	Digits int
	// Groups are the number's digits in display groups ("482", "913"):
	// the grouping is only shown, never part of what is typed.
	Groups []string
	// QR is a data: URL of our own PNG holding just the digits.
	QR template.URL
}

// numberQRSize is the width of the number's QR code in pixels.
const numberQRSize = 168

// newPushView prepares a push request for a page.
func newPushView(p *deadbolt.PushRequest) (*pushView, error) {
	digits := strconv.Itoa(p.Number)
	png, err := device.QRCode(digits, numberQRSize)
	if err != nil {
		return nil, err
	}
	return &pushView{ID: p.ID, Number: p.Number, Digits: len(digits), Groups: groupDigits(digits),
		QR: template.URL(pngDataURL(png))}, nil
}

// groupDigits splits a number's digits in two groups for reading: 482913
// → 482 913, 4829135 → 4829 135, 48291357 → 4829 1357.
func groupDigits(d string) []string {
	if len(d) < 4 {
		return []string{d}
	}
	half := (len(d) + 1) / 2
	return []string{d[:half], d[half:]}
}

type offerView struct {
	ID, URL, Expires string
	// QR is a data: URL of our own PNG, safe to put in src.
	QR template.URL
}

type twoFactorView struct {
	Enabled      bool
	Device       *deadbolt.Device
	DevicePaired string
	CodesLeft    int
	Phone        string
	// SMSAvailable tells whether this server can send text messages.
	SMSAvailable bool
}

type bannerView struct {
	Kind     string
	Closable bool
	Deadline string
	Actions  []bannerAction
	// Passkey tells that the banner asks for a passkey.
	Passkey bool
}

type bannerAction struct{ Kind, Action, Label string }

func (s *server) verifyPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, method string, status int, errMsg string) {
	s.verifyPageWith(w, r, a, method, status, errMsg, nil)
}

// verifyPageWith renders the second-factor page; more fills in extras.
func (s *server) verifyPageWith(w http.ResponseWriter, r *http.Request, a *signin.Auth, method string, status int, errMsg string, more func(*pageData)) {
	ctx := r.Context()
	methods, err := s.Signin.Methods(ctx, a.User)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if len(methods) == 0 {
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeForbidden, "None of your second factors can be used now. Contact your administrator."))
		return
	}
	found := false
	for _, m := range methods {
		found = found || m == method
	}
	if !found {
		method = methods[0]
	}
	if errMsg == "" {
		// Say so at once when nothing can work.
		if err := s.Signin.RequireUnlocked(ctx, a.User.ID); deadbolt.IsCode(err, deadbolt.CodeLocked) {
			errMsg = errorText(tr(r), err)
		}
	}
	l := tr(r)
	d := &pageData{Title: l.T("verify.title"), Method: method, Methods: methodLinks(l, methods), Error: errMsg, App: s.continueApp(r)}
	paused, wait, err := s.Signin.PushPaused(ctx, a.User)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if paused != "" && slices.Contains(methods, signin.MethodPush) {
		// Say that pushes are paused, and offer the other methods first.
		d.PushPaused = true
		if !found && len(methods) > 1 {
			for _, m := range methods {
				if m != signin.MethodPush {
					d.Method, method = m, m
					break
				}
			}
		}
		if errMsg == "" {
			d.Flash = pausedText(l, paused, wait)
		}
	}
	if method == signin.MethodPush {
		d.PushNote = l.T("verify.push.send_note")
		if d.PushPaused {
			d.PushNote = pausedText(l, paused, wait)
		}
		if id := r.FormValue("push"); id != "" {
			p, err := s.Signin.PushFor(ctx, a, id)
			if err == nil && p.StatusAt(s.Clock.Now()) == deadbolt.PushPending {
				if d.Push, err = newPushView(p); err != nil {
					s.pageError(w, r, err)
					return
				}
			} else if err == nil && !d.PushPaused {
				d.PushNote = l.T("verify.push.gone")
			}
		}
	}
	if method == signin.MethodRecovery {
		if err := s.recoveryCaptcha(w, r, a, d); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	if method == signin.MethodSMS && a.User.Phone != "" {
		d.PhoneMasked = phoneMask(a.User.Phone)
		if d.SentTo == "" && s.SMS != nil {
			// A code sent earlier in this sign-in is not forgotten: the
			// page says so and counts down to the next one.
			if sent, wait, err := s.SMS.LoginSent(ctx, a.User, a.Session.ID); err == nil && sent {
				d.SentTo, d.ResendAfter = d.PhoneMasked, secondsUp(wait)
			}
		}
	}
	if more != nil {
		more(d)
	}
	s.render(w, r, status, "verify", d)
}

func (s *server) pageVerify(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.verifyPage(w, r, a, r.URL.Query().Get("method"), http.StatusOK, "")
}

func (s *server) pageVerifySubmit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	method := r.PostFormValue("method")
	res, err := s.Signin.SecondFactor(r.Context(), a, method, r.PostFormValue("code"), s.formCaptcha(r), s.client(r))
	if err != nil {
		status := errorStatus(err)
		if status >= 500 || deadbolt.IsCode(err, deadbolt.CodeUnauthorized) {
			s.pageError(w, r, err)
			return
		}
		s.verifyPageWith(w, r, a, method, status, errorText(tr(r), err), func(d *pageData) {
			if method == signin.MethodRecovery && deadbolt.IsCode(err, deadbolt.CodeCaptchaRequired) {
				// Only the CAPTCHA was wrong: keep the code typed.
				d.CodeInput = r.PostFormValue("code")
			}
		})
		return
	}
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	http.Redirect(w, r, afterSignIn(res), http.StatusSeeOther)
}

// afterSignIn is where a completed sign-in goes: home, or setup when its
// session is limited to that.
func afterSignIn(res *signin.Result) string {
	if res.State == signin.StateSetupRequired {
		return "/security/2fa/setup"
	}
	return "/"
}

// pausedText says that pushes are paused, why, and for how long.
func pausedText(l *i18n.Locale, reason string, wait time.Duration) string {
	if reason == device.UnavailableMuted {
		return l.T("verify.push.muted", "duration", l.Duration(wait))
	}
	return l.T("verify.push.limited", "duration", l.Duration(wait))
}

func (s *server) pageSetup(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	// rd: an app requiring two-factor authentication sent the employee
	// here; once set up, the home page sends them back to it.
	s.takeContinue(w, r)
	if s.needFresh(w, r, a, "/security/2fa/setup") {
		return
	}
	o, err := s.Devices.StartPairing(r.Context(), a.User)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pk, err := s.passkeysData(r, a)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	l := tr(r)
	d := &pageData{Title: l.T("setup.page_title"), User: a.User, Step: 1, Error: flashError(r),
		Offer: &offerView{ID: o.ID, URL: o.URL, QR: template.URL(pngDataURL(o.QRPNG)), Expires: s.when(r, o.ExpiresAt)}, Passkeys: pk}
	if a.Session.State == deadbolt.SessionSetup {
		// Signing in led straight here: say why, and by whom.
		d.SetupOnly = true
		d.SetupNote = l.T("setup.required_note")
		if st, err := s.policyStatus(r.Context(), a.User); err == nil && !st.Deadline.IsZero() {
			d.SetupNote = l.T("setup.required_note_deadline", "deadline", s.when(r, st.Deadline))
		}
		if s.Workgroups != nil {
			if names, err := s.Workgroups.RequiredBy(r.Context(), a.User); err == nil && len(names) > 0 {
				key := "setup.required_by_group"
				if len(names) > 1 {
					key = "setup.required_by_groups"
				}
				d.SetupBy = l.T(key, "groups", strings.Join(names, ", "))
			}
		}
	}
	if s.PublicURL != nil && namesThisMachine(hostName(s.PublicURL.Host)) {
		d.PublicNote = l.T("setup.loopback_note", "url", s.PublicURL.String())
	}
	s.render(w, r, http.StatusOK, "setup", d)
}

// flashError maps an error key of a redirect to fixed words.
func flashError(r *http.Request) string {
	switch r.URL.Query().Get("error") {
	case "code":
		return tr(r).T("setup.error.code")
	case "notpaired":
		return tr(r).T("setup.error.not_paired")
	}
	return ""
}

func (s *server) pageSetupConfirm(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security/2fa/setup") {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	_, err := s.Devices.Confirm(r.Context(), a.User, r.PostFormValue("pairing_id"), r.PostFormValue("code"), s.clientIP(r))
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeInvalidCode):
		http.Redirect(w, r, "/security/2fa/setup?error=code", http.StatusSeeOther)
		return
	case deadbolt.IsCode(err, deadbolt.CodeNotFound):
		http.Redirect(w, r, "/security/2fa/setup?error=notpaired", http.StatusSeeOther)
		return
	case err != nil:
		s.pageError(w, r, err)
		return
	}
	// The second factor is on: the pairing voided any old codes, so the
	// wizard's next step is a fresh set.
	u, err := s.Accounts.Self(r.Context(), a.User.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a.User = u
	s.showNewCodes(w, r, a)
}

func (s *server) showNewCodes(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	codes, err := s.Signin.GenerateRecoveryCodes(r.Context(), a, s.client(r))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	l := tr(r)
	text := l.T("codes.file_header", "login", a.User.Login) + "\n\n" + strings.Join(codes, "\n") + "\n"
	d := &pageData{Title: l.T("codes.title"), User: a.User, Codes: codes, SMSAvailable: s.smsAvailable(),
		CodesFile: template.URL("data:text/plain;charset=utf-8," + url.PathEscape(text)),
		// A session for setup only goes on by signing in again, now with
		// the second factor.
		SetupOnly: a.Session.State == deadbolt.SessionSetup}
	if s.continueTarget(r) != "" {
		// Set up for an application that waits: the home page goes back.
		d.Next, d.App = "/", cmpOr(s.continueApp(r), l.T("codes.the_app"))
	}
	s.render(w, r, http.StatusOK, "codes", d)
}

func (s *server) pageRecoveryCodes(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security/recovery-codes") {
		return
	}
	s.showNewCodes(w, r, a)
}

func (s *server) pageRemoveDevice(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security/2fa/device/remove") {
		return
	}
	if err := s.Devices.Remove(r.Context(), a.User, s.clientIP(r)); err != nil {
		s.securityFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/security?msg=device_removed", http.StatusSeeOther)
}

// twoFactorData fills the two-factor view of a page.
func (s *server) twoFactorData(r *http.Request, a *signin.Auth) (*twoFactorView, error) {
	d, err := s.Devices.Trusted(r.Context(), a.User)
	if err != nil {
		return nil, err
	}
	left, err := s.Signin.RecoveryCodesLeft(r.Context(), a.User)
	if err != nil {
		return nil, err
	}
	v := &twoFactorView{Enabled: a.User.TwoFactorEnabled(), Device: d, CodesLeft: left, SMSAvailable: s.smsAvailable()}
	if d != nil {
		v.DevicePaired = s.when(r, d.ConfirmedAt)
	}
	if a.User.Phone != "" {
		v.Phone = phoneMask(a.User.Phone)
	}
	return v, nil
}

// bannerViews turns banners into what the home page shows.
func (s *server) bannerViews(r *http.Request, list []policy.Banner) []bannerView {
	l := tr(r)
	var out []bannerView
	for _, b := range list {
		v := bannerView{Kind: string(b.Kind), Closable: b.Closable, Passkey: b.MinMethod == policy.MinPhishingResistant, Deadline: s.when(r, b.Deadline)}
		for _, act := range b.Actions {
			v.Actions = append(v.Actions, bannerAction{Kind: string(b.Kind), Action: string(act), Label: l.T("banner.action." + string(act))})
		}
		out = append(out, v)
	}
	return out
}

// bannersFor lists the banners to show the employee now.
func (s *server) bannersFor(r *http.Request, a *signin.Auth, tf *twoFactorView) ([]policy.Banner, error) {
	st, err := s.policyStatus(r.Context(), a.User)
	if err != nil {
		return nil, err
	}
	return st.Banners, nil
}

// pageBannerAction closes, postpones or confirms a banner from the home
// page.
func (s *server) pageBannerAction(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	svc, err := s.workgroupsService()
	if err == nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		_, _, err = svc.Act(r.Context(), a.User, r.PathValue("kind"), r.PostFormValue("action"), s.clientIP(r))
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// pagePushCheck is the no-JavaScript "I approved it" button.
func (s *server) pagePushCheck(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	id := r.PostFormValue("id")
	out, err := s.Signin.WaitPush(r.Context(), a, id, 0, nil, s.client(r))
	if err != nil {
		s.verifyPage(w, r, a, signin.MethodPush, http.StatusOK, errorText(tr(r), err))
		return
	}
	switch out.Status {
	case deadbolt.PushApproved:
		s.setSessionCookie(w, out.Result.Token, out.Result.Session.ExpiresAt)
		http.Redirect(w, r, afterSignIn(out.Result), http.StatusSeeOther)
	case deadbolt.PushPending:
		http.Redirect(w, r, "/login/verify?method=push&push="+url.QueryEscape(id), http.StatusSeeOther)
	default:
		if out.Reported {
			// "This wasn't me": the page says pushes are paused, and why,
			// and opens on another method.
			s.verifyPage(w, r, a, "", http.StatusOK, "")
			return
		}
		s.verifyPage(w, r, a, signin.MethodPush, http.StatusOK, tr(r).T("verify.push.ended"))
	}
}

// pagePushNew sends a fresh push request.
func (s *server) pagePushNew(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	p, err := s.Signin.NewPush(r.Context(), a, s.client(r))
	if err != nil {
		status := errorStatus(err)
		s.verifyPage(w, r, a, signin.MethodPush, status, errorText(tr(r), err))
		return
	}
	http.Redirect(w, r, "/login/verify?method=push&push="+url.QueryEscape(p.ID), http.StatusSeeOther)
}

// recoveryCaptcha puts the CAPTCHA on a recovery-code form when the
// employee's next recovery code needs one: the hosted widget (with the
// Content-Security-Policy its script needs) or a new built-in challenge.
func (s *server) recoveryCaptcha(w http.ResponseWriter, r *http.Request, a *signin.Auth, d *pageData) error {
	if s.HostedCaptcha == nil && s.Captcha == nil {
		return nil
	}
	need, err := s.Signin.CaptchaRequired(r.Context(), a.User)
	if err != nil || !need {
		return err
	}
	if s.HostedCaptcha != nil {
		d.HostedCaptcha = hostedWidget(s.HostedCaptcha)
		w.Header().Set("Content-Security-Policy", d.HostedCaptcha.csp)
		return nil
	}
	c, err := s.Captcha.New(r.Context(), s.Clock.Now())
	if err != nil {
		return err
	}
	// The digits are read out in the page's language where there is a
	// voice for it (captcha.AudioLanguage), in English otherwise.
	d.Captcha = &captchaView{ID: c.ID, Image: "/api/v1/captcha/" + c.ID + "/image.png",
		Audio: "/api/v1/captcha/" + c.ID + "/audio.wav?lang=" + url.QueryEscape(tr(r).Code())}
	return nil
}

// formCaptcha reads the solved CAPTCHA a recovery-code form sent, if any.
func (s *server) formCaptcha(r *http.Request) *signin.CaptchaAnswer {
	var cap *signin.CaptchaAnswer
	if id := r.PostFormValue("captcha_id"); id != "" {
		cap = &signin.CaptchaAnswer{ID: id, Answer: r.PostFormValue("captcha_answer")}
	}
	if h := s.HostedCaptcha; h != nil {
		if tok := r.PostFormValue(hostedWidget(h).Field); tok != "" {
			cap = &signin.CaptchaAnswer{ID: "hosted", Answer: tok}
		}
	}
	return cap
}

// hostedView is a hosted CAPTCHA widget on the recovery page.
type hostedView struct {
	Class, SiteKey, Script, Field string
	csp                           string
}

// hostedWidget describes the widget of the configured provider, and the
// page's Content-Security-Policy that lets its script and frame load.
func hostedWidget(h *captcha.Hosted) *hostedView {
	v := &hostedView{SiteKey: h.SiteKey()}
	var origins string
	switch h.Provider() {
	case captcha.ProviderHCaptcha:
		v.Class, v.Script, v.Field = "h-captcha", "https://js.hcaptcha.com/1/api.js", "h-captcha-response"
		origins = "https://hcaptcha.com https://*.hcaptcha.com"
	default:
		v.Class, v.Script, v.Field = "cf-turnstile", "https://challenges.cloudflare.com/turnstile/v0/api.js", "cf-turnstile-response"
		origins = "https://challenges.cloudflare.com"
	}
	v.csp = "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' " + origins +
		"; script-src 'self' " + origins + "; frame-src " + origins + "; connect-src 'self' " + origins +
		"; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return v
}
