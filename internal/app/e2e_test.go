package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/signin"
)

// The tests in this file drive the foundation — password sign-in, sessions,
// administration, operations — through real HTTP against a real server, on
// SQLite and on PostgreSQL.

const e2eSessionCookie = "__Host-deadbolt_session"

// e2eSend sends one request and never fails the test, so goroutines can use
// it. body is nil, a string or []byte sent as is, or a value sent as JSON;
// hdr holds header name/value pairs.
func e2eSend(s *deadbolttest.Server, method, path, token string, body any, hdr ...string) (*deadbolttest.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &deadbolttest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// e2eCall is e2eSend that fails the test on a transport error.
func e2eCall(t *testing.T, s *deadbolttest.Server, method, path, token string, body any, hdr ...string) *deadbolttest.Response {
	t.Helper()
	r, err := e2eSend(s, method, path, token, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// e2eWantError checks an API error answer: status, JSON envelope, code.
func e2eWantError(t *testing.T, what string, r *deadbolttest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Errorf("%s = %d %s, want %d %s", what, r.Status, r.Body, status, code)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type = %q, want application/json", what, ct)
	}
	var env struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil || env.Error["message"] == "" || env.Error["message"] == nil {
		t.Errorf("%s: body %s is not an error envelope with a message", what, r.Body)
	}
}

// e2eStatus checks a status and returns the decoded JSON body.
func e2eStatus(t *testing.T, what string, r *deadbolttest.Response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s = %d %s, want %d", what, r.Status, r.Body, status)
	}
	return r.JSON(t)
}

// e2eLogin signs in and returns the token, failing unless the answer is 200.
func e2eLogin(t *testing.T, s *deadbolttest.Server, login, pw string, hdr ...string) string {
	t.Helper()
	r := e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": login, "password": pw}, hdr...)
	m := e2eStatus(t, "login "+login, r, http.StatusOK)
	tok, _ := m["session_token"].(string)
	if m["state"] != "authenticated" || tok == "" {
		t.Fatalf("login %s = %s, want state authenticated and a token", login, r.Body)
	}
	return tok
}

// e2eAlive reports whether a bearer token still opens GET /api/v1/me; any
// other answer than 200 or 401 fails the test.
func e2eAlive(t *testing.T, s *deadbolttest.Server, token string) bool {
	t.Helper()
	r := e2eCall(t, s, "GET", "/api/v1/me", token, nil)
	switch r.Status {
	case http.StatusOK:
		return true
	case http.StatusUnauthorized:
		if r.ErrorCode() != "unauthorized" {
			t.Errorf("GET /me with an ended session: code %q, want unauthorized", r.ErrorCode())
		}
		return false
	}
	t.Fatalf("GET /me = %d %s", r.Status, r.Body)
	return false
}

func e2eSessions(t *testing.T, s *deadbolttest.Server, path, token string) []map[string]any {
	t.Helper()
	m := e2eStatus(t, "GET "+path, e2eCall(t, s, "GET", path, token, nil), http.StatusOK)
	var out []map[string]any
	list, ok := m["sessions"].([]any)
	if !ok {
		t.Fatalf("GET %s: no sessions list in %v", path, m)
	}
	for _, v := range list {
		out = append(out, v.(map[string]any))
	}
	return out
}

func e2eMeSessionID(t *testing.T, s *deadbolttest.Server, token string) string {
	t.Helper()
	m := e2eStatus(t, "GET /me", e2eCall(t, s, "GET", "/api/v1/me", token, nil), http.StatusOK)
	id, _ := m["session"].(map[string]any)["id"].(string)
	if id == "" {
		t.Fatalf("GET /me has no session id: %v", m)
	}
	return id
}

func e2eEvents(t *testing.T, s *deadbolttest.Server, path, token string) []map[string]any {
	t.Helper()
	m := e2eStatus(t, "GET "+path, e2eCall(t, s, "GET", path, token, nil), http.StatusOK)
	var out []map[string]any
	for _, v := range m["events"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func e2eTypes(events []map[string]any) map[string]int {
	n := map[string]int{}
	for _, e := range events {
		n[e["type"].(string)]++
	}
	return n
}

func TestPasswordSignIn(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)

		t.Run("case-insensitive login", func(t *testing.T) {
			for _, login := range []string{"admin", "ADMIN", "Admin", " admin "} {
				r := e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": login, "password": deadbolttest.AdminPassword})
				m := e2eStatus(t, fmt.Sprintf("login(%q)", login), r, http.StatusOK)
				tok, _ := m["session_token"].(string)
				if m["state"] != "authenticated" || len(tok) != 43 {
					t.Errorf("login(%q) = %s, want authenticated with a 43-character token", login, r.Body)
				}
				me := e2eStatus(t, "GET /me", e2eCall(t, s, "GET", "/api/v1/me", tok, nil), http.StatusOK)
				if got := me["user"].(map[string]any)["login"]; got != "admin" {
					t.Errorf("login(%q): /me user.login = %v, want admin", login, got)
				}
			}
		})

		t.Run("session cookie", func(t *testing.T) {
			r := e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": "admin", "password": deadbolttest.AdminPassword})
			m := e2eStatus(t, "login", r, http.StatusOK)
			resp := http.Response{Header: r.Header}
			var c *http.Cookie
			for _, k := range resp.Cookies() {
				if k.Name == e2eSessionCookie {
					c = k
				}
			}
			if c == nil {
				t.Fatalf("login set no %s cookie; Set-Cookie = %q", e2eSessionCookie, r.Header.Values("Set-Cookie"))
			}
			if c.Value != m["session_token"] || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Errorf("cookie = %+v, want the token, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", c)
			}
		})

		t.Run("failures look the same", func(t *testing.T) {
			s.CreateUser(t, admin, "bob", "bob-password-1")
			carol := s.CreateUser(t, admin, "carol", "carol-password-1")
			e2eStatus(t, "deactivate carol", e2eCall(t, s, "POST", "/api/v1/admin/users/"+carol+"/deactivate", admin, nil), http.StatusOK)
			cases := []struct{ name, login, pw string }{
				{"wrong password", "bob", "not-bobs-password"},
				{"unknown login", "nobody-here", "bob-password-1"},
				{"deactivated", "carol", "carol-password-1"},
			}
			var first []byte
			for _, c := range cases {
				r := e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": c.login, "password": c.pw})
				e2eWantError(t, c.name, r, http.StatusUnauthorized, "invalid_credentials")
				if r.Header.Get("Set-Cookie") != "" {
					t.Errorf("%s: a failed sign-in set a cookie: %q", c.name, r.Header.Get("Set-Cookie"))
				}
				if first == nil {
					first = r.Body
				} else if !bytes.Equal(r.Body, first) {
					t.Errorf("%s: body %s differs from %s", c.name, r.Body, first)
				}
			}
			// The right password still opens the active account.
			e2eLogin(t, s, "bob", "bob-password-1")
		})

		t.Run("empty fields", func(t *testing.T) {
			for _, body := range []map[string]string{{"login": "", "password": "x"}, {"login": "admin", "password": ""}, {}} {
				r := e2eCall(t, s, "POST", "/api/v1/login", "", body)
				if r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized {
					t.Errorf("login(%v) = %d %s, want 400 or 401", body, r.Status, r.Body)
				}
			}
		})
	})
}

