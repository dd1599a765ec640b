package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/deadbolttest"
)

// The proxy of these tests connects from 127.0.0.2, the only trusted
// proxy; other clients connect from 127.0.0.1.
var proxyAddr = netip.MustParseAddr("127.0.0.2")

// fwd is a server with employees, a workgroup and proxy apps:
//
//	grafana  grafana.example.com                       workgroup ops only
//	docs     *.docs.example.com, example.com/docs      everyone
//	vault    vault.example.com                         require_2fa
type fwd struct {
	*deadbolttest.Server
	admin              string
	aliceID, bobID     string
	alice, bob         string // session tokens (alice is in ops, bob is not)
	proxy              *http.Client
	ops                string
	grafana, docs, vlt string // app ids
}

func startFwd(t *testing.T, store deadbolttest.Store) *fwd {
	t.Helper()
	s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store,
		TrustedProxies: []netip.Prefix{netip.PrefixFrom(proxyAddr, 32)}})
	f := &fwd{Server: s, admin: s.AdminToken(t)}
	f.proxy = clientFrom(proxyAddr)
	r := s.Do(t, "POST", "/api/v1/admin/users", f.admin, map[string]any{"login": "alice", "name": "Alice Smith",
		"email": "alice@example.com", "password": "pw-alice-long-enough"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create alice: %d %s", r.Status, r.Body)
	}
	f.aliceID = r.JSON(t)["id"].(string)
	f.bobID = s.CreateUser(t, f.admin, "bob", "pw-bob-long-enough!")
	r = s.Do(t, "POST", "/api/v1/admin/workgroups", f.admin, map[string]string{"name": "ops"})
	f.ops = r.JSON(t)["id"].(string)
	if r := s.Do(t, "POST", "/api/v1/admin/workgroups/"+f.ops+"/members", f.admin, map[string]string{"user_id": f.aliceID}); r.Status >= 300 {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	f.grafana = f.app(t, map[string]any{"name": "Grafana", "kind": "proxy", "domains": []string{"grafana.example.com"}, "workgroups": []string{f.ops}})
	f.docs = f.app(t, map[string]any{"name": "Docs", "kind": "proxy", "domains": []string{"*.docs.example.com", "example.com/docs"}})
	f.vlt = f.app(t, map[string]any{"name": "Vault", "kind": "proxy", "domains": []string{"vault.example.com"}, "require_2fa": true})
	f.alice, _ = s.Login(t, "alice", "pw-alice-long-enough")
	f.bob, _ = s.Login(t, "bob", "pw-bob-long-enough!")
	return f
}

func (f *fwd) app(t *testing.T, body map[string]any) string {
	t.Helper()
	r := f.Do(t, "POST", "/api/v1/admin/apps", f.admin, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create app %v: %d %s", body["name"], r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

// clientFrom is an HTTP client whose connections come from local address
// from, and which does not follow redirects.
func clientFrom(from netip.Addr) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}, Timeout: 5 * time.Second}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// check is one forward-auth question.
type check struct {
	path    string // /api/v1/authz/forward-auth or …/auth-request
	method  string // original method ("" GET)
	url     string // original URL
	token   string // bearer token
	cookie  string // session cookie value
	html    bool   // a browser navigating
	headers map[string]string
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (f *fwd) ask(t *testing.T, c *http.Client, q check) answer {
	t.Helper()
	path := q.path
	if path == "" {
		path = "/api/v1/authz/forward-auth"
	}
	req, _ := http.NewRequest("GET", f.URL+path, nil)
	u, err := url.Parse(q.url)
	if err != nil {
		t.Fatal(err)
	}
	method := q.method
	if method == "" {
		method = "GET"
	}
	if strings.HasSuffix(path, "auth-request") {
		req.Header.Set("X-Original-URL", q.url)
		req.Header.Set("X-Original-Method", method)
	} else {
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Proto", u.Scheme)
		req.Header.Set("X-Forwarded-Host", u.Host)
		req.Header.Set("X-Forwarded-Uri", u.RequestURI())
	}
	if q.html {
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if q.token != "" {
		req.Header.Set("Authorization", "Bearer "+q.token)
	}
	if q.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-deadbolt_session", Value: q.cookie})
	}
	for k, v := range q.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// TestForwardAuth: every forward-auth rule of the product, through HTTP,
// on both stores.
func TestForwardAuth(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		f := startFwd(t, store)
		grafana := "https://grafana.example.com/d/abc?orgId=1"
		loginFor := func(rd string) string { return f.URL + "/login?rd=" + url.QueryEscape(rd) }

		t.Run("admitted", func(t *testing.T) {
			for _, q := range []check{
				{url: grafana, token: f.alice},
				{url: grafana, cookie: f.alice},
				{url: grafana, cookie: f.alice, html: true},
				{path: "/api/v1/authz/auth-request", url: grafana, cookie: f.alice},
				{url: grafana, token: f.alice, method: "POST"},
			} {
				a := f.ask(t, f.proxy, q)
				if a.status != http.StatusOK {
					t.Fatalf("%+v: %d %s, want 200", q, a.status, a.body)
				}
				want := map[string]string{"Remote-User": "alice", "Remote-Name": "Alice Smith",
					"Remote-Email": "alice@example.com", "Remote-Groups": "ops",
					"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
				for k, v := range want {
					if got := a.header.Get(k); got != v {
						t.Errorf("%+v: %s = %q, want %q", q, k, got, v)
					}
				}
			}
			a := f.ask(t, f.proxy, check{url: "https://wiki.docs.example.com/", token: f.bob})
			if a.status != http.StatusOK || a.header.Get("Remote-User") != "bob" || a.header.Get("Remote-Groups") != "" ||
				len(a.header.Values("Remote-Email")) != 1 {
				t.Errorf("docs for bob: %d %v, want 200 with Remote-User bob and empty Remote-Email, Remote-Groups", a.status, a.header)
			}
		})

		t.Run("domains", func(t *testing.T) {
			for _, c := range []struct {
				url  string
				want int
			}{
				{"https://a.docs.example.com/x", http.StatusOK},
				{"https://a.b.docs.example.com/x", http.StatusOK},
				{"https://docs.example.com/", http.StatusForbidden}, // the wildcard is for subdomains only
				{"https://example.com/docs", http.StatusOK},
				{"https://example.com/docs/guide?x=1", http.StatusOK},
				{"https://example.com/docs/../admin", http.StatusForbidden},
				{"https://example.com/docsx", http.StatusForbidden},
				{"https://example.com/", http.StatusForbidden},
				{"https://unknown.example.org/", http.StatusForbidden},
				{"https://GRAFANA.example.com/", http.StatusOK},
			} {
				if a := f.ask(t, f.proxy, check{url: c.url, token: f.alice}); a.status != c.want {
					t.Errorf("%s: %d, want %d", c.url, a.status, c.want)
				}
			}
		})

		t.Run("not signed in", func(t *testing.T) {
			a := f.ask(t, f.proxy, check{url: grafana, html: true})
			if a.status != http.StatusFound || a.header.Get("Location") != loginFor(grafana) {
				t.Errorf("browser: %d Location %q, want 302 to %q", a.status, a.header.Get("Location"), loginFor(grafana))
			}
			for _, q := range []check{
				{url: grafana},
				{url: grafana, html: true, method: "POST"},
				{url: grafana, html: true, headers: map[string]string{"X-Requested-With": "XMLHttpRequest"}},
				{url: grafana, token: "not-a-token"},
				{path: "/api/v1/authz/auth-request", url: grafana, html: true},
			} {
				if a := f.ask(t, f.proxy, q); a.status != http.StatusUnauthorized {
					t.Errorf("%+v: %d, want 401", q, a.status)
				}
			}
			// A sign-in still waiting for its second factor is not one.
			pending := pendingSession(t, f)
			if a := f.ask(t, f.proxy, check{url: grafana, token: pending}); a.status != http.StatusUnauthorized {
				t.Errorf("pending session: %d, want 401", a.status)
			}
		})

		t.Run("not admitted", func(t *testing.T) {
			a := f.ask(t, f.proxy, check{url: grafana, token: f.bob})
			if a.status != http.StatusForbidden || !strings.Contains(a.body, `"access_denied"`) || !strings.Contains(a.body, "Grafana") {
				t.Errorf("API: %d %s, want 403 access_denied naming Grafana", a.status, a.body)
			}
			a = f.ask(t, f.proxy, check{url: grafana, cookie: f.bob, html: true})
			if a.status != http.StatusForbidden || !strings.Contains(a.body, "No access to Grafana") ||
				!strings.Contains(a.body, "Ask your administrator") || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("browser: %d %s, want a 403 page naming Grafana", a.status, a.body)
			}
			if a := f.ask(t, f.proxy, check{path: "/api/v1/authz/auth-request", url: grafana, cookie: f.bob}); a.status != http.StatusForbidden {
				t.Errorf("auth-request: %d, want 403", a.status)
			}
		})

		t.Run("require 2FA", func(t *testing.T) {
			vault := "https://vault.example.com/ui/"
			a := f.ask(t, f.proxy, check{url: vault, cookie: f.bob, html: true})
			setup := f.URL + "/security/2fa/setup?rd=" + url.QueryEscape(vault)
			if a.status != http.StatusFound || a.header.Get("Location") != setup {
				t.Errorf("browser without 2FA: %d %q, want 302 to %q", a.status, a.header.Get("Location"), setup)
			}
			a = f.ask(t, f.proxy, check{url: vault, token: f.bob})
			if a.status != http.StatusForbidden || !strings.Contains(a.body, `"setup_required"`) {
				t.Errorf("API without 2FA: %d %s, want 403 setup_required", a.status, a.body)
			}
			// An employee with a second factor whose session was proven by
			// the password alone signs in again.
			tok := passwordOnlySessionWith2FA(t, f, f.bobID)
			if a := f.ask(t, f.proxy, check{url: vault, cookie: tok, html: true}); a.status != http.StatusFound || a.header.Get("Location") != loginFor(vault) {
				t.Errorf("step-up, browser: %d %q, want 302 to %q", a.status, a.header.Get("Location"), loginFor(vault))
			}
			if a := f.ask(t, f.proxy, check{path: "/api/v1/authz/auth-request", url: vault, cookie: tok}); a.status != http.StatusUnauthorized {
				t.Errorf("step-up, auth-request: %d, want 401", a.status)
			}
		})

		t.Run("forwarded headers only from trusted proxies", func(t *testing.T) {
			untrusted := clientFrom(netip.MustParseAddr("127.0.0.1"))
			if a := f.ask(t, untrusted, check{url: grafana, token: f.alice}); a.status != http.StatusForbidden || a.header.Get("Remote-User") != "" {
				t.Errorf("untrusted peer: %d %v, want 403 without Remote-User", a.status, a.header)
			}
			// A trusted proxy must say one thing.
			req, _ := http.NewRequest("GET", f.URL+"/api/v1/authz/forward-auth", nil)
			req.Header.Set("Authorization", "Bearer "+f.alice)
			req.Header.Add("X-Forwarded-Host", "grafana.example.com")
			req.Header.Add("X-Forwarded-Host", "evil.example.org")
			req.Header.Set("X-Forwarded-Uri", "/")
			resp, err := f.proxy.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("two X-Forwarded-Host: %d, want 400", resp.StatusCode)
			}
			for _, q := range []check{
				{url: grafana, token: f.alice, headers: map[string]string{"X-Forwarded-Host": "grafana.example.com, evil.example.org"}},
				{url: grafana, token: f.alice, headers: map[string]string{"X-Forwarded-Proto": "gopher"}},
				{url: grafana, token: f.alice, headers: map[string]string{"X-Forwarded-Uri": "relative"}},
				{url: grafana, token: f.alice, headers: map[string]string{"X-Forwarded-Host": ""}},
			} {
				if a := f.ask(t, f.proxy, q); a.status != http.StatusBadRequest {
					t.Errorf("%v: %d, want 400", q.headers, a.status)
				}
			}
		})

		t.Run("wrong method", func(t *testing.T) {
			r := f.Do(t, "POST", "/api/v1/authz/forward-auth", f.alice, nil)
			if r.Status != http.StatusMethodNotAllowed || !strings.Contains(r.Header.Get("Allow"), "GET") {
				t.Errorf("POST: %d Allow %q, want 405 allowing GET", r.Status, r.Header.Get("Allow"))
			}
		})

		t.Run("audit", func(t *testing.T) {
			carol := f.CreateUser(t, f.admin, "carol", "pw-carol-long-enough")
			tok, _ := f.Login(t, "carol", "pw-carol-long-enough")
			for range 5 {
				f.ask(t, f.proxy, check{url: "https://x.docs.example.com/", token: tok})
				f.ask(t, f.proxy, check{url: grafana, token: tok})
			}
			count := func(typ string) int {
				r := f.Do(t, "GET", "/api/v1/admin/audit?type="+typ, f.admin, nil)
				n := 0
				for _, e := range r.JSON(t)["events"].([]any) {
					if e.(map[string]any)["user_id"] == carol {
						n++
					}
				}
				return n
			}
			eventually(t, "the grant and the denial are recorded", func() bool {
				return count(deadbolt.EventAppAccessGranted) >= 1 && count(deadbolt.EventAppAccessDenied) >= 1
			})
			if g, d := count(deadbolt.EventAppAccessGranted), count(deadbolt.EventAppAccessDenied); g != 1 || d != 1 {
				t.Errorf("5 checks each: %d grants and %d denials recorded, want one of each", g, d)
			}
		})

		t.Run("revoked at once", func(t *testing.T) {
			tok, _ := f.Login(t, "alice", "pw-alice-long-enough")
			for range 3 {
				if a := f.ask(t, f.proxy, check{url: grafana, token: tok}); a.status != http.StatusOK {
					t.Fatalf("before: %d", a.status)
				}
			}
			f.Do(t, "POST", "/api/v1/logout/all", tok, nil)
			if a := f.ask(t, f.proxy, check{url: grafana, token: tok}); a.status != http.StatusUnauthorized {
				t.Errorf("after log out of all devices: %d, want 401", a.status)
			}
			tok, _ = f.Login(t, "alice", "pw-alice-long-enough")
			f.ask(t, f.proxy, check{url: grafana, token: tok})
			f.Do(t, "DELETE", "/api/v1/admin/workgroups/"+f.ops+"/members/"+f.aliceID, f.admin, nil)
			if a := f.ask(t, f.proxy, check{url: grafana, token: tok}); a.status != http.StatusForbidden {
				t.Errorf("after leaving ops: %d, want 403", a.status)
			}
			f.Do(t, "PUT", "/api/v1/admin/apps/"+f.grafana, f.admin, map[string]any{"workgroups": []string{}})
			if a := f.ask(t, f.proxy, check{url: grafana, token: tok}); a.status != http.StatusOK {
				t.Errorf("after the app was opened to everyone: %d, want 200", a.status)
			}
			f.Do(t, "DELETE", "/api/v1/admin/apps/"+f.grafana, f.admin, nil)
			if a := f.ask(t, f.proxy, check{url: grafana, token: tok}); a.status != http.StatusForbidden {
				t.Errorf("after the app was deleted: %d, want 403", a.status)
			}
		})
	})
}

