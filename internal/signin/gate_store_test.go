package signin_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/captcha"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/password"
	"deadbolt/internal/recovery"
	"deadbolt/internal/seal"
	"deadbolt/internal/signin"
	"deadbolt/internal/sms"
	"deadbolt/internal/smscode"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/totp"
)

// The tests in this file run the attempt gate on the real stores, SQLite
// and PostgreSQL, with the real second-factor parts (sealed TOTP secrets,
// keyed recovery codes, the built-in CAPTCHA, SMS codes through the log
// provider, signed push decisions), a fixed clock, and 50 attempts sent at
// once: each asserts exactly how many proofs were checked. A checked wrong
// proof leaves a second_factor_failure event; one refused by the gate
// leaves none.

var gateT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const gateBurst = 50

// gateStores runs f on a fresh SQLite store and, when DEADBOLT_TEST_POSTGRES
// names a server, a fresh PostgreSQL database.
func gateStores(t *testing.T, f func(t *testing.T, st deadbolt.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gate.db"), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
}

// gateRig is a sign-in service over a real store with every second factor.
type gateRig struct {
	t      *testing.T
	st     deadbolt.Store
	svc    *signin.Service
	clock  *deadbolt.FixedClock
	box    *seal.Box
	rh     *recovery.Hasher
	cap    *captcha.Builtin
	outbox *sms.Outbox
	sms    *smscode.Service
	hasher *password.Hasher
}

var cheapHash = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newGateRig(t *testing.T, st deadbolt.Store, cfg signin.Config) *gateRig {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	clock := deadbolt.NewFixedClock(gateT0)
	aud := audit.New(st, clock, log)
	box, err := seal.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	rh, err := recovery.NewHasher(box.Subkey("recovery codes"))
	if err != nil {
		t.Fatal(err)
	}
	outbox := sms.NewOutbox(1000)
	smsCfg := smscode.DefaultConfig()
	smsCfg.PerUser.N, smsCfg.PerPhone.N, smsCfg.PerIP.N = 1000, 1000, 1000
	smsSvc, err := smscode.New(st, sms.NewLog(log, outbox, clock.Now), box.Subkey("sms codes"), aud, clock, smsCfg, log)
	if err != nil {
		t.Fatal(err)
	}
	pushCfg := device.DefaultPushConfig()
	pushCfg.PerWindow = 1000
	hub := deadbolt.NewHub()
	pusher := device.NewPusher(device.New(st, box, aud, clock, "http://127.0.0.1:8080"), st, hub, pushCfg)
	cap := captcha.NewBuiltin(captcha.NewMemoryStore(), rand.Reader, 0, 0)
	h := password.New(cheapHash, 4)
	svc := signin.New(st, h, aud, clock, cfg, &signin.Factors{Seal: box, Recovery: rh, Captcha: cap, SMS: smsSvc,
		Push: pusher, Notifier: hub}, log)
	return &gateRig{t: t, st: st, svc: svc, clock: clock, box: box, rh: rh, cap: cap, outbox: outbox, sms: smsSvc, hasher: h}
}

// gateEmployee is an employee with every second factor.
type gateEmployee struct {
	u      *deadbolt.User
	pw     string
	secret []byte
	key    *ecdsa.PrivateKey
	device *deadbolt.Device
	codes  []string
}

func (g *gateRig) employee(login string) *gateEmployee {
	t := g.t
	t.Helper()
	ctx := context.Background()
	e := &gateEmployee{pw: login + "-password"}
	hash, err := g.hasher.Hash(ctx, e.pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: login, Active: true, PasswordHash: hash, CreatedAt: gateT0, UpdatedAt: gateT0}
	if err := g.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if e.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&e.key.PublicKey)
	if e.secret, err = totp.GenerateSecret(rand.Reader); err != nil {
		t.Fatal(err)
	}
	d := &deadbolt.Device{ID: deadbolt.NewID(), UserID: u.ID, PairingID: deadbolt.NewID(), Name: "phone", Platform: "cli",
		PublicKey: der, CreatedAt: gateT0}
	d.TOTPSecretSealed = g.box.Seal(e.secret, "totp:"+d.ID)
	tok := sha256.Sum256([]byte(d.ID))
	if err := g.st.CreateDevice(ctx, d, tok[:]); err != nil {
		t.Fatal(err)
	}
	if r, err := g.st.ChangeFactors(ctx, device.Confirmation(u.ID, d.ID, 0, gateT0)); err != nil || !r.Applied {
		t.Fatalf("confirm the device: %+v, %v", r, err)
	}
	if e.codes, err = recovery.Generate(rand.Reader); err != nil {
		t.Fatal(err)
	}
	var hashes [][]byte
	for _, c := range e.codes {
		canon, _ := recovery.Normalize(c)
		hashes = append(hashes, g.rh.Hash(canon))
	}
	if err := g.st.ReplaceRecoveryCodes(ctx, u.ID, hashes, gateT0); err != nil {
		t.Fatal(err)
	}
	if err := g.st.SetPhone(ctx, u.ID, fmt.Sprintf("+1415555%04d", int(sha256.Sum256([]byte(login))[0])*39%10000), gateT0); err != nil {
		t.Fatal(err)
	}
	if e.u, err = g.st.UserByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if e.device, err = g.st.TrustedDevice(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	return e
}

// session opens a session of e in state, as a sign-in would.
func (g *gateRig) session(e *gateEmployee, state deadbolt.SessionState) *signin.Auth {
	g.t.Helper()
	now := g.clock.Now()
	sess := &deadbolt.Session{ID: deadbolt.NewID(), UserID: e.u.ID, State: state, Epoch: e.u.SessionEpoch,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AuthAt: now, Method: "password", IP: "192.0.2.9"}
	h := sha256.Sum256([]byte(sess.ID))
	if err := g.st.CreateSession(context.Background(), sess, h[:]); err != nil {
		g.t.Fatal(err)
	}
	return &signin.Auth{Session: sess, User: e.u}
}

// wrongTOTP is a well-formed code no step near now accepts.
func (g *gateRig) wrongTOTP(e *gateEmployee, k int) string {
	now := g.clock.Now()
	for i := k; ; i++ {
		c := fmt.Sprintf("%06d", (i*7919+13)%1_000_000)
		if c != totp.Code(e.secret, now.Add(-30*time.Second)) && c != totp.Code(e.secret, now) && c != totp.Code(e.secret, now.Add(30*time.Second)) {
			return c
		}
	}
}

// events counts e's audit events of typ.
func (g *gateRig) events(e *gateEmployee, typ string) int {
	g.t.Helper()
	list, err := g.st.Events(context.Background(), deadbolt.EventFilter{UserID: e.u.ID, Type: typ, Limit: 1000})
	if err != nil {
		g.t.Fatal(err)
	}
	return len(list)
}

func (g *gateRig) counter(key string) int64 {
	g.t.Helper()
	c, err := g.st.Counter(context.Background(), key)
	if err != nil {
		g.t.Fatal(err)
	}
	return c.N
}

// burst calls f n times at once and tallies the error codes ("" for nil).
func burst(n int, f func(i int) error) map[deadbolt.Code]int {
	var mu sync.Mutex
	out := map[deadbolt.Code]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			code := deadbolt.ErrorCode(f(i))
			mu.Lock()
			out[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return out
}

func wantTally(t *testing.T, what string, got map[deadbolt.Code]int, want map[deadbolt.Code]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: answers %v, want %v", what, got, want)
	}
}

const (
	invalidCode = deadbolt.CodeInvalidCode
	rateLimited = deadbolt.CodeRateLimited
	locked      = deadbolt.CodeLocked
)

// TestGateTOTP: 50 wrong TOTP codes at once: exactly the 5 free ones are
// checked, the 45 others wait, and all 50 count; the right code waits too,
// and is checked after the wait.
func TestGateTOTP(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		e := g.employee("alice")
		a := g.session(e, deadbolt.SessionPending)
		ctx := context.Background()
		got := burst(gateBurst, func(i int) error {
			_, err := g.svc.SecondFactor(ctx, a, signin.MethodTOTP, g.wrongTOTP(e, i), nil, signin.Client{IP: "192.0.2.9"})
			return err
		})
		wantTally(t, "50 wrong TOTP codes at once", got, map[deadbolt.Code]int{invalidCode: 5, rateLimited: 45})
		if n := g.events(e, deadbolt.EventSecondFactorFail); n != 5 {
			t.Errorf("codes checked (failure events) = %d, want 5", n)
		}
		if n, _ := g.svc.FailureCount(ctx, e.u.ID); n != gateBurst {
			t.Errorf("attempts counted = %d, want %d", n, gateBurst)
		}
		right := totp.Code(e.secret, g.clock.Now())
		_, err := g.svc.SecondFactor(ctx, a, signin.MethodTOTP, right, nil, signin.Client{})
		var de *deadbolt.Error
		if deadbolt.ErrorCode(err) != rateLimited {
			t.Fatalf("the right code at once = %v, want rate_limited", err)
		}
		de = err.(*deadbolt.Error)
		g.clock.Advance(de.RetryAfter)
		right = totp.Code(e.secret, g.clock.Now())
		res, err := g.svc.SecondFactor(ctx, a, signin.MethodTOTP, right, nil, signin.Client{})
		if err != nil || res.Session.State != deadbolt.SessionFull {
			t.Fatalf("the right code after waiting %v = %v, %v; want a full session", de.RetryAfter, res, err)
		}
		if n := g.counter("sf:" + e.u.ID); n != 0 {
			t.Errorf("streak after a success = %d, want 0", n)
		}
	})
}