// e2eRetryAfter checks a 429 answer and returns its wait in seconds.
func e2eRetryAfter(t *testing.T, what string, r *deadbolttest.Response) int {
	t.Helper()
	e2eWantError(t, what, r, http.StatusTooManyRequests, "rate_limited")
	var env struct {
		Error struct {
			RetryAfter *json.Number `json:"retry_after"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil || env.Error.RetryAfter == nil {
		t.Fatalf("%s: no error.retry_after in %s", what, r.Body)
	}
	n, err := strconv.Atoi(env.Error.RetryAfter.String())
	if err != nil || n < 1 {
		t.Fatalf("%s: retry_after = %s, want a whole number of seconds ≥ 1", what, env.Error.RetryAfter)
	}
	if h := r.Header.Get("Retry-After"); h != strconv.Itoa(n) {
		t.Errorf("%s: Retry-After header = %q, want %d", what, h, n)
	}
	return n
}

func TestAccountGuessingLimit(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "dave", "dave-password-1")
		wrong := map[string]string{"login": "dave", "password": "guess-guess"}
		right := map[string]string{"login": "DAVE", "password": "dave-password-1"}

		for i := 1; i <= 10; i++ {
			r := e2eCall(t, s, "POST", "/api/v1/login", "", wrong)
			e2eWantError(t, fmt.Sprintf("failure %d", i), r, http.StatusUnauthorized, "invalid_credentials")
		}
		// From the 11th try on, every try — refused ones too: they were
		// made — doubles the wait; waiting what the refusal said gets the
		// next try checked. Each wait is let pass on the development clock,
		// so the test does not depend on how fast the machine is.
		var waits []int
		for k := range 5 {
			r := e2eCall(t, s, "POST", "/api/v1/login", "", wrong)
			n := e2eRetryAfter(t, fmt.Sprintf("try %d", 11+2*k), r)
			if max := 1 << (2*k + 1); n > max {
				t.Errorf("try %d: retry_after = %d, want ≤ %d", 11+2*k, n, max)
			}
			waits = append(waits, n)
			s.Advance(t, time.Duration(n)*time.Second+time.Second)
			r = e2eCall(t, s, "POST", "/api/v1/login", "", wrong)
			e2eWantError(t, fmt.Sprintf("try %d after the wait", 12+2*k), r, http.StatusUnauthorized, "invalid_credentials")
		}
		if waits[len(waits)-1] <= waits[0] {
			t.Errorf("waits = %v, want them to grow", waits)
		}

		// While limited, even the right password is refused unchecked.
		r := e2eCall(t, s, "POST", "/api/v1/login", "", right)
		n := e2eRetryAfter(t, "right password while limited", r)
		// Other accounts are not affected.
		e2eLogin(t, s, "admin", deadbolttest.AdminPassword)

		s.Advance(t, time.Duration(n)*time.Second+time.Second)
		e2eLogin(t, s, "dave", "dave-password-1")
		// Success resets the streak: the next failure is an ordinary one.
		r = e2eCall(t, s, "POST", "/api/v1/login", "", wrong)
		e2eWantError(t, "failure after success", r, http.StatusUnauthorized, "invalid_credentials")
	})
}

func TestIPGuessingLimit(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		for i := range 10 {
			s.CreateUser(t, admin, fmt.Sprintf("ip-user-%d", i), "ip-user-password")
		}
		// 100 failures from one address: unknown logins and wrong passwords
		// of ten real accounts, at most 5 per account so no account limit
		// is reached.
		for i := 1; i <= 100; i++ {
			login := fmt.Sprintf("ghost-%d", i)
			if i%2 == 0 {
				login = fmt.Sprintf("ip-user-%d", (i/2)%10)
			}
			r := e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": login, "password": "wrong-password"})
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("failure %d (%s) = %d %s, want 401", i, login, r.Status, r.Body)
			}
		}
		cases := []struct{ name, login, pw string }{
			{"right password", "admin", deadbolttest.AdminPassword},
			{"fresh unknown login", "ghost-new", "whatever-pass"},
			{"untouched account", "ip-user-1", "ip-user-password"},
		}
		for _, c := range cases {
			r := e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": c.login, "password": c.pw})
			if n := e2eRetryAfter(t, c.name, r); n > 15*60 {
				t.Errorf("%s: retry_after = %d, want ≤ 900 (the 15-minute window)", c.name, n)
			}
		}
		// Signed-in sessions keep working.
		if !e2eAlive(t, s, admin) {
			t.Error("the administrator's session ended with the IP limit")
		}
		s.Advance(t, 15*time.Minute+time.Second)
		e2eLogin(t, s, "admin", deadbolttest.AdminPassword)
		e2eLogin(t, s, "ip-user-1", "ip-user-password")
	})
}

func TestStrictRequestBodies(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		pw := deadbolttest.AdminPassword
		pad := strings.Repeat("a", 65<<10)

		loginCases := []struct {
			name, body string
			status     int
			code       string
		}{
			{"unknown field", `{"login":"admin","password":"` + pw + `","remember":true}`, 400, "bad_request"},
			{"duplicate key", `{"login":"nobody","login":"admin","password":"` + pw + `"}`, 400, "bad_request"},
			{"case-variant key", `{"Login":"admin","password":"` + pw + `"}`, 400, "bad_request"},
			{"case-variant key 2", `{"login":"admin","PASSWORD":"` + pw + `"}`, 400, "bad_request"},
			{"array", `[]`, 400, "bad_request"},
			{"array of object", `[{"login":"admin","password":"` + pw + `"}]`, 400, "bad_request"},
			{"string", `"x"`, 400, "bad_request"},
			{"number", `1`, 400, "bad_request"},
			{"null", `null`, 400, "bad_request"},
			{"empty", ``, 400, "bad_request"},
			{"trailing garbage", `{"login":"admin","password":"` + pw + `"} x`, 400, "bad_request"},
			{"two objects", `{"login":"admin","password":"` + pw + `"}{}`, 400, "bad_request"},
			{"truncated", `{"login":"admin","password":"` + pw, 400, "bad_request"},
			{"password as number", `{"login":"admin","password":12345678}`, 400, "bad_request"},
			{"login as object", `{"login":{"x":1},"password":"` + pw + `"}`, 400, "bad_request"},
			{"over 64 KiB", `{"login":"admin","password":"` + pw + `","pad":"` + pad + `"}`, 413, "request_too_large"},
			{"over 64 KiB valid fields", `{"login":"admin","password":"` + pad + `"}`, 413, "request_too_large"},
		}
		before := len(e2eSessions(t, s, "/api/v1/me/sessions", admin))
		for _, c := range loginCases {
			r := e2eCall(t, s, "POST", "/api/v1/login", "", c.body)
			e2eWantError(t, "login body "+c.name, r, c.status, c.code)
			if r.Header.Get("Set-Cookie") != "" {
				t.Errorf("login body %s: cookie set: %q", c.name, r.Header.Get("Set-Cookie"))
			}
		}
		if after := len(e2eSessions(t, s, "/api/v1/me/sessions", admin)); after != before {
			t.Errorf("sessions of admin: %d after malformed logins, want %d (none created)", after, before)
		}

		userCases := []struct {
			name, body string
			status     int
			code       string
		}{
			{"unknown field", `{"login":"zed","name":"Zed","password":"zed-password","role":"boss"}`, 400, "bad_request"},
			{"duplicate key", `{"login":"zed","name":"Zed","password":"zed-password","admin":false,"admin":true}`, 400, "bad_request"},
			{"case-variant key", `{"Login":"zed","name":"Zed","password":"zed-password"}`, 400, "bad_request"},
			{"admin as string", `{"login":"zed","name":"Zed","password":"zed-password","admin":"yes"}`, 400, "bad_request"},
			{"array", `[{"login":"zed","name":"Zed","password":"zed-password"}]`, 400, "bad_request"},
			{"trailing garbage", `{"login":"zed","name":"Zed","password":"zed-password"}]`, 400, "bad_request"},
			{"over 64 KiB", `{"login":"zed","name":"` + pad + `","password":"zed-password"}`, 413, "request_too_large"},
		}
		for _, c := range userCases {
			r := e2eCall(t, s, "POST", "/api/v1/admin/users", admin, c.body)
			e2eWantError(t, "create user body "+c.name, r, c.status, c.code)
		}
		m := e2eStatus(t, "list users", e2eCall(t, s, "GET", "/api/v1/admin/users", admin, nil), http.StatusOK)
		for _, u := range m["users"].([]any) {
			if u.(map[string]any)["login"] == "zed" {
				t.Errorf("a malformed request created user zed: %v", u)
			}
		}
		for _, e := range e2eEvents(t, s, "/api/v1/admin/audit?type=admin.user_created", admin) {
			if e["detail"].(map[string]any)["login"] == "zed" {
				t.Errorf("audit records creating zed: %v", e)
			}
		}
		// The well-formed request works, so the cases above failed for
		// their shape alone.
		r := e2eCall(t, s, "POST", "/api/v1/admin/users", admin, `{"login":"zed","name":"Zed","password":"zed-password"}`)
		e2eStatus(t, "create zed", r, http.StatusCreated)
	})
}

