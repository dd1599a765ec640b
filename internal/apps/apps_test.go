package apps

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

func TestValidateRedirectURI(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://wiki.example.com/oauth/callback", true},
		{"https://wiki.example.com:8443/cb?tenant=a", true},
		{"http://127.0.0.1:49152/callback", true},
		{"http://[::1]:8080/cb", true},
		{"http://localhost/cb", true},
		{"com.example.app:/oauth2redirect", true},
		{"com.example.app://callback", true},
		{"http://wiki.example.com/cb", false}, // plain http off loopback
		{"http://127.0.0.1.example.com/cb", false},
		{"https://wiki.example.com/cb#frag", false},
		{"https://wiki.example.com/cb#", false},
		{"https://user:pw@wiki.example.com/cb", false},
		{"https:///cb", false},
		{"/relative/cb", false},
		{"javascript:alert(1)", false},
		{"data:text/html,hi", false},
		{"file:///etc/passwd", false},
		{"myapp:/cb", false}, // private-use schemes are reverse domain names
		{"https://wiki.example.com/a b", false},
		{"https://wiki.example.com/\x00", false},
		{"https://wiki.example.com\\@evil.com/", false},
		{"", false},
		{"https://example.com/" + strings.Repeat("a", MaxURILen), false},
	}
	for _, tc := range tests {
		err := ValidateRedirectURI("redirect_uris", tc.uri)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateRedirectURI(%q) = %v, want ok %v", tc.uri, err, tc.ok)
		}
		if err != nil && deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput {
			t.Errorf("ValidateRedirectURI(%q) code = %q, want invalid_input", tc.uri, deadbolt.ErrorCode(err))
		}
	}
	if err := ValidateBackchannelURI("com.example.app:/logout"); err == nil {
		t.Error("ValidateBackchannelURI(private-use scheme) = nil, want an error")
	}
	if err := ValidateBackchannelURI("https://wiki.example.com/backchannel"); err != nil {
		t.Errorf("ValidateBackchannelURI(https) = %v", err)
	}
}

func TestParseDomain(t *testing.T) {
	tests := []struct {
		in, want string // want "" for an error
	}{
		{"wiki.example.com", "wiki.example.com"},
		{"  Wiki.Example.COM ", "wiki.example.com"},
		{"wiki.example.com/docs", "wiki.example.com/docs"},
		{"wiki.example.com/docs/", "wiki.example.com/docs"},
		{"wiki.example.com/", "wiki.example.com"},
		{"*.example.com", "*.example.com"},
		{"*.apps.example.com/admin", "*.apps.example.com/admin"},
		{"wiki.example.com:8443", "wiki.example.com:8443"},
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"[::1]:8080/x", "[::1]:8080/x"},
		{"localhost", "localhost"},
		{"*.com", ""},
		{"*.127.0.0.1", ""},
		{"https://wiki.example.com", ""},
		{"wiki.example.com/a/../b", ""},
		{"wiki.example.com/a//b", ""},
		{"wiki.example.com/a/./b", ""},
		{"wiki.example.com/a?b", ""},
		{"wiki.example.com/%2e%2e", ""},
		{"wiki.example.com/a\\b", ""},
		{"wiki..example.com", ""},
		{"-wiki.example.com", ""},
		{"wi_ki.example.com", ""},
		{"wiki.example.com:0", ""},
		{"wiki.example.com:65536", ""},
		{"wiki.example.com:08", ""},
		{"*.*.example.com", ""},
		{"", ""},
		{"bücher.example.com", ""}, // IDNA A-labels only
	}
	for _, tc := range tests {
		d, err := ParseDomain(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseDomain(%q) = %q, want an error", tc.in, d)
		case tc.want != "" && err != nil:
			t.Errorf("ParseDomain(%q) = %v, want %q", tc.in, err, tc.want)
		case tc.want != "" && d.String() != tc.want:
			t.Errorf("ParseDomain(%q) = %q, want %q", tc.in, d, tc.want)
		}
	}
}

func proxyApp(name string, domains ...string) *deadbolt.Application {
	return &deadbolt.Application{ID: name, Name: name, Kind: deadbolt.AppProxy, Domains: domains}
}

