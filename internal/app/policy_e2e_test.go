package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/totp"
)

// polT0 is a Monday, 10:00 UTC: the walks below start mid-morning so that
// the calendar day changes only where they say.
var polT0 = time.Date(2031, 3, 3, 10, 0, 0, 0, time.UTC)

// polSetNow sets the server's development clock.
func polSetNow(t *testing.T, s *deadbolttest.Server, at time.Time) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/dev/clock", "", map[string]string{"now": at.Format(time.RFC3339Nano)})
	if r.Status != http.StatusOK {
		t.Fatalf("set clock: %d %s", r.Status, r.Body)
	}
}

// polWant fails the test unless r has status (and, when set, error code).
func polWant(t *testing.T, what string, r *deadbolttest.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status || (code != "" && r.ErrorCode() != code) {
		t.Fatalf("%s = %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
	return r.JSON(t)
}

// polBanner returns the banner of kind in a /me or banner answer, nil if
// absent.
func polBanner(m map[string]any, kind string) map[string]any {
	for _, b := range m["banners"].([]any) {
		if b := b.(map[string]any); b["kind"] == kind {
			return b
		}
	}
	return nil
}

// polMe signs in with a password (sessions idle out while the clock jumps)
// and returns /me.
func polMe(t *testing.T, s *deadbolttest.Server, login, pw string) (string, map[string]any) {
	t.Helper()
	tok, ans := s.Login(t, login, pw)
	if ans["state"] != "authenticated" {
		t.Fatalf("login %s: state %v", login, ans["state"])
	}
	return tok, polWant(t, "GET /me", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK, "")
}

// polRequired checks the two_factor_required banner of me: absent when
// closable is nil, otherwise present with that closability.
func polRequired(t *testing.T, when string, me map[string]any, closable any) {
	t.Helper()
	b := polBanner(me, "two_factor_required")
	switch {
	case closable == nil && b != nil:
		t.Errorf("%s: two_factor_required shown (%v), want it hidden", when, b)
	case closable != nil && b == nil:
		t.Errorf("%s: no two_factor_required banner in %v, want one", when, me["banners"])
	case closable != nil && b["closable"] != closable:
		t.Errorf("%s: two_factor_required closable = %v, want %v", when, b["closable"], closable)
	}
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestPolicyCalendar walks an employee of a workgroup that requires 2FA
// through the calendar: the banner closes until the next day, stays past
// the deadline, and follows extensions, pauses and exemptions.
func TestPolicyCalendar(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		polSetNow(t, s, polT0)
		admin := s.AdminToken(t)
		aliceID := s.CreateUser(t, admin, "alice", "alice-password")
		const pw = "alice-password"

		wg := polWant(t, "create workgroup", s.Do(t, "POST", "/api/v1/admin/workgroups", admin,
			map[string]any{"name": "Engineering"}), http.StatusCreated, "")
		id, _ := wg["id"].(string)
		if id == "" || wg["name"] != "Engineering" {
			t.Fatalf("create workgroup = %v", wg)
		}
		polWant(t, "same name again", s.Do(t, "POST", "/api/v1/admin/workgroups", admin,
			map[string]any{"name": "engineering"}), http.StatusConflict, "conflict")
		base := "/api/v1/admin/workgroups/" + id
		polWant(t, "add member", s.Do(t, "POST", base+"/members", admin, map[string]any{"user_id": aliceID}), http.StatusCreated, "")
		polWant(t, "add member again", s.Do(t, "POST", base+"/members", admin, map[string]any{"user_id": aliceID}), http.StatusOK, "")

		// Nothing required yet.
		_, me := polMe(t, s, "alice", pw)
		polRequired(t, "before the policy", me, nil)
		if tf := me["two_factor"].(map[string]any); tf["required"] != false || tf["deadline"] != nil {
			t.Errorf("two_factor before the policy = %v", tf)
		}

		// Bad policies change nothing.
		for _, bad := range []struct {
			body   any
			status int
			code   string
		}{
			{map[string]any{"required": true, "deadline": "next week"}, 400, "invalid_input"},
			{map[string]any{"required": true, "deadline": "2031-03-06"}, 400, "invalid_input"},
			{map[string]any{"required": true, "paused_until": "1960-01-01T00:00:00Z"}, 400, "invalid_input"},
			{map[string]any{"required": true, "after_deadline": "lock"}, 400, "invalid_input"},
			{map[string]any{"required": true, "paused": true, "paused_until": rfc(polT0.Add(time.Hour))}, 400, "invalid_input"},
			{map[string]any{"deadline": rfc(polT0)}, 400, "invalid_input"},
			{map[string]any{"required": true, "deadline": 5}, 400, "bad_request"},
			{map[string]any{"required": true, "deadlin": rfc(polT0)}, 400, "bad_request"},
			{`{"required":true,"required":false}`, 400, "bad_request"},
		} {
			polWant(t, fmt.Sprintf("PUT policy %v", bad.body), s.Do(t, "PUT", base+"/policy", admin, bad.body), bad.status, bad.code)
		}
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "after refused policies", me, nil)

		// Required, deadline in 3 days.
		deadline := polT0.Add(72 * time.Hour)
		got := polWant(t, "PUT policy", s.Do(t, "PUT", base+"/policy", admin,
			map[string]any{"required": true, "deadline": rfc(deadline)}), http.StatusOK, "")
		if p := got["policy"].(map[string]any); p["required"] != true || p["deadline"] != rfc(deadline) || p["after_deadline"] != "banner" {
			t.Errorf("policy = %v", p)
		}
		tok, me := polMe(t, s, "alice", pw)
		polRequired(t, "required", me, true)
		if b := polBanner(me, "two_factor_required"); b != nil && b["deadline"] != rfc(deadline) {
			t.Errorf("banner deadline = %v, want %s", b["deadline"], rfc(deadline))
		}
		if tf := me["two_factor"].(map[string]any); tf["required"] != true || tf["deadline"] != rfc(deadline) {
			t.Errorf("two_factor = %v, want required with the deadline", tf)
		}
		// A closable banner stays until closed.
		me = polWant(t, "GET /me again", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK, "")
		polRequired(t, "second page load", me, true)

		polWant(t, "bad action", s.Do(t, "POST", "/api/v1/me/banners/two_factor_required", tok,
			map[string]any{"action": "dismiss"}), http.StatusBadRequest, "invalid_action")
		polWant(t, "unknown banner", s.Do(t, "POST", "/api/v1/me/banners/nope", tok,
			map[string]any{"action": "close"}), http.StatusNotFound, "not_found")
		polWant(t, "banner not shown", s.Do(t, "POST", "/api/v1/me/banners/confirm_device", tok,
			map[string]any{"action": "remind_later"}), http.StatusConflict, "banner_not_shown")
		closed := polWant(t, "close", s.Do(t, "POST", "/api/v1/me/banners/two_factor_required", tok,
			map[string]any{"action": "close"}), http.StatusOK, "")
		polRequired(t, "close answer", closed, nil)
		if closed["hidden_until"] != rfc(time.Date(2031, 3, 4, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("hidden_until = %v, want the next midnight UTC", closed["hidden_until"])
		}
		me = polWant(t, "GET /me after closing", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK, "")
		polRequired(t, "after closing", me, nil)

		s.Advance(t, 13*time.Hour) // 23:00 the same day
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "23:00 the same day", me, nil)
		s.Advance(t, 2*time.Hour) // 01:00 the next day
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "the next day", me, true)

		// Past the deadline: shown on every load, cannot be closed.
		now := polT0.Add(73 * time.Hour)
		polSetNow(t, s, now)
		tok, me = polMe(t, s, "alice", pw)
		polRequired(t, "past the deadline", me, false)
		if b := polBanner(me, "two_factor_required"); b != nil && (b["overdue"] != true || len(b["actions"].([]any)) != 0) {
			t.Errorf("overdue banner = %v", b)
		}
		polWant(t, "close past the deadline", s.Do(t, "POST", "/api/v1/me/banners/two_factor_required", tok,
			map[string]any{"action": "close"}), http.StatusConflict, "banner_not_closable")
		for i := range 2 {
			me = polWant(t, "GET /me", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK, "")
			polRequired(t, fmt.Sprintf("page load %d past the deadline", i), me, false)
		}

		// Extending makes it closable again.
		admin = s.AdminToken(t)
		polWant(t, "extend", s.Do(t, "PUT", base+"/policy", admin,
			map[string]any{"required": true, "deadline": rfc(now.Add(48 * time.Hour))}), http.StatusOK, "")
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "after extending", me, true)

		// Turned off for two days: hidden, and back when the pause ends.
		polWant(t, "pause", s.Do(t, "PUT", base+"/policy", admin, map[string]any{"required": true,
			"deadline": rfc(now.Add(10 * 24 * time.Hour)), "paused_until": rfc(now.Add(48 * time.Hour))}), http.StatusOK, "")
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "paused", me, nil)
		if tf := me["two_factor"].(map[string]any); tf["required"] != false || tf["deadline"] != nil {
			t.Errorf("two_factor while paused = %v", tf)
		}
		s.Advance(t, 47*time.Hour)
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "an hour before the pause ends", me, nil)
		s.Advance(t, 2*time.Hour)
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "after the pause", me, true)

		// Exempt for a day: hidden, then back.
		admin = s.AdminToken(t)
		polWant(t, "exempt without until", s.Do(t, "POST", "/api/v1/admin/users/"+aliceID+"/exempt", admin,
			map[string]any{}), http.StatusBadRequest, "")
		polWant(t, "exempt with a bad date", s.Do(t, "POST", "/api/v1/admin/users/"+aliceID+"/exempt", admin,
			map[string]any{"until": "soon"}), http.StatusBadRequest, "invalid_input")
		until := s.Clock().Now().Add(24 * time.Hour)
		ex := polWant(t, "exempt", s.Do(t, "POST", "/api/v1/admin/users/"+aliceID+"/exempt", admin,
			map[string]any{"until": rfc(until)}), http.StatusOK, "")
		if ex["exempt_until"] != rfc(until) {
			t.Errorf("exempt answer = %v", ex)
		}
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "exempt", me, nil)
		if tf := me["two_factor"].(map[string]any); tf["required"] != false || tf["exempt_until"] != rfc(until) {
			t.Errorf("two_factor while exempt = %v", tf)
		}
		s.Advance(t, 25*time.Hour)
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "after the exemption", me, true)

		// Removing alice from the workgroup ends the requirement.
		admin = s.AdminToken(t)
		one := polWant(t, "GET workgroup", s.Do(t, "GET", base, admin, nil), http.StatusOK, "")
		if members := one["members"].([]any); len(members) != 1 || members[0].(map[string]any)["id"] != aliceID {
			t.Errorf("workgroup members = %v", one["members"])
		}
		polWant(t, "remove member", s.Do(t, "DELETE", base+"/members/"+aliceID, admin, nil), http.StatusOK, "")
		polWant(t, "remove member again", s.Do(t, "DELETE", base+"/members/"+aliceID, admin, nil), http.StatusNotFound, "not_found")
		_, me = polMe(t, s, "alice", pw)
		polRequired(t, "after leaving the workgroup", me, nil)

		// Employees cannot administer workgroups; the actions are audited.
		polWant(t, "employee lists workgroups", s.Do(t, "GET", "/api/v1/admin/workgroups", tok, nil), http.StatusUnauthorized, "")
		alice, _ := s.Login(t, "alice", pw)
		polWant(t, "employee lists workgroups", s.Do(t, "GET", "/api/v1/admin/workgroups", alice, nil), http.StatusForbidden, "forbidden")
		audit := polWant(t, "audit", s.Do(t, "GET", "/api/v1/admin/audit?limit=1000", admin, nil), http.StatusOK, "")
		types := map[string]int{}
		for _, e := range audit["events"].([]any) {
			types[e.(map[string]any)["type"].(string)]++
		}
		for typ, n := range map[string]int{"admin.workgroup_created": 1, "admin.workgroup_member_added": 1,
			"admin.policy_changed": 3, "admin.exempted": 1, "admin.workgroup_member_removed": 1, "banner.action": 1} {
			if types[typ] != n {
				t.Errorf("audit has %d %s, want %d", types[typ], typ, n)
			}
		}
	})
}