func TestSessionTransports(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		tok := e2eLogin(t, s, "admin", deadbolttest.AdminPassword)
		cases := []struct {
			name   string
			token  string
			hdr    []string
			status int
		}{
			{"bearer", tok, nil, 200},
			{"cookie", "", []string{"Cookie", e2eSessionCookie + "=" + tok}, 200},
			{"lower-case bearer", "", []string{"Authorization", "bearer " + tok}, 200},
			{"none", "", nil, 401},
			{"junk bearer", "not-a-token", nil, 401},
			{"unknown token", strings.Repeat("A", 43), nil, 401},
			{"junk cookie", "", []string{"Cookie", e2eSessionCookie + "=junk"}, 401},
			{"cookie of another name", "", []string{"Cookie", "deadbolt_session=" + tok}, 401},
		}
		for _, c := range cases {
			r := e2eCall(t, s, "GET", "/api/v1/me", c.token, nil, c.hdr...)
			if c.status == 200 {
				m := e2eStatus(t, c.name, r, 200)
				if m["user"].(map[string]any)["login"] != "admin" {
					t.Errorf("%s: /me = %s, want admin", c.name, r.Body)
				}
				continue
			}
			e2eWantError(t, c.name, r, c.status, "unauthorized")
		}
	})
}

func TestSessionLifetimes(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "ivy", "ivy-password-1")

		t.Run("idle", func(t *testing.T) {
			tok := e2eLogin(t, s, "ivy", "ivy-password-1")
			for i := range 3 {
				s.Advance(t, 59*time.Minute)
				if !e2eAlive(t, s, tok) {
					t.Fatalf("session ended after %d × 59 min of steady use", i+1)
				}
			}
			s.Advance(t, 61*time.Minute)
			if e2eAlive(t, s, tok) {
				t.Fatal("session alive after 61 idle minutes")
			}
			r := e2eCall(t, s, "GET", "/api/v1/me", tok, nil)
			e2eWantError(t, "GET /me after idle", r, 401, "unauthorized")
		})

		t.Run("absolute", func(t *testing.T) {
			tok := e2eLogin(t, s, "ivy", "ivy-password-1")
			// 28 × 50 min = 23 h 20 min, then 39 more: 23 h 59 min.
			for i := range 28 {
				s.Advance(t, 50*time.Minute)
				if !e2eAlive(t, s, tok) {
					t.Fatalf("session ended after %v of activity every 50 min", time.Duration(i+1)*50*time.Minute)
				}
			}
			s.Advance(t, 39*time.Minute)
			if !e2eAlive(t, s, tok) {
				t.Fatal("session ended before 24 h")
			}
			s.Advance(t, 2*time.Minute)
			if e2eAlive(t, s, tok) {
				t.Fatal("session alive after 24 h despite the absolute lifetime")
			}
		})

		t.Run("logout", func(t *testing.T) {
			tok := e2eLogin(t, s, "ivy", "ivy-password-1")
			other := e2eLogin(t, s, "ivy", "ivy-password-1")
			r := e2eCall(t, s, "POST", "/api/v1/logout", tok, nil)
			e2eStatus(t, "logout", r, 200)
			if c := r.Header.Get("Set-Cookie"); !strings.HasPrefix(c, e2eSessionCookie+"=;") || !strings.Contains(c, "Max-Age=0") {
				t.Errorf("logout Set-Cookie = %q, want the session cookie cleared", c)
			}
			if e2eAlive(t, s, tok) {
				t.Error("session alive after logout")
			}
			if !e2eAlive(t, s, other) {
				t.Error("logout ended another session too")
			}
			e2eWantError(t, "second logout", e2eCall(t, s, "POST", "/api/v1/logout", tok, nil), 401, "unauthorized")
		})

		t.Run("logout all", func(t *testing.T) {
			toks := []string{e2eLogin(t, s, "ivy", "ivy-password-1"), e2eLogin(t, s, "ivy", "ivy-password-1"), e2eLogin(t, s, "ivy", "ivy-password-1")}
			bystander := e2eLogin(t, s, "admin", deadbolttest.AdminPassword)
			r := e2eCall(t, s, "POST", "/api/v1/logout/all", "", nil, "Cookie", e2eSessionCookie+"="+toks[1])
			e2eStatus(t, "logout all", r, 200)
			for i, tok := range toks {
				if e2eAlive(t, s, tok) {
					t.Errorf("session %d alive after logout/all", i)
				}
			}
			if !e2eAlive(t, s, bystander) {
				t.Error("logout/all of ivy ended the administrator's session")
			}
			fresh := e2eLogin(t, s, "ivy", "ivy-password-1")
			if n := len(e2eSessions(t, s, "/api/v1/me/sessions", fresh)); n != 1 {
				t.Errorf("sessions after logout/all and one sign-in = %d, want 1", n)
			}
		})
	})
}

