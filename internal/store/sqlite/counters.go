package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"deadbolt/internal/deadbolt"
)

// hitSQL counts one hit: ?1 key, ?2 now, ?3 the window's reset bound (a
// counter whose window began at or before it restarts at 1). The previous
// hit's time moves to prev_at in the same statement.
const hitSQL = `INSERT INTO counters (key, n, first_at, last_at, prev_at) VALUES (?1, 1, ?2, ?2, NULL)
	ON CONFLICT (key) DO UPDATE SET
		n = CASE WHEN counters.first_at <= ?3 THEN 1 ELSE counters.n + 1 END,
		first_at = CASE WHEN counters.first_at <= ?3 THEN excluded.first_at ELSE counters.first_at END,
		prev_at = CASE WHEN counters.first_at <= ?3 THEN NULL ELSE counters.last_at END,
		last_at = excluded.last_at
	RETURNING n, first_at, last_at, prev_at`

// unhitSQL takes back one hit of the window begun at ?2.
const unhitSQL = `UPDATE counters SET n = n - 1 WHERE key = ? AND first_at = ? AND n > 0`

// noWindow is the reset bound of a counter that never restarts.
const noWindow = int64(math.MinInt64)

// Hit counts one more hit on key in one atomic statement.
func (s *Store) Hit(ctx context.Context, key string, now time.Time, window time.Duration) (deadbolt.Counter, error) {
	resetBefore := noWindow
	if window > 0 {
		resetBefore = now.Add(-window).UnixMicro()
	}
	var c deadbolt.Counter
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanHit(s.prepared(tx).QueryRowContext(ctx, hitSQL, key, tsv(now), resetBefore))
		return err
	})
	if err != nil {
		return deadbolt.Counter{}, fmt.Errorf("sqlite: hit counter: %w", err)
	}
	return c, nil
}

// Unhit takes one hit back from key's window or streak begun at first.
func (s *Store) Unhit(ctx context.Context, key string, first time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.prepared(tx).ExecContext(ctx, unhitSQL, key, tsv(first))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: unhit counter: %w", err)
	}
	return nil
}

// Counter returns the counter's state (zero if absent).
func (s *Store) Counter(ctx context.Context, key string) (deadbolt.Counter, error) {
	var n, first, last int64
	var prev sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT n, first_at, last_at, prev_at FROM counters WHERE key = ?`, key).Scan(&n, &first, &last, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return deadbolt.Counter{}, nil
	}
	if err != nil {
		return deadbolt.Counter{}, fmt.Errorf("sqlite: counter: %w", err)
	}
	return deadbolt.Counter{N: n, First: time.UnixMicro(first).UTC(), Last: time.UnixMicro(last).UTC(), Prev: fromTS(prev)}, nil
}

// ResetCounter deletes the counter.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM counters WHERE key = ?`, key); err != nil {
		return fmt.Errorf("sqlite: reset counter: %w", err)
	}
	return nil
}

// addDistinctSQL adds a member to a capped set: ?1 key, ?2 "\n{member}\n",
// ?3 now, ?4 the window's reset bound, ?5 the cap.
const addDistinctSQL = `INSERT INTO distinct_sets (key, members, n, first_at) VALUES (?1, ?2, 1, ?3)
	ON CONFLICT (key) DO UPDATE SET
		members = CASE
			WHEN distinct_sets.first_at <= ?4 THEN excluded.members
			WHEN instr(distinct_sets.members, excluded.members) > 0 OR distinct_sets.n >= ?5 THEN distinct_sets.members
			ELSE distinct_sets.members || substr(excluded.members, 2) END,
		n = CASE
			WHEN distinct_sets.first_at <= ?4 THEN 1
			WHEN instr(distinct_sets.members, excluded.members) > 0 OR distinct_sets.n >= ?5 THEN distinct_sets.n
			ELSE distinct_sets.n + 1 END,
		first_at = CASE WHEN distinct_sets.first_at <= ?4 THEN excluded.first_at ELSE distinct_sets.first_at END
	RETURNING instr(members, ?2) > 0, n, first_at`

// AddDistinct adds member to the capped set key in one atomic statement.
func (s *Store) AddDistinct(ctx context.Context, key, member string, max int, now time.Time, window time.Duration) (deadbolt.Distinct, error) {
	if max < 1 || strings.Contains(member, "\n") {
		return deadbolt.Distinct{}, errors.New("sqlite: add distinct: max below 1 or member with a newline")
	}
	resetBefore := noWindow
	if window > 0 {
		resetBefore = now.Add(-window).UnixMicro()
	}
	var held bool
	var n, first int64
	err := s.wdb.QueryRowContext(ctx, addDistinctSQL, key, "\n"+member+"\n", tsv(now), resetBefore, max).Scan(&held, &n, &first)
	if err != nil {
		return deadbolt.Distinct{}, fmt.Errorf("sqlite: add distinct: %w", err)
	}
	return deadbolt.Distinct{Held: held, N: int(n), First: time.UnixMicro(first).UTC()}, nil
}
