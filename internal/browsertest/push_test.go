package browsertest

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

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

// pairCompanion pairs the companion app in phone (a second browser
// context playing the phone) with login's account through the setup
// wizard on computer, by opening the QR code's URL, and confirms it with
// the app's code. It leaves computer signed in, on the new recovery codes.
func pairCompanion(t *testing.T, s *deadbolttest.Server, computer, phone *Tab, login, pw string) {
	t.Helper()
	denyNotifications(phone)

	// The computer shows the QR code of the setup wizard.
	signInTo(computer, s.URL, login, pw, "#welcome")
	computer.Do("open the wizard",
		chromedp.Navigate(s.URL+"/security/2fa/setup"),
		chromedp.WaitVisible(chromedp.ID("pairing-qr")),
	)
	computer.Axe("setup wizard")
	png := Run(computer, "capture the QR code", qrShot("pairing-qr"))
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
	phone.Axe("companion app paired")
	if loc := Run(phone, "pairing token leaves the address bar", chromedp.Location()); strings.Contains(loc, "#") {
		phone.Fatalf("pairing token leaves the address bar", "the app's address is still %q", loc)
	}
	if acct := Run(phone, "read the account", chromedp.Text(chromedp.ID("account"))); !strings.Contains(acct, login) {
		phone.Fatalf("read the account", "#account = %q, want it to name %s", acct, login)
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
	computer.Axe("new recovery codes")
	phone.Axe("companion app confirmed")
}

// TestPushApprovalWithCompanionApp pairs the companion app, then signs in
// with a push approval: the computer shows the six-digit number grouped
// and as a QR code, the phone types it (grouped as typed) and approves with
// Enter, and the computer reaches the home page by itself. A wrong number
// denies the sign-in.
func TestPushApprovalWithCompanionApp(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password")
		b := Start(t)
		computer := b.NewTab("computer")
		phone := b.NewTab("phone")
		pairCompanion(t, s, computer, phone, "erin", "erin-password")

		// Sign in again: the computer shows the number, the phone gets the
		// request and approves with that number.
		computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
		logOut(computer)
		id, number := pushSignIn(computer, s.URL)
		if qr := decodeQR(t, Run(computer, "capture the number's QR code", qrShot("push-qr"))); qr != strconv.Itoa(number) {
			computer.Fatalf("read the number's QR code", "the QR code holds %q, want just the digits %d", qr, number)
		}
		card := `.request[data-id="` + id + `"]`
		phone.Do("the request arrives", chromedp.WaitVisible(chromedp.CSS(card)))
		phone.Axe("companion app with a request")
		ctxText := Run(phone, "read the request", chromedp.Text(chromedp.CSS(card+" .ctx-ip")))
		if ctxText != "127.0.0.1" {
			phone.Fatalf("read the request", "the request shows IP address %q, want the computer's 127.0.0.1", ctxText)
		}
		if focused := Run(phone, "the number field has the focus", chromedp.Evaluate[bool](
			`document.activeElement === document.querySelector(`+strconv.Quote(card+" input.number")+`)`)); !focused {
			phone.Fatalf("the number field has the focus", "the request's number field is not focused when it arrives")
		}
		if mode := Run(phone, "numeric keyboard", chromedp.AttributeValue(chromedp.CSS(card+" input.number"), "inputmode")).Value; mode != "numeric" {
			phone.Fatalf("numeric keyboard", "the number field has inputmode %q, want numeric", mode)
		}
		digits := strconv.Itoa(number)
		phone.Do("type the number", chromedp.SendKeys(chromedp.CSS(card+" input.number"), digits))
		if v := Run(phone, "the number is grouped as typed", chromedp.Value(chromedp.CSS(card+" input.number"))); v != digits[:3]+" "+digits[3:] {
			phone.Fatalf("the number is grouped as typed", "the field shows %q, want %q", v, digits[:3]+" "+digits[3:])
		}
		phone.Do("approve with Enter",
			chromedp.SendKeys(chromedp.CSS(card+" input.number"), kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
			chromedp.WaitNotPresent(chromedp.CSS(card)),
		)
		phone.Axe("companion app after approving")
		computer.Do("the computer signs in by itself", chromedp.WaitVisible(chromedp.ID("welcome")))
		computer.Axe("home page after a push")
		if n := Run(computer, "signed in", chromedp.Evaluate[int](`document.querySelectorAll("#logout").length`)); n != 1 {
			computer.Fatalf("signed in", "the home page has no log-out button")
		}

		// A number of the wrong length is not sent: the app asks again.
		logOut(computer)
		id, number = pushSignIn(computer, s.URL)
		card = `.request[data-id="` + id + `"]`
		phone.Do("approve with five digits",
			chromedp.WaitVisible(chromedp.CSS(card)),
			chromedp.SendKeys(chromedp.CSS(card+" input.number"), strconv.Itoa(number)[:5]),
			chromedp.Click(chromedp.CSS(card+" button.approve")),
			chromedp.WaitVisible(chromedp.CSS(card+" .request-error")),
		)
		if msg := Run(phone, "read the error", chromedp.Text(chromedp.CSS(card+" .request-error"))); !strings.Contains(msg, "6-digit") {
			phone.Fatalf("read the error", "the card says %q, want it to ask for the 6-digit number", msg)
		}
		phone.Axe("companion app with a short number")

		// A wrong number denies the sign-in.
		wrong := 100000 + (number-100000+1)%900000
		phone.Do("approve with a wrong number",
			chromedp.SetValue(chromedp.CSS(card+" input.number"), ""),
			chromedp.SendKeys(chromedp.CSS(card+" input.number"), strconv.Itoa(wrong)),
			chromedp.Click(chromedp.CSS(card+" button.approve")),
			chromedp.WaitVisible(chromedp.CSS(`#message[data-state="error"]`)),
		)
		phone.Axe("companion app after a wrong number")
		computer.Do("the computer says denied",
			chromedp.Poll[chromedp.Void](`document.getElementById("push-status").textContent.includes("denied")`),
		)
		if n := Run(computer, "still not signed in", chromedp.Evaluate[int](`document.querySelectorAll("#welcome").length`)); n != 0 {
			computer.Fatalf("still not signed in", "a wrong number signed the computer in")
		}
		computer.Axe("push denied")
	})
}

