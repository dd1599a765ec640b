package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/app"
	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/password"
	"deadbolt/internal/phone"
	"deadbolt/internal/sms"
	"deadbolt/internal/store/postgres/pgtest"
)

// The tests in this file drive phone numbers and SMS codes through the
// API: linking a number, the one-account-per-number rule and its
// administration, SMS sign-in with its resend interval, tries, binding and
// expiry, and a real HTTP webhook provider.

const (
	smsNumber  = "+14155550143"
	smsMasked  = "+1 (•••) •••-0143"
	smsWording = `^Your Deadbolt sign-in code is ([0-9]{6})\. It expires in 5 minutes\. Do not share it\.$`
)

var smsBody = regexp.MustCompile(smsWording)

// smsOutbox lists the development outbox.
func smsOutbox(t *testing.T, s *deadbolttest.Server) []map[string]any {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/dev/sms", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/dev/sms = %d %s", r.Status, r.Body)
	}
	var out struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

// smsLastCode returns the code of the last message to e164, checking the
// message's shape; it fails the test if there is none.
func smsLastCode(t *testing.T, s *deadbolttest.Server, e164 string) string {
	t.Helper()
	msgs := smsOutbox(t, s)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m["to"] != e164 {
			continue
		}
		code, _ := m["code"].(string)
		match := smsBody.FindStringSubmatch(fmt.Sprint(m["body"]))
		if match == nil || match[1] != code {
			t.Fatalf("message %v: body is not the server wording around code %q", m, code)
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(m["sent_at"])); err != nil {
			t.Errorf("message sent_at %v is not RFC 3339", m["sent_at"])
		}
		return code
	}
	t.Fatalf("no SMS to %s in the outbox %v", e164, msgs)
	return ""
}

// smsWant checks an answer's status and error code ("" for success).
func smsWant(t *testing.T, what string, r *deadbolttest.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("%s = %d %s, want %d %q", what, r.Status, r.Body, status, code)
	}
	return r.JSON(t)
}

// smsWrong returns a 6-digit code other than code.
func smsWrong(code string, k int) string {
	n := 0
	for _, c := range code {
		n = n*10 + int(c-'0')
	}
	return fmt.Sprintf("%06d", (n+k)%1_000_000)
}

// smsLink links e164, typed as input, to the signed-in employee through
// the API.
func smsLink(t *testing.T, s *deadbolttest.Server, token, input, e164 string) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/me/phone", token, map[string]string{"phone": input})
	m := smsWant(t, "POST /me/phone", r, http.StatusOK, "")
	if m["sent_to"] != phone.Mask(e164) || m["resend_after"] != float64(60) {
		t.Errorf("POST /me/phone = %v, want the masked number and resend_after 60", m)
	}
	code := smsLastCode(t, s, e164)
	r = s.Do(t, "POST", "/api/v1/me/phone/confirm", token, map[string]string{"code": code})
	smsWant(t, "POST /me/phone/confirm", r, http.StatusOK, "")
}

