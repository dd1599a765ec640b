package app_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/webpush/webpushtest"
)

// TestFactorChangeNotices: a factor change is told to the trusted device —
// in its notices, on its open event stream, and by Web Push.
func TestFactorChangeNotices(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "fay", "fay-password")
	tok, _ := s.Login(t, "fay", "fay-password")
	dev := pairCLI(t, s, tok)

	// The app's event stream is open before the change.
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/device/events", nil)
	req.Header.Set("Authorization", "Bearer "+dev.DeviceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	time.Sleep(100 * time.Millisecond)

	if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("recovery codes: %d %s", r.Status, r.Body)
	}
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("event stream ended")
			}
			if strings.HasPrefix(l, "data: ") && strings.Contains(l, `"recovery_codes.generated"`) {
				got = true
			}
		case <-deadline:
			t.Fatal("no notice on the open event stream")
		}
	}
	r := s.Do(t, "GET", "/api/v1/device/notices", dev.DeviceToken, nil)
	notices := r.JSON(t)["notices"].([]any)
	if len(notices) != 1 || notices[0].(map[string]any)["type"] != "recovery_codes.generated" {
		t.Errorf("notices = %s", r.Body)
	}
	newest := notices[0].(map[string]any)["id"].(string)
	if r := s.Do(t, "GET", "/api/v1/device/notices?after="+newest, dev.DeviceToken, nil); len(r.JSON(t)["notices"].([]any)) != 0 {
		t.Errorf("notices after the newest = %s", r.Body)
	}
	if r := s.Do(t, "GET", "/api/v1/device/notices?after=x", dev.DeviceToken, nil); r.Status != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", r.Status)
	}
}

func TestFactorChangeWebPushNotice(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	vapid := s.Do(t, "GET", "/api/v1/device/vapid", "", nil).JSON(t)["public_key"].(string)
	push := webpushtest.NewService(t, vapid)
	browser, endpoint := push.Subscribe(t)
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "gus", "gus-password")
	tok, _ := s.Login(t, "gus", "gus-password")
	pairWebPushDevice(t, s, tok, browser.Subscription(endpoint))
	if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("recovery codes: %d %s", r.Status, r.Body)
	}
	n := push.Next(t, 10*time.Second)
	if n.Err != nil || string(n.Plaintext) != `{"notice":"recovery_codes.generated"}` {
		t.Errorf("notice notification = %q, %v", n.Plaintext, n.Err)
	}
}
