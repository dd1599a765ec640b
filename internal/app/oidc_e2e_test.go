package app_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/signin"
)

// TestOIDCCodeFlow: discovery, the authorization code flow with PKCE
// through the sign-in page, the ID token (claims, signature, at_hash,
// nonce), userinfo, and a code used twice revoking what it issued — with
// an independent relying-party library, on both stores.
func TestOIDCCodeFlow(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		wg := e2eStatus(t, "workgroup", e2eCall(t, s, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Engineering"}), 201)
		r := e2eCall(t, s, "POST", "/api/v1/admin/users", admin, map[string]any{"login": "erin", "name": "Erin Example",
			"email": "erin@example.com", "password": "erin-password-1"})
		erinID := e2eStatus(t, "create erin", r, 201)["id"].(string)
		e2eStatus(t, "add member", e2eCall(t, s, "POST", "/api/v1/admin/workgroups/"+wg["id"].(string)+"/members", admin,
			map[string]string{"user_id": erinID}), 201)
		app := newRPApp(t, s, admin, "Wiki", false, nil)
		rp := newRP(t, s, app)

		var disc map[string]any
		e2eStatus(t, "discovery", e2eCall(t, s, "GET", "/.well-known/openid-configuration", "", nil), 200)
		disc = e2eCall(t, s, "GET", "/.well-known/openid-configuration", "", nil).JSON(t)
		if disc["issuer"] != s.URL || disc["authorization_response_iss_parameter_supported"] != true ||
			disc["backchannel_logout_supported"] != true || !slices.Contains(anyStrings(disc["code_challenge_methods_supported"]), "S256") ||
			slices.Contains(anyStrings(disc["code_challenge_methods_supported"]), "plain") {
			t.Errorf("discovery = %v", disc)
		}

		b := newRPBrowser(t, s)
		a := rp.start()
		p := b.get(a.URL)
		if p.Location != "" || p.URL.Path != "/login" || !strings.Contains(p.Body, "Wiki") {
			t.Fatalf("an unsigned browser ended at %s (%d), want the sign-in page naming Wiki", p.URL, p.Status)
		}
		p = b.login("erin", "erin-password-1")
		code := rp.callback(p, a)
		tok, idt, claims := rp.exchange(code, a)
		if idt.Subject != erinID || idt.Issuer != s.URL || !slices.Equal(idt.Audience, []string{app.ClientID}) {
			t.Errorf("ID token iss %s sub %s aud %v", idt.Issuer, idt.Subject, idt.Audience)
		}
		sessID := e2eMeSessionID(t, s, b.sessionToken())
		if claims["sid"] != sessID || claims["acr"] != "pwd" || !slices.Equal(anyStrings(claims["amr"]), []string{"pwd"}) ||
			claims["auth_time"] == nil || claims["preferred_username"] != "erin" || claims["name"] != "Erin Example" ||
			claims["email"] != "erin@example.com" || !slices.Equal(anyStrings(claims["groups"]), []string{"Engineering"}) {
			t.Errorf("ID token claims = %v (session %s)", claims, sessID)
		}
		if tok.RefreshToken != "" {
			t.Error("a refresh token without offline_access")
		}
		if tok.Expiry.Sub(time.Now()) > 11*time.Minute || tok.Expiry.Sub(time.Now()) < 9*time.Minute {
			t.Errorf("access token expires %v, want in 10 minutes", tok.Expiry)
		}
		ui, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != erinID || ui.Email != "erin@example.com" {
			t.Fatalf("userinfo = %+v, %v", ui, err)
		}

		// The code works once; its second use is refused and revokes the
		// tokens of the first.
		if _, err := rp.conf.Exchange(rp.ctx, code, oauth2.VerifierOption(a.Verifier)); !isOAuthError(err, "invalid_grant") {
			t.Errorf("second exchange = %v, want invalid_grant", err)
		}
		if status, _ := rp.userinfo(tok.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("userinfo after the code's reuse = %d, want 401", status)
		}

		// Signed in already: the next request comes straight back.
		a2 := rp.start()
		tok2, _, _ := rp.exchange(rp.callback(b.get(a2.URL), a2), a2)
		if status, m := rp.userinfo(tok2.AccessToken); status != 200 || m["sub"] != erinID {
			t.Errorf("userinfo = %d %v", status, m)
		}
		// Every grant is an audit event.
		events := e2eEvents(t, s, "/api/v1/admin/audit?type=app.access_granted", admin)
		if len(events) != 2 || events[0]["user_id"] != erinID || events[0]["detail"].(map[string]any)["app"] != "Wiki" {
			t.Errorf("access_granted events = %v", events)
		}
	})
}

