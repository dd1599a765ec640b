package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/totp"
)

// The tests in this file drive the attempt gate through HTTP on both
// stores: attempts are counted before they are checked, so many sent at
// once get no more checks than the same number sent one by one; the lock
// covers every method, push and SMS included; a wrong push number is a
// failure; and a password change needs, and never grants, a fresh proof.

// gateWrongTOTP returns a well-formed code that matches none of the steps
// a server at now accepts.
func gateWrongTOTP(secret []byte, now time.Time, k int) string {
	for i := k; ; i++ {
		c := fmt.Sprintf("%06d", (i*7919)%1_000_000)
		if c != totp.Code(secret, now.Add(-30*time.Second)) && c != totp.Code(secret, now) && c != totp.Code(secret, now.Add(30*time.Second)) {
			return c
		}
	}
}

// gateWrongNumber returns a push number of the same length as n, but not n.
func gateWrongNumber(n int) int {
	if n%10 == 0 {
		return n + 1
	}
	return n - 1
}

// gateBurst sends n requests at once and returns the answers.
func gateBurst(t *testing.T, n int, send func(i int) *deadbolttest.Response) []*deadbolttest.Response {
	t.Helper()
	out := make([]*deadbolttest.Response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = send(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// gateTally counts answers by "status code".
func gateTally(rs []*deadbolttest.Response) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		m[fmt.Sprintf("%d %s", r.Status, r.ErrorCode())]++
	}
	return m
}

// gateRetryAfter returns the retry_after of a 429 answer, checking it
// matches the Retry-After header.
func gateRetryAfter(t *testing.T, what string, r *deadbolttest.Response) time.Duration {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "rate_limited" {
		t.Fatalf("%s = %d %s, want 429 rate_limited", what, r.Status, r.Body)
	}
	ra, ok := r.JSON(t)["error"].(map[string]any)["retry_after"].(float64)
	if !ok || ra < 1 || r.Header.Get("Retry-After") != fmt.Sprint(int(ra)) {
		t.Fatalf("%s: retry_after %v, Retry-After %q; want a positive number and the same header", what, ra, r.Header.Get("Retry-After"))
	}
	return time.Duration(ra) * time.Second
}

// gateEvents counts the audit events of type about the employee id.
func gateEvents(t *testing.T, s *deadbolttest.Server, admin, typ, userID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range e2eEvents(t, s, "/api/v1/admin/audit?type="+url.QueryEscape(typ), admin) {
		if e["user_id"] == userID {
			out = append(out, e)
		}
	}
	return out
}

// TestSecondFactorGate: 50 wrong TOTP codes sent at once get at most 5
// checks, the rest wait; a client that waits retry_after is checked; the
// 100th attempt locks, once, and from then on even the right code is 423.
func TestSecondFactorGate(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		id := s.CreateUser(t, admin, "alice", "alice-password")
		tok, _ := s.Login(t, "alice", "alice-password")
		_, secret := pairDevice(t, s, tok)
		pending, _ := s.Login(t, "alice", "alice-password")
		wrong := func(k int) map[string]any {
			return map[string]any{"method": "totp", "code": gateWrongTOTP(secret, s.Clock().Now(), k)}
		}

		const n = 50
		rs := gateBurst(t, n, func(i int) *deadbolttest.Response { return secondFactor(t, s, pending, wrong(i)) })
		tally := gateTally(rs)
		if checked := tally["401 invalid_code"]; checked > 5 || checked < 1 || checked+tally["429 rate_limited"] != n {
			t.Fatalf("%d wrong TOTP codes at once: %v; want at most 5 checked (401 invalid_code), the rest 429", n, tally)
		}
		for i, r := range rs {
			if r.Status == http.StatusTooManyRequests {
				gateRetryAfter(t, fmt.Sprintf("attempt %d", i), r)
			}
		}
		if got, _ := s.App.Signin.FailureCount(context.Background(), id); got != n {
			t.Errorf("attempts counted after %d at once = %d, want %d", n, got, n)
		}

		// Waiting what the refusal said gets the next attempt checked.
		wait := gateRetryAfter(t, "attempt 51", secondFactor(t, s, pending, wrong(51)))
		s.Advance(t, wait)
		pending, _ = s.Login(t, "alice", "alice-password") // the pending sign-in ran out meanwhile
		if r := secondFactor(t, s, pending, wrong(52)); r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_code" {
			t.Fatalf("attempt 52 after waiting %v = %d %s, want 401 invalid_code", wait, r.Status, r.Body)
		}

		// Attempts 53–99 are refused by the delay, and still count; the
		// 100th locks.
		for i := 53; i < 100; i++ {
			if r := secondFactor(t, s, pending, wrong(i)); r.Status != http.StatusTooManyRequests {
				t.Fatalf("attempt %d = %d %s, want 429", i, r.Status, r.Body)
			}
		}
		if r := secondFactor(t, s, pending, wrong(100)); r.Status != http.StatusLocked || r.ErrorCode() != "locked" {
			t.Fatalf("attempt 100 = %d %s, want 423 locked", r.Status, r.Body)
		}
		s.Advance(t, time.Hour)
		pending, _ = s.Login(t, "alice", "alice-password")
		admin = s.AdminToken(t)
		right := totp.Code(secret, s.Clock().Now())
		if r := secondFactor(t, s, pending, map[string]any{"method": "totp", "code": right}); r.Status != http.StatusLocked {
			t.Errorf("the right code once locked = %d %s, want 423", r.Status, r.Body)
		}
		if ev := gateEvents(t, s, admin, "signin.second_factor_locked", id); len(ev) != 1 {
			t.Errorf("lock events = %d, want exactly 1", len(ev))
		}
		if ev := gateEvents(t, s, admin, "signin.second_factor_failure", id); len(ev) > 7 {
			t.Errorf("%d failures recorded, but at most 7 codes were checked", len(ev))
		}
	})
}

