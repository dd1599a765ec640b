package app_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
)

// TestCodeSignInResolvesWaitingPush: the push request a sign-in sent is
// withdrawn from the phone's event stream at once — well before the
// stream's next keepalive would re-read it — when the employee signs in
// with a code instead.
func TestCodeSignInResolvesWaitingPush(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "ivy", "ivy-password")
		tok, _ := s.Login(t, "ivy", "ivy-password")
		dev := pairCLI(t, s, tok)

		req, _ := http.NewRequest("GET", s.URL+"/api/v1/device/events", nil)
		req.Header.Set("Authorization", "Bearer "+dev.DeviceToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		type event struct{ name, id string }
		events := make(chan event, 16)
		go func() {
			defer close(events)
			sc := bufio.NewScanner(resp.Body)
			name := ""
			for sc.Scan() {
				l := sc.Text()
				switch {
				case strings.HasPrefix(l, "event: "):
					name = strings.TrimPrefix(l, "event: ")
				case strings.HasPrefix(l, "data: "):
					var m map[string]any
					json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &m)
					id, _ := m["id"].(string)
					events <- event{name, id}
				}
			}
		}()
		next := func(want string) string {
			t.Helper()
			deadline := time.After(10 * time.Second)
			for {
				select {
				case e, ok := <-events:
					if !ok {
						t.Fatalf("event stream ended before %q", want)
					}
					if e.name == want {
						return e.id
					}
				case <-deadline:
					t.Fatalf("no %q event within 10 s", want)
				}
			}
		}

		pending, ans := s.Login(t, "ivy", "ivy-password")
		push, _ := ans["push"].(map[string]any)
		id, _ := push["id"].(string)
		if got := next("request"); id == "" || got != id {
			t.Fatalf("request event %q, want the sign-in's push %q", got, id)
		}
		// A code of a step after the one that confirmed the pairing.
		code, _ := dev.Code(s.App.DevClock.Advance(30 * time.Second))
		r := s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]string{"method": "totp", "code": code})
		if r.Status != http.StatusOK {
			t.Fatalf("second factor: %d %s", r.Status, r.Body)
		}
		if got := next("resolved"); got != id {
			t.Errorf("resolved event for %q, want %q", got, id)
		}
	})
}
