package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// pairCLI pairs a deviceclient device for the signed-in token and confirms
// it.
func pairCLI(t *testing.T, s *deadbolttest.Server, token string) *deviceclient.State {
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

func decide(t *testing.T, s *deadbolttest.Server, st *deviceclient.State, id, decision string, number *int, report bool) *deadbolttest.Response {
	t.Helper()
	n := ""
	if number != nil {
		n = strconv.Itoa(*number)
	}
	sig, err := st.Sign(id, decision, n)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"decision": decision, "signature": sig}
	if number != nil {
		body["number"] = *number
	}
	if report {
		body["report"] = true
	}
	return s.Do(t, "POST", "/api/v1/device/requests/"+id, st.DeviceToken, body)
}

type pushLogin struct {
	pending string
	id      string
	number  int
}

func loginPush(t *testing.T, s *deadbolttest.Server, login, pw string) pushLogin {
	t.Helper()
	tok, ans := s.Login(t, login, pw)
	push, ok := ans["push"].(map[string]any)
	if !ok {
		t.Fatalf("login answered no push: %v", ans)
	}
	n := int(push["number"].(float64))
	if n < 100000 || n > 999999 || push["digits"] != 6.0 {
		t.Errorf("push = %v, want a number from 100000 to 999999 and digits 6", push)
	}
	return pushLogin{pending: tok, id: push["id"].(string), number: n}
}