// TestPushApprovalByScanning: the phone's camera (Chromium's fake camera
// filming the QR code the sign-in page shows) scans the number into the
// request card, and the employee approves.
func TestPushApprovalByScanning(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	camera := filepath.Join(t.TempDir(), "camera.y4m")
	b := Start(t, FakeCamera(camera))
	computer := b.NewTab("computer")
	phone := b.NewTab("phone")
	pairCompanion(t, s, computer, phone, "erin", "erin-password")
	computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(computer)

	id, number := pushSignIn(computer, s.URL)
	qr := Run(computer, "capture the number's QR code", qrShot("push-qr"))
	if err := writeY4M(camera, qr, 640, 480); err != nil {
		t.Fatal(err)
	}
	card := `.request[data-id="` + id + `"]`
	digits := strconv.Itoa(number)
	phone.Do("scan the number",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.Click(chromedp.CSS(card+" button.scan")),
		chromedp.Poll[chromedp.Void](`document.querySelector(`+strconv.Quote(card+" input.number")+`).value === `+strconv.Quote(digits[:3]+" "+digits[3:])),
		chromedp.WaitNotVisible(chromedp.CSS(card+" video.scanner")),
	)
	phone.Axe("companion app after scanning")
	if live := Run(phone, "the camera is released", chromedp.Evaluate[bool](
		`document.querySelector(`+strconv.Quote(card+" video.scanner")+`).srcObject === null`)); !live {
		phone.Fatalf("the camera is released", "the scanner still holds the camera after reading the number")
	}
	phone.Do("approve",
		chromedp.Click(chromedp.CSS(card+" button.approve")),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
	)
	computer.Do("the computer signs in by itself", chromedp.WaitVisible(chromedp.ID("welcome")))
}

// pushSignIn signs erin in on the computer up to the push step and returns
// the push request's id and the number shown.
func pushSignIn(tab *Tab, base string) (id string, number int) {
	tab.t.Helper()
	signInTo(tab, base, "erin", "erin-password", "#push-number")
	id = Run(tab, "read the push request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	groups := Run(tab, "read the number", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#push-number .group"), g => g.textContent)`))
	text := strings.Join(groups, "")
	number, err := strconv.Atoi(text)
	if err != nil || number < 100000 || number > 999999 || id == "" || len(groups) != 2 || len(groups[0]) != 3 {
		tab.Fatalf("read the number", "#push-number shows the groups %q for request %q, want a six-digit number in two groups of three", groups, id)
	}
	return id, number
}
