package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// stale lets the fresh proof of every session run out.
func stale(t *testing.T, s *deadbolttest.Server) { s.Advance(t, 11*time.Minute) }

// reauthPush asks for a fresh proof by push and checks the answer's shape.
func reauthPush(t *testing.T, s *deadbolttest.Server, token string) (id string, number int) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/me/reauth/push", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("POST /me/reauth/push: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["id"].(string), checkPush(t, "POST /me/reauth/push", m, 6)
}

func reauthEvents(t *testing.T, s *deadbolttest.Server, admin, userID string) []any {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/admin/audit?type=reauth&user_id="+userID, admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["events"].([]any)
}

// TestReauthByPush: a fresh proof by push. The request is bound to the
// full session that asked; the device sees it as a confirmation (purpose
// reauth, digits, never the number); approval with the number renews the
// proof once; a wrong number denies; no other session and no sign-in can
// collect it.
func TestReauthByPush(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		admin := s.AdminToken(t)
		uid := s.CreateUser(t, admin, "rita", "rita-password")
		tok, _ := s.Login(t, "rita", "rita-password")
		dev := pairCLI(t, s, tok)
		other, _ := s.Login(t, "rita", "rita-password")
		other = completeByTOTP(t, s, dev, other)
		stale(t, s)
		admin = s.AdminToken(t)

		if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusForbidden || r.ErrorCode() != "reauth_required" {
			t.Fatalf("new codes without a fresh proof: %d %s", r.Status, r.Body)
		}
		id, number := reauthPush(t, s, tok)

		// The device sees a confirmation, with the digit count and no number.
		r := s.Do(t, "GET", "/api/v1/device/requests", dev.DeviceToken, nil)
		reqs := r.JSON(t)["requests"].([]any)
		if len(reqs) != 1 {
			t.Fatalf("device requests = %s, want the confirmation", r.Body)
		}
		got := reqs[0].(map[string]any)
		if got["id"] != id || got["purpose"] != "reauth" || got["digits"] != 6.0 {
			t.Errorf("device request = %v, want id %s, purpose reauth, digits 6", got, id)
		}
		if _, leaked := got["number"]; leaked || strings.Contains(string(r.Body), strconv.Itoa(number)) {
			t.Errorf("the device was sent the number: %s", r.Body)
		}

		// Only the session that asked can read or collect it.
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+id, tok, nil); r.Status != http.StatusOK || r.JSON(t)["status"] != "pending" {
			t.Errorf("status before the decision: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+id, other, nil); r.Status != http.StatusNotFound {
			t.Errorf("another session read the request: %d %s", r.Status, r.Body)
		}
		pending, _ := s.Login(t, "rita", "rita-password")
		if r := s.Do(t, "GET", "/api/v1/login/push/"+id, pending, nil); r.Status != http.StatusNotFound {
			t.Errorf("a pending sign-in read the confirmation: %d %s", r.Status, r.Body)
		}

		// The browser waits; the phone approves with the number.
		waited := make(chan *deadbolttest.Response, 1)
		go func() { waited <- s.Do(t, "GET", "/api/v1/me/reauth/push/"+id+"?wait=25", tok, nil) }()
		time.Sleep(50 * time.Millisecond)
		if r := decide(t, s, dev, id, "approve", &number, false); r.Status != http.StatusOK || r.JSON(t)["status"] != "approved" {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		select {
		case r = <-waited:
		case <-time.After(10 * time.Second):
			t.Fatal("the waiting browser was not woken by the approval")
		}
		if m := r.JSON(t); r.Status != http.StatusOK || m["status"] != "approved" || m["fresh_until"] == nil {
			t.Fatalf("status after approval: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusOK {
			t.Errorf("new codes after the approval: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", other, nil); r.Status != http.StatusForbidden {
			t.Errorf("the approval renewed another session too: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+id, tok, nil); r.JSON(t)["status"] != "approved" {
			t.Errorf("status read again: %s", r.Body)
		}
		if r := decide(t, s, dev, id, "approve", &number, false); r.Status != http.StatusConflict {
			t.Errorf("second approval: %d %s", r.Status, r.Body)
		}
		if ev := reauthEvents(t, s, admin, uid); len(ev) != 1 || ev[0].(map[string]any)["detail"].(map[string]any)["method"] != "push" {
			t.Errorf("reauth events = %v, want one by push", ev)
		}

		// A wrong number denies: no proof, no second guess.
		stale(t, s)
		admin = s.AdminToken(t)
		id, number = reauthPush(t, s, tok)
		wrong := 100000 + (number-100000+1)%900000
		if r := decide(t, s, dev, id, "approve", &wrong, false); r.JSON(t)["status"] != "denied" {
			t.Errorf("wrong number: %s", r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+id, tok, nil); r.JSON(t)["status"] != "denied" {
			t.Errorf("status after a wrong number: %s", r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusForbidden {
			t.Errorf("a wrong number gave a fresh proof: %d %s", r.Status, r.Body)
		}
		// The wrong number is a failed second-factor attempt, as at sign-in.
		fails := s.Do(t, "GET", "/api/v1/admin/audit?type=signin.second_factor_failure&user_id="+uid, admin, nil).JSON(t)["events"].([]any)
		if len(fails) != 1 || fails[0].(map[string]any)["detail"].(map[string]any)["method"] != "push" {
			t.Errorf("failure events after a wrong confirmation number = %v, want one by push", fails)
		}

		// A new request replaces the session's previous one.
		first, _ := reauthPush(t, s, tok)
		second, n2 := reauthPush(t, s, tok)
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+first, tok, nil); r.JSON(t)["status"] != "expired" {
			t.Errorf("replaced request: %s", r.Body)
		}
		// The request expires after its two minutes.
		s.Advance(t, 2*time.Minute+time.Second)
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+second, tok, nil); r.JSON(t)["status"] != "expired" {
			t.Errorf("request past its lifetime: %s", r.Body)
		}
		if r := decide(t, s, dev, second, "approve", &n2, false); r.Status != http.StatusConflict {
			t.Errorf("approval of an expired request: %d %s", r.Status, r.Body)
		}

		// Bad ids and sessions without a second factor.
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/nope", tok, nil); r.Status != http.StatusNotFound {
			t.Errorf("junk id: %d", r.Status)
		}
		if r := s.Do(t, "POST", "/api/v1/me/reauth/push", admin, nil); r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_input" {
			t.Errorf("reauth push without a device: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/me/reauth/push", pending, nil); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Errorf("reauth push with a pending session: %d %s", r.Status, r.Body)
		}
	})
}

// completeByTOTP completes a pending sign-in with the device's current
// code and returns the full session's token.
func completeByTOTP(t *testing.T, s *deadbolttest.Server, dev *deviceclient.State, pending string) string {
	t.Helper()
	s.Advance(t, 30*time.Second) // a step of its own
	code, err := dev.Code(s.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	r := s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]string{"method": "totp", "code": code})
	if r.Status != http.StatusOK {
		t.Fatalf("second factor: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["session_token"].(string)
}

// TestReauthPushCollectedOnce: 50 waits of one session collect one
// approval at once; every one answers approved and the proof is renewed by
// exactly one transaction (one audit event).
func TestReauthPushCollectedOnce(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		admin := s.AdminToken(t)
		uid := s.CreateUser(t, admin, "sol", "sol-password")
		tok, _ := s.Login(t, "sol", "sol-password")
		dev := pairCLI(t, s, tok)
		stale(t, s)
		admin = s.AdminToken(t)
		id, number := reauthPush(t, s, tok)
		if r := decide(t, s, dev, id, "approve", &number, false); r.JSON(t)["status"] != "approved" {
			t.Fatalf("approve: %s", r.Body)
		}
		const n = 50
		var wg sync.WaitGroup
		statuses := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+id, tok, nil)
				statuses[i] = strconv.Itoa(r.Status) + " " + r.JSON(t)["status"].(string)
			}()
		}
		wg.Wait()
		for i, st := range statuses {
			if st != "200 approved" {
				t.Errorf("wait %d = %q, want 200 approved", i, st)
			}
		}
		if ev := reauthEvents(t, s, admin, uid); len(ev) != 1 {
			t.Errorf("%d reauth events for one approval, want 1", len(ev))
		}
	})
}

