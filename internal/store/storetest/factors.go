package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// FactorTests are the contract tests of FactorStore and CaptchaStore.
var factorTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"PairingOnce", testPairingOnce},
	{"DeviceLifecycle", testDeviceLifecycle},
	{"SessionsEnd", testSessionsEnd},
	{"ChangeFactorsAllOrNothing", testChangeFactorsAllOrNothing},
	{"ChangeFactorsRace", testChangeFactorsRace},
	{"RecoveryCodes", testRecoveryCodes},
	{"ResetTwoFactor", testResetTwoFactor},
	{"CaptchaOnce", testCaptchaOnce},
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// parallel runs f n times at once and counts the calls that returned true.
func parallel(t *testing.T, n int, f func(i int) (bool, error)) int {
	t.Helper()
	var wg sync.WaitGroup
	var wins atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := f(i)
			if err != nil && deadbolt.ErrorCode(err) != deadbolt.CodeNotFound {
				t.Errorf("call %d: %v", i, err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}

func testPairingOnce(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	p := &deadbolt.Pairing{ID: deadbolt.NewID(), UserID: u.ID, CreatedAt: T0, ExpiresAt: T0.Add(10 * time.Minute)}
	if err := s.CreatePairing(ctx, p, hash("tok")); err != nil {
		t.Fatal(err)
	}
	_, err := s.ConsumePairing(ctx, hash("other"), T0)
	wantCode(t, "ConsumePairing(unknown)", err, deadbolt.CodeNotFound)
	wins := parallel(t, 50, func(int) (bool, error) {
		got, err := s.ConsumePairing(ctx, hash("tok"), T0.Add(time.Minute))
		return err == nil && got.ID == p.ID && got.UserID == u.ID, err
	})
	if wins != 1 {
		t.Errorf("ConsumePairing succeeded %d times, want 1", wins)
	}
	late := &deadbolt.Pairing{ID: deadbolt.NewID(), UserID: u.ID, CreatedAt: T0, ExpiresAt: T0.Add(10 * time.Minute)}
	s.CreatePairing(ctx, late, hash("late"))
	_, err = s.ConsumePairing(ctx, hash("late"), T0.Add(10*time.Minute))
	wantCode(t, "ConsumePairing(expired)", err, deadbolt.CodeNotFound)
}

func newDevice(t *testing.T, s deadbolt.Store, u *deadbolt.User, tok string) *deadbolt.Device {
	t.Helper()
	d := &deadbolt.Device{ID: deadbolt.NewID(), UserID: u.ID, PairingID: deadbolt.NewID(), Name: "Phone", Platform: "cli",
		PublicKey: []byte{1, 2, 3}, TOTPSecretSealed: []byte{4, 5, 6}, CreatedAt: T0}
	if err := s.CreateDevice(context.Background(), d, hash(tok)); err != nil {
		t.Fatal(err)
	}
	return d
}

// confirmation is the change a confirmed pairing makes (the device service
// builds the same): deviceID trusted, the user's other devices
// disconnected, every recovery code deleted, the second factor on and the
// disconnection mark cleared.
func confirmation(userID, deviceID string, now time.Time) *deadbolt.FactorChange {
	return &deadbolt.FactorChange{UserID: userID, Now: now, ConfirmDeviceID: deviceID,
		Disconnect: deadbolt.DisconnectOthers, DeleteRecoveryCodes: true, TwoFactor: deadbolt.TwoFactorOn,
		ClearDeviceDisconnected: true}
}

// ConfirmDevice makes deviceID the user's trusted device as a confirmed
// pairing does, for tests that need one; it fails the test otherwise.
func ConfirmDevice(t testing.TB, s deadbolt.FactorStore, userID, deviceID string, now time.Time) {
	t.Helper()
	if r, err := s.ChangeFactors(context.Background(), confirmation(userID, deviceID, now)); err != nil || !r.Applied {
		t.Fatalf("ChangeFactors(confirm device) = %+v, %v", r, err)
	}
}

func change(t *testing.T, s deadbolt.Store, c *deadbolt.FactorChange) deadbolt.FactorChangeResult {
	t.Helper()
	r, err := s.ChangeFactors(context.Background(), c)
	if err != nil || !r.Applied {
		t.Fatalf("ChangeFactors(%+v) = %+v, %v; want applied", c, r, err)
	}
	return r
}

// useRecoveryCode uses up a recovery code the way a sign-in does, without
// a session to replace, and reports whether the code was there to use.
func useRecoveryCode(t *testing.T, s deadbolt.Store, u *deadbolt.User, h []byte) bool {
	t.Helper()
	ok, err := s.CompleteSecondFactor(context.Background(), &deadbolt.Completion{UserID: u.ID, RecoveryHash: h, Now: T0})
	if err != nil {
		t.Fatalf("CompleteSecondFactor(recovery code) = %v", err)
	}
	return ok
}

func testDeviceLifecycle(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d1 := newDevice(t, s, u, "d1")
	got, err := s.DeviceByToken(ctx, hash("d1"))
	if err != nil || got.ID != d1.ID || string(got.TOTPSecretSealed) != "\x04\x05\x06" || got.Trusted() {
		t.Fatalf("DeviceByToken = %+v, %v", got, err)
	}
	if got, err := s.DeviceByPairing(ctx, u.ID, d1.PairingID); err != nil || got.ID != d1.ID {
		t.Fatalf("DeviceByPairing = %v, %v", got, err)
	}
	_, err = s.TrustedDevice(ctx, u.ID)
	wantCode(t, "TrustedDevice(none)", err, deadbolt.CodeNotFound)
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b"), hash("c")}, T0)
	useRecoveryCode(t, s, u, hash("c"))
	r := change(t, s, confirmation(u.ID, d1.ID, T0.Add(time.Minute)))
	if r.VoidedRecoveryCodes != 2 || r.DisconnectedTrusted {
		t.Fatalf("ChangeFactors(confirm) = %+v; want 2 unused codes voided, no trusted device disconnected", r)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 0 {
		t.Errorf("recovery codes after pairing = %d, want 0", n)
	}
	_, err = s.ChangeFactors(ctx, confirmation(u.ID, d1.ID, T0.Add(time.Minute)))
	wantCode(t, "ChangeFactors(confirm again)", err, deadbolt.CodeNotFound)
	uu, _ := s.UserByID(ctx, u.ID)
	if !uu.TwoFactorSince.Equal(T0.Add(time.Minute)) {
		t.Errorf("TwoFactorSince = %v", uu.TwoFactorSince)
	}
	if td, err := s.TrustedDevice(ctx, u.ID); err != nil || td.ID != d1.ID {
		t.Fatalf("TrustedDevice = %v, %v", td, err)
	}
	// A second device replaces the first when confirmed.
	d2 := newDevice(t, s, u, "d2")
	if r := change(t, s, confirmation(u.ID, d2.ID, T0.Add(2*time.Minute))); !r.DisconnectedTrusted || r.VoidedRecoveryCodes != 0 {
		t.Errorf("ChangeFactors(confirm a second device) = %+v; want the first one disconnected, nothing voided", r)
	}
	if td, _ := s.TrustedDevice(ctx, u.ID); td.ID != d2.ID {
		t.Errorf("trusted = %s, want the new device", td.ID)
	}
	if old, _ := s.DeviceByToken(ctx, hash("d1")); !old.DisconnectedAt.Equal(T0.Add(2 * time.Minute)) {
		t.Errorf("old device disconnected at %v, want %v", old.DisconnectedAt, T0.Add(2*time.Minute))
	}
	uu, _ = s.UserByID(ctx, u.ID)
	if !uu.TwoFactorSince.Equal(T0.Add(time.Minute)) {
		t.Errorf("TwoFactorSince moved to %v", uu.TwoFactorSince)
	}
	// Logout-all disconnects and marks the banner.
	disc, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, T0.Add(3*time.Minute))
	if err != nil || !disc {
		t.Fatalf("EndAllSessions = %v, %v; want a disconnected device", disc, err)
	}
	uu, _ = s.UserByID(ctx, u.ID)
	if !uu.DeviceDisconnectedAt.Equal(T0.Add(3*time.Minute)) || !uu.TwoFactorEnabled() {
		t.Errorf("after logout-all: %+v", uu)
	}
	_, err = s.TrustedDevice(ctx, u.ID)
	wantCode(t, "TrustedDevice after logout-all", err, deadbolt.CodeNotFound)
	// Pairing again clears the mark.
	d3 := newDevice(t, s, u, "d3")
	change(t, s, confirmation(u.ID, d3.ID, T0.Add(4*time.Minute)))
	uu, _ = s.UserByID(ctx, u.ID)
	if !uu.DeviceDisconnectedAt.IsZero() {
		t.Error("DeviceDisconnectedAt not cleared by a new pairing")
	}
	// Unpairing: every device disconnected, nothing else.
	newDevice(t, s, u, "d4")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("d")}, T0)
	if r := change(t, s, &deadbolt.FactorChange{UserID: u.ID, Now: T0.Add(5 * time.Minute), Disconnect: deadbolt.DisconnectAll}); !r.DisconnectedTrusted {
		t.Errorf("ChangeFactors(disconnect all) = %+v, want a trusted device disconnected", r)
	}
	for _, tok := range []string{"d3", "d4"} {
		if d, _ := s.DeviceByToken(ctx, hash(tok)); !d.DisconnectedAt.Equal(T0.Add(5 * time.Minute)) {
			t.Errorf("device %s disconnected at %v, want %v", tok, d.DisconnectedAt, T0.Add(5*time.Minute))
		}
	}
	uu, _ = s.UserByID(ctx, u.ID)
	if !uu.DeviceDisconnectedAt.IsZero() || !uu.TwoFactorEnabled() {
		t.Errorf("disconnecting every device changed the user: %+v", uu)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("disconnecting every device left %d recovery codes, want 1", n)
	}
	if r := change(t, s, &deadbolt.FactorChange{UserID: u.ID, Now: T0.Add(6 * time.Minute), Disconnect: deadbolt.DisconnectAll}); r.DisconnectedTrusted {
		t.Errorf("ChangeFactors(disconnect all, none connected) = %+v, want no trusted device", r)
	}
	if d, _ := s.DeviceByToken(ctx, hash("d4")); !d.DisconnectedAt.Equal(T0.Add(5 * time.Minute)) {
		t.Errorf("a disconnected device was disconnected again, at %v", d.DisconnectedAt)
	}
}

