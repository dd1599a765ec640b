package oidc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// scanCounter counts the back-channel sender's scans of a real store.
type scanCounter struct {
	Store
	scans atomic.Int64
}

func (s *scanCounter) EndedGrants(ctx context.Context, now, idleBefore time.Time, limit int) ([]*deadbolt.Grant, error) {
	s.scans.Add(1)
	return s.Store.EndedGrants(ctx, now, idleBefore, limit)
}

// TestBackchannelSpacesWokenScans: a stream of wakes (a burst of sign-ins
// changes sessions all the time) is answered by scans at most one per
// WakeGap, not one per wake — and a wake still brings a scan within the
// gap, long before the next tick.
func TestBackchannelSpacesWokenScans(t *testing.T) {
	tp := newTestProvider(t)
	sc := &scanCounter{Store: tp.p.Store}
	tp.p.Store = sc
	b := NewBackchannel(tp.p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitScans := func(n int64, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			if sc.scans.Load() >= n {
				return true
			}
			time.Sleep(time.Millisecond)
		}
		return false
	}
	if !waitScans(1, 5*time.Second) {
		t.Fatal("no first scan")
	}
	// The tick is a second away: a wake alone brings the next scan.
	b.Wake()
	if !waitScans(2, ScanEvery/2) {
		t.Fatalf("a wake brought no scan within %v (scans %d)", ScanEvery/2, sc.scans.Load())
	}

	// Wakes without pause for 10 gaps: about 10 scans, not thousands.
	before := sc.scans.Load()
	start := time.Now()
	wakes := 0
	for time.Since(start) < 10*WakeGap {
		b.Wake()
		wakes++
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(start)
	got := sc.scans.Load() - before
	// One scan per gap, plus the ticks and the scan under way at each end.
	limit := int64(elapsed/WakeGap) + int64(elapsed/ScanEvery) + 2
	if got > limit || got < 2 {
		t.Errorf("%d wakes in %v brought %d scans, want 2 to %d", wakes, elapsed, got, limit)
	}
}
