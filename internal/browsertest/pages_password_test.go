package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

// TestOneTimePasswordIsReplaced, in Russian: the first administrator opens
// a deep link to the audit log, signs in with the one-time password
// printed at the first start, and is asked to choose a password before
// anything else: the console stays closed, to the page and to the API.
// Two different new passwords are refused; once a password is chosen the
// deep link opens, and the one-time password no longer signs in.
func TestOneTimePasswordIsReplaced(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{OneTimeAdmin: true})
	once := s.App.BootstrapPassword
	tab := Start(t).NewTab("first-admin")

	tab.Do("open the audit log signed out",
		chromedp.Navigate(s.URL+"/admin/audit?type=admin.user_created"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.Click(chromedp.ID("lang-ru")),
		waitFor(`document.documentElement.lang === "ru"`),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	tab.Do("sign in with the one-time password",
		chromedp.SendKeys(chromedp.ID("login"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), once),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("password-new-form")),
	)
	if why := Run(tab, "read why", chromedp.Text(chromedp.ID("password-new-why"))); !strings.Contains(why, "одноразовым паролем") {
		tab.Fatalf("read why", "the page says %q, want it to explain the one-time password (in Russian)", why)
	}
	tab.Axe("choose a password")
	// The console stays closed to this session, typed in the address bar
	// too (asked outside the tab, so the deep link stays the audit log).
	c := sessionCookieOf(tab, "read the session cookie", s.URL)
	if c == nil {
		tab.Fatalf("read the session cookie", "no session cookie")
	}
	req, _ := http.NewRequest("GET", s.URL+"/admin", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.Value})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/security/password/new" {
		t.Fatalf("GET /admin before the change = %d to %q, want 303 to /security/password/new", resp.StatusCode, loc)
	}
	if r := s.Do(t, "GET", "/api/v1/admin/users", c.Value, nil); r.Status != http.StatusForbidden || r.ErrorCode() != "password_change_required" {
		t.Fatalf("GET /api/v1/admin/users before the change = %d %s, want 403 password_change_required", r.Status, r.Body)
	}
	// The widget's way out is there too.
	tab.Do("log out is offered", chromedp.WaitVisible(chromedp.ID("widget-logout")))

	tab.Do("two different passwords",
		chromedp.SendKeys(chromedp.ID("current-password"), once),
		chromedp.SendKeys(chromedp.ID("new-password"), "correct horse battery"),
		chromedp.SendKeys(chromedp.ID("repeat-password"), "correct horse battery staple"),
		chromedp.Click(chromedp.ID("choose-password")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if msg := Run(tab, "read the refusal", chromedp.Text(chromedp.ID("error"))); !strings.Contains(msg, "не совпадают") {
		tab.Fatalf("read the refusal", "error = %q, want the passwords' mismatch named in Russian", msg)
	}
	tab.Axe("passwords differ")
	tab.Do("choose a password",
		chromedp.SendKeys(chromedp.ID("current-password"), once),
		chromedp.SendKeys(chromedp.ID("new-password"), "correct horse battery"),
		chromedp.SendKeys(chromedp.ID("repeat-password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("choose-password")),
		chromedp.WaitVisible(chromedp.ID("audit-table")),
	)
	if loc := Run(tab, "the deep link opened", chromedp.Location()); !strings.HasSuffix(loc, "/admin/audit?type=admin.user_created") {
		tab.Fatalf("the deep link opened", "location = %q, want the audit log asked for before the sign-in", loc)
	}

	if r := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "admin", "password": once}); r.Status != http.StatusUnauthorized {
		t.Fatalf("the one-time password signs in again: %d %s", r.Status, r.Body)
	}
	if _, ans := s.Login(t, "admin", "correct horse battery"); ans["state"] != "authenticated" {
		t.Fatalf("sign-in with the chosen password: state %v, want authenticated", ans["state"])
	}
}
