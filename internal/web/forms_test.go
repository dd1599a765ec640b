package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"deadbolt/internal/deadbolttest"
)

// auditCount counts the audit events of one type.
func auditCount(t *testing.T, s *deadbolttest.Server, admin, typ string) int {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/admin/audit?type="+url.QueryEscape(typ), admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.Status, r.Body)
	}
	return len(r.JSON(t)["events"].([]any))
}

// TestFormsRefuseInvalidText: a page form whose text is not valid UTF-8 (or
// holds U+0000) is refused with 400 before anything reads it: no sign-in
// attempt is made or counted, no code is checked, no password changes.
func TestFormsRefuseInvalidText(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "paula", "paula-password")
		full, _ := s.Login(t, "paula", "paula-password")
		pairDevice(t, s, full)
		pending, _ := s.Login(t, "paula", "paula-password")
		own, _ := s.Login(t, "admin", deadbolttest.AdminPassword)

		bad := []string{"\xff", "\xed\xa0\x80", "a\x00"}
		for _, b := range bad {
			// Sign-in: neither login nor password may be mangled.
			signedOut := newConsole(t, s, "")
			failuresBefore := auditCount(t, s, admin, "signin.failure")
			for _, form := range []url.Values{
				{"login": {"admin" + b}, "password": {deadbolttest.AdminPassword}},
				{"login": {"admin"}, "password": {deadbolttest.AdminPassword + b}},
				{"login" + b: {"admin"}, "password": {deadbolttest.AdminPassword}},
			} {
				r := signedOut.post("/login", form)
				r.want(t, "POST /login with "+strings.ToValidUTF8(form.Encode(), "?"), http.StatusBadRequest, "not valid UTF-8")
				if strings.Contains(r.Header.Get("Set-Cookie"), "session") {
					t.Errorf("POST /login with invalid text set a session cookie")
				}
			}
			if n := auditCount(t, s, admin, "signin.failure"); n != failuresBefore {
				t.Errorf("refused sign-in forms recorded %d failures, want none", n-failuresBefore)
			}

			// Second factor: the code is not checked, so not counted.
			failsBefore := auditCount(t, s, admin, "signin.second_factor_failure")
			newConsole(t, s, pending).post("/login/verify", url.Values{"method": {"totp"}, "code": {"12345" + b}}).
				want(t, "POST /login/verify with an invalid code", http.StatusBadRequest)
			if n := auditCount(t, s, admin, "signin.second_factor_failure"); n != failsBefore {
				t.Errorf("a refused code form counted %d failures, want none", n-failsBefore)
			}

			// Password change: refused, the password stays.
			newConsole(t, s, own).post("/security/password", url.Values{"current": {deadbolttest.AdminPassword}, "new": {"new-password-1" + b}}).
				want(t, "POST /security/password with an invalid new password", http.StatusBadRequest)
			if !canLogin(t, s, "admin", deadbolttest.AdminPassword) {
				t.Fatal("a refused password form changed the password")
			}
		}

		// Valid text still works, and a form over 64 KiB is 413.
		r := newConsole(t, s, "").post("/login", url.Values{"login": {"admin"}, "password": {deadbolttest.AdminPassword}})
		r.redirects(t, "POST /login", "/")
		newConsole(t, s, "").post("/login", url.Values{"login": {"admin"}, "password": {strings.Repeat("x", 70<<10)}}).
			want(t, "POST /login with a 70 KiB form", http.StatusRequestEntityTooLarge)
	})
}
