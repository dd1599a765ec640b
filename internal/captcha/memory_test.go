package captcha

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func memChallenge(id string, created time.Time, ttl time.Duration) Challenge {
	return Challenge{ID: id, Digits: []byte{1, 2, 3, 4, 5, 6}, CreatedAt: created, ExpiresAt: created.Add(ttl)}
}

func TestMemoryStoreSaveErrors(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	if err := s.SaveChallenge(ctx, memChallenge("a", t0, time.Minute)); err != nil {
		t.Fatalf("SaveChallenge(%q) error = %v", "a", err)
	}
	tests := []struct {
		name string
		c    Challenge
	}{
		{"duplicate id", memChallenge("a", t0, time.Minute)},
		{"empty id", memChallenge("", t0, time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SaveChallenge(ctx, tt.c); err == nil {
				t.Errorf("SaveChallenge(%q) = nil, want an error", tt.c.ID)
			}
		})
	}
}

func TestMemoryStoreChallenge(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	c := memChallenge("a", t0, time.Minute)
	if err := s.SaveChallenge(ctx, c); err != nil {
		t.Fatalf("SaveChallenge() error = %v", err)
	}
	c.Digits[0] = 9 // the store keeps its own copy

	tests := []struct {
		name    string
		id      string
		now     time.Time
		wantErr error
	}{
		{"fresh", "a", t0, nil},
		{"before expiry", "a", t0.Add(time.Minute - time.Nanosecond), nil},
		{"at expiry", "a", t0.Add(time.Minute), ErrNotFound},
		{"unknown", "b", t0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Challenge(ctx, tt.id, tt.now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Challenge(%q) error = %v, want %v", tt.id, err, tt.wantErr)
			}
			if err == nil && got.Digits[0] != 1 {
				t.Errorf("Challenge(%q).Digits = %v, want the saved digits", tt.id, got.Digits)
			}
			if err == nil {
				got.Digits[1] = 9 // must not reach the store
			}
		})
	}
	got, err := s.Challenge(ctx, "a", t0)
	if err != nil || got.Digits[1] != 2 {
		t.Errorf("Challenge(%q) = %v, %v; want the saved digits unchanged", "a", got.Digits, err)
	}
}

func TestMemoryStoreConsume(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	for _, id := range []string{"live", "old"} {
		if err := s.SaveChallenge(ctx, memChallenge(id, t0, time.Minute)); err != nil {
			t.Fatalf("SaveChallenge(%q) error = %v", id, err)
		}
	}
	if _, err := s.ConsumeChallenge(ctx, "old", t0.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Errorf("ConsumeChallenge(expired) error = %v, want ErrNotFound", err)
	}
	got, err := s.ConsumeChallenge(ctx, "live", t0)
	if err != nil || got.ID != "live" {
		t.Fatalf("ConsumeChallenge(%q) = %v, %v; want the challenge", "live", got, err)
	}
	if _, err := s.ConsumeChallenge(ctx, "live", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("second ConsumeChallenge(%q) error = %v, want ErrNotFound", "live", err)
	}
	if _, err := s.Challenge(ctx, "live", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Challenge(%q) after consume error = %v, want ErrNotFound", "live", err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len() after consuming everything = %d, want 0", n)
	}
}

func TestMemoryStoreSweepsExpired(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	const old = 500
	for i := range old {
		if err := s.SaveChallenge(ctx, memChallenge(fmt.Sprint("old", i), t0, time.Minute)); err != nil {
			t.Fatalf("SaveChallenge() error = %v", err)
		}
	}
	// Sweeping is amortised: it happens within a bounded number of saves
	// after the old challenges expire.
	later := t0.Add(time.Hour)
	added := 0
	for s.Len() >= old && added < 2*old {
		if err := s.SaveChallenge(ctx, memChallenge(fmt.Sprint("new", added), later, time.Minute)); err != nil {
			t.Fatalf("SaveChallenge() error = %v", err)
		}
		added++
	}
	if n := s.Len(); n != added {
		t.Errorf("Len() = %d after %d saves following the expiry of %d challenges, want %d", n, added, old, added)
	}
	for i := range added {
		id := fmt.Sprint("new", i)
		if _, err := s.Challenge(ctx, id, later); err != nil {
			t.Errorf("Challenge(%q) error = %v, want the live challenge kept", id, err)
		}
	}
}

func TestMemoryStoreConcurrentConsume(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	const ids, callers = 20, 10
	for i := range ids {
		if err := s.SaveChallenge(ctx, memChallenge(fmt.Sprint(i), t0, time.Minute)); err != nil {
			t.Fatalf("SaveChallenge() error = %v", err)
		}
	}
	var (
		wins atomic.Int32
		wg   sync.WaitGroup
	)
	for i := range ids {
		for range callers {
			wg.Go(func() {
				if _, err := s.ConsumeChallenge(ctx, fmt.Sprint(i), t0); err == nil {
					wins.Add(1)
				}
				_, _ = s.Challenge(ctx, fmt.Sprint(i), t0)
			})
		}
	}
	wg.Wait()
	if got := wins.Load(); got != ids {
		t.Errorf("%d challenges consumed %d times, want %d", ids, got, ids)
	}
}
