package apps

import (
	"testing"

	"deadbolt/internal/deadbolt"
)

var indexList = []*deadbolt.Application{
	proxyApp("all", "*.example.com"),
	proxyApp("apps", "*.apps.example.com", "apps.example.com/root"),
	proxyApp("wiki", "wiki.example.com", "WIKI.example.com"),
	proxyApp("wiki-admin", "wiki.example.com/admin", "*.wiki.example.com/admin"),
	proxyApp("tls", "secure.example.com:8443"),
	proxyApp("twin", "wiki.example.com"), // loses every tie to wiki
	proxyApp("ip", "192.0.2.7", "[2001:db8::1]:8080/x"),
	proxyApp("bad", "not a domain", "*.com"),
	{ID: "oidc", Name: "oidc", Kind: deadbolt.AppOIDC, Domains: []string{"oidc.example.com"}},
}

func TestIndexMatch(t *testing.T) {
	ix := NewIndex(indexList)
	if ix.Len() != 8 {
		t.Errorf("Len = %d, want 8 proxy apps", ix.Len())
	}
	for _, tc := range []struct{ host, uri, want string }{
		{"wiki.example.com", "/", "wiki"},
		{"wiki.example.com", "/admin/x", "wiki-admin"},
		{"a.wiki.example.com", "/admin", "wiki-admin"},
		{"a.wiki.example.com", "/", "all"},
		{"x.apps.example.com", "/", "apps"},
		{"apps.example.com", "/root/a", "apps"},
		{"apps.example.com", "/", "all"},
		{"192.0.2.7:80", "/", "ip"},
		{"[2001:db8::1]:8080", "/x/y", "ip"},
		{"[2001:db8::1]:8081", "/x/y", ""},
		{"example.com", "/", ""},
		{"", "/", ""},
		{"oidc.example.com", "/", "all"},
	} {
		got, want := ix.Match(tc.host, tc.uri), Match(indexList, tc.host, tc.uri)
		if name(got) != tc.want || got != want {
			t.Errorf("Index.Match(%q, %q) = %q, want %q (Match says %q)", tc.host, tc.uri, name(got), tc.want, name(want))
		}
	}
}

func name(a *deadbolt.Application) string {
	if a == nil {
		return ""
	}
	return a.Name
}

// FuzzIndexMatch: the index answers exactly as Match does.
func FuzzIndexMatch(f *testing.F) {
	for _, s := range [][2]string{{"wiki.example.com", "/admin"}, {"a.b.wiki.example.com", "/admin/../x"},
		{"secure.example.com:8443", "/"}, {"[2001:db8::1]:8080", "/x"}, {"WIKI.EXAMPLE.COM.", "//admin"}} {
		f.Add(s[0], s[1])
	}
	ix := NewIndex(indexList)
	f.Fuzz(func(t *testing.T, host, uri string) {
		if got, want := ix.Match(host, uri), Match(indexList, host, uri); got != want {
			t.Fatalf("Index.Match(%q, %q) = %q, Match = %q", host, uri, name(got), name(want))
		}
	})
}
