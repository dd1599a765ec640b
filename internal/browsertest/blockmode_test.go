package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"deadbolt/internal/deadbolttest"
)

// requireOverdue puts login into a new workgroup named name whose policy
// required two-factor authentication by a deadline that has passed, with
// sign-ins past it sent straight to setup.
func requireOverdue(t *testing.T, s *deadbolttest.Server, admin, userID, name string) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": name})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /api/v1/admin/workgroups = %d %s, want 201", r.Status, r.Body)
	}
	id := r.JSON(t)["id"].(string)
	if r := s.Do(t, "POST", "/api/v1/admin/workgroups/"+id+"/members", admin, map[string]string{"user_id": userID}); r.Status/100 != 2 {
		t.Fatalf("add member = %d %s", r.Status, r.Body)
	}
	deadline := s.Clock().Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if r := s.Do(t, "PUT", "/api/v1/admin/workgroups/"+id+"/policy", admin,
		map[string]any{"required": true, "deadline": deadline, "after_deadline": "block"}); r.Status/100 != 2 {
		t.Fatalf("set policy = %d %s", r.Status, r.Body)
	}
}

// TestBlockModeSaysWhySetupIsRequired: past a workgroup's deadline with
// "send sign-ins straight to setup", the employee's sign-in lands on the
// setup wizard, which names the workgroup, says the administrator requires
// it and that the deadline has passed; the logo, the avatar and the
// sign-in page all lead back to setup while the session lives. The same in
// Russian, chosen with the language selector; there the employee pairs the
// phone, is told to sign in again, and does so with the phone.
func TestBlockModeSaysWhySetupIsRequired(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	id := s.CreateUser(t, admin, "gwen", "gwen-password")
	requireOverdue(t, s, admin, id, "Finance")
	b := Start(t)
	tab := b.NewTab("employee")

	signInTo(tab, s.URL, "gwen", "gwen-password", "#setup-required-note")
	tab.Axe("setup required")
	note := Run(tab, "read why setup is required", chromedp.Text(chromedp.ID("setup-required-note")))
	for _, want := range []string{"Finance", "administrator", "deadline"} {
		if !strings.Contains(note, want) {
			tab.Fatalf("read why setup is required", "the setup page says %q, want it to hold %q", note, want)
		}
	}
	// The setup page shows the note already: only the page the click loads
	// says where the logo and the avatar lead.
	for _, step := range []struct{ name, sel string }{
		{"click the logo", ".topbar .brand"},
		{"click the avatar", "#employee-widget"},
	} {
		tab.Do(step.name,
			markPage(),
			chromedp.Click(chromedp.CSS(step.sel)),
			newPage(),
			chromedp.WaitVisible(chromedp.ID("setup-required-note")),
		)
	}
	tab.Do("open the sign-in page",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("setup-required-note")),
	)
	if n := Run(tab, "no bare sign-in form", chromedp.Evaluate[int](`document.querySelectorAll("#login-form").length`)); n != 0 {
		tab.Fatalf("no bare sign-in form", "the sign-in page shows its form to a session that must set up two-factor authentication")
	}

	tab.Do("switch to Russian",
		markPage(),
		chromedp.Click(chromedp.ID("lang-ru")),
		newPage(),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="ru"] #setup-required-note`)),
	)
	tab.Axe("setup required, in Russian")
	note = Run(tab, "read why setup is required in Russian", chromedp.Text(chromedp.ID("setup-required-note")))
	for _, want := range []string{"Finance", "администратор", "срок"} {
		if !strings.Contains(note, want) {
			tab.Fatalf("read why setup is required in Russian", "the setup page says %q, want it to hold %q", note, want)
		}
	}
	tab.Do("sign out from setup",
		chromedp.Click(chromedp.ID("setup-logout")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)

	// Set up from there, in Russian: pair the phone, keep the codes, and
	// sign in again with the phone.
	signInTo(tab, s.URL, "gwen", "gwen-password", "#pairing-qr")
	pairURL := decodeQR(t, Run(tab, "capture the QR code", chromedp.Screenshot(chromedp.ID("pairing-qr"))))
	phone := b.NewTab("phone")
	denyNotifications(phone)
	phone.Do("pair the phone",
		chromedp.Navigate(pairURL),
		chromedp.WaitVisible(chromedp.CSS(`#totp-code[data-code]`)),
	)
	code := Run(phone, "read the code", chromedp.AttributeValue(chromedp.ID("totp-code"), "data-code")).Value
	tab.Do("confirm the phone",
		chromedp.SendKeys(chromedp.ID("pairing-code"), code+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("codes-continue")),
	)
	tab.Axe("recovery codes of a required setup, in Russian")
	tab.Do("continue",
		chromedp.Click(chromedp.ID("codes-continue")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	if flash := Run(tab, "read why to sign in again", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(flash, "настроена") {
		tab.Fatalf("read why to sign in again", "the sign-in page says %q, want it to say (in Russian) that two-factor authentication is set up and to sign in again", flash)
	}
	tab.Axe("sign in again after setup, in Russian")
	tab.Do("sign in with the phone",
		chromedp.SendKeys(chromedp.ID("login"), "gwen"),
		chromedp.SendKeys(chromedp.ID("password"), "gwen-password"+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("push-number")),
	)
	pid := Run(tab, "read the push request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	groups := Run(tab, "read the number", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#push-number .group"), g => g.textContent)`))
	card := `.request[data-id="` + pid + `"]`
	phone.Do("approve",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.SendKeys(chromedp.CSS(card+" input.number"), strings.Join(groups, "")+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
	)
	tab.Do("signed in", chromedp.WaitVisible(chromedp.ID("welcome")))
}