// TestPolicyBlock: past a blocking deadline a password sign-in leads to
// setup, and the setup session reaches only what setup needs.
func TestPolicyBlock(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		polSetNow(t, s, polT0)
		admin := s.AdminToken(t)
		aliceID := s.CreateUser(t, admin, "alice", "alice-password")
		s.CreateUser(t, admin, "bob", "bob-password")
		wg := polWant(t, "create workgroup", s.Do(t, "POST", "/api/v1/admin/workgroups", admin,
			map[string]any{"name": "Ops"}), http.StatusCreated, "")
		base := "/api/v1/admin/workgroups/" + wg["id"].(string)
		polWant(t, "add alice", s.Do(t, "POST", base+"/members", admin, map[string]any{"user_id": aliceID}), http.StatusCreated, "")
		polWant(t, "add bob by login", s.Do(t, "POST", base+"/members", admin, map[string]any{"user_id": "BOB"}), http.StatusCreated, "")
		polWant(t, "block policy", s.Do(t, "PUT", base+"/policy", admin, map[string]any{"required": true,
			"deadline": rfc(polT0.Add(24 * time.Hour)), "after_deadline": "block"}), http.StatusOK, "")

		// Before the deadline: a normal sign-in.
		if _, ans := s.Login(t, "alice", "alice-password"); ans["state"] != "authenticated" {
			t.Fatalf("before the deadline state = %v", ans["state"])
		}
		s.Advance(t, 25*time.Hour)
		setup, ans := s.Login(t, "alice", "alice-password")
		if ans["state"] != "setup_required" || setup == "" {
			t.Fatalf("past the deadline login = %v, want setup_required with a token", ans)
		}
		polWant(t, "setup session: sessions", s.Do(t, "GET", "/api/v1/me/sessions", setup, nil), http.StatusForbidden, "setup_required")
		polWant(t, "setup session: events", s.Do(t, "GET", "/api/v1/me/events", setup, nil), http.StatusForbidden, "setup_required")
		polWant(t, "setup session: admin", s.Do(t, "GET", "/api/v1/admin/users", setup, nil), http.StatusForbidden, "setup_required")
		polWant(t, "setup session: banner", s.Do(t, "POST", "/api/v1/me/banners/two_factor_required", setup,
			map[string]any{"action": "close"}), http.StatusForbidden, "setup_required")
		me := polWant(t, "setup session: /me", s.Do(t, "GET", "/api/v1/me", setup, nil), http.StatusOK, "")
		if tf := me["two_factor"].(map[string]any); tf["setup_required"] != true || tf["required"] != true {
			t.Errorf("two_factor in the setup session = %v", tf)
		}
		polRequired(t, "setup session", me, false)

		// The setup session pairs a device; pairDevice checks every step.
		pairDevice(t, s, setup)
		me = polWant(t, "setup session: /me after pairing", s.Do(t, "GET", "/api/v1/me", setup, nil), http.StatusOK, "")
		if tf := me["two_factor"].(map[string]any); tf["enabled"] != true || tf["setup_required"] != false {
			t.Errorf("two_factor after pairing = %v", tf)
		}
		polRequired(t, "after pairing", me, nil)
		polWant(t, "setup session: recovery codes", s.Do(t, "POST", "/api/v1/me/recovery-codes", setup, nil), http.StatusOK, "")
		// The setup session stays limited; signing in again asks for the
		// new second factor.
		polWant(t, "setup session after pairing: sessions", s.Do(t, "GET", "/api/v1/me/sessions", setup, nil), http.StatusForbidden, "setup_required")
		if _, ans := s.Login(t, "alice", "alice-password"); ans["state"] != "second_factor" {
			t.Errorf("sign-in after setup: state %v, want second_factor", ans["state"])
		}

		// bob is exempt: a normal sign-in past the deadline.
		admin = s.AdminToken(t)
		polWant(t, "exempt bob", s.Do(t, "POST", "/api/v1/admin/users/bob/exempt", admin,
			map[string]any{"until": rfc(s.Clock().Now().Add(time.Hour))}), http.StatusOK, "")
		if _, ans := s.Login(t, "bob", "bob-password"); ans["state"] != "authenticated" {
			t.Errorf("exempt bob: state %v, want authenticated", ans["state"])
		}
		polWant(t, "end bob's exemption", s.Do(t, "DELETE", "/api/v1/admin/users/bob/exempt", admin, nil), http.StatusOK, "")
		if _, ans := s.Login(t, "bob", "bob-password"); ans["state"] != "setup_required" {
			t.Errorf("bob after the exemption: state %v, want setup_required", ans["state"])
		}
		// Switching to banner mode lets him in, with a banner he cannot close.
		polWant(t, "banner policy", s.Do(t, "PUT", base+"/policy", admin, map[string]any{"required": true,
			"deadline": rfc(polT0.Add(24 * time.Hour)), "after_deadline": "banner"}), http.StatusOK, "")
		_, me = polMe(t, s, "bob", "bob-password")
		polRequired(t, "bob in banner mode", me, false)
	})
}

