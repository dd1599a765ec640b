package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/proxytest"
)

// proxied is Deadbolt set up as the README says (public URL
// https://sso.example.com, cookie domain example.com, the proxy at
// 127.0.0.1 trusted) with two proxy apps: app.example.com admits the
// workgroup ops (alice is in it, bob is not), open.example.com everyone.
type proxied struct {
	*deadbolttest.Server
	admin      string
	alice, bob string
	upstream   *proxytest.Upstream
}

func startProxied(t *testing.T, store deadbolttest.Store) *proxied {
	t.Helper()
	// Not in development mode: a development server answers only for
	// this machine's names, and Caddy asks with the app's Host.
	s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store, NoDev: true, PublicURL: "https://sso.example.com",
		CookieDomain: "example.com", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	p := &proxied{Server: s, admin: s.AdminToken(t), upstream: proxytest.StartUpstream(t)}
	r := s.Do(t, "POST", "/api/v1/admin/users", p.admin, map[string]any{"login": "alice", "name": "Alice Smith",
		"email": "alice@example.com", "password": "pw-alice-long-enough"})
	aliceID := r.JSON(t)["id"].(string)
	s.CreateUser(t, p.admin, "bob", "pw-bob-long-enough!")
	ops := s.Do(t, "POST", "/api/v1/admin/workgroups", p.admin, map[string]string{"name": "ops"}).JSON(t)["id"].(string)
	s.Do(t, "POST", "/api/v1/admin/workgroups/"+ops+"/members", p.admin, map[string]string{"user_id": aliceID})
	for _, body := range []map[string]any{
		{"name": "App", "kind": "proxy", "domains": []string{"app.example.com"}, "workgroups": []string{ops}},
		{"name": "Open", "kind": "proxy", "domains": []string{"open.example.com"}},
	} {
		if r := s.Do(t, "POST", "/api/v1/admin/apps", p.admin, body); r.Status != http.StatusCreated {
			t.Fatalf("create app: %d %s", r.Status, r.Body)
		}
	}
	p.alice, _ = s.Login(t, "alice", "pw-alice-long-enough")
	p.bob, _ = s.Login(t, "bob", "pw-bob-long-enough!")
	return p
}

// deadboltAddr is the host:port the proxy reaches Deadbolt at.
func (p *proxied) deadboltAddr(t *testing.T) string {
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// forHosts repeats a recipe written for app.example.com for each host.
func forHosts(recipe string, hosts ...string) string {
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString(strings.ReplaceAll(recipe, "app.example.com", h))
	}
	return b.String()
}

func nginxFromReadme(t *testing.T, p *proxied) *proxytest.Proxy {
	port := proxytest.FreePort(t)
	conf := proxytest.Recipe(t, "nginx")
	conf = strings.ReplaceAll(conf, "listen 80;", "listen 127.0.0.1:"+strconv.Itoa(port)+";")
	conf = strings.ReplaceAll(conf, "127.0.0.1:9091", p.deadboltAddr(t))
	conf = strings.ReplaceAll(conf, "127.0.0.1:3000", "127.0.0.1:"+strconv.Itoa(p.upstream.Port()))
	return proxytest.StartNginx(t, port, forHosts(conf, "app.example.com", "open.example.com"))
}

func caddyFromReadme(t *testing.T, p *proxied) *proxytest.Proxy {
	port := proxytest.FreePort(t)
	conf := proxytest.Recipe(t, "caddy")
	conf = strings.Replace(conf, "app.example.com {", "http://app.example.com:"+strconv.Itoa(port)+" {\n\tbind 127.0.0.1", 1)
	conf = strings.ReplaceAll(conf, "127.0.0.1:9091", p.deadboltAddr(t))
	conf = strings.ReplaceAll(conf, "127.0.0.1:3000", "127.0.0.1:"+strconv.Itoa(p.upstream.Port()))
	return proxytest.StartCaddy(t, port, forHosts(conf, "app.example.com", "open.example.com"))
}

// through sends a request to host through the proxy, with the session
// cookie (if any), as a browser (html) or an API client, with extra
// headers the client adds.
func through(t *testing.T, px *proxytest.Proxy, host, path, session string, html bool, extra map[string]string) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", px.Port, path), nil)
	req.Host = host
	if html {
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "deadbolt_session", Value: session})
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := clientFrom(netip.MustParseAddr("127.0.0.1")).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// TestBehindNginx and TestBehindCaddy run the README's recipes in front of
// a small upstream app: no session is refused (the upstream never reached),
// a signed-in employee reaches it with Remote-User, a Remote-* header
// forged by the client never reaches it, a workgroup the app does not admit
// is refused, and log out of all devices refuses the session at once.
func TestBehindNginx(t *testing.T) {
	proxytest.Binary(t, "nginx")
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		p := startProxied(t, store)
		testBehindProxy(t, p, nginxFromReadme(t, p), "nginx")
	})
}

