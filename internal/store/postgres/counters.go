package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

// Hit counts one more hit on key in one atomic statement. When window > 0
// and the counter's window began at or before now-window, the counter
// restarts at 1 from now. Concurrent hits on any node are all counted: the
// upsert serialises on the counter's row. The previous hit's time moves to
// prev_at in the same statement.
func (s *Store) Hit(ctx context.Context, key string, now time.Time, window time.Duration) (deadbolt.Counter, error) {
	// A NULL reset bound compares as unknown, so without a window the
	// counter never restarts.
	var resetBefore any
	if window > 0 {
		resetBefore = now.Add(-window)
	}
	var c deadbolt.Counter
	var prev *time.Time
	err := s.pool.QueryRow(ctx, `INSERT INTO counters AS c (key, n, first_at, last_at) VALUES ($1, 1, $2, $2)
		ON CONFLICT (key) DO UPDATE SET
			n = CASE WHEN c.first_at <= $3 THEN 1 ELSE c.n + 1 END,
			first_at = CASE WHEN c.first_at <= $3 THEN excluded.first_at ELSE c.first_at END,
			prev_at = CASE WHEN c.first_at <= $3 THEN NULL ELSE c.last_at END,
			last_at = excluded.last_at
		RETURNING n, first_at, last_at, prev_at`, key, now, resetBefore).Scan(&c.N, &c.First, &c.Last, &prev)
	if err != nil {
		return deadbolt.Counter{}, fmt.Errorf("postgres: hit counter: %w", err)
	}
	c.First, c.Last, c.Prev = c.First.UTC(), c.Last.UTC(), fromTS(prev)
	return c, nil
}

// Unhit takes one hit back from key's window or streak begun at first.
func (s *Store) Unhit(ctx context.Context, key string, first time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE counters SET n = n - 1 WHERE key = $1 AND first_at = $2 AND n > 0`, key, first); err != nil {
		return fmt.Errorf("postgres: unhit counter: %w", err)
	}
	return nil
}

// Counter returns the counter's state; a missing counter is the zero
// Counter and no error.
func (s *Store) Counter(ctx context.Context, key string) (deadbolt.Counter, error) {
	var c deadbolt.Counter
	var prev *time.Time
	err := s.pool.QueryRow(ctx, `SELECT n, first_at, last_at, prev_at FROM counters WHERE key = $1`, key).
		Scan(&c.N, &c.First, &c.Last, &prev)
	if errors.Is(err, pgx.ErrNoRows) {
		return deadbolt.Counter{}, nil
	}
	if err != nil {
		return deadbolt.Counter{}, fmt.Errorf("postgres: counter: %w", err)
	}
	c.First, c.Last, c.Prev = c.First.UTC(), c.Last.UTC(), fromTS(prev)
	return c, nil
}

// ResetCounter deletes the counter; a missing counter is no error.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM counters WHERE key = $1`, key); err != nil {
		return fmt.Errorf("postgres: reset counter: %w", err)
	}
	return nil
}

// AddDistinct adds member to the capped set key in one atomic statement:
// the upsert serialises on the set's row, so parallel additions on any
// node never let more than max members in.
func (s *Store) AddDistinct(ctx context.Context, key, member string, max int, now time.Time, window time.Duration) (deadbolt.Distinct, error) {
	if max < 1 || strings.Contains(member, "\n") {
		return deadbolt.Distinct{}, errors.New("postgres: add distinct: max below 1 or member with a newline")
	}
	var resetBefore any
	if window > 0 {
		resetBefore = now.Add(-window)
	}
	var d deadbolt.Distinct
	// excluded.members is "\n{member}\n": the token searched for, and the
	// whole set when the set starts or restarts.
	err := s.pool.QueryRow(ctx, `INSERT INTO distinct_sets AS d (key, members, n, first_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (key) DO UPDATE SET
			members = CASE
				WHEN d.first_at <= $4 THEN excluded.members
				WHEN strpos(d.members, excluded.members) > 0 OR d.n >= $5 THEN d.members
				ELSE d.members || substr(excluded.members, 2) END,
			n = CASE
				WHEN d.first_at <= $4 THEN 1
				WHEN strpos(d.members, excluded.members) > 0 OR d.n >= $5 THEN d.n
				ELSE d.n + 1 END,
			first_at = CASE WHEN d.first_at <= $4 THEN excluded.first_at ELSE d.first_at END
		RETURNING strpos(members, $2) > 0, n, first_at`, key, "\n"+member+"\n", now, resetBefore, max).Scan(&d.Held, &d.N, &d.First)
	if err != nil {
		return deadbolt.Distinct{}, fmt.Errorf("postgres: add distinct: %w", err)
	}
	d.First = d.First.UTC()
	return d, nil
}
