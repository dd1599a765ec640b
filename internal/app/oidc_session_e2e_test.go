package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/oidc"
)

// bclWait is how long a test waits for a logout token: the provider scans
// for ended sessions every second (SPEC: delivered within 5 s); the test
// only needs it to come, on a busy machine.
const bclWait = 20 * time.Second

// TestOIDCSessionEndEndsTokens: every token of a session dies when the
// session ends — logout, log out of all devices, password change (the
// other sessions), deactivation, 2FA reset, its 24 h lifetime — and each
// app that had tokens and has a back-channel logout URI receives a logout
// token it verifies with the JWKS.
func TestOIDCSessionEndEndsTokens(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		erinID := s.CreateUser(t, admin, "erin", "erin-password-1")
		bcl := newBCLReceiver(t, s.URL, s.Client)
		app := newRPApp(t, s, admin, "Wiki", false, map[string]any{"backchannel_logout_uri": bcl.URL()})
		quiet := newRPApp(t, s, admin, "Chat", false, nil) // no back-channel URI
		rpWiki := newRP(t, s, app, "openid", "offline_access")
		rpQuiet := newRP(t, s, quiet, "openid", "offline_access")

		ends := []struct {
			name string
			end  func(b *rpBrowser)
		}{
			{"logout", func(b *rpBrowser) {
				e2eStatus(t, "logout", e2eCall(t, s, "POST", "/api/v1/logout", b.sessionToken(), nil), 200)
			}},
			{"log out of all devices", func(b *rpBrowser) {
				e2eStatus(t, "logout all", e2eCall(t, s, "POST", "/api/v1/logout/all", b.sessionToken(), nil), 200)
			}},
			{"password change", func(b *rpBrowser) {
				other := e2eLogin(t, s, "erin", "erin-password-1")
				e2eStatus(t, "change password", e2eCall(t, s, "POST", "/api/v1/me/password", other,
					map[string]string{"current": "erin-password-1", "new": "erin-password-2"}), 200)
				e2eStatus(t, "change back", e2eCall(t, s, "POST", "/api/v1/me/password", other,
					map[string]string{"current": "erin-password-2", "new": "erin-password-1"}), 200)
			}},
			{"deactivation", func(b *rpBrowser) {
				e2eStatus(t, "deactivate", e2eCall(t, s, "POST", "/api/v1/admin/users/"+erinID+"/deactivate", admin, nil), 200)
				e2eStatus(t, "activate", e2eCall(t, s, "POST", "/api/v1/admin/users/"+erinID+"/activate", admin, nil), 200)
			}},
			{"2FA reset", func(b *rpBrowser) {
				e2eStatus(t, "reset 2fa", e2eCall(t, s, "POST", "/api/v1/admin/users/"+erinID+"/reset-2fa", admin, nil), 200)
			}},
			{"lifetime", func(b *rpBrowser) { s.Advance(t, 24*time.Hour+time.Minute) }},
		}
		for _, tc := range ends {
			b := newRPBrowser(t, s)
			tok, _, claims := rpWiki.signIn(b, "erin", "erin-password-1")
			qtok, _, _ := rpQuiet.signIn(b, "erin", "erin-password-1")
			if status, _ := rpWiki.userinfo(tok.AccessToken); status != 200 {
				t.Fatalf("%s: userinfo before = %d", tc.name, status)
			}
			tc.end(b)
			for _, x := range []struct {
				r   *rp
				tok *oauth2.Token
			}{{rpWiki, tok}, {rpQuiet, qtok}} {
				if status, _ := x.r.userinfo(x.tok.AccessToken); status != http.StatusUnauthorized {
					t.Errorf("%s: %s access token after = %d, want 401", tc.name, x.r.app.ClientID, status)
				}
				status, m, _ := tokenRequest(t, s, "/oidc/token", x.r.app.ClientID, x.r.app.Secret,
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {x.tok.RefreshToken}})
				if status != 400 || m["error"] != "invalid_grant" {
					t.Errorf("%s: refresh after = %d %v, want invalid_grant", tc.name, status, m)
				}
			}
			lt := bcl.wait(t, bclWait, tc.name)
			events, _ := lt["events"].(map[string]any)
			if lt["iss"] != s.URL || lt["aud"] != app.ClientID || lt["sub"] != erinID || lt["sid"] != claims["sid"] ||
				lt["jti"] == nil || lt["iat"] == nil || lt["nonce"] != nil || events == nil || events[oidc.EventBackchannelLogout] == nil {
				t.Errorf("%s: logout token = %v (ID token sid %v)", tc.name, lt, claims["sid"])
			}
			if tc.name == "lifetime" {
				s.Advance(t, -(24*time.Hour + time.Minute))
			}
		}
		bcl.none(t, 2*time.Second, "after every session ended once")
	})
}

