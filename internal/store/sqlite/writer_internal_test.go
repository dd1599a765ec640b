package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// TestQueuedWriteWithdrawn keeps the writer busy with a long statement: a
// write queued behind it answers CodeUnavailable once its deadline passes
// and is never written, even after the writer frees up.
func TestQueuedWriteWithdrawn(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	slowCtx, stopSlow := context.WithCancel(ctx)
	defer stopSlow()
	running := make(chan struct{})
	slow := make(chan error, 1)
	go func() {
		slow <- s.wdb.do(slowCtx, func(tx *sql.Tx) error {
			close(running)
			// Counts to a billion: far longer than any deadline, until
			// interrupted.
			_, err := tx.ExecContext(slowCtx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)
				SELECT count(*) FROM c`)
			return err
		})
	}()
	<-running

	u := &deadbolt.User{ID: deadbolt.NewID(), Login: "late", Active: true, PasswordHash: "x",
		CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}
	answered := make(chan error, 1)
	go func() { answered <- s.CreateUser(ctx, u) }()
	select {
	case err := <-answered:
		if !deadbolt.IsCode(err, deadbolt.CodeUnavailable) {
			t.Errorf("CreateUser behind a busy writer = %v, want %s", err, deadbolt.CodeUnavailable)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateUser behind a busy writer: no answer within 10 s")
	}

	stopSlow()
	if err := <-slow; err == nil {
		t.Error("the interrupted write reported success")
	}
	// The writer is free again: a write goes through, and the withdrawn
	// one never ran.
	v := &deadbolt.User{ID: deadbolt.NewID(), Login: "after", Active: true, PasswordHash: "x",
		CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}
	if err := s.CreateUser(ctx, v); err != nil {
		t.Fatalf("CreateUser after the writer freed up = %v", err)
	}
	if _, err := s.UserByLogin(ctx, "late"); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("the withdrawn write: UserByLogin = %v, want not found", err)
	}
}
