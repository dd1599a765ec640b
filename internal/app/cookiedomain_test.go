package app_test

import (
	"net/url"
	"testing"

	"deadbolt/internal/app"
)

func TestCheckCookieDomain(t *testing.T) {
	for _, tc := range []struct {
		domain, public, want string
		ok                   bool
	}{
		{"", "http://127.0.0.1:8080", "", true},
		{"example.com", "https://sso.example.com", "example.com", true},
		{".Example.COM", "https://sso.example.com", "example.com", true},
		{"example.com", "https://example.com", "example.com", true},
		{"corp.example.com", "https://a.b.corp.example.com:8443", "corp.example.com", true},
		{"example.com", "https://sso.example.org", "", false},
		{"example.com", "https://badexample.com", "", false},
		{"example.com", "http://sso.example.com", "", false}, // Secure needs https
		{"com", "https://sso.example.com", "", false},
		{"127.0.0.1", "https://127.0.0.1", "", false},
		{"*.example.com", "https://sso.example.com", "", false},
		{"example.com:443", "https://sso.example.com", "", false},
	} {
		u, _ := url.Parse(tc.public)
		got, err := app.CheckCookieDomain(tc.domain, u)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("CheckCookieDomain(%q, %q) = %q, %v; want %q, ok %v", tc.domain, tc.public, got, err, tc.want, tc.ok)
		}
	}
}