// TestLogoutAllRace signs in and logs out of all devices at the same time,
// over and over. Whatever the interleaving, the session that asked for the
// logout ends, and no session created before the logout was sent survives
// it: a sign-in that read the account before the logout committed must not
// leave a working session behind.
func TestLogoutAllRace(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "rita", "rita-password-1")
		ctx := context.Background()
		survived, ended := 0, 0
		for i := range 40 {
			old := e2eLogin(t, s, "rita", "rita-password-1")
			var (
				wg                 sync.WaitGroup
				start              = make(chan struct{})
				fresh              string
				loginErr, logErr   error
				loginDone, logSent time.Time
				logoutStatus       int
			)
			// Vary which request gets a head start, and by how much, so the
			// two interleave differently from round to round.
			lead := time.Duration(i%5) * 250 * time.Microsecond
			wg.Go(func() {
				<-start
				if i%2 == 1 {
					time.Sleep(lead)
				}
				r, err := e2eSend(s, "POST", "/api/v1/login", "", map[string]string{"login": "rita", "password": "rita-password-1"})
				loginDone = s.Clock().Now()
				if err != nil {
					loginErr = err
					return
				}
				if r.Status != 200 {
					loginErr = fmt.Errorf("login = %d %s", r.Status, r.Body)
					return
				}
				var m struct {
					Token string `json:"session_token"`
				}
				loginErr = json.Unmarshal(r.Body, &m)
				fresh = m.Token
			})
			wg.Go(func() {
				<-start
				if i%2 == 0 {
					time.Sleep(lead)
				}
				logSent = s.Clock().Now()
				r, err := e2eSend(s, "POST", "/api/v1/logout/all", old, nil)
				if err != nil {
					logErr = err
					return
				}
				logoutStatus = r.Status
			})
			close(start)
			wg.Wait()
			if loginErr != nil || logErr != nil {
				t.Fatalf("round %d: %v %v", i, loginErr, logErr)
			}
			if logoutStatus != 200 {
				t.Fatalf("round %d: logout/all = %d", i, logoutStatus)
			}
			if e2eAlive(t, s, old) {
				t.Errorf("round %d: the session that logged out of all devices still works", i)
			}
			if !e2eAlive(t, s, fresh) {
				ended++
				continue
			}
			survived++
			if loginDone.Before(logSent) {
				t.Errorf("round %d: a session signed in before the logout was sent survived it", i)
			}
			h, _ := signin.HashToken(fresh)
			sess, _, err := s.App.Store.SessionByToken(ctx, h)
			if err != nil {
				t.Fatalf("round %d: session of a working token: %v", i, err)
			}
			if sess.CreatedAt.Before(logSent) {
				t.Errorf("round %d: session created at %v survived a logout sent at %v", i,
					sess.CreatedAt.Format(time.RFC3339Nano), logSent.Format(time.RFC3339Nano))
			}
			// The store stamps the account with the logout's time when it
			// ends the sessions; a survivor must have been made after it.
			u, err := s.App.Store.UserByLogin(ctx, "rita")
			if err != nil {
				t.Fatal(err)
			}
			if sess.CreatedAt.Before(u.UpdatedAt) {
				t.Errorf("round %d: session created at %v survived the logout of %v", i,
					sess.CreatedAt.Format(time.RFC3339Nano), u.UpdatedAt.Format(time.RFC3339Nano))
			}
			// End it so the next round starts clean.
			e2eStatus(t, "logout all", e2eCall(t, s, "POST", "/api/v1/logout/all", fresh, nil), 200)
		}
		t.Logf("%d rounds: the concurrent sign-in survived %d times and was ended %d times", survived+ended, survived, ended)
	})
}