// TestOIDCBackchannelRetry: a failed delivery is retried, and shown to
// administrators; an app that never got tokens is told nothing.
func TestOIDCBackchannelRetry(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		bcl := newBCLReceiver(t, s.URL, s.Client)
		app := newRPApp(t, s, admin, "Wiki", false, map[string]any{"backchannel_logout_uri": bcl.URL()})
		rp := newRP(t, s, app)
		b := newRPBrowser(t, s)
		rp.signIn(b, "erin", "erin-password-1")
		// A code never exchanged gives no tokens, and no logout token.
		b2 := newRPBrowser(t, s)
		a := rp.start()
		b2.get(a.URL)
		rp.callback(b2.login("erin", "erin-password-1"), a)
		e2eStatus(t, "logout b2", e2eCall(t, s, "POST", "/api/v1/logout", b2.sessionToken(), nil), 200)

		bcl.setStatus(http.StatusServiceUnavailable)
		e2eStatus(t, "logout", e2eCall(t, s, "POST", "/api/v1/logout", b.sessionToken(), nil), 200)
		deadline := time.Now().Add(bclWait)
		var failures []map[string]any
		for time.Now().Before(deadline) {
			m := e2eStatus(t, "failures", e2eCall(t, s, "GET", "/api/v1/admin/apps/"+app.ID+"/logout-failures", admin, nil), 200)
			failures = nil
			for _, f := range m["failures"].([]any) {
				failures = append(failures, f.(map[string]any))
			}
			if len(failures) > 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(failures) != 1 || !strings.Contains(failures[0]["error"].(string), "503") || failures[0]["given_up"] != false {
			t.Fatalf("logout failures = %v, want one 503, still retried", failures)
		}
		bcl.setStatus(http.StatusOK)
		bcl.wait(t, bclWait, "the retry")
		bcl.none(t, 2*time.Second, "after the retry succeeded")
		// The console shows the failure too.
		p := newRPBrowser(t, s)
		p.login("admin", deadbolttest.AdminPassword)
		page := p.get(s.URL + "/admin/apps/" + app.ID)
		if page.Status != 200 || !strings.Contains(page.Body, "HTTP 503") {
			t.Errorf("console app page = %d, want the delivery failure shown: %.300s", page.Status, page.Body)
		}
	})
}

