package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/totp"
)

// The OpenID Connect tests act as relying parties with an independent
// client library (github.com/coreos/go-oidc and golang.org/x/oauth2)
// against real servers, and drive the sign-in pages like a browser
// without JavaScript: a cookie jar, forms posted as a browser posts them.

// rpApp is an application registered for a test.
type rpApp struct {
	ID, ClientID, Secret string
	Redirect             string
}

// newRPApp registers an OIDC application; extra fields go into the body.
func newRPApp(t *testing.T, s *deadbolttest.Server, admin, name string, public bool, extra map[string]any) rpApp {
	t.Helper()
	redirect := "http://127.0.0.1:" + freeishPort(name) + "/callback"
	body := map[string]any{"name": name, "kind": "oidc", "public": public, "redirect_uris": []string{redirect}}
	for k, v := range extra {
		body[k] = v
	}
	if uris, ok := body["redirect_uris"].([]string); ok && len(uris) > 0 {
		redirect = uris[0]
	}
	m := e2eStatus(t, "register "+name, e2eCall(t, s, "POST", "/api/v1/admin/apps", admin, body), http.StatusCreated)
	secret, _ := m["client_secret"].(string)
	return rpApp{ID: m["id"].(string), ClientID: m["client_id"].(string), Secret: secret, Redirect: redirect}
}

// freeishPort gives each app name its own port number in its redirect
// URI (nothing listens there: the browser stops at the redirect).
func freeishPort(name string) string {
	n := 20000
	for _, c := range name {
		n = (n*31 + int(c)) % 40000
	}
	return strconv.Itoa(20000 + n)
}

// browser is a cookie-keeping HTTP client that follows redirects within
// Deadbolt and stops at any other host (the application's redirect URI).
type rpBrowser struct {
	t      *testing.T
	s      *deadbolttest.Server
	client *http.Client
}

func newRPBrowser(t *testing.T, s *deadbolttest.Server) *rpBrowser {
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(s.URL)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != base.Host || len(via) > 20 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &rpBrowser{t: t, s: s, client: c}
}

// page is a response the browser ended at.
type page struct {
	Status   int
	URL      *url.URL // the last URL fetched
	Location string   // a redirect out of Deadbolt, "" for none
	Body     string
}

func (b *rpBrowser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := &page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		p.Location = resp.Header.Get("Location")
	}
	return p
}

func (b *rpBrowser) get(u string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

// post submits a form of the page at path as a browser does (same origin).
func (b *rpBrowser) post(path string, form url.Values) *page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// login fills in the sign-in form.
func (b *rpBrowser) login(login, pw string) *page {
	b.t.Helper()
	return b.post("/login", url.Values{"login": {login}, "password": {pw}})
}

// sessionToken returns the browser's Deadbolt session cookie.
func (b *rpBrowser) sessionToken() string {
	u, _ := url.Parse(b.s.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == e2eSessionCookie {
			return c.Value
		}
	}
	return ""
}

// rp is a relying party: an oauth2 configuration over go-oidc's discovery.
type rp struct {
	t        *testing.T
	s        *deadbolttest.Server
	app      rpApp
	provider *gooidc.Provider
	conf     *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	ctx      context.Context
}

func newRP(t *testing.T, s *deadbolttest.Server, app rpApp, scopes ...string) *rp {
	t.Helper()
	ctx := gooidc.ClientContext(context.Background(), s.Client)
	p, err := gooidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email", "groups"}
	}
	conf := &oauth2.Config{ClientID: app.ClientID, ClientSecret: app.Secret, Endpoint: p.Endpoint(), RedirectURL: app.Redirect, Scopes: scopes}
	v := p.Verifier(&gooidc.Config{ClientID: app.ClientID, Now: func() time.Time { return s.Clock().Now() }})
	return &rp{t: t, s: s, app: app, provider: p, conf: conf, verifier: v, ctx: ctx}
}

// authRequest is one authorization request the RP started.
type authRequest struct {
	URL, State, Nonce, Verifier string
}

func randString() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// start builds an authorization URL with state, nonce and PKCE S256;
// extra adds parameters.
func (r *rp) start(extra ...oauth2.AuthCodeOption) authRequest {
	a := authRequest{State: randString(), Nonce: randString(), Verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier)}, extra...)
	a.URL = r.conf.AuthCodeURL(a.State, opts...)
	return a
}