// testChangeFactorsAllOrNothing: a change that cannot be made in full
// changes nothing — above all, a TOTP step is not used up by a
// confirmation that fails, and a confirmation does not happen with a used
// step.
func testChangeFactorsAllOrNothing(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d1 := newDevice(t, s, u, "d1")
	change(t, s, confirmation(u.ID, d1.ID, T0))
	u, _ = s.UserByID(ctx, u.ID)
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a")}, T0)
	_, sh := NewSession(t, s, u, deadbolt.SessionFull)
	events := func() int {
		list, err := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	unchanged := func(what string, step int64) {
		t.Helper()
		uu, _ := s.UserByID(ctx, u.ID)
		if uu.TOTPLastStep != step || !uu.TwoFactorSince.Equal(T0) || uu.SessionEpoch != u.SessionEpoch {
			t.Errorf("%s changed the user: %+v", what, uu)
		}
		if td, err := s.TrustedDevice(ctx, u.ID); err != nil || td.ID != d1.ID {
			t.Errorf("%s changed the trusted device: %v, %v", what, td, err)
		}
		if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
			t.Errorf("%s deleted recovery codes", what)
		}
		if _, _, err := s.SessionByToken(ctx, sh); err != nil {
			t.Errorf("%s ended a session: %v", what, err)
		}
		if n := events(); n != 0 {
			t.Errorf("%s appended %d events", what, n)
		}
	}
	everything := func(deviceID string, step int64) *deadbolt.FactorChange {
		c := confirmation(u.ID, deviceID, T0.Add(time.Minute))
		c.TOTPStep, c.EndSessions = step, true
		c.Events = []*deadbolt.Event{{Type: deadbolt.EventDeviceConfirmed, At: T0, UserID: u.ID}}
		return c
	}

	// The device to confirm is no longer unconfirmed: nothing happens, and
	// the step stays unused.
	c := everything(d1.ID, 1000)
	_, err := s.ChangeFactors(ctx, c)
	wantCode(t, "ChangeFactors(confirmed device)", err, deadbolt.CodeNotFound)
	if c.Events[0].ID != "" {
		t.Errorf("a change that failed gave its event the id %q", c.Events[0].ID)
	}
	unchanged("confirming a confirmed device", 0)
	_, err = s.ChangeFactors(ctx, everything(deadbolt.NewID(), 1000))
	wantCode(t, "ChangeFactors(unknown device)", err, deadbolt.CodeNotFound)
	unchanged("confirming an unknown device", 0)
	other := NewUser(t, s, "bob")
	bobs := newDevice(t, s, other, "bob")
	_, err = s.ChangeFactors(ctx, everything(bobs.ID, 1000))
	wantCode(t, "ChangeFactors(another user's device)", err, deadbolt.CodeNotFound)
	unchanged("confirming another user's device", 0)
	_, err = s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: deadbolt.NewID(), Now: T0, EndSessions: true})
	wantCode(t, "ChangeFactors(unknown user)", err, deadbolt.CodeNotFound)

	// A used step: nothing happens either; the new device stays unconfirmed.
	change(t, s, &deadbolt.FactorChange{UserID: u.ID, Now: T0, TOTPStep: 1000})
	d2 := newDevice(t, s, u, "d2")
	for _, step := range []int64{999, 1000} {
		r, err := s.ChangeFactors(ctx, everything(d2.ID, step))
		if err != nil || r != (deadbolt.FactorChangeResult{}) {
			t.Fatalf("ChangeFactors(step %d, last used 1000) = %+v, %v; want not applied", step, r, err)
		}
	}
	if d, _ := s.DeviceByToken(ctx, hash("d2")); !d.ConfirmedAt.IsZero() {
		t.Error("a change with a used TOTP step confirmed the device")
	}
	unchanged("a change with a used step", 1000)

	// A newer step: all of it at once.
	c = everything(d2.ID, 1001)
	r := change(t, s, c)
	if r.VoidedRecoveryCodes != 1 || !r.DisconnectedTrusted {
		t.Errorf("ChangeFactors(everything) = %+v; want 1 code voided and the trusted device disconnected", r)
	}
	uu, _ := s.UserByID(ctx, u.ID)
	if uu.TOTPLastStep != 1001 || uu.SessionEpoch != u.SessionEpoch+1 {
		t.Errorf("after the change: step %d, epoch %d; want 1001, %d", uu.TOTPLastStep, uu.SessionEpoch, u.SessionEpoch+1)
	}
	if td, err := s.TrustedDevice(ctx, u.ID); err != nil || td.ID != d2.ID {
		t.Errorf("TrustedDevice = %v, %v; want the new device", td, err)
	}
	if _, _, err := s.SessionByToken(ctx, sh); deadbolt.ErrorCode(err) != deadbolt.CodeNotFound {
		t.Errorf("SessionByToken after ending sessions = %v, want not_found", err)
	}
	list, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID})
	if len(list) != 1 || list[0].Type != deadbolt.EventDeviceConfirmed || list[0].ID != c.Events[0].ID || c.Events[0].ID == "" {
		t.Errorf("events = %v (id given %q), want the one event of the change", list, c.Events[0].ID)
	}
}

