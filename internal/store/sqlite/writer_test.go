package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/storetest"
)

// TestGroupCommitIsolatesFailures: writes committed together do not share
// their failures: of 200 concurrent creations, the 100 duplicates fail
// alone and the 100 others are all stored.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	var wg sync.WaitGroup
	var ok, taken atomic.Int64
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := &deadbolt.User{ID: deadbolt.NewID(), Login: fmt.Sprintf("user%d", i%100), Active: true,
				PasswordHash: "x", CreatedAt: storetest.T0, UpdatedAt: storetest.T0}
			switch err := s.CreateUser(ctx, u); deadbolt.ErrorCode(err) {
			case "":
				ok.Add(1)
			case deadbolt.CodeLoginTaken:
				taken.Add(1)
			default:
				t.Errorf("CreateUser = %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 100 || taken.Load() != 100 {
		t.Errorf("created %d, refused %d; want 100 and 100", ok.Load(), taken.Load())
	}
	if n, _ := s.CountUsers(ctx); n != 100 {
		t.Errorf("users stored = %d, want 100", n)
	}
}

// TestWriteAfterCancel: a cancelled write does not disturb the writes
// batched with it.
func TestWriteAfterCancel(t *testing.T) {
	s := open(t)
	defer s.Close()
	var wg sync.WaitGroup
	var stored atomic.Int64
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%3 == 0 {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			u := &deadbolt.User{ID: deadbolt.NewID(), Login: fmt.Sprintf("c%d", i), Active: true,
				PasswordHash: "x", CreatedAt: storetest.T0, UpdatedAt: storetest.T0}
			if err := s.CreateUser(ctx, u); err == nil {
				stored.Add(1)
			} else if i%3 != 0 {
				t.Errorf("CreateUser(live context) = %v", err)
			}
		}()
	}
	wg.Wait()
	n, _ := s.CountUsers(context.Background())
	if int64(n) != stored.Load() || n < 66 {
		t.Errorf("users stored = %d, answered success %d (want equal, at least 66)", n, stored.Load())
	}
}