// TestRecoveryCaptchaGate: 30 wrong recovery codes at once without a
// CAPTCHA get at most 3 checks.
func TestRecoveryCaptchaGate(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "bob", "bob-password")
		tok, _ := s.Login(t, "bob", "bob-password")
		pairDevice(t, s, tok)
		if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusOK {
			t.Fatalf("recovery codes: %d %s", r.Status, r.Body)
		}
		pending, _ := s.Login(t, "bob", "bob-password")
		const n = 30
		rs := gateBurst(t, n, func(i int) *deadbolttest.Response {
			return secondFactor(t, s, pending, map[string]any{"method": "recovery", "code": fmt.Sprintf("AAAAA-%05d", i)})
		})
		tally := gateTally(rs)
		if checked := tally["401 invalid_code"]; checked > 3 || checked < 1 ||
			checked+tally["403 captcha_required"]+tally["429 rate_limited"] != n {
			t.Fatalf("%d wrong recovery codes at once: %v; want at most 3 checked, the rest 403 captcha_required or 429", n, tally)
		}
		if _, ans := s.Login(t, "bob", "bob-password"); ans["captcha_required"] != true {
			t.Errorf("login after the burst: captcha_required = %v, want true", ans["captcha_required"])
		}
	})
}

// TestLockCoversEveryMethod: a locked employee gets no push and no SMS,
// and no method signs them in or renews a fresh proof — not even a push
// approved before the lock.
func TestLockCoversEveryMethod(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		id := s.CreateUser(t, admin, "carol", "carol-password")
		tok, _ := s.Login(t, "carol", "carol-password")
		smsLink(t, s, tok, smsNumber, smsNumber)
		dev := pairCLI(t, s, tok)
		codes := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil).JSON(t)["codes"].([]any)

		early := loginPush(t, s, "carol", "carol-password")
		approved := loginPush(t, s, "carol", "carol-password")
		if r := decide(t, s, dev, approved.id, "approve", &approved.number, false); r.Status != http.StatusOK || r.JSON(t)["status"] != "approved" {
			t.Fatalf("approval before the lock: %d %s", r.Status, r.Body)
		}

		// Lock the second factor with wrong codes.
		guesser, gans := s.Login(t, "carol", "carol-password")
		sentBefore := map[any]bool{early.id: true, approved.id: true, gans["push"].(map[string]any)["id"]: true}
		locked := false
		for i := 0; i < 120 && !locked; i++ {
			code, _ := dev.Code(s.Clock().Now().Add(10 * time.Minute))
			r := secondFactor(t, s, guesser, map[string]any{"method": "totp", "code": code})
			switch r.Status {
			case http.StatusLocked:
				locked = true
			case http.StatusUnauthorized, http.StatusTooManyRequests:
			default:
				t.Fatalf("guess %d = %d %s", i, r.Status, r.Body)
			}
		}
		if !locked {
			t.Fatal("120 wrong codes did not lock the second factor")
		}

		// Sign-in answers second_factor, locked, and sends no push.
		pending, ans := s.Login(t, "carol", "carol-password")
		if ans["state"] != "second_factor" || ans["push"] != nil || ans["locked"] != true {
			t.Errorf("login while locked = %v; want second_factor, no push, locked true", ans)
		}
		pendingReqs := s.Do(t, "GET", "/api/v1/device/requests", dev.DeviceToken, nil).JSON(t)["requests"].([]any)
		for _, p := range pendingReqs {
			if pid := p.(map[string]any)["id"]; !sentBefore[pid] {
				t.Errorf("the device got request %v while locked", pid)
			}
		}
		e2eWantError(t, "POST /login/push while locked", s.Do(t, "POST", "/api/v1/login/push", pending, nil), http.StatusLocked, "locked")
		before := len(smsOutbox(t, s))
		e2eWantError(t, "POST /login/sms while locked", s.Do(t, "POST", "/api/v1/login/sms", pending, nil), http.StatusLocked, "locked")
		if after := len(smsOutbox(t, s)); after != before {
			t.Errorf("an SMS was sent while locked (%d → %d messages)", before, after)
		}
		code, _ := dev.Code(s.Clock().Now())
		for _, body := range []map[string]any{
			{"method": "totp", "code": code},
			{"method": "recovery", "code": codes[0]},
			{"method": "sms", "code": "123456"},
		} {
			e2eWantError(t, fmt.Sprintf("second factor %v while locked", body["method"]), secondFactor(t, s, pending, body), http.StatusLocked, "locked")
		}

		// The device cannot approve; the request ends denied.
		e2eWantError(t, "approval while locked", decide(t, s, dev, early.id, "approve", &early.number, false), http.StatusLocked, "locked")
		if r := s.Do(t, "GET", "/api/v1/login/push/"+early.id, early.pending, nil); r.JSON(t)["status"] != "denied" {
			t.Errorf("request refused for the lock: %s, want denied", r.Body)
		}
		// An approval given before the lock does not complete after it.
		r := s.Do(t, "GET", "/api/v1/login/push/"+approved.id, approved.pending, nil)
		if r.Status != http.StatusLocked || strings.Contains(string(r.Body), "session_token") {
			t.Errorf("collecting an approval after the lock = %d %s, want 423 and no session", r.Status, r.Body)
		}

		// Reauth is locked too.
		e2eWantError(t, "reauth by TOTP while locked", s.Do(t, "POST", "/api/v1/me/reauth", tok, map[string]string{"method": "totp", "code": code}), http.StatusLocked, "locked")
		before = len(smsOutbox(t, s))
		e2eWantError(t, "reauth SMS while locked", s.Do(t, "POST", "/api/v1/me/reauth/sms", tok, nil), http.StatusLocked, "locked")
		if after := len(smsOutbox(t, s)); after != before {
			t.Errorf("a reauth SMS was sent while locked (%d → %d messages)", before, after)
		}
		if ev := gateEvents(t, s, admin, "signin.second_factor_locked", id); len(ev) != 1 {
			t.Errorf("lock events = %d, want exactly 1", len(ev))
		}

		// Unlocked by an administrator, push works again.
		e2eStatus(t, "unlock", s.Do(t, "POST", "/api/v1/admin/users/"+id+"/unlock", admin, nil), http.StatusOK)
		if _, ans := s.Login(t, "carol", "carol-password"); ans["push"] == nil || ans["locked"] == true {
			t.Errorf("login after unlock = %v, want a push and no lock", ans)
		}
	})
}

