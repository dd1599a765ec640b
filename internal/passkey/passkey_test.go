package passkey_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/passkey"
	"deadbolt/internal/passkey/passkeytest"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/sqlite"
)

// The ceremonies run against the real stores, SQLite and PostgreSQL, with
// a software authenticator that makes real attestation and assertion
// objects.

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const origin = "http://localhost:8080"

func stores(t *testing.T, f func(t *testing.T, st deadbolt.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "passkey.db"), true)
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

type rig struct {
	t     *testing.T
	st    deadbolt.Store
	svc   *passkey.Service
	clock *deadbolt.FixedClock
	// notices records the events the audit hook saw.
	notices []string
}

func newRig(t *testing.T, st deadbolt.Store, public string) *rig {
	r := &rig{t: t, st: st, clock: deadbolt.NewFixedClock(t0)}
	log := audit.New(st, r.clock, slog.New(slog.DiscardHandler))
	log.OnRecord = func(_ context.Context, e *deadbolt.Event) { r.notices = append(r.notices, e.Type) }
	u, _ := url.Parse(public)
	svc, err := passkey.New(st, log, r.clock, passkey.Config{PublicURL: u})
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	return r
}

func (r *rig) user(login string) *deadbolt.User {
	r.t.Helper()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: "Name " + login, Active: true, PasswordHash: "x",
		CreatedAt: t0, UpdatedAt: t0}
	if err := r.st.CreateUser(context.Background(), u); err != nil {
		r.t.Fatal(err)
	}
	return u
}

// register runs a whole registration of a passkey of a for u.
func (r *rig) register(u *deadbolt.User, a *passkeytest.Authenticator, name string) (*deadbolt.Passkey, error) {
	r.t.Helper()
	ctx := context.Background()
	purpose := passkey.PurposeRegister("sess-" + u.ID)
	opts, err := r.svc.RegistrationOptions(ctx, u, purpose)
	if err != nil {
		return nil, err
	}
	cred, err := a.Create(opts)
	if err != nil {
		r.t.Fatalf("authenticator create: %v", err)
	}
	return r.svc.Register(ctx, u, purpose, name, cred, "192.0.2.1")
}

func (r *rig) mustRegister(u *deadbolt.User, a *passkeytest.Authenticator, name string) *deadbolt.Passkey {
	r.t.Helper()
	p, err := r.register(u, a, name)
	if err != nil {
		r.t.Fatalf("register %q: %v", name, err)
	}
	return p
}

// assert asks for options for u (nil: discoverable) and has a answer them.
func (r *rig) assert(u *deadbolt.User, purpose string, a *passkeytest.Authenticator) []byte {
	r.t.Helper()
	_, opts, err := r.svc.AssertionOptions(context.Background(), u, purpose)
	if err != nil {
		r.t.Fatalf("AssertionOptions: %v", err)
	}
	cred, err := a.Get(opts)
	if err != nil {
		r.t.Fatalf("authenticator get: %v", err)
	}
	return cred
}

func (r *rig) verify(u *deadbolt.User, purpose string, cred []byte) *deadbolt.PasskeyAssertion {
	r.t.Helper()
	res, err := r.svc.Verify(context.Background(), u, purpose, cred, "192.0.2.1")
	if err != nil {
		r.t.Fatalf("Verify: %v", err)
	}
	return res
}