// otherPort returns a loopback redirect URI on the next port.
func otherPort(redirect string) string {
	u, _ := url.Parse(redirect)
	port, _ := strconv.Atoi(u.Port())
	u.Host = u.Hostname() + ":" + strconv.Itoa(port+1)
	return u.String()
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	if err == nil {
		return false
	}
	if e, ok := err.(*oauth2.RetrieveError); ok {
		re = e
	}
	return re != nil && re.ErrorCode == code
}

// TestOIDCRequestRules: the authorization request's rules — exact
// redirect URIs (loopback ports included), PKCE S256 required of public
// clients and "plain" refused, response_type=code, the openid scope, no
// request objects — with errors shown (unknown client or redirect) or sent
// back to the app with state and iss.
func TestOIDCRequestRules(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		pub := newRPApp(t, s, admin, "CLI", true, nil)
		conf := newRPApp(t, s, admin, "Wiki", false, nil)
		b := newRPBrowser(t, s)
		b.login("erin", "erin-password-1")
		authz := func(app rpApp, q url.Values) *page {
			t.Helper()
			base := url.Values{"client_id": {app.ClientID}, "redirect_uri": {app.Redirect}, "response_type": {"code"},
				"scope": {"openid"}, "state": {"st-1"}}
			for k, v := range q {
				if v == nil {
					delete(base, k)
				} else {
					base[k] = v
				}
			}
			return b.get(s.URL + "/oidc/authorize?" + base.Encode())
		}
		challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
		redirected := []struct {
			name string
			app  rpApp
			q    url.Values
			want string
		}{
			{"public client without PKCE", pub, nil, "invalid_request"},
			{"plain PKCE", pub, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"plain"}}, "invalid_request"},
			{"PKCE without a method (plain)", pub, url.Values{"code_challenge": {challenge}}, "invalid_request"},
			{"short challenge", conf, url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"S256"}}, "invalid_request"},
			{"implicit flow", conf, url.Values{"response_type": {"token"}}, "unsupported_response_type"},
			{"hybrid flow", conf, url.Values{"response_type": {"code id_token"}}, "unsupported_response_type"},
			{"no openid scope", conf, url.Values{"scope": {"profile"}}, "invalid_scope"},
			{"request object", conf, url.Values{"request": {"eyJ.x.y"}}, "request_not_supported"},
			{"request_uri", conf, url.Values{"request_uri": {"https://x.example.com/r"}}, "request_uri_not_supported"},
			{"form_post", conf, url.Values{"response_mode": {"form_post"}}, "invalid_request"},
			{"prompt none with login", conf, url.Values{"prompt": {"none login"}}, "invalid_request"},
			{"bad max_age", conf, url.Values{"max_age": {"-1"}}, "invalid_request"},
			{"repeated parameter", conf, url.Values{"scope": {"openid", "openid profile"}}, "invalid_request"},
		}
		for _, tc := range redirected {
			p := authz(tc.app, tc.q)
			rp := &rp{t: t, s: s, app: tc.app}
			code, q := rp.callbackError(p)
			if code != tc.want || q.Get("state") != "st-1" || q.Get("iss") != s.URL || q.Get("code") != "" {
				t.Errorf("%s: redirected with %v, want error %s, state and iss", tc.name, q, tc.want)
			}
		}
		// Public client with S256 works.
		ok := authz(pub, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		if !strings.Contains(ok.Location, "code=") {
			t.Errorf("public client with S256: %s %d", ok.Location, ok.Status)
		}
		shown := []struct {
			name string
			q    url.Values
		}{
			{"unknown client", url.Values{"client_id": {strings.Repeat("a", 26)}}},
			{"no client", url.Values{"client_id": nil}},
			{"no redirect_uri", url.Values{"redirect_uri": nil}},
			{"other loopback port", url.Values{"redirect_uri": {otherPort(conf.Redirect)}}},
			{"other path", url.Values{"redirect_uri": {conf.Redirect + "/x"}}},
			{"redirect with a query added", url.Values{"redirect_uri": {conf.Redirect + "?next=/"}}},
			{"localhost for 127.0.0.1", url.Values{"redirect_uri": {strings.Replace(conf.Redirect, "127.0.0.1", "localhost", 1)}}},
			{"two redirect_uris", url.Values{"redirect_uri": {conf.Redirect, conf.Redirect}}},
		}
		for _, tc := range shown {
			p := authz(conf, tc.q)
			if p.Location != "" || p.Status != http.StatusBadRequest {
				t.Errorf("%s: %d, redirect %q; want a 400 page and no redirect", tc.name, p.Status, p.Location)
			}
		}
	})
}