func TestPushApproval(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "alice", "alice-password")
		tok, _ := s.Login(t, "alice", "alice-password")
		dev := pairCLI(t, s, tok)

		// The phone's long poll is waiting before the sign-in starts.
		polled := make(chan *deadbolttest.Response, 1)
		go func() { polled <- s.Do(t, "GET", "/api/v1/device/requests?wait=25", dev.DeviceToken, nil) }()
		time.Sleep(50 * time.Millisecond)
		pl := loginPush(t, s, "alice", "alice-password")
		var r *deadbolttest.Response
		select {
		case r = <-polled:
		case <-time.After(10 * time.Second):
			t.Fatal("long poll not woken by the new request")
		}
		reqs := r.JSON(t)["requests"].([]any)
		if len(reqs) != 1 || reqs[0].(map[string]any)["id"] != pl.id {
			t.Fatalf("device sees %v, want request %s", reqs, pl.id)
		}
		if _, leaked := reqs[0].(map[string]any)["number"]; leaked {
			t.Error("the device was sent the number")
		}
		if strings.Contains(string(r.Body), strconv.Itoa(pl.number)) {
			t.Errorf("the device's request list holds the number %d: %s", pl.number, r.Body)
		}
		if d := reqs[0].(map[string]any)["digits"]; d != 6.0 {
			t.Errorf("device request digits = %v, want 6", d)
		}
		ctxFields := reqs[0].(map[string]any)["context"].(map[string]any)
		for _, k := range []string{"app", "browser", "os", "ip", "time"} {
			if ctxFields[k] == nil || ctxFields[k] == "" {
				t.Errorf("context lacks %s: %v", k, ctxFields)
			}
		}

		// The browser waits; the phone approves with the number.
		waited := make(chan *deadbolttest.Response, 1)
		go func() { waited <- s.Do(t, "GET", "/api/v1/login/push/"+pl.id+"?wait=25", pl.pending, nil) }()
		time.Sleep(50 * time.Millisecond)
		if r := decide(t, s, dev, pl.id, "approve", &pl.number, false); r.Status != http.StatusOK || r.JSON(t)["status"] != "approved" {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		select {
		case r = <-waited:
		case <-time.After(10 * time.Second):
			t.Fatal("browser not woken by the approval")
		}
		m := r.JSON(t)
		if m["status"] != "approved" || m["session_token"] == nil {
			t.Fatalf("push status = %v", m)
		}
		if r := s.Do(t, "GET", "/api/v1/me", m["session_token"].(string), nil); r.Status != http.StatusOK {
			t.Errorf("session from push: %d", r.Status)
		}
		if r := decide(t, s, dev, pl.id, "approve", &pl.number, false); r.Status != http.StatusConflict {
			t.Errorf("replayed approval: %d %s", r.Status, r.Body)
		}

		// A wrong number denies; no second guess.
		pl = loginPush(t, s, "alice", "alice-password")
		wrong := 100000 + (pl.number-100000+1)%900000
		if r := decide(t, s, dev, pl.id, "approve", &wrong, false); r.JSON(t)["status"] != "denied" || r.JSON(t)["wrong_number"] != true {
			t.Errorf("wrong number: %s", r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/login/push/"+pl.id, pl.pending, nil); r.JSON(t)["status"] != "denied" {
			t.Errorf("status after wrong number: %s", r.Body)
		}
		if r := decide(t, s, dev, pl.id, "approve", &pl.number, false); r.Status != http.StatusConflict {
			t.Errorf("second guess accepted: %d %s", r.Status, r.Body)
		}

		// A number of the wrong length is a wrong number: the request ends
		// denied, whatever its digits.
		s.Advance(t, 16*time.Minute) // past the five pushes per 15 minutes
		for _, short := range []func(int) int{
			func(n int) int { return n / 10 },   // the first five digits
			func(n int) int { return n*10 + 1 }, // a seventh digit
			func(n int) int { return n % 100 },  // the old two-digit kind
			func(n int) int { return -n },       // negative
		} {
			pl = loginPush(t, s, "alice", "alice-password")
			bad := short(pl.number)
			if r := decide(t, s, dev, pl.id, "approve", &bad, false); r.Status != http.StatusOK || r.JSON(t)["status"] != "denied" {
				t.Errorf("approve %s with %d: %d %s, want 200 denied", pl.id, bad, r.Status, r.Body)
			}
			if r := s.Do(t, "GET", "/api/v1/login/push/"+pl.id, pl.pending, nil); r.JSON(t)["status"] != "denied" {
				t.Errorf("status after the number %d for %d: %s", bad, pl.number, r.Body)
			}
		}
		s.Advance(t, 16*time.Minute) // past the five pushes per 15 minutes

		// A signature from another key is refused and changes nothing.
		pl = loginPush(t, s, "alice", "alice-password")
		tok2, _ := s.Login(t, "admin", deadbolttest.AdminPassword)
		other := pairCLI(t, s, tok2)
		other.DeviceToken = dev.DeviceToken // right token, wrong key
		if r := decide(t, s, other, pl.id, "approve", &pl.number, false); r.Status != http.StatusUnauthorized {
			t.Errorf("foreign signature: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/login/push/"+pl.id, pl.pending, nil); r.JSON(t)["status"] != "pending" {
			t.Errorf("status after a foreign signature: %s", r.Body)
		}

		// Approve and deny racing: exactly one outcome. Approvals are
		// attempts: past the free ones they wait (429).
		var ok atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r *deadbolttest.Response
				if i%2 == 0 {
					r = decide(t, s, dev, pl.id, "approve", &pl.number, false)
				} else {
					r = decide(t, s, dev, pl.id, "deny", nil, false)
				}
				if r.Status == http.StatusOK {
					ok.Add(1)
				} else if r.Status != http.StatusConflict && (i%2 == 1 || r.Status != http.StatusTooManyRequests) {
					t.Errorf("racing decision: %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Errorf("racing approve/deny: %d decisions accepted, want 1", ok.Load())
		}

		// "This wasn't me" denies and mutes pushes; other methods remain.
		pl = loginPush(t, s, "alice", "alice-password")
		if r := decide(t, s, dev, pl.id, "deny", nil, true); r.JSON(t)["status"] != "denied" {
			t.Fatalf("report: %s", r.Body)
		}
		pending, ans := s.Login(t, "alice", "alice-password")
		if ans["push"] != nil || ans["push_unavailable"] != "muted" {
			t.Errorf("login while muted = %v", ans)
		}
		if r := s.Do(t, "POST", "/api/v1/login/push", pending, nil); r.Status != http.StatusTooManyRequests {
			t.Errorf("POST /login/push while muted: %d", r.Status)
		}
		events := s.Do(t, "GET", "/api/v1/admin/audit?type=push.reported", admin, nil).JSON(t)["events"].([]any)
		if len(events) != 1 {
			t.Errorf("push.reported events = %d, want 1", len(events))
		}
		s.Advance(t, 61*time.Minute)
		if _, ans := s.Login(t, "alice", "alice-password"); ans["push"] == nil {
			t.Errorf("push still muted after an hour: %v", ans)
		}
	})
}

func TestPushLimit(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "bob", "bob-password")
	tok, _ := s.Login(t, "bob", "bob-password")
	pairCLI(t, s, tok)
	for i := range 5 {
		if _, ans := s.Login(t, "bob", "bob-password"); ans["push"] == nil {
			t.Fatalf("push %d not sent: %v", i+1, ans)
		}
	}
	pending, ans := s.Login(t, "bob", "bob-password")
	if ans["push"] != nil || ans["push_unavailable"] != "rate_limited" {
		t.Errorf("sixth login in 15 minutes = %v", ans)
	}
	if r := s.Do(t, "POST", "/api/v1/login/push", pending, nil); r.Status != http.StatusTooManyRequests || r.ErrorCode() != "rate_limited" {
		t.Errorf("POST /login/push over the limit: %d %s", r.Status, r.Body)
	}
	s.Advance(t, 16*time.Minute)
	if r := s.Do(t, "POST", "/api/v1/login/push", pending, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("pending sign-in outlived its 10 minutes: %d %s", r.Status, r.Body)
	}
	if _, ans := s.Login(t, "bob", "bob-password"); ans["push"] == nil {
		t.Errorf("push after the window: %v", ans)
	}
}

