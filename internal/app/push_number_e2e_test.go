package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
)

// TestPushNumberDigits: with --push-digits 8 the browser gets an eight-digit
// number and "digits": 8 from POST /login and POST /login/push; the device
// learns the digit count from its long poll and its event stream, never
// the number; the number approves.
func TestPushNumberDigits(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{PushDigits: 8})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "hal", "hal-password")
	tok, _ := s.Login(t, "hal", "hal-password")
	dev := pairCLI(t, s, tok)

	req, _ := http.NewRequest("GET", s.URL+"/api/v1/device/events", nil)
	req.Header.Set("Authorization", "Bearer "+dev.DeviceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				events <- strings.TrimPrefix(l, "data: ")
			}
		}
		close(events)
	}()
	time.Sleep(100 * time.Millisecond)

	pending, ans := s.Login(t, "hal", "hal-password")
	push, _ := ans["push"].(map[string]any)
	first := checkPush(t, "POST /login", push, 8)
	r := s.Do(t, "POST", "/api/v1/login/push", pending, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("POST /login/push: %d %s", r.Status, r.Body)
	}
	second := checkPush(t, "POST /login/push", r.JSON(t), 8)

	// The event stream sends both requests: digits, no number.
	seen := 0
	for deadline := time.After(10 * time.Second); seen < 2; {
		select {
		case data, ok := <-events:
			if !ok {
				t.Fatal("event stream ended")
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(data), &m); err != nil || m["id"] == nil {
				continue
			}
			seen++
			if _, leaked := m["number"]; leaked || strings.Contains(data, strconv.Itoa(first)) || strings.Contains(data, strconv.Itoa(second)) {
				t.Errorf("event stream sent the number: %s", data)
			}
			if m["digits"] != 8.0 {
				t.Errorf("event digits = %v, want 8: %s", m["digits"], data)
			}
		case <-deadline:
			t.Fatalf("%d requests on the event stream, want 2", seen)
		}
	}

	// The long poll lists only the live one (the first was replaced).
	reqs, err := dev.Requests(context.Background(), s.Client, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].Digits != 8 || reqs[0].NumberLength() != 8 {
		t.Fatalf("device requests = %+v, want one with 8 digits", reqs)
	}
	n, ok := reqs[0].ParseNumber(strconv.Itoa(second))
	if !ok {
		t.Fatalf("ParseNumber(%d) refused an eight-digit number", second)
	}
	if st, err := dev.Decide(context.Background(), s.Client, reqs[0].ID, "approve", &n, false); err != nil || st != "approved" {
		t.Fatalf("approve with the eight-digit number = %q, %v", st, err)
	}
}

// checkPush checks a push object: an id, a number of exactly digits digits
// and the digits field. It returns the number.
func checkPush(t *testing.T, what string, push map[string]any, digits int) int {
	t.Helper()
	num, _ := push["number"].(float64)
	n := int(num)
	if push["id"] == nil || float64(n) != num || len(strconv.Itoa(n)) != digits || push["digits"] != float64(digits) || push["expires_at"] == nil {
		t.Fatalf("%s push = %v, want an id, a %d-digit number, digits %d and expires_at", what, push, digits, digits)
	}
	return n
}
