package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// phoneWidth is the width of a small phone's screen in CSS pixels.
const phoneWidth = 360

// onPhone makes the tab a 360 px wide phone: a mobile viewport, so a page
// without a viewport meta tag lays out 980 px wide as on a real phone.
func onPhone(tab *Tab) {
	tab.t.Helper()
	tab.Do("become a phone", chromedp.EmulateViewport(phoneWidth, 740, chromedp.EmulateMobile))
}

// fitsPhone fails the test when the page in tab is wider than the phone,
// naming the elements that stick out.
func fitsPhone(tab *Tab, step string) {
	tab.t.Helper()
	type width struct {
		Scroll int
		Wide   string
	}
	w := Run(tab, step, chromedp.Evaluate[width](fmt.Sprintf(`(() => ({
		Scroll: document.documentElement.scrollWidth,
		Wide: [...document.querySelectorAll('body *')]
			.filter(e => e.getBoundingClientRect().right > %d && !e.closest('.table-wrap'))
			.slice(0, 6).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')
			.join(', '),
	}))()`, phoneWidth+1)))
	if w.Scroll > phoneWidth {
		tab.Fatalf(step, "the page is %d px wide on a %d px phone; too wide: %s", w.Scroll, phoneWidth, w.Wide)
	}
}

// loginAs signs in through the API with a browser's User-Agent and returns
// the session token.
func loginAs(t testing.TB, s *deadbolttest.Server, login, pw, userAgent string) string {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL+"/api/v1/login", strings.NewReader(`{"login":"`+login+`","password":"`+pw+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m struct {
		Token string `json:"session_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil || m.Token == "" {
		t.Fatalf("login %s: %d %s", login, resp.StatusCode, b)
	}
	return m.Token
}

// pairDevice pairs a companion device for the session token and returns it.
func pairDevice(t testing.TB, s *deadbolttest.Server, token, name string) *deviceclient.State {
	t.Helper()
	p := s.Do(t, "POST", "/api/v1/me/device/pairing", token, nil)
	if p.Status != http.StatusOK && p.Status != http.StatusCreated {
		t.Fatalf("start pairing: %d %s", p.Status, p.Body)
	}
	m := p.JSON(t)
	dev, err := deviceclient.Pair(context.Background(), s.Client, m["url"].(string), name)
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	code, _ := dev.Code(s.Clock().Now())
	if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+m["id"].(string)+"/confirm", token, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm pairing: %d %s", r.Status, r.Body)
	}
	return dev
}

// chromeOnLinux is what Chromium on Linux sends; the Security page names
// it "Chrome on Linux" rather than showing it.
const chromeOnLinux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// TestPagesFitAPhone walks every page an employee and an administrator can
// reach on a 360 px phone, in English and in Russian (whose words are
// longer), and checks that none is wider than the screen; the sessions
// list names browsers ("Chrome on Linux") instead of showing raw
// User-Agent strings.
func TestPagesFitAPhone(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	uid := s.CreateUser(t, admin, "dana", "dana-password")
	wg := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]any{"name": "Бухгалтерия и финансовый отдел"}).JSON(t)["id"].(string)
	s.Do(t, "POST", "/api/v1/admin/workgroups/"+wg+"/members", admin, map[string]any{"user_id": uid})
	app := s.Do(t, "POST", "/api/v1/admin/apps", admin, map[string]any{"name": "Grafana", "kind": "oidc",
		"redirect_uris": []string{"https://grafana.example.com/login/generic_oauth"}, "public": false,
		"workgroups": []string{wg}, "require_2fa": true}).JSON(t)["id"].(string)
	// Dana has her phone and a session in another browser.
	dana := loginAs(t, s, "dana", "dana-password", chromeOnLinux)
	pairDevice(t, s, dana, "Dana's phone")
	b := Start(t)

	for _, lang := range []string{"en", "ru"} {
		t.Run(lang, func(t *testing.T) {
			tab := b.NewTab("admin-" + lang)
			tab.t = t
			onPhone(tab)
			tab.Do("open sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
			if lang != "en" {
				tab.Do("choose "+lang, chromedp.Click(chromedp.ID("lang-"+lang)), waitFor(`document.documentElement.lang === "`+lang+`"`),
					chromedp.WaitVisible(chromedp.ID("login-form")))
			}
			fitsPhone(tab, "sign-in page fits")
			tab.Axe("sign-in page")
			tab.Do("sign in",
				chromedp.SendKeys(chromedp.ID("login"), "admin"),
				chromedp.SendKeys(chromedp.ID("password"), deadbolttest.AdminPassword),
				chromedp.Click(chromedp.ID("signin")),
				chromedp.WaitVisible(chromedp.ID("welcome")),
			)
			pages := []struct{ path, sel string }{
				{"/", "#welcome"},
				{"/security", "#sessions-section"},
				{"/security/2fa/setup", "main h1"},
				{"/security/phone", "main h1"},
				{"/admin", "#users"},
				{"/admin/users/" + uid, "#user-summary"},
				{"/admin/workgroups", "main h1"},
				{"/admin/workgroups/" + wg, "main h1"},
				{"/admin/phones", "main h1"},
				{"/admin/audit", "#audit-table"},
				{"/admin/apps", "#apps"},
				{"/admin/apps/" + app, "main h1"},
				{"/admin/import", "main h1"},
				{"/no-such-page", "#error-page"},
			}
			for _, p := range pages {
				tab.Do("open "+p.path, chromedp.Navigate(s.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
				if got := Run(tab, "language of "+p.path, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
					tab.Fatalf("language of "+p.path, "<html lang=%q>, want %q", got, lang)
				}
				fitsPhone(tab, p.path+" fits")
				tab.Axe(p.path)
			}

			// Dana's own pages: the sessions list and the second step.
			emp := b.NewTab("dana-" + lang)
			emp.t = t
			onPhone(emp)
			emp.Do("open sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
			if lang != "en" {
				emp.Do("choose "+lang, chromedp.Click(chromedp.ID("lang-"+lang)), waitFor(`document.documentElement.lang === "`+lang+`"`),
					chromedp.WaitVisible(chromedp.ID("login-form")))
			}
			emp.Do("sign in as dana",
				chromedp.SendKeys(chromedp.ID("login"), "dana"),
				chromedp.SendKeys(chromedp.ID("password"), "dana-password"),
				chromedp.Click(chromedp.ID("signin")),
				chromedp.WaitVisible(chromedp.ID("push-number")),
			)
			fitsPhone(emp, "second step fits")
			emp.Axe("second step")
		})
	}

	// The sessions list says which browser, not what it sent.
	other := loginAs(t, s, "admin", deadbolttest.AdminPassword, chromeOnLinux)
	s.Do(t, "PUT", "/api/v1/me/preferences", other, map[string]string{"language": "en"})
	tab := b.NewTab("admin-sessions")
	onPhone(tab)
	signIn(tab, s.URL, "admin", deadbolttest.AdminPassword)
	tab.Do("open security", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("sessions")))
	list := Run(tab, "read sessions", chromedp.Text(chromedp.ID("sessions")))
	if strings.Contains(list, "Mozilla/5.0") || !strings.Contains(list, "Chrome on Linux") {
		tab.Fatalf("read sessions", "sessions list = %q, want \"Chrome on Linux\" and no raw User-Agent", list)
	}
	fitsPhone(tab, "security page with sessions fits")
	tab.Axe("security page with sessions")
}
