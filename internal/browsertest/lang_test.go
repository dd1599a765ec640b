package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

// acceptLanguage makes the tab's browser ask for languages (tags
// separated by commas, most wanted first) in its Accept-Language header
// and navigator.languages, as a browser set up in those languages does.
// Chromium adds the quality values itself: "ru-RU,ru" is sent as
// "ru-RU,ru;q=0.9".
func acceptLanguage(tab *Tab, languages string) {
	tab.t.Helper()
	tab.Do("ask for "+languages, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
		if err != nil {
			return err
		}
		_, err = chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: v.UserAgent, AcceptLanguage: languages})
		return err
	}))
}

// pageLanguage is the lang attribute of the tab's document.
func pageLanguage(tab *Tab, step string) string {
	tab.t.Helper()
	return Run(tab, step, chromedp.Evaluate[string](`document.documentElement.lang`))
}

// wantPage fails the test unless the page is in lang and the text of sel
// holds want.
func wantPage(tab *Tab, step, lang, sel, want string) {
	tab.t.Helper()
	if got := pageLanguage(tab, step); got != lang {
		tab.Fatalf(step, `<html lang=%q>, want %q`, got, lang)
	}
	if got := Run(tab, step, chromedp.Text(chromedp.CSS(sel))); !strings.Contains(got, want) {
		tab.Fatalf(step, "%s says %q, want it to hold %q", sel, got, want)
	}
}

