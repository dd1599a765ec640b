package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// The counters behind the sign-in attempt gate: a hit tells the time of
// the hit before it, a hit can be taken back, an attempt is counted and
// the factor state read in one write, and a completion can be made
// conditional on a counter.
var gateTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"CounterPrev", testCounterPrev},
	{"Unhit", testUnhit},
	{"UnhitRace", testUnhitRace},
	{"FactorAttempt", testFactorAttempt},
	{"FactorAttemptRace", testFactorAttemptRace},
	{"CompletionGuard", testCompletionGuard},
	{"CompletionGuardRace", testCompletionGuardRace},
	{"FactorChangeGuard", testFactorChangeGuard},
}

func testCounterPrev(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	c, err := s.Hit(ctx, "k", T0, 0)
	if err != nil || c.N != 1 || !c.Prev.IsZero() {
		t.Fatalf("first Hit = %+v, %v; want N=1 and no Prev", c, err)
	}
	for i := 2; i <= 4; i++ {
		at := T0.Add(time.Duration(i-1) * time.Second)
		c, err = s.Hit(ctx, "k", at, 0)
		if want := at.Add(-time.Second); err != nil || c.N != int64(i) || !c.Last.Equal(at) || !c.Prev.Equal(want) {
			t.Fatalf("Hit #%d at %v = %+v, %v; want Last %v, Prev %v", i, at, c, err, at, want)
		}
	}
	if got, _ := s.Counter(ctx, "k"); !sameCounter(got, c) {
		t.Errorf("Counter = %+v, want the last Hit's %+v", got, c)
	}
	// A window that restarts starts without a Prev.
	s.Hit(ctx, "w", T0, time.Minute)
	if c, _ := s.Hit(ctx, "w", T0.Add(30*time.Second), time.Minute); c.N != 2 || !c.Prev.Equal(T0) {
		t.Errorf("Hit in the window = %+v, want N=2 Prev T0", c)
	}
	if c, _ := s.Hit(ctx, "w", T0.Add(2*time.Minute), time.Minute); c.N != 1 || !c.Prev.IsZero() {
		t.Errorf("Hit after the window = %+v, want N=1 and no Prev", c)
	}
}

func testUnhit(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	if err := s.Unhit(ctx, "missing", T0); err != nil {
		t.Fatalf("Unhit(missing) = %v", err)
	}
	if c, _ := s.Counter(ctx, "missing"); c.N != 0 {
		t.Errorf("Unhit created a counter: %+v", c)
	}
	var c deadbolt.Counter
	for i := range 3 {
		c, _ = s.Hit(ctx, "ip", T0.Add(time.Duration(i)*time.Second), 15*time.Minute)
	}
	if err := s.Unhit(ctx, "ip", c.First); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Counter(ctx, "ip")
	if got.N != 2 || !got.Last.Equal(c.Last) || !got.Prev.Equal(c.Prev) || !got.First.Equal(c.First) {
		t.Errorf("after Unhit = %+v, want N=2 and the same times as %+v", got, c)
	}
	// A hit of an earlier window is not taken from the new one.
	s.Hit(ctx, "ip", T0.Add(time.Hour), 15*time.Minute)
	s.Unhit(ctx, "ip", c.First)
	if got, _ := s.Counter(ctx, "ip"); got.N != 1 {
		t.Errorf("Unhit of a past window changed the new one: N=%d, want 1", got.N)
	}
	// Never below zero.
	now, _ := s.Counter(ctx, "ip")
	for range 3 {
		s.Unhit(ctx, "ip", now.First)
	}
	if got, _ := s.Counter(ctx, "ip"); got.N != 0 {
		t.Errorf("after taking back more than was hit N=%d, want 0", got.N)
	}
}

// testUnhitRace: 50 hits at once, half taken back at once, leave 25.
func testUnhitRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	first, _ := s.Hit(ctx, "ip", T0, time.Hour)
	s.Unhit(ctx, "ip", first.First)
	const n = 50
	parallel(t, n, func(i int) (bool, error) {
		c, err := s.Hit(ctx, "ip", T0.Add(time.Second), time.Hour)
		if err != nil || i%2 == 1 {
			return false, err
		}
		return true, s.Unhit(ctx, "ip", c.First)
	})
	if c, _ := s.Counter(ctx, "ip"); c.N != n/2 {
		t.Errorf("%d hits, %d taken back, at once: N=%d, want %d", n, n/2, c.N, n/2)
	}
}