// TestGateLock: with no delays, 50 wrong codes at once against a lock at
// 20: exactly 20 are checked, one lock is recorded, and nothing works
// after it.
func TestGateLock(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures, cfg.SecondFactorLockAt = 1000, 20
		g := newGateRig(t, st, cfg)
		e := g.employee("bob")
		a := g.session(e, deadbolt.SessionPending)
		ctx := context.Background()
		got := burst(gateBurst, func(i int) error {
			_, err := g.svc.SecondFactor(ctx, a, signin.MethodTOTP, g.wrongTOTP(e, i), nil, signin.Client{})
			return err
		})
		// The 20th attempt is checked, and locks: it answers locked.
		wantTally(t, "50 wrong codes at once, lock at 20", got, map[deadbolt.Code]int{invalidCode: 19, locked: 31})
		if n := g.events(e, deadbolt.EventSecondFactorFail); n != 20 {
			t.Errorf("codes checked = %d, want 20", n)
		}
		if n := g.events(e, deadbolt.EventSecondFactorLock); n != 1 {
			t.Errorf("lock events = %d, want 1", n)
		}
		if ok, err := g.svc.Locked(ctx, e.u.ID); !ok || err != nil {
			t.Errorf("Locked = %v, %v; want true", ok, err)
		}
		for _, m := range []struct{ method, code string }{
			{signin.MethodTOTP, totp.Code(e.secret, g.clock.Now())},
			{signin.MethodRecovery, e.codes[0]},
		} {
			if _, err := g.svc.SecondFactor(ctx, a, m.method, m.code, nil, signin.Client{}); deadbolt.ErrorCode(err) != locked {
				t.Errorf("the right %s code once locked = %v, want locked", m.method, err)
			}
			if err := g.svc.ReauthCode(ctx, g.session(e, deadbolt.SessionFull), m.method, m.code, nil, signin.Client{}); deadbolt.ErrorCode(err) != locked {
				t.Errorf("reauth by %s once locked = %v, want locked", m.method, err)
			}
		}
		if left, _ := st.CountRecoveryCodes(ctx, e.u.ID); left != 10 {
			t.Errorf("a locked attempt used a recovery code: %d left", left)
		}
		if _, err := g.svc.NewPush(ctx, a, signin.Client{}); deadbolt.ErrorCode(err) != locked {
			t.Errorf("NewPush once locked = %v, want locked", err)
		}
		if err := g.svc.Unlock(ctx, e.u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := g.svc.SecondFactor(ctx, a, signin.MethodRecovery, e.codes[0], nil, signin.Client{}); err != nil {
			t.Errorf("a recovery code after unlock = %v", err)
		}
	})
}

