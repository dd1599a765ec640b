package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// The pages' forms are read back the way a browser would submit them.
var (
	hiddenRE  = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	pushIDRE  = regexp.MustCompile(`data-push-id="([^"]+)"`)
	groupRE   = regexp.MustCompile(`<span class="group">([0-9]+)</span>`)
	codeRowRE = regexp.MustCompile(`<code>([0-9A-Z]{5}-[0-9A-Z]{5})</code>`)
)

// hidden returns the value of the first hidden field name on the page.
func hidden(t *testing.T, body, name string) string {
	t.Helper()
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return strings.ReplaceAll(m[2], "&#43;", "+")
		}
	}
	t.Fatalf("the page has no hidden field %q", name)
	return ""
}

// shownPush reads the push request id and number a page shows.
func shownPush(t *testing.T, body string) (string, int) {
	t.Helper()
	id := pushIDRE.FindStringSubmatch(body)
	var digits string
	for _, g := range groupRE.FindAllStringSubmatch(body, -1) {
		digits += g[1]
	}
	n, err := strconv.Atoi(digits)
	if id == nil || err != nil || len(digits) != 6 || !strings.Contains(body, `id="push-qr"`) || !strings.Contains(body, "data:image/png;base64,") {
		t.Fatalf("the page shows no push request with a six-digit number and its QR code:\n%s", body)
	}
	return id[1], n
}

func approve(t *testing.T, s *deadbolttest.Server, dev *deviceclient.State, id string, number int) {
	t.Helper()
	reqs, err := dev.Requests(t.Context(), s.Client, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].ID != id || reqs[0].Purpose != "reauth" {
		t.Fatalf("device requests = %+v, want the confirmation %s", reqs, id)
	}
	if st, err := dev.Decide(t.Context(), s.Client, id, "approve", &number, false); err != nil || st != "approved" {
		t.Fatalf("approve = %q, %v", st, err)
	}
}

func codesLeft(t *testing.T, s *deadbolttest.Server, token string) float64 {
	t.Helper()
	return s.Do(t, "GET", "/api/v1/me", token, nil).JSON(t)["two_factor"].(map[string]any)["recovery_codes_left"].(float64)
}

