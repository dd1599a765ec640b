package browsertest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"deadbolt/internal/deadbolttest"
)

// TestReauthByPushCarriesOn: the employee clicks "Reload" on the Security
// page after the fresh proof ran out; the confirmation page shows a
// six-digit number (the push went out at once), the companion app shows
// the request as a confirmation, the employee types the number there and
// presses Enter, and the computer shows the new recovery codes by itself —
// no second click on Reload.
func TestReauthByPushCarriesOn(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password")
		b := Start(t)
		computer := b.NewTab("computer")
		phone := b.NewTab("phone")
		pairCompanion(t, s, computer, phone, "erin", "erin-password")
		old := strings.Fields(Run(computer, "read the first codes", chromedp.Text(chromedp.ID("codes"))))

		s.Advance(t, 11*time.Minute)
		computer.Do("reload the recovery codes",
			chromedp.Navigate(s.URL+"/security"),
			chromedp.WaitVisible(chromedp.ID("reload-codes-open")),
			chromedp.Click(chromedp.ID("reload-codes-open")),
			chromedp.WaitVisible(chromedp.ID("reload-codes")),
		)
		computer.Axe("asking before reloading the codes")
		computer.Do("confirm reloading the codes",
			chromedp.Click(chromedp.ID("reload-codes")),
			chromedp.WaitVisible(chromedp.ID("push-number")),
		)
		if why := Run(computer, "read what the confirmation is for", chromedp.Text(chromedp.ID("reauth-for"))); !strings.Contains(why, "new recovery codes") {
			computer.Fatalf("read what the confirmation is for", "the page says %q, want it to name the new recovery codes", why)
		}
		computer.Axe("confirmation page by push")
		id := Run(computer, "read the request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
		groups := Run(computer, "read the number", chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("#push-number .group"), g => g.textContent)`))
		number := strings.Join(groups, "")
		if n, err := strconv.Atoi(number); err != nil || n < 100000 || n > 999999 || len(groups) != 2 {
			computer.Fatalf("read the number", "the page shows %q, want a six-digit number in two groups", groups)
		}
		if qr := decodeQR(t, Run(computer, "capture the number's QR code", qrShot("push-qr"))); qr != number {
			computer.Fatalf("read the number's QR code", "the QR code holds %q, want %s", qr, number)
		}

		card := `.request[data-id="` + id + `"]`
		phone.Do("the confirmation arrives", chromedp.WaitVisible(chromedp.CSS(card)))
		if title := Run(phone, "read the card", chromedp.Text(chromedp.CSS(card+" .request-title"))); title != "Confirm it is you" {
			phone.Fatalf("read the card", "the card is titled %q, want it to say it is a confirmation", title)
		}
		phone.Axe("companion app with a confirmation")
		phone.Do("type the number and press Enter",
			chromedp.SendKeys(chromedp.CSS(card+" input.number"), number),
			chromedp.SendKeys(chromedp.CSS(card+" input.number"), kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
		)
		computer.Do("the new codes show by themselves", chromedp.WaitVisible(chromedp.ID("codes")))
		fresh := strings.Fields(Run(computer, "read the new codes", chromedp.Text(chromedp.ID("codes"))))
		if len(fresh) != 10 || fresh[0] == old[0] {
			computer.Fatalf("read the new codes", "the page shows %q after the confirmation, want ten new codes (the old first was %q)", fresh, old[0])
		}
	})
}

// TestReauthBySMSCarriesOn: after the fresh proof ran out, "Remove number"
// leads to the confirmation page; the employee picks SMS among the other
// methods, sends the code (the button waits out the resend countdown),
// types the code from the SMS, and the number is removed without another
// click.
func TestReauthBySMSCarriesOn(t *testing.T) {
	const e164 = "+14155550143"
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "finn", "finn-password")
	token, _ := s.Login(t, "finn", "finn-password")
	dev := pairByAPI(t, s, token)
	if r := s.Do(t, "POST", "/api/v1/me/phone", token, map[string]string{"phone": e164}); r.Status != http.StatusOK {
		t.Fatalf("link phone: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "POST", "/api/v1/me/phone/confirm", token, map[string]string{"code": smsCode(t, s, e164, 0, "Test finn")}); r.Status != http.StatusOK {
		t.Fatalf("confirm phone: %d %s", r.Status, r.Body)
	}
	tab := Start(t).NewTab("employee")
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

	s.Advance(t, 11*time.Minute)
	tab.Do("remove the number",
		chromedp.Navigate(s.URL+"/security"),
		chromedp.WaitVisible(chromedp.ID("phone-remove")),
		chromedp.Click(chromedp.ID("phone-remove")),
		chromedp.WaitVisible(chromedp.ID("reauth")),
	)
	tab.Axe("confirmation page")
	before := len(smsOutbox(t, s, e164))
	tab.Do("choose SMS",
		chromedp.Click(chromedp.CSS("#other-methods summary")),
		chromedp.Click(chromedp.ID("method-sms")),
		chromedp.WaitVisible(chromedp.ID("send-sms")),
		chromedp.Click(chromedp.ID("send-sms")),
		chromedp.WaitVisible(chromedp.ID("sms-sent")),
	)
	if disabled := Run(tab, "the resend button waits", chromedp.Evaluate[bool](`document.getElementById("send-sms").disabled`)); !disabled {
		tab.Fatalf("the resend button waits", "Send a new code is usable at once, want it disabled for the countdown")
	}
	if note := Run(tab, "read the countdown", chromedp.Text(chromedp.ID("resend-note"))); !strings.Contains(note, "seconds") {
		tab.Fatalf("read the countdown", "the note says %q, want a countdown in seconds", note)
	}
	tab.Axe("confirmation by SMS")
	code = smsCode(t, s, e164, before, "Test finn")
	tab.Do("type the code from the SMS",
		chromedp.SendKeys(chromedp.ID("reauth-code"), code),
		chromedp.Click(chromedp.ID("reauth-submit")),
		chromedp.WaitVisible(chromedp.ID("phone-add")),
	)
	if flash := Run(tab, "read the message", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "removed") {
		tab.Fatalf("read the message", "Security says %q, want the number removed", flash)
	}
	tab.Axe("number removed")
}