// pendingSession signs bob in with a second factor due and returns the
// pending session's token: bob gets a device paired through the store.
func pendingSession(t *testing.T, f *fwd) string {
	t.Helper()
	tok := newToken()
	h := sha256.Sum256([]byte(tok))
	now := f.App.DevClock.Now()
	u, err := f.App.Store.UserByID(context.Background(), f.bobID)
	if err != nil {
		t.Fatal(err)
	}
	sess := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionPending, Epoch: u.SessionEpoch,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(10 * time.Minute), AuthAt: now, Method: "password", AMR: []string{"pwd"}}
	if err := f.App.Store.CreateSession(context.Background(), sess, h[:]); err != nil {
		t.Fatal(err)
	}
	return tok
}

// passwordOnlySessionWith2FA turns the employee's second factor on (as a
// confirmed pairing does) and returns a full session proven by the
// password alone — as when 2FA was set up after signing in.
func passwordOnlySessionWith2FA(t *testing.T, f *fwd, userID string) string {
	t.Helper()
	ctx := context.Background()
	now := f.App.DevClock.Now()
	if _, err := f.App.Store.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: userID, Now: now, TwoFactor: deadbolt.TwoFactorOn}); err != nil {
		t.Fatal(err)
	}
	u, err := f.App.Store.UserByID(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	tok := newToken()
	h := sha256.Sum256([]byte(tok))
	sess := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull, Epoch: u.SessionEpoch,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AuthAt: now, Method: "password", AMR: []string{"pwd"}}
	if err := f.App.Store.CreateSession(ctx, sess, h[:]); err != nil {
		t.Fatal(err)
	}
	return tok
}

