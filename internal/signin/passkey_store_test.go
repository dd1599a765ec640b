package signin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"testing"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/passkey"
	"deadbolt/internal/passkey/passkeytest"
	"deadbolt/internal/password"
	"deadbolt/internal/signin"
)

// Passkeys through the sign-in service on the real stores, with the
// software authenticator: the attempt gate, the lock, user verification,
// replays.

const pkOrigin = "http://localhost:8080"

type pkRig struct {
	t     *testing.T
	st    deadbolt.Store
	svc   *signin.Service
	pk    *passkey.Service
	clock *deadbolt.FixedClock
	h     *password.Hasher
}

func newPKRig(t *testing.T, st deadbolt.Store, cfg signin.Config) *pkRig {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	clock := deadbolt.NewFixedClock(gateT0)
	aud := audit.New(st, clock, log)
	pub, _ := url.Parse(pkOrigin)
	pk, err := passkey.New(st, aud, clock, passkey.Config{PublicURL: pub})
	if err != nil {
		t.Fatal(err)
	}
	h := password.New(cheapHash, 4)
	svc := signin.New(st, h, aud, clock, cfg, &signin.Factors{Passkeys: pk}, log)
	return &pkRig{t: t, st: st, svc: svc, pk: pk, clock: clock, h: h}
}

// employee creates an employee with a password and one passkey made by a
// (returned with the employee).
func (r *pkRig) employee(login string) (*deadbolt.User, *passkeytest.Authenticator) {
	r.t.Helper()
	ctx := context.Background()
	hash, err := r.h.Hash(ctx, login+"-password")
	if err != nil {
		r.t.Fatal(err)
	}
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: login, Active: true, PasswordHash: hash, CreatedAt: gateT0, UpdatedAt: gateT0}
	if err := r.st.CreateUser(ctx, u); err != nil {
		r.t.Fatal(err)
	}
	a := passkeytest.New(pkOrigin)
	purpose := passkey.PurposeRegister("setup")
	opts, err := r.pk.RegistrationOptions(ctx, u, purpose)
	if err != nil {
		r.t.Fatal(err)
	}
	cred, err := a.Create(opts)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.pk.Register(ctx, u, purpose, "Key", cred, ""); err != nil {
		r.t.Fatal(err)
	}
	if u, err = r.st.UserByID(ctx, u.ID); err != nil {
		r.t.Fatal(err)
	}
	return u, a
}

// pending signs u in with the password and returns the pending session.
func (r *pkRig) pending(u *deadbolt.User) *signin.Auth {
	r.t.Helper()
	res, err := r.svc.Login(context.Background(), u.Login, u.Login+"-password", signin.Client{IP: "192.0.2.7"})
	if err != nil {
		r.t.Fatal(err)
	}
	if res.State != signin.StateSecondFactor || !slices.Contains(res.Methods, signin.MethodPasskey) {
		r.t.Fatalf("password step = %s %v, want second_factor offering passkey", res.State, res.Methods)
	}
	return &signin.Auth{Session: res.Session, User: u}
}

