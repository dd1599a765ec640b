package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
)

// answerWithin is SPEC §12's bound on answering under faults.
const answerWithin = 10 * time.Second

func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var e *deadbolt.Error
	if !errors.As(err, &e) || e.Code != deadbolt.CodeUnavailable || e.RetryAfter <= 0 {
		t.Errorf("%s = %v, want %s with a RetryAfter", what, err, deadbolt.CodeUnavailable)
	}
}

// TestLockedDatabase holds the database's write lock from another
// connection, as an administration command in another process would:
// 50 concurrent writes answer CodeUnavailable within the bound, none of
// them is written, reads go on, and writes work again once the lock is
// released.
func TestLockedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alice := storetest.NewUser(t, s, "alice")

	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `UPDATE settings SET value = value WHERE key = 'none'`); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}

	const writers = 50
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			u := &deadbolt.User{ID: deadbolt.NewID(), Login: fmt.Sprintf("user%d", i), Active: true,
				PasswordHash: "x", CreatedAt: storetest.T0, UpdatedAt: storetest.T0}
			errs[i] = s.CreateUser(ctx, u)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(answerWithin):
		t.Fatalf("writes against a locked database: not all answered within %v", answerWithin)
	}
	for i, err := range errs {
		wantUnavailable(t, fmt.Sprintf("CreateUser #%d while locked", i), err)
	}
	if got, err := s.UserByID(ctx, alice.ID); err != nil || got.Login != "alice" {
		t.Errorf("read while locked = %v, %v", got, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	wantUnavailable(t, "Ping while locked", s.Ping(pctx))
	cancel()

	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountUsers(ctx); n != 1 || err != nil {
		t.Errorf("users after the lock = %d, %v; want 1: an unavailable write was stored", n, err)
	}
	storetest.NewUser(t, s, "bob")
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after the lock = %v", err)
	}
}
