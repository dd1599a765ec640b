package web

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"deadbolt/internal/accounts/csvimport"
	"deadbolt/internal/device"
	"deadbolt/internal/i18n"
	"deadbolt/internal/policy"
	"deadbolt/internal/signin"
)

// usedKeys returns the catalogue keys the files of fsys matching suffix
// use, found by the pattern's first group.
func usedKeys(t *testing.T, fsys fs.FS, root, suffix string, pattern *regexp.Regexp) map[string]string {
	t.Helper()
	keys := map[string]string{}
	err := fs.WalkDir(fsys, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, suffix) || strings.Contains(name, "/vendor/") {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		for _, m := range pattern.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = name
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestCatalogueKeysUsed: every key a page, a page script, the companion
// app or the Go code names exists in English (and so, by the catalogue
// test, in every language), including the keys made from a method, a
// banner action, a flash, an import problem or a confirmation's action.
func TestCatalogueKeysUsed(t *testing.T) {
	en := i18n.English()
	check := func(what string, keys map[string]string, min int) {
		t.Helper()
		if len(keys) < min {
			t.Errorf("%s: found only %d keys; is the scan broken?", what, len(keys))
		}
		for k, file := range keys {
			if !en.Has(k) {
				t.Errorf("%s uses the key %q, which en.json lacks", file, k)
			}
		}
	}
	check("templates", usedKeys(t, templateFS, "ui/templates", ".html", regexp.MustCompile(`\bt "([a-z0-9_.]+)"`)), 300)
	js := regexp.MustCompile(`\b(?:t|text)\("([a-z0-9_.]+)"`)
	check("page scripts", usedKeys(t, staticFS, "ui/static", ".js", js), 8)
	app := usedKeys(t, pwaFS, "ui/app", ".js", js)
	for k, v := range usedKeys(t, pwaFS, "ui/app", ".html", regexp.MustCompile(`data-i18n(?:-html|-label)?="([a-z0-9_.]+)"`)) {
		app[k] = v
	}
	for k, v := range usedKeys(t, pwaFS, "ui/app", ".js", regexp.MustCompile(`dataset\.i18n(?:Html|Label)? = "([a-z0-9_.]+)"`)) {
		app[k] = v
	}
	delete(app, "app.notice.") // app.notice.<type>, checked below
	for k := range app {
		if !strings.HasPrefix(k, "app.") {
			t.Errorf("the companion app uses %q, but it gets only the keys starting with app.", k)
		}
	}
	check("companion app", app, 50)
	for k, file := range usedKeys(t, staticFS, "ui/static", ".js", js) {
		if !strings.HasPrefix(k, "js.") {
			t.Errorf("%s uses %q, but page scripts get only the keys starting with js.", file, k)
		}
	}
	src := map[string]string{}
	entries, _ := os.ReadDir(".")
	goKey := regexp.MustCompile(`\.T\("([a-z0-9_.]+[a-z0-9_])"`)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			src[m[1]] = e.Name()
		}
	}
	check("Go code", src, 60)

	made := map[string]string{}
	for _, m := range []string{signin.MethodPush, signin.MethodTOTP, signin.MethodSMS, signin.MethodRecovery} {
		made["method."+m] = "methodLinks"
	}
	for _, a := range []policy.Action{policy.ActionClose, policy.ActionRemindLater, policy.ActionConfirm} {
		made["banner.action."+string(a)] = "bannerViews"
	}
	for _, f := range append(append([]string{}, flashes...), consoleFlashes...) {
		made["flash."+f] = "flashText"
	}
	for _, r := range []csvimport.Reason{csvimport.ReasonNotUTF8, csvimport.ReasonColumns, csvimport.ReasonSyntax,
		csvimport.ReasonBadLogin, csvimport.ReasonDuplicate, csvimport.ReasonLoginTaken, csvimport.ReasonBadName,
		csvimport.ReasonBadPassword, csvimport.ReasonBadAdmin, csvimport.ReasonBadEmail, csvimport.ReasonNotCreated} {
		made["import.reason."+string(r)] = "import page"
	}
	for _, c := range continuations {
		made[c.For] = "continuations"
	}
	for _, n := range []string{"phone.linked", "phone.removed", "admin.phone_removed", "recovery_codes.generated",
		"admin.exempted", "admin.unlocked", "push.reported", "signin.second_factor_locked",
		"passkey.added", "passkey.removed", "passkey.renamed", "passkey.counter_regressed"} {
		made["app.notice."+n] = "app.js NOTICES"
	}
	for n := range device.NoticeTypes {
		if !en.Has("app.notice." + n) {
			t.Errorf("the companion app has no words for the notice %q", n)
		}
	}
	check("keys made in code", made, 30)
}

// TestPWAMessages: i18n.json carries every language with its name and the
// app's texts, and the server's default language.
func TestPWAMessages(t *testing.T) {
	f := pwaMessages("ru")
	body := string(f.body)
	for _, want := range []string{`"default":"ru"`, `"code":"en"`, `"name":"Русский"`, `"app.request.approve":"Подтвердить"`, `"app.request.approve":"Approve"`} {
		if !strings.Contains(body, want) {
			t.Errorf("i18n.json lacks %s", want)
		}
	}
	if strings.Contains(body, `"security.title"`) {
		t.Errorf("i18n.json holds page texts; it should hold only the app's")
	}
}

// bareTextAllowed are the words a template may show as they are: names
// and examples that are the same in every language.
var bareTextAllowed = []string{"Deadbolt", "OpenID Connect", "JWKS", "Client ID", "XXXXX-XXXXX", "2FA"}

// TestTemplatesHaveNoBareText: a page template shows no words of its own
// outside {{t}} — its text nodes and its alt, title, aria-label and
// placeholder attributes hold only template actions, markup and the names
// above — so that a text added in English alone fails here.
func TestTemplatesHaveNoBareText(t *testing.T) {
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	pre := regexp.MustCompile(`(?s)<pre[^>]*>.*?</pre>|<script[^>]*>.*?</script>|<style[^>]*>.*?</style>`)
	tag := regexp.MustCompile(`(?s)<[^>]*>`)
	attr := regexp.MustCompile(`\b(alt|title|aria-label|placeholder)="([^"]*)"`)
	letters := regexp.MustCompile(`\pL{2,}`)
	err := fs.WalkDir(templateFS, "ui/templates", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, name)
		if err != nil {
			return err
		}
		src := pre.ReplaceAllString(string(b), "")
		for _, m := range attr.FindAllStringSubmatch(src, -1) {
			if v := action.ReplaceAllString(m[2], ""); letters.MatchString(v) && !allowedBare(v) {
				t.Errorf("%s: the %s %q is not translated (use {{t}})", name, m[1], m[2])
			}
		}
		text := tag.ReplaceAllString(action.ReplaceAllString(src, " "), "\n")
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if letters.MatchString(line) && !allowedBare(line) {
				t.Errorf("%s: %q is not translated (use {{t}})", name, line)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func allowedBare(s string) bool {
	for _, a := range bareTextAllowed {
		s = strings.ReplaceAll(s, a, "")
	}
	return !regexp.MustCompile(`\pL{2,}`).MatchString(s)
}
