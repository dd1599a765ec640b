package browsertest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

// denyNotifications answers "no" for the tab to the notification prompt
// the companion app shows while pairing, as a person declining it would:
// headless Chromium has no push service, and pairing must work without
// one.
func denyNotifications(tab *Tab) {
	tab.t.Helper()
	c := chromedp.FromContext(tab.ctx)
	if c == nil || c.BrowserContextID == "" {
		tab.Fatalf("deny notifications", "the tab has no browser context of its own")
	}
	tab.Do("deny notifications", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission:       &browser.PermissionDescriptor{Name: "notifications"},
			Setting:          browser.PermissionSettingDenied,
			BrowserContextID: c.BrowserContextID,
		})
		return err
	}))
}

// TestPushApprovalWithCompanionApp pairs the companion app (a second
// browser context playing the phone) through the setup wizard by opening
// the QR code's URL, then signs in with a push approval: the computer shows
// the number, the phone types it and approves, and the computer reaches the
// home page by itself. A wrong number denies the sign-in.
func TestPushApprovalWithCompanionApp(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password")
		b := Start(t)
		computer := b.NewTab("computer")
		phone := b.NewTab("phone")
		denyNotifications(phone)

		// The computer shows the QR code of the setup wizard.
		signInTo(computer, s.URL, "erin", "erin-password", "#welcome")
		computer.Do("open the wizard",
			chromedp.Navigate(s.URL+"/security/2fa/setup"),
			chromedp.WaitVisible(chromedp.ID("pairing-qr")),
		)
		png := Run(computer, "capture the QR code", chromedp.Screenshot(chromedp.ID("pairing-qr")))
		pairURL := decodeQR(t, png)
		if !strings.HasPrefix(pairURL, s.URL+"/app/pair#") {
			computer.Fatalf("read the QR code", "QR holds %q, want a pairing URL of %s", pairURL, s.URL)
		}

		// The phone opens the URL: the app pairs and shows a code.
		phone.Do("open the pairing URL",
			chromedp.Navigate(pairURL),
			chromedp.WaitVisible(chromedp.CSS(`#pair-status[data-state="paired"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#totp-code[data-code]`)),
		)
		if loc := Run(phone, "pairing token leaves the address bar", chromedp.Location()); strings.Contains(loc, "#") {
			phone.Fatalf("pairing token leaves the address bar", "the app's address is still %q", loc)
		}
		if acct := Run(phone, "read the account", chromedp.Text(chromedp.ID("account"))); !strings.Contains(acct, "erin") {
			phone.Fatalf("read the account", "#account = %q, want it to name erin", acct)
		}
		code := Run(phone, "read the code", chromedp.AttributeValue(chromedp.ID("totp-code"), "data-code")).Value
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			phone.Fatalf("read the code", "#totp-code data-code = %q, want six digits", code)
		}
		if shown := Run(phone, "read the shown code", chromedp.Text(chromedp.ID("totp-code"))); strings.ReplaceAll(shown, " ", "") != code {
			phone.Fatalf("read the shown code", "#totp-code shows %q, want the digits of %q", shown, code)
		}

		// The computer confirms with the phone's code.
		computer.Do("type the code from the phone",
			chromedp.SendKeys(chromedp.ID("pairing-code"), code),
			chromedp.Click(chromedp.ID("confirm-device")),
			chromedp.WaitVisible(chromedp.ID("codes")),
		)
		if codes := strings.Fields(Run(computer, "read recovery codes", chromedp.Text(chromedp.ID("codes")))); len(codes) != 10 {
			computer.Fatalf("read recovery codes", "got %d recovery codes, want 10", len(codes))
		}

		// Sign in again: the computer shows the number, the phone gets the
		// request and approves with that number.
		computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
		logOut(computer)
		id, number := pushSignIn(computer, s.URL)
		card := `.request[data-id="` + id + `"]`
		phone.Do("the request arrives", chromedp.WaitVisible(chromedp.CSS(card)))
		ctxText := Run(phone, "read the request", chromedp.Text(chromedp.CSS(card+" .ctx-ip")))
		if ctxText != "127.0.0.1" {
			phone.Fatalf("read the request", "the request shows IP address %q, want the computer's 127.0.0.1", ctxText)
		}
		phone.Do("approve with the number",
			chromedp.SendKeys(chromedp.CSS(card+" input.number"), strconv.Itoa(number)),
			chromedp.Click(chromedp.CSS(card+" button.approve")),
			chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
			chromedp.WaitNotPresent(chromedp.CSS(card)),
		)
		computer.Do("the computer signs in by itself", chromedp.WaitVisible(chromedp.ID("welcome")))
		if n := Run(computer, "signed in", chromedp.Evaluate[int](`document.querySelectorAll("#logout").length`)); n != 1 {
			computer.Fatalf("signed in", "the home page has no log-out button")
		}

		// A wrong number denies the sign-in.
		logOut(computer)
		id, number = pushSignIn(computer, s.URL)
		card = `.request[data-id="` + id + `"]`
		wrong := 10 + (number-10+1)%90
		phone.Do("approve with a wrong number",
			chromedp.WaitVisible(chromedp.CSS(card)),
			chromedp.SendKeys(chromedp.CSS(card+" input.number"), strconv.Itoa(wrong)),
			chromedp.Click(chromedp.CSS(card+" button.approve")),
			chromedp.WaitVisible(chromedp.CSS(`#message[data-state="error"]`)),
		)
		computer.Do("the computer says denied",
			chromedp.Poll[chromedp.Void](`document.getElementById("push-status").textContent.includes("denied")`),
		)
		if n := Run(computer, "still not signed in", chromedp.Evaluate[int](`document.querySelectorAll("#welcome").length`)); n != 0 {
			computer.Fatalf("still not signed in", "a wrong number signed the computer in")
		}
	})
}

// pushSignIn signs erin in on the computer up to the push step and returns
// the push request's id and the number shown.
func pushSignIn(tab *Tab, base string) (id string, number int) {
	tab.t.Helper()
	signInTo(tab, base, "erin", "erin-password", "#push-number")
	id = Run(tab, "read the push request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	text := Run(tab, "read the number", chromedp.Text(chromedp.ID("push-number")))
	number, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || number < 10 || number > 99 || id == "" {
		tab.Fatalf("read the number", "#push-number shows %q for request %q, want a number from 10 to 99", text, id)
	}
	return id, number
}
