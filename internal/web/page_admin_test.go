package web_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/i18n"
)

// console talks to the administration pages as a browser without
// JavaScript would: GET pages and POST forms, without following redirects.
type console struct {
	t     *testing.T
	s     *deadbolttest.Server
	token string
	c     *http.Client
}

func newConsole(t *testing.T, s *deadbolttest.Server, token string) *console {
	return &console{t: t, s: s, token: token, c: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type pageResp struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func (c *console) do(method, path, contentType string, body io.Reader) pageResp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return pageResp{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b), Header: resp.Header}
}

func (c *console) get(path string) pageResp {
	c.t.Helper()
	return c.do("GET", path, "", nil)
}

func (c *console) post(path string, form url.Values) pageResp {
	c.t.Helper()
	return c.do("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// upload posts a CSV file to the import form.
func (c *console) upload(name string, data []byte, dryRun bool) pageResp {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if dryRun {
		mw.WriteField("dry_run", "1")
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return c.do("POST", "/admin/import", mw.FormDataContentType(), &b)
}

// want checks a page's status and that its body holds every string of
// holds.
func (r pageResp) want(t *testing.T, what string, status int, holds ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s = %d (Location %q), want %d\n%s", what, r.Status, r.Location, status, r.Body)
	}
	for _, h := range holds {
		if !strings.Contains(r.Body, h) {
			t.Errorf("%s: the page lacks %q", what, h)
		}
	}
}

// redirects checks a POST answered 303 to location.
func (r pageResp) redirects(t *testing.T, what, location string) {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Location != location {
		t.Fatalf("%s = %d to %q, want 303 to %q\n%s", what, r.Status, r.Location, location, errorOf(r.Body))
	}
}

var errorRE = regexp.MustCompile(`id="error">([^<]*)<`)

// errorOf returns the error message shown on a page, "" for none.
func errorOf(body string) string {
	if m := errorRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

func confirm(v url.Values) url.Values {
	v.Set("confirm", "yes")
	return v
}

// apiUser reads an employee through the API.
func apiUser(t *testing.T, s *deadbolttest.Server, admin, id string) map[string]any {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/admin/users/"+id, admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET user %s = %d %s", id, r.Status, r.Body)
	}
	return r.JSON(t)
}

func canLogin(t *testing.T, s *deadbolttest.Server, login, pw string) bool {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": login, "password": pw})
	return r.Status == http.StatusOK
}

// TestConsoleAccess: every console page is for administrators only.
func TestConsoleAccess(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	id := s.CreateUser(t, admin, "erin", "erin-password")
	emp, _ := s.Login(t, "erin", "erin-password")
	wg := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Sales"}).JSON(t)["id"].(string)

	gets := []string{"/admin", "/admin/users/" + id, "/admin/import", "/admin/workgroups", "/admin/workgroups/" + wg, "/admin/phones", "/admin/audit"}
	posts := []string{"/admin/users", "/admin/users/" + id + "/deactivate", "/admin/users/" + id + "/reset-password",
		"/admin/users/" + id + "/reset-2fa", "/admin/users/" + id + "/unlock", "/admin/users/" + id + "/exempt",
		"/admin/users/" + id + "/exempt/end", "/admin/users/" + id + "/phone/remove", "/admin/users/" + id + "/sessions/end",
		"/admin/import", "/admin/workgroups", "/admin/workgroups/" + wg + "/rename", "/admin/workgroups/" + wg + "/delete",
		"/admin/workgroups/" + wg + "/members", "/admin/workgroups/" + wg + "/members/" + id + "/remove", "/admin/workgroups/" + wg + "/policy"}
	anon, employee := newConsole(t, s, ""), newConsole(t, s, emp)
	for _, p := range gets {
		anon.get(p).redirects(t, "GET "+p+" signed out", "/login")
		employee.get(p).want(t, "GET "+p+" as an employee", http.StatusForbidden, "Only administrators")
	}
	form := confirm(url.Values{"name": {"X"}, "login": {"erin"}, "password": {"new-password-1"}, "required": {"1"}})
	for _, p := range posts {
		anon.post(p, form).redirects(t, "POST "+p+" signed out", "/login")
		employee.post(p, form).want(t, "POST "+p+" as an employee", http.StatusForbidden, "Only administrators")
	}
	if u := apiUser(t, s, admin, id); u["active"] != true {
		t.Errorf("erin after the refused posts = %v, want active", u)
	}
	if !canLogin(t, s, "erin", "erin-password") {
		t.Error("a refused password reset changed erin's password")
	}
	if r := s.Do(t, "GET", "/api/v1/admin/workgroups/"+wg, admin, nil); r.Status != http.StatusOK || r.JSON(t)["name"] != "Sales" {
		t.Errorf("the workgroup after the refused posts: %d %s", r.Status, r.Body)
	}
	// The pages hold no inline script or style: the CSP forbids them.
	c := newConsole(t, s, admin)
	for _, p := range gets {
		body := c.get(p).Body
		for _, bad := range []string{"<script", "style=", " onclick=", " onsubmit="} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s holds %q", p, bad)
			}
		}
	}
}

