package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

var completionTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"CompleteSecondFactor", testCompleteSecondFactor},
	{"CompleteSecondFactorRace", testCompleteSecondFactorRace},
}

func completion(u *deadbolt.User, pending *deadbolt.Session, i int) *deadbolt.Completion {
	full := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull, Epoch: u.SessionEpoch,
		CreatedAt: T0, LastSeenAt: T0, ExpiresAt: T0.Add(time.Hour), AuthAt: T0, Method: "recovery"}
	h := sha256.Sum256([]byte(fmt.Sprint("full", i, full.ID)))
	return &deadbolt.Completion{UserID: u.ID, Now: T0, OldSessionID: pending.ID, NewSession: full, TokenHash: h[:],
		ResetCounters: []string{"sf:" + u.ID},
		Event:         &deadbolt.Event{Type: deadbolt.EventSignIn, At: T0, UserID: u.ID, Detail: map[string]string{"method": "recovery"}}}
}

func testCompleteSecondFactor(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one"), hash("two")}, T0)
	s.Hit(ctx, "sf:"+u.ID, T0, 0)

	// A wrong code changes nothing.
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
	c := completion(u, pending, 0)
	c.RecoveryHash = hash("nope")
	if ok, err := s.CompleteSecondFactor(ctx, c); ok || err != nil {
		t.Fatalf("CompleteSecondFactor(wrong code) = %v, %v; want false", ok, err)
	}
	if list, _ := s.ListSessions(ctx, u.ID); len(list) != 1 || list[0].ID != pending.ID {
		t.Errorf("a failed completion changed the sessions: %v", list)
	}
	if cn, _ := s.Counter(ctx, "sf:"+u.ID); cn.N != 1 {
		t.Errorf("a failed completion reset the counter")
	}

	// The right code: one transaction does it all.
	c = completion(u, pending, 1)
	c.RecoveryHash = hash("one")
	if ok, err := s.CompleteSecondFactor(ctx, c); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor = %v, %v", ok, err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("codes left = %d, want 1", n)
	}
	if _, _, err := s.SessionByToken(ctx, c.TokenHash); err != nil {
		t.Errorf("new session: %v", err)
	}
	if cn, _ := s.Counter(ctx, "sf:"+u.ID); cn.N != 0 {
		t.Errorf("counter not reset")
	}
	if c.Event.ID == "" {
		t.Error("event not stored")
	}
	if evs, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID, Type: deadbolt.EventSignIn}); len(evs) != 1 {
		t.Errorf("sign-in events = %d, want 1", len(evs))
	}

	// The pending session is gone: CodeNotFound, and the code is not used.
	c = completion(u, pending, 2)
	c.RecoveryHash = hash("two")
	_, err := s.CompleteSecondFactor(ctx, c)
	wantCode(t, "CompleteSecondFactor(gone session)", err, deadbolt.CodeNotFound)
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("a completion on a gone session used the code: %d left", n)
	}

	// An approved push request completes one sign-in.
	pp, _ := NewSession(t, s, u, deadbolt.SessionPending)
	d := newDevice(t, s, u, "push-dev")
	pr := &deadbolt.PushRequest{ID: deadbolt.NewID(), UserID: u.ID, SessionID: pp.ID, DeviceID: d.ID, Number: 42,
		Status: deadbolt.PushPending, CreatedAt: T0, ExpiresAt: T0.Add(2 * time.Minute), Context: map[string]string{}}
	if err := s.CreatePushRequest(ctx, pr); err != nil {
		t.Fatal(err)
	}
	c = completion(u, pp, 3)
	c.PushRequestID = pr.ID
	if ok, _ := s.CompleteSecondFactor(ctx, c); ok {
		t.Error("a pending (not approved) push request completed a sign-in")
	}
	if ok, err := s.DecidePushRequest(ctx, pr.ID, d.ID, deadbolt.PushApproved, false, T0); !ok || err != nil {
		t.Fatalf("DecidePushRequest = %v, %v", ok, err)
	}
	if ok, err := s.CompleteSecondFactor(ctx, c); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor(approved push) = %v, %v", ok, err)
	}
	if got, _ := s.PushRequest(ctx, pr.ID); got.Status != deadbolt.PushConsumed {
		t.Errorf("push status = %q, want consumed", got.Status)
	}
	c2 := completion(u, pp, 4)
	c2.PushRequestID = pr.ID
	if ok, _ := s.CompleteSecondFactor(ctx, c2); ok {
		t.Error("an approval completed two sign-ins")
	}

	// TOTP steps move forward only; a reauth renews auth_at.
	full, _ := NewSession(t, s, u, deadbolt.SessionFull)
	re := &deadbolt.Completion{UserID: u.ID, Now: T0, TOTPStep: 500, AuthSessionID: full.ID, AuthAt: T0.Add(time.Hour)}
	if ok, err := s.CompleteSecondFactor(ctx, re); !ok || err != nil {
		t.Fatalf("reauth completion = %v, %v", ok, err)
	}
	if ok, _ := s.CompleteSecondFactor(ctx, re); ok {
		t.Error("a TOTP step was used twice")
	}
	if uu, _ := s.UserByID(ctx, u.ID); uu.TOTPLastStep != 500 {
		t.Errorf("last step = %d", uu.TOTPLastStep)
	}
	list, _ := s.ListSessions(ctx, u.ID)
	for _, x := range list {
		if x.ID == full.ID && !x.AuthAt.Equal(T0.Add(time.Hour)) {
			t.Errorf("auth_at = %v", x.AuthAt)
		}
	}
}

// testCompleteSecondFactorRace: one recovery code on 50 pending sign-ins
// completes exactly one.
func testCompleteSecondFactorRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one")}, T0)
	const n = 50
	pendings := make([]*deadbolt.Session, n)
	for i := range pendings {
		pendings[i], _ = NewSession(t, s, u, deadbolt.SessionPending)
	}
	wins := parallel(t, n, func(i int) (bool, error) {
		c := completion(u, pendings[i], i)
		c.RecoveryHash = hash("one")
		return s.CompleteSecondFactor(ctx, c)
	})
	if wins != 1 {
		t.Errorf("one recovery code completed %d sign-ins, want 1", wins)
	}
}