func TestPasswordChange(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "pat", "pat-password-old")
		current := e2eLogin(t, s, "pat", "pat-password-old")
		other := e2eLogin(t, s, "pat", "pat-password-old")

		bad := []struct {
			name   string
			body   map[string]string
			status int
			code   string
		}{
			{"wrong current", map[string]string{"current": "not-it-at-all", "new": "pat-password-new"}, 401, "invalid_credentials"},
			{"too short", map[string]string{"current": "pat-password-old", "new": "short"}, 400, "invalid_input"},
			{"same", map[string]string{"current": "pat-password-old", "new": "pat-password-old"}, 400, "invalid_input"},
		}
		for _, c := range bad {
			e2eWantError(t, c.name, e2eCall(t, s, "POST", "/api/v1/me/password", current, c.body), c.status, c.code)
		}
		if !e2eAlive(t, s, other) {
			t.Fatal("a refused password change ended another session")
		}

		r := e2eCall(t, s, "POST", "/api/v1/me/password", current, map[string]string{"current": "pat-password-old", "new": "pat-password-new"})
		e2eStatus(t, "change password", r, 200)
		if !e2eAlive(t, s, current) {
			t.Error("the session that changed the password ended")
		}
		if e2eAlive(t, s, other) {
			t.Error("another session survived the password change")
		}
		e2eLogin(t, s, "pat", "pat-password-new")
		r = e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": "pat", "password": "pat-password-old"})
		e2eWantError(t, "login with the old password", r, 401, "invalid_credentials")
	})
}

func TestSessionList(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "lee", "lee-password-1")
		s.CreateUser(t, admin, "max", "max-password-1")
		const agent = "deadbolt-e2e/1.0 (test)"
		a := e2eLogin(t, s, "lee", "lee-password-1", "User-Agent", agent)
		b := e2eLogin(t, s, "lee", "lee-password-1", "User-Agent", agent)
		c := e2eLogin(t, s, "max", "max-password-1")
		aID, bID, cID := e2eMeSessionID(t, s, a), e2eMeSessionID(t, s, b), e2eMeSessionID(t, s, c)

		list := e2eSessions(t, s, "/api/v1/me/sessions", a)
		if len(list) != 2 {
			t.Fatalf("GET /me/sessions lists %d sessions, want 2: %v", len(list), list)
		}
		var ids []string
		for _, sess := range list {
			for _, k := range []string{"id", "current", "created_at", "last_seen_at", "ip", "user_agent"} {
				if _, ok := sess[k]; !ok {
					t.Errorf("session %v lacks %q", sess, k)
				}
			}
			id, _ := sess["id"].(string)
			ids = append(ids, id)
			if cur := sess["current"]; cur != (id == aID) {
				t.Errorf("session %s: current = %v, want %v", id, cur, id == aID)
			}
			if sess["ip"] != "127.0.0.1" || sess["user_agent"] != agent {
				t.Errorf("session %s: ip %v user_agent %v, want 127.0.0.1 and %q", id, sess["ip"], sess["user_agent"], agent)
			}
			for _, k := range []string{"created_at", "last_seen_at"} {
				v, _ := sess[k].(string)
				if ts, err := time.Parse(time.RFC3339, v); err != nil || !strings.HasSuffix(v, "Z") || ts.IsZero() {
					t.Errorf("session %s: %s = %q, want an RFC 3339 UTC time", id, k, v)
				}
			}
		}
		slices.Sort(ids)
		want := []string{aID, bID}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("session ids = %v, want %v", ids, want)
		}

		// Another employee's session is not found, and stays.
		e2eWantError(t, "end another's session", e2eCall(t, s, "DELETE", "/api/v1/me/sessions/"+cID, a, nil), 404, "not_found")
		e2eWantError(t, "end a made-up session", e2eCall(t, s, "DELETE", "/api/v1/me/sessions/nope", a, nil), 404, "not_found")
		if !e2eAlive(t, s, c) {
			t.Error("max's session ended by lee")
		}
		// One's own other session ends.
		e2eStatus(t, "end own session", e2eCall(t, s, "DELETE", "/api/v1/me/sessions/"+bID, a, nil), 200)
		if e2eAlive(t, s, b) {
			t.Error("the ended session still works")
		}
		if !e2eAlive(t, s, a) {
			t.Error("ending another session ended the current one")
		}
		if n := len(e2eSessions(t, s, "/api/v1/me/sessions", a)); n != 1 {
			t.Errorf("sessions after ending one = %d, want 1", n)
		}
	})
}

