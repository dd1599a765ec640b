package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// A second-factor attempt counted and settled in one transaction
// (CompletionStore.SettleAttempt): what settle sees, what it writes, and
// that the count stays whatever becomes of the rest.
var settleTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"SettleAttempt", testSettleAttempt},
	{"SettleAttemptCompletion", testSettleAttemptCompletion},
	{"SettleAttemptRace", testSettleAttemptRace},
	{"SettleAttemptCompletionRace", testSettleAttemptCompletionRace},
}

var errSettled = errors.New("the answer settle gave")

func testSettleAttempt(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "tok")
	ConfirmDevice(t, s, u.ID, d.ID, T0)
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b")}, T0)
	sf, rc := "sf:"+u.ID, "rc:"+u.ID
	s.Hit(ctx, rc, T0, 0)

	// settle sees the state and the counters including this hit; its
	// error is the answer, and the count stays.
	var seen *deadbolt.FactorState
	ok, err := s.SettleAttempt(ctx, u.ID, sf, rc, false, T0.Add(time.Second), func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
		seen = st
		return nil, errSettled
	})
	if ok || !errors.Is(err, errSettled) {
		t.Fatalf("SettleAttempt(settle fails) = %v, %v; want false and settle's error", ok, err)
	}
	if seen == nil || seen.Device == nil || seen.Device.ID != d.ID || seen.RecoveryCodesLeft != 2 {
		t.Fatalf("settle saw %+v, want device %s and 2 codes", seen, d.ID)
	}
	if seen.Failures.N != 1 || !seen.Failures.Last.Equal(T0.Add(time.Second)) || !seen.Failures.Prev.IsZero() {
		t.Errorf("settle saw failures %+v, want N=1 at +1s without Prev", seen.Failures)
	}
	if seen.Streak.N != 1 || !seen.Streak.Last.Equal(T0) {
		t.Errorf("streak not counted, settle saw %+v; want it as it was (N=1 at T0)", seen.Streak)
	}
	if c, _ := s.Counter(ctx, sf); c.N != 1 {
		t.Errorf("after a settle error the count is %d, want 1 (it stays)", c.N)
	}

	// Both streaks counted; events written with the count, whatever the
	// answer.
	fail := &deadbolt.Event{Type: deadbolt.EventSecondFactorFail, At: T0, UserID: u.ID, Detail: map[string]string{"method": "totp"}}
	lock := &deadbolt.Event{Type: deadbolt.EventSecondFactorLock, At: T0, UserID: u.ID}
	ok, err = s.SettleAttempt(ctx, u.ID, sf, rc, true, T0.Add(3*time.Second), func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
		seen = st
		return &deadbolt.Settlement{Events: []*deadbolt.Event{fail, lock}}, errSettled
	})
	if ok || !errors.Is(err, errSettled) {
		t.Fatalf("SettleAttempt(events, error) = %v, %v", ok, err)
	}
	if seen.Failures.N != 2 || !seen.Failures.Prev.Equal(T0.Add(time.Second)) || seen.Streak.N != 2 || !seen.Streak.Prev.Equal(T0) {
		t.Errorf("settle saw failures %+v, streak %+v; want N=2 (Prev +1s) and N=2 (Prev T0)", seen.Failures, seen.Streak)
	}
	if fail.ID == "" || lock.ID == "" {
		t.Errorf("written events have no ids: %q, %q", fail.ID, lock.ID)
	}
	if evs, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID}); len(evs) != 2 {
		t.Errorf("%d events stored, want the 2 settle returned", len(evs))
	}

	// Uncounted takes the attempt back whole: no count, no event, and the
	// answer is settle's.
	before, _ := s.Counter(ctx, sf)
	ok, err = s.SettleAttempt(ctx, u.ID, sf, rc, true, T0.Add(5*time.Second), func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
		ev := &deadbolt.Event{Type: deadbolt.EventSecondFactorFail, At: T0, UserID: u.ID}
		return &deadbolt.Settlement{Uncounted: true, Events: []*deadbolt.Event{ev}}, errSettled
	})
	if ok || !errors.Is(err, errSettled) {
		t.Fatalf("SettleAttempt(uncounted) = %v, %v", ok, err)
	}
	if c, _ := s.Counter(ctx, sf); !sameCounter(c, before) {
		t.Errorf("an uncounted attempt changed the counter: %+v, was %+v", c, before)
	}
	if c, _ := s.Counter(ctx, rc); c.N != 2 {
		t.Errorf("an uncounted attempt changed the streak: N=%d, want 2", c.N)
	}
	if evs, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID}); len(evs) != 2 {
		t.Errorf("an uncounted attempt wrote events: %d stored, want 2", len(evs))
	}
}

