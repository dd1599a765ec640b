package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// decodeQR reads the text of a QR code in a PNG.
func decodeQR(t testing.TB, png []byte) string {
	t.Helper()
	text, err := readQR(png)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return text
}

// readQR reads the text of a QR code in a PNG. A code the browser scaled
// to a size that is no whole multiple of its modules has modules a pixel
// apart in width, which the detector sometimes misreads: the code alone
// on a plain background (the pure-barcode reading) is tried then.
func readQR(png []byte) (string, error) {
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		return "", fmt.Errorf("QR screenshot: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		var err2 error
		if res, err2 = qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}); err2 != nil {
			return "", fmt.Errorf("%w; as a pure barcode: %w", err, err2)
		}
	}
	return res.GetText(), nil
}

// qrShot screenshots the image with the id once it has loaded, for
// decodeQR: a screenshot taken while it still loads holds half a code.
func qrShot(id string) chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		if _, err := chromedp.Poll[chromedp.Void](`(() => { const i = document.getElementById(`+jsString(id)+`); return !!i && i.complete && i.naturalWidth > 0; })()`)(ctx, t); err != nil {
			return nil, err
		}
		return chromedp.Screenshot(chromedp.ID(id))(ctx, t)
	}
}

// signInTo fills the sign-in form and waits for sel.
func signInTo(tab *Tab, base, login, pw, sel string) {
	tab.t.Helper()
	tab.Do("sign in as "+login,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login"), login),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
	tab.Axe("signed in as " + login + " up to " + sel)
}

func logOut(tab *Tab) {
	tab.t.Helper()
	tab.Do("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	tab.Axe("signed out")
}

// TestTwoFactorSetupAndSignIn sets up 2FA through the wizard, reading the
// QR code from the page, then signs in with a verification code and with a
// recovery code, and sees the CAPTCHA after three wrong recovery codes.
func TestTwoFactorSetupAndSignIn(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "dana", "dana-password")
	tab := Start(t).NewTab("employee")

	signInTo(tab, s.URL, "dana", "dana-password", "#welcome")
	tab.Do("open the wizard",
		chromedp.Navigate(s.URL+"/security"),
		chromedp.WaitVisible(chromedp.ID("setup-2fa")),
		chromedp.Click(chromedp.ID("setup-2fa")),
		chromedp.WaitVisible(chromedp.ID("pairing-qr")),
	)
	tab.Axe("setup wizard")
	png := Run(tab, "capture the QR code", qrShot("pairing-qr"))
	url := decodeQR(t, png)
	if !strings.HasPrefix(url, s.URL+"/app/pair#") {
		tab.Fatalf("read QR", "QR holds %q, want a pairing URL of %s", url, s.URL)
	}
	dev, err := deviceclient.Pair(context.Background(), s.Client, url, "Dana's phone")
	if err != nil {
		tab.Fatalf("pair", "%v", err)
	}
	code, _ := dev.Code(s.Clock().Now())
	tab.Do("type the code from the phone",
		chromedp.SendKeys(chromedp.ID("pairing-code"), code),
		chromedp.Click(chromedp.ID("confirm-device")),
		chromedp.WaitVisible(chromedp.ID("codes")),
	)
	codesText := Run(tab, "read recovery codes", chromedp.Text(chromedp.ID("codes")))
	codes := strings.Fields(codesText)
	if len(codes) != 10 {
		tab.Fatalf("read recovery codes", "got %d codes: %q", len(codes), codesText)
	}
	tab.Axe("new recovery codes")
	href := Run(tab, "download link", chromedp.AttributeValue(chromedp.ID("download-codes"), "href"))
	if !strings.HasPrefix(href.Value, "data:text/plain") || !strings.Contains(href.Value, codes[0]) {
		tab.Fatalf("download link", "href = %q", href.Value)
	}
	tab.Do("back to Security",
		chromedp.Click(chromedp.ID("codes-done")),
		chromedp.WaitVisible(chromedp.ID("device-name")),
	)
	if st := Run(tab, "status", chromedp.Text(chromedp.ID("two-factor-status"))); !strings.HasPrefix(st, "On") {
		tab.Fatalf("status", "2FA status = %q", st)
	}
	tab.Axe("Security page with 2FA on")

	// Verification code: the step used to confirm was spent, so wait for
	// the next one on the server's clock.
	tab.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(tab)
	signInTo(tab, s.URL, "dana", "dana-password", "#push-number")
	s.Advance(t, 30*time.Second)
	code, _ = dev.Code(s.Clock().Now())
	tab.Do("open other methods", chromedp.Click(chromedp.CSS("#other-methods summary")), chromedp.WaitVisible(chromedp.ID("method-totp")))
	tab.Axe("other methods open")
	tab.Do("choose a verification code", chromedp.Click(chromedp.ID("method-totp")), chromedp.WaitVisible(chromedp.ID("code")))
	tab.Axe("verification code form")
	tab.Do("sign in with a verification code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)

	// Recovery code.
	logOut(tab)
	signInTo(tab, s.URL, "dana", "dana-password", "#push-number")
	tab.Do("sign in with a recovery code",
		chromedp.Click(chromedp.CSS("#other-methods summary")),
		chromedp.Click(chromedp.ID("method-recovery")),
		chromedp.WaitVisible(chromedp.ID("recovery-form")),
	)
	tab.Axe("recovery code form")
	tab.Do("type a recovery code",
		chromedp.SendKeys(chromedp.ID("code"), strings.ToLower(codes[0])),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)

	// Three wrong recovery codes bring the CAPTCHA.
	logOut(tab)
	signInTo(tab, s.URL, "dana", "dana-password", "#push-number")
	tab.Do("choose recovery codes",
		chromedp.Click(chromedp.CSS("#other-methods summary")),
		chromedp.Click(chromedp.ID("method-recovery")),
		chromedp.WaitVisible(chromedp.ID("recovery-form")),
	)
	for i := range 3 {
		if n := Run(tab, "no CAPTCHA yet", chromedp.Evaluate[int](`document.querySelectorAll("#captcha-image").length`)); n != 0 {
			tab.Fatalf("no CAPTCHA yet", "CAPTCHA shown after %d wrong codes", i)
		}
		tab.Do("wrong recovery code",
			chromedp.SendKeys(chromedp.ID("code"), "AAAAA-AAAAA"),
			// Mark this document so the wait below sees the next one.
			discard(chromedp.Evaluate[bool](`window.oldPage = true`)),
			chromedp.Click(chromedp.ID("verify")),
			waitFor(`!window.oldPage && document.readyState === "complete" && !!document.getElementById("error")`),
		)
		if i == 0 {
			tab.Axe("wrong recovery code")
		}
	}
	tab.Do("CAPTCHA appears", chromedp.WaitVisible(chromedp.ID("captcha-image")), chromedp.WaitVisible(chromedp.ID("captcha-audio")))
	loaded := Run(tab, "CAPTCHA image loads", chromedp.Evaluate[bool](
		`new Promise(r => { const i = document.getElementById("captcha-image"); if (i.complete) r(i.naturalWidth > 0); else { i.onload = () => r(i.naturalWidth > 0); i.onerror = () => r(false); } })`,
		chromedp.EvalAwaitPromise))
	if !loaded {
		tab.Fatalf("CAPTCHA image loads", "the CAPTCHA image did not load")
	}
	tab.Axe("CAPTCHA")
}

// discard runs an action for its effect only.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// waitFor evaluates a predicate until it holds, riding out the errors a
// navigation in progress causes.
func waitFor(predicate string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			ok, err := chromedp.Evaluate[bool](predicate)(ctx, t)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("waiting for %s: %w (last error: %v)", predicate, ctx.Err(), err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// markPage marks the tab's document, so that newPage can tell it from the
// document a click, a key or a form sent from it loads next.
func markPage() chromedp.Action[chromedp.Void] {
	return discard(chromedp.Evaluate[bool](`window.deadboltOldPage = true`))
}

// newPage waits until the document markPage marked has been replaced and
// its successor has loaded: the server has answered the request that
// replaced it. An element of the old document, visible before that answer,
// no longer counts.
func newPage() chromedp.Action[chromedp.Void] {
	return waitFor(`!window.deadboltOldPage && document.readyState === "complete"`)
}