// TestGateLockRacesSuccess: a right code checked before the lock does not
// undo a lock other attempts reach while it completes — whichever way the
// race goes, the employee never ends up signed in and unlocked with the
// failures forgotten.
func TestGateLockRacesSuccess(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures, cfg.SecondFactorLockAt = 1000, 10
		g := newGateRig(t, st, cfg)
		e := g.employee("cleo")
		ctx := context.Background()
		for i := range 9 {
			g.svc.SecondFactor(ctx, g.session(e, deadbolt.SessionPending), signin.MethodTOTP, g.wrongTOTP(e, i), nil, signin.Client{})
		}
		signedIn := 0
		got := burst(21, func(i int) error {
			a := g.session(e, deadbolt.SessionPending)
			if i == 0 {
				_, err := g.svc.SecondFactor(ctx, a, signin.MethodRecovery, e.codes[0], nil, signin.Client{})
				if err == nil {
					signedIn++
				}
				return err
			}
			_, err := g.svc.SecondFactor(ctx, a, signin.MethodTOTP, g.wrongTOTP(e, i+100), nil, signin.Client{})
			return err
		})
		// Either the success came first — its completion saw no attempt
		// after it — and the 20 wrong codes after it locked a new streak, or
		// it came after others and its completion was refused: locked
		// either way, with one lock recorded.
		if ok, _ := g.svc.Locked(ctx, e.u.ID); !ok {
			t.Errorf("not locked after 9 + 20 wrong codes around one right one: answers %v, signed in %d, streak %d",
				got, signedIn, g.counter("sf:"+e.u.ID))
		}
		if n := g.events(e, deadbolt.EventSecondFactorLock); n != 1 {
			t.Errorf("lock events = %d, want 1 (answers %v, signed in %d)", n, got, signedIn)
		}
	})
}