// TestWrongPushNumberCounted: a wrong number is a failed attempt; a
// denial and "This wasn't me" are not guesses.
func TestWrongPushNumberCounted(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		id := s.CreateUser(t, admin, "dave", "dave-password")
		tok, _ := s.Login(t, "dave", "dave-password")
		dev := pairCLI(t, s, tok)
		ctx := context.Background()

		pl := loginPush(t, s, "dave", "dave-password")
		wrong := gateWrongNumber(pl.number)
		r := decide(t, s, dev, pl.id, "approve", &wrong, false)
		if m := e2eStatus(t, "wrong number", r, http.StatusOK); m["status"] != "denied" || m["wrong_number"] != true {
			t.Errorf("wrong number = %v, want denied with wrong_number", m)
		}
		if n, _ := s.App.Signin.FailureCount(ctx, id); n != 1 {
			t.Errorf("attempts after a wrong number = %d, want 1", n)
		}
		ev := gateEvents(t, s, admin, "signin.second_factor_failure", id)
		if len(ev) != 1 || ev[0]["detail"].(map[string]any)["method"] != "push" {
			t.Errorf("failure events after a wrong number = %v, want one with method push", ev)
		}

		pl = loginPush(t, s, "dave", "dave-password")
		if m := e2eStatus(t, "deny", decide(t, s, dev, pl.id, "deny", nil, false), http.StatusOK); m["status"] != "denied" {
			t.Errorf("deny = %v", m)
		}
		if n, _ := s.App.Signin.FailureCount(ctx, id); n != 1 {
			t.Errorf("attempts after a denial = %d, want still 1", n)
		}

		// A right number after the wrong one signs in and clears the count.
		pl = loginPush(t, s, "dave", "dave-password")
		e2eStatus(t, "approve", decide(t, s, dev, pl.id, "approve", &pl.number, false), http.StatusOK)
		if m := e2eStatus(t, "collect", s.Do(t, "GET", "/api/v1/login/push/"+pl.id, pl.pending, nil), http.StatusOK); m["status"] != "approved" {
			t.Fatalf("collect = %v", m)
		}
		if n, _ := s.App.Signin.FailureCount(ctx, id); n != 0 {
			t.Errorf("attempts after a push sign-in = %d, want 0", n)
		}
	})
}

