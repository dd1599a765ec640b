package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"deadbolt/internal/deadbolt"
)

var wildcard = regexp.MustCompile(`\{[^}]+\}`)

// TestWrongMethod: a known path called with a method no route takes
// answers 405 with an Allow header naming exactly the registered methods
// (HEAD with GET) — the JSON envelope for API paths, plain for pages — an
// unknown API path stays 404, and an unknown page is the error page with
// 404 in the reader's language.
func TestWrongMethod(t *testing.T) {
	for _, dev := range []bool{false, true} {
		d := Deps{}
		if dev {
			d.DevClock = &deadbolt.DevClock{}
		}
		h := NewServer(d)
		rec := &recorder{}
		(&server{Deps: d}).routes(rec)
		byPath := map[string][]string{}
		type route struct {
			method string
			match  *regexp.Regexp
		}
		var routes []route
		for _, p := range rec.patterns {
			method, path, ok := strings.Cut(p, " ")
			if !ok {
				continue // the API fallback
			}
			path = strings.TrimSuffix(path, "{$}")
			parts := wildcard.Split(path, -1)
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			routes = append(routes, route{method, regexp.MustCompile("^" + strings.Join(parts, "[^/]+") + "$")})
			byPath[wildcard.ReplaceAllString(path, "x1")] = nil
		}
		// A path takes the methods of every route it matches: a literal
		// segment (/me/passkeys/options) is also a value of a wildcard
		// (/me/passkeys/{id}).
		for path := range byPath {
			for _, rt := range routes {
				if rt.match.MatchString(path) {
					byPath[path] = append(byPath[path], rt.method)
					if rt.method == "GET" {
						byPath[path] = append(byPath[path], "HEAD")
					}
				}
			}
		}
		checked := 0
		for path, methods := range byPath {
			slices.Sort(methods)
			want := strings.Join(slices.Compact(methods), ", ")
			for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
				if slices.Contains(methods, m) {
					continue
				}
				checked++
				w := httptest.NewRecorder()
				req := httptest.NewRequest(m, path, nil)
				req.Host = "localhost"
				h.ServeHTTP(w, req)
				if w.Code != http.StatusMethodNotAllowed {
					t.Errorf("dev=%v: %s %s = %d, want 405", dev, m, path, w.Code)
					continue
				}
				if got := w.Header().Get("Allow"); got != want {
					t.Errorf("dev=%v: %s %s: Allow = %q, want %q", dev, m, path, got, want)
				}
				if !strings.HasPrefix(path, "/api/") || m == "HEAD" {
					continue
				}
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "method_not_allowed" || body.Error.Message == "" {
					t.Errorf("dev=%v: %s %s: body %q, want the method_not_allowed envelope", dev, m, path, w.Body)
				}
			}
		}
		if checked < 100 {
			t.Errorf("dev=%v: checked %d wrong methods, expected more", dev, checked)
		}
		for _, p := range []string{"/api/v1/nothing", "/api/v1/login/nothing", "/api/v2/login"} {
			w := httptest.NewRecorder()
			req := httptest.NewRequest("GET", p, nil)
			req.Host = "localhost"
			h.ServeHTTP(w, req)
			if w.Code != http.StatusNotFound || w.Header().Get("Allow") != "" || !strings.Contains(w.Body.String(), `"not_found"`) {
				t.Errorf("dev=%v: GET %s = %d Allow %q %s, want 404 not_found", dev, p, w.Code, w.Header().Get("Allow"), w.Body)
			}
		}
	}
	// An unknown page is the error page, in the reader's language.
	for _, c := range []struct{ lang, html, text string }{
		{"en", `<html lang="en"`, "This page does not exist."},
		{"ru-RU,ru;q=0.9", `<html lang="ru"`, "Такой страницы нет."},
	} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/no/such/page", nil)
		req.Host = "localhost"
		req.Header.Set("Accept-Language", c.lang)
		NewServer(Deps{}).ServeHTTP(w, req)
		body := w.Body.String()
		if w.Code != http.StatusNotFound || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
			!strings.Contains(body, c.html) || !strings.Contains(body, c.text) || !strings.Contains(body, `id="error-page"`) {
			t.Errorf("GET /no/such/page (Accept-Language %s) = %d %q:\n%s\nwant 404 with the error page saying %q", c.lang, w.Code, w.Header().Get("Content-Type"), body, c.text)
		}
	}
	// Without development mode the development paths are unknown: 404.
	w := httptest.NewRecorder()
	NewServer(Deps{}).ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/dev/sms", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("POST /api/v1/dev/sms on a production server = %d, want 404", w.Code)
	}
}