// TestReauthPageCarriesOn: an action that needs a fresh proof leads to the
// confirmation page, which takes the proof by push (sent at once for a
// POST action; the no-JavaScript button collects it), by a code from the
// app, by SMS and by a recovery code, and then performs the action in the
// same POST, without another click. A GET action is reached by redirect;
// next names only known actions; nothing is performed without a proof.
func TestReauthPageCarriesOn(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "rita", "rita-password")
	tok, _ := s.Login(t, "rita", "rita-password")
	dev := pairDevice(t, s, tok)
	if r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("recovery codes: %d %s", r.Status, r.Body)
	}
	var codes struct{ Codes []string }
	json.Unmarshal(s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil).Body, &codes)
	c := newConsole(t, s, tok)
	s.Advance(t, 11*time.Minute)

	// Reload: the push goes out at once; the page shows the number.
	r := c.post("/security/recovery-codes", nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/security/reauth?") {
		t.Fatalf("Reload without a fresh proof = %d to %q, want the confirmation page", r.Status, r.Location)
	}
	loc, _ := url.Parse(r.Location)
	if q := loc.Query(); q.Get("method") != "push" || q.Get("next") != "/security/recovery-codes" || q.Get("push") == "" {
		t.Fatalf("confirmation URL %q, want method push, the push request and next /security/recovery-codes", r.Location)
	}
	page := c.get(r.Location)
	page.want(t, "the confirmation page", http.StatusOK, "To get new recovery codes, confirm it is you", "I approved it on my phone")
	id, number := shownPush(t, page.Body)
	if hidden(t, page.Body, "next") != "/security/recovery-codes" || hidden(t, page.Body, "id") != id {
		t.Errorf("the page's forms do not carry the request and the action")
	}

	// Before the approval, "I approved it" performs nothing.
	left := codesLeft(t, s, tok)
	c.post("/security/reauth/push", url.Values{"id": {id}, "next": {"/security/recovery-codes"}}).
		redirects(t, "I approved it, before approving", "/security/reauth?method=push&next=%2Fsecurity%2Frecovery-codes&push="+id)
	c.post("/security/reauth/continue", url.Values{"next": {"/security/recovery-codes"}}).
		redirects(t, "continue without a proof", "/security/reauth?next=%2Fsecurity%2Frecovery-codes")
	if got := codesLeft(t, s, tok); got != left {
		t.Fatalf("recovery codes changed without a proof: %v left, were %v", got, left)
	}

	// Approved on the phone, the button carries on: new codes, no other click.
	approve(t, s, dev, id, number)
	done := c.post("/security/reauth/push", url.Values{"id": {id}, "next": {"/security/recovery-codes"}})
	done.want(t, "I approved it", http.StatusOK, `id="codes"`)
	newCodes := codeRowRE.FindAllStringSubmatch(done.Body, -1)
	if len(newCodes) != 10 {
		t.Fatalf("the page after the approval shows %d recovery codes, want 10", len(newCodes))
	}
	if newCodes[0][1] == codes.Codes[0] {
		t.Error("the codes shown are the old ones")
	}

	// A GET action: no push is sent for a GET; the proof redirects to it.
	s.Advance(t, 11*time.Minute)
	c.get("/security/2fa/setup").redirects(t, "the pairing wizard without a fresh proof", "/security/reauth?next=%2Fsecurity%2F2fa%2Fsetup")
	if reqs, _ := dev.Requests(t.Context(), s.Client, 0); len(reqs) != 0 {
		t.Errorf("a GET sent a push request: %+v", reqs)
	}
	page = c.get("/security/reauth?next=%2Fsecurity%2F2fa%2Fsetup")
	page.want(t, "the confirmation page for pairing", http.StatusOK, "To pair a device", `id="reauth-push-send"`, "Other methods")
	sent := c.post("/security/reauth/push/new", url.Values{"next": {"/security/2fa/setup"}})
	if sent.Status != http.StatusSeeOther || !strings.Contains(sent.Location, "push=") {
		t.Fatalf("Send a request = %d to %q", sent.Status, sent.Location)
	}
	id, number = shownPush(t, c.get(sent.Location).Body)
	approve(t, s, dev, id, number)
	c.post("/security/reauth/push", url.Values{"id": {id}, "next": {"/security/2fa/setup"}}).
		redirects(t, "I approved it, for pairing", "/security/2fa/setup")

	// A code from the app; the action is disconnecting the device.
	s.Advance(t, 11*time.Minute)
	r = c.post("/security/2fa/device/remove", nil)
	if !strings.HasPrefix(r.Location, "/security/reauth?") {
		t.Fatalf("Disconnect without a fresh proof = %d to %q", r.Status, r.Location)
	}
	page = c.get("/security/reauth?method=totp&next=%2Fsecurity%2F2fa%2Fdevice%2Fremove")
	page.want(t, "the code form", http.StatusOK, "To disconnect your trusted device", `name="code"`)
	s.Advance(t, 30*time.Second)
	code, _ := dev.Code(s.Clock().Now())
	bad := url.Values{"method": {"totp"}, "code": {"000000"}, "next": {"/security/2fa/device/remove"}}
	if code == "000000" {
		bad.Set("code", "111111")
	}
	c.post("/security/reauth", bad).want(t, "a wrong code", http.StatusUnauthorized, "The code is not correct")
	c.post("/security/reauth", url.Values{"method": {"totp"}, "code": {code}, "next": {"/security/2fa/device/remove"}}).
		redirects(t, "the right code", "/security?msg=device_removed")
	if d := s.Do(t, "GET", "/api/v1/me", tok, nil).JSON(t)["two_factor"].(map[string]any)["device"]; d != nil {
		t.Errorf("the device is still there after the confirmation: %v", d)
	}

	// next names only known actions: anything else lands on Security.
	for _, next := range []string{"https://evil.example/", "//evil.example", "/admin", "/security/../admin", "/security/recovery-codes?x=1"} {
		page := c.get("/security/reauth?next=" + url.QueryEscape(next))
		if got := hidden(t, page.Body, "next"); got != "/security" {
			t.Errorf("next=%q: the page carries next %q, want /security", next, got)
		}
	}
}