func TestConsoleEmployees(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	for _, l := range []string{"nina", "nico", "otto"} {
		s.CreateUser(t, admin, l, l+"-password")
	}
	r := c.get("/admin?q=Test+ni")
	r.want(t, "search", http.StatusOK, "2 of 4 employees match", ">nina<", ">nico<")
	if strings.Contains(r.Body, ">otto<") {
		t.Error("the search for 'Test ni' lists otto")
	}
	c.get("/admin?q=nobody").want(t, "search without match", http.StatusOK, "0 of 4 employees match")

	// Creating through the form; a refusal keeps what was typed.
	c.post("/admin/users", url.Values{"login": {"paula"}, "name": {"Paula P"}, "password": {"paula-password"}}).
		redirects(t, "create", "/admin?msg=user_created")
	r = c.post("/admin/users", url.Values{"login": {"Paula"}, "name": {"Again"}, "password": {"paula-password"}})
	r.want(t, "create taken", http.StatusConflict, `value="Paula"`, `value="Again"`)
	if errorOf(r.Body) == "" {
		t.Error("a taken login shows no error")
	}
	if !canLogin(t, s, "paula", "paula-password") {
		t.Error("paula cannot sign in")
	}
}

func TestConsoleEmployeeActions(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	id := s.CreateUser(t, admin, "dora", "dora-password")
	page := "/admin/users/" + id
	r := c.get(page)
	r.want(t, "employee page", http.StatusOK, `id="user-login">dora<`, "Not in any workgroup", "Employee created", "admin.user_created")
	c.get("/admin/users/dora").want(t, "employee page by login", http.StatusOK, `id="user-login">dora<`)
	c.get("/admin/users/nobody").want(t, "unknown employee", http.StatusNotFound)

	// Deactivating needs the box ticked.
	r = c.post(page+"/deactivate", url.Values{})
	r.want(t, "deactivate unconfirmed", http.StatusBadRequest, "Tick the box")
	if u := apiUser(t, s, admin, id); u["active"] != true {
		t.Fatal("an unconfirmed deactivation deactivated dora")
	}
	c.post(page+"/deactivate", confirm(url.Values{})).redirects(t, "deactivate", page+"?msg=user_deactivated")
	if u := apiUser(t, s, admin, id); u["active"] != false {
		t.Fatal("dora is still active")
	}
	c.get(page+"?msg=user_deactivated").want(t, "deactivated page", http.StatusOK, "was deactivated", `id="activate-form"`)
	c.post(page+"/activate", url.Values{}).redirects(t, "activate", page+"?msg=user_activated")
	if u := apiUser(t, s, admin, id); u["active"] != true {
		t.Fatal("dora is not active again")
	}
	// One cannot deactivate oneself.
	self := "/admin/users/admin"
	c.get(self).want(t, "own page", http.StatusOK, "You cannot deactivate your own account")
	c.post(self+"/deactivate", confirm(url.Values{})).want(t, "deactivate oneself", http.StatusBadRequest, "your own account")

	// Password: typed, then generated and shown once.
	doraTok, _ := s.Login(t, "dora", "dora-password")
	c.post(page+"/reset-password", confirm(url.Values{"password": {"short"}})).want(t, "short password", http.StatusBadRequest)
	c.post(page+"/reset-password", url.Values{"password": {"dora-new-password"}}).want(t, "reset unconfirmed", http.StatusBadRequest, "Tick the box")
	c.post(page+"/reset-password", confirm(url.Values{})).want(t, "reset without password", http.StatusBadRequest, "Generate a password")
	c.post(page+"/reset-password", confirm(url.Values{"password": {"dora-new-password"}})).redirects(t, "reset typed", page+"?msg=password_reset")
	if canLogin(t, s, "dora", "dora-password") || !canLogin(t, s, "dora", "dora-new-password") {
		t.Fatal("the typed password is not dora's password")
	}
	if r := s.Do(t, "GET", "/api/v1/me", doraTok, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("dora's session after a reset = %d, want 401", r.Status)
	}
	r = c.post(page+"/reset-password", confirm(url.Values{"generate": {"1"}}))
	r.want(t, "reset generated", http.StatusOK, `id="new-password-box"`)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with a generated password has Cache-Control %q, want no-store", cc)
	}
	m := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(r.Body)
	if m == nil || !canLogin(t, s, "dora", m[1]) {
		t.Fatalf("the generated password (%v) does not sign dora in", m)
	}
	if strings.Contains(c.get(page).Body, m[1]) {
		t.Error("the generated password shows again on the next visit")
	}

	// Exemption: until 00:00 of a date, organisation time (UTC here).
	day := s.Clock().Now().UTC().AddDate(0, 0, 10).Format(time.DateOnly)
	c.post(page+"/exempt", url.Values{"until_date": {"2001-01-01"}}).want(t, "exempt in the past", http.StatusBadRequest, "future")
	c.post(page+"/exempt", url.Values{"until_date": {"next week"}}).want(t, "exempt bad date", http.StatusBadRequest, "date")
	c.post(page+"/exempt", url.Values{"until_date": {day}}).redirects(t, "exempt", page+"?msg=exempted")
	if r := s.Do(t, "GET", "/api/v1/admin/users/"+id+"/workgroups", admin, nil); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	c.get(page).want(t, "exempt page", http.StatusOK, "Exempt until "+i18n.English().DateTime(s.Clock().Now().UTC().AddDate(0, 0, 10).Truncate(24*time.Hour), time.UTC), `value="`+day+`"`)
	events := s.Do(t, "GET", "/api/v1/admin/audit?type=admin.exempted&user_id="+id, admin, nil).JSON(t)["events"].([]any)
	if len(events) != 1 || events[0].(map[string]any)["detail"].(map[string]any)["until"] != day+"T00:00:00Z" {
		t.Errorf("exemption events = %v, want one until %sT00:00:00Z", events, day)
	}
	c.post(page+"/exempt/end", url.Values{}).redirects(t, "end exemption", page+"?msg=exemption_ended")
	c.get(page).want(t, "exemption ended", http.StatusOK, `id="user-exempt">None<`)

	// Unlock, reset 2FA, end sessions.
	c.post(page+"/unlock", url.Values{}).redirects(t, "unlock", page+"?msg=unlocked")
	c.post(page+"/reset-2fa", url.Values{}).want(t, "reset 2FA unconfirmed", http.StatusBadRequest, "Tick the box")
	doraTok, _ = s.Login(t, "dora", m[1])
	c.post(page+"/reset-2fa", confirm(url.Values{})).redirects(t, "reset 2FA", page+"?msg=two_factor_reset")
	if r := s.Do(t, "GET", "/api/v1/me", doraTok, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("dora's session after a reset of her 2FA = %d, want 401", r.Status)
	}
	doraTok, _ = s.Login(t, "dora", m[1])
	c.get(page).want(t, "sessions listed", http.StatusOK, `id="end-sessions-form"`)
	c.post(page+"/sessions/end", url.Values{}).want(t, "end sessions unconfirmed", http.StatusBadRequest)
	c.post(page+"/sessions/end", confirm(url.Values{})).redirects(t, "end sessions", page+"?msg=sessions_ended")
	if r := s.Do(t, "GET", "/api/v1/me", doraTok, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("dora's session after ending them all = %d, want 401", r.Status)
	}
	c.post(page+"/phone/remove", confirm(url.Values{})).want(t, "remove absent phone", http.StatusNotFound, "no phone number")

	// Every action was audited by the administrator.
	for _, typ := range []string{"admin.user_deactivated", "admin.user_activated", "admin.password_reset", "admin.exemption_ended",
		"admin.unlocked", "admin.two_factor_reset", "admin.sessions_ended"} {
		r := s.Do(t, "GET", "/api/v1/admin/audit?type="+typ+"&user_id="+id, admin, nil)
		if n := len(r.JSON(t)["events"].([]any)); n == 0 {
			t.Errorf("no %s event for dora", typ)
		}
	}
	c.get(page).want(t, "events on the page", http.StatusOK, "Employee deactivated", "Exempted from the second factor")
}

