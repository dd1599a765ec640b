package browsertest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

// count returns how many elements match a CSS selector.
func count(tab *Tab, step, sel string) int {
	tab.t.Helper()
	return Run(tab, step, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
}

// jsString quotes s as a JavaScript string literal (for selectors of our
// own, which hold no quote or backslash).
func jsString(s string) string { return `"` + s + `"` }

// TestConsoleRequiresTwoFactor: an administrator creates a workgroup in the
// console, adds an employee and requires two-factor authentication with a
// deadline three days ahead through the policy form. The employee sees the
// banner with its deadline and a close button, closes it, and it stays
// gone on reload; once the clock passes the deadline, the banner is back
// after signing in again, without a close button.
func TestConsoleRequiresTwoFactor(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		b := Start(t)
		admin := b.NewTab("admin")
		signIn(admin, s.URL, "admin", deadbolttest.AdminPassword)

		admin.Do("open administration",
			chromedp.Click(chromedp.CSS(".admin-link")),
			chromedp.WaitVisible(chromedp.ID("create-user")),
		)
		admin.Do("create the employee",
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="login"]`), "emma"),
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="name"]`), "Emma Stone"),
			chromedp.SendKeys(chromedp.CSS(`#create-user input[name="password"]`), "emma-password-1"),
			chromedp.Click(chromedp.CSS(`#create-user button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		admin.Axe("employee created")
		admin.Do("open the workgroups",
			chromedp.Click(chromedp.CSS(`.console-nav a[href="/admin/workgroups"]`)),
			chromedp.WaitVisible(chromedp.ID("create-workgroup")),
		)
		admin.Axe("workgroups")
		admin.Do("create a workgroup",
			chromedp.SendKeys(chromedp.ID("workgroup-name"), "Sales"),
			chromedp.Click(chromedp.ID("create-workgroup-submit")),
			chromedp.WaitVisible(chromedp.ID("policy-form")),
		)
		if got := Run(admin, "read the workgroup", chromedp.Text(chromedp.ID("workgroup-title"))); got != "Sales" {
			admin.Fatalf("read the workgroup", "title = %q, want Sales", got)
		}
		admin.Axe("new workgroup")
		admin.Do("add the employee",
			chromedp.SendKeys(chromedp.ID("member-login"), "emma"),
			chromedp.Click(chromedp.ID("add-member-submit")),
			chromedp.WaitVisible(chromedp.ID("members-table")),
		)
		if got := Run(admin, "read members", chromedp.Text(chromedp.ID("members-table"))); !strings.Contains(got, "emma") {
			admin.Fatalf("read members", "members = %q, want emma", got)
		}
		admin.Axe("workgroup with a member")

		// The organisation's time zone is UTC here; the form reads it. The
		// page is loaded afresh first, so the message awaited below can
		// only come from saving the policy.
		page := Run(admin, "workgroup address", chromedp.Location())
		page, _, _ = strings.Cut(page, "?")
		deadline := s.Clock().Now().UTC().Add(72 * time.Hour).Truncate(time.Minute)
		admin.Do("require 2FA by a deadline",
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.ID("policy-form")),
			chromedp.WaitNotPresent(chromedp.CSS(".flash")),
			chromedp.Click(chromedp.ID("policy-required")),
			chromedp.SetValue(chromedp.ID("policy-deadline-date"), deadline.Format(time.DateOnly)),
			chromedp.SetValue(chromedp.ID("policy-deadline-time"), deadline.Format("15:04")),
			chromedp.Click(chromedp.ID("policy-save")),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		if got := Run(admin, "read the message", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(got, "policy was saved") {
			admin.Fatalf("read the message", "message = %q, want the policy saved", got)
		}
		shown := deadline.Format("2 Jan 2006, 15:04") + " UTC"
		if got := Run(admin, "read the policy", chromedp.Text(chromedp.ID("policy-state"))); !strings.Contains(got, "Required by "+shown) {
			admin.Fatalf("read the policy", "state = %q, want it required by %s", got, shown)
		}
		admin.Axe("workgroup requiring 2FA")

		emp := b.NewTab("employee")
		signIn(emp, s.URL, "emma", "emma-password-1")
		emp.Do("see the banner",
			chromedp.WaitVisible(chromedp.ID("banner-two_factor_required")),
			chromedp.WaitVisible(chromedp.ID("banner-two_factor_required-close")),
		)
		if got := Run(emp, "read the banner", chromedp.Text(chromedp.ID("banner-two_factor_required"))); !strings.Contains(got, shown) {
			emp.Fatalf("read the banner", "banner = %q, want the deadline %s", got, shown)
		}
		emp.Axe("banner before the deadline")
		emp.Do("close the banner",
			chromedp.Click(chromedp.ID("banner-two_factor_required-close")),
			chromedp.WaitNotPresent(chromedp.ID("banner-two_factor_required")),
			chromedp.WaitVisible(chromedp.ID("welcome")),
		)
		emp.Do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("welcome")))
		if n := count(emp, "banner stays closed", "#banner-two_factor_required"); n != 0 {
			emp.Fatalf("banner stays closed", "the closed banner is back on reload")
		}

		// Past the deadline (the sessions have expired by then).
		s.Advance(t, 4*24*time.Hour)
		signIn(emp, s.URL, "emma", "emma-password-1")
		emp.Do("see the banner past the deadline", chromedp.WaitVisible(chromedp.ID("banner-two_factor_required")))
		if n := count(emp, "no close button", "#banner-two_factor_required button, #banner-two_factor_required form"); n != 0 {
			emp.Fatalf("no close button", "the banner past the deadline has %d buttons or forms", n)
		}
		if got := Run(emp, "read the overdue banner", chromedp.Text(chromedp.ID("banner-two_factor_required"))); !strings.Contains(got, "deadline has passed") {
			emp.Fatalf("read the overdue banner", "banner = %q, want it to say the deadline has passed", got)
		}
		emp.Axe("banner past the deadline")
		emp.Do("reload past the deadline", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("banner-two_factor_required")))

		// The console says so too.
		signIn(admin, s.URL, "admin", deadbolttest.AdminPassword)
		admin.Do("open the workgroup again",
			chromedp.Navigate(s.URL+"/admin/workgroups"),
			chromedp.Click(chromedp.CSS(`#workgroups a`)),
			chromedp.WaitVisible(chromedp.ID("policy-state")),
		)
		if got := Run(admin, "read the overdue policy", chromedp.Text(chromedp.ID("policy-state"))); !strings.Contains(got, "has passed") {
			admin.Fatalf("read the overdue policy", "state = %q, want the deadline passed", got)
		}
		admin.Axe("workgroup past the deadline")
	})
}