// answer has a answer fresh options for the session a.
func (r *pkRig) answer(a *signin.Auth, auth *passkeytest.Authenticator) []byte {
	r.t.Helper()
	opts, err := r.svc.PasskeyOptions(context.Background(), a)
	if err != nil {
		r.t.Fatalf("PasskeyOptions: %v", err)
	}
	cred, err := auth.Get(opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return cred
}

func TestPasskeySecondFactor(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		r := newPKRig(t, st, signin.DefaultConfig())
		ctx := context.Background()
		u, a := r.employee("alice")
		pending := r.pending(u)
		cred := r.answer(pending, a)
		res, err := r.svc.SecondFactorPasskey(ctx, pending, cred, signin.Client{IP: "192.0.2.7"})
		if err != nil {
			t.Fatal(err)
		}
		if res.State != signin.StateAuthenticated || res.Session.State != deadbolt.SessionFull || res.Session.Method != signin.MethodPasskey ||
			!slices.Equal(res.Session.AMR, []string{"pwd", "hwk", "user", "mfa"}) {
			t.Errorf("session = %+v, want full, passkey, amr pwd hwk user mfa", res.Session)
		}
		if keys, _ := st.Passkeys(ctx, u.ID); keys[0].SignCount != 2 || keys[0].LastUsedAt.IsZero() {
			t.Errorf("passkey after use = %+v, want counter 2 and a last use", keys[0])
		}
		// Replayed on another pending sign-in: refused and counted.
		again := r.pending(u)
		if _, err := r.svc.SecondFactorPasskey(ctx, again, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeInvalidCode) {
			t.Errorf("replayed assertion = %v, want invalid_code", err)
		}
		if n, _ := r.svc.FailureCount(ctx, u.ID); n != 1 {
			t.Errorf("streak after a replay = %d, want 1", n)
		}
		// An assertion for one pending sign-in does not complete another.
		other := r.pending(u)
		cred = r.answer(other, a)
		if _, err := r.svc.SecondFactorPasskey(ctx, again, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeInvalidCode) {
			t.Errorf("another sign-in's assertion = %v, want invalid_code", err)
		}
		// Without user verification it is still a second factor.
		a.UV = false
		res, err = r.svc.SecondFactorPasskey(ctx, again, r.answer(again, a), signin.Client{})
		if err != nil || !slices.Equal(res.Session.AMR, []string{"pwd", "hwk", "mfa"}) {
			t.Errorf("without UV = %+v, %v; want a full session, amr pwd hwk mfa", res, err)
		}
		// Reauth with a passkey renews the fresh proof.
		full := &signin.Auth{Session: res.Session, User: u}
		r.clock.Advance(20 * time.Minute)
		if err := r.svc.RequireFresh(full); !deadbolt.IsCode(err, deadbolt.CodeReauthRequired) {
			t.Fatalf("RequireFresh after 20 minutes = %v", err)
		}
		if err := r.svc.ReauthPasskey(ctx, full, r.answer(full, a), signin.Client{}); err != nil {
			t.Fatal(err)
		}
		sess, _, _ := st.SessionByToken(ctx, hashOf(res.Token))
		if !sess.AuthAt.Equal(r.clock.Now()) {
			t.Errorf("auth_at = %v, want %v", sess.AuthAt, r.clock.Now())
		}
	})
}

func hashOf(tok string) []byte {
	h, _ := signin.HashToken(tok)
	return h
}

// TestPasskeyGate: 50 failed assertions at once — a phishing page's, on
// the wrong origin — get the 5 free checks; the 45 others wait, unchecked,
// and all count.
func TestPasskeyGate(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		r := newPKRig(t, st, signin.DefaultConfig())
		ctx := context.Background()
		u, a := r.employee("alice")
		pending := r.pending(u)
		a.Origin = "http://login.evil.example"
		creds := make([][]byte, gateBurst)
		for i := range creds {
			creds[i] = r.answer(pending, a)
		}
		got := burst(gateBurst, func(i int) error {
			_, err := r.svc.SecondFactorPasskey(ctx, pending, creds[i], signin.Client{IP: "192.0.2.7"})
			return err
		})
		wantTally(t, "50 failed assertions at once", got, map[deadbolt.Code]int{invalidCode: 5, rateLimited: 45})
		list, _ := st.Events(ctx, deadbolt.EventFilter{UserID: u.ID, Type: deadbolt.EventSecondFactorFail, Limit: 100})
		if len(list) != 5 || list[0].Detail["method"] != signin.MethodPasskey {
			t.Errorf("assertions checked (failure events) = %d %v, want 5 passkey failures", len(list), list)
		}
		if n, _ := r.svc.FailureCount(ctx, u.ID); n != gateBurst {
			t.Errorf("attempts counted = %d, want %d", n, gateBurst)
		}
		// The right passkey waits too, and works after the wait.
		a.Origin = pkOrigin
		_, err := r.svc.SecondFactorPasskey(ctx, pending, r.answer(pending, a), signin.Client{})
		if !deadbolt.IsCode(err, rateLimited) {
			t.Fatalf("the right passkey at once = %v, want rate_limited", err)
		}
		r.clock.Advance(err.(*deadbolt.Error).RetryAfter)
		if _, err := r.svc.SecondFactorPasskey(ctx, pending, r.answer(pending, a), signin.Client{}); err != nil {
			t.Fatalf("the right passkey after the wait: %v", err)
		}
	})
}

