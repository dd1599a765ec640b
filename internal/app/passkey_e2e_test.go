package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/passkey/passkeytest"
)

// Passkeys end to end through the API (SPEC §14), on SQLite and on
// PostgreSQL, with the software authenticator playing the browser and its
// authenticator.

// passkeyServer starts a server whose public URL is a domain name.
func passkeyServer(t *testing.T, st deadbolttest.Store) *deadbolttest.Server {
	return deadbolttest.StartServer(t, deadbolttest.Options{Store: st, PublicHost: "localhost"})
}

// rawCredential embeds a credential's JSON in a request body.
type rawCredential = json.RawMessage

// addPasskey registers a passkey of a for the session tok.
func addPasskey(t *testing.T, s *deadbolttest.Server, tok, name string, a *passkeytest.Authenticator) map[string]any {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/me/passkeys/options", tok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("passkey options: %d %s", r.Status, r.Body)
	}
	cred, err := a.Create(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r = s.Do(t, "POST", "/api/v1/me/passkeys", tok, map[string]any{"name": name, "credential": rawCredential(cred)})
	return e2eStatus(t, "add passkey", r, http.StatusCreated)
}

// passkeyAnswer asks path for options with tok and has a answer them.
func passkeyAnswer(t *testing.T, s *deadbolttest.Server, path, tok string, a *passkeytest.Authenticator) []byte {
	t.Helper()
	r := s.Do(t, "POST", path, tok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	cred, err := a.Get(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// passwordless signs in without a login with a; it answers the response.
func passwordless(t *testing.T, s *deadbolttest.Server, a *passkeytest.Authenticator) *deadbolttest.Response {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/login/passkey/begin", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("begin: %d %s", r.Status, r.Body)
	}
	id, _ := r.JSON(t)["id"].(string)
	cred, err := a.Get(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return s.Do(t, "POST", "/api/v1/login/passkey/finish", "", map[string]any{"id": id, "credential": rawCredential(cred)})
}

func TestPasskeysAPI(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := passkeyServer(t, st)
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "pia", "pia-password")
		tok, _ := s.Login(t, "pia", "pia-password")
		a := passkeytest.New(s.URL)

		// Add one: 2FA turns on, /me and the list show it.
		p := addPasskey(t, s, tok, "Laptop", a)
		if p["name"] != "Laptop" || p["user_verified"] != true || !deadboltID(p["id"]) || p["aaguid"] != "deadb017-0000-0000-0000-000000000000" {
			t.Errorf("added passkey = %v", p)
		}
		me := e2eStatus(t, "me", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK)
		tf := me["two_factor"].(map[string]any)
		if tf["enabled"] != true || tf["passkeys"] != 1.0 {
			t.Errorf("me two_factor = %v, want enabled with 1 passkey", tf)
		}
		list := e2eStatus(t, "list", s.Do(t, "GET", "/api/v1/me/passkeys", tok, nil), http.StatusOK)
		if keys := list["passkeys"].([]any); len(keys) != 1 || list["enabled"] != true || list["max"] != 10.0 {
			t.Errorf("GET /me/passkeys = %v", list)
		}

		// Password, then the passkey.
		_, ans := s.Login(t, "pia", "pia-password")
		pending := ans["session_token"].(string)
		if ans["state"] != "second_factor" || !slices.Contains(anyStrings(ans["methods"]), "passkey") {
			t.Fatalf("login = %v, want second_factor offering passkey", ans)
		}
		cred := passkeyAnswer(t, s, "/api/v1/login/passkey/options", pending, a)
		r := s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
		full := e2eStatus(t, "second factor by passkey", r, http.StatusOK)
		if full["state"] != "authenticated" {
			t.Errorf("second factor = %v", full)
		}
		// Replayed on another sign-in: 401 invalid_code.
		_, ans = s.Login(t, "pia", "pia-password")
		pending = ans["session_token"].(string)
		r = s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
		e2eWantError(t, "replayed assertion", r, http.StatusUnauthorized, "invalid_code")
		// A passkey with a code, or a credential with another method: 400.
		r = s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "passkey", "code": "123456", "credential": rawCredential(cred)})
		e2eWantError(t, "passkey with a code", r, http.StatusBadRequest, "invalid_input")
		r = s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "totp", "code": "123456", "credential": rawCredential(cred)})
		e2eWantError(t, "credential with totp", r, http.StatusBadRequest, "invalid_input")

		// Without a login.
		r = passwordless(t, s, a)
		pl := e2eStatus(t, "passwordless", r, http.StatusOK)
		if pl["state"] != "authenticated" || r.Header.Get("Set-Cookie") == "" {
			t.Errorf("passwordless = %v (cookie %q)", pl, r.Header.Get("Set-Cookie"))
		}
		plTok := pl["session_token"].(string)
		if me := e2eStatus(t, "me", s.Do(t, "GET", "/api/v1/me", plTok, nil), http.StatusOK); me["user"].(map[string]any)["login"] != "pia" {
			t.Errorf("passwordless signed in as %v", me["user"])
		}

		// Strict bodies around the client's JSON.
		for name, body := range map[string]string{
			"unknown field":             `{"id":"x","credential":{},"extra":1}`,
			"credential not an object":  `{"id":"x","credential":"abc"}`,
			"duplicate key in it":       `{"id":"x","credential":{"id":"a","id":"b"}}`,
			"U+0000 in it":              `{"id":"x","credential":{"id":"\u0000"}}`,
			"duplicate credential":      `{"id":"x","credential":{},"credential":{}}`,
			"credential null and no id": `{"credential":null}`,
		} {
			r := s.Do(t, "POST", "/api/v1/login/passkey/finish", "", body)
			if r.Status != http.StatusBadRequest {
				t.Errorf("finish with %s = %d %s, want 400", name, r.Status, r.Body)
			}
		}

		// Rename; remove needs a fresh proof, which a passkey gives.
		id := p["id"].(string)
		r = s.Do(t, "PUT", "/api/v1/me/passkeys/"+id, plTok, map[string]string{"name": "Work laptop"})
		if got := e2eStatus(t, "rename", r, http.StatusOK); got["name"] != "Work laptop" {
			t.Errorf("renamed = %v", got)
		}
		s.Advance(t, 11*time.Minute)
		r = s.Do(t, "DELETE", "/api/v1/me/passkeys/"+id, plTok, nil)
		e2eWantError(t, "remove without a fresh proof", r, http.StatusForbidden, "reauth_required")
		cred = passkeyAnswer(t, s, "/api/v1/me/reauth/passkey/options", plTok, a)
		r = s.Do(t, "POST", "/api/v1/me/reauth", plTok, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
		e2eStatus(t, "reauth with a passkey", r, http.StatusOK)
		r = s.Do(t, "DELETE", "/api/v1/me/passkeys/"+id, plTok, nil)
		e2eStatus(t, "remove", r, http.StatusOK)
		r = s.Do(t, "DELETE", "/api/v1/me/passkeys/"+id, plTok, nil)
		e2eWantError(t, "remove twice", r, http.StatusNotFound, "not_found")
		e2eWantError(t, "passwordless with a removed passkey", passwordless(t, s, a), http.StatusUnauthorized, "invalid_credentials")

		// The audit log has it all.
		types := e2eTypes(e2eEvents(t, s, "/api/v1/me/events?limit=100", plTok))
		for _, typ := range []string{"passkey.added", "passkey.renamed", "passkey.removed", "reauth", "signin.second_factor_failure"} {
			if types[typ] == 0 {
				t.Errorf("no %s event in %v", typ, types)
			}
		}
	})
}

