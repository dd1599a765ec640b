package browsertest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"deadbolt/internal/deadbolttest"
)

// focus describes the element that has the keyboard focus.
type focus struct {
	Matches bool   // it matches the selector asked about
	Tag     string // its tag name, BODY when nothing has the focus
	ID      string
	Text    string // the start of its text, to name it in messages
	Visible bool   // it matches :focus-visible
	Ring    bool   // and shows it: an outline of 2 px or more, or a box shadow
	// Contrast is the contrast ratio of the outline's colour against the
	// background behind the element (WCAG asks for 3 or more).
	Contrast float64
}

func (f focus) String() string {
	return "<" + strings.ToLower(f.Tag) + " id=" + strconv.Quote(f.ID) + "> " + strconv.Quote(f.Text)
}

// focused describes the focused element and whether it matches sel.
func focused(tab *Tab, step, sel string) focus {
	tab.t.Helper()
	return Run(tab, step, chromedp.Evaluate[focus](`(() => {
		const e = document.activeElement || document.body;
		const cs = getComputedStyle(e);
		const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
		const lum = c => {
			const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
			return 0.2126 * r + 0.7152 * g + 0.0722 * b;
		};
		let bg = "rgb(255, 255, 255)";
		for (let p = e.parentElement; p; p = p.parentElement) {
			const c = getComputedStyle(p).backgroundColor, v = rgb(c);
			if (v.length === 3 || (v.length === 4 && v[3] > 0)) { bg = c; break; }
		}
		const [l1, l2] = [lum(cs.outlineColor), lum(bg)].sort((a, b) => b - a);
		return {
			Contrast: (l1 + 0.05) / (l2 + 0.05),
			Matches: e.matches(`+strconv.Quote(sel)+`), Tag: e.tagName, ID: e.id,
			Text: (e.textContent || e.value || "").trim().slice(0, 40),
			Visible: e.matches(":focus-visible"),
			Ring: (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== "none",
		};
	})()`))
}

// press sends keys to whatever has the focus, through the DevTools
// protocol's key events, as a keyboard would.
func press(tab *Tab, step, keys string, opts ...chromedp.KeyOption) {
	tab.t.Helper()
	tab.Do(step, chromedp.KeyEvent(keys, opts...))
}

// shiftTab is the key option of Shift+Tab.
var shiftTab = chromedp.KeyModifiers(chromedp.ModifierShift)

// mustFocus fails the test unless the focused element matches sel and
// shows that it has the focus.
func mustFocus(tab *Tab, step, sel string) {
	tab.t.Helper()
	f := focused(tab, step, sel)
	if !f.Matches {
		tab.Fatalf(step, "the focus is on %s, want it on %s", f, sel)
	}
	f.check(tab, step)
}

// check fails the test unless the focused element shows its focus with a
// ring that stands out from the background.
func (f focus) check(tab *Tab, step string) {
	tab.t.Helper()
	if !f.Visible || !f.Ring {
		tab.Fatalf(step, "%s has the focus but shows no focus ring (:focus-visible %v, outline or shadow %v)", f, f.Visible, f.Ring)
	}
	if f.Contrast < 3 {
		tab.Fatalf(step, "%s shows its focus ring with a contrast of %.2f against the background, want 3 or more", f, f.Contrast)
	}
}

// tabTo presses Tab (Shift+Tab with back) until the focus reaches sel,
// failing the test when every element passed on the way does not show
// its focus, or sel is not reached within 30 presses.
func tabTo(tab *Tab, sel string, back bool) {
	tab.t.Helper()
	var opts []chromedp.KeyOption
	key := "Tab"
	if back {
		opts, key = append(opts, shiftTab), "Shift+Tab"
	}
	var path []string
	for range 30 {
		press(tab, key+" towards "+sel, kb.Tab, opts...)
		f := focused(tab, key+" towards "+sel, sel)
		path = append(path, f.String())
		if f.Tag != "BODY" {
			f.check(tab, key+" towards "+sel)
		}
		if f.Matches {
			return
		}
	}
	tab.Fatalf(key+" towards "+sel, "%s not reached with %s; the focus went through %s", sel, key, strings.Join(path, ", "))
}

// keyboardPassword signs in on the sign-in page with the keyboard alone:
// the login field has the focus, Tab leads to the password (Shift+Tab back
// and forth on the way), Enter sends.
func keyboardPassword(tab *Tab, base, login, pw, next string) {
	tab.t.Helper()
	tab.Do("open the sign-in page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	mustFocus(tab, "the login field has the focus", "#login")
	press(tab, "type the login", login)
	tabTo(tab, "#password", false)
	tabTo(tab, "#login", true)
	if v := Run(tab, "the login stays typed", chromedp.Value(chromedp.ID("login"))); v != login {
		tab.Fatalf("the login stays typed", "the login field holds %q, want %q", v, login)
	}
	tabTo(tab, "#password", false)
	press(tab, "type the password", pw)
	tab.Do("press Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(next)))
}

// TestKeyboardOnlySignIn signs in with the keyboard alone — Tab,
// Shift+Tab, Enter and Space as key events, no clicks and no focus set by
// the test — once with a push the companion app approves (typed there
// too), once with a verification code from "Other login methods", and
// checks that each field has the focus when its step opens and that every
// element the focus passes shows a focus ring.
func TestKeyboardOnlySignIn(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	b := Start(t)
	computer, phone := b.NewTab("computer"), b.NewTab("phone")
	pairCompanion(t, s, computer, phone, "erin", "erin-password")

	// Password, then the push: the phone's number field has the focus when
	// the request arrives; typing the number and Enter approve it.
	kbd := b.NewTab("keyboard")
	keyboardPassword(kbd, s.URL, "erin", "erin-password", "#push-number")
	kbd.Axe("push wait reached by keyboard")
	id := Run(kbd, "read the push request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	number := strings.Join(Run(kbd, "read the number", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#push-number .group"), g => g.textContent)`)), "")
	card := `.request[data-id="` + id + `"]`
	phone.Do("the request arrives", chromedp.WaitVisible(chromedp.CSS(card)))
	mustFocus(phone, "the number field has the focus", card+" input.number")
	press(phone, "type the number", number)
	phone.Do("approve with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)))
	kbd.Do("signed in by the push", chromedp.WaitVisible(chromedp.ID("welcome")))

	// Password, then Other login methods (Space opens it), the verification
	// code method (Enter follows the link), the code typed, Enter.
	s.CreateUser(t, admin, "dana", "dana-password")
	token, _ := s.Login(t, "dana", "dana-password")
	dev := pairByAPI(t, s, token)
	code := b.NewTab("code")
	keyboardPassword(code, s.URL, "dana", "dana-password", "#push-number")
	tabTo(code, "#other-methods summary", false)
	press(code, "open Other login methods with Space", " ")
	if open := Run(code, "the methods are open", chromedp.Evaluate[bool](`document.getElementById("other-methods").open`)); !open {
		code.Fatalf("the methods are open", "Space on the summary did not open Other login methods")
	}
	code.Axe("other methods opened by keyboard")
	tabTo(code, "#method-totp", false)
	code.Do("choose the verification code with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("code")))
	mustFocus(code, "the code field has the focus", "#code")
	s.Advance(t, 30*time.Second)
	otp, _ := dev.Code(s.Clock().Now())
	press(code, "type the code", otp)
	code.Do("sign in with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("welcome")))
	code.Axe("signed in by keyboard")
}