// TestGateRecoveryCaptcha: with the delays out of the way, 50 wrong
// recovery codes at once without a CAPTCHA: exactly 3 are checked; with a
// solved CAPTCHA each, every one is.
func TestGateRecoveryCaptcha(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures = 1000
		g := newGateRig(t, st, cfg)
		e := g.employee("dana")
		a := g.session(e, deadbolt.SessionPending)
		ctx := context.Background()
		got := burst(gateBurst, func(i int) error {
			_, err := g.svc.SecondFactor(ctx, a, signin.MethodRecovery, fmt.Sprintf("AAAAA-%05d", i), nil, signin.Client{})
			return err
		})
		wantTally(t, "50 wrong recovery codes at once", got, map[deadbolt.Code]int{invalidCode: 3, deadbolt.CodeCaptchaRequired: 47})
		if n := g.events(e, deadbolt.EventSecondFactorFail); n != 3 {
			t.Errorf("codes checked = %d, want 3", n)
		}
		if n := g.counter("rc:" + e.u.ID); n != gateBurst {
			t.Errorf("recovery streak = %d, want %d", n, gateBurst)
		}
		solved := func() *signin.CaptchaAnswer {
			c, err := g.cap.New(ctx, g.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			ans, err := g.cap.Answer(ctx, c.ID, g.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return &signin.CaptchaAnswer{ID: c.ID, Answer: ans}
		}
		caps := make([]*signin.CaptchaAnswer, 20)
		for i := range caps {
			caps[i] = solved()
		}
		got = burst(len(caps), func(i int) error {
			_, err := g.svc.SecondFactor(ctx, a, signin.MethodRecovery, fmt.Sprintf("BBBBB-%05d", i), caps[i], signin.Client{})
			return err
		})
		wantTally(t, "20 wrong recovery codes with a solved CAPTCHA each", got, map[deadbolt.Code]int{invalidCode: 20})
		// A CAPTCHA works once.
		if _, err := g.svc.SecondFactor(ctx, a, signin.MethodRecovery, e.codes[0], caps[0], signin.Client{}); deadbolt.ErrorCode(err) != deadbolt.CodeCaptchaRequired {
			t.Errorf("a used CAPTCHA = %v, want captcha_required", err)
		}
		if _, err := g.svc.SecondFactor(ctx, a, signin.MethodRecovery, e.codes[0], solved(), signin.Client{}); err != nil {
			t.Fatalf("the right code with a solved CAPTCHA = %v", err)
		}
		if n := g.counter("rc:" + e.u.ID); n != 0 {
			t.Errorf("recovery streak after a recovery sign-in = %d, want 0", n)
		}
	})
}