func TestRegister(t *testing.T) {
	stores(t, func(t *testing.T, st deadbolt.Store) {
		ctx := context.Background()
		r := newRig(t, st, origin)
		u := r.user("alice")
		a := passkeytest.New(origin)
		p := r.mustRegister(u, a, "  Laptop ")
		if p.Name != "Laptop" || !p.UserVerified || p.AttestationFormat != "none" || p.SignCount != 1 ||
			len(p.AAGUID) != 16 || p.AAGUID[0] != 0xde || p.BackupEligible {
			t.Errorf("registered %+v", p)
		}
		list, err := r.svc.List(ctx, u)
		if err != nil || len(list) != 1 || string(list[0].CredentialID) != string(a.Credentials()[0].ID) {
			t.Fatalf("List = %v, %v", list, err)
		}
		if got, _ := st.UserByID(ctx, u.ID); !got.TwoFactorEnabled() {
			t.Errorf("a passkey did not turn the second factor on")
		}
		if len(r.notices) != 1 || r.notices[0] != deadbolt.EventPasskeyAdded {
			t.Errorf("audit hook saw %v, want one passkey.added", r.notices)
		}

		// The options exclude the passkeys u has: the same authenticator
		// refuses to make a second one.
		opts, err := r.svc.RegistrationOptions(ctx, u, passkey.PurposeRegister("s"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Create(opts); err == nil {
			t.Errorf("the options did not exclude the registered passkey")
		}
		var o struct {
			PublicKey struct {
				RP struct {
					ID string `json:"id"`
				} `json:"rp"`
				AuthenticatorSelection struct {
					UserVerification string `json:"userVerification"`
				} `json:"authenticatorSelection"`
				Attestation string `json:"attestation"`
			} `json:"publicKey"`
		}
		json.Unmarshal(opts, &o)
		if o.PublicKey.RP.ID != "localhost" || o.PublicKey.AuthenticatorSelection.UserVerification != "preferred" ||
			o.PublicKey.Attestation != "none" {
			t.Errorf("creation options = %s", opts)
		}

		// A name is required.
		_, err = r.register(u, passkeytest.New(origin), " ")
		wantCode(t, "register without a name", err, deadbolt.CodeInvalidInput)
	})
}

func wantCode(t *testing.T, what string, err error, code deadbolt.Code) {
	t.Helper()
	if got := deadbolt.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want %q", what, err, got, code)
	}
}

func TestRegisterRefusals(t *testing.T) {
	stores(t, func(t *testing.T, st deadbolt.Store) {
		ctx := context.Background()
		r := newRig(t, st, origin)
		u := r.user("alice")
		refused := func(what string, a *passkeytest.Authenticator, mutate func(purpose string, cred []byte) (string, []byte)) {
			t.Helper()
			purpose := passkey.PurposeRegister("s-" + what)
			opts, err := r.svc.RegistrationOptions(ctx, u, purpose)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := a.Create(opts)
			if err != nil {
				t.Fatal(err)
			}
			if mutate != nil {
				purpose, cred = mutate(purpose, cred)
			}
			_, err = r.svc.Register(ctx, u, purpose, "Key", cred, "")
			wantCode(t, what, err, deadbolt.CodeInvalidInput)
		}
		phish := passkeytest.New("http://localhost.evil.example")
		refused("wrong origin", phish, nil)
		otherRP := passkeytest.New(origin)
		otherRP.RPID = "evil.example"
		refused("wrong RP ID", otherRP, nil)
		refused("another session's challenge", passkeytest.New(origin), func(_ string, c []byte) (string, []byte) {
			return passkey.PurposeRegister("another"), c
		})
		refused("expired challenge", passkeytest.New(origin), func(p string, c []byte) (string, []byte) {
			r.clock.Advance(passkey.ChallengeTTL)
			return p, c
		})
		refused("not JSON", passkeytest.New(origin), func(p string, _ []byte) (string, []byte) { return p, []byte(`{"id":`) })
		// A challenge works once: the second registration with it fails.
		purpose := passkey.PurposeRegister("once")
		opts, _ := r.svc.RegistrationOptions(ctx, u, purpose)
		cred, _ := passkeytest.New(origin).Create(opts)
		if _, err := r.svc.Register(ctx, u, purpose, "First", cred, ""); err != nil {
			t.Fatal(err)
		}
		cred2, _ := passkeytest.New(origin).Create(opts)
		_, err := r.svc.Register(ctx, u, purpose, "Second", cred2, "")
		wantCode(t, "reused challenge", err, deadbolt.CodeInvalidInput)
		if list, _ := r.svc.List(ctx, u); len(list) != 1 {
			t.Errorf("refusals stored passkeys: %d, want 1", len(list))
		}
		if got, _ := st.UserByID(ctx, u.ID); !got.TwoFactorEnabled() {
			t.Errorf("2FA off after a registration")
		}
	})
}

func TestRegisterLimit(t *testing.T) {
	stores(t, func(t *testing.T, st deadbolt.Store) {
		ctx := context.Background()
		r := newRig(t, st, origin)
		u := r.user("alice")
		for i := range passkey.MaxPerEmployee {
			r.mustRegister(u, passkeytest.New(origin), fmt.Sprint("Key ", i))
		}
		_, err := r.svc.RegistrationOptions(ctx, u, passkey.PurposeRegister("s"))
		wantCode(t, "options past the limit", err, deadbolt.CodeLimitReached)
	})
}

func TestRenameRemove(t *testing.T) {
	stores(t, func(t *testing.T, st deadbolt.Store) {
		ctx := context.Background()
		r := newRig(t, st, origin)
		u, bob := r.user("alice"), r.user("bob")
		p := r.mustRegister(u, passkeytest.New(origin), "Laptop")
		got, err := r.svc.Rename(ctx, u, p.ID, "Work laptop", "")
		if err != nil || got.Name != "Work laptop" {
			t.Fatalf("Rename = %+v, %v", got, err)
		}
		_, err = r.svc.Rename(ctx, bob, p.ID, "Mine", "")
		wantCode(t, "rename another's", err, deadbolt.CodeNotFound)
		_, err = r.svc.Rename(ctx, u, p.ID, "bad\x07name", "")
		wantCode(t, "rename with a control character", err, deadbolt.CodeInvalidInput)
		wantCode(t, "remove another's", r.svc.Remove(ctx, bob, p.ID, ""), deadbolt.CodeNotFound)
		wantCode(t, "remove junk", r.svc.Remove(ctx, u, "not-an-id", ""), deadbolt.CodeNotFound)
		if err := r.svc.Remove(ctx, u, p.ID, ""); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "remove twice", r.svc.Remove(ctx, u, p.ID, ""), deadbolt.CodeNotFound)
		want := []string{deadbolt.EventPasskeyAdded, deadbolt.EventPasskeyRenamed, deadbolt.EventPasskeyRemoved}
		if fmt.Sprint(r.notices) != fmt.Sprint(want) {
			t.Errorf("audit hook saw %v, want %v", r.notices, want)
		}
	})
}

