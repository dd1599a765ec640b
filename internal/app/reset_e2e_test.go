package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/totp"
)

// TestAdminResetTwoFactorEndsSessions: an administrator's reset 2FA (the
// "lost or stolen phone" path) ends every session of the employee — full
// and pending alike — and disconnects the device, so nothing the phone's
// holder could have opened survives it; the employee then signs in with the
// password alone.
func TestAdminResetTwoFactorEndsSessions(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		id := s.CreateUser(t, admin, "rita", "rita-password")
		first := e2eLogin(t, s, "rita", "rita-password")
		devToken, secret := pairDevice(t, s, first)

		// A second full session through the second factor, and a pending one.
		pending, _ := s.Login(t, "rita", "rita-password")
		s.Advance(t, 30*time.Second)
		r := secondFactor(t, s, pending, map[string]any{"method": "totp", "code": totp.Code(secret, s.Clock().Now())})
		full := e2eStatus(t, "totp sign-in", r, http.StatusOK)["session_token"].(string)
		waiting, ans := s.Login(t, "rita", "rita-password")
		if ans["state"] != "second_factor" {
			t.Fatalf("login with 2FA on = %v", ans)
		}
		if n := len(e2eSessions(t, s, "/api/v1/admin/users/"+id+"/sessions", admin)); n != 3 {
			t.Fatalf("rita has %d sessions before the reset, want 3 (two full, one pending)", n)
		}

		e2eStatus(t, "reset 2FA", e2eCall(t, s, "POST", "/api/v1/admin/users/"+id+"/reset-2fa", admin, nil), http.StatusOK)

		for name, tok := range map[string]string{"first": first, "full": full} {
			if e2eAlive(t, s, tok) {
				t.Errorf("rita's %s session survived the reset of her 2FA", name)
			}
		}
		s.Advance(t, 30*time.Second)
		r = secondFactor(t, s, waiting, map[string]any{"method": "totp", "code": totp.Code(secret, s.Clock().Now())})
		e2eWantError(t, "completing a sign-in begun before the reset", r, http.StatusUnauthorized, "unauthorized")
		if n := len(e2eSessions(t, s, "/api/v1/admin/users/"+id+"/sessions", admin)); n != 0 {
			t.Errorf("rita has %d sessions after the reset, want none", n)
		}
		r = e2eCall(t, s, "GET", "/api/v1/device/requests", devToken, nil)
		e2eWantError(t, "the device after the reset", r, http.StatusUnauthorized, "device_disconnected")
		if !e2eAlive(t, s, admin) {
			t.Error("the administrator's own session ended with rita's")
		}

		// The second factor is off: the password alone signs her in, and
		// the reset is in the audit log.
		again := e2eLogin(t, s, "rita", "rita-password")
		me := e2eStatus(t, "GET /me", e2eCall(t, s, "GET", "/api/v1/me", again, nil), http.StatusOK)
		if tf := me["two_factor"].(map[string]any); tf["enabled"] != false || tf["device"] != nil {
			t.Errorf("two_factor after the reset = %v, want off without a device", tf)
		}
		if n := e2eTypes(e2eEvents(t, s, "/api/v1/admin/audit?user_id="+id, admin))["admin.two_factor_reset"]; n != 1 {
			t.Errorf("%d admin.two_factor_reset events, want 1", n)
		}
	})
}

// TestStoreAnswersInWords: when a store refuses (a missing row, a taken
// name), the client reads the service's sentence for it — never a store's
// detail, never a generic fallback.
func TestStoreAnswersInWords(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "rita", "rita-password")
		e2eStatus(t, "create workgroup", e2eCall(t, s, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Ops"}), http.StatusCreated)
		unknown := deadbolt.NewID()
		cases := []struct {
			method, path string
			body         any
			status       int
			code, msg    string
		}{
			{"GET", "/api/v1/admin/users/" + unknown, nil, 404, "not_found", "Employee not found."},
			{"POST", "/api/v1/admin/users/" + unknown + "/reset-2fa", nil, 404, "not_found", "Employee not found."},
			{"POST", "/api/v1/admin/users/" + unknown + "/deactivate", nil, 404, "not_found", "Employee not found."},
			{"POST", "/api/v1/admin/users", map[string]any{"login": "RITA", "name": "Rita", "password": "another-password"}, 409, "login_taken", `The login "rita" is already taken.`},
			{"GET", "/api/v1/admin/workgroups/" + unknown, nil, 404, "not_found", "Workgroup not found."},
			{"POST", "/api/v1/admin/workgroups", map[string]string{"name": "OPS"}, 409, "conflict", `A workgroup named "OPS" already exists.`},
			{"POST", "/api/v1/admin/workgroups/ops/members", map[string]string{"user_id": unknown}, 404, "not_found", "Employee not found."},
			{"DELETE", "/api/v1/me/sessions/" + unknown, nil, 404, "not_found", "Session not found."},
		}
		for _, c := range cases {
			r := e2eCall(t, s, c.method, c.path, admin, c.body)
			e2eWantError(t, c.method+" "+c.path, r, c.status, c.code)
			var env struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(r.Body, &env); err != nil || env.Error.Message != c.msg {
				t.Errorf("%s %s: message %q, want %q", c.method, c.path, env.Error.Message, c.msg)
			}
		}
	})
}