// TestGateSMS: 50 wrong SMS codes at once: exactly 5 reach the code (its
// own try count says so).
func TestGateSMS(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		e := g.employee("eve")
		a := g.session(e, deadbolt.SessionPending)
		ctx := context.Background()
		if _, _, err := g.sms.SendLogin(ctx, e.u, a.Session.ID, "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
		msgs := g.outbox.Messages()
		code := msgs[len(msgs)-1].Code
		got := burst(gateBurst, func(i int) error {
			wrong := fmt.Sprintf("%06d", (mustAtoi(code)+i+1)%1_000_000)
			_, err := g.svc.SecondFactor(ctx, a, signin.MethodSMS, wrong, nil, signin.Client{})
			return err
		})
		wantTally(t, "50 wrong SMS codes at once", got, map[deadbolt.Code]int{invalidCode: 5, rateLimited: 45})
		c, err := st.LatestSMSCode(ctx, "login:"+a.Session.ID)
		if err != nil || c.Attempts != 5 {
			t.Errorf("tries against the SMS code = %d (%v), want 5", c.Attempts, err)
		}
	})
}

// otherNumber is a push number of n's length, but not n.
func otherNumber(n int) int {
	if n%10 == 0 {
		return n + 1
	}
	return n - 1
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// sign signs a push decision with the device key, as the companion app
// does.
func (e *gateEmployee) sign(id, decision string, number *int) deadbolt.PushDecision {
	h := sha256.Sum256(device.SignedMessage(id, decision, number))
	r, s, err := ecdsa.Sign(rand.Reader, e.key, h[:])
	if err != nil {
		panic(err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	s.FillBytes(raw[32:])
	return deadbolt.PushDecision{Decision: decision, Number: number, Signature: base64.RawURLEncoding.EncodeToString(raw)}
}

// TestGatePushNumbers: 50 approvals with a wrong number at once: exactly 5
// numbers are compared (those requests end denied, each a failure); the
// other 45 wait, their requests still pending. Denials are not counted.
func TestGatePushNumbers(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		e := g.employee("finn")
		ctx := context.Background()
		reqs := make([]*deadbolt.PushRequest, gateBurst)
		for i := range reqs {
			a := g.session(e, deadbolt.SessionPending)
			p, err := g.svc.NewPush(ctx, a, signin.Client{IP: "192.0.2.9", UserAgent: "test"})
			if err != nil {
				t.Fatal(err)
			}
			reqs[i] = p
		}
		got := burst(gateBurst, func(i int) error {
			wrong := otherNumber(reqs[i].Number)
			_, err := g.svc.DecidePush(ctx, e.device, reqs[i].ID, e.sign(reqs[i].ID, "approve", &wrong), signin.Client{})
			return err
		})
		// A compared wrong number answers its status (denied), not an error.
		wantTally(t, "50 wrong numbers at once", got, map[deadbolt.Code]int{"": 5, rateLimited: 45})
		status := map[string]int{}
		for _, r := range reqs {
			p, _ := st.PushRequest(ctx, r.ID)
			status[p.Status]++
		}
		if status[deadbolt.PushDenied] != 5 || status[deadbolt.PushPending] != 45 {
			t.Errorf("requests after the burst: %v, want 5 denied and 45 pending", status)
		}
		if n := g.events(e, deadbolt.EventSecondFactorFail); n != 5 {
			t.Errorf("numbers compared (failure events) = %d, want 5", n)
		}
		got = burst(gateBurst, func(i int) error {
			_, err := g.svc.DecidePush(ctx, e.device, reqs[i].ID, e.sign(reqs[i].ID, "deny", nil), signin.Client{})
			return err
		})
		wantTally(t, "denials of the 50", got, map[deadbolt.Code]int{"": 45, deadbolt.CodeConflict: 5})
		if n, _ := g.svc.FailureCount(ctx, e.u.ID); n != gateBurst {
			t.Errorf("attempts after the denials = %d, want still %d", n, gateBurst)
		}
	})
}

// TestGatePushApprovalLocked: an approval for a locked employee is refused
// unread and ends the request denied; an approval given before the lock
// does not complete after it.
func TestGatePushApprovalLocked(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures, cfg.SecondFactorLockAt = 1000, 5
		g := newGateRig(t, st, cfg)
		e := g.employee("gus")
		ctx := context.Background()
		early, approved := g.session(e, deadbolt.SessionPending), g.session(e, deadbolt.SessionPending)
		pe, _ := g.svc.NewPush(ctx, early, signin.Client{})
		pa, _ := g.svc.NewPush(ctx, approved, signin.Client{})
		if s, err := g.svc.DecidePush(ctx, e.device, pa.ID, e.sign(pa.ID, "approve", &pa.Number), signin.Client{}); s != deadbolt.PushApproved || err != nil {
			t.Fatalf("approval = %q, %v", s, err)
		}
		for i := range 5 {
			g.svc.SecondFactor(ctx, early, signin.MethodTOTP, g.wrongTOTP(e, i), nil, signin.Client{})
		}
		if _, err := g.svc.DecidePush(ctx, e.device, pe.ID, e.sign(pe.ID, "approve", &pe.Number), signin.Client{}); deadbolt.ErrorCode(err) != locked {
			t.Errorf("approval while locked = %v, want locked", err)
		}
		if p, _ := st.PushRequest(ctx, pe.ID); p.Status != deadbolt.PushDenied {
			t.Errorf("request refused for the lock is %q, want denied", p.Status)
		}
		if _, err := g.svc.WaitPush(ctx, approved, pa.ID, 0, nil, signin.Client{}); deadbolt.ErrorCode(err) != locked {
			t.Errorf("collecting an approval after the lock = %v, want locked", err)
		}
		if list, _ := st.ListSessions(ctx, e.u.ID); len(list) != 2 {
			t.Errorf("sessions after the refused completion: %d, want the 2 pending ones", len(list))
		}
		if n := g.events(e, deadbolt.EventSignIn); n != 0 {
			t.Errorf("sign-ins recorded: %d, want 0", n)
		}
	})
}

