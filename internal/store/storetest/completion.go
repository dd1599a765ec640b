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
	{"ReauthPush", testReauthPush},
	{"ReauthPushRace", testReauthPushRace},
	{"CompletionEndsPendingPush", testCompletionEndsPendingPush},
	{"DeleteSessionEndsPendingPush", testDeleteSessionEndsPendingPush},
}

// testDeleteSessionEndsPendingPush: ending a session (a sign-in given up)
// ends the push request still pending for it, so the phone drops it; an
// approved one and another session's stay as they were.
func testDeleteSessionEndsPendingPush(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "phone")
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
	other, _ := NewSession(t, s, u, deadbolt.SessionPending)
	full, _ := NewSession(t, s, u, deadbolt.SessionFull)
	mine := reauthPush(t, s, u, d, pending.ID, deadbolt.PushSignIn, false)
	theirs := reauthPush(t, s, u, d, other.ID, deadbolt.PushSignIn, false)
	approved := reauthPush(t, s, u, d, full.ID, deadbolt.PushReauth, true)
	if err := s.DeleteSession(ctx, u.ID, pending.ID); err != nil {
		t.Fatalf("DeleteSession = %v", err)
	}
	if err := s.DeleteSession(ctx, "", full.ID); err != nil {
		t.Fatalf("DeleteSession(any user) = %v", err)
	}
	for _, tt := range []struct {
		what string
		id   string
		want string
	}{
		{"the ended sign-in's request", mine.ID, deadbolt.PushReplaced},
		{"another sign-in's request", theirs.ID, deadbolt.PushPending},
		{"an approved request", approved.ID, deadbolt.PushApproved},
	} {
		if got, err := s.PushRequest(ctx, tt.id); err != nil || got.Status != tt.want {
			t.Errorf("%s after DeleteSession = %+v, %v; want %s", tt.what, got, err, tt.want)
		}
	}
	live, err := s.PendingPushRequests(ctx, u.ID, T0)
	if err != nil || len(live) != 1 || live[0].ID != theirs.ID {
		t.Errorf("PendingPushRequests = %v, %v; want only the other sign-in's", live, err)
	}
	wantCode(t, "DeleteSession(ended)", s.DeleteSession(ctx, u.ID, pending.ID), deadbolt.CodeNotFound)
}

