package main

import "testing"

// TestDefaultPublicURL: without --public-url a loopback listener is
// reached as localhost (a domain name: passkeys need one), any other one
// by its address.
func TestDefaultPublicURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8080": "http://localhost:8080",
		"localhost:9000": "http://localhost:9000",
		"[::1]:8443":     "http://localhost:8443",
		"127.0.0.1:0":    "http://localhost:0",
		"0.0.0.0:8080":   "http://0.0.0.0:8080",
		"10.1.2.3:80":    "http://10.1.2.3:80",
	} {
		if got := defaultPublicURL(listen); got != want {
			t.Errorf("defaultPublicURL(%q) = %q, want %q", listen, got, want)
		}
	}
}