func deadboltID(v any) bool {
	s, _ := v.(string)
	return len(s) == 26
}

// TestPasskeyLockAndLimits: the lock covers passkeys, passwordless too;
// 10 passkeys at most; another employee's passkey proves nothing.
func TestPasskeyLockAndLimits(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := passkeyServer(t, st)
		admin := s.AdminToken(t)
		uid := s.CreateUser(t, admin, "lou", "lou-password")
		s.CreateUser(t, admin, "max", "max-password")
		tok, _ := s.Login(t, "lou", "lou-password")
		a := passkeytest.New(s.URL)
		addPasskey(t, s, tok, "Key 0", a)
		for i := 1; i < 10; i++ {
			addPasskey(t, s, tok, "Key", passkeytest.New(s.URL))
		}
		r := s.Do(t, "POST", "/api/v1/me/passkeys/options", tok, nil)
		e2eWantError(t, "the 11th passkey", r, http.StatusConflict, "limit_reached")

		// Max's passkey, on Lou's pending sign-in.
		maxTok, _ := s.Login(t, "max", "max-password")
		m := passkeytest.New(s.URL)
		addPasskey(t, s, maxTok, "Max's", m)
		_, ans := s.Login(t, "lou", "lou-password")
		pending := ans["session_token"].(string)
		r = s.Do(t, "POST", "/api/v1/login/passkey/options", pending, nil)
		cred, err := m.GetWith(m.Credentials()[0], r.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
		e2eWantError(t, "another employee's passkey", r, http.StatusUnauthorized, "invalid_code")

		// A phishing origin, 99 times more: the 100th failure locks. Then
		// nothing signs Lou in.
		a.Origin = "http://login.localhost.evil.example"
		for i := 0; i < 99; i++ {
			s.Advance(t, 16*time.Minute)
			_, ans := s.Login(t, "lou", "lou-password")
			pending = ans["session_token"].(string)
			cred := passkeyAnswer(t, s, "/api/v1/login/passkey/options", pending, a)
			r := s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
			if want := map[bool]int{false: http.StatusUnauthorized, true: http.StatusLocked}[i == 98]; r.Status != want {
				t.Fatalf("phishing attempt %d = %d %s, want %d", i+1, r.Status, r.Body, want)
			}
		}
		a.Origin = s.URL
		r = s.Do(t, "POST", "/api/v1/login/passkey/options", pending, nil)
		e2eWantError(t, "options once locked", r, http.StatusLocked, "locked")
		e2eWantError(t, "passwordless once locked", passwordless(t, s, a), http.StatusLocked, "locked")
		// An administrator unlocks.
		admin = s.AdminToken(t)
		e2eStatus(t, "unlock", s.Do(t, "POST", "/api/v1/admin/users/"+uid+"/unlock", admin, nil), http.StatusOK)
		e2eStatus(t, "passwordless after unlock", passwordless(t, s, a), http.StatusOK)

		// Without user verification: one factor, no sign-in.
		a.UV = false
		e2eWantError(t, "passwordless without UV", passwordless(t, s, a), http.StatusUnauthorized, "user_verification_required")
	})
}