func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// browser is a minimal browser for the sign-in pages: it keeps cookies
// whatever their Secure flag (the test server is plain http on loopback)
// and does not follow redirects.
type browser struct {
	t       *testing.T
	base    string
	c       *http.Client
	cookies map[string]*http.Cookie
}

func newBrowser(t *testing.T, base string) *browser {
	return &browser{t: t, base: base, c: clientFrom(netip.MustParseAddr("127.0.0.1")), cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(method, path string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	data, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// TestForwardAuthReturn: after signing in, the browser goes back to the app
// that sent it — only to a registered app's address; the access page
// explains a refusal.
func TestForwardAuthReturn(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		f := startFwd(t, store)
		grafana := "https://grafana.example.com/d/abc?orgId=1"
		signIn := func(b *browser, login, pw string) answer {
			t.Helper()
			a := b.do("POST", "/login", url.Values{"login": {login}, "password": {pw}})
			if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
				t.Fatalf("sign-in: %d %q", a.status, a.header.Get("Location"))
			}
			return b.do("GET", "/", nil)
		}

		b := newBrowser(t, f.URL)
		if a := b.do("GET", "/login?rd="+url.QueryEscape(grafana), nil); a.status != http.StatusOK {
			t.Fatalf("login page: %d", a.status)
		}
		if a := signIn(b, "alice", "pw-alice-long-enough"); a.status != http.StatusSeeOther || a.header.Get("Location") != grafana {
			t.Errorf("after sign-in: %d %q, want 303 to %s", a.status, a.header.Get("Location"), grafana)
		}
		if a := b.do("GET", "/", nil); a.status != http.StatusOK {
			t.Errorf("the way back is followed once: home page %d, want 200", a.status)
		}
		// Signed in already: straight back.
		if a := b.do("GET", "/login?rd="+url.QueryEscape(grafana), nil); a.status != http.StatusSeeOther || a.header.Get("Location") != grafana {
			t.Errorf("login page when signed in: %d %q, want 303 to %s", a.status, a.header.Get("Location"), grafana)
		}

		// Never elsewhere.
		for _, rd := range []string{"https://evil.example.org/", "//evil.example.org/", "https://grafana.example.com.evil.org/",
			"javascript:alert(1)", "https://alice@grafana.example.com/", "/\\evil.example.org"} {
			b := newBrowser(t, f.URL)
			b.do("GET", "/login?rd="+url.QueryEscape(rd), nil)
			if a := signIn(b, "bob", "pw-bob-long-enough!"); a.status != http.StatusOK {
				t.Errorf("rd %q: after sign-in %d %q, want the home page", rd, a.status, a.header.Get("Location"))
			}
		}
		// A path on Deadbolt itself is fine.
		b = newBrowser(t, f.URL)
		b.do("GET", "/login?rd="+url.QueryEscape("/security"), nil)
		if a := signIn(b, "bob", "pw-bob-long-enough!"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/security" {
			t.Errorf("rd /security: %d %q", a.status, a.header.Get("Location"))
		}

		// A require_2fa app sends the employee to set up 2FA with rd; once
		// done, the home page sends them back.
		vault := "https://vault.example.com/ui/"
		if a := b.do("GET", "/security/2fa/setup?rd="+url.QueryEscape(vault), nil); a.status != http.StatusOK || !strings.Contains(a.body, "pairing-qr") {
			t.Fatalf("setup page with rd: %d", a.status)
		}
		if a := b.do("GET", "/", nil); a.status != http.StatusSeeOther || a.header.Get("Location") != vault {
			t.Errorf("home after the setup page: %d %q, want 303 back to %s", a.status, a.header.Get("Location"), vault)
		}

		// The access page.
		access := "/access?rd=" + url.QueryEscape(grafana)
		anon := newBrowser(t, f.URL)
		if a := anon.do("GET", access, nil); a.status != http.StatusFound || a.header.Get("Location") != f.URL+"/login?rd="+url.QueryEscape(grafana) {
			t.Errorf("access page, not signed in: %d %q", a.status, a.header.Get("Location"))
		}
		bob := newBrowser(t, f.URL)
		signIn(bob, "bob", "pw-bob-long-enough!")
		if a := bob.do("GET", access, nil); a.status != http.StatusForbidden || !strings.Contains(a.body, "No access to Grafana") ||
			!strings.Contains(a.body, "Ask your administrator") {
			t.Errorf("access page, bob: %d %s", a.status, a.body)
		}
		if a := b.do("GET", "/access?rd="+url.QueryEscape("https://vault.example.com/"), nil); a.status != http.StatusFound ||
			!strings.HasPrefix(a.header.Get("Location"), f.URL+"/security/2fa/setup?rd=") {
			t.Errorf("access page, require_2fa without 2FA: %d %q", a.status, a.header.Get("Location"))
		}
		if a := bob.do("GET", "/access?rd="+url.QueryEscape("https://x.docs.example.com/"), nil); a.status != http.StatusFound ||
			a.header.Get("Location") != "https://x.docs.example.com/" {
			t.Errorf("access page, admitted: %d %q", a.status, a.header.Get("Location"))
		}
		if a := bob.do("GET", "/access?rd="+url.QueryEscape("https://evil.example.org/"), nil); a.status != http.StatusNotFound {
			t.Errorf("access page, no app: %d", a.status)
		}
	})
}

