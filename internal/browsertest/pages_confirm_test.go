package browsertest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// scripts turns JavaScript in the tab's pages on or off. Pages loaded
// while it is off never run their scripts, even once it is on again.
func scripts(tab *Tab, on bool) {
	tab.t.Helper()
	tab.Do("turn scripts on or off", func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return chromedp.Void{}, err
	})
}

// axeNoScripts checks a page loaded without scripts with axe-core, which
// needs them.
func axeNoScripts(tab *Tab, step string) {
	tab.t.Helper()
	scripts(tab, true)
	tab.Axe(step)
	scripts(tab, false)
}

// recoverySignIn signs in through the API with a recovery code and answers
// the status of the second step.
func recoverySignIn(t testing.TB, s *deadbolttest.Server, login, pw, code string) int {
	t.Helper()
	pending, _ := s.Login(t, login, pw)
	return s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]string{"method": "recovery", "code": code}).Status
}

// TestDangerousButtonsAskFirst, with JavaScript off: "Reload" of the
// recovery codes and "Log out of all devices" each act only after a second,
// confirming button that says what will happen; the first click changes
// nothing (the old codes still work, the phone stays connected).
func TestDangerousButtonsAskFirst(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "olga", "olga-password")
	tab := Start(t).NewTab("olga")
	signInTo(tab, s.URL, "olga", "olga-password", "#welcome")
	scripts(tab, false)
	// Pair her phone and get codes with the browser's fresh session.
	c := sessionCookieOf(tab, "read the session cookie", s.URL)
	if c == nil {
		tab.Fatalf("read the session cookie", "no session cookie")
	}
	dev := pairDevice(t, s, c.Value, "Olga's phone")
	codes := s.Do(t, "POST", "/api/v1/me/recovery-codes", c.Value, nil).JSON(t)["codes"].([]any)
	old := codes[0].(string)

	tab.Do("open Security", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("reload-codes-open")))
	// The page was read with scripting off: a <noscript> block parses as
	// markup only then.
	off := Run(tab, "scripts are off", chromedp.Evaluate[bool](`(() => {
		document.body.insertAdjacentHTML("beforeend", "<noscript><p id=no-script-probe>x</p></noscript>");
		const off = document.getElementById("no-script-probe") !== null;
		document.body.lastElementChild.remove();
		return off;
	})()`))
	if !off {
		tab.Fatalf("scripts are off", "the page runs scripts: the checks below would not show it works without JavaScript")
	}
	if Run(tab, "the confirmation is hidden", chromedp.Evaluate[bool](`document.getElementById("reload-codes").checkVisibility()`)) {
		tab.Fatalf("the confirmation is hidden", "the button that voids the codes shows before Reload was clicked")
	}
	tab.Do("click Reload", chromedp.Click(chromedp.ID("reload-codes-open")), chromedp.WaitVisible(chromedp.ID("reload-codes")))
	if why := Run(tab, "read what Reload does", chromedp.Text(chromedp.ID("reload-confirm"))); !strings.Contains(why, "stop working") {
		tab.Fatalf("read what Reload does", "the confirmation says %q, want it to say the old codes stop working", why)
	}
	axeNoScripts(tab, "reload asks")
	if st := recoverySignIn(t, s, "olga", "olga-password", codes[1].(string)); st != http.StatusOK {
		tab.Fatalf("codes after the first click", "a recovery code after clicking Reload once = %d, want 200: nothing may change yet", st)
	}
	tab.Do("confirm the reload", chromedp.Click(chromedp.ID("reload-codes")), chromedp.WaitVisible(chromedp.ID("codes")))
	if fresh := strings.Fields(Run(tab, "read new codes", chromedp.Text(chromedp.ID("codes")))); len(fresh) != 10 {
		tab.Fatalf("read new codes", "got %d codes, want 10", len(fresh))
	}
	if st := recoverySignIn(t, s, "olga", "olga-password", old); st != http.StatusUnauthorized {
		tab.Fatalf("old code after the reload", "an old code after the confirmed reload = %d, want 401", st)
	}

	tab.Do("open Security again", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("logout-all-open")))
	tab.Do("click Log out of all devices", chromedp.Click(chromedp.ID("logout-all-open")), chromedp.WaitVisible(chromedp.ID("logout-all")))
	if why := Run(tab, "read what logging out does", chromedp.Text(chromedp.ID("logout-all-confirm"))); !strings.Contains(why, "disconnects your trusted device") {
		tab.Fatalf("read what logging out does", "the confirmation says %q, want it to name the phone's disconnection", why)
	}
	axeNoScripts(tab, "log out of all devices asks")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := dev.Check(ctx, s.Client); err != nil {
		tab.Fatalf("phone after the first click", "the phone after one click: %v, want it still connected", err)
	}
	if status := apiMe(t, s.URL, c.Value); status != http.StatusOK {
		tab.Fatalf("session after the first click", "GET /api/v1/me after one click = %d, want 200", status)
	}
	tab.Do("confirm logging out", chromedp.Click(chromedp.ID("logout-all")), chromedp.WaitVisible(chromedp.ID("login-form")))
	var apiErr *deviceclient.APIError
	if err := dev.Check(ctx, s.Client); !errors.As(err, &apiErr) || apiErr.Code != "device_disconnected" {
		t.Fatalf("phone after logging out of all devices: %v, want device_disconnected", err)
	}
}