func TestAdministration(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		adminID := e2eStatus(t, "me", e2eCall(t, s, "GET", "/api/v1/me", admin, nil), 200)["user"].(map[string]any)["id"].(string)

		r := e2eCall(t, s, "POST", "/api/v1/admin/users", admin, map[string]any{"login": "Emma", "name": "Emma Stone", "password": "emma-password-1"})
		emp := e2eStatus(t, "create emma", r, http.StatusCreated)
		empID, _ := emp["id"].(string)
		if empID == "" || emp["login"] != "emma" || emp["name"] != "Emma Stone" || emp["admin"] != false || emp["active"] != true {
			t.Fatalf("create emma = %s", r.Body)
		}
		empTok := e2eLogin(t, s, "emma", "emma-password-1")

		t.Run("employees are forbidden", func(t *testing.T) {
			reqs := []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/v1/admin/users", nil},
				{"POST", "/api/v1/admin/users", map[string]any{"login": "sneak", "name": "S", "password": "sneak-password"}},
				{"GET", "/api/v1/admin/users/" + adminID, nil},
				{"POST", "/api/v1/admin/users/" + adminID + "/deactivate", nil},
				{"POST", "/api/v1/admin/users/" + adminID + "/reset-password", map[string]any{"password": "taken-over-pw"}},
				{"GET", "/api/v1/admin/users/" + adminID + "/sessions", nil},
				{"DELETE", "/api/v1/admin/users/" + adminID + "/sessions", nil},
				{"GET", "/api/v1/admin/audit", nil},
			}
			for _, q := range reqs {
				e2eWantError(t, q.method+" "+q.path, e2eCall(t, s, q.method, q.path, empTok, q.body), 403, "forbidden")
			}
			if !e2eAlive(t, s, admin) {
				t.Fatal("the administrator's session ended")
			}
			e2eLogin(t, s, "admin", deadbolttest.AdminPassword)
			if r := e2eCall(t, s, "GET", "/api/v1/admin/users/sneak", admin, nil); r.Status != 404 {
				t.Errorf("user sneak = %d %s, want 404", r.Status, r.Body)
			}
			// Without a session: 401, not 403.
			e2eWantError(t, "no session", e2eCall(t, s, "GET", "/api/v1/admin/users", "", nil), 401, "unauthorized")
		})

		t.Run("create", func(t *testing.T) {
			cases := []struct {
				name   string
				body   map[string]any
				status int
				code   string
			}{
				{"taken", map[string]any{"login": "emma", "name": "E", "password": "another-pass"}, 409, "login_taken"},
				{"taken other case", map[string]any{"login": "EMMA", "name": "E", "password": "another-pass"}, 409, "login_taken"},
				{"space", map[string]any{"login": "bad login", "name": "B", "password": "another-pass"}, 400, "invalid_input"},
				{"leading dot", map[string]any{"login": ".dot", "name": "B", "password": "another-pass"}, 400, "invalid_input"},
				{"empty", map[string]any{"login": "", "name": "B", "password": "another-pass"}, 400, "invalid_input"},
				{"too long", map[string]any{"login": strings.Repeat("x", 65), "name": "B", "password": "another-pass"}, 400, "invalid_input"},
				{"short password", map[string]any{"login": "shorty", "name": "B", "password": "short"}, 400, "invalid_input"},
			}
			for _, c := range cases {
				e2eWantError(t, c.name, e2eCall(t, s, "POST", "/api/v1/admin/users", admin, c.body), c.status, c.code)
			}
			r := e2eCall(t, s, "POST", "/api/v1/admin/users", admin, map[string]any{"login": "boss2", "name": "Boss", "password": "boss2-password", "admin": true})
			if m := e2eStatus(t, "create admin", r, 201); m["admin"] != true {
				t.Errorf("create with admin:true = %s", r.Body)
			}
		})

		t.Run("list and get", func(t *testing.T) {
			m := e2eStatus(t, "list", e2eCall(t, s, "GET", "/api/v1/admin/users", admin, nil), 200)
			logins := map[string]bool{}
			for _, u := range m["users"].([]any) {
				logins[u.(map[string]any)["login"].(string)] = true
			}
			for _, want := range []string{"admin", "emma", "boss2"} {
				if !logins[want] {
					t.Errorf("list lacks %s: %v", want, logins)
				}
			}
			if logins["shorty"] || logins["bad login"] {
				t.Errorf("list holds refused users: %v", logins)
			}
			for _, key := range []string{empID, "emma", "EMMA"} {
				g := e2eStatus(t, "get "+key, e2eCall(t, s, "GET", "/api/v1/admin/users/"+key, admin, nil), 200)
				if g["id"] != empID || g["login"] != "emma" {
					t.Errorf("get %s = %v", key, g)
				}
			}
			e2eWantError(t, "get unknown", e2eCall(t, s, "GET", "/api/v1/admin/users/nobody-at-all", admin, nil), 404, "not_found")
		})

		t.Run("deactivate", func(t *testing.T) {
			id := s.CreateUser(t, admin, "dora", "dora-password-1")
			tok := e2eLogin(t, s, "dora", "dora-password-1")
			m := e2eStatus(t, "deactivate", e2eCall(t, s, "POST", "/api/v1/admin/users/"+id+"/deactivate", admin, nil), 200)
			if m["active"] != false {
				t.Errorf("deactivate = %v, want active false", m)
			}
			if e2eAlive(t, s, tok) {
				t.Error("a deactivated employee's session still works")
			}
			e2eWantError(t, "login deactivated", e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": "dora", "password": "dora-password-1"}), 401, "invalid_credentials")
			e2eWantError(t, "deactivate oneself", e2eCall(t, s, "POST", "/api/v1/admin/users/"+adminID+"/deactivate", admin, nil), 400, "invalid_input")
			e2eWantError(t, "deactivate unknown", e2eCall(t, s, "POST", "/api/v1/admin/users/nobody-at-all/deactivate", admin, nil), 404, "not_found")
			g := e2eStatus(t, "get dora", e2eCall(t, s, "GET", "/api/v1/admin/users/"+id, admin, nil), 200)
			if g["active"] != false {
				t.Errorf("dora after deactivation = %v", g)
			}
		})

		t.Run("reset password", func(t *testing.T) {
			id := s.CreateUser(t, admin, "remy", "remy-password-1")
			tok := e2eLogin(t, s, "remy", "remy-password-1")
			e2eWantError(t, "reset to a short password", e2eCall(t, s, "POST", "/api/v1/admin/users/"+id+"/reset-password", admin, map[string]string{"password": "short"}), 400, "invalid_input")
			if !e2eAlive(t, s, tok) {
				t.Fatal("a refused reset ended the session")
			}
			e2eStatus(t, "reset", e2eCall(t, s, "POST", "/api/v1/admin/users/"+id+"/reset-password", admin, map[string]string{"password": "remy-password-2"}), 200)
			if e2eAlive(t, s, tok) {
				t.Error("session survived a password reset")
			}
			e2eLogin(t, s, "remy", "remy-password-2")
			e2eWantError(t, "old password", e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": "remy", "password": "remy-password-1"}), 401, "invalid_credentials")
		})

		t.Run("sessions", func(t *testing.T) {
			id := s.CreateUser(t, admin, "sid", "sid-password-1")
			t1 := e2eLogin(t, s, "sid", "sid-password-1")
			t2 := e2eLogin(t, s, "sid", "sid-password-1")
			list := e2eSessions(t, s, "/api/v1/admin/users/"+id+"/sessions", admin)
			if len(list) != 2 {
				t.Fatalf("sessions of sid = %d, want 2", len(list))
			}
			for _, sess := range list {
				if sess["current"] != false {
					t.Errorf("sid's session %v is the administrator's current one", sess)
				}
			}
			e2eStatus(t, "end sessions", e2eCall(t, s, "DELETE", "/api/v1/admin/users/"+id+"/sessions", admin, nil), 200)
			if e2eAlive(t, s, t1) || e2eAlive(t, s, t2) {
				t.Error("a session survived DELETE /admin/users/{id}/sessions")
			}
			if n := len(e2eSessions(t, s, "/api/v1/admin/users/"+id+"/sessions", admin)); n != 0 {
				t.Errorf("sessions after ending them = %d, want 0", n)
			}
			if !e2eAlive(t, s, admin) {
				t.Error("ending sid's sessions ended the administrator's")
			}
		})

		t.Run("audit", func(t *testing.T) {
			// Produce one of each event the foundation records.
			s.CreateUser(t, admin, "aud", "aud-password-1")
			e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": "aud", "password": "wrong-password"})
			a1 := e2eLogin(t, s, "aud", "aud-password-1")
			e2eStatus(t, "logout", e2eCall(t, s, "POST", "/api/v1/logout", a1, nil), 200)
			a2 := e2eLogin(t, s, "aud", "aud-password-1")
			e2eStatus(t, "password", e2eCall(t, s, "POST", "/api/v1/me/password", a2, map[string]string{"current": "aud-password-1", "new": "aud-password-2"}), 200)
			e2eStatus(t, "logout all", e2eCall(t, s, "POST", "/api/v1/logout/all", a2, nil), 200)

			events := e2eEvents(t, s, "/api/v1/admin/audit?limit=1000", admin)
			types := e2eTypes(events)
			for _, want := range []string{"signin.success", "signin.failure", "logout", "logout.all", "password.changed",
				"admin.user_created", "admin.user_deactivated", "admin.password_reset", "admin.sessions_ended"} {
				if types[want] == 0 {
					t.Errorf("audit lacks %s; has %v", want, types)
				}
			}
			for _, e := range events {
				for _, k := range []string{"id", "type", "at", "user_id", "ip", "detail"} {
					if _, ok := e[k]; !ok {
						t.Errorf("event %v lacks %q", e, k)
					}
				}
				if at, _ := e["at"].(string); !strings.HasSuffix(at, "Z") {
					t.Errorf("event at = %q, want RFC 3339 UTC", at)
				}
			}
			// Filter by type.
			for _, e := range e2eEvents(t, s, "/api/v1/admin/audit?type=logout.all", admin) {
				if e["type"] != "logout.all" {
					t.Errorf("type filter returned %v", e["type"])
				}
			}

			// JSON lines export: the same events, one per line.
			r := e2eCall(t, s, "GET", "/api/v1/admin/audit?format=jsonl&limit=1000", admin, nil)
			if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/jsonl") {
				t.Fatalf("jsonl export = %d %q", r.Status, r.Header.Get("Content-Type"))
			}
			var lines []map[string]any
			sc := bufio.NewScanner(bytes.NewReader(r.Body))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("jsonl line %q: %v", sc.Text(), err)
				}
				lines = append(lines, m)
			}
			if len(lines) < len(events) {
				t.Errorf("jsonl export has %d lines, want at least %d", len(lines), len(events))
			}
			lt := e2eTypes(lines)
			for typ, n := range types {
				if lt[typ] < n {
					t.Errorf("jsonl export has %d %s events, want ≥ %d", lt[typ], typ, n)
				}
			}

			// An employee sees only their own events.
			a3 := e2eLogin(t, s, "aud", "aud-password-2")
			own := e2eEvents(t, s, "/api/v1/me/events", a3)
			if len(own) == 0 {
				t.Fatal("GET /me/events is empty")
			}
			audID := e2eStatus(t, "me", e2eCall(t, s, "GET", "/api/v1/me", a3, nil), 200)["user"].(map[string]any)["id"]
			for _, e := range own {
				if e["user_id"] != audID {
					t.Errorf("GET /me/events holds an event of %v: %v", e["user_id"], e)
				}
			}
			ot := e2eTypes(own)
			for _, want := range []string{"signin.success", "signin.failure", "logout", "logout.all", "password.changed"} {
				if ot[want] == 0 {
					t.Errorf("own events lack %s: %v", want, ot)
				}
			}
			// Asking for someone else's events through the filter does not work.
			for _, e := range e2eEvents(t, s, "/api/v1/me/events?user_id="+adminID, a3) {
				if e["user_id"] != audID {
					t.Errorf("GET /me/events?user_id=admin leaked %v", e)
				}
			}
		})
	})
}