// savedLanguage answers the language saved in the account of the tab's
// session, through GET /api/v1/me/preferences.
func savedLanguage(tab *Tab, s *deadbolttest.Server, step string) string {
	tab.t.Helper()
	c := sessionCookieOf(tab, step, s.URL)
	if c == nil {
		tab.Fatalf(step, "the tab is not signed in")
	}
	req, err := http.NewRequest("GET", s.URL+"/api/v1/me/preferences", nil)
	if err != nil {
		tab.t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.Value})
	resp, err := s.Client.Do(req)
	if err != nil {
		tab.t.Fatal(err)
	}
	defer resp.Body.Close()
	var prefs struct {
		Language string `json:"language"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&prefs); err != nil || resp.StatusCode != http.StatusOK {
		tab.Fatalf(step, "GET /api/v1/me/preferences = %d, %v", resp.StatusCode, err)
	}
	return prefs.Language
}

// ruMonths are the months as Russian dates abbreviate them (CLDR, genitive).
var ruMonths = [...]string{"янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."}

// TestRussianInTheBrowser: Russian chosen with the selector on the sign-in
// page speaks Russian there and on the pages after it, and becomes the
// employee's saved choice; the selector of a signed-in page changes it;
// another browser asking for English gets the saved Russian once signed
// in, and PUT /api/v1/me/preferences from its page changes it at once; a browser asking for Russian gets it with no choice made; the
// deadline shows in the organisation's time zone in Russian; every page
// passes axe-core in Russian.
func TestRussianInTheBrowser(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	s := deadbolttest.StartServer(t, deadbolttest.Options{OrgLocation: moscow})
	admin := s.AdminToken(t)
	nina := s.CreateUser(t, admin, "nina", "nina-password")
	wg := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Sales"}).JSON(t)["id"].(string)
	s.Do(t, "POST", "/api/v1/admin/workgroups/"+wg+"/members", admin, map[string]string{"user_id": nina})
	deadline := s.Clock().Now().Add(72 * time.Hour).Truncate(time.Minute).UTC()
	if r := s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wg+"/policy", admin,
		map[string]any{"required": true, "deadline": deadline.Format(time.RFC3339)}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	m := deadline.In(moscow)
	shown := fmt.Sprintf("%d %s %d, %s MSK", m.Day(), ruMonths[m.Month()-1], m.Year(), m.Format("15:04"))

	b := Start(t)
	first := b.NewTab("first browser")
	acceptLanguage(first, "en-US,en")
	first.Do("open the sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	wantPage(first, "the sign-in page speaks English", "en", "#sign-in h1", "Sign in")
	first.Do("choose Russian", chromedp.Click(chromedp.ID("lang-ru")), chromedp.WaitVisible(chromedp.ID("lang-en")))
	wantPage(first, "the sign-in page speaks Russian", "ru", "#sign-in h1", "Вход")
	first.Axe("sign-in page in Russian")
	first.Do("sign in",
		chromedp.SendKeys(chromedp.ID("login"), "nina"),
		chromedp.SendKeys(chromedp.ID("password"), "nina-password"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("banner-two_factor_required")),
	)
	wantPage(first, "the banner speaks Russian with the deadline in Moscow time", "ru", "#banner-two_factor_required",
		"Администратор требует включить двухфакторную аутентификацию до "+shown)
	first.Axe("home page in Russian")
	if got := savedLanguage(first, s, "the choice is saved"); got != "ru" {
		first.Fatalf("the choice is saved", "the saved language is %q after choosing Russian on the sign-in page, want ru", got)
	}

	// The selector of a signed-in page changes the saved choice.
	first.Do("open Security", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("sessions-section")))
	wantPage(first, "Security speaks Russian", "ru", "main h1", "Безопасность")
	first.Axe("Security page in Russian")
	first.Do("choose English on Security", chromedp.Click(chromedp.ID("lang-en")), chromedp.WaitVisible(chromedp.ID("lang-ru")))
	wantPage(first, "Security speaks English", "en", "main h1", "Security")
	if got := savedLanguage(first, s, "English is saved"); got != "en" {
		first.Fatalf("English is saved", "the saved language is %q, want en", got)
	}
	first.Do("choose Russian again", chromedp.Click(chromedp.ID("lang-ru")), chromedp.WaitVisible(chromedp.ID("lang-en")))
	if loc := Run(first, "back on Security", chromedp.Location()); !strings.HasSuffix(loc, "/security") {
		first.Fatalf("back on Security", "the selector led to %q, want the Security page again", loc)
	}
	if got := savedLanguage(first, s, "Russian is saved"); got != "ru" {
		first.Fatalf("Russian is saved", "the saved language is %q, want ru", got)
	}

	// A new browser asking for English: the sign-in page cannot know the
	// employee yet; signed in, the saved Russian wins.
	second := b.NewTab("second browser")
	acceptLanguage(second, "en-US,en")
	second.Do("open the sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	wantPage(second, "a new browser's sign-in page speaks English", "en", "#sign-in h1", "Sign in")
	second.Do("sign in",
		chromedp.SendKeys(chromedp.ID("login"), "nina"),
		chromedp.SendKeys(chromedp.ID("password"), "nina-password"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("banner-two_factor_required")),
	)
	wantPage(second, "the saved Russian follows the employee", "ru", "#welcome", "Здравствуйте")
	// The API changes it too, and this browser's pages follow at once.
	status := Run(second, "PUT /api/v1/me/preferences", chromedp.Evaluate[int](`fetch("/api/v1/me/preferences", {method: "PUT",
		headers: {"Content-Type": "application/json"}, body: JSON.stringify({language: "en"})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if status != http.StatusOK {
		second.Fatalf("PUT /api/v1/me/preferences", "the page's PUT answered %d, want 200", status)
	}
	second.Do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("welcome")))
	wantPage(second, "English through the API", "en", "#welcome", "Welcome")
	if got := savedLanguage(second, s, "English is saved through the API"); got != "en" {
		second.Fatalf("English is saved through the API", "the saved language is %q, want en", got)
	}
	second.Do("choose Russian on the home page", chromedp.Click(chromedp.ID("lang-ru")), chromedp.WaitVisible(chromedp.ID("lang-en")))
	wantPage(second, "the home page speaks Russian", "ru", "#welcome", "Здравствуйте")
	second.Do("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	wantPage(second, "this browser now speaks Russian before signing in", "ru", "#sign-in h1", "Вход")

	// A browser set up in Russian, with no choice made anywhere.
	third := b.NewTab("Russian browser")
	acceptLanguage(third, "ru-RU,ru")
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<p id=sent>%s</p>", html.EscapeString(r.Header.Get("Accept-Language")))
	}))
	defer echo.Close()
	third.Do("see what the browser asks for", chromedp.Navigate(echo.URL), chromedp.WaitVisible(chromedp.ID("sent")))
	if sent := Run(third, "see what the browser asks for", chromedp.Text(chromedp.ID("sent"))); sent != "ru-RU,ru;q=0.9" {
		third.Fatalf("see what the browser asks for", "the browser sends Accept-Language %q, want ru-RU,ru;q=0.9", sent)
	}
	third.Do("open the sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	wantPage(third, "Accept-Language chooses Russian", "ru", "#sign-in h1", "Вход")
	if n := len(Run(third, "no language cookie", cookies(s.URL))); n != 0 {
		third.Fatalf("no language cookie", "the browser holds %d cookies before choosing anything, want none", n)
	}
	third.Do("open a page that does not exist", chromedp.Navigate(s.URL+"/no-such-page"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	wantPage(third, "the error page speaks Russian", "ru", "main h1", "Такой страницы нет")
	third.Axe("error page in Russian")
}

// TestRussianInTheCompanionApp: Russian chosen with the companion app's
// selector speaks Russian in the app and becomes the employee's saved
// choice, so the computer's pages follow; there the recovery codes left
// are counted with Russian plural forms (5 кодов, 2 кода, 1 код); the app
// passes axe-core in Russian.
func TestRussianInTheCompanionApp(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	b := Start(t)
	computer, phone := b.NewTab("computer"), b.NewTab("phone")
	acceptLanguage(computer, "en-US,en")
	acceptLanguage(phone, "en-US,en")
	pairCompanion(t, s, computer, phone, "erin", "erin-password")
	codes := strings.Fields(Run(computer, "read the recovery codes", chromedp.Text(chromedp.ID("codes"))))

	wantPage(phone, "the app speaks English", "en", ".code-card h2", "Verification code")
	phone.Do("choose Russian in the app",
		chromedp.SetValue(chromedp.ID("app-lang"), "ru"),
		discard(chromedp.Evaluate[bool](`document.getElementById("app-lang").dispatchEvent(new Event("change"))`)),
		chromedp.Poll[chromedp.Void](`document.documentElement.lang === "ru"`),
	)
	wantPage(phone, "the app speaks Russian", "ru", ".code-card h2", "Код подтверждения")
	phone.Axe("companion app in Russian")
	// The app saves the choice as the employee's once it is sent.
	computer.Do("the choice reaches the account", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("sessions-section")))
	for deadline := time.Now().Add(StepTimeout); savedLanguage(computer, s, "the choice is saved") != "ru"; {
		if time.Now().After(deadline) {
			computer.Fatalf("the choice is saved", "the account's language is not ru after choosing Russian in the app")
		}
		time.Sleep(50 * time.Millisecond)
	}
	phone.Do("reload the app", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("main")))
	wantPage(phone, "the app stays Russian", "ru", ".code-card h2", "Код подтверждения")

	// Use recovery codes through the API and count what is left on the
	// Security page, in Russian.
	used := 0
	useCodes := func(n int) {
		t.Helper()
		for ; n > 0; n-- {
			token, _ := s.Login(t, "erin", "erin-password")
			if r := s.Do(t, "POST", "/api/v1/login/second-factor", token, map[string]string{"method": "recovery", "code": codes[used]}); r.Status != http.StatusOK {
				t.Fatalf("sign in with recovery code %d: %d %s", used, r.Status, r.Body)
			}
			used++
		}
	}
	for _, c := range []struct {
		use  int
		want string
	}{
		{5, "Осталось 5 резервных кодов из 10."},
		{3, "Осталось 2 резервных кода из 10."},
		{1, "Остался 1 резервный код из 10."},
	} {
		useCodes(c.use)
		computer.Do("open Security", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("codes-left")))
		wantPage(computer, fmt.Sprintf("%d codes left", 10-used), "ru", "#codes-left", c.want)
	}
	computer.Axe("Security page in Russian with one code left")
}
