package web_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"deadbolt/internal/deadbolttest"
)

// junkBodies are request bodies no bodyless route may take.
var junkBodies = []string{`[1,2]`, `"bye"`, `1`, `null`, `true`, `{"a":1}`, `{"a":null}`, `{} {}`, `{`, "{\"\xff\":1}", `{"\ud800":1}`}

// TestLogoutBodies: POST /logout and /logout/all take an empty body or {}
// only; anything else is 400 bad_request and the session goes on.
func TestLogoutBodies(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		for _, path := range []string{"/api/v1/logout", "/api/v1/logout/all"} {
			for _, ok := range []string{"", "{}", " { } "} {
				tok := s.AdminToken(t)
				for _, junk := range junkBodies {
					r := s.Do(t, "POST", path, tok, junk)
					if r.Status != http.StatusBadRequest || r.ErrorCode() != "bad_request" {
						t.Errorf("POST %s %q = %d %s, want 400 bad_request", path, junk, r.Status, r.Body)
					}
				}
				if r := s.Do(t, "GET", "/api/v1/me", tok, nil); r.Status != http.StatusOK {
					t.Fatalf("after refused POST %s: GET /me = %d, want the session alive", path, r.Status)
				}
				var body any
				if ok != "" {
					body = ok
				}
				if r := s.Do(t, "POST", path, tok, body); r.Status != http.StatusOK {
					t.Errorf("POST %s %q = %d %s, want 200", path, ok, r.Status, r.Body)
				}
				if r := s.Do(t, "GET", "/api/v1/me", tok, nil); r.Status != http.StatusUnauthorized {
					t.Errorf("after POST %s %q: GET /me = %d, want 401", path, ok, r.Status)
				}
			}
		}
	})
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestStateChangingRoutesRefuseJunk: every POST, PUT and DELETE of the API
// (as the OpenAPI document lists them) refuses a body that is not what it
// takes with 400 bad_request — bodyless ones anything but empty or {},
// the others anything but their object.
func TestStateChangingRoutesRefuseJunk(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "paula", "paula-password")
	full, _ := s.Login(t, "paula", "paula-password")
	dev := pairDevice(t, s, full)
	pending, _ := s.Login(t, "paula", "paula-password")

	r := s.Do(t, "GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Required bool `json:"required"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	bodyless, bodied := 0, 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			method = strings.ToUpper(method)
			if method == "GET" {
				continue
			}
			if op.RequestBody == nil {
				t.Errorf("%s %s: the document says nothing of its request body", method, path)
				continue
			}
			url := pathParam.ReplaceAllString(path, "x")
			if !op.RequestBody.Required {
				// Refused before the session is even looked up.
				bodyless++
				for _, junk := range junkBodies {
					for _, tok := range []string{"", admin} {
						if r := s.Do(t, method, url, tok, junk); r.Status != http.StatusBadRequest || r.ErrorCode() != "bad_request" {
							t.Errorf("%s %s %q = %d %s, want 400 bad_request", method, path, junk, r.Status, r.Body)
						}
					}
				}
				continue
			}
			bodied++
			tok := admin
			switch {
			case strings.HasPrefix(path, "/api/v1/login/"):
				tok = pending
			case strings.HasPrefix(path, "/api/v1/device/") && path != "/api/v1/device/pair":
				tok = dev.DeviceToken
			}
			for _, junk := range []string{`[1,2]`, `"bye"`, `null`, `{"no_such_field":1}`, "{\"a\":\"\xff\"}"} {
				if r := s.Do(t, method, url, tok, junk); r.Status != http.StatusBadRequest || r.ErrorCode() != "bad_request" {
					t.Errorf("%s %s %q = %d %s, want 400 bad_request", method, path, junk, r.Status, r.Body)
				}
			}
		}
	}
	if bodyless < 10 || bodied < 10 {
		t.Errorf("the document lists %d bodyless and %d bodied state-changing operations; expected more", bodyless, bodied)
	}
	for name, tok := range map[string]string{"admin": admin, "pending": pending} {
		if r := s.Do(t, "GET", "/api/v1/me", tok, nil); name == "admin" && r.Status != http.StatusOK {
			t.Errorf("the %s session after the refused calls: GET /me = %d", name, r.Status)
		}
	}
	if r := s.Do(t, "GET", "/api/v1/device", dev.DeviceToken, nil); r.Status != http.StatusOK {
		t.Errorf("the device after the refused calls: %d %s", r.Status, r.Body)
	}
}

// TestNullCodes: a null code is a non-string code: 400 bad_request, and
// the attempt is not counted.
func TestNullCodes(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "paula", "paula-password")
	full, _ := s.Login(t, "paula", "paula-password")
	pairDevice(t, s, full)
	pending, _ := s.Login(t, "paula", "paula-password")
	before := auditCount(t, s, admin, "signin.second_factor_failure")
	for _, body := range []string{`{"method":"totp","code":null}`, `{"method":null,"code":"123456"}`, `{"method":"recovery","code":null,"captcha":null}`} {
		if r := s.Do(t, "POST", "/api/v1/login/second-factor", pending, body); r.Status != http.StatusBadRequest || r.ErrorCode() != "bad_request" {
			t.Errorf("POST /login/second-factor %s = %d %s, want 400 bad_request", body, r.Status, r.Body)
		}
	}
	if n := auditCount(t, s, admin, "signin.second_factor_failure"); n != before {
		t.Errorf("null codes counted %d failures, want none", n-before)
	}
	// null for an optional field reads as absent.
	r := s.Do(t, "POST", "/api/v1/login/second-factor", pending, `{"method":"totp","code":"000000","captcha":null}`)
	if r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_code" {
		t.Errorf("a wrong code with captcha null = %d %s, want 401 invalid_code", r.Status, r.Body)
	}
}

// TestDevServerRefusesForeignHosts: a development server reached under a
// name that is not this machine's (DNS rebinding) does not show its SMS
// outbox.
func TestDevServerRefusesForeignHosts(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	for host, want := range map[string]int{"rebind.example": http.StatusMisdirectedRequest, "localhost": http.StatusOK, "": http.StatusOK} {
		req, err := http.NewRequest("GET", s.URL+"/api/v1/dev/sms", nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /api/v1/dev/sms with Host %q = %d, want %d", host, resp.StatusCode, want)
		}
	}
}