// TestConsoleImportDryRun uploads a CSV file with a bad row as a dry run:
// the page reports the row by line and reason and creates nobody.
func TestConsoleImportDryRun(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	file := filepath.Join(t.TempDir(), "staff.csv")
	csv := "login,name,password,admin\nfrank,Frank,,no\ngina,Gina,,yes,extra\nhal,Hal,,maybe\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	tab := Start(t).NewTab("admin")
	signIn(tab, s.URL, "admin", deadbolttest.AdminPassword)
	tab.Do("open the import page",
		chromedp.Navigate(s.URL+"/admin"),
		chromedp.Click(chromedp.CSS(`.console-nav a[href="/admin/import"]`)),
		chromedp.WaitVisible(chromedp.ID("import-form")),
	)
	tab.Axe("import page")
	if !Run(tab, "dry run is the default", chromedp.Evaluate[bool](`document.getElementById("import-dry-run").checked`)) {
		tab.Fatalf("dry run is the default", "the Dry run box is not ticked")
	}
	tab.Do("upload the file",
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}),
		chromedp.Click(chromedp.ID("import-submit")),
		chromedp.WaitVisible(chromedp.ID("import-problems")),
	)
	outcome := Run(tab, "read the outcome", chromedp.Text(chromedp.ID("import-outcome")))
	if !strings.Contains(outcome, "2 of 3 rows have problems") || !strings.Contains(outcome, "Nothing was created") {
		tab.Fatalf("read the outcome", "outcome = %q", outcome)
	}
	problems := Run(tab, "read the problems", chromedp.Text(chromedp.ID("import-problems")))
	for _, want := range []string{"3\tgina\tWrong column count", "4\thal\tBad admin value"} {
		if !strings.Contains(problems, want) {
			tab.Fatalf("read the problems", "problems = %q, want %q", problems, want)
		}
	}
	if n := count(tab, "no frank problem", "#import-problems tbody tr"); n != 2 {
		tab.Fatalf("no frank problem", "%d problem rows, want 2", n)
	}
	tab.Axe("import dry run")
	admin := s.AdminToken(t)
	for _, login := range []string{"frank", "gina", "hal"} {
		if r := s.Do(t, "GET", "/api/v1/admin/users/"+login, admin, nil); r.Status != http.StatusNotFound {
			t.Errorf("after a dry run GET %s = %d, want 404", login, r.Status)
		}
	}
}