func TestVerify(t *testing.T) {
	stores(t, func(t *testing.T, st deadbolt.Store) {
		ctx := context.Background()
		r := newRig(t, st, origin)
		u, bob := r.user("alice"), r.user("bob")
		a, b := passkeytest.New(origin), passkeytest.New(origin)
		p := r.mustRegister(u, a, "Laptop")
		r.mustRegister(bob, b, "Bob's")
		purpose := passkey.PurposeLogin("pending-1")

		cred := r.assert(u, purpose, a)
		res := r.verify(u, purpose, cred)
		if !res.OK || !res.UserVerified || res.Passkey.ID != p.ID || res.Use.ID != p.ID || res.Use.SignCount != 2 {
			t.Fatalf("Verify = %+v, want OK by %s with counter 2", res, p.ID)
		}
		// Replayed: the challenge was used.
		if res := r.verify(u, purpose, cred); res.OK || res.Reason != "challenge" {
			t.Errorf("replayed assertion = %+v, want refused (challenge)", res)
		}
		// A challenge of another purpose (another sign-in) does not match.
		cred = r.assert(u, passkey.PurposeLogin("pending-2"), a)
		if res := r.verify(u, purpose, cred); res.OK {
			t.Errorf("assertion for another sign-in accepted")
		}
		// Expired.
		_, opts, _ := r.svc.AssertionOptions(ctx, u, purpose)
		r.clock.Advance(passkey.ChallengeTTL)
		cred, _ = a.Get(opts)
		if res := r.verify(u, purpose, cred); res.OK || res.Reason != "challenge" {
			t.Errorf("expired challenge = %+v, want refused", res)
		}
		// Another employee's passkey, on this employee's challenge.
		_, opts, _ = r.svc.AssertionOptions(ctx, u, purpose)
		cred, err := b.GetWith(b.Credentials()[0], opts)
		if err != nil {
			t.Fatal(err)
		}
		if res := r.verify(u, purpose, cred); res.OK || res.Reason != "unknown_passkey" {
			t.Errorf("another employee's passkey = %+v, want refused", res)
		}
		// Wrong origin (a phishing page relaying the challenge), wrong RP ID.
		a.Origin = "http://login.evil.example"
		if res := r.verify(u, purpose, r.assert(u, purpose, a)); res.OK || res.Reason != "origin" {
			t.Errorf("wrong origin = %+v, want refused (origin)", res)
		}
		a.Origin, a.RPID = origin, "evil.example"
		if res := r.verify(u, purpose, r.assert(u, purpose, a)); res.OK {
			t.Errorf("wrong RP ID = %+v, want refused", res)
		}
		a.RPID = ""
		// Without user verification it still proves possession; UV is
		// reported false.
		a.UV = false
		if res := r.verify(u, purpose, r.assert(u, purpose, a)); !res.OK || res.UserVerified {
			t.Errorf("assertion without UV = %+v, want OK without UV", res)
		}
		a.UV = true
		// A tampered signature.
		cred = r.assert(u, purpose, a)
		var m map[string]any
		json.Unmarshal(cred, &m)
		resp := m["response"].(map[string]any)
		sig, _ := base64.RawURLEncoding.DecodeString(resp["signature"].(string))
		sig[len(sig)-1] ^= 1
		resp["signature"] = base64.RawURLEncoding.EncodeToString(sig)
		cred, _ = json.Marshal(m)
		if res := r.verify(u, purpose, cred); res.OK {
			t.Errorf("tampered signature accepted")
		}
		// Junk is bad input, not a failed assertion.
		_, err = r.svc.Verify(ctx, u, purpose, []byte(`{"id":"x"}`), "")
		wantCode(t, "junk assertion", err, deadbolt.CodeInvalidInput)
	})
}