func TestOperations(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)

		t.Run("health", func(t *testing.T) {
			for _, p := range []string{"/healthz", "/readyz"} {
				if r := e2eCall(t, s, "GET", p, "", nil); r.Status != 200 {
					t.Errorf("GET %s = %d %s", p, r.Status, r.Body)
				}
			}
			r := e2eCall(t, s, "GET", "/metrics", "", nil)
			if r.Status != 200 || !bytes.Contains(r.Body, []byte("deadbolt_http_requests_total")) {
				t.Errorf("GET /metrics = %d, want deadbolt_http_requests_total in:\n%.500s", r.Status, r.Body)
			}
		})

		t.Run("headers", func(t *testing.T) {
			reqs := []struct{ method, path, token, body string }{
				{"GET", "/healthz", "", ""},
				{"GET", "/readyz", "", ""},
				{"GET", "/metrics", "", ""},
				{"GET", "/login", "", ""},
				{"GET", "/", "", ""},
				{"GET", "/security", admin, ""},
				{"GET", "/static/style.css", "", ""},
				{"GET", "/api/v1/openapi.json", "", ""},
				{"GET", "/api/v1/me", admin, ""},
				{"GET", "/api/v1/me", "", ""},
				{"POST", "/api/v1/login", "", "[]"},
				{"GET", "/api/v1/x", "", ""},
				{"GET", "/no/such/page", "", ""},
			}
			for _, q := range reqs {
				var body any
				if q.body != "" {
					body = q.body
				}
				r := e2eCall(t, s, q.method, q.path, q.token, body)
				if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s %s (%d): X-Content-Type-Options = %q, want nosniff", q.method, q.path, r.Status, got)
				}
			}
			for _, p := range []string{"/login", "/", "/security", "/admin"} {
				r := e2eCall(t, s, "GET", p, "", nil)
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
					t.Errorf("GET %s: Content-Type %q, want a page", p, r.Header.Get("Content-Type"))
				}
				if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("GET %s: Content-Security-Policy = %q, want frame-ancestors 'none'", p, csp)
				}
			}
		})

		t.Run("unknown API path", func(t *testing.T) {
			for _, q := range [][2]string{{"GET", "/api/v1/x"}, {"POST", "/api/v1/x"}, {"GET", "/api/v1/"}, {"DELETE", "/api/v2/me"}} {
				e2eWantError(t, q[0]+" "+q[1], e2eCall(t, s, q[0], q[1], admin, nil), 404, "not_found")
			}
		})

		t.Run("cross-origin", func(t *testing.T) {
			tok := e2eLogin(t, s, "admin", deadbolttest.AdminPassword)
			before := e2eTypes(e2eEvents(t, s, "/api/v1/admin/audit?type=logout.all", admin))["logout.all"]
			cases := []struct {
				name string
				hdr  []string
			}{
				{"sec-fetch-site bearer", []string{"Authorization", "Bearer " + tok, "Sec-Fetch-Site", "cross-site"}},
				{"sec-fetch-site cookie", []string{"Cookie", e2eSessionCookie + "=" + tok, "Sec-Fetch-Site", "cross-site"}},
				{"same-site is not same-origin", []string{"Cookie", e2eSessionCookie + "=" + tok, "Sec-Fetch-Site", "same-site"}},
				{"origin", []string{"Authorization", "Bearer " + tok, "Origin", "https://evil.example"}},
				{"origin cookie", []string{"Cookie", e2eSessionCookie + "=" + tok, "Origin", "https://evil.example"}},
			}
			for _, c := range cases {
				e2eWantError(t, c.name, e2eCall(t, s, "POST", "/api/v1/logout/all", "", nil, c.hdr...), 403, "forbidden")
				if !e2eAlive(t, s, tok) {
					t.Fatalf("%s: a refused cross-origin logout/all ended the session", c.name)
				}
			}
			if after := e2eTypes(e2eEvents(t, s, "/api/v1/admin/audit?type=logout.all", admin))["logout.all"]; after != before {
				t.Errorf("logout.all events: %d after refused requests, want %d", after, before)
			}
			// A same-origin request does go through.
			r := e2eCall(t, s, "POST", "/api/v1/logout/all", "", nil, "Cookie", e2eSessionCookie+"="+tok, "Sec-Fetch-Site", "same-origin", "Origin", s.URL)
			e2eStatus(t, "same-origin logout/all", r, 200)
			if e2eAlive(t, s, tok) {
				t.Error("session alive after a same-origin logout/all")
			}
		})

		t.Run("dev paths", func(t *testing.T) {
			for _, p := range []string{"/api/v1/dev/clock", "/api/v1/dev/sms"} {
				if r := e2eCall(t, s, "GET", p, "", nil); r.Status != 200 {
					t.Errorf("dev mode: GET %s = %d %s", p, r.Status, r.Body)
				}
			}
			prod := deadbolttest.StartServer(t, deadbolttest.Options{Store: st, NoDev: true})
			reqs := []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/v1/dev/clock", nil},
				{"POST", "/api/v1/dev/clock", map[string]string{"advance": "36h"}},
				{"GET", "/api/v1/dev/sms", nil},
				{"GET", "/api/v1/dev/captcha/x", nil},
			}
			for _, q := range reqs {
				e2eWantError(t, "without dev: "+q.method+" "+q.path, e2eCall(t, prod, q.method, q.path, "", q.body), 404, "not_found")
			}
			// The clock did not move: a fresh session is not already expired
			// and the server still answers.
			tok := e2eLogin(t, prod, "admin", deadbolttest.AdminPassword)
			if !e2eAlive(t, prod, tok) {
				t.Error("without dev mode, a fresh session does not work")
			}
		})
	})
}