// testChangeFactorsRace: 50 confirmations of one device at once, each with
// its own step, confirm it once; 50 changes using one step at once use it
// once.
func testChangeFactorsRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "d")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b")}, T0)
	var voided atomic.Int64
	wins := parallel(t, 50, func(i int) (bool, error) {
		c := confirmation(u.ID, d.ID, T0)
		c.TOTPStep = int64(100 + i)
		r, err := s.ChangeFactors(ctx, c)
		voided.Add(int64(r.VoidedRecoveryCodes))
		return r.Applied, err
	})
	if wins != 1 || voided.Load() != 2 {
		t.Errorf("50 confirmations at once: %d applied, %d codes voided; want 1 and 2", wins, voided.Load())
	}
	wins = parallel(t, 50, func(int) (bool, error) {
		r, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, TOTPStep: 1000})
		return r.Applied, err
	})
	if wins != 1 {
		t.Errorf("ChangeFactors(step 1000) applied %d times at once, want 1", wins)
	}
	if r, _ := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, TOTPStep: 999}); r.Applied {
		t.Error("an older step was accepted")
	}
	change(t, s, &deadbolt.FactorChange{UserID: u.ID, Now: T0, TOTPStep: 1001})
	uu, _ := s.UserByID(ctx, u.ID)
	if uu.TOTPLastStep != 1001 {
		t.Errorf("TOTPLastStep = %d, want 1001", uu.TOTPLastStep)
	}
}

