package browsertest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
	"deadbolt/internal/phone"
)

// pairByAPI pairs a CLI device with the signed-in employee of token and
// confirms it, which turns 2FA on.
func pairByAPI(t *testing.T, s *deadbolttest.Server, token string) *deviceclient.State {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/me/device/pairing", token, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /api/v1/me/device/pairing = %d %s, want 201", r.Status, r.Body)
	}
	offer := r.JSON(t)
	st, err := deviceclient.Pair(context.Background(), s.Client, offer["url"].(string), "Test phone")
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	code, _ := st.Code(s.Clock().Now())
	r = s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", token, map[string]string{"code": code})
	if r.Status != http.StatusOK {
		t.Fatalf("confirm pairing = %d %s, want 200", r.Status, r.Body)
	}
	return st
}

// smsMessage is one SMS of the development outbox.
type smsMessage struct {
	To     string `json:"to"`
	Body   string `json:"body"`
	Code   string `json:"code"`
	SentAt string `json:"sent_at"`
}

// smsOutbox lists the SMS messages the development provider has sent to to.
func smsOutbox(t *testing.T, s *deadbolttest.Server, to string) []smsMessage {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/dev/sms", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/dev/sms = %d %s, want 200", r.Status, r.Body)
	}
	var out struct {
		Messages []smsMessage `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("GET /api/v1/dev/sms: %v: %s", err, r.Body)
	}
	var mine []smsMessage
	for _, m := range out.Messages {
		if m.To == to {
			mine = append(mine, m)
		}
	}
	return mine
}

// smsCode returns the code of the last SMS to to, failing the test unless
// the outbox holds more than before such messages (the page sends before
// it answers) and the last one's body carries the code and nothing of the
// employee's name.
func smsCode(t *testing.T, s *deadbolttest.Server, to string, before int, name string) string {
	t.Helper()
	msgs := smsOutbox(t, s, to)
	if len(msgs) <= before {
		t.Fatalf("outbox holds %d messages to %s, want more than %d", len(msgs), to, before)
	}
	m := msgs[len(msgs)-1]
	if len(m.Code) != 6 || strings.Trim(m.Code, "0123456789") != "" || !strings.Contains(m.Body, m.Code) {
		t.Fatalf("SMS %+v: want a six-digit code inside the body", m)
	}
	if strings.Contains(m.Body, name) {
		t.Errorf("SMS body %q holds the employee's name %q", m.Body, name)
	}
	if _, err := time.Parse(time.RFC3339, m.SentAt); err != nil {
		t.Errorf("SMS sent_at %q is not RFC 3339: %v", m.SentAt, err)
	}
	return m.Code
}

// TestAddPhoneAndSignInWithSMS links a phone number through the Security
// page with the code from the SMS, sees it masked there, and signs in with
// an SMS code from "Other login methods".
func TestAddPhoneAndSignInWithSMS(t *testing.T) {
	const (
		typed = "+1 (415) 555-0143"
		e164  = "+14155550143"
	)
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "finn", "finn-password")
		token, _ := s.Login(t, "finn", "finn-password")
		dev := pairByAPI(t, s, token)
		tab := Start(t).NewTab("employee")

		// Sign in with a verification code (the step used to confirm the
		// device is spent, so take the next one).
		signInTo(tab, s.URL, "finn", "finn-password", "#push-number")
		s.Advance(t, 30*time.Second)
		code, _ := dev.Code(s.Clock().Now())
		tab.Do("sign in with a verification code",
			chromedp.Click(chromedp.CSS("#other-methods summary")),
			chromedp.Click(chromedp.ID("method-totp")),
			chromedp.WaitVisible(chromedp.ID("code")),
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.ID("verify")),
			chromedp.WaitVisible(chromedp.ID("welcome")),
		)

		// Security → SMS code → Enter phone number → Next → code.
		before := len(smsOutbox(t, s, e164))
		tab.Do("enter the phone number",
			chromedp.Navigate(s.URL+"/security"),
			chromedp.WaitVisible(chromedp.ID("phone-add")),
			chromedp.Click(chromedp.ID("phone-add")),
			chromedp.WaitVisible(chromedp.ID("phone")),
		)
		tab.Axe("phone number form")
		tab.Do("type the phone number",
			chromedp.SendKeys(chromedp.ID("phone"), typed),
			chromedp.Click(chromedp.ID("phone-next")),
			chromedp.WaitVisible(chromedp.ID("phone-code")),
		)
		tab.Axe("phone number code form")
		code = smsCode(t, s, e164, before, "Test finn")
		tab.Do("type the code from the SMS",
			chromedp.SendKeys(chromedp.ID("phone-code"), code),
			chromedp.Click(chromedp.ID("phone-confirm")),
			chromedp.WaitVisible(chromedp.ID("phone-masked")),
		)
		masked := Run(tab, "read the masked number", chromedp.Text(chromedp.ID("phone-masked")))
		if want := phone.Mask(e164); masked != want || strings.Contains(masked, "555") {
			tab.Fatalf("read the masked number", "Security shows %q, want %q", masked, want)
		}
		tab.Axe("Security page with a phone number")

		// Sign in again with an SMS code.
		tab.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
		logOut(tab)
		signInTo(tab, s.URL, "finn", "finn-password", "#push-number")
		before = len(smsOutbox(t, s, e164))
		tab.Do("choose SMS code",
			chromedp.Click(chromedp.CSS("#other-methods summary")),
			chromedp.Click(chromedp.ID("method-sms")),
			chromedp.WaitVisible(chromedp.ID("send-sms")),
		)
		if n := len(smsOutbox(t, s, e164)); n != before {
			tab.Fatalf("choose SMS code", "choosing the method sent %d SMS; only Send code should", n-before)
		}
		tab.Axe("SMS method chosen")
		tab.Do("send the code",
			chromedp.Click(chromedp.ID("send-sms")),
			chromedp.WaitVisible(chromedp.ID("sms-sent")),
		)
		if sent := Run(tab, "read where the code went", chromedp.Text(chromedp.ID("sms-sent"))); !strings.Contains(sent, masked) {
			tab.Fatalf("read where the code went", "the page says %q, want it to name %q", sent, masked)
		}
		tab.Axe("SMS code sent")
		code = smsCode(t, s, e164, before, "Test finn")
		tab.Do("sign in with the SMS code",
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.ID("verify")),
			chromedp.WaitVisible(chromedp.ID("welcome")),
		)
	})
}