func TestPhoneLink(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		aliceID := s.CreateUser(t, admin, "alice", "alice-password")
		s.CreateUser(t, admin, "bob", "bob-password")
		alice, _ := s.Login(t, "alice", "alice-password")
		bob, _ := s.Login(t, "bob", "bob-password")

		// Bad input changes nothing and sends nothing.
		smsWant(t, "POST /me/phone (toll-free number)", s.Do(t, "POST", "/api/v1/me/phone", alice, map[string]string{"phone": "+1 800 555 0100"}), http.StatusBadRequest, "invalid_input")
		smsWant(t, "POST /me/phone (unknown field)", s.Do(t, "POST", "/api/v1/me/phone", alice, `{"phone":"+14155550143","name":"x"}`), http.StatusBadRequest, "bad_request")
		smsWant(t, "POST /me/phone (number as JSON number)", s.Do(t, "POST", "/api/v1/me/phone", alice, `{"phone":14155550143}`), http.StatusBadRequest, "bad_request")
		if n := len(smsOutbox(t, s)); n != 0 {
			t.Fatalf("outbox holds %d messages after refused requests", n)
		}
		smsWant(t, "confirm before asking", s.Do(t, "POST", "/api/v1/me/phone/confirm", alice, map[string]string{"code": "123456"}), http.StatusNotFound, "not_found")

		// Alice links her number, typed in the national form.
		r := s.Do(t, "POST", "/api/v1/me/phone", alice, map[string]string{"phone": "(415) 555-0143"})
		m := smsWant(t, "POST /me/phone", r, http.StatusOK, "")
		if m["sent_to"] != smsMasked || m["resend_after"] != float64(60) {
			t.Errorf("POST /me/phone = %v", m)
		}
		code := smsLastCode(t, s, smsNumber)
		smsWant(t, "confirm with a wrong code", s.Do(t, "POST", "/api/v1/me/phone/confirm", alice, map[string]string{"code": smsWrong(code, 1)}), http.StatusUnauthorized, "invalid_code")
		smsWant(t, "confirm", s.Do(t, "POST", "/api/v1/me/phone/confirm", alice, map[string]string{"code": code}), http.StatusOK, "")
		smsWant(t, "confirm the same code again", s.Do(t, "POST", "/api/v1/me/phone/confirm", alice, map[string]string{"code": code}), http.StatusUnauthorized, "invalid_code")
		me := s.Do(t, "GET", "/api/v1/me", alice, nil).JSON(t)
		if tf := me["two_factor"].(map[string]any); tf["phone"] != smsMasked || tf["enabled"] != false {
			t.Errorf("two_factor after linking = %v, want the masked number and 2FA still off", tf)
		}

		// Bob cannot take it: the message sends him to an administrator.
		r = s.Do(t, "POST", "/api/v1/me/phone", bob, map[string]string{"phone": "+1 415-555-0143"})
		smsWant(t, "bob links alice's number", r, http.StatusConflict, "phone_in_use")
		if !strings.Contains(string(r.Body), "administrator") {
			t.Errorf("phone_in_use message %s does not tell to ask an administrator", r.Body)
		}

		// The administrator finds the holder and frees the number.
		smsWant(t, "lookup by an employee", s.Do(t, "GET", "/api/v1/admin/phones/%2B14155550143", bob, nil), http.StatusForbidden, "forbidden")
		for _, path := range []string{"/api/v1/admin/phones/%2B14155550143", "/api/v1/admin/phones/+14155550143"} {
			m := smsWant(t, "GET "+path, s.Do(t, "GET", path, admin, nil), http.StatusOK, "")
			if u := m["user"].(map[string]any); u["id"] != aliceID || u["login"] != "alice" {
				t.Errorf("GET %s = %v, want alice", path, m)
			}
		}
		smsWant(t, "remove by an employee", s.Do(t, "DELETE", "/api/v1/admin/users/"+aliceID+"/phone", bob, nil), http.StatusForbidden, "forbidden")
		smsWant(t, "remove", s.Do(t, "DELETE", "/api/v1/admin/users/"+aliceID+"/phone", admin, nil), http.StatusOK, "")
		smsWant(t, "remove again", s.Do(t, "DELETE", "/api/v1/admin/users/"+aliceID+"/phone", admin, nil), http.StatusNotFound, "not_found")
		smsWant(t, "lookup of a free number", s.Do(t, "GET", "/api/v1/admin/phones/%2B14155550143", admin, nil), http.StatusNotFound, "not_found")
		r = s.Do(t, "GET", "/api/v1/admin/audit?type=admin.phone_removed", admin, nil)
		if ev := smsWant(t, "audit", r, http.StatusOK, "")["events"].([]any); len(ev) != 1 || ev[0].(map[string]any)["user_id"] != aliceID {
			t.Errorf("admin.phone_removed events = %v", ev)
		}

		// Now bob links it; alice has none to remove.
		smsLink(t, s, bob, smsNumber, smsNumber)
		smsWant(t, "alice removes a number she no longer has", s.Do(t, "DELETE", "/api/v1/me/phone", alice, nil), http.StatusNotFound, "not_found")
		smsWant(t, "bob removes his", s.Do(t, "DELETE", "/api/v1/me/phone", bob, nil), http.StatusOK, "")
		r = s.Do(t, "GET", "/api/v1/me/events", bob, nil)
		types := map[string]int{}
		for _, e := range smsWant(t, "events", r, http.StatusOK, "")["events"].([]any) {
			types[e.(map[string]any)["type"].(string)]++
		}
		if types["phone.linked"] != 1 || types["phone.removed"] != 1 || types["sms.sent"] != 1 {
			t.Errorf("bob's events = %v, want one each of sms.sent, phone.linked, phone.removed", types)
		}

		// Changing a factor needs a fresh proof.
		s.Advance(t, 11*time.Minute)
		smsWant(t, "POST /me/phone without a fresh proof", s.Do(t, "POST", "/api/v1/me/phone", bob, map[string]string{"phone": smsNumber}), http.StatusForbidden, "reauth_required")
		smsWant(t, "reauth", s.Do(t, "POST", "/api/v1/me/reauth", bob, map[string]string{"password": "bob-password"}), http.StatusOK, "")
		smsWant(t, "POST /me/phone after reauth", s.Do(t, "POST", "/api/v1/me/phone", bob, map[string]string{"phone": smsNumber}), http.StatusOK, "")
	})
}