// TestConsoleOwnPassword: resetting one's own password ends one's own
// session, so the console sends one to the sign-in page.
func TestConsoleOwnPassword(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	c.post("/admin/users/admin/reset-password", confirm(url.Values{"password": {"admin-new-password"}})).
		redirects(t, "own reset", "/login")
	if !canLogin(t, s, "admin", "admin-new-password") {
		t.Error("the administrator's new password does not work")
	}
}

// TestConsoleOwnTwoFactorReset: resetting one's own second factor ends
// one's own sessions too, so the console sends one to the sign-in page.
func TestConsoleOwnTwoFactorReset(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	c.post("/admin/users/admin/reset-2fa", confirm(url.Values{})).redirects(t, "own reset", "/login")
	if r := s.Do(t, "GET", "/api/v1/me", admin, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the administrator's session after resetting their own 2FA = %d, want 401", r.Status)
	}
}

func TestConsolePhoneLookup(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	id := s.CreateUser(t, admin, "fay", "fay-password")
	tok, _ := s.Login(t, "fay", "fay-password")
	const number = "+14155550143"
	if r := s.Do(t, "POST", "/api/v1/me/phone", tok, map[string]string{"phone": number}); r.Status != http.StatusOK {
		t.Fatalf("POST /me/phone = %d %s", r.Status, r.Body)
	}
	var outbox struct {
		Messages []struct{ To, Code string } `json:"messages"`
	}
	if err := json.Unmarshal(s.Do(t, "GET", "/api/v1/dev/sms", "", nil).Body, &outbox); err != nil || len(outbox.Messages) == 0 {
		t.Fatalf("outbox: %v %v", outbox, err)
	}
	code := outbox.Messages[len(outbox.Messages)-1].Code
	if r := s.Do(t, "POST", "/api/v1/me/phone/confirm", tok, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm phone = %d %s", r.Status, r.Body)
	}

	c.get("/admin").want(t, "list shows the masked phone", http.StatusOK, "(•••) •••-0143")
	c.get("/admin/phones").want(t, "empty lookup", http.StatusOK, `id="phone-lookup"`)
	r := c.get("/admin/phones?number=" + url.QueryEscape("(415) 555-0143"))
	r.want(t, "lookup", http.StatusOK, `href="/admin/users/`+id+`" id="holder-link">fay<`)
	c.get("/admin/phones?number=12").want(t, "lookup of no number", http.StatusBadRequest)
	c.get("/admin/phones?number="+url.QueryEscape("+14155550199")).want(t, "lookup of a free number", http.StatusOK, `id="phone-free"`)

	back := url.Values{"back": {"phones"}, "number": {number}}
	c.post("/admin/users/"+id+"/phone/remove", back).want(t, "remove unconfirmed", http.StatusBadRequest, "Tick the box", "fay")
	c.post("/admin/users/"+id+"/phone/remove", confirm(back)).redirects(t, "remove", "/admin/phones?msg=phone_removed_admin")
	c.get("/admin/phones?number="+url.QueryEscape(number)).want(t, "lookup after removal", http.StatusOK, `id="phone-free"`)
	if r := s.Do(t, "GET", "/api/v1/admin/audit?type=admin.phone_removed&user_id="+id, admin, nil); len(r.JSON(t)["events"].([]any)) != 1 {
		t.Errorf("phone removal events: %s", r.Body)
	}
}

