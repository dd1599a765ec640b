package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusting := &server{Deps: Deps{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	plain := &server{}
	tests := []struct {
		name   string
		s      *server
		remote string
		xff    []string
		want   string
	}{
		{"no proxy trusted: header ignored", plain, "10.1.2.3:5000", []string{"203.0.113.9"}, "10.1.2.3"},
		{"untrusted peer: header ignored", trusting, "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"trusted proxy", trusting, "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"right-most untrusted wins", trusting, "10.1.2.3:5000", []string{"192.0.2.66, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"spoofed left part ignored", trusting, "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{"garbage stops the walk", trusting, "10.1.2.3:5000", []string{"not-an-ip"}, "10.1.2.3"},
		{"only proxies", trusting, "10.1.2.3:5000", []string{"10.2.2.2"}, "10.2.2.2"},
		{"IPv4-mapped peer", plain, "[::ffff:192.0.2.1]:5000", nil, "192.0.2.1"},
		{"IPv6 peer", plain, "[2001:db8::1]:5000", nil, "2001:db8::1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := tc.s.clientIP(r); got != tc.want {
			t.Errorf("%s: clientIP(%s, %q) = %q, want %q", tc.name, tc.remote, tc.xff, got, tc.want)
		}
	}
}