func TestPhoneLinkRaceAPI(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		var tokens []string
		for _, login := range []string{"alice", "bob"} {
			s.CreateUser(t, admin, login, login+"-password")
			tok, _ := s.Login(t, login, login+"-password")
			tokens = append(tokens, tok)
			smsWant(t, login+" asks", s.Do(t, "POST", "/api/v1/me/phone", tok, map[string]string{"phone": smsNumber}), http.StatusOK, "")
		}
		msgs := smsOutbox(t, s)
		if len(msgs) != 2 {
			t.Fatalf("outbox = %v, want two codes", msgs)
		}
		var wg sync.WaitGroup
		status := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e2eSend(s, "POST", "/api/v1/me/phone/confirm", tokens[i], map[string]any{"code": msgs[i]["code"]})
				if err == nil {
					status[i] = r.Status
				}
			}()
		}
		wg.Wait()
		slices.Sort(status)
		if status[0] != http.StatusOK || status[1] != http.StatusConflict {
			t.Errorf("two employees confirming one number at once = %v, want one 200 and one 409", status)
		}
	})
}

func TestSMSSignIn(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "alice", "alice-password")
		tok, _ := s.Login(t, "alice", "alice-password")

		// A number alone does not turn 2FA on, and SMS is not offered.
		smsLink(t, s, tok, smsNumber, smsNumber)
		if _, ans := s.Login(t, "alice", "alice-password"); ans["state"] != "authenticated" {
			t.Fatalf("login with only a phone = %v, want authenticated", ans)
		}
		pairDevice(t, s, tok)

		login := func() string {
			t.Helper()
			pending, ans := s.Login(t, "alice", "alice-password")
			methods := fmt.Sprint(ans["methods"])
			if ans["state"] != "second_factor" || !strings.Contains(methods, "totp sms") {
				t.Fatalf("login = %v, want a second factor with totp then sms", ans)
			}
			return pending
		}
		send := func(pending string) string {
			t.Helper()
			m := smsWant(t, "POST /login/sms", s.Do(t, "POST", "/api/v1/login/sms", pending, nil), http.StatusOK, "")
			if m["sent_to"] != smsMasked || m["resend_after"] != float64(60) {
				t.Errorf("POST /login/sms = %v", m)
			}
			return smsLastCode(t, s, smsNumber)
		}
		prove := func(pending, code string) *deadbolttest.Response {
			t.Helper()
			return secondFactor(t, s, pending, map[string]any{"method": "sms", "code": code})
		}

		smsWant(t, "POST /login/sms with a full session", s.Do(t, "POST", "/api/v1/login/sms", tok, nil), http.StatusBadRequest, "bad_request")
		smsWant(t, "POST /login/sms without a session", s.Do(t, "POST", "/api/v1/login/sms", "", nil), http.StatusUnauthorized, "unauthorized")

		// A code is bound to its sign-in.
		a := login()
		codeA := send(a)
		r := s.Do(t, "POST", "/api/v1/login/sms", a, nil)
		smsWant(t, "resend before 60 s", r, http.StatusTooManyRequests, "rate_limited")
		if ra := r.JSON(t)["error"].(map[string]any)["retry_after"].(float64); ra < 1 || ra > 60 || r.Header.Get("Retry-After") == "" {
			t.Errorf("resend too early: retry_after %v, Retry-After %q", ra, r.Header.Get("Retry-After"))
		}
		b := login()
		send(b)
		smsWant(t, "code of sign-in A on sign-in B", prove(b, codeA), http.StatusUnauthorized, "invalid_code")

		// After 60 s a resend works and voids the old code.
		s.Advance(t, 61*time.Second)
		codeA2 := send(a)
		if codeA2 != codeA {
			smsWant(t, "the replaced code", prove(a, codeA), http.StatusUnauthorized, "invalid_code")
		}
		r = prove(a, codeA2)
		m := smsWant(t, "SMS sign-in", r, http.StatusOK, "")
		if m["state"] != "authenticated" || m["session_token"] == "" {
			t.Fatalf("SMS sign-in = %v", m)
		}
		if r := s.Do(t, "GET", "/api/v1/me", m["session_token"].(string), nil); r.Status != http.StatusOK {
			t.Errorf("the SMS session cannot reach /me: %d", r.Status)
		}
		smsWant(t, "the used code on the same sign-in", prove(a, codeA2), http.StatusUnauthorized, "unauthorized")

		// Five wrong tries kill a code; they also count as second-factor
		// failures, so the sixth try waits.
		c := login()
		code := send(c)
		for i := range 5 {
			smsWant(t, fmt.Sprintf("wrong code #%d", i+1), prove(c, smsWrong(code, i+1)), http.StatusUnauthorized, "invalid_code")
		}
		smsWant(t, "a sixth try at once", prove(c, code), http.StatusTooManyRequests, "rate_limited")
		s.Advance(t, 2*time.Second)
		smsWant(t, "the right code after five wrong ones", prove(c, code), http.StatusUnauthorized, "invalid_code")
		// A new code does not reset the failure count: the delay grows.
		s.Advance(t, 61*time.Second)
		code = send(c)
		if prove(c, smsWrong(code, 1)).ErrorCode() != "invalid_code" {
			t.Fatal("wrong code after the resend was not invalid_code")
		}
		// Refused tries count too: the wait said is the one to keep.
		r = prove(c, code)
		smsWant(t, "a try right after the 7th failure", r, http.StatusTooManyRequests, "rate_limited")
		s.Advance(t, time.Duration(r.JSON(t)["error"].(map[string]any)["retry_after"].(float64))*time.Second)
		smsWant(t, "the new code", prove(c, code), http.StatusOK, "")

		// Expiry after 5 minutes.
		d := login()
		code = send(d)
		s.Advance(t, 5*time.Minute)
		smsWant(t, "a code after 5 minutes", prove(d, code), http.StatusUnauthorized, "invalid_code")
		s.Advance(t, time.Second)
		code = send(d)
		smsWant(t, "a fresh code", prove(d, code), http.StatusOK, "")

		// The sign-in events name the method.
		r = s.Do(t, "GET", "/api/v1/me/events?type=signin.success", tok, nil)
		sms := 0
		for _, e := range smsWant(t, "events", r, http.StatusOK, "")["events"].([]any) {
			if e.(map[string]any)["detail"].(map[string]any)["method"] == "sms" {
				sms++
			}
		}
		if sms != 3 {
			t.Errorf("%d SMS sign-ins in the audit log, want 3", sms)
		}

		// Reauthentication by SMS uses its own codes.
		smsWant(t, "POST /me/reauth/sms", s.Do(t, "POST", "/api/v1/me/reauth/sms", tok, nil), http.StatusOK, "")
		code = smsLastCode(t, s, smsNumber)
		smsWant(t, "reauth with the SMS code", s.Do(t, "POST", "/api/v1/me/reauth", tok, map[string]string{"method": "sms", "code": code}), http.StatusOK, "")

		// Without the number, SMS is no longer offered.
		smsWant(t, "DELETE /me/phone", s.Do(t, "DELETE", "/api/v1/me/phone", tok, nil), http.StatusOK, "")
		_, ans := s.Login(t, "alice", "alice-password")
		if strings.Contains(fmt.Sprint(ans["methods"]), "sms") {
			t.Errorf("methods after removing the number = %v", ans["methods"])
		}
	})
}