func TestConsoleImport(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	c.get("/admin/import").want(t, "import form", http.StatusOK, `id="import-form"`, `name="dry_run" value="1" checked`, "All or nothing")

	bad := "login,name,password,admin\nann,Ann,,no\nADMIN,Taken,,\nbob,Bob,short,\ncat,Cat,,perhaps\nann,Ann again,,\n"
	r := c.upload("staff.csv", []byte(bad), true)
	r.want(t, "dry run with bad rows", http.StatusUnprocessableEntity, "Dry run of staff.csv", "4 of 5 rows have problems", "Nothing was created",
		"<td>3</td><td>admin</td><td>Login taken</td>", "<td>4</td><td>bob</td><td>Bad password</td>",
		"<td>5</td><td>cat</td><td>Bad admin value</td>", "<td>6</td><td>ann</td><td>Duplicate in file</td>")
	r = c.upload("staff.csv", []byte(bad), false)
	r.want(t, "import with bad rows", http.StatusUnprocessableEntity, "Nothing was created", "only when every row is valid")
	if r := s.Do(t, "GET", "/api/v1/admin/users/ann", admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("a file with bad rows created ann: %d", r.Status)
	}

	good := "login,name,password,admin\nann,Ann Lee,,no\nbob,Bob,bob-password,yes\n"
	r = c.upload("staff.csv", []byte(good), true)
	r.want(t, "clean dry run", http.StatusOK, "All 2 rows are valid", "Nothing was created yet")
	if r := s.Do(t, "GET", "/api/v1/admin/users/ann", admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("a dry run created ann: %d", r.Status)
	}
	r = c.upload("staff.csv", []byte(good), false)
	r.want(t, "import", http.StatusOK, "2 employees were created", "shown only on this page")
	m := regexp.MustCompile(`>ann</a></td><td>Employee</td><td><code>([^<]+)</code>`).FindStringSubmatch(r.Body)
	if m == nil || !canLogin(t, s, "ann", m[1]) {
		t.Fatalf("ann's generated password (%v) does not sign her in", m)
	}
	if !canLogin(t, s, "bob", "bob-password") || apiUser(t, s, admin, "bob")["admin"] != true {
		t.Error("bob was not created as an administrator with his password")
	}
	events := s.Do(t, "GET", "/api/v1/admin/audit?type=admin.user_created", admin, nil).JSON(t)["events"].([]any)
	if len(events) != 3 { // admin at start, ann, bob
		t.Errorf("%d creation events, want 3", len(events))
	}

	// Refused files.
	c.upload("big.csv", bytes.Repeat([]byte("a"), 1<<20+1), true).want(t, "too large", http.StatusRequestEntityTooLarge, "larger than")
	c.upload("empty.csv", nil, true).want(t, "empty", http.StatusBadRequest, "empty")
	c.upload("bad.csv", []byte("email\nx@example.com\n"), true).want(t, "bad header", http.StatusBadRequest, "login")
	c.do("POST", "/admin/import", "application/x-www-form-urlencoded", strings.NewReader("dry_run=1")).want(t, "no file", http.StatusBadRequest, "Choose a CSV file")
}

