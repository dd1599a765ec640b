package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/oidc"
	"deadbolt/internal/signin"
)

// The OpenID Connect endpoints translate HTTP into calls on oidc.Provider:
// the rules live there. Errors of the direct endpoints (token, userinfo,
// revocation, introspection) answer in OAuth's own format,
// {"error","error_description"}, as relying-party libraries expect.

// oidcContinueRef returns the pending request a continuation path
// (/oidc/continue?ref=…) names, "" for any other target.
func oidcContinueRef(target string) string {
	if ref, ok := strings.CutPrefix(target, oidc.PathContinue+"?ref="); ok && deadbolt.ValidID(ref) {
		return ref
	}
	return ""
}

// continueApp names the application the browser is signing into (the
// pending OpenID Connect request its continue cookie names), "" when none
// or when the request lapsed.
func (s *server) continueApp(r *http.Request) string {
	ref := oidcContinueRef(s.continueTarget(r))
	if ref == "" || s.OIDC == nil {
		return ""
	}
	app, err := s.OIDC.Pending(r.Context(), ref)
	if err != nil {
		return ""
	}
	return app.Name
}

// browserSession is the session of a browser's cookie, nil when there is
// none or it ended.
func (s *server) browserSession(r *http.Request) (*signin.Auth, error) {
	c, err := r.Cookie(s.cookie.name)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	a, err := s.Signin.Authenticate(r.Context(), c.Value)
	if deadbolt.IsCode(err, deadbolt.CodeUnauthorized) {
		return nil, nil
	}
	return a, err
}

func (s *server) oidcDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	json.NewEncoder(w).Encode(s.OIDC.Discovery())
}

func (s *server) oidcJWKS(w http.ResponseWriter, r *http.Request) {
	set, err := s.OIDC.Keys.JWKS(r.Context())
	if err != nil {
		s.oauthError(w, r, &oidc.Error{Code: oidc.ErrTemporarilyUnavailable, Description: "The keys cannot be read now.", Status: 503, Cause: err})
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	json.NewEncoder(w).Encode(set)
}

func (s *server) oidcAuthorize(w http.ResponseWriter, r *http.Request) {
	a, err := s.browserSession(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.oidcOutcome(w, r, s.OIDC.Authorize(r.Context(), r.URL.Query(), a, s.client(r)))
}

func (s *server) oidcContinue(w http.ResponseWriter, r *http.Request) {
	a, err := s.browserSession(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.oidcOutcome(w, r, s.OIDC.Continue(r.Context(), r.URL.Query().Get("ref"), a, s.client(r)))
}

// oidcOutcome sends the browser where an authorization request leads.
func (s *server) oidcOutcome(w http.ResponseWriter, r *http.Request, out oidc.Outcome) {
	// The sign-in, confirmation and setup pages end at the home page,
	// which follows the continue cookie back here.
	cont := oidc.PathContinue + "?ref=" + out.Ref
	switch out.Next {
	case oidc.NextRedirect:
		if oidcContinueRef(s.continueTarget(r)) != "" {
			s.clearContinue(w)
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, out.RedirectURL, http.StatusFound)
	case oidc.NextLogin:
		s.setContinue(w, cont)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case oidc.NextStepUp:
		s.setContinue(w, cont)
		http.Redirect(w, r, reauthURL(cont, "", ""), http.StatusSeeOther)
	case oidc.NextSetup:
		s.setContinue(w, cont)
		http.Redirect(w, r, "/security/2fa/setup", http.StatusSeeOther)
	default: // denied, or nowhere to go back to
		if oidcContinueRef(s.continueTarget(r)) != "" {
			s.clearContinue(w)
		}
		s.pageError(w, r, out.Err)
	}
}

// oauthEndpoint reports whether path is an OAuth endpoint that machine
// clients post forms to.
func oauthEndpoint(path string) bool {
	switch path {
	case oidc.PathToken, oidc.PathUserInfo, oidc.PathRevoke, oidc.PathIntrospect:
		return true
	}
	return false
}

// clientCredentials reads HTTP Basic client authentication (RFC 6749
// §2.3.1: the id and secret are form-encoded inside it).
func clientCredentials(r *http.Request) oidc.ClientCredentials {
	h := r.Header.Get("Authorization")
	if h == "" {
		return oidc.ClientCredentials{}
	}
	scheme, _, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "basic") {
		return oidc.ClientCredentials{}
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return oidc.ClientCredentials{Basic: true, BasicMalformed: true}
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return oidc.ClientCredentials{Basic: true, BasicMalformed: true}
	}
	return oidc.ClientCredentials{Basic: true, BasicID: id, BasicSecret: secret}
}

// oauthForm reads an application/x-www-form-urlencoded body strictly: at
// most 64 KiB, valid encoding, parameters in the body only.
func oauthForm(w http.ResponseWriter, r *http.Request) (url.Values, *oidc.Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &oidc.Error{Code: oidc.ErrInvalidRequest, Description: "The body must be application/x-www-form-urlencoded.", Status: 400}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &oidc.Error{Code: oidc.ErrInvalidRequest, Description: "The body is too large.", Status: 413}
	}
	if err != nil {
		return nil, &oidc.Error{Code: oidc.ErrInvalidRequest, Description: "The body could not be read.", Status: 400}
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &oidc.Error{Code: oidc.ErrInvalidRequest, Description: "The body is not a valid form.", Status: 400}
	}
	return v, nil
}

// oauthError answers a direct OAuth request with its error.
func (s *server) oauthError(w http.ResponseWriter, r *http.Request, e *oidc.Error) {
	if e.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", e)
	}
	if e.Status == http.StatusUnauthorized {
		if e.Code == oidc.ErrInvalidToken {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+e.Description+`"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="deadbolt"`)
		}
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	oauthJSON(w, e.Status, map[string]any{"error": e.Code, "error_description": e.Description})
}

func oauthJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *server) oidcToken(w http.ResponseWriter, r *http.Request) {
	form, e := oauthForm(w, r)
	if e != nil {
		s.oauthError(w, r, e)
		return
	}
	resp, e := s.OIDC.Token(r.Context(), clientCredentials(r), form)
	if e != nil {
		s.oauthError(w, r, e)
		return
	}
	oauthJSON(w, http.StatusOK, resp)
}

func (s *server) oidcUserInfo(w http.ResponseWriter, r *http.Request) {
	tok := bearer(r)
	if tok == "" && r.Method == http.MethodPost {
		// RFC 6750 §2.2: the token in the form body.
		if form, e := oauthForm(w, r); e == nil && len(form["access_token"]) == 1 {
			tok = form.Get("access_token")
		}
	}
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="deadbolt"`)
		oauthJSON(w, http.StatusUnauthorized, map[string]any{"error": oidc.ErrInvalidRequest, "error_description": "A bearer access token is required."})
		return
	}
	claims, e := s.OIDC.UserInfo(r.Context(), tok)
	if e != nil {
		s.oauthError(w, r, e)
		return
	}
	oauthJSON(w, http.StatusOK, claims)
}

func (s *server) oidcRevoke(w http.ResponseWriter, r *http.Request) {
	form, e := oauthForm(w, r)
	if e != nil {
		s.oauthError(w, r, e)
		return
	}
	if e := s.OIDC.Revoke(r.Context(), clientCredentials(r), form); e != nil {
		s.oauthError(w, r, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *server) oidcIntrospect(w http.ResponseWriter, r *http.Request) {
	form, e := oauthForm(w, r)
	if e != nil {
		s.oauthError(w, r, e)
		return
	}
	resp, e := s.OIDC.Introspect(r.Context(), clientCredentials(r), form)
	if e != nil {
		s.oauthError(w, r, e)
		return
	}
	oauthJSON(w, http.StatusOK, resp)
}

// logoutView is the RP-initiated logout confirmation page.
type logoutView struct {
	App      string
	SignedIn bool
	Login    string
	// Fields are the request's parameters, posted back on confirmation.
	Fields []logoutField
}

type logoutField struct{ Name, Value string }

// oidcLogoutPage asks the employee to confirm signing out (a GET never
// ends a session). The confirmation posts the same parameters back.
func (s *server) oidcLogoutPage(w http.ResponseWriter, r *http.Request) {
	lr, err := s.OIDC.EndSession(r.Context(), r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a, err := s.browserSession(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if a == nil {
		// Nothing to end: go back at once.
		if lr.RedirectURL != "" {
			http.Redirect(w, r, lr.RedirectURL, http.StatusFound)
			return
		}
		s.render(w, r, http.StatusOK, "logout", &pageData{Title: tr(r).T("oidc_logout.done_title"), Console: &logoutView{App: appName(lr)}})
		return
	}
	v := &logoutView{App: appName(lr), SignedIn: true, Login: a.User.Login}
	for _, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if val := r.URL.Query().Get(name); val != "" {
			v.Fields = append(v.Fields, logoutField{name, val})
		}
	}
	s.render(w, r, http.StatusOK, "logout", &pageData{Title: tr(r).T("oidc_logout.title"), User: a.User, Console: v})
}

func appName(lr *oidc.LogoutRequest) string {
	if lr.App == nil {
		return ""
	}
	return lr.App.Name
}

// oidcLogoutSubmit ends the session (its applications are told by
// back-channel logout) and returns to the application when it asked to.
func (s *server) oidcLogoutSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeBadRequest, "The sign-out form could not be read."))
		return
	}
	q := url.Values{}
	for _, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if vs := r.PostForm[name]; len(vs) > 0 {
			q[name] = vs
		}
	}
	lr, err := s.OIDC.EndSession(r.Context(), q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a, err := s.browserSession(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if a != nil {
		if err := s.Signin.Logout(r.Context(), a, s.client(r)); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w)
	if lr.RedirectURL != "" {
		http.Redirect(w, r, lr.RedirectURL, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "logout", &pageData{Title: tr(r).T("oidc_logout.done_title"), Console: &logoutView{App: appName(lr)}})
}
