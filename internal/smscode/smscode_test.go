package smscode_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/sms"
	"deadbolt/internal/smscode"
	"deadbolt/internal/store/sqlite"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const (
	alicePhone = "+14155550143"
	bobPhone   = "+447700900123"
)

// sender is a Sender whose behaviour a test sets; it keeps what it sent.
type sender struct {
	mu   sync.Mutex
	fail error
	sent []sms.Message
}

func (f *sender) Send(ctx context.Context, m sms.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *sender) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

// last returns the last message sent.
func (f *sender) last(t *testing.T) sms.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		t.Fatal("no message sent")
	}
	return f.sent[len(f.sent)-1]
}

func (f *sender) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

type env struct {
	st     *sqlite.Store
	clock  *deadbolt.FixedClock
	sender *sender
	svc    *smscode.Service
	logs   *bytes.Buffer
}

func newEnv(t *testing.T, cfg smscode.Config) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, clock: deadbolt.NewFixedClock(t0), sender: &sender{}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.svc, err = smscode.New(st, e.sender, bytes.Repeat([]byte{9}, 32), audit.New(st, e.clock, log), e.clock, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// user creates an employee with the second factor on and, if e164 is set,
// that number linked.
func (e *env) user(t *testing.T, login, e164 string) *deadbolt.User {
	t.Helper()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Active: true, PasswordHash: "x",
		CreatedAt: t0, UpdatedAt: t0, TwoFactorSince: t0, Phone: e164}
	if err := e.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) events(t *testing.T, typ string) []*deadbolt.Event {
	t.Helper()
	list, err := e.st.Events(context.Background(), deadbolt.EventFilter{Type: typ, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func wantCode(t *testing.T, what string, err error, code deadbolt.Code) *deadbolt.Error {
	t.Helper()
	if got := deadbolt.ErrorCode(err); got != code {
		t.Fatalf("%s: error code = %q (%v), want %q", what, got, err, code)
	}
	var de *deadbolt.Error
	errors.As(err, &de)
	return de
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func TestSendLoginAndVerify(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", alicePhone)

	to, resend, err := e.svc.SendLogin(ctx, alice, "pendingA", "192.0.2.1")
	if err != nil {
		t.Fatalf("SendLogin = %v", err)
	}
	if to != "+1 (•••) •••-0143" || resend != time.Minute {
		t.Errorf("SendLogin = %q, %v; want the masked number and 1m", to, resend)
	}
	m := e.sender.last(t)
	if m.To != alicePhone || !sixDigits.MatchString(m.Code) || m.Body != sms.Body(m.Code) {
		t.Fatalf("sent %+v, want a 6-digit code to %s in the standard wording", m, alicePhone)
	}
	ev := e.events(t, smscode.EventSMSSent)
	if len(ev) != 1 || ev[0].UserID != alice.ID || ev[0].Detail["purpose"] != "login" || ev[0].Detail["to"] != to {
		t.Errorf("sms.sent events = %+v", ev)
	}
	for _, x := range ev {
		for k, v := range x.Detail {
			if strings.Contains(v, m.Code) {
				t.Errorf("audit detail %s = %q holds the code", k, v)
			}
		}
	}

	wrong := fmt.Sprintf("%06d", (atoi(m.Code)+1)%1_000_000)
	tests := []struct {
		name, session, code string
		want                bool
	}{
		{"wrong code", "pendingA", wrong, false},
		{"malformed", "pendingA", "12ab56", false},
		{"other sign-in", "pendingB", m.Code, false},
		{"right code, spaced", "pendingA", m.Code[:3] + " " + m.Code[3:], true},
		{"used twice", "pendingA", m.Code, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := e.svc.VerifyLogin(ctx, alice, tc.session, tc.code)
			if err != nil || ok != tc.want {
				t.Errorf("VerifyLogin(%q, %q) = %v, %v; want %v", tc.session, tc.code, ok, err, tc.want)
			}
		})
	}
	// A code is never written to the log.
	if strings.Contains(e.logs.String(), m.Code) {
		t.Errorf("the log holds the code: %s", e.logs.String())
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSendLoginNeedsPhoneAndSecondFactor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	noPhone := e.user(t, "nophone", "")
	off := e.user(t, "off", alicePhone)
	off.TwoFactorSince = time.Time{}
	for _, u := range []*deadbolt.User{noPhone, off} {
		_, _, err := e.svc.SendLogin(ctx, u, "p", "")
		wantCode(t, "SendLogin("+u.Login+")", err, deadbolt.CodeInvalidInput)
	}
	if n := e.sender.count(); n != 0 {
		t.Errorf("%d messages sent, want none", n)
	}
}

func TestResend(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", alicePhone)
	if _, _, err := e.svc.SendLogin(ctx, alice, "p", ""); err != nil {
		t.Fatal(err)
	}
	first := e.sender.last(t).Code
	e.clock.Advance(20 * time.Second)
	_, _, err := e.svc.SendLogin(ctx, alice, "p", "")
	de := wantCode(t, "SendLogin after 20 s", err, deadbolt.CodeRateLimited)
	if de.RetryAfter != 40*time.Second {
		t.Errorf("RetryAfter = %v, want 40s", de.RetryAfter)
	}
	// Another sign-in has its own code and interval.
	if _, _, err := e.svc.SendLogin(ctx, alice, "other", ""); err != nil {
		t.Errorf("SendLogin(other sign-in) = %v", err)
	}
	e.clock.Advance(41 * time.Second)
	if _, _, err := e.svc.SendLogin(ctx, alice, "p", ""); err != nil {
		t.Fatalf("SendLogin after 61 s = %v", err)
	}
	second := e.sender.last(t).Code
	if ok, _ := e.svc.VerifyLogin(ctx, alice, "p", first); ok && first != second {
		t.Error("the replaced code still works")
	}
	if ok, err := e.svc.VerifyLogin(ctx, alice, "p", second); !ok || err != nil {
		t.Errorf("VerifyLogin(new code) = %v, %v; want true", ok, err)
	}
}

func TestTriesPerCode(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", alicePhone)
	e.svc.SendLogin(ctx, alice, "p", "")
	code := e.sender.last(t).Code
	wrong := fmt.Sprintf("%06d", (atoi(code)+7)%1_000_000)
	for i := range 5 {
		if ok, err := e.svc.VerifyLogin(ctx, alice, "p", wrong); ok || err != nil {
			t.Fatalf("wrong try %d = %v, %v", i+1, ok, err)
		}
	}
	if ok, err := e.svc.VerifyLogin(ctx, alice, "p", code); ok || err != nil {
		t.Errorf("right code after 5 wrong tries = %v, %v; want false", ok, err)
	}
	// Four wrong tries leave the fifth.
	e.clock.Advance(time.Minute)
	e.svc.SendLogin(ctx, alice, "p", "")
	code = e.sender.last(t).Code
	wrong = fmt.Sprintf("%06d", (atoi(code)+7)%1_000_000)
	for range 4 {
		e.svc.VerifyLogin(ctx, alice, "p", wrong)
	}
	if ok, err := e.svc.VerifyLogin(ctx, alice, "p", code); !ok || err != nil {
		t.Errorf("right code on the fifth try = %v, %v; want true", ok, err)
	}
}

func TestExpiryAndPhoneChange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", alicePhone)
	e.svc.SendLogin(ctx, alice, "p", "")
	code := e.sender.last(t).Code
	e.clock.Advance(5 * time.Minute)
	if ok, err := e.svc.VerifyLogin(ctx, alice, "p", code); ok || err != nil {
		t.Errorf("VerifyLogin after 5 minutes = %v, %v; want false", ok, err)
	}

	e.svc.SendLogin(ctx, alice, "q", "")
	code = e.sender.last(t).Code
	moved := *alice
	moved.Phone = bobPhone
	if ok, _ := e.svc.VerifyLogin(ctx, &moved, "q", code); ok {
		t.Error("a code sent to the old number works after the number changed")
	}
	if ok, _ := e.svc.VerifyLogin(ctx, alice, "q", code); !ok {
		t.Error("VerifyLogin(right code) = false")
	}
}

func TestReauthCodesAreSeparate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", alicePhone)
	if _, _, err := e.svc.SendReauth(ctx, alice, "s1", ""); err != nil {
		t.Fatal(err)
	}
	code := e.sender.last(t).Code
	if ok, _ := e.svc.VerifyLogin(ctx, alice, "s1", code); ok {
		t.Error("a reauth code signed in")
	}
	if ok, err := e.svc.VerifyReauth(ctx, alice, "s1", code); !ok || err != nil {
		t.Errorf("VerifyReauth = %v, %v; want true", ok, err)
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		cfg   func(*smscode.Config)
		users int
		ips   int
		sends int // allowed
	}{
		{"per employee", func(c *smscode.Config) { c.PerUser.N = 3 }, 1, 100, 3},
		{"per number", func(c *smscode.Config) { c.PerPhone.N = 2 }, 1, 100, 2},
		{"per IP", func(c *smscode.Config) { c.PerIP.N = 4 }, 10, 1, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smscode.DefaultConfig()
			tc.cfg(&cfg)
			e := newEnv(t, cfg)
			users := make([]*deadbolt.User, tc.users)
			for i := range users {
				users[i] = e.user(t, fmt.Sprintf("u%d", i), fmt.Sprintf("+1415555%04d", 100+i))
			}
			for i := range tc.sends {
				u := users[i%len(users)]
				if _, _, err := e.svc.SendLogin(ctx, u, fmt.Sprintf("p%d", i), fmt.Sprintf("198.51.100.%d", i%tc.ips)); err != nil {
					t.Fatalf("send %d = %v", i+1, err)
				}
				e.clock.Advance(time.Second)
			}
			u := users[tc.sends%len(users)]
			_, _, err := e.svc.SendLogin(ctx, u, "over", fmt.Sprintf("198.51.100.%d", tc.sends%tc.ips))
			de := wantCode(t, "send over the limit", err, deadbolt.CodeRateLimited)
			if want := time.Hour - time.Duration(tc.sends)*time.Second; de.RetryAfter != want {
				t.Errorf("RetryAfter = %v, want %v", de.RetryAfter, want)
			}
			if n := e.sender.count(); n != tc.sends {
				t.Errorf("%d messages sent, want %d", n, tc.sends)
			}
			// The window ends.
			e.clock.Advance(time.Hour)
			if _, _, err := e.svc.SendLogin(ctx, u, "later", fmt.Sprintf("198.51.100.%d", tc.sends%tc.ips)); err != nil {
				t.Errorf("send after the window = %v", err)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	ctx := context.Background()
	cfg := smscode.DefaultConfig()
	cfg.HourlyBudget = 2
	e := newEnv(t, cfg)
	var users []*deadbolt.User
	for i := range 4 {
		users = append(users, e.user(t, fmt.Sprintf("u%d", i), fmt.Sprintf("+1415555%04d", 100+i)))
	}
	for i := range 2 {
		if _, _, err := e.svc.SendLogin(ctx, users[i], fmt.Sprint("p", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := 2; i < 4; i++ {
		_, _, err := e.svc.SendLogin(ctx, users[i], fmt.Sprint("p", i), "")
		de := wantCode(t, "send past the budget", err, deadbolt.CodeUnavailable)
		if !strings.Contains(de.Message, "Other login methods") {
			t.Errorf("message %q does not offer the other methods", de.Message)
		}
	}
	if n := strings.Count(e.logs.String(), `level=ERROR msg="sms budget exhausted"`); n != 1 {
		t.Errorf("the log has %d budget alerts, want 1:\n%s", n, e.logs.String())
	}
	e.clock.Advance(time.Hour)
	if _, _, err := e.svc.SendLogin(ctx, users[3], "later", ""); err != nil {
		t.Errorf("send in the next hour = %v", err)
	}
}

func TestProviderErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", alicePhone)

	e.sender.setFail(fmt.Errorf("refused: %w", sms.ErrUnavailable))
	_, _, err := e.svc.SendLogin(ctx, alice, "p", "")
	de := wantCode(t, "SendLogin(provider down)", err, deadbolt.CodeUnavailable)
	if !strings.Contains(de.Message, "Other login methods") {
		t.Errorf("message %q does not offer the other methods", de.Message)
	}
	// Nothing went out: a new code may be asked for at once.
	e.sender.setFail(nil)
	if _, _, err := e.svc.SendLogin(ctx, alice, "p", ""); err != nil {
		t.Fatalf("SendLogin after an outage = %v", err)
	}

	e.clock.Advance(time.Minute)
	e.sender.setFail(fmt.Errorf("timeout: %w", sms.ErrAmbiguous))
	_, _, err = e.svc.SendLogin(ctx, alice, "q", "")
	wantCode(t, "SendLogin(delivery unknown)", err, deadbolt.CodeUnavailable)
	// It may have arrived: no new code until the interval ends.
	e.sender.setFail(nil)
	_, _, err = e.svc.SendLogin(ctx, alice, "q", "")
	wantCode(t, "SendLogin right after an unknown delivery", err, deadbolt.CodeRateLimited)
	if n := e.sender.count(); n != 1 {
		t.Errorf("%d messages accepted, want 1", n)
	}
}

func TestNoProvider(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := deadbolt.NewFixedClock(t0)
	svc, err := smscode.New(st, nil, bytes.Repeat([]byte{1}, 32), audit.New(st, clock, nil), clock, smscode.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Enabled() {
		t.Error("Enabled() = true without a provider")
	}
	u := &deadbolt.User{ID: deadbolt.NewID(), TwoFactorSince: t0, Phone: alicePhone}
	_, _, err = svc.SendLogin(context.Background(), u, "p", "")
	wantCode(t, "SendLogin without a provider", err, deadbolt.CodeUnavailable)
}

func TestLink(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", "")
	bob := e.user(t, "bob", "")

	bad := []struct {
		input, reason string
	}{
		{"", "phone_invalid"},
		{"call me", "phone_invalid"},
		{"+1 900 555 0100", "phone_premium"},
		{"+1 800 555 0100", "phone_not_mobile"},
	}
	for _, tc := range bad {
		_, _, err := e.svc.StartLink(ctx, alice, tc.input, "")
		de := wantCode(t, fmt.Sprintf("StartLink(%q)", tc.input), err, deadbolt.CodeInvalidInput)
		if de.Extra["reason"] != tc.reason {
			t.Errorf("StartLink(%q) reason = %v, want %s", tc.input, de.Extra["reason"], tc.reason)
		}
	}
	_, err := e.svc.ConfirmLink(ctx, alice, "123456", "")
	wantCode(t, "ConfirmLink before StartLink", err, deadbolt.CodeNotFound)

	// Typed in the national form of the default region.
	to, _, err := e.svc.StartLink(ctx, alice, "(415) 555-0143", "203.0.113.9")
	if err != nil || to != "+1 (•••) •••-0143" {
		t.Fatalf("StartLink = %q, %v", to, err)
	}
	code := e.sender.last(t).Code
	if e.sender.last(t).To != alicePhone {
		t.Errorf("sent to %s, want %s", e.sender.last(t).To, alicePhone)
	}
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	_, err = e.svc.ConfirmLink(ctx, alice, wrong, "")
	wantCode(t, "ConfirmLink(wrong)", err, deadbolt.CodeInvalidCode)
	if got, err := e.svc.ConfirmLink(ctx, alice, code, "203.0.113.9"); err != nil || got != alicePhone {
		t.Fatalf("ConfirmLink = %q, %v", got, err)
	}
	if alice.Phone != alicePhone {
		t.Errorf("alice.Phone = %q after linking", alice.Phone)
	}
	if u, _ := e.st.UserByID(ctx, alice.ID); u.Phone != alicePhone {
		t.Errorf("stored phone = %q, want %s", u.Phone, alicePhone)
	}
	if ev := e.events(t, deadbolt.EventPhoneLinked); len(ev) != 1 || ev[0].Detail["phone"] != to || ev[0].IP != "203.0.113.9" {
		t.Errorf("phone.linked events = %+v", ev)
	}
	_, _, err = e.svc.StartLink(ctx, alice, alicePhone, "")
	wantCode(t, "StartLink(own number)", err, deadbolt.CodeInvalidInput)

	// Bob cannot take it, even once alice is deactivated.
	sent := e.sender.count()
	_, _, err = e.svc.StartLink(ctx, bob, "+1 415 555 0143", "")
	de := wantCode(t, "StartLink(alice's number)", err, deadbolt.CodePhoneInUse)
	if !strings.Contains(de.Message, "administrator") {
		t.Errorf("message %q does not send the employee to an administrator", de.Message)
	}
	if err := e.st.SetActive(ctx, alice.ID, false, deadbolt.EndDeactivation, nil, t0); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.StartLink(ctx, bob, alicePhone, "")
	wantCode(t, "StartLink(deactivated alice's number)", err, deadbolt.CodePhoneInUse)
	if e.sender.count() != sent {
		t.Error("a code was sent to a number held by another account")
	}

	holder, err := e.svc.Holder(ctx, "+1 (415) 555-0143")
	if err != nil || holder.ID != alice.ID {
		t.Fatalf("Holder = %v, %v; want alice", holder, err)
	}
	if err := e.svc.RemoveByAdmin(ctx, holder, bob.ID, "198.51.100.1"); err != nil {
		t.Fatalf("RemoveByAdmin = %v", err)
	}
	wantCode(t, "RemoveByAdmin(again)", e.svc.RemoveByAdmin(ctx, holder, bob.ID, ""), deadbolt.CodeNotFound)
	if ev := e.events(t, deadbolt.EventAdminPhoneRemoved); len(ev) != 1 || ev[0].ActorID != bob.ID || ev[0].UserID != alice.ID {
		t.Errorf("admin.phone_removed events = %+v", ev)
	}
	_, err = e.svc.Holder(ctx, alicePhone)
	wantCode(t, "Holder(freed)", err, deadbolt.CodeNotFound)
	_, err = e.svc.Holder(ctx, "not a number")
	wantCode(t, "Holder(junk)", err, deadbolt.CodeInvalidInput)

	// Now bob links it, and removes it himself.
	if _, _, err := e.svc.StartLink(ctx, bob, alicePhone, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ConfirmLink(ctx, bob, e.sender.last(t).Code, ""); err != nil {
		t.Fatalf("ConfirmLink(bob) = %v", err)
	}
	if err := e.svc.Remove(ctx, bob, ""); err != nil {
		t.Fatalf("Remove = %v", err)
	}
	wantCode(t, "Remove(again)", e.svc.Remove(ctx, bob, ""), deadbolt.CodeNotFound)
	if ev := e.events(t, deadbolt.EventPhoneRemoved); len(ev) != 1 || ev[0].UserID != bob.ID {
		t.Errorf("phone.removed events = %+v", ev)
	}
}

func TestLinkRace(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, smscode.DefaultConfig())
	alice := e.user(t, "alice", "")
	bob := e.user(t, "bob", "")
	var codes []string
	for _, u := range []*deadbolt.User{alice, bob} {
		if _, _, err := e.svc.StartLink(ctx, u, alicePhone, ""); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, e.sender.last(t).Code)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, u := range []*deadbolt.User{alice, bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.ConfirmLink(ctx, u, codes[i], "")
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if !deadbolt.IsCode(err, deadbolt.CodePhoneInUse) {
			t.Errorf("ConfirmLink = %v, want nil or phone_in_use", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d employees linked the same number, want 1", wins)
	}
}

// TestLinkNumberLimit: an employee may try only so many different numbers
// per window; past it a new number is refused before it is looked up, so
// a number held by another account no longer answers phone_in_use.
// Numbers already tried keep their answer.
func TestLinkNumberLimit(t *testing.T) {
	ctx := context.Background()
	cfg := smscode.DefaultConfig()
	cfg.LinkNumbers = smscode.Limit{N: 3, Window: time.Hour}
	e := newEnv(t, cfg)
	alice := e.user(t, "alice", "")
	carol := e.user(t, "carol", "+14155550101")
	dave := e.user(t, "dave", "+14155550102")
	start := e.clock.Now()
	wait := func() { e.clock.Advance(cfg.ResendAfter + time.Second) }

	for range 2 {
		_, _, err := e.svc.StartLink(ctx, alice, carol.Phone, "")
		wantCode(t, "StartLink(carol's number)", err, deadbolt.CodePhoneInUse)
	}
	for _, n := range []string{"+14155550111", "(415) 555-0112"} {
		wait()
		if _, _, err := e.svc.StartLink(ctx, alice, n, ""); err != nil {
			t.Fatalf("StartLink(%q) = %v, want sent", n, err)
		}
	}
	wait()
	sent := e.sender.count()
	_, _, err := e.svc.StartLink(ctx, alice, dave.Phone, "")
	de := wantCode(t, "StartLink(a 4th number, dave's)", err, deadbolt.CodeRateLimited)
	if de.Extra["reason"] != "phone_numbers" {
		t.Errorf("the refusal's reason = %v, want phone_numbers", de.Extra["reason"])
	}
	if want := start.Add(time.Hour).Sub(e.clock.Now()); de.RetryAfter != want {
		t.Errorf("RetryAfter = %v, want %v (the end of the window)", de.RetryAfter, want)
	}
	_, _, err = e.svc.StartLink(ctx, alice, "+14155550113", "")
	wantCode(t, "StartLink(a 4th number)", err, deadbolt.CodeRateLimited)
	if e.sender.count() != sent {
		t.Error("a code was sent to a number past the limit")
	}
	// The numbers tried keep their answers.
	_, _, err = e.svc.StartLink(ctx, alice, "+1 415 555 0101", "")
	wantCode(t, "StartLink(carol's number again)", err, deadbolt.CodePhoneInUse)
	if _, _, err := e.svc.StartLink(ctx, alice, "+14155550111", ""); err != nil {
		t.Errorf("StartLink(a number tried before) = %v, want sent", err)
	}
	// Other employees have their own allowance.
	bob := e.user(t, "bob", "")
	_, _, err = e.svc.StartLink(ctx, bob, dave.Phone, "")
	wantCode(t, "StartLink(bob, dave's number)", err, deadbolt.CodePhoneInUse)
	// A new window, a new allowance.
	e.clock.Set(start.Add(time.Hour))
	_, _, err = e.svc.StartLink(ctx, alice, dave.Phone, "")
	wantCode(t, "StartLink(dave's number, an hour later)", err, deadbolt.CodePhoneInUse)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*smscode.Config)
		ok     bool
	}{
		{"defaults", func(*smscode.Config) {}, true},
		{"no lifetime", func(c *smscode.Config) { c.CodeLifetime = 0 }, false},
		{"no tries", func(c *smscode.Config) { c.MaxAttempts = 0 }, false},
		{"negative resend", func(c *smscode.Config) { c.ResendAfter = -time.Second }, false},
		{"no per-user window", func(c *smscode.Config) { c.PerUser.Window = 0 }, false},
		{"no per-IP count", func(c *smscode.Config) { c.PerIP.N = 0 }, false},
		{"no budget", func(c *smscode.Config) { c.HourlyBudget = 0 }, false},
		{"no link numbers", func(c *smscode.Config) { c.LinkNumbers.N = 0 }, false},
		{"no link window", func(c *smscode.Config) { c.LinkNumbers.Window = 0 }, false},
		{"bad region", func(c *smscode.Config) { c.Region = "XX" }, false},
		{"lower-case region", func(c *smscode.Config) { c.Region = "gb" }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := smscode.DefaultConfig()
			tc.change(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
	if _, err := smscode.New(nil, nil, make([]byte, 16), nil, nil, smscode.DefaultConfig(), nil); err == nil {
		t.Error("New with a 16-byte key succeeded")
	}
}