func testSettleAttemptCompletion(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one"), hash("two")}, T0)
	sf, rc := "sf:"+u.ID, "rc:"+u.ID
	s.Hit(ctx, sf, T0, 0)
	settleWith := func(c *deadbolt.Completion, evs ...*deadbolt.Event) (bool, error) {
		return s.SettleAttempt(ctx, u.ID, sf, rc, true, T0.Add(time.Second), func(*deadbolt.FactorState) (*deadbolt.Settlement, error) {
			return &deadbolt.Settlement{Completion: c, Events: evs}, nil
		})
	}

	// A success: the proof used, the session replaced, the streaks reset,
	// its event written.
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
	c := completion(u, pending, 0)
	c.RecoveryHash = hash("one")
	c.ResetCounters = []string{sf, rc}
	if ok, err := settleWith(c); !ok || err != nil {
		t.Fatalf("SettleAttempt(right code) = %v, %v", ok, err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("%d codes left, want 1", n)
	}
	if got, _, err := s.SessionByToken(ctx, c.TokenHash); err != nil || got.ID != c.NewSession.ID {
		t.Errorf("new session = %+v, %v", got, err)
	}
	if list, _ := s.ListSessions(ctx, u.ID); hasSession(list, pending.ID) {
		t.Error("the pending session is still there")
	}
	for _, k := range []string{sf, rc} {
		if cn, _ := s.Counter(ctx, k); cn.N != 0 {
			t.Errorf("counter %s after a success: N=%d, want reset", k[:2], cn.N)
		}
	}
	if c.Event.ID == "" {
		t.Error("the completion's event has no id")
	}

	// The same code again: not completed, nothing of the completion
	// written — but the count and the settlement's events are.
	pending2, _ := NewSession(t, s, u, deadbolt.SessionPending)
	c2 := completion(u, pending2, 1)
	c2.RecoveryHash = hash("one")
	c2.ResetCounters = []string{sf, rc}
	other := &deadbolt.Event{Type: deadbolt.EventCaptchaShown, At: T0, UserID: u.ID}
	if ok, err := settleWith(c2, other); ok || err != nil {
		t.Fatalf("SettleAttempt(used code) = %v, %v; want false, nil", ok, err)
	}
	if _, _, err := s.SessionByToken(ctx, c2.TokenHash); err == nil {
		t.Error("a used code opened a session")
	}
	if list, _ := s.ListSessions(ctx, u.ID); !hasSession(list, pending2.ID) {
		t.Error("a used code ended the pending session")
	}
	if cn, _ := s.Counter(ctx, sf); cn.N != 1 {
		t.Errorf("after a used code the count is %d, want 1 (counted, not reset)", cn.N)
	}
	if c2.Event.ID != "" || other.ID == "" {
		t.Errorf("event ids: completion's %q (want none), settlement's %q (want one)", c2.Event.ID, other.ID)
	}
	evs, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID})
	if len(evs) != 2 {
		t.Errorf("%d events stored, want 2 (the first sign-in, the settlement's)", len(evs))
	}

	// The session gone: CodeNotFound, the code kept, the count stays.
	gone := completion(u, &deadbolt.Session{ID: deadbolt.NewID()}, 2)
	gone.RecoveryHash = hash("two")
	gone.ResetCounters = []string{sf, rc}
	_, err := settleWith(gone)
	wantCode(t, "SettleAttempt(session gone)", err, deadbolt.CodeNotFound)
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("a completion of a gone session used the code: %d left", n)
	}
	if cn, _ := s.Counter(ctx, sf); cn.N != 2 {
		t.Errorf("after a gone session the count is %d, want 2", cn.N)
	}

	// A completion returned with an error is not applied.
	c3 := completion(u, pending2, 3)
	c3.RecoveryHash = hash("two")
	ok, err := s.SettleAttempt(ctx, u.ID, sf, rc, true, T0.Add(time.Second), func(*deadbolt.FactorState) (*deadbolt.Settlement, error) {
		return &deadbolt.Settlement{Completion: c3}, errSettled
	})
	if ok || !errors.Is(err, errSettled) {
		t.Fatalf("SettleAttempt(completion and error) = %v, %v", ok, err)
	}
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 1 {
		t.Errorf("a completion returned with an error used the code: %d left", n)
	}
}