// testCompletionEndsPendingPush: a sign-in completed by a code ends the
// push request still waiting for it (replaced), so the phone drops it; a
// fresh proof by a code ends the session's waiting reauth request. Other
// requests stay pending.
func testCompletionEndsPendingPush(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one")}, T0)
	d := newDevice(t, s, u, "phone")
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
	other, _ := NewSession(t, s, u, deadbolt.SessionPending)
	mine := reauthPush(t, s, u, d, pending.ID, deadbolt.PushSignIn, false)
	theirs := reauthPush(t, s, u, d, other.ID, deadbolt.PushSignIn, false)
	c := completion(u, pending, 0)
	c.RecoveryHash = hash("one")
	if ok, err := s.CompleteSecondFactor(ctx, c); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor = %v, %v", ok, err)
	}
	if got, _ := s.PushRequest(ctx, mine.ID); got.Status != deadbolt.PushReplaced {
		t.Errorf("the completed sign-in's push request is %q, want replaced", got.Status)
	}
	if got, _ := s.PushRequest(ctx, theirs.ID); got.Status != deadbolt.PushPending {
		t.Errorf("another sign-in's push request is %q, want pending", got.Status)
	}
	live, err := s.PendingPushRequests(ctx, u.ID, T0)
	if err != nil || len(live) != 1 || live[0].ID != theirs.ID {
		t.Errorf("PendingPushRequests = %v, %v; want only the other sign-in's", live, err)
	}

	full, _ := NewSession(t, s, u, deadbolt.SessionFull)
	re := reauthPush(t, s, u, d, full.ID, deadbolt.PushReauth, false)
	renew := &deadbolt.Completion{UserID: u.ID, Now: T0, TOTPStep: 900, AuthSessionID: full.ID, AuthAt: T0.Add(time.Minute)}
	if ok, err := s.CompleteSecondFactor(ctx, renew); !ok || err != nil {
		t.Fatalf("reauth completion = %v, %v", ok, err)
	}
	if got, _ := s.PushRequest(ctx, re.ID); got.Status != deadbolt.PushReplaced {
		t.Errorf("the renewed session's reauth request is %q, want replaced", got.Status)
	}
	if got, _ := s.PushRequest(ctx, theirs.ID); got.Status != deadbolt.PushPending {
		t.Errorf("a reauth completion ended another sign-in's request: %q", got.Status)
	}
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
	re := &deadbolt.Completion{UserID: u.ID, Now: T0, TOTPStep: 500, AuthSessionID: full.ID, AuthAt: T0.Add(time.Hour),
		AuthAMR: []string{"pwd", "otp", "mfa"}}
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
		if x.ID == full.ID && (!x.AuthAt.Equal(T0.Add(time.Hour)) || len(x.AMR) != 3 || x.AMR[1] != "otp") {
			t.Errorf("after a reauth completion auth_at = %v, amr = %v; want %v, [pwd otp mfa]", x.AuthAt, x.AMR, T0.Add(time.Hour))
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

// reauthPush stores a push request of purpose for session, approved when
// approve.
func reauthPush(t *testing.T, s deadbolt.Store, u *deadbolt.User, d *deadbolt.Device, session, purpose string, approve bool) *deadbolt.PushRequest {
	t.Helper()
	ctx := context.Background()
	pr := &deadbolt.PushRequest{ID: deadbolt.NewID(), UserID: u.ID, SessionID: session, Purpose: purpose, DeviceID: d.ID, Number: 482913,
		Status: deadbolt.PushPending, CreatedAt: T0, ExpiresAt: T0.Add(2 * time.Minute), Context: map[string]string{"app": "x"}}
	if err := s.CreatePushRequest(ctx, pr); err != nil {
		t.Fatal(err)
	}
	if approve {
		if ok, err := s.DecidePushRequest(ctx, pr.ID, d.ID, deadbolt.PushApproved, false, T0); !ok || err != nil {
			t.Fatalf("DecidePushRequest = %v, %v", ok, err)
		}
	}
	return pr
}

// testReauthPush: a push request keeps its purpose (sign-in when unset);
// an approved reauth request renews the full session's auth_at in the
// completion, once.
func testReauthPush(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "reauth-dev")
	full, fullHash := NewSession(t, s, u, deadbolt.SessionFull)

	plain := reauthPush(t, s, u, d, deadbolt.NewID(), "", false)
	if got, err := s.PushRequest(ctx, plain.ID); err != nil || got.Purpose != deadbolt.PushSignIn {
		t.Errorf("purpose of a request stored without one = %q, %v; want %q", got.Purpose, err, deadbolt.PushSignIn)
	}
	pr := reauthPush(t, s, u, d, full.ID, deadbolt.PushReauth, false)
	got, err := s.PushRequest(ctx, pr.ID)
	if err != nil || got.Purpose != deadbolt.PushReauth || got.SessionID != full.ID || got.Number != 482913 {
		t.Fatalf("PushRequest = %+v, %v; want the reauth request of %s", got, err, full.ID)
	}
	purposes := map[string]string{}
	list, _ := s.PendingPushRequests(ctx, u.ID, T0)
	for _, p := range list {
		purposes[p.ID] = p.Purpose
	}
	if len(list) != 2 || purposes[plain.ID] != deadbolt.PushSignIn || purposes[pr.ID] != deadbolt.PushReauth {
		t.Errorf("pending requests' purposes = %v, want %s: %s and %s: %s", purposes, plain.ID, deadbolt.PushSignIn, pr.ID, deadbolt.PushReauth)
	}

	renew := func() *deadbolt.Completion {
		return &deadbolt.Completion{UserID: u.ID, PushRequestID: pr.ID, Now: T0, AuthSessionID: full.ID, AuthAt: T0.Add(30 * time.Minute),
			Event: &deadbolt.Event{Type: deadbolt.EventReauth, At: T0, UserID: u.ID, Detail: map[string]string{"method": "push"}}}
	}
	if ok, err := s.CompleteSecondFactor(ctx, renew()); ok || err != nil {
		t.Errorf("renewal with a pending request = %v, %v; want false", ok, err)
	}
	if ok, err := s.DecidePushRequest(ctx, pr.ID, d.ID, deadbolt.PushApproved, false, T0); !ok || err != nil {
		t.Fatalf("DecidePushRequest = %v, %v", ok, err)
	}
	if ok, err := s.CompleteSecondFactor(ctx, renew()); !ok || err != nil {
		t.Fatalf("renewal with the approval = %v, %v", ok, err)
	}
	if got, _ := s.PushRequest(ctx, pr.ID); got.Status != deadbolt.PushConsumed {
		t.Errorf("status after renewal = %q, want consumed", got.Status)
	}
	if sess, _, err := s.SessionByToken(ctx, fullHash); err != nil || !sess.AuthAt.Equal(T0.Add(30*time.Minute)) {
		t.Errorf("session after renewal = %+v, %v; want auth_at %v", sess, err, T0.Add(30*time.Minute))
	}
	if ok, _ := s.CompleteSecondFactor(ctx, renew()); ok {
		t.Error("one approval renewed the proof twice")
	}
	if evs, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID, Type: deadbolt.EventReauth}); len(evs) != 1 {
		t.Errorf("reauth events = %d, want 1", len(evs))
	}

	// An approval for a session that is gone renews nothing.
	gone, _ := NewSession(t, s, u, deadbolt.SessionFull)
	pr2 := reauthPush(t, s, u, d, gone.ID, deadbolt.PushReauth, true)
	if err := s.DeleteSession(ctx, u.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.CompleteSecondFactor(ctx, &deadbolt.Completion{UserID: u.ID, PushRequestID: pr2.ID, Now: T0, AuthSessionID: gone.ID, AuthAt: T0})
	wantCode(t, "renewal of a gone session", err, deadbolt.CodeNotFound)
	if got, _ := s.PushRequest(ctx, pr2.ID); got.Status != deadbolt.PushApproved {
		t.Errorf("status after a renewal of a gone session = %q, want still approved", got.Status)
	}
}

// testReauthPushRace: 50 renewals with one approval at once, on 50
// sessions: exactly one renews.
func testReauthPushRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "reauth-dev")
	full, _ := NewSession(t, s, u, deadbolt.SessionFull)
	pr := reauthPush(t, s, u, d, full.ID, deadbolt.PushReauth, true)
	const n = 50
	wins := parallel(t, n, func(i int) (bool, error) {
		return s.CompleteSecondFactor(ctx, &deadbolt.Completion{UserID: u.ID, PushRequestID: pr.ID, Now: T0,
			AuthSessionID: full.ID, AuthAt: T0.Add(time.Duration(i) * time.Second)})
	})
	if wins != 1 {
		t.Errorf("one reauth approval renewed %d times, want 1", wins)
	}
}
