package browsertest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

const sessionCookie = "__Host-deadbolt_session"

// signIn fills the sign-in form and waits for the portal's home page.
func signIn(tab *Tab, base, login, pw string) {
	tab.t.Helper()
	tab.Do("open sign-in page",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	tab.Axe("sign-in page")
	tab.Do("sign in as "+login,
		chromedp.SendKeys(chromedp.ID("login"), login),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
		chromedp.WaitVisible(chromedp.ID("employee-widget")),
	)
	tab.Axe("home page")
}

// cookies returns the tab's cookies for base.
func cookies(base string) chromedp.Action[[]*network.Cookie] {
	return func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		return res.Cookies, err
	}
}

// sessionCookieOf returns the tab's session cookie for base, nil if none.
func sessionCookieOf(tab *Tab, step, base string) *network.Cookie {
	tab.t.Helper()
	for _, c := range Run(tab, step, cookies(base)) {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// apiMe answers the status of GET /api/v1/me with a session cookie.
func apiMe(t testing.TB, base, cookie string) int {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSignInAndLogOutEverywhere signs in through the form, finds the
// employee widget, opens the Security page from it, logs out of all
// devices, and checks that the old cookie is dead.
func TestSignInAndLogOutEverywhere(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		tab := Start(t).NewTab("employee")

		signIn(tab, s.URL, "admin", deadbolttest.AdminPassword)
		if got := Run(tab, "read initials", chromedp.Text(chromedp.CSS("#employee-widget .initials"))); strings.TrimSpace(got) != "A" {
			tab.Fatalf("read initials", "initials = %q, want A (for Administrator)", got)
		}
		if got := Run(tab, "read welcome", chromedp.Text(chromedp.ID("welcome"))); !strings.Contains(got, "Administrator") {
			tab.Fatalf("read welcome", "welcome = %q, want the employee's name", got)
		}
		// The widget sits in the top right corner of the window.
		type box struct{ Right, Top, Left, Width float64 }
		pos := Run(tab, "locate widget", chromedp.Evaluate[box](`(() => {
			const r = document.getElementById('employee-widget').getBoundingClientRect();
			return {Right: window.innerWidth - r.right, Top: r.top, Left: r.left, Width: window.innerWidth};
		})()`))
		if pos.Right > 48 || pos.Top > 48 || pos.Left < pos.Width/2 {
			tab.Fatalf("locate widget", "widget at %+v, want it in the top right corner", pos)
		}

		c := sessionCookieOf(tab, "read session cookie", s.URL)
		if c == nil {
			tab.Fatalf("read session cookie", "no %s cookie after signing in", sessionCookie)
		}
		if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteLax || c.Path != "/" {
			tab.Fatalf("read session cookie", "cookie %+v, want HttpOnly, Secure, SameSite=Lax, Path=/", c)
		}
		if got := Run(tab, "cookie hidden from scripts", chromedp.Evaluate[string](`document.cookie`)); strings.Contains(got, c.Value) {
			tab.Fatalf("cookie hidden from scripts", "document.cookie shows the session token")
		}
		if status := apiMe(t, s.URL, c.Value); status != http.StatusOK {
			tab.Fatalf("use cookie", "GET /api/v1/me with the browser's cookie = %d, want 200", status)
		}

		tab.Do("open security page from widget",
			chromedp.Click(chromedp.ID("employee-widget")),
			chromedp.WaitVisible(chromedp.ID("sessions-section")),
		)
		if loc := Run(tab, "security location", chromedp.Location()); !strings.HasSuffix(loc, "/security") {
			tab.Fatalf("security location", "location = %q, want /security", loc)
		}
		rows := Run(tab, "count sessions", chromedp.Evaluate[int](`document.querySelectorAll('#sessions li').length`))
		current := Run(tab, "count current", chromedp.Evaluate[int](`document.querySelectorAll('#sessions li.current').length`))
		if rows < 1 || current != 1 {
			tab.Fatalf("count sessions", "sessions table has %d rows, %d current; want ≥ 1 and exactly 1", rows, current)
		}
		tab.Axe("Security page")

		// One click only asks, saying what will happen; the second does it.
		tab.Do("ask to log out of all devices",
			chromedp.Click(chromedp.ID("logout-all-open")),
			chromedp.WaitVisible(chromedp.ID("logout-all")),
		)
		if why := Run(tab, "read the confirmation", chromedp.Text(chromedp.ID("logout-all-confirm"))); !strings.Contains(why, "disconnects your trusted device") {
			tab.Fatalf("read the confirmation", "the confirmation says %q, want it to name the phone's disconnection", why)
		}
		tab.Axe("asking before logging out of all devices")
		if status := apiMe(t, s.URL, c.Value); status != http.StatusOK {
			tab.Fatalf("still signed in", "after the first click GET /api/v1/me = %d, want 200", status)
		}
		tab.Do("log out of all devices",
			chromedp.Click(chromedp.ID("logout-all")),
			chromedp.WaitVisible(chromedp.ID("login-form")),
		)
		flash := Run(tab, "read flash", chromedp.Text(chromedp.CSS(".flash")))
		if !strings.Contains(flash, "signed out on all devices") {
			tab.Fatalf("read flash", "flash = %q, want the all-devices sign-out message", flash)
		}
		tab.Axe("signed out on all devices")
		if after := sessionCookieOf(tab, "cookie after logout", s.URL); after != nil && after.Value != "" {
			tab.Fatalf("cookie after logout", "the session cookie is still set: %+v", after)
		}
		if status := apiMe(t, s.URL, c.Value); status != http.StatusUnauthorized {
			tab.Fatalf("old cookie refused", "GET /api/v1/me with the old cookie = %d, want 401", status)
		}
		// The portal sends the browser back to the sign-in page.
		tab.Do("portal after logout",
			chromedp.Navigate(s.URL+"/"),
			chromedp.WaitVisible(chromedp.ID("login-form")),
		)
	})
}

// TestAdminCreatesEmployee creates an employee through the administration
// form; the employee then signs in from a second, separate browser
// context.
func TestAdminCreatesEmployee(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		b := Start(t)
		admin := b.NewTab("admin")
		signIn(admin, s.URL, "admin", deadbolttest.AdminPassword)

		admin.Do("open administration",
			chromedp.Click(chromedp.CSS(".admin-link")),
			chromedp.WaitVisible(chromedp.ID("create-user")),
		)
		admin.Do("fill new employee",
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="login"]`), "nina"),
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="name"]`), "Nina Simone"),
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="password"]`), "nina-password-1"),
			chromedp.Click(chromedp.CSS(`#create-user button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		if flash := Run(admin, "read flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "employee was created") {
			admin.Fatalf("read flash", "flash = %q, want the creation message", flash)
		}
		if users := Run(admin, "read users", chromedp.Text(chromedp.ID("users"))); !strings.Contains(users, "nina") || !strings.Contains(users, "Nina Simone") {
			admin.Fatalf("read users", "employees table lacks nina:\n%s", users)
		}
		admin.Axe("employees")
		// A refused form shows the error and creates nothing.
		admin.Do("create duplicate",
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="login"]`), "NINA"),
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="password"]`), "other-password-1"),
			chromedp.Click(chromedp.CSS(`#create-user button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.ID("error")),
		)
		rows := Run(admin, "count users", chromedp.Evaluate[int](`document.querySelectorAll('#users tbody tr').length`))
		if rows != 2 {
			admin.Fatalf("count users", "employees table has %d rows, want 2 (admin and nina)", rows)
		}
		admin.Axe("employee refused")

		emp := b.NewTab("nina")
		if c := sessionCookieOf(emp, "fresh context has no cookie", s.URL); c != nil {
			emp.Fatalf("fresh context has no cookie", "the second context shares the cookie %s", c.Name)
		}
		signIn(emp, s.URL, "nina", "nina-password-1")
		if got := Run(emp, "read initials", chromedp.Text(chromedp.CSS("#employee-widget .initials"))); strings.TrimSpace(got) != "NS" {
			emp.Fatalf("read initials", "initials = %q, want NS", got)
		}
		if n := Run(emp, "no admin link", chromedp.Evaluate[int](`document.querySelectorAll('.admin-link').length`)); n != 0 {
			emp.Fatalf("no admin link", "an employee sees the administration link")
		}
		emp.Do("admin page refused",
			chromedp.Navigate(s.URL+"/admin"),
			chromedp.WaitVisible(chromedp.CSS("main h1")),
		)
		if n := Run(emp, "admin page refused", chromedp.Evaluate[int](`document.querySelectorAll('#create-user').length`)); n != 0 {
			emp.Fatalf("admin page refused", "an employee sees the form that creates employees")
		}
		emp.Axe("administration refused")

		// Both stay signed in, each as themselves.
		ac, ec := sessionCookieOf(admin, "admin cookie", s.URL), sessionCookieOf(emp, "employee cookie", s.URL)
		if ac == nil || ec == nil || ac.Value == ec.Value {
			t.Fatalf("cookies admin %v, employee %v: want two different sessions", ac, ec)
		}
		admin.Do("admin still signed in",
			chromedp.Navigate(s.URL+"/admin"),
			chromedp.WaitVisible(chromedp.ID("create-user")),
		)
	})
}

func TestArtifactName(t *testing.T) {
	cases := []struct{ test, step, want string }{
		{"TestX", "sign in", "TestX-sign_in.png"},
		{"TestX/sqlite-employee", "read flash", "TestX_sqlite-employee-read_flash.png"},
		{"T", "../../etc/passwd", "T-.._.._etc_passwd.png"},
		{"T", "é", "T-_.png"},
	}
	for _, c := range cases {
		if got := ArtifactName(c.test, c.step); got != c.want {
			t.Errorf("ArtifactName(%q, %q) = %q, want %q", c.test, c.step, got, c.want)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Join(root, "internal", "browsertest") != wd {
		t.Errorf("RepoRoot() = %q, want the module root above %q", root, wd)
	}
}
