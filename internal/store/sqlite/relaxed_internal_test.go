package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestRelaxedWrites: attempt counts commit under synchronous=NORMAL, every
// other write under FULL — alone, after relaxed ones, or in the same batch
// — and the connection is left at FULL.
func TestRelaxedWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "relaxed.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The synchronous level each write's transaction ran under.
	level := func(ctx context.Context) int {
		var got int
		err := s.tx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got) })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	const normal, full = 1, 2
	if got := level(ctx); got != full {
		t.Fatalf("a write before any relaxed one ran at synchronous=%d, want FULL (%d)", got, full)
	}
	if got := level(relaxedWrite(ctx)); got != normal {
		t.Errorf("a relaxed write ran at synchronous=%d, want NORMAL (%d)", got, normal)
	}
	if got := level(ctx); got != full {
		t.Errorf("a write after a relaxed one ran at synchronous=%d, want FULL", got)
	}
	// Many at once, mixed: each kind at its own level.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for i := range 60 {
		wg.Go(func() {
			c, want := ctx, full
			if i%2 == 0 {
				c, want = relaxedWrite(ctx), normal
			}
			if got := level(c); got != want {
				mu.Lock()
				wrong++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wrong > 0 {
		t.Errorf("%d of 60 mixed writes ran at the other kind's level", wrong)
	}
	if got := level(ctx); got != full {
		t.Errorf("after the mixed writes a write ran at synchronous=%d, want FULL", got)
	}
	// A counted attempt is a relaxed write, and it is counted.
	st, err := s.FactorAttempt(ctx, "nobody", "sf:nobody", "rc:nobody", true, time.Unix(1, 0))
	if err != nil || st.Failures.N != 1 || st.Streak.N != 1 {
		t.Errorf("FactorAttempt = %+v, %v", st, err)
	}
	if got := level(ctx); got != full {
		t.Errorf("after FactorAttempt a write ran at synchronous=%d, want FULL", got)
	}
}