func TestVerifyCounter(t *testing.T) {
	stores(t, func(t *testing.T, st deadbolt.Store) {
		ctx := context.Background()
		r := newRig(t, st, origin)
		u := r.user("alice")
		a := passkeytest.New(origin)
		r.mustRegister(u, a, "Key")
		purpose := passkey.PurposeReauth("s")
		res := r.verify(u, purpose, r.assert(u, purpose, a))
		if !res.OK {
			t.Fatalf("first assertion refused: %+v", res)
		}
		// The completion commits the use; then a clone replays an older
		// counter.
		comp := &deadbolt.Completion{UserID: u.ID, Now: t0, Passkey: &res.Use}
		if ok, err := st.CompleteSecondFactor(ctx, comp); !ok || err != nil {
			t.Fatalf("commit the use: %v, %v", ok, err)
		}
		a.Credentials()[0].SignCount = 1
		r.notices = nil
		if res := r.verify(u, purpose, r.assert(u, purpose, a)); res.OK || res.Reason != "counter" {
			t.Errorf("counter gone back = %+v, want refused (counter)", res)
		}
		if len(r.notices) != 1 || r.notices[0] != deadbolt.EventPasskeyCounter {
			t.Errorf("events %v, want passkey.counter_regressed", r.notices)
		}

		// Authenticators without a counter (synced passkeys) stay at 0.
		z := passkeytest.New(origin)
		z.NoCounter, z.Backup = true, true
		zp := r.mustRegister(u, z, "Synced")
		if zp.SignCount != 0 || !zp.BackupEligible || !zp.BackupState {
			t.Errorf("synced passkey = %+v", zp)
		}
		for i := range 2 {
			res := r.verify(u, purpose, r.assert(u, purpose, z))
			if !res.OK || res.Use.SignCount != 0 || !res.Use.BackupState {
				t.Errorf("counterless assertion %d = %+v", i, res)
			}
		}
	})
}

