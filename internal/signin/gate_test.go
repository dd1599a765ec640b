package signin

import (
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestSecondFactorDecisions: the gate's decision for the second factor's
// default rule (5 free, 1 s doubling, lock at 100) from the count and
// previous attempt a hit returned, with a fixed now.
func TestSecondFactorDecisions(t *testing.T) {
	s := &Service{cfg: DefaultConfig()}
	l := s.secondFactorLimit()
	at := func(d time.Duration) time.Time { return t0.Add(-d) }
	tests := []struct {
		name string
		n    int64
		prev time.Time // the attempt before, relative to now = t0
		want verdict
	}{
		{"first attempt", 1, time.Time{}, verdict{check: true}},
		{"5th at once", 5, t0, verdict{check: true}},
		{"6th at once", 6, t0, verdict{wait: 2 * time.Second}},
		{"6th after the 5th's delay", 6, at(time.Second), verdict{check: true}},
		{"6th just before", 6, at(time.Second - time.Microsecond), verdict{wait: 2 * time.Second}},
		{"7th after 2 s", 7, at(2 * time.Second), verdict{check: true}},
		{"7th after 1 s", 7, at(time.Second), verdict{wait: 4 * time.Second}},
		{"10th after 16 s", 10, at(16 * time.Second), verdict{check: true}},
		{"10th after 15 s", 10, at(15 * time.Second), verdict{wait: 32 * time.Second}},
		{"capped delay", 60, at(15 * time.Minute), verdict{check: true}},
		{"capped wait", 60, at(14 * time.Minute), verdict{wait: 15 * time.Minute}},
		{"6th with no previous time", 6, time.Time{}, verdict{wait: 2 * time.Second}},
		{"99th after the delay", 99, at(15 * time.Minute), verdict{check: true}},
		{"100th after the delay: checked, locks if wrong", 100, at(15 * time.Minute), verdict{check: true, locks: true}},
		{"100th too soon: locks unchecked", 100, at(time.Minute), verdict{locked: true, locks: true}},
		{"101st", 101, at(time.Hour), verdict{locked: true}},
		{"far past the lock", 5000, time.Time{}, verdict{locked: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := l.decide(deadbolt.Counter{N: tc.n, Prev: tc.prev, Last: t0}, t0)
			if got != tc.want {
				t.Errorf("decide(n=%d, prev=now-%v) = %+v, want %+v", tc.n, t0.Sub(tc.prev), got, tc.want)
			}
		})
	}
}

// TestWaitingRetryAfterIsChecked: whatever the count, an attempt refused
// with retry_after is followed by one that is checked if the client waits
// exactly that long — and not if it comes a microsecond sooner.
func TestWaitingRetryAfterIsChecked(t *testing.T) {
	for _, cfg := range []Config{DefaultConfig(), {SecondFactorFreeFailures: 0, SecondFactorMaxDelay: time.Hour, SecondFactorLockAt: 0}} {
		s := &Service{cfg: cfg}
		l := s.secondFactorLimit()
		for n := l.free + 1; n < 99; n++ {
			now := t0
			v := l.decide(deadbolt.Counter{N: n, Prev: now, Last: now}, now)
			if v.check || v.locked {
				t.Fatalf("n=%d at once = %+v, want a wait", n, v)
			}
			next := deadbolt.Counter{N: n + 1, Prev: now, Last: now.Add(v.wait)}
			if got := l.decide(next, now.Add(v.wait)); !got.check {
				t.Errorf("n=%d after waiting retry_after %v = %+v, want checked", n+1, v.wait, got)
			}
			if got := l.decide(next, now.Add(v.wait-time.Microsecond)); got.check {
				t.Errorf("n=%d just before retry_after = %+v, want refused", n+1, got)
			}
		}
	}
}

// TestPasswordDecisions: the account rule (10 free, then delays, never a
// lock) and the IP window (100 in 15 minutes).
func TestPasswordDecisions(t *testing.T) {
	s := &Service{cfg: DefaultConfig()}
	acct := s.accountLimit()
	for _, tc := range []struct {
		n    int64
		prev time.Time
		want verdict
	}{
		{10, t0, verdict{check: true}},
		{11, t0, verdict{wait: 2 * time.Second}},
		{11, t0.Add(-time.Second), verdict{check: true}},
		{500, t0.Add(-time.Minute), verdict{wait: 15 * time.Minute}},
		{500, t0.Add(-15 * time.Minute), verdict{check: true}},
	} {
		if got := acct.decide(deadbolt.Counter{N: tc.n, Prev: tc.prev, Last: t0}, t0); got != tc.want {
			t.Errorf("account decide(n=%d, prev=now-%v) = %+v, want %+v", tc.n, t0.Sub(tc.prev), got, tc.want)
		}
	}
	ip := s.ipWindow()
	for _, tc := range []struct {
		n     int64
		first time.Time
		want  time.Duration
	}{
		{1, t0, 0},
		{100, t0.Add(-time.Minute), 0},
		{101, t0.Add(-time.Minute), 14 * time.Minute},
		{5000, t0.Add(-15*time.Minute + time.Second), time.Second},
		{101, t0.Add(-15 * time.Minute), 0},
	} {
		if got := ip.decide(deadbolt.Counter{N: tc.n, First: tc.first, Last: t0}, t0); got != tc.want {
			t.Errorf("IP decide(n=%d, window from now-%v) = %v, want %v", tc.n, t0.Sub(tc.first), got, tc.want)
		}
	}
}
