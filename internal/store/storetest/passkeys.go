package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// passkeyTests are the contract tests of PasskeyStore and of the passkey
// steps of factor changes and completions.
var passkeyTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"Passkeys", testPasskeys},
	{"PasskeyLimitRace", testPasskeyLimitRace},
	{"PasskeyChallenges", testPasskeyChallenges},
	{"PasskeyChallengeRace", testPasskeyChallengeRace},
	{"PasskeyChallengeSweep", testPasskeyChallengeSweep},
	{"PasskeyCompletion", testPasskeyCompletion},
	{"PasskeyCompletionRace", testPasskeyCompletionRace},
	{"WorkgroupMinMethod", testWorkgroupMinMethod},
}

// NewPasskey returns a passkey record for u with credential id cred, not
// yet stored.
func NewPasskey(u *deadbolt.User, cred string) *deadbolt.Passkey {
	return &deadbolt.Passkey{ID: deadbolt.NewID(), UserID: u.ID, CredentialID: []byte(cred), PublicKey: []byte("cose:" + cred),
		SignCount: 3, AAGUID: bytes.Repeat([]byte{0xad}, 16), BackupEligible: true, UserVerified: true,
		Transports: []string{"internal", "hybrid"}, AttestationFormat: "none", Name: "Key " + cred, CreatedAt: T0}
}

// addPasskey adds p to its user through a factor change (turning 2FA on),
// at most max passkeys per user.
func addPasskey(ctx context.Context, s deadbolt.Store, p *deadbolt.Passkey, max int) error {
	_, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: p.UserID, Now: p.CreatedAt, TwoFactor: deadbolt.TwoFactorOn,
		AddPasskey: p, MaxPasskeys: max,
		Events: []*deadbolt.Event{{Type: deadbolt.EventPasskeyAdded, At: p.CreatedAt, UserID: p.UserID}}})
	return err
}

func passkeyEvents(t *testing.T, s deadbolt.Store, userID, typ string) int {
	t.Helper()
	list, err := s.Events(context.Background(), deadbolt.EventFilter{UserID: userID, Type: typ, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func testPasskeys(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	bob := NewUser(t, s, "bob")
	if list, err := s.Passkeys(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("Passkeys(new user) = %v, %v; want none", list, err)
	}
	p := NewPasskey(u, "cred-1")
	if err := addPasskey(ctx, s, p, 2); err != nil {
		t.Fatalf("add passkey: %v", err)
	}
	got, err := s.PasskeyByCredentialID(ctx, []byte("cred-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.UserID != u.ID || !bytes.Equal(got.PublicKey, p.PublicKey) || got.SignCount != 3 ||
		!bytes.Equal(got.AAGUID, p.AAGUID) || !got.BackupEligible || got.BackupState || !got.UserVerified ||
		!slices.Equal(got.Transports, p.Transports) || got.AttestationFormat != "none" || got.Name != p.Name ||
		!got.CreatedAt.Equal(T0) || !got.LastUsedAt.IsZero() {
		t.Errorf("PasskeyByCredentialID = %+v, want %+v", got, p)
	}
	if uu, _ := s.UserByID(ctx, u.ID); !uu.TwoFactorEnabled() {
		t.Errorf("adding a passkey with TwoFactorOn left 2FA off")
	}
	if n := passkeyEvents(t, s, u.ID, deadbolt.EventPasskeyAdded); n != 1 {
		t.Errorf("passkey.added events = %d, want 1", n)
	}
	_, err = s.PasskeyByCredentialID(ctx, []byte("cred-unknown"))
	wantCode(t, "PasskeyByCredentialID(unknown)", err, deadbolt.CodeNotFound)

	// A credential id is one employee's: another registering it changes
	// nothing, 2FA and the audit log included.
	wantCode(t, "add a credential registered by another", addPasskey(ctx, s, NewPasskey(bob, "cred-1"), 10), deadbolt.CodeConflict)
	if bb, _ := s.UserByID(ctx, bob.ID); bb.TwoFactorEnabled() {
		t.Errorf("a refused passkey turned 2FA on")
	}
	if n := passkeyEvents(t, s, bob.ID, deadbolt.EventPasskeyAdded); n != 0 {
		t.Errorf("a refused passkey left %d events", n)
	}

	// The cap.
	second := NewPasskey(u, "cred-2")
	second.CreatedAt = T0.Add(time.Minute)
	if err := addPasskey(ctx, s, second, 2); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "add over the cap", addPasskey(ctx, s, NewPasskey(u, "cred-3"), 2), deadbolt.CodeLimitReached)
	list, err := s.Passkeys(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].ID != p.ID || list[1].ID != second.ID {
		t.Fatalf("Passkeys = %v, %v; want cred-1, cred-2 in order", list, err)
	}
	if st, err := s.FactorState(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID); err != nil || st.Passkeys != 2 {
		t.Errorf("FactorState.Passkeys = %v, %v; want 2", st, err)
	}
	if st, err := s.FactorAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, false, T0); err != nil || st.Passkeys != 2 {
		t.Errorf("FactorAttempt.Passkeys = %v, %v; want 2", st, err)
	}
	if o, err := s.FactorOverview(ctx, u.ID); err != nil || o.Passkeys != 2 {
		t.Errorf("FactorOverview.Passkeys = %v, %v; want 2", o, err)
	}

	// Rename: only one's own.
	if err := s.RenamePasskey(ctx, u.ID, p.ID, "Laptop"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "RenamePasskey(another's)", s.RenamePasskey(ctx, bob.ID, p.ID, "Mine"), deadbolt.CodeNotFound)
	if got, _ := s.PasskeyByCredentialID(ctx, []byte("cred-1")); got.Name != "Laptop" {
		t.Errorf("name = %q, want Laptop", got.Name)
	}

	// Remove: only one's own, and all or nothing.
	_, err = s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: bob.ID, Now: T0, RemovePasskeyID: p.ID,
		Events: []*deadbolt.Event{{Type: deadbolt.EventPasskeyRemoved, At: T0, UserID: bob.ID}}})
	wantCode(t, "remove another's passkey", err, deadbolt.CodeNotFound)
	if n := passkeyEvents(t, s, bob.ID, deadbolt.EventPasskeyRemoved); n != 0 {
		t.Errorf("a refused removal left %d events", n)
	}
	if _, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, RemovePasskeyID: p.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred-1")); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("removed passkey still found: %v", err)
	}
	// Its credential id is free again.
	if err := addPasskey(ctx, s, NewPasskey(bob, "cred-1"), 10); err != nil {
		t.Errorf("re-register a removed credential: %v", err)
	}
	if _, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, TwoFactor: deadbolt.TwoFactorOff, DeletePasskeys: true}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Passkeys(ctx, u.ID); len(list) != 0 {
		t.Errorf("DeletePasskeys left %d", len(list))
	}
	if list, _ := s.Passkeys(ctx, bob.ID); len(list) != 1 {
		t.Errorf("DeletePasskeys of alice touched bob's: %d left", len(list))
	}
}

func testPasskeyLimitRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	wins := parallel(t, 50, func(i int) (bool, error) {
		err := addPasskey(ctx, s, NewPasskey(u, fmt.Sprint("cred-", i)), 10)
		if deadbolt.IsCode(err, deadbolt.CodeLimitReached) {
			return false, nil
		}
		return err == nil, err
	})
	if wins != 10 {
		t.Errorf("%d passkeys added at once under a cap of 10", wins)
	}
	if list, _ := s.Passkeys(ctx, u.ID); len(list) != 10 {
		t.Errorf("stored %d passkeys, want 10", len(list))
	}
	if n := passkeyEvents(t, s, u.ID, deadbolt.EventPasskeyAdded); n != 10 {
		t.Errorf("%d passkey.added events, want 10", n)
	}
}

func newChallenge(u *deadbolt.User, challenge, purpose string, at time.Time) *deadbolt.PasskeyChallenge {
	uid := ""
	if u != nil {
		uid = u.ID
	}
	return &deadbolt.PasskeyChallenge{ID: deadbolt.NewID(), Challenge: challenge, Purpose: purpose, UserID: uid,
		Ceremony: []byte(`{"challenge":"` + challenge + `"}`), CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
}

func testPasskeyChallenges(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	c := newChallenge(u, "chal-1", "login:s1", T0)
	if err := s.SavePasskeyChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "SavePasskeyChallenge(same challenge)", s.SavePasskeyChallenge(ctx, newChallenge(u, "chal-1", "login:s2", T0)), deadbolt.CodeConflict)
	// Another purpose does not match, and does not use it up.
	_, err := s.ConsumePasskeyChallenge(ctx, "chal-1", "login:s2", T0)
	wantCode(t, "consume for another purpose", err, deadbolt.CodeNotFound)
	got, err := s.ConsumePasskeyChallenge(ctx, "chal-1", "login:s1", T0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.UserID != u.ID || string(got.Ceremony) != string(c.Ceremony) || !got.CreatedAt.Equal(T0) ||
		!got.ExpiresAt.Equal(c.ExpiresAt) || !got.UsedAt.Equal(T0.Add(time.Minute)) {
		t.Errorf("ConsumePasskeyChallenge = %+v, want %+v", got, c)
	}
	_, err = s.ConsumePasskeyChallenge(ctx, "chal-1", "login:s1", T0.Add(time.Minute))
	wantCode(t, "consume twice", err, deadbolt.CodeNotFound)

	// Expiry: usable until just before ExpiresAt.
	d := newChallenge(nil, "chal-2", "discover", T0)
	if err := s.SavePasskeyChallenge(ctx, d); err != nil {
		t.Fatal(err)
	}
	_, err = s.ConsumePasskeyChallenge(ctx, "chal-2", "discover", d.ExpiresAt)
	wantCode(t, "consume at expiry", err, deadbolt.CodeNotFound)
	e := newChallenge(nil, "chal-3", "discover", T0)
	if err := s.SavePasskeyChallenge(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConsumePasskeyChallenge(ctx, "chal-3", "discover", e.ExpiresAt.Add(-time.Microsecond)); err != nil || got.UserID != "" {
		t.Errorf("consume just before expiry = %+v, %v", got, err)
	}
}

func testPasskeyChallengeSweep(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	// Two expired at T0+5m (one used), one expiring at T0+10m.
	for _, c := range []*deadbolt.PasskeyChallenge{newChallenge(u, "old-used", "login:s1", T0),
		newChallenge(nil, "old", "discover", T0), newChallenge(nil, "live", "discover", T0.Add(5*time.Minute))} {
		if err := s.SavePasskeyChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ConsumePasskeyChallenge(ctx, "old-used", "login:s1", T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// At the instant of expiry nothing is deleted yet.
	if n, err := s.DeleteExpiredPasskeyChallenges(ctx, T0.Add(5*time.Minute)); err != nil || n != 0 {
		t.Errorf("DeleteExpiredPasskeyChallenges(at expiry) = %d, %v; want 0", n, err)
	}
	if n, err := s.DeleteExpiredPasskeyChallenges(ctx, T0.Add(6*time.Minute)); err != nil || n != 2 {
		t.Errorf("DeleteExpiredPasskeyChallenges = %d, %v; want 2", n, err)
	}
	// The swept ones are gone (their challenge text is free again), the
	// live one works.
	for _, c := range []string{"old-used", "old"} {
		if err := s.SavePasskeyChallenge(ctx, newChallenge(nil, c, "discover", T0.Add(6*time.Minute))); err != nil {
			t.Errorf("saving %q again after the sweep: %v", c, err)
		}
	}
	if _, err := s.ConsumePasskeyChallenge(ctx, "live", "discover", T0.Add(6*time.Minute)); err != nil {
		t.Errorf("the live challenge after the sweep: %v", err)
	}
	if n, err := s.DeleteExpiredPasskeyChallenges(ctx, T0.Add(6*time.Minute)); err != nil || n != 0 {
		t.Errorf("DeleteExpiredPasskeyChallenges again = %d, %v; want 0", n, err)
	}
}

func testPasskeyChallengeRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	if err := s.SavePasskeyChallenge(ctx, newChallenge(nil, "chal", "discover", T0)); err != nil {
		t.Fatal(err)
	}
	wins := parallel(t, 50, func(int) (bool, error) {
		_, err := s.ConsumePasskeyChallenge(ctx, "chal", "discover", T0)
		return err == nil, err
	})
	if wins != 1 {
		t.Errorf("a challenge was used %d times at once, want once", wins)
	}
}

// passkeyCompletion completes the pending session with a passkey use.
func passkeyCompletion(u *deadbolt.User, pending *deadbolt.Session, i int, use deadbolt.PasskeyUse) *deadbolt.Completion {
	c := completion(u, pending, i)
	c.NewSession.Method, c.Event.Detail["method"] = "passkey", "passkey"
	c.Passkey = &use
	return c
}

func testPasskeyCompletion(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	p := NewPasskey(u, "cred")
	if err := addPasskey(ctx, s, p, 10); err != nil {
		t.Fatal(err)
	}
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)

	// A counter that did not move forward is a used proof: nothing changes.
	for _, n := range []int64{3, 2, 0} {
		c := passkeyCompletion(u, pending, int(n), deadbolt.PasskeyUse{ID: p.ID, SignCount: n})
		if ok, err := s.CompleteSecondFactor(ctx, c); ok || err != nil {
			t.Errorf("CompleteSecondFactor(counter %d after 3) = %v, %v; want false", n, ok, err)
		}
	}
	if list, _ := s.ListSessions(ctx, u.ID); len(list) != 1 || list[0].ID != pending.ID {
		t.Fatalf("a refused completion changed the sessions: %v", list)
	}
	// Another employee's passkey is no proof of this one.
	bob := NewUser(t, s, "bob")
	c := passkeyCompletion(bob, pending, 9, deadbolt.PasskeyUse{ID: p.ID, SignCount: 10})
	c.OldSessionID = ""
	if ok, err := s.CompleteSecondFactor(ctx, c); ok || err != nil {
		t.Errorf("CompleteSecondFactor(another's passkey) = %v, %v; want false", ok, err)
	}

	c = passkeyCompletion(u, pending, 4, deadbolt.PasskeyUse{ID: p.ID, SignCount: 4, BackupState: true})
	c.Now = T0.Add(time.Minute)
	if ok, err := s.CompleteSecondFactor(ctx, c); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor(counter 4) = %v, %v", ok, err)
	}
	got, _ := s.PasskeyByCredentialID(ctx, []byte("cred"))
	if got.SignCount != 4 || !got.BackupState || !got.LastUsedAt.Equal(T0.Add(time.Minute)) {
		t.Errorf("after use: %+v, want counter 4, backed up, used at T0+1m", got)
	}
	if _, _, err := s.SessionByToken(ctx, c.TokenHash); err != nil {
		t.Errorf("new session: %v", err)
	}

	// A sign-in without a password: a new session, no pending one.
	c = passkeyCompletion(u, pending, 5, deadbolt.PasskeyUse{ID: p.ID, SignCount: 5})
	c.OldSessionID = ""
	if ok, err := s.CompleteSecondFactor(ctx, c); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor(new session only) = %v, %v", ok, err)
	}
	if sess, _, err := s.SessionByToken(ctx, c.TokenHash); err != nil || sess.Method != "passkey" {
		t.Errorf("passwordless session = %+v, %v", sess, err)
	}

	// Authenticators without a counter: 0 stays 0.
	z := NewPasskey(u, "zero")
	z.SignCount = 0
	if err := addPasskey(ctx, s, z, 10); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c := passkeyCompletion(u, pending, 10+i, deadbolt.PasskeyUse{ID: z.ID})
		c.OldSessionID = ""
		if ok, err := s.CompleteSecondFactor(ctx, c); !ok || err != nil {
			t.Errorf("CompleteSecondFactor(counter 0, use %d) = %v, %v", i, ok, err)
		}
	}
	// A removed passkey proves nothing.
	if _, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, RemovePasskeyID: z.ID}); err != nil {
		t.Fatal(err)
	}
	c = passkeyCompletion(u, pending, 20, deadbolt.PasskeyUse{ID: z.ID})
	c.OldSessionID = ""
	if ok, err := s.CompleteSecondFactor(ctx, c); ok || err != nil {
		t.Errorf("CompleteSecondFactor(removed passkey) = %v, %v; want false", ok, err)
	}
	if _, _, err := s.SessionByToken(ctx, c.TokenHash); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("a refused completion created its session: %v", err)
	}
}

func testPasskeyCompletionRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	p := NewPasskey(u, "cred")
	if err := addPasskey(ctx, s, p, 10); err != nil {
		t.Fatal(err)
	}
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
	// Fifty completions carrying the same counter: one commits.
	wins := parallel(t, 50, func(i int) (bool, error) {
		c := passkeyCompletion(u, pending, i, deadbolt.PasskeyUse{ID: p.ID, SignCount: 7})
		c.OldSessionID = ""
		h := sha256.Sum256(fmt.Appendf(nil, "race %d", i))
		c.TokenHash = h[:]
		return s.CompleteSecondFactor(ctx, c)
	})
	if wins != 1 {
		t.Errorf("%d completions with one counter value, want 1", wins)
	}
}

func testWorkgroupMinMethod(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	w := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: "Ops", CreatedAt: T0,
		Policy: deadbolt.WorkgroupPolicy{Required: true, MinMethod: "no_sms"}}
	if err := s.CreateWorkgroup(ctx, w); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Workgroup(ctx, w.ID); got.Policy.MinMethod != "no_sms" {
		t.Errorf("created min_method = %q, want no_sms", got.Policy.MinMethod)
	}
	p := deadbolt.WorkgroupPolicy{Required: true, Deadline: T0, MinMethod: "phishing_resistant", UpdatedAt: T0}
	if err := s.SetWorkgroupPolicy(ctx, w.ID, p, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Workgroup(ctx, w.ID)
	if err != nil || got.Policy.MinMethod != "phishing_resistant" {
		t.Fatalf("Workgroup = %+v, %v; want min_method phishing_resistant", got, err)
	}
	u := NewUser(t, s, "alice")
	if _, err := s.AddWorkgroupMember(ctx, w.ID, u.ID, T0); err != nil {
		t.Fatal(err)
	}
	o, err := s.FactorOverview(ctx, u.ID)
	if err != nil || len(o.Policies) != 1 || o.Policies[0].MinMethod != "phishing_resistant" || !o.Policies[0].Deadline.Equal(T0) {
		t.Errorf("FactorOverview policies = %+v, %v", o.Policies, err)
	}
	if ws, err := s.UserWorkgroups(ctx, u.ID); err != nil || len(ws) != 1 || ws[0].Policy.MinMethod != "phishing_resistant" {
		t.Errorf("UserWorkgroups = %+v, %v", ws, err)
	}
}