func TestDiscoverable(t *testing.T) {
	stores(t, func(t *testing.T, st deadbolt.Store) {
		ctx := context.Background()
		r := newRig(t, st, origin)
		u, bob := r.user("alice"), r.user("bob")
		a := passkeytest.New(origin)
		p := r.mustRegister(u, a, "Phone")
		r.mustRegister(bob, passkeytest.New(origin), "Bob's")
		id, opts, err := r.svc.AssertionOptions(ctx, nil, passkey.PurposeDiscover)
		if err != nil || !deadbolt.ValidID(id) {
			t.Fatalf("AssertionOptions(discover) = %q, %v", id, err)
		}
		var o struct {
			PublicKey struct {
				Allow []any  `json:"allowCredentials"`
				RPID  string `json:"rpId"`
			} `json:"publicKey"`
		}
		json.Unmarshal(opts, &o)
		if len(o.PublicKey.Allow) != 0 || o.PublicKey.RPID != "localhost" {
			t.Errorf("discoverable options = %s", opts)
		}
		cred, err := a.Get(opts)
		if err != nil {
			t.Fatal(err)
		}
		owner, err := r.svc.Owner(ctx, cred)
		if err != nil || owner.ID != p.ID || owner.UserID != u.ID {
			t.Fatalf("Owner = %+v, %v", owner, err)
		}
		// The owner's check passes; the same assertion is no proof of bob.
		if res := r.verify(bob, passkey.PurposeDiscover, cred); res.OK {
			t.Errorf("alice's assertion proved bob")
		}
		cred, _ = a.Get(mustOptions(t, r))
		if res := r.verify(u, passkey.PurposeDiscover, cred); !res.OK || !res.UserVerified {
			t.Errorf("discoverable assertion = %+v", res)
		}
		_, err = r.svc.Owner(ctx, mustGet(t, passkeytest.New(origin), r))
		wantCode(t, "Owner(unregistered)", err, deadbolt.CodeNotFound)
	})
}

func mustOptions(t *testing.T, r *rig) []byte {
	_, opts, err := r.svc.AssertionOptions(context.Background(), nil, passkey.PurposeDiscover)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// mustGet has a fresh authenticator register nowhere but answer with a
// credential of its own: it registers one with a throwaway relying party
// first.
func mustGet(t *testing.T, a *passkeytest.Authenticator, r *rig) []byte {
	t.Helper()
	create := []byte(`{"publicKey":{"rp":{"id":"localhost","name":"x"},"user":{"id":"dXNlcg","name":"u"},"challenge":"Y2hhbGxlbmdlY2hhbGxlbmdl","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`)
	if _, err := a.Create(create); err != nil {
		t.Fatal(err)
	}
	cred, err := a.Get(mustOptions(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestOffWithAnIPAddress(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ip.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := newRig(t, st, "http://127.0.0.1:8080")
	u := r.user("alice")
	if err := r.svc.Available(); deadbolt.ErrorCode(err) != deadbolt.CodePasskeysUnavailable {
		t.Fatalf("Available() = %v, want passkeys_unavailable", err)
	}
	_, err = r.svc.RegistrationOptions(context.Background(), u, "x")
	wantCode(t, "RegistrationOptions with an IP public URL", err, deadbolt.CodePasskeysUnavailable)
	_, _, err = r.svc.AssertionOptions(context.Background(), nil, passkey.PurposeDiscover)
	wantCode(t, "AssertionOptions with an IP public URL", err, deadbolt.CodePasskeysUnavailable)
	if msg := deadbolt.ErrorMessage(r.svc.Available()); msg == "" || !strings.Contains(msg, "IP address") {
		t.Errorf("message %q does not say why", msg)
	}
}
