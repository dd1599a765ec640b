package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"deadbolt/internal/deadbolt"
)

// feed is the in-process change feed of the SQLite store. Triggers (see
// migration 00015) write a row into the changes table for every change of
// an account, a session (but for its idle time) or a workgroup membership,
// in the transaction that makes it; the writer takes those rows just
// before it commits and publishes them after the commit, before it answers
// any write of the transaction. One process owns the database, so nothing
// can be missed: the feed never goes down. It is safe for concurrent use.
type feed struct {
	mu        sync.RWMutex
	listeners map[*deadbolt.ChangeListener]struct{}
}

func newFeed() *feed { return &feed{listeners: map[*deadbolt.ChangeListener]struct{}{}} }

// take reads and deletes the feed's rows of tx.
func (f *feed) take(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM changes RETURNING what`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: change feed: %w", err)
	}
	defer rows.Close()
	var out []string
	seen := map[string]bool{}
	for rows.Next() {
		var what string
		if err := rows.Scan(&what); err != nil {
			return nil, fmt.Errorf("sqlite: change feed: %w", err)
		}
		if !seen[what] {
			seen[what] = true
			out = append(out, what)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: change feed: %w", err)
	}
	return out, nil
}

// forever is how long the in-process feed vouches for itself.
const forever = 100 * 365 * 24 * time.Hour

// publish tells every listener what changed; when the rows could not be
// read (err), it tells them to forget everything.
func (f *feed) publish(changed []string, err error) {
	if len(changed) == 0 && err == nil {
		return
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for l := range f.listeners {
		if err != nil {
			(*l).FeedDown(err)
			(*l).FeedUp(time.Now().Add(forever))
		}
		for _, what := range changed {
			deliver(*l, what)
		}
	}
}

// deliver passes one payload of the feed to l.
func deliver(l deadbolt.ChangeListener, what string) {
	switch {
	case strings.HasPrefix(what, "u:"):
		l.UserChanged(what[2:])
	case what == "apps":
		l.AppsChanged()
	}
}

// WatchChanges delivers the store's committed changes to l until ctx
// ends; the feed is up at once and stays up. It never fails.
func (s *Store) WatchChanges(ctx context.Context, l deadbolt.ChangeListener) error {
	key := &l
	s.feed.mu.Lock()
	s.feed.listeners[key] = struct{}{}
	s.feed.mu.Unlock()
	l.FeedUp(time.Now().Add(forever))
	context.AfterFunc(ctx, func() {
		s.feed.mu.Lock()
		delete(s.feed.listeners, key)
		s.feed.mu.Unlock()
	})
	return nil
}

// TouchSessions records many sessions' last activity in one write; a time
// never moves back and unknown sessions are skipped.
func (s *Store) TouchSessions(ctx context.Context, touches []deadbolt.SessionTouch) error {
	if len(touches) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`)
		if err != nil {
			return fmt.Errorf("sqlite: touch sessions: %w", err)
		}
		defer st.Close()
		for _, t := range touches {
			if _, err := st.ExecContext(ctx, tsv(t.At), t.SessionID, tsv(t.At)); err != nil {
				return fmt.Errorf("sqlite: touch sessions: %w", err)
			}
		}
		return nil
	})
}