// e2eLogBuffer is a bytes.Buffer safe for the server's concurrent writes.
type e2eLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *e2eLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsHoldNoSecrets(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		var logs e2eLogBuffer
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st, Logs: &logs})
		admin := s.AdminToken(t)
		const (
			first  = "Quokka-Marzipan-7319"
			second = "Narwhal-Tangerine-5582"
			wrong  = "Axolotl-Pumpernickel-2047"
		)
		s.CreateUser(t, admin, "logan", first)
		tok := e2eLogin(t, s, "logan", first)
		e2eAlive(t, s, tok)
		e2eCall(t, s, "GET", "/api/v1/me?token="+tok, tok, nil)
		e2eCall(t, s, "GET", "/security", "", nil, "Cookie", e2eSessionCookie+"="+tok)
		e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": "logan", "password": wrong})
		e2eCall(t, s, "POST", "/api/v1/login", "", map[string]string{"login": "no-such-logan", "password": wrong})
		e2eCall(t, s, "POST", "/api/v1/login", "", `{"login":"logan","password":"`+wrong+`","x":1}`)
		e2eStatus(t, "change password", e2eCall(t, s, "POST", "/api/v1/me/password", tok, map[string]string{"current": first, "new": second}), 200)
		e2eCall(t, s, "GET", "/api/v1/me", strings.Repeat("Z", 43), nil)

		out := logs.String()
		// The log is there and detailed, so the absence below means something.
		if !strings.Contains(out, "/api/v1/login") || !strings.Contains(out, "/api/v1/me/password") {
			t.Fatalf("the log lacks the requests made:\n%s", out)
		}
		secrets := map[string]string{
			"password": first, "new password": second, "wrong password": wrong,
			"token": tok, "admin token": admin, "admin password": deadbolttest.AdminPassword,
			"made-up token": strings.Repeat("Z", 43),
		}
		for name, v := range secrets {
			if strings.Contains(out, v) {
				t.Errorf("the log holds the %s", name)
			}
		}
	})
}