// TestGateReauth: a fresh proof passes the same gate: 50 wrong codes at
// once, 5 checked.
func TestGateReauth(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		e := g.employee("hana")
		a := g.session(e, deadbolt.SessionFull)
		ctx := context.Background()
		got := burst(gateBurst, func(i int) error {
			return g.svc.ReauthCode(ctx, a, signin.MethodTOTP, g.wrongTOTP(e, i), nil, signin.Client{})
		})
		wantTally(t, "50 wrong reauth codes at once", got, map[deadbolt.Code]int{invalidCode: 5, rateLimited: 45})
		if n := g.events(e, deadbolt.EventSecondFactorFail); n != 5 {
			t.Errorf("codes checked = %d, want 5", n)
		}
		// A method the employee does not have is bad input: not counted.
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures = 1000
		g2 := newGateRig(t, st, cfg)
		e2 := g2.employee("ivan")
		if err := st.ClearPhone(ctx, e2.u.ID, gateT0); err != nil {
			t.Fatal(err)
		}
		e2.u.Phone = ""
		if err := g2.svc.ReauthCode(ctx, g2.session(e2, deadbolt.SessionFull), signin.MethodSMS, "123456", nil, signin.Client{}); deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput {
			t.Errorf("reauth by SMS without a phone = %v, want invalid_input", err)
		}
		if n := g2.counter("sf:" + e2.u.ID); n != 0 {
			t.Errorf("an unusable method left the streak at %d, want 0", n)
		}
	})
}

// TestGatePassword: 50 wrong passwords at once for one account: exactly
// the 10 free ones are checked.
func TestGatePassword(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		e := g.employee("jack")
		ctx := context.Background()
		got := burst(gateBurst, func(i int) error {
			_, err := g.svc.Login(ctx, "jack", fmt.Sprintf("wrong-%d", i), signin.Client{IP: fmt.Sprintf("198.51.100.%d", i)})
			return err
		})
		wantTally(t, "50 wrong passwords at once", got, map[deadbolt.Code]int{deadbolt.CodeInvalidCredentials: 10, rateLimited: 40})
		if n := g.events(e, deadbolt.EventSignInFailed); n != 10 {
			t.Errorf("passwords checked (failure events) = %d, want 10", n)
		}
		// The own-password check of a signed-in employee is gated too.
		a := g.session(e, deadbolt.SessionFull)
		if err := g.svc.ReauthPassword(ctx, a, e.pw, signin.Client{}); deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput {
			t.Errorf("password reauth with 2FA on = %v, want invalid_input", err)
		}
		if err := g.svc.ChangePassword(ctx, a, e.pw, "jack-password-2", signin.Client{}); deadbolt.ErrorCode(err) != rateLimited {
			t.Errorf("a password change while the account waits = %v, want rate_limited", err)
		}
	})
}