// callback checks the browser was sent back to the RP with a code for
// the request (state and iss per RFC 9207) and returns the code.
func (r *rp) callback(p *page, a authRequest) string {
	r.t.Helper()
	if p.Location == "" || !strings.HasPrefix(p.Location, r.app.Redirect+"?") {
		r.t.Fatalf("browser ended at %s (%d), not redirected to %s: %.400s", p.URL, p.Status, r.app.Redirect, p.Body)
	}
	u, _ := url.Parse(p.Location)
	q := u.Query()
	if e := q.Get("error"); e != "" {
		r.t.Fatalf("authorization error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != a.State || q.Get("iss") != r.s.URL {
		r.t.Fatalf("callback %s: want state %s and iss %s", p.Location, a.State, r.s.URL)
	}
	return q.Get("code")
}

// callbackError returns the error a redirect back to the RP carries.
func (r *rp) callbackError(p *page) (code string, q url.Values) {
	r.t.Helper()
	if p.Location == "" || !strings.HasPrefix(p.Location, r.app.Redirect+"?") {
		r.t.Fatalf("browser ended at %s (%d), not redirected to the app: %.300s", p.URL, p.Status, p.Body)
	}
	u, _ := url.Parse(p.Location)
	return u.Query().Get("error"), u.Query()
}

// exchange trades a code for tokens and verifies the ID token.
func (r *rp) exchange(code string, a authRequest) (*oauth2.Token, *gooidc.IDToken, map[string]any) {
	r.t.Helper()
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		r.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		r.t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != a.Nonce {
		r.t.Errorf("nonce = %q, want %q", idt.Nonce, a.Nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		r.t.Errorf("at_hash: %v", err)
	}
	var claims map[string]any
	idt.Claims(&claims)
	return tok, idt, claims
}

// signIn runs the whole flow for a password-only employee and returns the
// tokens.
func (r *rp) signIn(b *rpBrowser, login, pw string, extra ...oauth2.AuthCodeOption) (*oauth2.Token, *gooidc.IDToken, map[string]any) {
	r.t.Helper()
	a := r.start(extra...)
	p := b.get(a.URL)
	if p.Location == "" {
		p = b.login(login, pw)
	}
	return r.exchange(r.callback(p, a), a)
}

// userinfo calls the userinfo endpoint with an access token and returns
// the status and claims.
func (r *rp) userinfo(access string) (int, map[string]any) {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.s.URL+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := r.s.Client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// tokenRequest posts a raw form to the token endpoint with basic auth
// when id is set.
func tokenRequest(t *testing.T, s *deadbolttest.Server, path, id, secret string, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m, resp.Header
}

// totpCode returns a fresh TOTP code for secret, advancing the server's
// clock one step so that no code is reused.
func totpCode(t *testing.T, s *deadbolttest.Server, secret []byte) string {
	t.Helper()
	s.Advance(t, 30*time.Second)
	return totp.Code(secret, s.Clock().Now())
}

// bclReceiver is an application's back-channel logout endpoint: it
// records each logout token it receives, after checking it with the
// provider's JWKS as an application must.
type bclReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	tokens   []map[string]any
	errs     []string
	got      chan map[string]any
	status   int
	verifier *gooidc.IDTokenVerifier
}

func newBCLReceiver(t *testing.T, issuer string, client *http.Client) *bclReceiver {
	b := &bclReceiver{got: make(chan map[string]any, 100), status: http.StatusOK}
	ks := gooidc.NewRemoteKeySet(gooidc.ClientContext(context.Background(), client), issuer+"/oidc/jwks")
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.PostFormValue("logout_token")
		payload, err := ks.VerifySignature(r.Context(), raw)
		b.mu.Lock()
		status := b.status
		if err != nil {
			b.errs = append(b.errs, err.Error())
			b.mu.Unlock()
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
		var claims map[string]any
		json.Unmarshal(payload, &claims)
		if status == http.StatusOK {
			b.tokens = append(b.tokens, claims)
		}
		b.mu.Unlock()
		w.WriteHeader(status)
		if status == http.StatusOK {
			b.got <- claims
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bclReceiver) URL() string { return b.srv.URL + "/backchannel-logout" }

func (b *bclReceiver) setStatus(code int) {
	b.mu.Lock()
	b.status = code
	b.mu.Unlock()
}

// wait returns the next logout token received within d, or fails.
func (b *bclReceiver) wait(t *testing.T, d time.Duration, what string) map[string]any {
	t.Helper()
	select {
	case c := <-b.got:
		return c
	case <-time.After(d):
		b.mu.Lock()
		defer b.mu.Unlock()
		t.Fatalf("%s: no logout token within %v (verification errors: %v)", what, d, b.errs)
		return nil
	}
}

// none reports that no logout token arrives within d.
func (b *bclReceiver) none(t *testing.T, d time.Duration, what string) {
	t.Helper()
	select {
	case c := <-b.got:
		t.Errorf("%s: unexpected logout token %v", what, c)
	case <-time.After(d):
	}
}