func testRecoveryCodes(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	other := NewUser(t, s, "bob")
	var set [][]byte
	for i := range 10 {
		set = append(set, hash(fmt.Sprint("code", i)))
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, set, T0); err != nil {
		t.Fatal(err)
	}
	if useRecoveryCode(t, s, other, set[0]) {
		t.Error("another user's code was accepted")
	}
	if !useRecoveryCode(t, s, u, set[0]) {
		t.Error("a valid code was refused")
	}
	if useRecoveryCode(t, s, u, set[0]) {
		t.Error("a code was accepted twice")
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 9 {
		t.Errorf("codes left = %d, want 9", n)
	}
	// Reload voids every old code, used or not.
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("new")}, T0); err != nil {
		t.Fatal(err)
	}
	if useRecoveryCode(t, s, u, set[1]) {
		t.Error("an old code works after reload")
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("codes left after reload = %d, want 1", n)
	}
}

// testResetTwoFactor: the change an administrator's reset makes — second
// factor off, devices disconnected, codes deleted, marks cleared, every
// session ended — touches no other employee.
func testResetTwoFactor(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	other := NewUser(t, s, "bob")
	d := newDevice(t, s, u, "d")
	change(t, s, confirmation(u.ID, d.ID, T0))
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("x")}, T0)
	s.ReplaceRecoveryCodes(ctx, other.ID, [][]byte{hash("y")}, T0)
	s.SetLastConfirmed(ctx, u.ID, T0)
	s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, T0) // sets the disconnection mark
	d2 := newDevice(t, s, u, "d2")
	change(t, s, &deadbolt.FactorChange{UserID: u.ID, Now: T0, ConfirmDeviceID: d2.ID})
	u, _ = s.UserByID(ctx, u.ID)
	if u.DeviceDisconnectedAt.IsZero() || u.LastConfirmedAt.IsZero() {
		t.Fatalf("fixture: marks not set: %+v", u)
	}
	_, full := NewSession(t, s, u, deadbolt.SessionFull)
	_, pending := NewSession(t, s, u, deadbolt.SessionPending)
	_, bobs := NewSession(t, s, other, deadbolt.SessionFull)
	at := T0.Add(time.Hour)
	r := change(t, s, &deadbolt.FactorChange{UserID: u.ID, Now: at, TwoFactor: deadbolt.TwoFactorOff,
		ClearDeviceDisconnected: true, ClearLastConfirmed: true, Disconnect: deadbolt.DisconnectAll,
		DeleteRecoveryCodes: true, EndSessions: true})
	if !r.DisconnectedTrusted || r.VoidedRecoveryCodes != 1 {
		t.Errorf("ChangeFactors(reset) = %+v; want the trusted device disconnected, 1 code voided", r)
	}
	uu, _ := s.UserByID(ctx, u.ID)
	if uu.TwoFactorEnabled() || !uu.DeviceDisconnectedAt.IsZero() || !uu.LastConfirmedAt.IsZero() {
		t.Errorf("after the reset: %+v; want 2FA off and no marks", uu)
	}
	if uu.SessionEpoch != u.SessionEpoch+1 || !uu.UpdatedAt.Equal(at) {
		t.Errorf("after the reset: epoch %d, updated %v; want %d, %v", uu.SessionEpoch, uu.UpdatedAt, u.SessionEpoch+1, at)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 0 {
		t.Errorf("codes left = %d", n)
	}
	if _, err := s.TrustedDevice(ctx, u.ID); deadbolt.ErrorCode(err) != deadbolt.CodeNotFound {
		t.Errorf("device still trusted: %v", err)
	}
	for name, h := range map[string][]byte{"full": full, "pending": pending} {
		_, _, err := s.SessionByToken(ctx, h)
		wantCode(t, "SessionByToken("+name+" session after the reset)", err, deadbolt.CodeNotFound)
	}
	if list, _ := s.ListSessions(ctx, u.ID); len(list) != 0 {
		t.Errorf("ListSessions after the reset = %v, want none", list)
	}
	if _, _, err := s.SessionByToken(ctx, bobs); err != nil {
		t.Errorf("another employee's session ended with the reset: %v", err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, other.ID); n != 1 {
		t.Errorf("another employee's codes: %d left, want 1", n)
	}
}

func testCaptchaOnce(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	c := deadbolt.Challenge{ID: "c1", Digits: []byte{1, 2, 3, 4, 5, 6}, CreatedAt: T0, ExpiresAt: T0.Add(10 * time.Minute)}
	if err := s.SaveChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Challenge(ctx, "c1", T0); err != nil || string(got.Digits) != string(c.Digits) {
		t.Fatalf("Challenge = %+v, %v", got, err)
	}
	wins := parallel(t, 50, func(int) (bool, error) {
		_, err := s.ConsumeChallenge(ctx, "c1", T0.Add(time.Minute))
		return err == nil, err
	})
	if wins != 1 {
		t.Errorf("ConsumeChallenge succeeded %d times, want 1", wins)
	}
	_, err := s.Challenge(ctx, "c1", T0)
	wantCode(t, "Challenge(used)", err, deadbolt.CodeNotFound)
	s.SaveChallenge(ctx, deadbolt.Challenge{ID: "c2", Digits: []byte{1}, CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)})
	_, err = s.ConsumeChallenge(ctx, "c2", T0.Add(time.Minute))
	wantCode(t, "ConsumeChallenge(expired)", err, deadbolt.CodeNotFound)
}