// TestPasskeyLocked: a locked employee signs in with no passkey, with a
// password or without one.
func TestPasskeyLocked(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures, cfg.SecondFactorLockAt = 1000, 3
		r := newPKRig(t, st, cfg)
		ctx := context.Background()
		u, a := r.employee("alice")
		pending := r.pending(u)
		right := r.answer(pending, a)
		for range 3 {
			a.Origin = "http://evil.example"
			r.svc.SecondFactorPasskey(ctx, pending, r.answer(pending, a), signin.Client{})
		}
		a.Origin = pkOrigin
		if ok, _ := r.svc.Locked(ctx, u.ID); !ok {
			t.Fatalf("not locked after 3 failures")
		}
		if _, err := r.svc.SecondFactorPasskey(ctx, pending, right, signin.Client{}); !deadbolt.IsCode(err, locked) {
			t.Errorf("the right passkey once locked = %v, want locked", err)
		}
		if _, err := r.svc.PasskeyOptions(ctx, pending); !deadbolt.IsCode(err, locked) {
			t.Errorf("PasskeyOptions once locked = %v, want locked", err)
		}
		id, opts, err := r.svc.BeginPasskey(ctx, signin.Client{})
		if err != nil {
			t.Fatal(err)
		}
		cred, _ := a.Get(opts)
		if _, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{}); !deadbolt.IsCode(err, locked) {
			t.Errorf("passwordless once locked = %v, want locked", err)
		}
	})
}

func TestPasswordless(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		r := newPKRig(t, st, signin.DefaultConfig())
		ctx := context.Background()
		u, a := r.employee("alice")
		bob, b := r.employee("bob")
		begin := func() (string, []byte) {
			id, opts, err := r.svc.BeginPasskey(ctx, signin.Client{})
			if err != nil {
				t.Fatal(err)
			}
			return id, opts
		}
		id, opts := begin()
		cred, _ := a.Get(opts)
		res, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{IP: "192.0.2.7"})
		if err != nil {
			t.Fatal(err)
		}
		if res.State != signin.StateAuthenticated || res.User.ID != u.ID || res.Session.State != deadbolt.SessionFull ||
			!slices.Equal(res.Session.AMR, []string{"hwk", "user", "mfa"}) {
			t.Errorf("passwordless = %+v, session %+v", res, res.Session)
		}
		// Replayed.
		if _, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeInvalidCredentials) {
			t.Errorf("replayed = %v, want invalid_credentials", err)
		}
		// Another ceremony's id.
		_, opts = begin()
		cred, _ = a.Get(opts)
		other, _ := begin()
		if _, err := r.svc.FinishPasskey(ctx, other, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeInvalidCredentials) {
			t.Errorf("another ceremony's id = %v, want invalid_credentials", err)
		}
		// Without user verification: one factor only.
		a.UV = false
		id, opts = begin()
		cred, _ = a.Get(opts)
		if _, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeUserVerificationRequired) {
			t.Errorf("without UV = %v, want user_verification_required", err)
		}
		a.UV = true
		// Unknown passkey.
		stranger := passkeytest.New(pkOrigin)
		stranger.Create([]byte(`{"publicKey":{"rp":{"id":"localhost","name":"x"},"user":{"id":"dXNlcg","name":"u"},"challenge":"Y2hhbGxlbmdlY2hhbGxlbmdl","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`))
		id, opts = begin()
		cred, _ = stranger.Get(opts)
		if _, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeInvalidCredentials) {
			t.Errorf("unknown passkey = %v, want invalid_credentials", err)
		}
		// Deactivated.
		if err := st.SetActive(ctx, bob.ID, false, deadbolt.EndDeactivation, nil, gateT0); err != nil {
			t.Fatal(err)
		}
		id, opts = begin()
		cred, _ = b.Get(opts)
		if _, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeInvalidCredentials) {
			t.Errorf("deactivated = %v, want invalid_credentials", err)
		}
		// Removed passkey.
		keys, _ := st.Passkeys(ctx, u.ID)
		if err := r.pk.Remove(ctx, u, keys[0].ID, ""); err != nil {
			t.Fatal(err)
		}
		id, opts = begin()
		cred, _ = a.Get(opts)
		if _, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{}); !deadbolt.IsCode(err, deadbolt.CodeInvalidCredentials) {
			t.Errorf("removed passkey = %v, want invalid_credentials", err)
		}
	})
}

