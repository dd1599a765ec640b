package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
)

// The OpenID Connect scenarios:
//
//	deadbolt-load -url http://127.0.0.1:8080 -login admin -password X \
//	    -scenario oidc-signin|oidc-token -clients 8 -duration 10s [-users N]
//
// Scenario "oidc-signin" runs whole authorization-code sign-ins, as a
// browser and an application do, and counts each as one request: GET
// /oidc/authorize (PKCE S256, state, nonce) → the sign-in page's form
// (POST /login, password) → the home page, which sends the browser back →
// GET /oidc/continue → the redirect to the application with the code →
// POST /oidc/token (client_secret_basic, the verifier) → the tokens. It
// registers an application and creates -users employees without a second
// factor (default: -clients); run the server with cheap hashing
// (--hash-memory 64 --hash-time 1) to measure the protocol, not argon2id.
//
// Scenario "oidc-token" measures the token endpoint: each client signs in
// once that way with offline_access, then refreshes in a loop (POST
// /oidc/token, grant_type=refresh_token; every answer carries a new
// refresh token, an access token and a signed ID token, and uses the old
// refresh token up).
//
// Both deactivate their employees and delete the application at the end.

// oidcRun is a prepared OpenID Connect scenario.
type oidcRun struct {
	cl       *client
	cfg      config
	admin    string
	appID    string
	clientID string
	secret   string
	redirect string
	users    []loadUser
	refresh  []string // per client, scenario oidc-token
	next     atomic.Int64
}

func randomB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func prepareOIDC(ctx context.Context, cl *client, c config, admin string, progress io.Writer) (*oidcRun, error) {
	r := &oidcRun{cl: cl, cfg: c, admin: admin, redirect: "http://127.0.0.1:1/callback"}
	body, _ := json.Marshal(map[string]any{"name": "Load test " + randomB64(6), "kind": "oidc",
		"redirect_uris": []string{r.redirect}})
	status, b, err := cl.do(ctx, "POST", "/api/v1/admin/apps", admin, body)
	if err != nil {
		return r, fmt.Errorf("register the application: %w", err)
	}
	if err := expect("register the application", status, http.StatusCreated, b); err != nil {
		return r, err
	}
	var app struct {
		ID, ClientID, Secret string
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	app.ID, _ = m["id"].(string)
	app.ClientID, _ = m["client_id"].(string)
	app.Secret, _ = m["client_secret"].(string)
	r.appID, r.clientID, r.secret = app.ID, app.ClientID, app.Secret
	if r.users, err = cl.createUsers(ctx, admin, c.users, setupWorkers(c), progress); err != nil {
		return r, err
	}
	if c.scenario == "oidc-token" {
		r.refresh = make([]string, c.clients)
		err := forEach(ctx, c.clients, setupWorkers(c), func(i int) error {
			tok, _, err := r.signIn(ctx, r.users[i%len(r.users)], true)
			if err != nil {
				return err
			}
			if tok.RefreshToken == "" {
				return fmt.Errorf("no refresh token with offline_access")
			}
			r.refresh[i] = tok.RefreshToken
			return nil
		})
		if err != nil {
			return r, err
		}
		fmt.Fprintf(progress, "signed %d clients in with offline_access\n", c.clients)
	}
	return r, nil
}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// browserGet follows one step of the browser's way with its cookies.
func browserDo(ctx context.Context, hc *http.Client, method, u string, form url.Values) (int, string, error) {
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "deadbolt-load")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// signIn runs one whole authorization-code sign-in of u and returns the
// tokens, or the status of the first step that went wrong.
func (r *oidcRun) signIn(ctx context.Context, u loadUser, offline bool) (*tokenAnswer, int, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Transport: r.cl.http.Transport, Timeout: r.cl.http.Timeout, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := randomB64(32)
	sum := sha256.Sum256([]byte(verifier))
	state := randomB64(12)
	scope := "openid profile"
	if offline {
		scope += " offline_access"
	}
	q := url.Values{"client_id": {r.clientID}, "redirect_uri": {r.redirect}, "response_type": {"code"}, "scope": {scope},
		"state": {state}, "nonce": {randomB64(12)}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	base := r.cl.base
	steps := []struct {
		what, method, path string
		form               url.Values
		want               int
	}{
		{"authorize", "GET", "/oidc/authorize?" + q.Encode(), nil, http.StatusSeeOther},
		{"sign in", "POST", "/login", url.Values{"login": {u.login}, "password": {u.password}}, http.StatusSeeOther},
		{"home", "GET", "", nil, http.StatusSeeOther},
		{"continue", "GET", "", nil, http.StatusFound},
	}
	next := ""
	for _, s := range steps {
		path := s.path
		if path == "" {
			path = next
		}
		if !strings.HasPrefix(path, "/") {
			return nil, 0, fmt.Errorf("%s: sent to %q", s.what, path)
		}
		status, loc, err := browserDo(ctx, hc, s.method, base+path, s.form)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", s.what, err)
		}
		if status != s.want {
			return nil, status, fmt.Errorf("%s: HTTP %d", s.what, status)
		}
		next = strings.TrimPrefix(loc, base)
	}
	cb, err := url.Parse(next)
	if err != nil || !strings.HasPrefix(next, r.redirect+"?") || cb.Query().Get("state") != state || cb.Query().Get("code") == "" {
		return nil, 0, fmt.Errorf("the application got %q", next)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {r.redirect},
		"code_verifier": {verifier}}
	return r.token(ctx, form)
}

// token posts to the token endpoint with client_secret_basic.
func (r *oidcRun) token(ctx context.Context, form url.Values) (*tokenAnswer, int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", r.cl.base+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	resp, err := r.cl.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var t tokenAnswer
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t)
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("token endpoint: HTTP %d %s", resp.StatusCode, t.Error)
	}
	if t.AccessToken == "" || t.IDToken == "" {
		return nil, resp.StatusCode, fmt.Errorf("token endpoint: no access or ID token")
	}
	return &t, resp.StatusCode, nil
}

// step is one measured request of the scenario.
func (r *oidcRun) step(ctx context.Context, client, i int) (int, error) {
	if r.cfg.scenario == "oidc-signin" {
		u := r.users[int(r.next.Add(1)-1)%len(r.users)]
		_, status, err := r.signIn(ctx, u, false)
		if err != nil && status == 0 {
			return 0, err
		}
		return status, nil
	}
	t, status, err := r.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.refresh[client]}})
	if err != nil && status == 0 {
		return 0, err
	}
	if t != nil && t.RefreshToken != "" {
		r.refresh[client] = t.RefreshToken
	}
	return status, nil
}

// cleanup deactivates the employees (ending their sessions and so their
// tokens) and deletes the application.
func (r *oidcRun) cleanup(ctx context.Context) error {
	err := r.cl.deactivateUsers(ctx, r.admin, r.users, setupWorkers(r.cfg))
	if r.appID != "" {
		status, _, derr := r.cl.do(ctx, "DELETE", "/api/v1/admin/apps/"+r.appID, r.admin, nil)
		if derr == nil && status != http.StatusOK {
			derr = fmt.Errorf("delete the application: HTTP %d", status)
		}
		if derr != nil && err == nil {
			err = derr
		}
	}
	return err
}