// testSessionsEnd: ending every session changes the devices exactly as
// the SessionsEnd says — SetPassword, EndAllSessions and a deactivation
// alike: the devices stay, or are disconnected, and the disconnection is
// recorded on the user only when told, and only when a trusted device was
// among them.
func testSessionsEnd(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	disconnectOnly := deadbolt.SessionsEnd{DisconnectDevices: true}
	markOnly := deadbolt.SessionsEnd{MarkDisconnected: true}
	ops := []struct {
		name string
		end  func(u *deadbolt.User, e deadbolt.SessionsEnd, now time.Time) (bool, error)
	}{
		{"SetPassword", func(u *deadbolt.User, e deadbolt.SessionsEnd, now time.Time) (bool, error) {
			return s.SetPassword(ctx, u.ID, "$argon2id$new", "", e, now)
		}},
		{"EndAllSessions", func(u *deadbolt.User, e deadbolt.SessionsEnd, now time.Time) (bool, error) {
			return s.EndAllSessions(ctx, u.ID, e, now)
		}},
		{"SetActive", func(u *deadbolt.User, e deadbolt.SessionsEnd, now time.Time) (bool, error) {
			err := s.SetActive(ctx, u.ID, false, e, nil, now)
			if err == nil {
				err = s.SetActive(ctx, u.ID, true, e, nil, now)
			}
			return false, err
		}},
	}
	for i, op := range ops {
		u := NewUser(t, s, fmt.Sprintf("end-%d", i))
		trusted := func(tok string, at time.Time) *deadbolt.Device {
			d := newDevice(t, s, u, tok)
			change(t, s, confirmation(u.ID, d.ID, at))
			return d
		}
		mark := func() time.Time {
			got, err := s.UserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.DeviceDisconnectedAt
		}
		gone := func(tok string) bool {
			d, err := s.DeviceByToken(ctx, hash(tok))
			if err != nil {
				t.Fatal(err)
			}
			return !d.DisconnectedAt.IsZero()
		}
		at := func(m int) time.Time { return T0.Add(time.Duration(10*i+m) * time.Minute) }

		// Neither: the trusted device stays; a mark alone records nothing.
		trusted(op.name+"-a", at(0))
		for _, e := range []deadbolt.SessionsEnd{{}, markOnly} {
			if disc, err := op.end(u, e, at(1)); err != nil || disc {
				t.Errorf("%s(%+v) = %v, %v; want nothing disconnected", op.name, e, disc, err)
			}
			if gone(op.name + "-a") {
				t.Fatalf("%s(%+v) disconnected the device", op.name, e)
			}
			if !mark().IsZero() {
				t.Errorf("%s(%+v) recorded a disconnection", op.name, e)
			}
		}
		// Disconnect, unmarked.
		disc, err := op.end(u, disconnectOnly, at(2))
		if err != nil || (op.name != "SetActive" && !disc) {
			t.Errorf("%s(disconnect) = %v, %v; want the trusted device disconnected", op.name, disc, err)
		}
		if !gone(op.name+"-a") || !mark().IsZero() {
			t.Errorf("%s(disconnect): device gone %v, mark %v; want gone and no mark", op.name, gone(op.name+"-a"), mark())
		}
		// Disconnect and mark.
		trusted(op.name+"-b", at(3))
		if _, err := op.end(u, deadbolt.SessionsEnd{DisconnectDevices: true, MarkDisconnected: true}, at(4)); err != nil {
			t.Fatal(err)
		}
		if !gone(op.name+"-b") || !mark().Equal(at(4)) {
			t.Errorf("%s(disconnect and mark): device gone %v, mark %v; want gone and %v", op.name, gone(op.name+"-b"), mark(), at(4))
		}
		// Mark asked, but no trusted device among those disconnected: the
		// mark stays as it was.
		newDevice(t, s, u, op.name+"-c")
		if disc, err := op.end(u, deadbolt.SessionsEnd{DisconnectDevices: true, MarkDisconnected: true}, at(5)); err != nil || disc {
			t.Errorf("%s(no trusted device) = %v, %v; want none disconnected", op.name, disc, err)
		}
		if !gone(op.name+"-c") || !mark().Equal(at(4)) {
			t.Errorf("%s(no trusted device): unconfirmed device gone %v, mark %v; want gone and still %v", op.name, gone(op.name+"-c"), mark(), at(4))
		}
	}
}