func testFactorAttempt(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "tok")
	ConfirmDevice(t, s, u.ID, d.ID, T0)
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b")}, T0)
	s.Hit(ctx, "rc:"+u.ID, T0, 0)

	st, err := s.FactorAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, false, T0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Device == nil || st.Device.ID != d.ID || string(st.Device.TOTPSecretSealed) != "\x04\x05\x06" || st.RecoveryCodesLeft != 2 {
		t.Errorf("FactorAttempt device %+v, codes left %d; want %s and 2", st.Device, st.RecoveryCodesLeft, d.ID)
	}
	if st.Failures.N != 1 || !st.Failures.Last.Equal(T0.Add(time.Second)) || !st.Failures.Prev.IsZero() {
		t.Errorf("first attempt counts %+v, want N=1 at +1s without Prev", st.Failures)
	}
	if st.Streak.N != 1 || !st.Streak.Last.Equal(T0) {
		t.Errorf("streak not counted = %+v, want as it was (N=1 at T0)", st.Streak)
	}

	st, err = s.FactorAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, true, T0.Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Failures.N != 2 || !st.Failures.Prev.Equal(T0.Add(time.Second)) || !st.Failures.Last.Equal(T0.Add(3*time.Second)) {
		t.Errorf("second attempt counts %+v, want N=2, Prev +1s, Last +3s", st.Failures)
	}
	if st.Streak.N != 2 || !st.Streak.Prev.Equal(T0) || !st.Streak.Last.Equal(T0.Add(3*time.Second)) {
		t.Errorf("streak counted = %+v, want N=2, Prev T0, Last +3s", st.Streak)
	}
	if c, _ := s.Counter(ctx, "sf:"+u.ID); !sameCounter(c, st.Failures) {
		t.Errorf("stored counter %+v, FactorAttempt answered %+v", c, st.Failures)
	}

	// A streak counted for the first time; no device, no codes.
	v := NewUser(t, s, "bob")
	st, err = s.FactorAttempt(ctx, v.ID, "sf:"+v.ID, "rc:"+v.ID, true, T0)
	if err != nil || st.Device != nil || st.RecoveryCodesLeft != 0 || st.Failures.N != 1 || st.Streak.N != 1 || !st.Streak.Prev.IsZero() {
		t.Errorf("FactorAttempt(bob) = %+v, %v", st, err)
	}

	// One streak running, the other counted for the first time: each
	// answer is its own counter's.
	w := NewUser(t, s, "carol")
	s.Hit(ctx, "sf:"+w.ID, T0, 0)
	s.Hit(ctx, "sf:"+w.ID, T0.Add(time.Second), 0)
	st, err = s.FactorAttempt(ctx, w.ID, "sf:"+w.ID, "rc:"+w.ID, true, T0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Failures.N != 3 || !st.Failures.First.Equal(T0) || !st.Failures.Prev.Equal(T0.Add(time.Second)) {
		t.Errorf("FactorAttempt(carol) failures %+v, want N=3 from T0, Prev +1s", st.Failures)
	}
	if st.Streak.N != 1 || !st.Streak.First.Equal(T0.Add(2*time.Second)) || !st.Streak.Prev.IsZero() {
		t.Errorf("FactorAttempt(carol) streak %+v, want N=1 at +2s without Prev", st.Streak)
	}
	if c, _ := s.Counter(ctx, "rc:"+w.ID); !sameCounter(c, st.Streak) {
		t.Errorf("stored streak %+v, FactorAttempt answered %+v", c, st.Streak)
	}
}

// testFactorAttemptRace: 50 attempts at once are all counted, each seeing
// its own count.
func testFactorAttemptRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	const n = 50
	var mu sync.Mutex
	seen := map[int64]bool{}
	streaks := map[int64]bool{}
	parallel(t, n, func(i int) (bool, error) {
		st, err := s.FactorAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, i%2 == 0, T0.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			return false, err
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[st.Failures.N] {
			t.Errorf("two attempts saw count %d", st.Failures.N)
		}
		seen[st.Failures.N] = true
		if i%2 == 0 {
			if streaks[st.Streak.N] {
				t.Errorf("two counted streak attempts saw %d", st.Streak.N)
			}
			streaks[st.Streak.N] = true
		}
		return true, nil
	})
	for k := int64(1); k <= n; k++ {
		if !seen[k] {
			t.Errorf("no attempt saw count %d", k)
		}
	}
	if c, _ := s.Counter(ctx, "sf:"+u.ID); c.N != n {
		t.Errorf("after %d attempts N=%d", n, c.N)
	}
	if c, _ := s.Counter(ctx, "rc:"+u.ID); c.N != n/2 || len(streaks) != n/2 {
		t.Errorf("streak after %d counted attempts N=%d (%d distinct answers)", n/2, c.N, len(streaks))
	}
}