// TestOIDCTokenEndpoint: client authentication (basic, post, none for
// public clients), the code's binding to client, redirect URI and PKCE
// verifier, and OAuth error answers.
func TestOIDCTokenEndpoint(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		wiki := newRPApp(t, s, admin, "Wiki", false, nil)
		chat := newRPApp(t, s, admin, "Chat", false, nil)
		cli := newRPApp(t, s, admin, "CLI", true, nil)
		b := newRPBrowser(t, s)
		b.login("erin", "erin-password-1")
		code := func(app rpApp) (string, authRequest) {
			rp := newRP(t, s, app)
			a := rp.start()
			return rp.callback(b.get(a.URL), a), a
		}
		form := func(c string, a authRequest, app rpApp) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {app.Redirect}, "code_verifier": {a.Verifier}}
		}
		c, a := code(wiki)
		bad := []struct {
			name       string
			id, secret string
			form       url.Values
			status     int
			err        string
		}{
			{"wrong secret", wiki.ClientID, "wrong", form(c, a, wiki), 401, "invalid_client"},
			{"no authentication", "", "", form(c, a, wiki), 401, "invalid_client"},
			{"another client's secret", wiki.ClientID, chat.Secret, form(c, a, wiki), 401, "invalid_client"},
			{"another client", chat.ClientID, chat.Secret, form(c, a, chat), 400, "invalid_grant"},
			{"wrong redirect_uri", wiki.ClientID, wiki.Secret, func() url.Values { f := form(c, a, wiki); f.Set("redirect_uri", chat.Redirect); return f }(), 400, "invalid_grant"},
			{"no redirect_uri", wiki.ClientID, wiki.Secret, func() url.Values { f := form(c, a, wiki); f.Del("redirect_uri"); return f }(), 400, "invalid_grant"},
			{"wrong verifier", wiki.ClientID, wiki.Secret, func() url.Values { f := form(c, a, wiki); f.Set("code_verifier", oauth2.GenerateVerifier()); return f }(), 400, "invalid_grant"},
			{"no verifier", wiki.ClientID, wiki.Secret, func() url.Values { f := form(c, a, wiki); f.Del("code_verifier"); return f }(), 400, "invalid_grant"},
			{"unknown code", wiki.ClientID, wiki.Secret, form(randString()+randString(), a, wiki), 400, "invalid_grant"},
			{"bad grant type", wiki.ClientID, wiki.Secret, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
			{"two methods", wiki.ClientID, wiki.Secret, func() url.Values { f := form(c, a, wiki); f.Set("client_secret", wiki.Secret); return f }(), 400, "invalid_request"},
		}
		for _, tc := range bad {
			status, m, hdr := tokenRequest(t, s, "/oidc/token", tc.id, tc.secret, tc.form)
			if status != tc.status || m["error"] != tc.err || m["error_description"] == "" {
				t.Errorf("%s: %d %v, want %d %s", tc.name, status, m, tc.status, tc.err)
			}
			if status == 401 && tc.id != "" && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s: WWW-Authenticate = %q", tc.name, hdr.Get("WWW-Authenticate"))
			}
			if hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control = %q", tc.name, hdr.Get("Cache-Control"))
			}
		}
		// None of the refusals used the code up: client_secret_post works.
		f := form(c, a, wiki)
		f.Set("client_id", wiki.ClientID)
		f.Set("client_secret", wiki.Secret)
		status, m, hdr := tokenRequest(t, s, "/oidc/token", "", "", f)
		if status != 200 || m["access_token"] == nil || m["id_token"] == nil || m["token_type"] != "Bearer" || hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("client_secret_post exchange = %d %v", status, m)
		}
		// A public client sends its client_id alone, and may not send a
		// secret.
		c2, a2 := code(cli)
		f = form(c2, a2, cli)
		f.Set("client_id", cli.ClientID)
		f.Set("client_secret", "made-up")
		if status, m, _ := tokenRequest(t, s, "/oidc/token", "", "", f); status != 401 || m["error"] != "invalid_client" {
			t.Errorf("public client with a secret = %d %v", status, m)
		}
		f.Del("client_secret")
		if status, m, _ := tokenRequest(t, s, "/oidc/token", "", "", f); status != 200 || m["id_token"] == nil {
			t.Errorf("public client exchange = %d %v", status, m)
		}
		// Wrong method, wrong body.
		if r := e2eCall(t, s, "GET", "/oidc/token", "", nil); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") == "" {
			t.Errorf("GET /oidc/token = %d, Allow %q", r.Status, r.Header.Get("Allow"))
		}
		if r := e2eCall(t, s, "POST", "/oidc/token", "", map[string]string{"grant_type": "authorization_code"}); r.Status != 400 {
			t.Errorf("JSON token request = %d %s", r.Status, r.Body)
		}
	})
}