// TestPasskeyBeginLimit: 50 sign-ins without a login begun at once from
// one network: exactly the allowed number get a challenge (and a row in
// the store); the others are refused before anything is written, until the
// window ends. Other networks are not touched; the addresses of one IPv6
// /64 are one network.
func TestPasskeyBeginLimit(t *testing.T) {
	gateStores(t, func(t *testing.T, st deadbolt.Store) {
		cfg := signin.DefaultConfig()
		cfg.PasskeyBegins, cfg.PasskeyBeginWindow = 20, 15*time.Minute
		r := newPKRig(t, st, cfg)
		ctx := context.Background()
		u, a := r.employee("alice")
		begin := func(ip string) error {
			_, _, err := r.svc.BeginPasskey(ctx, signin.Client{IP: ip})
			return err
		}
		// The registration's challenge, out of the way.
		if _, err := st.DeleteExpiredPasskeyChallenges(ctx, gateT0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got := burst(gateBurst, func(int) error { return begin("198.51.100.7") })
		wantTally(t, "50 begins at once from one address", got, map[deadbolt.Code]int{"": 20, rateLimited: 30})
		// Only the allowed begins wrote a challenge: the sweep, once they
		// have all expired, finds exactly those.
		if n, err := st.DeleteExpiredPasskeyChallenges(ctx, gateT0.Add(time.Hour)); err != nil || n != 20 {
			t.Errorf("challenges stored by 50 begins = %d, %v; want 20", n, err)
		}
		_, _, err := r.svc.BeginPasskey(ctx, signin.Client{IP: "198.51.100.7"})
		var e *deadbolt.Error
		if !errors.As(err, &e) || e.Code != rateLimited || e.RetryAfter <= 0 || e.RetryAfter > 15*time.Minute {
			t.Errorf("a begin while the window is full = %v, want rate_limited with a wait within the window", err)
		}
		if err := begin("198.51.100.8"); err != nil {
			t.Errorf("a begin from another address = %v, want it to work", err)
		}

		// One IPv6 /64 is one network: 50 addresses in it share the limit.
		got = burst(gateBurst, func(i int) error { return begin(fmt.Sprintf("2001:db8:1:2::%x", i+1)) })
		wantTally(t, "50 begins at once from one /64", got, map[deadbolt.Code]int{"": 20, rateLimited: 30})
		if err := begin("2001:db8:1:3::1"); err != nil {
			t.Errorf("a begin from another /64 = %v, want it to work", err)
		}

		// After the window, the address begins again and signs in.
		r.clock.Advance(15*time.Minute + time.Second)
		id, opts, err := r.svc.BeginPasskey(ctx, signin.Client{IP: "198.51.100.7"})
		if err != nil {
			t.Fatalf("a begin after the window = %v", err)
		}
		cred, _ := a.Get(opts)
		res, err := r.svc.FinishPasskey(ctx, id, cred, signin.Client{IP: "198.51.100.7"})
		if err != nil || res.User.ID != u.ID {
			t.Errorf("passwordless after the window = %+v, %v", res, err)
		}
	})
}
