package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
)

// probeReason is error.reason of a 429 from the limit on different
// numbers; "" for any other answer.
func probeReason(r *deadbolttest.Response) string {
	var m struct {
		Error struct {
			Code   string `json:"code"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	json.Unmarshal(r.Body, &m)
	if r.Status != http.StatusTooManyRequests || m.Error.Code != "rate_limited" {
		return ""
	}
	return m.Error.Reason
}

// TestPhoneProbeLimit: one employee may try only 5 different numbers an
// hour on POST /me/phone. A taken number still answers 409 phone_in_use at
// once, and asking again for a number tried does not use up the
// allowance; past it a new number is 429 rate_limited (with retry_after)
// before it is looked up — on every node, as the store counts.
func TestPhoneProbeLimit(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "holder", "holder-password")
		holder, _ := s.Login(t, "holder", "holder-password")
		const taken = "+14155550199"
		smsLink(t, s, holder, taken, taken)

		s.CreateUser(t, admin, "erin", "erin-password")
		erin, _ := s.Login(t, "erin", "erin-password")
		try := func(n string) *deadbolttest.Response {
			return s.Do(t, "POST", "/api/v1/me/phone", erin, map[string]string{"phone": n})
		}
		for range 3 {
			if r := try(taken); r.Status != http.StatusConflict || r.ErrorCode() != "phone_in_use" {
				t.Fatalf("POST /me/phone(taken) = %d %s, want 409 phone_in_use", r.Status, r.Body)
			}
		}
		for i := range 4 {
			s.Advance(t, 61*time.Second) // past the resend interval
			if r := try(fmt.Sprintf("+1415555010%d", i)); r.Status != http.StatusOK {
				t.Fatalf("POST /me/phone(number %d) = %d %s, want 200", i+2, r.Status, r.Body)
			}
		}
		s.Advance(t, 61*time.Second)
		r := try("+14155550198")
		if probeReason(r) != "phone_numbers" {
			t.Fatalf("POST /me/phone(a 6th number) = %d %s, want 429 rate_limited for phone_numbers", r.Status, r.Body)
		}
		var body struct {
			Error struct {
				RetryAfter int `json:"retry_after"`
			} `json:"error"`
		}
		json.Unmarshal(r.Body, &body)
		if ra := body.Error.RetryAfter; ra < 3000 || ra > 3600 || r.Header.Get("Retry-After") != fmt.Sprint(ra) {
			t.Errorf("retry_after = %d, Retry-After %q; want the rest of the hour", ra, r.Header.Get("Retry-After"))
		}
		// The taken number keeps its immediate answer.
		if r := try(taken); r.Status != http.StatusConflict {
			t.Errorf("POST /me/phone(taken, again) = %d %s, want 409", r.Status, r.Body)
		}
		// An hour on, a new allowance.
		s.Advance(t, time.Hour)
		erin, _ = s.Login(t, "erin", "erin-password") // fresh proof
		if r := s.Do(t, "POST", "/api/v1/me/phone", erin, map[string]string{"phone": "+14155550198"}); r.Status != http.StatusOK {
			t.Errorf("POST /me/phone(6th number, an hour on) = %d %s, want 200", r.Status, r.Body)
		}

		// 50 different numbers at once from one employee: exactly 5 get past
		// the limit.
		admin = s.AdminToken(t)
		s.CreateUser(t, admin, "mallory", "mallory-password")
		mallory, _ := s.Login(t, "mallory", "mallory-password")
		const n = 50
		var wg sync.WaitGroup
		var mu sync.Mutex
		past, refused := 0, 0
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				number := fmt.Sprintf("+141555501%02d", i)
				if i == 0 {
					number = taken
				}
				r, err := e2eSend(s, "POST", "/api/v1/me/phone", mallory, map[string]string{"phone": number})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case probeReason(r) == "phone_numbers":
					refused++
				case r.Status == http.StatusOK, r.Status == http.StatusConflict, r.Status == http.StatusTooManyRequests:
					past++ // sent, taken, or the resend interval of a code sent meanwhile
				default:
					t.Errorf("POST /me/phone(%s) = %d %s", number, r.Status, r.Body)
				}
			}()
		}
		close(start)
		wg.Wait()
		if past != 5 || refused != n-5 {
			t.Errorf("of %d different numbers at once, %d got past the limit and %d were refused; want 5 and %d", n, past, refused, n-5)
		}
	})
}