// TestPasskeysOffWithIP: with an IP public URL, passkeys are off and every
// route says why.
func TestPasskeysOffWithIP(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	r := s.Do(t, "POST", "/api/v1/me/passkeys/options", admin, nil)
	e2eWantError(t, "options", r, http.StatusConflict, "passkeys_unavailable")
	if msg := r.JSON(t)["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "IP address") {
		t.Errorf("message %q does not say why", msg)
	}
	e2eWantError(t, "begin", s.Do(t, "POST", "/api/v1/login/passkey/begin", "", nil), http.StatusConflict, "passkeys_unavailable")
	list := e2eStatus(t, "list", s.Do(t, "GET", "/api/v1/me/passkeys", admin, nil), http.StatusOK)
	if list["enabled"] != false || !strings.Contains(list["disabled_reason"].(string), "IP address") {
		t.Errorf("list = %v", list)
	}
}

// TestPhishingResistantPolicy: past the deadline of a phishing_resistant
// policy, only a passkey completes a sign-in; a TOTP code leads to a
// session limited to setup, where the employee adds a passkey and then
// signs in with it. The administrators' own workgroup cannot be set so
// that no administrator can sign in.
func TestPhishingResistantPolicy(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := passkeyServer(t, st)
		admin := s.AdminToken(t)
		uid := s.CreateUser(t, admin, "ria", "ria-password")
		tok, _ := s.Login(t, "ria", "ria-password")
		dev := pairCLI(t, s, tok)
		wg := e2eStatus(t, "workgroup", s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Finance"}), http.StatusCreated)
		wid := wg["id"].(string)
		s.Do(t, "POST", "/api/v1/admin/workgroups/"+wid+"/members", admin, map[string]string{"user_id": uid})
		deadline := s.Clock().Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		r := s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wid+"/policy", admin, map[string]any{"required": true, "deadline": deadline, "min_method": "phishing_resistant"})
		if got := e2eStatus(t, "policy", r, http.StatusOK); got["policy"].(map[string]any)["min_method"] != "phishing_resistant" {
			t.Errorf("policy = %v", got)
		}
		r = s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wid+"/policy", admin, map[string]any{"required": true, "min_method": "strongest"})
		e2eWantError(t, "bad min_method", r, http.StatusBadRequest, "invalid_input")
		s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wid+"/policy", admin, map[string]any{"required": true, "deadline": deadline, "min_method": "phishing_resistant"})

		// Before the deadline: the banner asks for a passkey; TOTP works.
		me := e2eStatus(t, "me", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusOK)
		banners := me["banners"].([]any)
		if len(banners) == 0 || banners[0].(map[string]any)["kind"] != "two_factor_required" || banners[0].(map[string]any)["min_method"] != "phishing_resistant" ||
			banners[0].(map[string]any)["overdue"] != false {
			t.Errorf("banners = %v, want two_factor_required asking for a passkey", banners)
		}
		totpSignIn := func() map[string]any {
			t.Helper()
			_, ans := s.Login(t, "ria", "ria-password")
			s.Advance(t, 30*time.Second)
			code, _ := dev.Code(s.Clock().Now())
			return e2eStatus(t, "TOTP", s.Do(t, "POST", "/api/v1/login/second-factor", ans["session_token"].(string),
				map[string]string{"method": "totp", "code": code}), http.StatusOK)
		}
		if got := totpSignIn(); got["state"] != "authenticated" {
			t.Errorf("TOTP before the deadline = %v", got)
		}

		// After it: setup only.
		s.Advance(t, 49*time.Hour)
		got := totpSignIn()
		if got["state"] != "setup_required" {
			t.Fatalf("TOTP past the deadline = %v, want setup_required", got)
		}
		setup := got["session_token"].(string)
		e2eWantError(t, "a setup session on the sessions list", s.Do(t, "GET", "/api/v1/me/sessions", setup, nil), http.StatusForbidden, "setup_required")
		me = e2eStatus(t, "me in setup", s.Do(t, "GET", "/api/v1/me", setup, nil), http.StatusOK)
		if b := me["banners"].([]any)[0].(map[string]any); b["overdue"] != true || b["closable"] != false {
			t.Errorf("overdue banner = %v", b)
		}
		a := passkeytest.New(s.URL)
		addPasskey(t, s, setup, "Phone", a)
		// The setup session stays limited; a new sign-in with the passkey is full.
		e2eWantError(t, "still setup", s.Do(t, "GET", "/api/v1/me/sessions", setup, nil), http.StatusForbidden, "setup_required")
		_, ans := s.Login(t, "ria", "ria-password")
		pending := ans["session_token"].(string)
		if m := anyStrings(ans["methods"]); len(m) == 0 || m[0] != "passkey" || ans["push"] != nil {
			t.Errorf("methods past the deadline = %v (push %v), want passkey first and no push", m, ans["push"])
		}
		cred := passkeyAnswer(t, s, "/api/v1/login/passkey/options", pending, a)
		r = s.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
		if got := e2eStatus(t, "passkey past the deadline", r, http.StatusOK); got["state"] != "authenticated" {
			t.Errorf("passkey past the deadline = %v", got)
		}
		if got := e2eStatus(t, "passwordless", passwordless(t, s, a), http.StatusOK); got["state"] != "authenticated" {
			t.Errorf("passwordless past the deadline = %v", got)
		}

		admin = s.AdminToken(t)
		// The administrators' workgroup: refused while no administrator has
		// a passkey, accepted once one has.
		adminID := e2eStatus(t, "admin me", s.Do(t, "GET", "/api/v1/me", admin, nil), http.StatusOK)["user"].(map[string]any)["id"].(string)
		aw := e2eStatus(t, "admins", s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Admins"}), http.StatusCreated)["id"].(string)
		s.Do(t, "POST", "/api/v1/admin/workgroups/"+aw+"/members", admin, map[string]string{"user_id": adminID})
		past := s.Clock().Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		r = s.Do(t, "PUT", "/api/v1/admin/workgroups/"+aw+"/policy", admin, map[string]any{"required": true, "deadline": past, "min_method": "phishing_resistant"})
		e2eWantError(t, "locking the last administrator out", r, http.StatusConflict, "admin_lockout")
		r = s.Do(t, "PUT", "/api/v1/admin/workgroups/"+aw+"/policy", admin, map[string]any{"required": true, "deadline": past, "min_method": "no_sms"})
		e2eStatus(t, "no_sms for administrators", r, http.StatusOK)
		admin = s.AdminToken(t) // a fresh proof
		addPasskey(t, s, admin, "Admin key", passkeytest.New(s.URL))
		r = s.Do(t, "PUT", "/api/v1/admin/workgroups/"+aw+"/policy", admin, map[string]any{"required": true, "deadline": past, "min_method": "phishing_resistant"})
		e2eStatus(t, "phishing_resistant once an administrator has a passkey", r, http.StatusOK)
	})
}