// TestReauthPageSMSAndRecovery: the SMS choice sends a code (with the
// resend countdown) that confirms; a recovery code confirms, with the
// CAPTCHA after three wrong ones; a password confirms an employee without
// a second factor; a cross-site POST performs nothing.
func TestReauthPageSMSAndRecovery(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "sid", "sid-password")
	tok, _ := s.Login(t, "sid", "sid-password")
	pairDevice(t, s, tok)
	const e164 = "+14155550143"
	if r := s.Do(t, "POST", "/api/v1/me/phone", tok, map[string]string{"phone": e164}); r.Status != http.StatusOK {
		t.Fatalf("link phone: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "POST", "/api/v1/me/phone/confirm", tok, map[string]string{"code": lastSMS(t, s, e164)}); r.Status != http.StatusOK {
		t.Fatalf("confirm phone: %d %s", r.Status, r.Body)
	}
	var codes struct{ Codes []string }
	json.Unmarshal(s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil).Body, &codes)
	c := newConsole(t, s, tok)
	s.Advance(t, 11*time.Minute)

	// SMS: the page's form sends the code, then takes it.
	page := c.get("/security/reauth?method=sms&next=%2Fsecurity%2Fphone%2Fremove")
	page.want(t, "the SMS choice", http.StatusOK, `id="send-sms"`, "Send code")
	sent := c.post("/security/reauth/sms", url.Values{"next": {"/security/phone/remove"}})
	sent.want(t, "Send code", http.StatusOK, `id="sms-sent"`, `id="resend-note" data-seconds="60"`, "Send a new code")
	if hidden(t, sent.Body, "next") != "/security/phone/remove" {
		t.Errorf("the SMS page lost the action")
	}
	c.post("/security/reauth", url.Values{"method": {"sms"}, "code": {lastSMS(t, s, e164)}, "next": {"/security/phone/remove"}}).
		redirects(t, "the SMS code", "/security?msg=phone_removed")
	if p := s.Do(t, "GET", "/api/v1/me", tok, nil).JSON(t)["two_factor"].(map[string]any)["phone"]; p != nil {
		t.Errorf("the phone is still linked after the confirmation: %v", p)
	}

	// Recovery codes: three wrong ones, then the CAPTCHA.
	s.Advance(t, 11*time.Minute)
	next := url.Values{"method": {"recovery"}, "next": {"/security/recovery-codes"}}
	for i := range 3 {
		v := url.Values{"method": {"recovery"}, "code": {"AAAAA-AAAA" + strconv.Itoa(i)}, "next": {"/security/recovery-codes"}}
		c.post("/security/reauth", v).want(t, "a wrong recovery code", http.StatusUnauthorized, "not correct")
	}
	page = c.get("/security/reauth?" + next.Encode())
	page.want(t, "the recovery form after three wrong codes", http.StatusOK, `id="captcha-image"`)
	v := url.Values{"method": {"recovery"}, "code": {codes.Codes[0]}, "next": {"/security/recovery-codes"}}
	c.post("/security/reauth", v).want(t, "a recovery code without the CAPTCHA", http.StatusForbidden, "CAPTCHA")
	page = c.get("/security/reauth?" + next.Encode())
	capID := hidden(t, page.Body, "captcha_id")
	answer := s.Do(t, "GET", "/api/v1/dev/captcha/"+capID, "", nil).JSON(t)["answer"].(string)
	v.Set("captcha_id", capID)
	v.Set("captcha_answer", answer)
	done := c.post("/security/reauth", v)
	done.want(t, "the recovery code with the CAPTCHA", http.StatusOK, `id="codes"`)

	// Cross-site: refused before anything runs.
	s.Advance(t, 11*time.Minute)
	req, _ := http.NewRequest("POST", s.URL+"/security/reauth/push/new", strings.NewReader("next=%2Fsecurity"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /security/reauth/push/new = %d, want 403", resp.StatusCode)
	}
	if r := c.get("/security/reauth/continue"); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET /security/reauth/continue = %d, want 405", r.Status)
	}

	// Without a second factor: the password.
	s.CreateUser(t, admin, "nora", "nora-password")
	nora, _ := s.Login(t, "nora", "nora-password")
	n := newConsole(t, s, nora)
	s.Advance(t, 11*time.Minute)
	n.get("/security/phone").redirects(t, "the phone form without a fresh proof", "/security/reauth?next=%2Fsecurity%2Fphone")
	n.get("/security/reauth?next=%2Fsecurity%2Fphone").want(t, "the password form", http.StatusOK, `id="reauth-password"`, "To link a phone number")
	n.post("/security/reauth", url.Values{"password": {"nope-nope"}, "next": {"/security/phone"}}).want(t, "a wrong password", http.StatusUnauthorized)
	n.post("/security/reauth", url.Values{"password": {"nora-password"}, "next": {"/security/phone"}}).redirects(t, "the password", "/security/phone")

	// A password change asks for the passwords again after the proof:
	// they never pass through the confirmation page.
	s.Advance(t, 11*time.Minute)
	n.get("/security/reauth?next=%2Fsecurity%2Fpassword").want(t, "the confirmation for a password change", http.StatusOK, "To change your password")
	n.post("/security/reauth", url.Values{"password": {"nora-password"}, "next": {"/security/password"}}).
		redirects(t, "the proof for a password change", "/security?msg=reauth_password#password-section")
	n.get("/security?msg=reauth_password").want(t, "the password form", http.StatusOK, "type your current password and the new one again")
}

