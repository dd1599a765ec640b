package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// pairDevice pairs a companion device for the signed-in token and
// confirms it, which turns the second factor on.
func pairDevice(t *testing.T, s *deadbolttest.Server, token string) *deviceclient.State {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/me/device/pairing", token, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("pairing: %d %s", r.Status, r.Body)
	}
	offer := r.JSON(t)
	st, err := deviceclient.Pair(context.Background(), s.Client, offer["url"].(string), "Test phone")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := st.Code(s.Clock().Now())
	if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", token, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	return st
}

// TestPageAccess: each page route lets in only the session kind routes.go
// declares for it, and sends the others where they can go on.
func TestPageAccess(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)

	// An employee with a second factor: signing in leaves the session pending.
	s.CreateUser(t, admin, "paula", "paula-password")
	full, _ := s.Login(t, "paula", "paula-password")
	pairDevice(t, s, full)
	pending, ans := s.Login(t, "paula", "paula-password")
	if ans["state"] != "second_factor" {
		t.Fatalf("paula's sign-in state = %v, want second_factor", ans["state"])
	}

	// An employee past a blocking setup deadline: the session is limited to setup.
	sid := s.CreateUser(t, admin, "sam", "sam-password")
	wg := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Blocked"}).JSON(t)["id"].(string)
	if r := s.Do(t, "POST", "/api/v1/admin/workgroups/"+wg+"/members", admin, map[string]string{"user_id": sid}); r.Status != http.StatusCreated {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	deadline := s.Clock().Now().Add(time.Minute).UTC().Format(time.RFC3339)
	if r := s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wg+"/policy", admin, map[string]any{"required": true, "deadline": deadline, "after_deadline": "block"}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	s.Advance(t, 2*time.Minute)
	setup, ans := s.Login(t, "sam", "sam-password")
	if ans["state"] != "setup_required" {
		t.Fatalf("sam's sign-in state = %v, want setup_required", ans["state"])
	}

	s.CreateUser(t, admin, "erin", "erin-password")
	employee, _ := s.Login(t, "erin", "erin-password")
	admin = s.AdminToken(t) // fresh after the clock moved

	const ok, forbidden = "200", "403"
	sessions := []struct{ name, token string }{
		{"signed out", ""}, {"pending", pending}, {"setup", setup}, {"employee", employee}, {"admin", admin},
	}
	tests := []struct {
		method, path string
		want         [5]string // per session above: a status, or the redirect target
	}{
		{"GET", "/", [5]string{"/login", "/login/verify", "/security/2fa/setup", ok, ok}},
		{"GET", "/security", [5]string{"/login", "/login/verify", "/security/2fa/setup", ok, ok}},
		{"GET", "/security/phone", [5]string{"/login", "/login/verify", "/security/2fa/setup", ok, ok}},
		{"GET", "/login/verify", [5]string{"/login", ok, "/", "/", "/"}},
		{"GET", "/security/2fa/setup", [5]string{"/login", "/login/verify", ok, ok, ok}},
		{"GET", "/security/reauth", [5]string{"/login", "/login/verify", ok, ok, ok}},
		{"GET", "/admin", [5]string{"/login", "/login/verify", "/security/2fa/setup", forbidden, ok}},
		{"GET", "/admin/audit", [5]string{"/login", "/login/verify", "/security/2fa/setup", forbidden, ok}},
		{"POST", "/logout/all", [5]string{"/login", "/login/verify", "/security/2fa/setup", "/login?msg=logged_out_all", "/login?msg=logged_out_all"}},
		{"POST", "/security/password", [5]string{"/login", "/login/verify", "/security/2fa/setup", "401", "401"}},      // no current password
		{"GET", "/security/password/new", [5]string{"/login", "/login/verify", "/security", "/security", "/security"}}, // no one-time password to replace
	}
	for _, tc := range tests {
		for i, sess := range sessions {
			if tc.want[i] == "/login?msg=logged_out_all" {
				continue // would end the session the other rows need
			}
			c := newConsole(t, s, sess.token)
			r := c.do(tc.method, tc.path, "application/x-www-form-urlencoded", nil)
			what := tc.method + " " + tc.path + " as " + sess.name
			switch want := tc.want[i]; want {
			case ok:
				r.want(t, what, http.StatusOK)
			case "401":
				r.want(t, what, http.StatusUnauthorized)
			case forbidden:
				r.want(t, what, http.StatusForbidden, "Only administrators")
			default:
				r.redirects(t, what, want)
			}
		}
	}
}
