package app_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/totp"
)

// TestNoSMSPolicy: a workgroup's min_method no_sms through the API, on
// both stores. Before the deadline an SMS code signs in as usual. After
// it, an SMS code no longer completes a sign-in: the answer is
// setup_required with a session that reaches only setup (every other
// path answers 403 setup_required) — for an employee whose only second
// factor is SMS, and for one with others, who signs in fully with any of
// them (TOTP, a recovery code). The employee with SMS alone pairs a phone
// in that session and then signs in with it.
func TestNoSMSPolicy(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		polSetNow(t, s, polT0)
		admin := s.AdminToken(t)
		samID := s.CreateUser(t, admin, "sam", "sam-password")
		tessID := s.CreateUser(t, admin, "tess", "tess-password")
		const samPhone, tessPhone = "+14155550143", "+14155550144"

		// sam: SMS is all that is left once log out of all devices has
		// disconnected the phone (pairing voided no codes: none were made).
		tok, _ := s.Login(t, "sam", "sam-password")
		smsLink(t, s, tok, samPhone, samPhone)
		pairDevice(t, s, tok)
		polWant(t, "sam logs out everywhere", s.Do(t, "POST", "/api/v1/logout/all", tok, nil), http.StatusOK, "")
		// tess: a phone, a trusted device, recovery codes.
		tok, _ = s.Login(t, "tess", "tess-password")
		smsLink(t, s, tok, tessPhone, tessPhone)
		_, secret := pairDevice(t, s, tok)
		codes := polWant(t, "tess's recovery codes", s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil), http.StatusOK, "")["codes"].([]any)

		wg := polWant(t, "create workgroup", s.Do(t, "POST", "/api/v1/admin/workgroups", admin,
			map[string]any{"name": "Field"}), http.StatusCreated, "")
		base := "/api/v1/admin/workgroups/" + wg["id"].(string)
		for _, id := range []string{samID, tessID} {
			polWant(t, "add a member", s.Do(t, "POST", base+"/members", admin, map[string]any{"user_id": id}), http.StatusCreated, "")
		}
		polWant(t, "no_sms policy", s.Do(t, "PUT", base+"/policy", admin, map[string]any{"required": true,
			"deadline": rfc(polT0.Add(24 * time.Hour)), "min_method": "no_sms"}), http.StatusOK, "")

		// pending signs in with the password and checks the methods offered.
		pending := func(login string, want ...string) string {
			t.Helper()
			tok, ans := s.Login(t, login, login+"-password")
			var got []string
			for _, m := range ans["methods"].([]any) {
				got = append(got, m.(string))
			}
			if ans["state"] != "second_factor" || !slices.Equal(got, want) {
				t.Fatalf("%s's password = %v, want second_factor with methods %v", login, ans, want)
			}
			return tok
		}
		bySMS := func(login, number string) map[string]any {
			t.Helper()
			p := pending(login, map[string][]string{"sam": {"sms"}, "tess": {"push", "totp", "sms", "recovery"}}[login]...)
			polWant(t, login+": send an SMS code", s.Do(t, "POST", "/api/v1/login/sms", p, nil), http.StatusOK, "")
			return polWant(t, login+": SMS code", secondFactor(t, s, p, map[string]any{"method": "sms", "code": smsLastCode(t, s, number)}), http.StatusOK, "")
		}
		full := func(what string, ans map[string]any) {
			t.Helper()
			if ans["state"] != "authenticated" {
				t.Fatalf("%s = %v, want authenticated", what, ans)
			}
			polWant(t, what+": the session's list", s.Do(t, "GET", "/api/v1/me/sessions", ans["session_token"].(string), nil), http.StatusOK, "")
		}
		setupOnly := func(what string, ans map[string]any) string {
			t.Helper()
			tok, _ := ans["session_token"].(string)
			if ans["state"] != "setup_required" || tok == "" {
				t.Fatalf("%s = %v, want setup_required with a session", what, ans)
			}
			polWant(t, what+": sessions", s.Do(t, "GET", "/api/v1/me/sessions", tok, nil), http.StatusForbidden, "setup_required")
			polWant(t, what+": events", s.Do(t, "GET", "/api/v1/me/events", tok, nil), http.StatusForbidden, "setup_required")
			polWant(t, what+": /me", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK, "")
			return tok
		}

		// Before the deadline SMS counts.
		full("sam by SMS before the deadline", bySMS("sam", samPhone))
		s.Advance(t, 61*time.Second) // the next SMS may be sent
		full("tess by SMS before the deadline", bySMS("tess", tessPhone))

		s.Advance(t, 25*time.Hour)
		setup := setupOnly("sam by SMS after the deadline", bySMS("sam", samPhone))
		setupOnly("tess by SMS after the deadline", bySMS("tess", tessPhone))
		p := pending("tess", "push", "totp", "sms", "recovery")
		full("tess by TOTP after the deadline", polWant(t, "tess: TOTP",
			secondFactor(t, s, p, map[string]any{"method": "totp", "code": totp.Code(secret, s.Clock().Now())}), http.StatusOK, ""))
		p = pending("tess", "push", "totp", "sms", "recovery")
		full("tess by recovery code after the deadline", polWant(t, "tess: recovery code",
			secondFactor(t, s, p, map[string]any{"method": "recovery", "code": codes[0]}), http.StatusOK, ""))

		// The audit log says why: a setup-required sign-in by SMS, for the
		// policy's min_method.
		events := polWant(t, "audit", s.Do(t, "GET", "/api/v1/admin/audit?user_id="+samID, s.AdminToken(t), nil), http.StatusOK, "")["events"].([]any)
		found := false
		for _, e := range events {
			e := e.(map[string]any)
			d, _ := e["detail"].(map[string]any)
			if e["type"] == "signin.setup_required" && d["method"] == "sms" && d["reason"] == "min_method" {
				found = true
			}
		}
		if !found {
			t.Errorf("sam's audit events %v lack the setup-required sign-in by SMS", events)
		}

		// sam pairs a phone in the setup session, then signs in with it.
		_, secret = pairDevice(t, s, setup)
		s.Advance(t, 30*time.Second) // the confirmation used the current code
		p = pending("sam", "push", "totp", "sms")
		full("sam by TOTP after pairing", polWant(t, "sam: TOTP",
			secondFactor(t, s, p, map[string]any{"method": "totp", "code": totp.Code(secret, s.Clock().Now())}), http.StatusOK, ""))
	})
}