// TestPasswordChangeFreshProof: with two-factor authentication on, a
// password change needs a fresh second-factor proof (API and page), and a
// password change never renews the proof.
func TestPasswordChangeFreshProof(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		tok, _ := s.Login(t, "erin", "erin-password-1")
		_, secret := pairDevice(t, s, tok)

		s.Advance(t, 11*time.Minute)
		e2eWantError(t, "password change with a stale proof",
			s.Do(t, "POST", "/api/v1/me/password", tok, map[string]string{"current": "erin-password-1", "new": "erin-password-2"}),
			http.StatusForbidden, "reauth_required")
		if _, ans := s.Login(t, "erin", "erin-password-1"); ans["state"] != "second_factor" {
			t.Errorf("the old password after a refused change: %v", ans)
		}

		// The page form sends the employee to confirm it is them.
		form := url.Values{"current": {"erin-password-1"}, "new": {"erin-password-2"}}
		req, _ := http.NewRequest("POST", s.URL+"/security/password", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok)
		noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/security/reauth" || loc.Query().Get("next") != "/security/password" || strings.Contains(loc.String(), "erin-password") {
			t.Errorf("page password change with a stale proof = %d to %q, want 303 to /security/reauth?next=/security/password without the passwords", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, ans := s.Login(t, "erin", "erin-password-1"); ans["state"] != "second_factor" {
			t.Errorf("the old password after a refused page change: %v", ans)
		}

		// A fresh proof allows it, and the change does not renew the proof.
		s.Advance(t, 30*time.Second)
		e2eStatus(t, "reauth", s.Do(t, "POST", "/api/v1/me/reauth", tok, map[string]string{"method": "totp", "code": totp.Code(secret, s.Clock().Now())}), http.StatusOK)
		s.Advance(t, 9*time.Minute)
		e2eStatus(t, "password change after reauth",
			s.Do(t, "POST", "/api/v1/me/password", tok, map[string]string{"current": "erin-password-1", "new": "erin-password-2"}), http.StatusOK)
		s.Advance(t, 2*time.Minute)
		e2eWantError(t, "a factor change 11 minutes after the reauth, 2 after the password change",
			s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil), http.StatusForbidden, "reauth_required")

		// Without a second factor the current password is the proof; it
		// still does not renew it.
		s.CreateUser(t, admin, "frank", "frank-password-1")
		ftok, _ := s.Login(t, "frank", "frank-password-1")
		s.Advance(t, 11*time.Minute)
		e2eStatus(t, "password change without 2FA",
			s.Do(t, "POST", "/api/v1/me/password", ftok, map[string]string{"current": "frank-password-1", "new": "frank-password-2"}), http.StatusOK)
		e2eWantError(t, "pairing after a password change with a stale proof",
			s.Do(t, "POST", "/api/v1/me/device/pairing", ftok, nil), http.StatusForbidden, "reauth_required")
	})
}