// TestPushAcrossNodes: the browser waits on node A while the phone answers
// on node B, both on one PostgreSQL database.
func TestPushAcrossNodes(t *testing.T) {
	a := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres})
	b := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres, Database: a.Database})
	admin := a.AdminToken(t)
	a.CreateUser(t, admin, "carol", "carol-password")
	tok, _ := a.Login(t, "carol", "carol-password")
	dev := pairCLI(t, a, tok)
	polled := make(chan *deadbolttest.Response, 1)
	go func() { polled <- b.Do(t, "GET", "/api/v1/device/requests?wait=25", dev.DeviceToken, nil) }()
	time.Sleep(100 * time.Millisecond)
	pl := loginPush(t, a, "carol", "carol-password")
	select {
	case r := <-polled:
		if len(r.JSON(t)["requests"].([]any)) != 1 {
			t.Fatalf("node B's long poll: %s", r.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node B's long poll not woken by node A's request")
	}
	waited := make(chan *deadbolttest.Response, 1)
	start := time.Now()
	go func() { waited <- a.Do(t, "GET", "/api/v1/login/push/"+pl.id+"?wait=25", pl.pending, nil) }()
	time.Sleep(100 * time.Millisecond)
	if r := decide(t, b, dev, pl.id, "approve", &pl.number, false); r.Status != http.StatusOK {
		t.Fatalf("approve on B: %d %s", r.Status, r.Body)
	}
	select {
	case r := <-waited:
		if r.JSON(t)["status"] != "approved" {
			t.Fatalf("node A: %s", r.Body)
		}
		if time.Since(start) > 20*time.Second {
			t.Error("node A was not woken by node B's approval")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node A not woken by node B's approval")
	}
}

// TestDisconnectionWakesDevice: an open app's long poll learns at once
// that "log out of all devices" disconnected it.
func TestDisconnectionWakesDevice(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password")
		tok, _ := s.Login(t, "erin", "erin-password")
		dev := pairCLI(t, s, tok)
		polled := make(chan *deadbolttest.Response, 1)
		go func() { polled <- s.Do(t, "GET", "/api/v1/device/requests?wait=25", dev.DeviceToken, nil) }()
		time.Sleep(100 * time.Millisecond)
		if r := s.Do(t, "POST", "/api/v1/logout/all", tok, nil); r.Status != http.StatusOK {
			t.Fatalf("logout all: %d", r.Status)
		}
		select {
		case r := <-polled:
			if r.Status != http.StatusUnauthorized || r.ErrorCode() != "device_disconnected" {
				t.Errorf("long poll after logout-all: %d %s", r.Status, r.Body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the waiting device was not told of its disconnection")
		}
	})
}

func TestDeviceWebPushUpdate(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	dev := pairCLI(t, s, admin)
	bad := map[string]any{"webpush": map[string]any{"endpoint": "ftp://example.com/x", "keys": map[string]string{"p256dh": "x", "auth": "y"}}}
	if r := s.Do(t, "PUT", "/api/v1/device/webpush", dev.DeviceToken, bad); r.Status != http.StatusBadRequest {
		t.Errorf("bad subscription: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "PUT", "/api/v1/device/webpush", dev.DeviceToken, map[string]any{"webpush": nil}); r.Status != http.StatusOK || r.JSON(t)["subscribed"] != false {
		t.Errorf("remove subscription: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "PUT", "/api/v1/device/webpush", "", map[string]any{"webpush": nil}); r.Status != http.StatusUnauthorized {
		t.Errorf("without a device token: %d", r.Status)
	}
}