func TestConsoleWorkgroups(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	gail := s.CreateUser(t, admin, "gail", "gail-password")

	c.get("/admin/workgroups").want(t, "no workgroups", http.StatusOK, "No workgroups yet")
	c.post("/admin/workgroups", url.Values{"name": {" "}}).want(t, "blank name", http.StatusBadRequest)
	r := c.post("/admin/workgroups", url.Values{"name": {"Finance"}})
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Location, "?msg=workgroup_created") {
		t.Fatalf("create workgroup = %d %q", r.Status, r.Location)
	}
	page := strings.TrimSuffix(r.Location, "?msg=workgroup_created")
	id := strings.TrimPrefix(page, "/admin/workgroups/")
	c.post("/admin/workgroups", url.Values{"name": {"FINANCE"}}).want(t, "duplicate name", http.StatusConflict, `value="FINANCE"`)
	c.get(page).want(t, "new workgroup", http.StatusOK, "Not required", "No members yet", "Time zone UTC")

	c.post(page+"/members", url.Values{"login": {"nobody"}}).want(t, "add unknown", http.StatusNotFound, "no employee with the login nobody")
	c.post(page+"/members", url.Values{"login": {"GAIL"}}).redirects(t, "add", page+"?msg=member_added")
	c.post(page+"/members", url.Values{"login": {"gail"}}).redirects(t, "add again", page+"?msg=member_already")
	c.get(page).want(t, "members", http.StatusOK, `href="/admin/users/`+gail+`">gail<`, "1 member, 0 with two-factor")

	// Require 2FA by a deadline three days ahead (UTC here).
	now := s.Clock().Now().UTC()
	deadline := now.Add(72 * time.Hour).Truncate(time.Minute)
	form := url.Values{"required": {"1"}, "deadline_date": {deadline.Format(time.DateOnly)}, "deadline_time": {deadline.Format("15:04")},
		"after_deadline": {"block"}, "pause": {"none"}}
	c.post(page+"/policy", form).redirects(t, "policy", page+"?msg=policy_saved")
	wg := s.Do(t, "GET", "/api/v1/admin/workgroups/"+id, admin, nil).JSON(t)
	p := wg["policy"].(map[string]any)
	if p["required"] != true || p["deadline"] != deadline.Format(time.RFC3339) || p["after_deadline"] != "block" || p["paused"] != false {
		t.Errorf("policy after the form = %v, want required by %s, block", p, deadline.Format(time.RFC3339))
	}
	r = c.get(page)
	r.want(t, "policy page", http.StatusOK, "Required by "+i18n.English().DateTime(deadline, time.UTC)+" (in 3 days)",
		`value="1" checked id="policy-required"`, `value="`+deadline.Format(time.DateOnly)+`"`, `value="block" checked`, "straight to setup")
	c.get("/admin/workgroups").want(t, "list", http.StatusOK, "Required by "+i18n.English().DateTime(deadline, time.UTC))
	c.get("/admin/users/"+gail).want(t, "member's page", http.StatusOK, "Finance", "Required by "+i18n.English().DateTime(deadline, time.UTC))

	// Turned off until a date; a bad date is refused with the form kept.
	bad := url.Values{"required": {"1"}, "deadline_date": {"2026-02-30"}, "pause": {"none"}}
	r = c.post(page+"/policy", bad)
	r.want(t, "bad date", http.StatusBadRequest, `value="2026-02-30"`)
	if errorOf(r.Body) == "" {
		t.Error("a bad deadline shows no error")
	}
	pause := now.AddDate(0, 0, 5).Format(time.DateOnly)
	form.Set("pause", "until")
	c.post(page+"/policy", form).want(t, "pause without date", http.StatusBadRequest, "comes back on")
	form.Set("paused_until_date", pause)
	c.post(page+"/policy", form).redirects(t, "pause until", page+"?msg=policy_saved")
	c.get(page).want(t, "paused page", http.StatusOK, "Turned off until "+i18n.English().DateTime(now.AddDate(0, 0, 5).Truncate(24*time.Hour), time.UTC), "will have passed by then")
	form.Set("pause", "off")
	c.post(page+"/policy", form).redirects(t, "pause", page+"?msg=policy_saved")
	c.get(page).want(t, "off page", http.StatusOK, "Turned off until an administrator turns it on again")
	p = s.Do(t, "GET", "/api/v1/admin/workgroups/"+id, admin, nil).JSON(t)["policy"].(map[string]any)
	if p["paused"] != true || p["paused_until"] != nil {
		t.Errorf("policy turned off = %v", p)
	}

	// Rename, remove the member, delete.
	c.post(page+"/rename", url.Values{"name": {"Accounts"}}).redirects(t, "rename", page+"?msg=workgroup_renamed")
	c.post(page+"/members/"+gail+"/remove", url.Values{}).redirects(t, "remove member", page+"?msg=member_removed")
	c.get(page).want(t, "after removal", http.StatusOK, "Accounts", "No members yet")
	c.post(page+"/delete", url.Values{}).want(t, "delete unconfirmed", http.StatusBadRequest, "Tick the box")
	c.post(page+"/delete", confirm(url.Values{})).redirects(t, "delete", "/admin/workgroups?msg=workgroup_deleted")
	c.get(page).want(t, "deleted", http.StatusNotFound)
}