// TestReauthLocked: while the second factor is locked no confirmation is
// sent by push or SMS (423), and an approval given before the lock does
// not renew the proof after it.
func TestReauthLocked(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		admin := s.AdminToken(t)
		uid := s.CreateUser(t, admin, "lou", "lou-password")
		tok, _ := s.Login(t, "lou", "lou-password")
		dev := pairCLI(t, s, tok)
		smsLink(t, s, tok, smsNumber, smsNumber)
		stale(t, s)
		admin = s.AdminToken(t)

		// Approved, then locked before the browser collects it.
		id, number := reauthPush(t, s, tok)
		if r := decide(t, s, dev, id, "approve", &number, false); r.JSON(t)["status"] != "approved" {
			t.Fatalf("approve: %s", r.Body)
		}
		lock(t, s, uid)
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+id, tok, nil); r.Status != http.StatusLocked || r.ErrorCode() != "locked" {
			t.Errorf("collecting an approval after the lock: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusForbidden {
			t.Errorf("locked, yet freshly proven: %d %s", r.Status, r.Body)
		}

		// Nothing is sent while locked.
		if r := s.Do(t, "POST", "/api/v1/me/reauth/push", tok, nil); r.Status != http.StatusLocked || r.ErrorCode() != "locked" {
			t.Errorf("reauth push while locked: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/device/requests", dev.DeviceToken, nil); len(r.JSON(t)["requests"].([]any)) != 0 {
			t.Errorf("a request reached the device while locked: %s", r.Body)
		}
		sent := len(smsOutbox(t, s))
		if r := s.Do(t, "POST", "/api/v1/me/reauth/sms", tok, nil); r.Status != http.StatusLocked || r.ErrorCode() != "locked" {
			t.Errorf("reauth SMS while locked: %d %s", r.Status, r.Body)
		}
		if got := len(smsOutbox(t, s)); got != sent {
			t.Errorf("an SMS was sent while locked: %d messages, were %d", got, sent)
		}

		// Unlocked by the administrator, it works again.
		if r := s.Do(t, "POST", "/api/v1/admin/users/"+uid+"/unlock", admin, nil); r.Status != http.StatusOK {
			t.Fatalf("unlock: %d %s", r.Status, r.Body)
		}
		id, number = reauthPush(t, s, tok)
		if r := decide(t, s, dev, id, "approve", &number, false); r.JSON(t)["status"] != "approved" {
			t.Fatalf("approve after unlock: %s", r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+id, tok, nil); r.JSON(t)["status"] != "approved" {
			t.Errorf("status after unlock: %d %s", r.Status, r.Body)
		}
	})
}

// lock records enough failed second-factor attempts to lock the
// employee's second factor, straight in the store (the attempts' own path
// is tested with the attempt gate).
func lock(t *testing.T, s *deadbolttest.Server, userID string) {
	t.Helper()
	ctx := context.Background()
	limit := s.App.Signin.Config().SecondFactorLockAt
	for range limit {
		if _, err := s.App.Store.Hit(ctx, "sf:"+userID, s.Clock().Now(), 0); err != nil {
			t.Fatal(err)
		}
	}
	if locked, err := s.App.Signin.Locked(ctx, userID); err != nil || !locked {
		t.Fatalf("after %d failures Locked = %v, %v", limit, locked, err)
	}
}