// TestOIDCRefreshRotation: refresh tokens come with offline_access, rotate
// on every use, and a used one presented again revokes the whole chain.
func TestOIDCRefreshRotation(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		app := newRPApp(t, s, admin, "Wiki", false, nil)
		rp := newRP(t, s, app, "openid", "profile", "offline_access")
		b := newRPBrowser(t, s)
		tok, idt, claims := rp.signIn(b, "erin", "erin-password-1")
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token with offline_access")
		}
		refresh := func(rt string) (int, map[string]any) {
			status, m, _ := tokenRequest(t, s, "/oidc/token", app.ClientID, app.Secret,
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			return status, m
		}
		status, m := refresh(tok.RefreshToken)
		rt2, _ := m["refresh_token"].(string)
		if status != 200 || rt2 == "" || rt2 == tok.RefreshToken || m["access_token"] == nil {
			t.Fatalf("refresh = %d %v", status, m)
		}
		idt2, err := rp.verifier.Verify(rp.ctx, m["id_token"].(string))
		var claims2 map[string]any
		if err == nil {
			idt2.Claims(&claims2)
		}
		if err != nil || idt2.Subject != idt.Subject || claims2["auth_time"] != claims["auth_time"] || claims2["sid"] != claims["sid"] {
			t.Errorf("refreshed ID token = %v, %v; want the subject, auth_time and sid of %v", claims2, err, claims)
		}
		if status, _ := rp.userinfo(m["access_token"].(string)); status != 200 {
			t.Errorf("userinfo with the refreshed access token = %d", status)
		}
		status, m3 := refresh(rt2)
		rt3, _ := m3["refresh_token"].(string)
		if status != 200 || rt3 == "" {
			t.Fatalf("second refresh = %d %v", status, m3)
		}
		// The first refresh token again: refused, and the chain dies.
		if status, m := refresh(tok.RefreshToken); status != 400 || m["error"] != "invalid_grant" {
			t.Errorf("reused refresh token = %d %v", status, m)
		}
		if status, m := refresh(rt3); status != 400 || m["error"] != "invalid_grant" {
			t.Errorf("latest refresh token after the chain's revocation = %d %v", status, m)
		}
		if status, _ := rp.userinfo(m3["access_token"].(string)); status != 401 {
			t.Errorf("access token of a revoked chain = %d, want 401", status)
		}
		// A refresh cannot widen the scope; another client cannot use it.
		tok2, _, _ := rp.signIn(b, "erin", "erin-password-1")
		status, m4, _ := tokenRequest(t, s, "/oidc/token", app.ClientID, app.Secret,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}, "scope": {"openid email"}})
		if status != 400 || m4["error"] != "invalid_scope" {
			t.Errorf("widening refresh = %d %v", status, m4)
		}
		other := newRPApp(t, s, admin, "Chat", false, nil)
		status, m5, _ := tokenRequest(t, s, "/oidc/token", other.ClientID, other.Secret,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}})
		if status != 400 || m5["error"] != "invalid_grant" {
			t.Errorf("another client's refresh = %d %v", status, m5)
		}
		if status, _ := refresh(tok2.RefreshToken); status != 200 {
			t.Errorf("refresh after refused attempts = %d, want 200 (they used nothing up)", status)
		}
	})
}