// hook is a loopback SMS webhook recording what it receives.
type hook struct {
	mu     sync.Mutex
	status int
	reqs   []hookRequest
}

type hookRequest struct {
	Method, Path, ContentType, Auth string
	Body                            []byte
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = append(h.reqs, hookRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), b})
	w.WriteHeader(h.status)
}

func (h *hook) setStatus(code int) {
	h.mu.Lock()
	h.status = code
	h.mu.Unlock()
}

func (h *hook) last(t *testing.T) hookRequest {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) == 0 {
		t.Fatal("the webhook received nothing")
	}
	return h.reqs[len(h.reqs)-1]
}

// smsLogs collects a server's log.
type smsLogs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *smsLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *smsLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSMSServer starts a development server like deadbolttest.StartServer
// but with the SMS settings c.
func startSMSServer(t *testing.T, st deadbolttest.Store, c app.SMSConfig, logs io.Writer) *deadbolttest.Server {
	t.Helper()
	db := filepath.Join(t.TempDir(), "deadbolt.db")
	if st == deadbolttest.Postgres {
		db = pgtest.NewDatabase(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("http://" + ln.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Config{
		Database: db, PublicURL: pub, Dev: true, AdminPassword: deadbolttest.AdminPassword,
		MasterKey: bytes.Repeat([]byte{7}, 32), HashConcurrency: 4,
		Hash:   password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SMS:    c,
	})
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	return &deadbolttest.Server{URL: pub.String(), Database: db, App: a, Client: &http.Client{Timeout: 30 * time.Second}}
}

func TestWebhookProvider(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		h := &hook{status: http.StatusAccepted}
		srv := httptest.NewServer(h)
		defer srv.Close()
		logs := &smsLogs{}
		s := startSMSServer(t, st, app.SMSConfig{
			Provider: app.SMSProviderWebhook,
			Webhook:  sms.WebhookConfig{URL: srv.URL + "/send", AuthHeader: "Bearer hook-secret-123"},
		}, logs)
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "alice", "alice-password")
		tok, _ := s.Login(t, "alice", "alice-password")

		r := s.Do(t, "POST", "/api/v1/me/phone", tok, map[string]string{"phone": "415 555 0143"})
		smsWant(t, "POST /me/phone", r, http.StatusOK, "")
		req := h.last(t)
		if req.Method != "POST" || req.Path != "/send" || req.ContentType != "application/json" || req.Auth != "Bearer hook-secret-123" {
			t.Errorf("webhook request = %s %s, Content-Type %q, Authorization %q", req.Method, req.Path, req.ContentType, req.Auth)
		}
		var payload map[string]any
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		if err := dec.Decode(&payload); err != nil || len(payload) != 2 {
			t.Fatalf("webhook body %s, want {\"to\",\"text\"}", req.Body)
		}
		if payload["to"] != smsNumber {
			t.Errorf("to = %v, want %s", payload["to"], smsNumber)
		}
		match := smsBody.FindStringSubmatch(fmt.Sprint(payload["text"]))
		if match == nil {
			t.Fatalf("text = %q, want only the server wording and a code", payload["text"])
		}
		if n := len(smsOutbox(t, s)); n != 0 {
			t.Errorf("the dev outbox holds %d messages with the webhook provider", n)
		}
		smsWant(t, "confirm with the code the webhook got", s.Do(t, "POST", "/api/v1/me/phone/confirm", tok, map[string]string{"code": match[1]}), http.StatusOK, "")

		// A provider outage is a clear 503; nothing was sent, so asking
		// again at once is allowed.
		s.CreateUser(t, admin, "bob", "bob-password")
		bob, _ := s.Login(t, "bob", "bob-password")
		h.setStatus(http.StatusInternalServerError)
		smsWant(t, "POST /me/phone while the provider fails", s.Do(t, "POST", "/api/v1/me/phone", bob, map[string]string{"phone": "+44 7911 123456"}), http.StatusServiceUnavailable, "unavailable")
		h.setStatus(http.StatusOK)
		smsWant(t, "POST /me/phone once it is back", s.Do(t, "POST", "/api/v1/me/phone", bob, map[string]string{"phone": "+44 7911 123456"}), http.StatusOK, "")
		var p struct{ To, Text string }
		if err := json.Unmarshal(h.last(t).Body, &p); err != nil || p.To != "+447911123456" || !smsBody.MatchString(p.Text) {
			t.Fatalf("webhook body %s, want a code for bob's number", h.last(t).Body)
		}
		code := smsBody.FindStringSubmatch(p.Text)[1]

		for _, secret := range []string{match[1], code, "hook-secret-123"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
	})
}