// lastSMS returns the code of the last SMS to e164 in the dev outbox.
func lastSMS(t *testing.T, s *deadbolttest.Server, e164 string) string {
	t.Helper()
	var out struct {
		Messages []struct{ To, Code string }
	}
	if err := json.Unmarshal(s.Do(t, "GET", "/api/v1/dev/sms", "", nil).Body, &out); err != nil {
		t.Fatal(err)
	}
	for i := len(out.Messages) - 1; i >= 0; i-- {
		if out.Messages[i].To == e164 {
			return out.Messages[i].Code
		}
	}
	t.Fatalf("no SMS to %s", e164)
	return ""
}

// TestPasswordChangeAsksAgainAfterProof: a password change by an employee
// with a second factor and an old proof goes to the confirmation page
// (with the push sent, since it was a POST) and nowhere carries the
// passwords; after the proof the form asks for them again, and then works.
func TestPasswordChangeAsksAgainAfterProof(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "pia", "pia-password")
	tok, _ := s.Login(t, "pia", "pia-password")
	dev := pairDevice(t, s, tok)
	c := newConsole(t, s, tok)
	s.Advance(t, 11*time.Minute)

	change := url.Values{"current": {"pia-password"}, "new": {"pia-new-password-1"}}
	r := c.post("/security/password", change)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/security/reauth?") {
		t.Fatalf("password change without a fresh proof = %d to %q, want the confirmation page", r.Status, r.Location)
	}
	if strings.Contains(r.Location, "pia-") {
		t.Fatalf("the confirmation URL %q carries a password", r.Location)
	}
	page := c.get(r.Location)
	page.want(t, "the confirmation page", http.StatusOK, "To change your password")
	if strings.Contains(page.Body, "pia-") {
		t.Fatal("the confirmation page holds a password")
	}
	id, number := shownPush(t, page.Body)
	approve(t, s, dev, id, number)
	c.post("/security/reauth/push", url.Values{"id": {id}, "next": {"/security/password"}}).
		redirects(t, "I approved it", "/security?msg=reauth_password#password-section")
	c.post("/security/password", change).redirects(t, "the password change after the proof", "/security?msg=password_changed")
	// The change disconnected the device (and no recovery codes were made),
	// so a sign-in goes no further than the password; the old one fails.
	if r := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "pia", "password": "pia-password"}); r.Status != http.StatusUnauthorized {
		t.Errorf("sign-in with the old password = %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "pia", "password": "pia-new-password-1"}); r.Status == http.StatusUnauthorized {
		t.Errorf("sign-in with the new password = %d %s", r.Status, r.Body)
	}
}