// TestOIDCRaces: one code exchanged 30 times at once gives exactly one
// success, and the reuse revokes it; one refresh token raced gives one
// success, and the chain is revoked.
func TestOIDCRaces(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		app := newRPApp(t, s, admin, "Wiki", false, nil)
		rp := newRP(t, s, app, "openid", "offline_access")
		b := newRPBrowser(t, s)
		b.login("erin", "erin-password-1")
		a := rp.start()
		code := rp.callback(b.get(a.URL), a)
		const n = 30
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				tok, err := rp.conf.Exchange(rp.ctx, code, oauth2.VerifierOption(a.Verifier))
				if err == nil {
					wins.Add(1)
					winner.Store(tok)
				} else if !isOAuthError(err, "invalid_grant") {
					t.Errorf("exchange = %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d of %d racing exchanges of one code succeeded, want 1", wins.Load(), n)
		}
		tok := winner.Load().(*oauth2.Token)
		if status, _ := rp.userinfo(tok.AccessToken); status != 401 {
			t.Errorf("the winner's access token after the reuse = %d, want 401 (revoked)", status)
		}

		tok2, _, _ := rp.signIn(b, "erin", "erin-password-1")
		wins.Store(0)
		var fresh atomic.Value
		for range n {
			wg.Go(func() {
				status, m, _ := tokenRequest(t, s, "/oidc/token", app.ClientID, app.Secret,
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}})
				switch {
				case status == 200:
					wins.Add(1)
					fresh.Store(m)
				case status != 400 || m["error"] != "invalid_grant":
					t.Errorf("raced refresh = %d %v", status, m)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d of %d racing refreshes succeeded, want 1", wins.Load(), n)
		}
		m := fresh.Load().(map[string]any)
		if status, _ := rp.userinfo(m["access_token"].(string)); status != 401 {
			t.Errorf("the winning refresh's access token = %d, want 401 (chain revoked)", status)
		}
		status, m2, _ := tokenRequest(t, s, "/oidc/token", app.ClientID, app.Secret,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}})
		if status != 400 || m2["error"] != "invalid_grant" {
			t.Errorf("the winning refresh's refresh token = %d %v, want invalid_grant", status, m2)
		}
	})
}

var (
	_ = context.Background
	_ = signin.AMR
)