// TestCookieDomain: with a cookie domain the session cookie is
// deadbolt_session for the whole domain — Secure, HttpOnly, SameSite=Lax —
// and forward-auth reads it.
func TestCookieDomain(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store, PublicURL: "https://sso.example.test",
			CookieDomain: "example.test", TrustedProxies: []netip.Prefix{netip.PrefixFrom(proxyAddr, 32)}})
		admin := s.AdminToken(t)
		r := s.Do(t, "POST", "/api/v1/admin/apps", admin, map[string]any{"name": "Wiki", "kind": "proxy", "domains": []string{"wiki.example.test"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create app: %d %s", r.Status, r.Body)
		}
		b := newBrowser(t, s.URL)
		a := b.do("POST", "/login", url.Values{"login": {"admin"}, "password": {deadbolttest.AdminPassword}})
		var sc *http.Cookie
		for _, c := range (&http.Response{Header: a.header}).Cookies() {
			if c.Name == "deadbolt_session" {
				sc = c
			}
		}
		if sc == nil || sc.Domain != "example.test" || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
			t.Fatalf("session cookie = %+v, want deadbolt_session; Domain=example.test; Secure; HttpOnly; SameSite=Lax", sc)
		}
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/authz/forward-auth", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "wiki.example.test")
		req.Header.Set("X-Forwarded-Uri", "/")
		req.AddCookie(&http.Cookie{Name: "deadbolt_session", Value: sc.Value})
		resp, err := clientFrom(proxyAddr).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Remote-User") != "admin" {
			t.Errorf("forward-auth with the domain cookie: %d %q", resp.StatusCode, resp.Header.Get("Remote-User"))
		}
		// The sign-in redirect goes to the public URL.
		req.Header.Del("Cookie")
		req.Header.Set("Accept", "text/html")
		resp, err = clientFrom(proxyAddr).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "https://sso.example.test/login?rd=" + url.QueryEscape("https://wiki.example.test/"); resp.Header.Get("Location") != want {
			t.Errorf("redirect = %q, want %q", resp.Header.Get("Location"), want)
		}
	})
}
