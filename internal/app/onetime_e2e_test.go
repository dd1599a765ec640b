package app_test

import (
	"net/http"
	"testing"

	"deadbolt/internal/deadbolttest"
)

// TestOneTimeAdminPassword: the password made up for the first
// administrator works once. The sign-in answers password_change_required;
// that session reads its own account and changes the password, and
// everything else answers 403 password_change_required (administration,
// pairing, sessions). After the change the same session goes on, and the
// one-time password no longer signs in.
func TestOneTimeAdminPassword(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st, OneTimeAdmin: true})
		once := s.App.BootstrapPassword
		if len(once) < 16 {
			t.Fatalf("BootstrapPassword = %q, want a made-up password", once)
		}
		r := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "admin", "password": once})
		ans := e2eStatus(t, "sign in with the one-time password", r, http.StatusOK)
		if ans["state"] != "password_change_required" {
			t.Fatalf("state = %v, want password_change_required", ans["state"])
		}
		tok := ans["session_token"].(string)

		me := e2eStatus(t, "read own account", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK)
		if user := me["user"].(map[string]any); user["password_change_required"] != true {
			t.Fatalf("GET /me user = %v, want password_change_required true", user)
		}
		refused := []struct{ method, path string }{
			{"GET", "/api/v1/admin/users"},
			{"GET", "/api/v1/admin/audit"},
			{"GET", "/api/v1/me/sessions"},
			{"GET", "/api/v1/me/events"},
			{"POST", "/api/v1/me/device/pairing"},
			{"POST", "/api/v1/me/recovery-codes"},
			{"GET", "/api/v1/me/passkeys"},
		}
		for _, c := range refused {
			r := s.Do(t, c.method, c.path, tok, nil)
			if r.Status != http.StatusForbidden || r.ErrorCode() != "password_change_required" {
				t.Errorf("%s %s before the change = %d %s, want 403 password_change_required", c.method, c.path, r.Status, r.Body)
			}
		}
		r = s.Do(t, "POST", "/api/v1/admin/users", tok, map[string]any{"login": "mallory", "password": "mallory-password"})
		if r.Status != http.StatusForbidden || r.ErrorCode() != "password_change_required" {
			t.Fatalf("create an employee before the change = %d %s, want 403 password_change_required", r.Status, r.Body)
		}

		// The new password must be new, and the current one right.
		if r := s.Do(t, "POST", "/api/v1/me/password", tok, map[string]string{"current": once, "new": once}); r.Status != http.StatusBadRequest {
			t.Fatalf("keep the one-time password = %d %s, want 400", r.Status, r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/me/password", tok, map[string]string{"current": "wrong-password", "new": "my-own-password"}); r.Status != http.StatusUnauthorized {
			t.Fatalf("change with a wrong current password = %d %s, want 401", r.Status, r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/admin/users", tok, nil); r.Status != http.StatusForbidden {
			t.Fatalf("refused changes left the requirement: GET /admin/users = %d, want 403", r.Status)
		}
		e2eStatus(t, "choose a password", s.Do(t, "POST", "/api/v1/me/password", tok, map[string]string{"current": once, "new": "my-own-password"}), http.StatusOK)

		e2eStatus(t, "administration after the change", s.Do(t, "GET", "/api/v1/admin/users", tok, nil), http.StatusOK)
		me = e2eStatus(t, "read own account after", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK)
		if user := me["user"].(map[string]any); user["password_change_required"] != false {
			t.Fatalf("GET /me user after the change = %v, want password_change_required false", user)
		}
		if r := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "admin", "password": once}); r.Status != http.StatusUnauthorized {
			t.Fatalf("sign in with the one-time password again = %d %s, want 401", r.Status, r.Body)
		}
		r = s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "admin", "password": "my-own-password"})
		if ans := e2eStatus(t, "sign in with the new password", r, http.StatusOK); ans["state"] != "authenticated" {
			t.Fatalf("state with the chosen password = %v, want authenticated", ans["state"])
		}
	})
}

// TestSetAdminPasswordIsNotOneTime: a password the operator set
// (DEADBOLT_ADMIN_PASSWORD) is theirs already; nothing asks to change it.
func TestSetAdminPasswordIsNotOneTime(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	_, ans := s.Login(t, "admin", deadbolttest.AdminPassword)
	if ans["state"] != "authenticated" {
		t.Fatalf("state = %v, want authenticated", ans["state"])
	}
}
