package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"deadbolt/internal/deadbolt"
)

// Hit counts one more hit on key in one atomic statement.
func (s *Store) Hit(ctx context.Context, key string, now time.Time, window time.Duration) (deadbolt.Counter, error) {
	resetBefore := int64(math.MinInt64)
	if window > 0 {
		resetBefore = now.Add(-window).UnixMicro()
	}
	var n, first, last int64
	err := s.wdb.QueryRowContext(ctx, `INSERT INTO counters (key, n, first_at, last_at) VALUES (?1, 1, ?2, ?2)
		ON CONFLICT (key) DO UPDATE SET
			n = CASE WHEN counters.first_at <= ?3 THEN 1 ELSE counters.n + 1 END,
			first_at = CASE WHEN counters.first_at <= ?3 THEN excluded.first_at ELSE counters.first_at END,
			last_at = excluded.last_at
		RETURNING n, first_at, last_at`, key, tsv(now), resetBefore).Scan(&n, &first, &last)
	if err != nil {
		return deadbolt.Counter{}, fmt.Errorf("sqlite: hit counter: %w", err)
	}
	return deadbolt.Counter{N: n, First: time.UnixMicro(first).UTC(), Last: time.UnixMicro(last).UTC()}, nil
}

// Counter returns the counter's state (zero if absent).
func (s *Store) Counter(ctx context.Context, key string) (deadbolt.Counter, error) {
	var n, first, last int64
	err := s.rdb.QueryRowContext(ctx, `SELECT n, first_at, last_at FROM counters WHERE key = ?`, key).Scan(&n, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return deadbolt.Counter{}, nil
	}
	if err != nil {
		return deadbolt.Counter{}, fmt.Errorf("sqlite: counter: %w", err)
	}
	return deadbolt.Counter{N: n, First: time.UnixMicro(first).UTC(), Last: time.UnixMicro(last).UTC()}, nil
}

// ResetCounter deletes the counter.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM counters WHERE key = ?`, key); err != nil {
		return fmt.Errorf("sqlite: reset counter: %w", err)
	}
	return nil
}