func TestBehindCaddy(t *testing.T) {
	proxytest.Binary(t, "caddy")
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		p := startProxied(t, store)
		testBehindProxy(t, p, caddyFromReadme(t, p), "caddy")
	})
}

func testBehindProxy(t *testing.T, p *proxied, px *proxytest.Proxy, kind string) {
	reached := func() int { return len(p.upstream.Requests()) }
	rd := "http://app.example.com/page?x=1&y=2"
	login := "https://sso.example.com/login?rd=" + url.QueryEscape(rd)

	// Not signed in: sent to sign in; the upstream never sees it.
	if a := through(t, px, "app.example.com", "/page?x=1&y=2", "", true, nil); a.status != http.StatusFound || a.header.Get("Location") != login {
		t.Errorf("%s, no session, browser: %d %q, want 302 to %s\n%s", kind, a.status, a.header.Get("Location"), login, px.Logs())
	}
	a := through(t, px, "app.example.com", "/page", "", false, map[string]string{"Remote-User": "admin"})
	wantAPI := http.StatusUnauthorized
	if kind == "nginx" {
		wantAPI = http.StatusFound // nginx sends every 401 to the sign-in page
	}
	if a.status != wantAPI {
		t.Errorf("%s, no session, API client with a forged Remote-User: %d, want %d", kind, a.status, wantAPI)
	}
	if n := reached(); n != 0 {
		t.Fatalf("%s: the upstream was reached %d times without a session", kind, n)
	}

	// Signed in and admitted: the upstream sees who.
	a = through(t, px, "app.example.com", "/page", p.alice, true, nil)
	if a.status != http.StatusOK || a.body != "upstream for alice" {
		t.Fatalf("%s, alice: %d %q, want the upstream's page\n%s", kind, a.status, a.body, px.Logs())
	}
	got := p.upstream.Requests()[reached()-1].Header
	for k, v := range map[string]string{"Remote-User": "alice", "Remote-Name": "Alice Smith",
		"Remote-Email": "alice@example.com", "Remote-Groups": "ops"} {
		if got.Get(k) != v {
			t.Errorf("%s: upstream got %s %q, want %q", kind, k, got.Get(k), v)
		}
	}

	// Forged headers never reach the upstream, even those Deadbolt sends
	// empty (bob has no email and no workgroup).
	forged := map[string]string{"Remote-User": "admin", "Remote-Name": "Admin", "Remote-Email": "admin@example.com", "Remote-Groups": "admins"}
	a = through(t, px, "open.example.com", "/", p.bob, false, forged)
	if a.status != http.StatusOK {
		t.Fatalf("%s, bob on open: %d %s", kind, a.status, a.body)
	}
	got = p.upstream.Requests()[reached()-1].Header
	if got.Get("Remote-User") != "bob" || got.Get("Remote-Name") != "Test bob" {
		t.Errorf("%s: upstream got Remote-User %q, Remote-Name %q; want bob's", kind, got.Get("Remote-User"), got.Get("Remote-Name"))
	}
	for _, k := range []string{"Remote-Email", "Remote-Groups"} {
		if v := got.Get(k); v != "" {
			t.Errorf("%s: the client's forged %s %q reached the upstream", kind, k, v)
		}
	}

	// Not admitted: refused, with a page naming the app.
	before := reached()
	a = through(t, px, "app.example.com", "/page?x=1&y=2", p.bob, true, nil)
	switch kind {
	case "nginx":
		access := "https://sso.example.com/access?rd=" + url.QueryEscape(rd)
		if a.status != http.StatusFound || a.header.Get("Location") != access {
			t.Errorf("nginx, bob on app: %d %q, want 302 to %s", a.status, a.header.Get("Location"), access)
		}
	default:
		if a.status != http.StatusForbidden || !strings.Contains(a.body, "No access to App") {
			t.Errorf("%s, bob on app: %d %q, want 403 naming App", kind, a.status, a.body)
		}
	}
	if reached() != before {
		t.Errorf("%s: the upstream was reached by an employee the app does not admit", kind)
	}

	// Log out of all devices: refused at the next request.
	if r := p.Do(t, "POST", "/api/v1/logout/all", p.alice, nil); r.Status >= 300 {
		t.Fatalf("logout all: %d %s", r.Status, r.Body)
	}
	before = reached()
	if a := through(t, px, "app.example.com", "/page", p.alice, true, nil); a.status != http.StatusFound || !strings.HasPrefix(a.header.Get("Location"), "https://sso.example.com/login?rd=") {
		t.Errorf("%s, after log out of all devices: %d %q, want 302 to sign in", kind, a.status, a.header.Get("Location"))
	}
	if reached() != before {
		t.Errorf("%s: the upstream was reached with an ended session", kind)
	}
}