// TestPasskeyTwoNodes: a passkey registered on one node signs in on the
// other (PostgreSQL, one public URL in front of both).
func TestPasskeyTwoNodes(t *testing.T) {
	a := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres, PublicHost: "localhost"})
	b := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres, Database: a.Database, PublicURL: a.URL, PublicHost: "localhost"})
	admin := a.AdminToken(t)
	a.CreateUser(t, admin, "nia", "nia-password")
	tok, _ := a.Login(t, "nia", "nia-password")
	auth := passkeytest.New(a.URL)
	// Options from A, registration finished on B.
	r := a.Do(t, "POST", "/api/v1/me/passkeys/options", tok, nil)
	cred, err := auth.Create(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	e2eStatus(t, "register on B", b.Do(t, "POST", "/api/v1/me/passkeys", tok, map[string]any{"name": "Key", "credential": rawCredential(cred)}), http.StatusCreated)
	// Begin on A, finish on B; then the other way round.
	r = a.Do(t, "POST", "/api/v1/login/passkey/begin", "", nil)
	id := r.JSON(t)["id"].(string)
	cred, _ = auth.Get(r.Body)
	r = b.Do(t, "POST", "/api/v1/login/passkey/finish", "", map[string]any{"id": id, "credential": rawCredential(cred)})
	e2eStatus(t, "passwordless begun on A, finished on B", r, http.StatusOK)
	// The challenge is used up everywhere.
	r = a.Do(t, "POST", "/api/v1/login/passkey/finish", "", map[string]any{"id": id, "credential": rawCredential(cred)})
	e2eWantError(t, "the same assertion on A", r, http.StatusUnauthorized, "invalid_credentials")
	_, ans := b.Login(t, "nia", "nia-password")
	pending := ans["session_token"].(string)
	cred = passkeyAnswer(t, b, "/api/v1/login/passkey/options", pending, auth)
	r = a.Do(t, "POST", "/api/v1/login/second-factor", pending, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
	e2eStatus(t, "second factor begun on B, finished on A", r, http.StatusOK)
}

// TestPasskeyNoticesAndReset: every passkey change is told to the trusted
// device; an administrator's reset of 2FA deletes the passkeys, so a lost
// key signs in no more.
func TestPasskeyNoticesAndReset(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := passkeyServer(t, st)
		admin := s.AdminToken(t)
		uid := s.CreateUser(t, admin, "oli", "oli-password")
		tok, _ := s.Login(t, "oli", "oli-password")
		dev := pairCLI(t, s, tok)
		a := passkeytest.New(s.URL)
		p := addPasskey(t, s, tok, "Key", a)
		s.Do(t, "PUT", "/api/v1/me/passkeys/"+p["id"].(string), tok, map[string]string{"name": "Renamed"})
		second := addPasskey(t, s, tok, "Spare", passkeytest.New(s.URL))
		e2eStatus(t, "remove", s.Do(t, "DELETE", "/api/v1/me/passkeys/"+second["id"].(string), tok, nil), http.StatusOK)
		r := s.Do(t, "GET", "/api/v1/device/notices", dev.DeviceToken, nil)
		var got []string
		for _, n := range e2eStatus(t, "notices", r, http.StatusOK)["notices"].([]any) {
			got = append(got, n.(map[string]any)["type"].(string))
		}
		want := []string{"passkey.removed", "passkey.added", "passkey.renamed", "passkey.added"}
		if !slices.Equal(got, want) {
			t.Errorf("device notices = %v, want %v (newest first)", got, want)
		}

		e2eStatus(t, "passwordless before the reset", passwordless(t, s, a), http.StatusOK)
		e2eStatus(t, "reset 2FA", s.Do(t, "POST", "/api/v1/admin/users/"+uid+"/reset-2fa", admin, nil), http.StatusOK)
		e2eWantError(t, "passwordless after the reset", passwordless(t, s, a), http.StatusUnauthorized, "invalid_credentials")
		tok, ans := s.Login(t, "oli", "oli-password")
		if ans["state"] != "authenticated" {
			t.Errorf("after the reset the password alone = %v", ans)
		}
		if keys := e2eStatus(t, "list", s.Do(t, "GET", "/api/v1/me/passkeys", tok, nil), http.StatusOK)["passkeys"].([]any); len(keys) != 0 {
			t.Errorf("passkeys after the reset = %v", keys)
		}
	})
}