// TestOIDCStepUp: acr_values, max_age and prompt=login make the employee
// prove it again before the code is issued; prompt=none answers
// login_required or interaction_required instead of a page; require_2fa
// sends an employee without a second factor to set it up and brings them
// back; workgroup access refuses others with a page naming the app.
func TestOIDCStepUp(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		app := newRPApp(t, s, admin, "Wiki", false, nil)
		rp := newRP(t, s, app)

		// prompt=none without a session.
		b := newRPBrowser(t, s)
		if code, _ := rp.callbackError(b.get(rp.start(oauth2.SetAuthURLParam("prompt", "none")).URL)); code != "login_required" {
			t.Errorf("prompt=none without a session = %s, want login_required", code)
		}
		_, _, c1 := rp.signIn(b, "erin", "erin-password-1")
		// prompt=login: prove it again (the password, for an employee without
		// a second factor), then come back.
		a := rp.start(oauth2.SetAuthURLParam("prompt", "login"))
		p := b.get(a.URL)
		if p.Location != "" || p.URL.Path != "/security/reauth" || !strings.Contains(p.Body, "Wiki") {
			t.Fatalf("prompt=login ended at %s (%d), want the confirmation page naming Wiki", p.URL, p.Status)
		}
		s.Advance(t, 2*time.Second)
		next := p.URL.Query().Get("next")
		p = b.post("/security/reauth", url.Values{"password": {"erin-password-1"}, "next": {next}})
		_, _, c2 := rp.exchange(rp.callback(p, a), a)
		if c2["sid"] != c1["sid"] || c2["auth_time"].(float64) <= c1["auth_time"].(float64) {
			t.Errorf("after prompt=login: sid %v auth_time %v; want the same session, proven later than %v", c2["sid"], c2["auth_time"], c1["auth_time"])
		}
		// max_age: a recent proof passes, an old one needs another.
		a = rp.start(oauth2.SetAuthURLParam("max_age", "3600"))
		rp.exchange(rp.callback(b.get(a.URL), a), a)
		s.Advance(t, 2*time.Minute)
		if code, _ := rp.callbackError(b.get(rp.start(oauth2.SetAuthURLParam("max_age", "60"), oauth2.SetAuthURLParam("prompt", "none")).URL)); code != "login_required" {
			t.Errorf("prompt=none with max_age exceeded = %s, want login_required", code)
		}
		a = rp.start(oauth2.SetAuthURLParam("max_age", "60"))
		if p := b.get(a.URL); p.URL.Path != "/security/reauth" {
			t.Errorf("max_age exceeded ended at %s, want the confirmation page", p.URL)
		}

		// An employee with a second factor, signed in with the password alone
		// (exempt), asked for mfa: step up with the second factor.
		tok := e2eLogin(t, s, "erin", "erin-password-1")
		_, secret := pairDevice(t, s, tok)
		erin := e2eStatus(t, "get erin", e2eCall(t, s, "GET", "/api/v1/admin/users/erin", admin, nil), 200)
		e2eStatus(t, "exempt", e2eCall(t, s, "POST", "/api/v1/admin/users/"+erin["id"].(string)+"/exempt", admin,
			map[string]string{"until": s.Clock().Now().Add(time.Hour).Format(time.RFC3339)}), 200)
		b2 := newRPBrowser(t, s)
		_, _, c3 := rp.signIn(b2, "erin", "erin-password-1")
		if c3["acr"] != "pwd" {
			t.Fatalf("exempt sign-in acr = %v, want pwd", c3["acr"])
		}
		if code, _ := rp.callbackError(b2.get(rp.start(oauth2.SetAuthURLParam("acr_values", "mfa"), oauth2.SetAuthURLParam("prompt", "none")).URL)); code != "interaction_required" {
			t.Errorf("prompt=none with acr_values=mfa = %s, want interaction_required", code)
		}
		a = rp.start(oauth2.SetAuthURLParam("acr_values", "mfa"))
		p = b2.get(a.URL)
		if p.URL.Path != "/security/reauth" {
			t.Fatalf("acr_values=mfa ended at %s (%d), want the confirmation page", p.URL, p.Status)
		}
		p = b2.post("/security/reauth", url.Values{"method": {"totp"}, "code": {totpCode(t, s, secret)}, "next": {p.URL.Query().Get("next")}})
		_, _, c4 := rp.exchange(rp.callback(p, a), a)
		if c4["acr"] != "mfa" || !slices.Equal(anyStrings(c4["amr"]), []string{"pwd", "otp", "mfa"}) {
			t.Errorf("after step-up acr %v amr %v, want mfa and [pwd otp mfa]", c4["acr"], c4["amr"])
		}

		// require_2fa: a password-only session of an employee without a
		// second factor is sent to set one up, then back to the app.
		s.CreateUser(t, admin, "finn", "finn-password-1")
		strict := newRPApp(t, s, admin, "Payroll", false, map[string]any{"require_2fa": true})
		rps := newRP(t, s, strict)
		b3 := newRPBrowser(t, s)
		a = rps.start()
		b3.get(a.URL)
		p = b3.login("finn", "finn-password-1")
		if p.URL.Path != "/security/2fa/setup" {
			t.Fatalf("require_2fa without 2FA ended at %s (%d), want the setup page", p.URL, p.Status)
		}
		// Pair (the companion app, through the API with the browser's
		// session); the recovery codes page then shows the way back.
		st2 := pairCLI(t, s, b3.sessionToken())
		p = b3.post("/security/recovery-codes", url.Values{})
		if p.Status != 200 || !strings.Contains(p.Body, `href="/" id="codes-continue">Continue to Payroll`) {
			t.Fatalf("recovery codes after setup = %d, want a link back to Payroll", p.Status)
		}
		p = b3.get(s.URL + "/")
		if p.URL.Path != "/security/reauth" {
			t.Fatalf("after setup, continuing ended at %s (%d), want the confirmation page (prove the new factor)", p.URL, p.Status)
		}
		s.Advance(t, 30*time.Second)
		c, _ := st2.Code(s.Clock().Now())
		p = b3.post("/security/reauth", url.Values{"method": {"totp"}, "code": {c}, "next": {p.URL.Query().Get("next")}})
		_, _, c5 := rps.exchange(rps.callback(p, a), a)
		if c5["acr"] != "mfa" {
			t.Errorf("require_2fa app got acr %v, want mfa", c5["acr"])
		}

		// Workgroup access: others get a page naming the app.
		wg := e2eStatus(t, "workgroup", e2eCall(t, s, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Finance"}), 201)
		fin := newRPApp(t, s, admin, "Ledger", false, map[string]any{"workgroups": []string{wg["id"].(string)}})
		rpf := newRP(t, s, fin)
		p = b.get(rpf.start().URL)
		if p.Status != http.StatusForbidden || p.Location != "" || !strings.Contains(p.Body, "Ledger") || !strings.Contains(p.Body, "administrator") {
			t.Errorf("not a member: %d %s, want a 403 page naming Ledger", p.Status, p.Location)
		}
		if code, _ := rpf.callbackError(b.get(rpf.start(oauth2.SetAuthURLParam("prompt", "none")).URL)); code != "access_denied" {
			t.Errorf("not a member with prompt=none = %s, want access_denied", code)
		}
		if ev := e2eEvents(t, s, "/api/v1/admin/audit?type=app.access_denied", admin); len(ev) != 2 || ev[0]["detail"].(map[string]any)["reason"] != "not_member" {
			t.Errorf("access_denied events = %v", ev)
		}
	})
}