func TestConsoleAudit(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	c := newConsole(t, s, admin)
	for i := range 55 {
		s.CreateUser(t, admin, fmt.Sprintf("u%02d", i), "user-password")
	}
	r := c.get("/admin/audit?type=admin.user_created")
	r.want(t, "first page", http.StatusOK, `id="audit-older"`, "Employee created")
	rows := strings.Count(r.Body, "<tr><td class=\"nowrap\">")
	if rows != 50 {
		t.Errorf("first page has %d rows, want 50", rows)
	}
	older := regexp.MustCompile(`<a href="([^"]+)" rel="next" id="audit-older">`).FindStringSubmatch(r.Body)
	if older == nil {
		t.Fatal("no link to older events")
	}
	r = c.get(strings.ReplaceAll(older[1], "&amp;", "&"))
	r.want(t, "second page", http.StatusOK, "Newest")
	if rows := strings.Count(r.Body, "<tr><td class=\"nowrap\">"); rows != 6 { // 55 employees and the first administrator
		t.Errorf("second page has %d rows, want 6", rows)
	}
	if strings.Contains(r.Body, `id="audit-older"`) {
		t.Error("the last page links to older events")
	}

	// Filters: login, dates.
	today := s.Clock().Now().UTC().Format(time.DateOnly)
	r = c.get("/admin/audit?login=U07&since=" + today + "&until=" + today)
	r.want(t, "by login", http.StatusOK, ">u07</a>")
	if strings.Contains(r.Body, ">u08</a>") {
		t.Error("the login filter lets other employees through")
	}
	tomorrow := s.Clock().Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	c.get("/admin/audit?since="+tomorrow).want(t, "future", http.StatusOK, "No events match")
	c.get("/admin/audit?login=nobody").want(t, "unknown login", http.StatusBadRequest, "No employee has the login nobody")
	c.get("/admin/audit?type=made.up").want(t, "unknown type", http.StatusBadRequest)
	c.get("/admin/audit?since=yesterday").want(t, "bad date", http.StatusBadRequest)
	c.get("/admin/audit?since="+tomorrow+"&until="+today).want(t, "reversed days", http.StatusBadRequest)

	// The export link works with the same session and holds the filter.
	r = c.get("/admin/audit?login=u07")
	m := regexp.MustCompile(`<a href="([^"]+)" id="audit-export"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("no export link")
	}
	exp := c.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if exp.Status != http.StatusOK || !strings.HasPrefix(exp.Header.Get("Content-Type"), "application/jsonl") {
		t.Fatalf("export = %d %q", exp.Status, exp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(strings.NewReader(exp.Body))
	n := 0
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if e["user_id"] != apiUser(t, s, admin, "u07")["id"] {
			t.Errorf("export line %v is not about u07", e)
		}
		n++
	}
	if n == 0 {
		t.Error("the export is empty")
	}
}
