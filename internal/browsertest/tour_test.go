package browsertest

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

// visit opens path on base, waits for sel, checks that the page speaks
// lang and checks it with axe-core.
func visit(tab *Tab, base, path, sel, lang string) {
	tab.t.Helper()
	tab.Do("open "+path, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
	if got := pageLanguage(tab, "language of "+path); got != lang {
		tab.Fatalf("language of "+path, "<html lang=%q>, want %q", got, lang)
	}
	tab.Axe(path)
}

// TestEveryPageIsAccessible opens the pages no other test checks with
// axe-core, with enough in the store to fill their tables: the console's
// employee, workgroup, phone, audit and application pages, the
// forward-auth refusal, error pages, the sign-out page of an application,
// and the companion app before pairing,
// asking before a report and after its device was disconnected — in a
// browser asking for English, and in one asking for Russian.
func TestEveryPageIsAccessible(t *testing.T) {
	for _, c := range []struct{ lang, accept string }{{"en", "en-US,en"}, {"ru", "ru-RU,ru"}} {
		t.Run(c.lang, func(t *testing.T) {
			s := deadbolttest.StartServer(t, deadbolttest.Options{})
			admin := s.AdminToken(t)
			nina := s.CreateUser(t, admin, "nina", "nina-password")
			token, _ := s.Login(t, "nina", "nina-password")
			dev := pairByAPI(t, s, token)
			const e164 = "+14155550143"
			if r := s.Do(t, "POST", "/api/v1/me/phone", token, map[string]string{"phone": e164}); r.Status != http.StatusOK {
				t.Fatalf("link phone: %d %s", r.Status, r.Body)
			}
			if r := s.Do(t, "POST", "/api/v1/me/phone/confirm", token, map[string]string{"code": smsCode(t, s, e164, 0, "Test nina")}); r.Status != http.StatusOK {
				t.Fatalf("confirm phone: %d %s", r.Status, r.Body)
			}
			sales := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Sales"}).JSON(t)["id"].(string)
			s.Do(t, "POST", "/api/v1/admin/workgroups/"+sales+"/members", admin, map[string]string{"user_id": nina})
			treasury := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Treasury"}).JSON(t)["id"].(string)
			wiki := s.Do(t, "POST", "/api/v1/admin/apps", admin, map[string]any{"name": "Team Wiki", "kind": "oidc",
				"redirect_uris": []string{"https://wiki.example.test/callback"}, "workgroups": []string{sales}, "require_2fa": true})
			if wiki.Status != http.StatusCreated {
				t.Fatalf("create the OIDC app: %d %s", wiki.Status, wiki.Body)
			}
			vault := s.Do(t, "POST", "/api/v1/admin/apps", admin, map[string]any{"name": "Vault", "kind": "proxy",
				"domains": []string{"vault.example.test"}, "workgroups": []string{treasury}})
			if vault.Status != http.StatusCreated {
				t.Fatalf("create the proxy app: %d %s", vault.Status, vault.Body)
			}

			b := Start(t)
			newTab := func(name string) *Tab {
				tab := b.NewTab(name)
				acceptLanguage(tab, c.accept)
				return tab
			}
			console := newTab("admin")
			signIn(console, s.URL, "admin", deadbolttest.AdminPassword)
			for _, p := range []struct{ path, sel string }{
				{"/admin", "#users"},
				{"/admin/users/" + nina, "main h1"},
				{"/admin/import", "#import-form"},
				{"/admin/workgroups", "#workgroups"},
				{"/admin/workgroups/" + sales, "#members-table"},
				{"/admin/workgroups/" + treasury, "#policy-form"},
				{"/admin/phones", "main h1"},
				{"/admin/audit", "main h1"},
				{"/admin/apps", "main h1"},
				{"/admin/apps/" + wiki.JSON(t)["id"].(string), "main h1"},
				{"/admin/apps/" + vault.JSON(t)["id"].(string), "main h1"},
				{"/security", "#sessions-section"},
				{"/security/phone", "main h1"},
				{"/no-such-page", "#error-page"},
				{"/oidc/logout?client_id=" + wiki.JSON(t)["client_id"].(string), "#logout-confirm"},
			} {
				visit(console, s.URL, p.path, p.sel, c.lang)
			}

			emp := newTab("nina")
			signInTo(emp, s.URL, "nina", "nina-password", "#push-number")
			s.Advance(t, 30*time.Second)
			code, _ := dev.Code(s.Clock().Now())
			emp.Do("sign in with a verification code",
				chromedp.Click(chromedp.CSS("#other-methods summary")),
				chromedp.Click(chromedp.ID("method-totp")),
				chromedp.WaitVisible(chromedp.ID("code")),
				chromedp.SendKeys(chromedp.ID("code"), code),
				chromedp.Click(chromedp.ID("verify")),
				chromedp.WaitVisible(chromedp.ID("welcome")),
			)
			visit(emp, s.URL, "/access?rd=https://vault.example.test/", "#access-denied", c.lang)

			anon := newTab("anonymous")
			visit(anon, s.URL, "/access", "main h1", c.lang)
			visit(anon, s.URL, "/oidc/logout", "#logout-done", c.lang)
			visit(anon, s.URL, "/app/", "#welcome", c.lang)
			visit(anon, s.URL, "/login?rd=https://wiki.example.test/", "#login-form", c.lang)

			// The companion app with a request asking whether it was you, then
			// disconnected by the administrator.
			erin := s.CreateUser(t, admin, "erin", "erin-password")
			computer, phone := newTab("computer"), newTab("phone")
			pairCompanion(t, s, computer, phone, "erin", "erin-password")
			computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
			logOut(computer)
			id, _ := pushSignIn(computer, s.URL)
			card := `.request[data-id="` + id + `"]`
			phone.Do("open This wasn't me",
				chromedp.WaitVisible(chromedp.CSS(card)),
				chromedp.Click(chromedp.CSS(card+" button.report")),
				chromedp.WaitVisible(chromedp.CSS(card+" .report-step")),
			)
			phone.Axe("companion app asking before a report")
			if r := s.Do(t, "POST", "/api/v1/admin/users/"+erin+"/reset-2fa", admin, nil); r.Status != http.StatusOK {
				t.Fatalf("reset 2FA: %d %s", r.Status, r.Body)
			}
			phone.Do("the app hears it was disconnected", chromedp.WaitVisible(chromedp.ID("disconnected")))
			phone.Axe("companion app disconnected")

		})
	}
}