func TestMatch(t *testing.T) {
	list := []*deadbolt.Application{
		proxyApp("all", "*.example.com"),
		proxyApp("apps", "*.apps.example.com"),
		proxyApp("wiki", "wiki.example.com"),
		proxyApp("wiki-admin", "wiki.example.com/admin"),
		proxyApp("tls", "secure.example.com:8443"),
		{ID: "oidc", Name: "oidc", Kind: deadbolt.AppOIDC, Domains: []string{"oidc.example.com"}},
	}
	tests := []struct {
		host, uri, want string // want "" for no match
	}{
		{"wiki.example.com", "/", "wiki"},
		{"WIKI.example.com.", "/page", "wiki"},
		{"wiki.example.com:443", "/page", "wiki"},
		{"wiki.example.com", "/admin", "wiki-admin"},
		{"wiki.example.com", "/admin/users?x=1", "wiki-admin"},
		{"wiki.example.com", "/administrator", "wiki"},
		{"wiki.example.com", "/x/../admin/", "wiki-admin"},
		{"wiki.example.com", "//admin", "wiki-admin"},
		{"wiki.example.com", "/%61dmin", "wiki-admin"},
		{"wiki.example.com", "/admin%2Fusers", "wiki-admin"},
		{"wiki.example.com", "/./admin", "wiki-admin"},
		{"wiki.example.com", "/%zz", ""},
		{"wiki.example.com", "/a\\..\\admin", ""},
		{"wiki.example.com", "/a%00", ""},
		{"chat.example.com", "/", "all"},
		{"a.b.example.com", "/", "all"},
		{"git.apps.example.com", "/", "apps"},
		{"example.com", "/", ""},
		{"evilexample.com", "/", ""},
		{"example.com.evil.org", "/", ""},
		{"secure.example.com:8443", "/", "tls"},
		{"secure.example.com", "/", "all"},
		{"oidc.example.com", "/", "all"}, // OIDC apps are not proxy apps
		{"", "/", ""},
	}
	for _, tc := range tests {
		got := Match(list, tc.host, tc.uri)
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tc.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tc.host, tc.uri, name, tc.want)
		}
	}
	d, _ := ParseDomain("wiki.example.com/docs")
	if !MatchDomain(d, "wiki.example.com", "/docs/a") || MatchDomain(d, "wiki.example.com", "/docsx") {
		t.Error("MatchDomain does not match on path segment boundaries")
	}
}

func TestAccess(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	with2FA := &deadbolt.User{ID: "u1", Active: true, TwoFactorSince: now}
	without2FA := &deadbolt.User{ID: "u2", Active: true}
	inactive := &deadbolt.User{ID: "u3", Active: false, TwoFactorSince: now}
	open := &deadbolt.Application{Name: "open"}
	group := &deadbolt.Application{Name: "group", Workgroups: []string{"eng", "ops"}}
	strict := &deadbolt.Application{Name: "strict", Require2FA: true}
	strictGroup := &deadbolt.Application{Name: "strict-group", Require2FA: true, Workgroups: []string{"eng"}}
	pwd := []string{"pwd"}
	mfa := []string{"pwd", "swk", "mfa"}
	passkey := []string{"hwk", "user"}
	tests := []struct {
		name     string
		app      *deadbolt.Application
		user     *deadbolt.User
		memberOf []string
		amr      []string
		want     Verdict
	}{
		{"open app, password", open, without2FA, nil, pwd, Admit},
		{"open app, inactive", open, inactive, nil, mfa, DenyInactive},
		{"no user", open, nil, nil, mfa, DenyInactive},
		{"group app, member", group, with2FA, []string{"ops"}, pwd, Admit},
		{"group app, not member", group, with2FA, []string{"sales"}, mfa, DenyNotMember},
		{"group app, no groups", group, with2FA, nil, mfa, DenyNotMember},
		{"2fa app, mfa session", strict, with2FA, nil, mfa, Admit},
		{"2fa app, passkey session", strict, with2FA, nil, passkey, Admit},
		{"2fa app, password session, has 2fa", strict, with2FA, nil, pwd, StepUp},
		{"2fa app, password session, no 2fa", strict, without2FA, nil, pwd, SetupFirst},
		{"2fa app, no amr", strict, with2FA, nil, nil, StepUp},
		{"2fa group app, not member", strictGroup, without2FA, nil, pwd, DenyNotMember},
		{"2fa group app, member", strictGroup, with2FA, []string{"eng"}, mfa, Admit},
	}
	for _, tc := range tests {
		if got := Access(tc.app, tc.user, tc.memberOf, tc.amr); got != tc.want {
			t.Errorf("%s: Access = %q, want %q", tc.name, got, tc.want)
		}
	}
	if !DenyNotMember.Denied() || StepUp.Denied() || Admit.Denied() {
		t.Error("Verdict.Denied is wrong")
	}
	if e := DeniedError(group); deadbolt.ErrorCode(e) != deadbolt.CodeAccessDenied || !strings.Contains(deadbolt.ErrorMessage(e), "group") {
		t.Errorf("DeniedError = %v, want access_denied naming the app", e)
	}
}

