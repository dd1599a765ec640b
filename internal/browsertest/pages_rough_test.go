package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

// TestDeepLinkSurvivesSignIn: an administrator who opens a console page
// signed out comes back to it after the password and the second factor;
// a return address on another site is never followed.
func TestDeepLinkSurvivesSignIn(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	dev := pairDevice(t, s, s.AdminToken(t), "Admin's phone")
	tab := Start(t).NewTab("admin")

	tab.Do("open a console page signed out",
		chromedp.Navigate(s.URL+"/admin/workgroups?from=mail"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	tab.Do("sign in",
		chromedp.SendKeys(chromedp.ID("login"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), deadbolttest.AdminPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("push-number")),
	)
	s.Advance(t, 30*time.Second) // the pairing spent the current code
	code, _ := dev.Code(s.Clock().Now())
	tab.Do("second factor",
		chromedp.Click(chromedp.CSS("#other-methods summary")),
		chromedp.Click(chromedp.ID("method-totp")),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify")),
		waitFor(`location.pathname === "/admin/workgroups"`),
	)
	if loc := Run(tab, "back at the deep link", chromedp.Location()); !strings.HasSuffix(loc, "/admin/workgroups?from=mail") {
		tab.Fatalf("back at the deep link", "location = %q, want the page opened before the sign-in", loc)
	}

	// Another site as the place to return to: the sign-in ends at home.
	other := Start(t).NewTab("lured")
	other.Do("follow a link with a foreign return address",
		chromedp.Navigate(s.URL+"/login?rd="+"https%3A%2F%2Fevil.example%2Fphish"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), deadbolttest.AdminPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("push-number")),
	)
	s.Advance(t, 30*time.Second)
	code, _ = dev.Code(s.Clock().Now())
	other.Do("second factor",
		chromedp.Click(chromedp.CSS("#other-methods summary")),
		chromedp.Click(chromedp.ID("method-totp")),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)
	if loc := Run(other, "stayed here", chromedp.Location()); !strings.HasPrefix(loc, s.URL+"/") {
		other.Fatalf("stayed here", "location = %q, want this server's portal", loc)
	}
}

// TestEndedSessionSaysSo: a session that ended while idle, and a sign-in
// left waiting at its second step too long, bring the browser back to the
// sign-in page with a sentence saying what happened.
func TestEndedSessionSaysSo(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "ida", "ida-password")
	tab := Start(t).NewTab("ida")
	signIn(tab, s.URL, "ida", "ida-password")
	s.Advance(t, 2*time.Hour) // past the idle timeout
	tab.Do("open Security after a long break",
		chromedp.Navigate(s.URL+"/security"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	if msg := Run(tab, "read why", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(msg, "session has ended") {
		tab.Fatalf("read why", "the sign-in page says %q, want that the session has ended", msg)
	}
	tab.Axe("session ended")
	// Signing in again goes on to the page asked for.
	tab.Do("sign in again",
		chromedp.SendKeys(chromedp.ID("login"), "ida"),
		chromedp.SendKeys(chromedp.ID("password"), "ida-password"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("sessions-section")),
	)

	// A second step left too long.
	c := sessionCookieOf(tab, "read the session cookie", s.URL)
	pairDevice(t, s, c.Value, "Ida's phone")
	tab.Do("log out", chromedp.Click(chromedp.ID("widget-logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	signInTo(tab, s.URL, "ida", "ida-password", "#push-number")
	s.Advance(t, 11*time.Minute)
	tab.Do("come back to the second step",
		chromedp.Navigate(s.URL+"/login/verify"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	if msg := Run(tab, "read why the sign-in ended", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(msg, "took too long") {
		tab.Fatalf("read why the sign-in ended", "the sign-in page says %q, want that the sign-in took too long", msg)
	}
}

// TestLogOutFromEveryPage: every page a signed-in employee sees, error
// pages included, carries the employee widget with a way to log out, and
// it works.
func TestLogOutFromEveryPage(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "lev", "lev-password")
	tab := Start(t).NewTab("lev")
	signIn(tab, s.URL, "lev", "lev-password")
	pages := []struct{ path, sel string }{
		{"/", "#welcome"},
		{"/security", "#sessions-section"},
		{"/security/2fa/setup", "main h1"},
		{"/security/phone", "main h1"},
		{"/admin", "#error-page"},        // not an administrator: the 403 page
		{"/no-such-page", "#error-page"}, // the 404 page
	}
	for _, p := range pages {
		tab.Do("open "+p.path, chromedp.Navigate(s.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		if n := Run(tab, "log out on "+p.path, chromedp.Evaluate[int](`document.querySelectorAll('#employee-widget, #widget-logout').length`)); n != 2 {
			tab.Fatalf("log out on "+p.path, "%s has %d of the employee widget and its log-out button, want both", p.path, n)
		}
		tab.Axe(p.path)
	}
	tab.Do("log out from the error page",
		chromedp.Click(chromedp.ID("widget-logout")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	if msg := Run(tab, "read the flash", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(msg, "signed out") {
		tab.Fatalf("read the flash", "flash = %q, want the sign-out message", msg)
	}
	c := sessionCookieOf(tab, "cookie after logout", s.URL)
	if c != nil && c.Value != "" {
		tab.Fatalf("cookie after logout", "the session cookie is still set")
	}
}

// TestPageDetails: the site icon is served; buttons, inputs and the
// confirmation toggles use the page's font; banner actions stand apart;
// the overdue banner says who can extend the deadline; a US number is
// masked the way Americans write it.
func TestPageDetails(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	id := s.CreateUser(t, admin, "uma", "uma-password")
	tab := Start(t).NewTab("uma")
	signIn(tab, s.URL, "uma", "uma-password")

	icon := Run(tab, "load the site icon", chromedp.Evaluate[int](`new Promise(r => { const i = new Image(); i.onload = () => r(i.naturalWidth); i.onerror = () => r(0); i.src = "/favicon.ico"; })`, chromedp.EvalAwaitPromise))
	if icon < 16 {
		tab.Fatalf("load the site icon", "/favicon.ico is %d px wide as an image, want an icon", icon)
	}

	// A US number, linked through the dev outbox.
	c := sessionCookieOf(tab, "read the session cookie", s.URL)
	if r := s.Do(t, "POST", "/api/v1/me/phone", c.Value, map[string]string{"phone": "+1 415 555 0143"}); r.Status != http.StatusOK {
		t.Fatalf("link phone: %d %s", r.Status, r.Body)
	}
	out := s.Do(t, "GET", "/api/v1/dev/sms", "", nil).JSON(t)["messages"].([]any)
	code := out[len(out)-1].(map[string]any)["code"].(string)
	if r := s.Do(t, "POST", "/api/v1/me/phone/confirm", c.Value, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm phone: %d %s", r.Status, r.Body)
	}
	tab.Do("open Security", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("sms-block")))
	if got, want := Run(tab, "read the number", chromedp.Text(chromedp.ID("sms-block"))), "+1 (•••) •••-0143"; !strings.Contains(got, want) {
		tab.Fatalf("read the number", "the SMS block says %q, want the number as %q", got, want)
	}
	if ws := Run(tab, "the number stays on one line", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#sms-block .phone-number")).whiteSpace`)); ws != "nowrap" {
		tab.Fatalf("the number stays on one line", "the masked number may break across lines (white-space %q)", ws)
	}

	type fonts struct{ Body, Odd string }
	f := Run(tab, "fonts", chromedp.Evaluate[fonts](`(() => {
		const body = getComputedStyle(document.body).fontFamily;
		const odd = [...document.querySelectorAll("button, input, select, textarea, summary")]
			.filter(e => getComputedStyle(e).fontFamily !== body)
			.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + ": " + getComputedStyle(e).fontFamily);
		return {Body: body, Odd: odd.join("; ")};
	})()`))
	if f.Odd != "" {
		tab.Fatalf("fonts", "controls not in the page font %q: %s", f.Body, f.Odd)
	}

	// Overdue: the banner says the administrator can extend the deadline.
	wg := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]any{"name": "Ops"}).JSON(t)["id"].(string)
	s.Do(t, "POST", "/api/v1/admin/workgroups/"+wg+"/members", admin, map[string]any{"user_id": id})
	deadline := s.Clock().Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if r := s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wg+"/policy", s.AdminToken(t), map[string]any{"required": true, "deadline": deadline}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	// Before the deadline the banner can be closed: its actions (set up,
	// close) stand apart.
	tab.Do("open the portal", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("banner-two_factor_required")))
	type gap struct{ N, Min int }
	g := Run(tab, "banner actions", chromedp.Evaluate[gap](`(() => {
		const els = [...document.querySelectorAll("#banner-two_factor_required .banner-actions > a, #banner-two_factor_required .banner-actions > form")];
		let min = 1e9;
		for (let i = 0; i < els.length; i++) for (let j = i + 1; j < els.length; j++) {
			const a = els[i].getBoundingClientRect(), b = els[j].getBoundingClientRect();
			const dx = Math.max(b.left - a.right, a.left - b.right), dy = Math.max(b.top - a.bottom, a.top - b.bottom);
			min = Math.min(min, Math.max(dx, dy));
		}
		return {N: els.length, Min: Math.round(min)};
	})()`))
	if g.N < 2 || g.Min < 8 {
		tab.Fatalf("banner actions", "the banner has %d actions at least %d px apart, want 2 or more at least 8 px apart", g.N, g.Min)
	}

	s.Advance(t, 2*time.Hour) // past the deadline, and the session idle
	signIn(tab, s.URL, "uma", "uma-password")
	text := Run(tab, "read the overdue banner", chromedp.Text(chromedp.ID("banner-two_factor_required")))
	if !strings.Contains(text, "contact your administrator") || !strings.Contains(text, "extend the deadline") {
		tab.Fatalf("read the overdue banner", "the banner says %q, want it to send the employee to the administrator, who can extend the deadline", text)
	}
	tab.Axe("overdue banner")
}

// TestCaptchaPlaysAndKeepsTheCode, in Russian: after three wrong recovery
// codes the CAPTCHA's audio is an <audio> player in the page, read in the
// page's language, that plays there; a wrong CAPTCHA answer keeps the
// recovery code typed.
func TestCaptchaPlaysAndKeepsTheCode(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "rosa", "rosa-password")
	tok, _ := s.Login(t, "rosa", "rosa-password")
	s.Do(t, "PUT", "/api/v1/me/preferences", tok, map[string]string{"language": "ru"})
	pairDevice(t, s, tok, "Телефон Розы")
	s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil)
	tab := Start(t, chromeAutoplay).NewTab("rosa")
	signInTo(tab, s.URL, "rosa", "rosa-password", "#push-number")
	tab.Do("choose recovery codes",
		chromedp.Click(chromedp.CSS("#other-methods summary")),
		chromedp.Click(chromedp.ID("method-recovery")),
		chromedp.WaitVisible(chromedp.ID("recovery-form")),
	)
	for range 3 {
		tab.Do("wrong recovery code",
			chromedp.SendKeys(chromedp.ID("code"), "AAAAA-AAAAA"),
			discard(chromedp.Evaluate[bool](`window.oldPage = true`)),
			chromedp.Click(chromedp.ID("verify")),
			waitFor(`!window.oldPage && document.readyState === "complete" && !!document.getElementById("error")`),
		)
	}
	tab.Do("the CAPTCHA", chromedp.WaitVisible(chromedp.ID("captcha-audio")))
	type player struct {
		Tag, Src string
	}
	p := Run(tab, "the audio player", chromedp.Evaluate[player](`(() => { const a = document.getElementById("captcha-audio"); return {Tag: a.tagName, Src: a.currentSrc || a.src}; })()`))
	if p.Tag != "AUDIO" || !strings.Contains(p.Src, "lang=ru") {
		tab.Fatalf("the audio player", "the CAPTCHA audio is <%s src=%q>, want an <audio> player reading Russian digits", p.Tag, p.Src)
	}
	played := Run(tab, "play the audio", chromedp.Evaluate[bool](`new Promise(r => {
		const a = document.getElementById("captcha-audio");
		a.addEventListener("timeupdate", () => { if (a.currentTime > 0) r(true); });
		a.addEventListener("error", () => r(false));
		a.play().catch(() => r(false));
	})`, chromedp.EvalAwaitPromise))
	if !played {
		tab.Fatalf("play the audio", "the CAPTCHA audio did not play in the page")
	}
	tab.Axe("captcha")

	// A wrong answer to the CAPTCHA with a (wrong) code typed: the code stays.
	typed := "BBBBB-CCCCC"
	tab.Do("wrong CAPTCHA answer",
		chromedp.SendKeys(chromedp.ID("code"), typed),
		chromedp.SendKeys(chromedp.ID("captcha-answer"), "000000"),
		discard(chromedp.Evaluate[bool](`window.oldPage = true`)),
		chromedp.Click(chromedp.ID("verify")),
		waitFor(`!window.oldPage && document.readyState === "complete" && !!document.getElementById("error")`),
	)
	if got := Run(tab, "the code is kept", chromedp.Evaluate[string](`document.getElementById("code").value`)); got != typed {
		tab.Fatalf("the code is kept", "the recovery code field holds %q after a wrong CAPTCHA answer, want %q kept", got, typed)
	}
	if n := Run(tab, "a new CAPTCHA", chromedp.Evaluate[int](`document.querySelectorAll("#captcha-image").length`)); n != 1 {
		tab.Fatalf("a new CAPTCHA", "%d CAPTCHA images after a wrong answer, want a new one", n)
	}
}

// chromeAutoplay lets pages play sound without a click first, as a person
// clicking the player would.
var chromeAutoplay = chromedp.Flag("autoplay-policy", "no-user-gesture-required")