// TestGatePasswordIP: 150 wrong passwords at once from one address, each
// for another login: exactly 100 are checked. 150 employees of one office
// signing in from one address, 50 at once, all pass and leave the
// address's window empty.
func TestGatePasswordIP(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		ctx := context.Background()
		c := signin.Client{IP: "203.0.113.5"}
		got := burst(150, func(i int) error {
			_, err := g.svc.Login(ctx, fmt.Sprintf("ghost-%d", i), "wrong-password", c)
			return err
		})
		wantTally(t, "150 wrong passwords from one address", got, map[deadbolt.Code]int{deadbolt.CodeInvalidCredentials: 100, rateLimited: 50})

		// An office: 150 employees behind one address, 50 signing in at
		// once.
		hash, err := g.hasher.Hash(ctx, "office-password")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 150 {
			u := &deadbolt.User{ID: deadbolt.NewID(), Login: fmt.Sprintf("staff-%d", i), Name: "Staff", Active: true,
				PasswordHash: hash, CreatedAt: gateT0, UpdatedAt: gateT0}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		office := signin.Client{IP: "203.0.113.77"}
		for round := range 3 {
			got := burst(gateBurst, func(i int) error {
				_, err := g.svc.Login(ctx, fmt.Sprintf("staff-%d", round*gateBurst+i), "office-password", office)
				return err
			})
			wantTally(t, fmt.Sprintf("round %d of 50 sign-ins from one address", round), got, map[deadbolt.Code]int{"": gateBurst})
		}
		if n := g.counter("pw:ip:" + office.IP); n != 0 {
			t.Errorf("window of the office address after 150 sign-ins = %d, want 0", n)
		}
	})
}

// pairing starts a pairing for u and has a new device register with it;
// it answers the pairing's id and the device's TOTP secret (the device
// is not confirmed yet).
func (g *gateRig) pairing(devs *device.Service, u *deadbolt.User) (string, []byte) {
	g.t.Helper()
	ctx := context.Background()
	o, err := devs.StartPairing(ctx, u)
	if err != nil {
		g.t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		g.t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	p, err := devs.Pair(ctx, device.PairRequest{Token: o.Token, PublicKey: base64.RawURLEncoding.EncodeToString(der),
		Name: "phone", Platform: "cli"}, "")
	if err != nil {
		g.t.Fatal(err)
	}
	return o.ID, p.Secret
}

// TestGatePairing: the code that confirms a newly paired device is a
// guess like any second factor's. 50 wrong codes at once: exactly the 5
// free ones are checked (and recorded as failures), the 45 others wait,
// and all 50 count; the right code waits too, then confirms and ends the
// streak. A locked employee confirms no device, not even with the right
// code.
func TestGatePairing(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		ctx := context.Background()
		devs := device.New(st, g.box, audit.New(st, g.clock, slog.New(slog.DiscardHandler)), g.clock, "http://127.0.0.1:8080")
		devs.Gate = g.svc
		newcomer := func(login string) *deadbolt.User {
			u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: login, Active: true, PasswordHash: "x", CreatedAt: gateT0, UpdatedAt: gateT0}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			return u
		}
		wrong := func(secret []byte, k int) string {
			now := g.clock.Now()
			for i := k; ; i++ {
				c := fmt.Sprintf("%06d", (i*7919+13)%1_000_000)
				if c != totp.Code(secret, now.Add(-30*time.Second)) && c != totp.Code(secret, now) && c != totp.Code(secret, now.Add(30*time.Second)) {
					return c
				}
			}
		}
		trusted := func(u *deadbolt.User) bool {
			_, err := st.TrustedDevice(ctx, u.ID)
			if err != nil && !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}

		u := newcomer("nina")
		id, secret := g.pairing(devs, u)
		got := burst(gateBurst, func(i int) error {
			_, err := devs.Confirm(ctx, u, id, wrong(secret, i), "192.0.2.9")
			return err
		})
		wantTally(t, "50 wrong pairing codes at once", got, map[deadbolt.Code]int{invalidCode: 5, rateLimited: 45})
		if n := g.events(&gateEmployee{u: u}, deadbolt.EventSecondFactorFail); n != 5 {
			t.Errorf("codes checked (failure events) = %d, want 5", n)
		}
		if n, _ := g.svc.FailureCount(ctx, u.ID); n != gateBurst {
			t.Errorf("attempts counted = %d, want %d", n, gateBurst)
		}
		if _, err := devs.Confirm(ctx, u, id, totp.Code(secret, g.clock.Now()), ""); deadbolt.ErrorCode(err) != rateLimited {
			t.Errorf("the right code during the delay = %v, want rate_limited", err)
		}
		if trusted(u) {
			t.Fatal("a device was confirmed by a refused attempt")
		}
		g.clock.Advance(15*time.Minute + time.Second)
		if _, err := devs.Confirm(ctx, u, id, totp.Code(secret, g.clock.Now()), ""); err != nil {
			t.Fatalf("the right code after the delay = %v", err)
		}
		if !trusted(u) {
			t.Error("the right code after the delay did not confirm the device")
		}
		if n, _ := g.svc.FailureCount(ctx, u.ID); n != 0 {
			t.Errorf("streak after the confirmation = %d, want 0 (a success ends it)", n)
		}

		// Locked: no device is confirmed.
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures, cfg.SecondFactorLockAt = 1000, 3
		g2 := newGateRig(t, st, cfg)
		g2.clock.Set(g.clock.Now())
		devs2 := device.New(st, g.box, audit.New(st, g2.clock, slog.New(slog.DiscardHandler)), g2.clock, "http://127.0.0.1:8080")
		devs2.Gate = g2.svc
		v := newcomer("vera")
		id, secret = g2.pairing(devs2, v)
		got = burst(gateBurst, func(i int) error {
			_, err := devs2.Confirm(ctx, v, id, wrong(secret, i), "")
			return err
		})
		wantTally(t, "50 wrong pairing codes at once, locking at 3", got, map[deadbolt.Code]int{invalidCode: 2, locked: 48})
		if _, err := devs2.Confirm(ctx, v, id, totp.Code(secret, g2.clock.Now()), ""); deadbolt.ErrorCode(err) != locked {
			t.Errorf("the right code once locked = %v, want locked", err)
		}
		if trusted(v) {
			t.Error("a locked employee confirmed a device")
		}
	})
}

