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
	{"TOTPStepRace", testTOTPStepRace},
	{"RecoveryCodes", testRecoveryCodes},
	{"RecoveryCodeRace", testRecoveryCodeRace},
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
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b")}, T0)
	voided, err := s.ConfirmDevice(ctx, u.ID, d1.ID, T0.Add(time.Minute))
	if err != nil || voided != 2 {
		t.Fatalf("ConfirmDevice = %d, %v; want 2 voided", voided, err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 0 {
		t.Errorf("recovery codes after pairing = %d, want 0", n)
	}
	_, err = s.ConfirmDevice(ctx, u.ID, d1.ID, T0.Add(time.Minute))
	wantCode(t, "ConfirmDevice(again)", err, deadbolt.CodeNotFound)
	uu, _ := s.UserByID(ctx, u.ID)
	if !uu.TwoFactorSince.Equal(T0.Add(time.Minute)) {
		t.Errorf("TwoFactorSince = %v", uu.TwoFactorSince)
	}
	if td, err := s.TrustedDevice(ctx, u.ID); err != nil || td.ID != d1.ID {
		t.Fatalf("TrustedDevice = %v, %v", td, err)
	}
	// A second device replaces the first when confirmed.
	d2 := newDevice(t, s, u, "d2")
	if _, err := s.ConfirmDevice(ctx, u.ID, d2.ID, T0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if td, _ := s.TrustedDevice(ctx, u.ID); td.ID != d2.ID {
		t.Errorf("trusted = %s, want the new device", td.ID)
	}
	if old, _ := s.DeviceByToken(ctx, hash("d1")); old.DisconnectedAt.IsZero() {
		t.Error("old device still connected")
	}
	uu, _ = s.UserByID(ctx, u.ID)
	if !uu.TwoFactorSince.Equal(T0.Add(time.Minute)) {
		t.Errorf("TwoFactorSince moved to %v", uu.TwoFactorSince)
	}
	// Logout-all disconnects and marks the banner.
	disc, err := s.EndAllSessions(ctx, u.ID, true, T0.Add(3*time.Minute))
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
	s.ConfirmDevice(ctx, u.ID, d3.ID, T0.Add(4*time.Minute))
	uu, _ = s.UserByID(ctx, u.ID)
	if !uu.DeviceDisconnectedAt.IsZero() {
		t.Error("DeviceDisconnectedAt not cleared by a new pairing")
	}
	if trusted, err := s.RemoveDevices(ctx, u.ID, T0.Add(5*time.Minute)); err != nil || !trusted {
		t.Errorf("RemoveDevices = %v, %v", trusted, err)
	}
	uu, _ = s.UserByID(ctx, u.ID)
	if !uu.DeviceDisconnectedAt.IsZero() {
		t.Error("RemoveDevices set the logout banner mark")
	}
}

func testTOTPStepRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	wins := parallel(t, 50, func(int) (bool, error) { return s.UseTOTPStep(ctx, u.ID, 1000) })
	if wins != 1 {
		t.Errorf("UseTOTPStep(1000) succeeded %d times, want 1", wins)
	}
	if ok, _ := s.UseTOTPStep(ctx, u.ID, 999); ok {
		t.Error("an older step was accepted")
	}
	if ok, _ := s.UseTOTPStep(ctx, u.ID, 1001); !ok {
		t.Error("a newer step was refused")
	}
	uu, _ := s.UserByID(ctx, u.ID)
	if uu.TOTPLastStep != 1001 {
		t.Errorf("TOTPLastStep = %d", uu.TOTPLastStep)
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
	if ok, _ := s.ConsumeRecoveryCode(ctx, other.ID, set[0], T0); ok {
		t.Error("another user's code was accepted")
	}
	if ok, _ := s.ConsumeRecoveryCode(ctx, u.ID, set[0], T0); !ok {
		t.Error("a valid code was refused")
	}
	if ok, _ := s.ConsumeRecoveryCode(ctx, u.ID, set[0], T0); ok {
		t.Error("a code was accepted twice")
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 9 {
		t.Errorf("codes left = %d, want 9", n)
	}
	// Reload voids every old code, used or not.
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("new")}, T0); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.ConsumeRecoveryCode(ctx, u.ID, set[1], T0); ok {
		t.Error("an old code works after reload")
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("codes left after reload = %d, want 1", n)
	}
}

func testRecoveryCodeRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one")}, T0)
	wins := parallel(t, 50, func(int) (bool, error) { return s.ConsumeRecoveryCode(ctx, u.ID, hash("one"), T0) })
	if wins != 1 {
		t.Errorf("ConsumeRecoveryCode succeeded %d times, want 1", wins)
	}
}

func testResetTwoFactor(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "d")
	s.ConfirmDevice(ctx, u.ID, d.ID, T0)
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("x")}, T0)
	if err := s.ResetTwoFactor(ctx, u.ID, T0); err != nil {
		t.Fatal(err)
	}
	uu, _ := s.UserByID(ctx, u.ID)
	if uu.TwoFactorEnabled() {
		t.Error("2FA still on")
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 0 {
		t.Errorf("codes left = %d", n)
	}
	if _, err := s.TrustedDevice(ctx, u.ID); deadbolt.ErrorCode(err) != deadbolt.CodeNotFound {
		t.Errorf("device still trusted: %v", err)
	}
	wantCode(t, "ResetTwoFactor(unknown)", s.ResetTwoFactor(ctx, deadbolt.NewID(), T0), deadbolt.CodeNotFound)
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