// TestOIDCPasskeyACR: a session opened with a passkey gives applications
// acr phr (amr hwk user mfa); a session proven otherwise, asked for phr,
// steps up with the passkey on the confirmation page.
func TestOIDCPasskeyACR(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := passkeyServer(t, st)
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		tok, _ := s.Login(t, "erin", "erin-password-1")
		a := passkeytest.New(s.URL)
		addPasskey(t, s, tok, "Key", a)
		codes := e2eStatus(t, "codes", s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil), http.StatusOK)["codes"].([]any)
		app := newRPApp(t, s, admin, "Wiki", false, nil)
		rp := newRP(t, s, app)
		base, _ := url.Parse(s.URL)

		// Signed in with the passkey alone.
		pl := e2eStatus(t, "passwordless", passwordless(t, s, a), http.StatusOK)
		b := newRPBrowser(t, s)
		b.client.Jar.SetCookies(base, []*http.Cookie{{Name: e2eSessionCookie, Value: pl["session_token"].(string), Path: "/"}})
		req := rp.start(oauth2.SetAuthURLParam("acr_values", "phr"))
		_, _, claims := rp.exchange(rp.callback(b.get(req.URL), req), req)
		if claims["acr"] != "phr" || !slices.Equal(anyStrings(claims["amr"]), []string{"hwk", "user", "mfa"}) {
			t.Errorf("passkey session: acr %v amr %v, want phr [hwk user mfa]", claims["acr"], claims["amr"])
		}

		// Signed in with the password and a recovery code: mfa; asked for
		// phr, the confirmation page takes the passkey.
		_, ans := s.Login(t, "erin", "erin-password-1")
		r := s.Do(t, "POST", "/api/v1/login/second-factor", ans["session_token"].(string), map[string]string{"method": "recovery", "code": codes[0].(string)})
		full := e2eStatus(t, "recovery code", r, http.StatusOK)["session_token"].(string)
		b2 := newRPBrowser(t, s)
		b2.client.Jar.SetCookies(base, []*http.Cookie{{Name: e2eSessionCookie, Value: full, Path: "/"}})
		req = rp.start(oauth2.SetAuthURLParam("acr_values", "phr"))
		p := b2.get(req.URL)
		if p.URL.Path != "/security/reauth" {
			t.Fatalf("acr_values=phr ended at %s (%d), want the confirmation page", p.URL, p.Status)
		}
		cred := passkeyAnswer(t, s, "/api/v1/me/reauth/passkey/options", full, a)
		e2eStatus(t, "reauth with the passkey", s.Do(t, "POST", "/api/v1/me/reauth", full, map[string]any{"method": "passkey", "credential": rawCredential(cred)}), http.StatusOK)
		p = b2.post("/security/reauth/continue", url.Values{"next": {p.URL.Query().Get("next")}})
		_, _, claims = rp.exchange(rp.callback(p, req), req)
		if claims["acr"] != "phr" || !slices.Contains(anyStrings(claims["amr"]), "hwk") {
			t.Errorf("after the step-up: acr %v amr %v, want phr with hwk", claims["acr"], claims["amr"])
		}
	})
}