func testCompletionGuard(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one"), hash("two"), hash("three")}, T0)
	key := "sf:" + u.ID
	hits := func(n int) {
		s.ResetCounter(ctx, key)
		for range n {
			s.Hit(ctx, key, T0, 0)
		}
	}
	try := func(code string, g *deadbolt.CounterGuard) (*deadbolt.Session, *deadbolt.Completion, bool, error) {
		pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
		c := completion(u, pending, 0)
		c.ResetCounters = nil
		c.RecoveryHash = hash(code)
		c.Guard = g
		ok, err := s.CompleteSecondFactor(ctx, c)
		return pending, c, ok, err
	}

	// At the limit, not this attempt's own count: nothing changes.
	hits(100)
	pending, c, ok, err := try("one", &deadbolt.CounterGuard{Key: key, Below: 100})
	if ok {
		t.Fatal("a guarded completion at the limit went through")
	}
	wantCode(t, "CompleteSecondFactor(counter at the limit)", err, deadbolt.CodeLocked)
	if n, _ := s.CountRecoveryCodes(ctx, u.ID); n != 3 {
		t.Errorf("a refused completion used the code: %d left", n)
	}
	if _, _, err := s.SessionByToken(ctx, c.TokenHash); err == nil {
		t.Error("a refused completion opened a session")
	}
	if list, _ := s.ListSessions(ctx, u.ID); !hasSession(list, pending.ID) {
		t.Error("a refused completion ended the pending session")
	}
	if cn, _ := s.Counter(ctx, key); cn.N != 100 {
		t.Errorf("a refused completion changed the counter: N=%d", cn.N)
	}
	if evs, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID}); len(evs) != 0 || c.Event.ID != "" {
		t.Errorf("a refused completion stored %d events (event id %q)", len(evs), c.Event.ID)
	}

	// The attempt that reached the limit itself may complete.
	if _, _, ok, err := try("one", &deadbolt.CounterGuard{Key: key, Below: 100, Own: 100}); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor(own count at the limit) = %v, %v", ok, err)
	}
	if cn, _ := s.Counter(ctx, key); cn.N != 0 {
		t.Errorf("the guarded counter was not deleted: N=%d", cn.N)
	}

	// Past the limit even the attempt's own count does not help.
	hits(101)
	if _, _, _, err := try("two", &deadbolt.CounterGuard{Key: key, Below: 100, Own: 100}); deadbolt.ErrorCode(err) != deadbolt.CodeLocked {
		t.Errorf("CompleteSecondFactor(past the limit) = %v, want CodeLocked", err)
	}

	// Below the limit, and with no counter at all, it completes.
	hits(99)
	if _, _, ok, err := try("two", &deadbolt.CounterGuard{Key: key, Below: 100}); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor(below the limit) = %v, %v", ok, err)
	}
	if _, _, ok, err := try("three", &deadbolt.CounterGuard{Key: key, Below: 100}); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor(no counter) = %v, %v", ok, err)
	}
	// A used proof under a passing guard is still false.
	if _, _, ok, err := try("three", &deadbolt.CounterGuard{Key: key, Below: 100}); ok || err != nil {
		t.Errorf("CompleteSecondFactor(used code) = %v, %v; want false", ok, err)
	}
}

func sameCounter(a, b deadbolt.Counter) bool {
	return a.N == b.N && a.First.Equal(b.First) && a.Last.Equal(b.Last) && a.Prev.Equal(b.Prev)
}

func hasSession(list []*deadbolt.Session, id string) bool {
	for _, s := range list {
		if s.ID == id {
			return true
		}
	}
	return false
}

