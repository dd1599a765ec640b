package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"deadbolt/internal/deadbolt"
)

// TestDevHosts: a development server answers only for names of this
// machine and the public URL's host, on every path; a production server
// answers for any Host.
func TestDevHosts(t *testing.T) {
	pub, _ := url.Parse("http://deadbolt.test:8080")
	dev := NewServer(Deps{DevClock: &deadbolt.DevClock{}, PublicURL: pub})
	prod := NewServer(Deps{PublicURL: pub})
	good := []string{"localhost", "localhost:8080", "LOCALHOST:1", "localhost.", "app.localhost:3000", "a.b.localhost",
		"127.0.0.1", "127.0.0.1:9999", "127.8.9.10", "[::1]", "[::1]:8080", "[::ffff:127.0.0.1]:80",
		"deadbolt.test", "deadbolt.test:8080", "DEADBOLT.TEST:1234"}
	bad := []string{"", "evil.example", "evil.example:8080", "localhost.evil.example", "evillocalhost", "127.0.0.1.nip.io",
		"192.168.1.10", "10.0.0.1:8080", "[::2]:8080", "0.0.0.0", "deadbolt.test.evil.example", "[fe80::1]"}
	paths := []string{"/api/v1/dev/clock", "/api/v1/openapi.json", "/healthz", "/login", "/static/style.css"}
	serve := func(h http.Handler, host, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, host := range good {
		for _, p := range []string{"/api/v1/dev/clock", "/healthz"} {
			if w := serve(dev, host, p); w.Code != http.StatusOK {
				t.Errorf("dev: GET %s with Host %q = %d, want 200", p, host, w.Code)
			}
		}
	}
	for _, host := range bad {
		for _, p := range paths {
			w := serve(dev, host, p)
			if w.Code != http.StatusMisdirectedRequest {
				t.Errorf("dev: GET %s with Host %q = %d, want 421", p, host, w.Code)
				continue
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("dev: GET %s with Host %q: no nosniff header", p, host)
			}
			if p[:5] == "/api/" {
				var body struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "misdirected_request" {
					t.Errorf("dev: GET %s with Host %q: body %q, want the misdirected_request envelope", p, host, w.Body)
				}
			}
		}
		if w := serve(prod, host, "/healthz"); w.Code != http.StatusOK {
			t.Errorf("production: GET /healthz with Host %q = %d, want 200", host, w.Code)
		}
	}
}
