package browsertest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/i18n"
)

// internalName matches an event type as the code names it
// ("banner.action", "admin.user_created").
var internalName = regexp.MustCompile(`\b[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*\b`)

// TestOwnEventsInPlainWords: the employee's own recent events on the
// Security page use the audit log's labels ("Banner answered", "Push
// request denied", "Employee created"), in English and in Russian, and
// never the internal names (banner.action, push.denied,
// admin.user_created).
func TestOwnEventsInPlainWords(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	id := s.CreateUser(t, admin, "vera", "vera-password")
	wg := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]any{"name": "Sales"}).JSON(t)["id"].(string)
	s.Do(t, "POST", "/api/v1/admin/workgroups/"+wg+"/members", admin, map[string]any{"user_id": id})
	deadline := s.Clock().Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if r := s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wg+"/policy", admin, map[string]any{"required": true, "deadline": deadline}); r.Status != 200 {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	tab := Start(t).NewTab("vera")
	signIn(tab, s.URL, "vera", "vera-password")
	tab.Do("close the two-factor banner",
		markPage(),
		chromedp.Click(chromedp.ID("banner-two_factor_required-close")),
		newPage(),
		chromedp.WaitVisible(chromedp.ID("welcome")),
		waitFor(`!document.getElementById("banner-two_factor_required")`),
	)
	// A push she denies on her phone.
	c := sessionCookieOf(tab, "read the session cookie", s.URL)
	dev := pairDevice(t, s, c.Value, "Vera's phone")
	s.Login(t, "vera", "vera-password")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reqs, err := dev.Requests(ctx, s.Client, 5*time.Second)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("pending requests = %v, %v; want the sign-in's push", reqs, err)
	}
	if _, err := dev.Decide(ctx, s.Client, reqs[0].ID, "deny", nil, false); err != nil {
		t.Fatalf("deny the push: %v", err)
	}

	for _, lang := range []string{"en", "ru"} {
		l := i18n.Get(lang)
		if lang != "en" {
			// The page in the new language must have loaded before the
			// next navigation: one started while it loads can abort it or
			// be aborted by it (net::ERR_ABORTED).
			tab.Do("choose "+lang, chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("lang-"+lang)),
				markPage(), chromedp.Click(chromedp.ID("lang-"+lang)), newPage(),
				waitFor(`document.documentElement.lang === "`+lang+`"`))
		}
		tab.Do("open Security in "+lang, chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("events-section")))
		list := Run(tab, "read own events in "+lang, chromedp.Text(chromedp.CSS("#events-section ul.events")))
		if names := internalName.FindAllString(list, -1); len(names) > 0 {
			tab.Fatalf("read own events in "+lang, "the list shows internal names %q:\n%s", names, list)
		}
		for _, typ := range []string{"admin.user_created", "banner.action", "push.denied", "device.paired"} {
			if label := l.T("event." + typ); !strings.Contains(list, label) {
				tab.Fatalf("read own events in "+lang, "the list lacks %q (the audit log's label of %s):\n%s", label, typ, list)
			}
		}
		tab.Axe("own events in " + lang)
	}
}