// TestGateOneCodeAtOnce: one right TOTP code sent at once on 5 pending
// sign-ins, and one right recovery code on 3 (within the free attempts
// and before a CAPTCHA is due):
// exactly one signs in, the others are wrong codes — used meanwhile —
// recorded as failures, and nothing is left half done.
func TestGateOneCodeAtOnce(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		g := newGateRig(t, st, signin.DefaultConfig())
		ctx := context.Background()
		for _, method := range []string{signin.MethodTOTP, signin.MethodRecovery} {
			e := g.employee("dana-" + method)
			code := e.codes[0]
			if method == signin.MethodTOTP {
				code = totp.Code(e.secret, g.clock.Now())
			}
			n := 5
			if method == signin.MethodRecovery {
				n = 3
			}
			auths := make([]*signin.Auth, n)
			for i := range auths {
				auths[i] = g.session(e, deadbolt.SessionPending)
			}
			var mu sync.Mutex
			var won *signin.Result
			got := burst(n, func(i int) error {
				res, err := g.svc.SecondFactor(ctx, auths[i], method, code, nil, signin.Client{})
				if err == nil {
					mu.Lock()
					won = res
					mu.Unlock()
				}
				return err
			})
			wantTally(t, fmt.Sprintf("%s: one code on %d sign-ins at once", method, n), got, map[deadbolt.Code]int{"": 1, invalidCode: n - 1})
			if won == nil || won.Session.State != deadbolt.SessionFull {
				t.Fatalf("%s: the winner's result %+v", method, won)
			}
			if f := g.events(e, deadbolt.EventSecondFactorFail); f != n-1 {
				t.Errorf("%s: failure events = %d, want %d", method, f, n-1)
			}
			if s := g.events(e, deadbolt.EventSignIn); s != 1 {
				t.Errorf("%s: sign-in events = %d, want 1", method, s)
			}
			sessions, err := st.ListSessions(ctx, e.u.ID)
			if err != nil {
				t.Fatal(err)
			}
			full := 0
			for _, s := range sessions {
				if s.State == deadbolt.SessionFull {
					full++
				}
			}
			if full != 1 || len(sessions) != n {
				t.Errorf("%s: %d sessions, %d full; want %d and 1 (the others still pending)", method, len(sessions), full, n)
			}
		}
	})
}