// testCompletionGuardRace: attempts counted while a guarded completion
// commits are never lost, and the completion goes through only if it came
// before the counter reached the limit.
func testCompletionGuardRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("one")}, T0)
	key := "sf:" + u.ID
	for range 90 {
		s.Hit(ctx, key, T0, 0)
	}
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
	const n = 50
	var ok bool
	var cerr error
	parallel(t, n+1, func(i int) (bool, error) {
		if i == n/2 {
			c := completion(u, pending, i)
			c.RecoveryHash = hash("one")
			c.Guard = &deadbolt.CounterGuard{Key: key, Below: 100}
			ok, cerr = s.CompleteSecondFactor(ctx, c)
			return false, nil
		}
		_, err := s.Hit(ctx, key, T0, 0)
		return false, err
	})
	final, _ := s.Counter(ctx, key)
	switch {
	case ok && cerr == nil:
		// Deleted at a count k in 90..99: the hits after it remain.
		if final.N < n+90-99 || final.N > n {
			t.Errorf("completion went through; counter then %d, want %d..%d", final.N, n+90-99, n)
		}
	case deadbolt.ErrorCode(cerr) == deadbolt.CodeLocked:
		if final.N != 90+n {
			t.Errorf("completion refused; counter %d, want every hit (%d)", final.N, 90+n)
		}
		if left, _ := s.CountRecoveryCodes(ctx, u.ID); left != 1 {
			t.Errorf("a refused completion used the code")
		}
	default:
		t.Fatalf("CompleteSecondFactor = %v, %v", ok, cerr)
	}
}

// testFactorChangeGuard: a pairing confirmation carries the streak's guard
// as a completion does: refused at the limit (nothing changes), the
// counter deleted when allowed.
func testFactorChangeGuard(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	d := newDevice(t, s, u, "tok")
	key := "sf:" + u.ID
	for range 100 {
		s.Hit(ctx, key, T0, 0)
	}
	c := confirmation(u.ID, d.ID, T0)
	c.TOTPStep = 7
	c.Events = []*deadbolt.Event{{Type: deadbolt.EventDeviceConfirmed, At: T0, UserID: u.ID}}
	c.Guard = &deadbolt.CounterGuard{Key: key, Below: 100}
	r, err := s.ChangeFactors(ctx, c)
	wantCode(t, "ChangeFactors(guard at the limit)", err, deadbolt.CodeLocked)
	if r.Applied {
		t.Error("a refused change reports applied")
	}
	if _, err := s.TrustedDevice(ctx, u.ID); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("a refused change confirmed the device: %v", err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.TwoFactorEnabled() || got.TOTPLastStep != 0 {
		t.Errorf("a refused change changed the user: %+v", got)
	}
	if cn, _ := s.Counter(ctx, key); cn.N != 100 {
		t.Errorf("a refused change changed the counter: N=%d", cn.N)
	}
	if evs, _ := s.Events(ctx, deadbolt.EventFilter{UserID: u.ID}); len(evs) != 0 || c.Events[0].ID != "" {
		t.Errorf("a refused change stored %d events (event id %q)", len(evs), c.Events[0].ID)
	}

	// The attempt that reached the limit itself goes through, and ends the
	// streak.
	c.Events[0].ID = ""
	c.Guard = &deadbolt.CounterGuard{Key: key, Below: 100, Own: 100}
	if r, err := s.ChangeFactors(ctx, c); err != nil || !r.Applied {
		t.Fatalf("ChangeFactors(own count at the limit) = %+v, %v", r, err)
	}
	if cn, _ := s.Counter(ctx, key); cn.N != 0 {
		t.Errorf("the guarded counter was not deleted: N=%d", cn.N)
	}
	if _, err := s.TrustedDevice(ctx, u.ID); err != nil {
		t.Errorf("the allowed change did not confirm the device: %v", err)
	}

	// Below the limit a used step is still not applied, and then the
	// counter stays.
	d2 := newDevice(t, s, u, "tok2")
	s.Hit(ctx, key, T0, 0)
	c2 := confirmation(u.ID, d2.ID, T0)
	c2.TOTPStep = 7
	c2.Guard = &deadbolt.CounterGuard{Key: key, Below: 100}
	if r, err := s.ChangeFactors(ctx, c2); err != nil || r.Applied {
		t.Errorf("ChangeFactors(used step) = %+v, %v; want not applied", r, err)
	}
	if cn, _ := s.Counter(ctx, key); cn.N != 1 {
		t.Errorf("a change not applied deleted the counter: N=%d", cn.N)
	}
}