// testSettleAttemptRace: 50 attempts at once each see a count of their
// own, so a rule deciding from it lets exactly as many through as it
// allows, and all 50 stay counted.
func testSettleAttemptRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	const n, free = 50, 5
	var mu sync.Mutex
	seen := map[int64]bool{}
	checked := parallel(t, n, func(i int) (bool, error) {
		var pass bool
		_, err := s.SettleAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, i%2 == 0, T0.Add(time.Duration(i)*time.Millisecond),
			func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
				mu.Lock()
				defer mu.Unlock()
				if seen[st.Failures.N] {
					t.Errorf("two attempts saw count %d", st.Failures.N)
				}
				seen[st.Failures.N] = true
				pass = st.Failures.N <= free
				return nil, nil
			})
		return pass, err
	})
	if checked != free {
		t.Errorf("%d of %d attempts at once passed a rule allowing %d", checked, n, free)
	}
	if c, _ := s.Counter(ctx, "sf:"+u.ID); c.N != n {
		t.Errorf("after %d attempts N=%d", n, c.N)
	}
	if c, _ := s.Counter(ctx, "rc:"+u.ID); c.N != n/2 {
		t.Errorf("streak after %d counted attempts N=%d", n/2, c.N)
	}
}

// testSettleAttemptCompletionRace: 50 completions of one recovery code at
// once, each on a pending sign-in of its own: exactly one completes, and
// every attempt is counted (those after the success in a new streak).
func testSettleAttemptCompletionRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one")}, T0)
	const n = 50
	comps := make([]*deadbolt.Completion, n)
	for i := range comps {
		pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
		comps[i] = completion(u, pending, i)
		comps[i].RecoveryHash = hash("one")
	}
	var mu sync.Mutex
	total := int64(0)
	wins := parallel(t, n, func(i int) (bool, error) {
		return s.SettleAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, true, T0, func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
			mu.Lock()
			total++
			mu.Unlock()
			return &deadbolt.Settlement{Completion: comps[i]}, nil
		})
	})
	if wins != 1 {
		t.Errorf("%d of %d completions of one code at once went through, want 1", wins, n)
	}
	if left, _ := s.CountRecoveryCodes(ctx, u.ID); left != 0 {
		t.Errorf("%d codes left, want 0", left)
	}
	if total < n {
		t.Errorf("settle ran %d times for %d attempts", total, n)
	}
	// The success reset "sf:" (completion's ResetCounters); the others
	// count on: what is left is the attempts after it, at most n-1.
	if c, _ := s.Counter(ctx, "sf:"+u.ID); c.N > n-1 {
		t.Errorf("after one success among %d, N=%d", n, c.N)
	}
	if c, _ := s.Counter(ctx, "rc:"+u.ID); c.N != n {
		t.Errorf("the recovery streak (not reset by this completion) N=%d, want %d", c.N, n)
	}
}