// TestPasskeyBeginLimit: anyone may begin a sign-in without a login, and
// each begin keeps a challenge in the store, so an address gets 600 per
// 15 minutes: sent 50 at once, 13 times, exactly 600 are answered with a
// challenge and the rest are 429 rate_limited with retry_after; after the
// window the address signs in with a passkey again.
func TestPasskeyBeginLimit(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := passkeyServer(t, st)
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "pia", "pia-password")
		tok, _ := s.Login(t, "pia", "pia-password")
		a := passkeytest.New(s.URL)
		addPasskey(t, s, tok, "Laptop", a)

		tally := map[string]int{}
		var refused *deadbolttest.Response
		for range 13 {
			for _, r := range gateBurst(t, 50, func(int) *deadbolttest.Response {
				return s.Do(t, "POST", "/api/v1/login/passkey/begin", "", nil)
			}) {
				tally[fmt.Sprintf("%d %s", r.Status, r.ErrorCode())]++
				if r.Status == http.StatusTooManyRequests {
					refused = r
				}
			}
		}
		if want := map[string]int{"200 ": 600, "429 rate_limited": 50}; fmt.Sprint(tally) != fmt.Sprint(want) {
			t.Fatalf("650 begins from one address, 50 at once: %v, want %v", tally, want)
		}
		if ra := gateRetryAfter(t, "a refused begin", refused); ra > 15*time.Minute {
			t.Errorf("retry_after = %v, want within the 15-minute window", ra)
		}
		s.Advance(t, 15*time.Minute+time.Second)
		r := passwordless(t, s, a)
		e2eStatus(t, "passwordless after the window", r, http.StatusOK)
	})
}