func TestACR(t *testing.T) {
	tests := []struct {
		amr  []string
		want string
	}{
		{nil, ACRPassword},
		{[]string{"pwd"}, ACRPassword},
		{[]string{"pwd", "otp", "mfa"}, ACRMultiFactor},
		{[]string{"pwd", "sms", "mfa"}, ACRMultiFactor},
		{[]string{"pwd", "hwk", "mfa"}, ACRPhishingResistant},
		{[]string{"hwk", "user"}, ACRPhishingResistant},
	}
	for _, tc := range tests {
		if got := ACR(tc.amr); got != tc.want {
			t.Errorf("ACR(%v) = %q, want %q", tc.amr, got, tc.want)
		}
	}
	sat := []struct {
		have, want string
		ok         bool
	}{
		{"pwd", "pwd", true}, {"mfa", "pwd", true}, {"phr", "mfa", true},
		{"pwd", "mfa", false}, {"mfa", "phr", false}, {"phr", "phrh", false}, {"phr", "", false},
	}
	for _, tc := range sat {
		if got := Satisfies(tc.have, tc.want); got != tc.ok {
			t.Errorf("Satisfies(%q, %q) = %v, want %v", tc.have, tc.want, got, tc.ok)
		}
	}
}

func TestSecrets(t *testing.T) {
	if _, err := NewSecrets(make([]byte, 16)); err == nil {
		t.Error("NewSecrets(16 bytes) = nil error")
	}
	s, err := NewSecrets(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSecrets(bytes.Repeat([]byte{2}, 32))
	secret, hash := s.Generate()
	if len(secret) != secretLen || bytes.Contains(hash, []byte(secret)) {
		t.Fatalf("Generate = %q, %x", secret, hash)
	}
	if !s.Verify(hash, secret) {
		t.Error("Verify(right secret) = false")
	}
	if s.Verify(hash, secret[:42]+"x") || s.Verify(nil, secret) || s.Verify(hash, "") || other.Verify(hash, secret) {
		t.Error("Verify accepted a wrong secret, a missing hash or another key")
	}
	second, _ := s.Generate()
	if second == secret {
		t.Error("Generate returned the same secret twice")
	}
}

func FuzzParseDomain(f *testing.F) {
	for _, s := range []string{"wiki.example.com", "*.example.com/a", "[::1]:80/x", "a:b:c", "x/../y", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDomain(s)
		if err != nil {
			return
		}
		// The canonical form parses to itself.
		again, err := ParseDomain(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDomain(%q) = %q, which parses to %q, %v", s, d, again, err)
		}
	})
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/", "/admin", "/%61dmin", "/a/../admin", "//admin?x", "/%zz"} {
		f.Add("wiki.example.com", s)
	}
	list := []*deadbolt.Application{proxyApp("wiki", "wiki.example.com"), proxyApp("admin", "wiki.example.com/admin")}
	f.Fuzz(func(t *testing.T, host, uri string) {
		got := Match(list, host, uri)
		clean, ok := CleanPath(uri)
		if !ok {
			if got != nil {
				t.Fatalf("Match(%q, %q) = %s for an undecodable path", host, uri, got.Name)
			}
			return
		}
		if !strings.HasPrefix(clean, "/") || strings.Contains(clean, "/../") || strings.HasSuffix(clean, "/..") {
			t.Fatalf("CleanPath(%q) = %q, not clean", uri, clean)
		}
		// Whatever the spelling, /admin and below go to the admin app.
		if got != nil && (clean == "/admin" || strings.HasPrefix(clean, "/admin/")) && got.Name != "admin" {
			t.Fatalf("Match(%q, %q) = %s, want admin (clean path %q)", host, uri, got.Name, clean)
		}
	})
}

func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://127.0.0.1:1/x", "com.example:/x", "javascript:x", "http://a#b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateRedirectURI("redirect_uris", s) != nil {
			return
		}
		if strings.Contains(s, "#") || len(s) > MaxURILen {
			t.Fatalf("ValidateRedirectURI(%q) accepted a fragment or an overlong URI", s)
		}
		low := strings.ToLower(s)
		if strings.HasPrefix(low, "javascript:") || strings.HasPrefix(low, "data:") {
			t.Fatalf("ValidateRedirectURI(%q) accepted a dangerous scheme", s)
		}
	})
}