// TestCheckLoginParametersBanner: every 180 days after setup the employee
// is asked to check the device and phone; "Everything is fine" restarts the
// period.
func TestCheckLoginParametersBanner(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		polSetNow(t, s, polT0)
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "carol", "carol-password")
		tok, _ := s.Login(t, "carol", "carol-password")
		_, secret := pairDevice(t, s, tok)
		polWant(t, "recovery codes", s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil), http.StatusOK, "")

		signIn := func() (string, map[string]any) {
			t.Helper()
			pending, ans := s.Login(t, "carol", "carol-password")
			if ans["state"] != "second_factor" {
				t.Fatalf("login state = %v", ans["state"])
			}
			r := secondFactor(t, s, pending, map[string]any{"method": "totp", "code": totp.Code(secret, s.Clock().Now())})
			full := polWant(t, "totp", r, http.StatusOK, "")["session_token"].(string)
			return full, polWant(t, "GET /me", s.Do(t, "GET", "/api/v1/me", full, nil), http.StatusOK, "")
		}
		check := func(when string, me map[string]any, want bool) map[string]any {
			t.Helper()
			b := polBanner(me, "check_login_parameters")
			if (b != nil) != want {
				t.Errorf("%s: check_login_parameters shown = %v, want %v (banners %v)", when, b != nil, want, me["banners"])
			}
			return b
		}
		const day = 24 * time.Hour

		s.Advance(t, 180*day-time.Hour)
		_, me := signIn()
		check("180 days less an hour", me, false)
		s.Advance(t, 2*time.Hour)
		tok, me = signIn()
		if b := check("180 days and an hour", me, true); b != nil {
			if b["closable"] != true || fmt.Sprint(b["actions"]) != "[confirm close]" || b["device"] == nil {
				t.Errorf("check banner = %v, want closable with confirm and close, and the device", b)
			}
		}
		ok := polWant(t, "confirm", s.Do(t, "POST", "/api/v1/me/banners/check_login_parameters", tok,
			map[string]any{"action": "confirm"}), http.StatusOK, "")
		check("the confirm answer", ok, false)
		me = polWant(t, "GET /me after confirming", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK, "")
		check("after confirming", me, false)

		// 360 days after setup is 180 days after the confirmation, less
		// the hour past 180 days it came.
		s.Advance(t, 180*day-time.Hour)
		_, me = signIn()
		check("360 days after setup, before the new period ends", me, false)
		s.Advance(t, 2*time.Hour)
		tok, me = signIn()
		check("180 days after the confirmation", me, true)
		// Closing puts it off until tomorrow only.
		polWant(t, "close", s.Do(t, "POST", "/api/v1/me/banners/check_login_parameters", tok,
			map[string]any{"action": "close"}), http.StatusOK, "")
		s.Advance(t, day)
		_, me = signIn()
		check("the day after closing", me, true)
	})
}