// TestPasskeyLockCoversEveryPath: once the second factor is locked, no
// passkey path proves anything, not even with right assertions made just
// before the lock: the second step, a fresh proof, a sign-in without a
// login, and the options of each. 100 wrong assertions sent one after
// the other, with no waiting, reach the lock (the refused ones count).
// The right assertions were never checked, so after an administrator's
// unlock they still work.
func TestPasskeyLockCoversEveryPath(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := passkeyServer(t, st)
		admin := s.AdminToken(t)
		uid := s.CreateUser(t, admin, "liv", "liv-password")
		tok, _ := s.Login(t, "liv", "liv-password")
		a := passkeytest.New(s.URL)
		addPasskey(t, s, tok, "Key", a)

		// A full session, and right assertions for every path.
		_, ans := s.Login(t, "liv", "liv-password")
		p := ans["session_token"].(string)
		cred := passkeyAnswer(t, s, "/api/v1/login/passkey/options", p, a)
		full := e2eStatus(t, "second step", s.Do(t, "POST", "/api/v1/login/second-factor", p,
			map[string]any{"method": "passkey", "credential": rawCredential(cred)}), http.StatusOK)["session_token"].(string)
		_, ans = s.Login(t, "liv", "liv-password")
		pending := ans["session_token"].(string)
		second := passkeyAnswer(t, s, "/api/v1/login/passkey/options", pending, a)
		reauth := passkeyAnswer(t, s, "/api/v1/me/reauth/passkey/options", full, a)
		r := s.Do(t, "POST", "/api/v1/login/passkey/begin", "", nil)
		beginID := e2eStatus(t, "begin", r, http.StatusOK)["id"].(string)
		discover, err := a.Get(r.Body)
		if err != nil {
			t.Fatal(err)
		}

		// 100 wrong assertions at once-after-another: 5 checked, the rest
		// refused and counted, the 100th locks.
		_, ans = s.Login(t, "liv", "liv-password")
		wrongSession := ans["session_token"].(string)
		a.Origin = "http://login.localhost.evil.example"
		tally := map[int]int{}
		for i := range 100 {
			cred := passkeyAnswer(t, s, "/api/v1/login/passkey/options", wrongSession, a)
			r := s.Do(t, "POST", "/api/v1/login/second-factor", wrongSession, map[string]any{"method": "passkey", "credential": rawCredential(cred)})
			tally[r.Status]++
			if i == 99 && r.Status != http.StatusLocked {
				t.Fatalf("the 100th wrong assertion = %d %s, want 423", r.Status, r.Body)
			}
		}
		a.Origin = s.URL
		if want := map[int]int{http.StatusUnauthorized: 5, http.StatusTooManyRequests: 94, http.StatusLocked: 1}; fmt.Sprint(tally) != fmt.Sprint(want) {
			t.Errorf("100 wrong assertions: %v, want %v", tally, want)
		}

		e2eWantError(t, "the right second step once locked", s.Do(t, "POST", "/api/v1/login/second-factor", pending,
			map[string]any{"method": "passkey", "credential": rawCredential(second)}), http.StatusLocked, "locked")
		e2eWantError(t, "the right fresh proof once locked", s.Do(t, "POST", "/api/v1/me/reauth", full,
			map[string]any{"method": "passkey", "credential": rawCredential(reauth)}), http.StatusLocked, "locked")
		e2eWantError(t, "the right passwordless sign-in once locked", s.Do(t, "POST", "/api/v1/login/passkey/finish", "",
			map[string]any{"id": beginID, "credential": rawCredential(discover)}), http.StatusLocked, "locked")
		e2eWantError(t, "second-step options once locked", s.Do(t, "POST", "/api/v1/login/passkey/options", pending, nil), http.StatusLocked, "locked")
		e2eWantError(t, "fresh-proof options once locked", s.Do(t, "POST", "/api/v1/me/reauth/passkey/options", full, nil), http.StatusLocked, "locked")
		e2eWantError(t, "passwordless once locked", passwordless(t, s, a), http.StatusLocked, "locked")

		// Unlocked, the assertions refused without a check still work.
		e2eStatus(t, "unlock", s.Do(t, "POST", "/api/v1/admin/users/"+uid+"/unlock", s.AdminToken(t), nil), http.StatusOK)
		e2eStatus(t, "the second step after the unlock", s.Do(t, "POST", "/api/v1/login/second-factor", pending,
			map[string]any{"method": "passkey", "credential": rawCredential(second)}), http.StatusOK)
		e2eStatus(t, "the fresh proof after the unlock", s.Do(t, "POST", "/api/v1/me/reauth", full,
			map[string]any{"method": "passkey", "credential": rawCredential(reauth)}), http.StatusOK)
		e2eStatus(t, "passwordless after the unlock", s.Do(t, "POST", "/api/v1/login/passkey/finish", "",
			map[string]any{"id": beginID, "credential": rawCredential(discover)}), http.StatusOK)
	})
}
