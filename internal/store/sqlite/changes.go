package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"deadbolt/internal/deadbolt"
)

// feed is the change feed of the SQLite store. Triggers (migration 00015)
// write a numbered row into the changes table for every change of an
// account, a session (but for its idle time) or a workgroup membership, in
// the transaction that makes it. The writer reads the rows past the feed's
// high-water mark just before it commits and publishes them after the
// commit, before it answers any write of the transaction: the process that
// ends a session has forgotten it before it answers. Other processes on the
// same file (the "deadbolt admin" command) write rows too; a poller reads
// them every feedPoll and vouches for the feed (FeedUp) until feedLease
// after the start of its last successful read. Rows are numbered without
// gaps, so a gap past the high-water mark means rows were pruned unread:
// the listeners are told to forget everything. It is safe for concurrent
// use.
type feed struct {
	mu        sync.Mutex // orders publications and the high-water mark
	hw        int64      // the last row published
	listeners map[*deadbolt.ChangeListener]struct{}
	lmu       sync.RWMutex
}

// The rhythm of the feed: how often other processes' rows are read, how
// long a read vouches for the feed, how long rows are kept and how often
// old ones are pruned.
const (
	feedPoll   = 100 * time.Millisecond
	feedLease  = 700 * time.Millisecond
	feedKeep   = 60 // seconds
	feedPrune  = 30 * time.Second
	feedCall   = 2 * time.Second
	changesSQL = `SELECT seq, what FROM changes WHERE seq > ? ORDER BY seq`
)

func newFeed() *feed { return &feed{listeners: map[*deadbolt.ChangeListener]struct{}{}} }

// change is one row of the feed.
type change struct {
	seq  int64
	what string
}

// start sets the high-water mark to the last row ever numbered.
func (f *feed) start(ctx context.Context, d *sql.DB) error {
	var hw sql.NullInt64
	err := d.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'changes'`).Scan(&hw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: change feed: %w", err)
	}
	f.mu.Lock()
	f.hw = hw.Int64
	f.mu.Unlock()
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// read returns the rows past the high-water mark.
func (f *feed) read(ctx context.Context, q querier) ([]change, error) {
	f.mu.Lock()
	hw := f.hw
	f.mu.Unlock()
	rows, err := q.QueryContext(ctx, changesSQL, hw)
	if err != nil {
		return nil, fmt.Errorf("sqlite: change feed: %w", err)
	}
	defer rows.Close()
	var out []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.seq, &c.what); err != nil {
			return nil, fmt.Errorf("sqlite: change feed: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: change feed: %w", err)
	}
	return out, nil
}

// take reads the rows of tx past the high-water mark, its own among them.
func (f *feed) take(ctx context.Context, tx querier) ([]change, error) { return f.read(ctx, tx) }

// publish tells every listener what changed past the high-water mark and
// moves it; when the rows could not be read (err) or some were missed (a
// gap), it tells them to forget everything.
func (f *feed) publish(changed []change, err error) {
	if len(changed) == 0 && err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && len(changed) > 0 && changed[0].seq > f.hw+1 {
		err = fmt.Errorf("sqlite: change feed: rows %d to %d were pruned unread", f.hw+1, changed[0].seq-1)
	}
	f.lmu.RLock()
	defer f.lmu.RUnlock()
	for l := range f.listeners {
		if err != nil {
			(*l).FeedDown(err)
			(*l).FeedUp(time.Now().Add(feedLease))
		}
		for _, c := range changed {
			if c.seq > f.hw {
				deliver(*l, c.what)
			}
		}
	}
	if n := len(changed); n > 0 && changed[n-1].seq > f.hw {
		f.hw = changed[n-1].seq
	}
}

// renew vouches for the feed until until.
func (f *feed) renew(until time.Time) {
	f.lmu.RLock()
	defer f.lmu.RUnlock()
	for l := range f.listeners {
		(*l).FeedUp(until)
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
// ends: this process's own before the store method making them returns,
// other processes' within feedPoll. It fails only when the feed's position
// cannot be read (CodeUnavailable-worthy database trouble).
func (s *Store) WatchChanges(ctx context.Context, l deadbolt.ChangeListener) error {
	key := &l
	s.feed.lmu.Lock()
	first := len(s.feed.listeners) == 0
	s.feed.listeners[key] = struct{}{}
	s.feed.lmu.Unlock()
	context.AfterFunc(ctx, func() {
		s.feed.lmu.Lock()
		delete(s.feed.listeners, key)
		s.feed.lmu.Unlock()
		l.FeedDown(nil)
	})
	if first {
		go s.poll(ctx)
	}
	// The first read vouches for the feed.
	return s.pollOnce(ctx)
}

// poll reads other processes' rows every feedPoll, and prunes old rows,
// until ctx ends.
func (s *Store) poll(ctx context.Context) {
	t := time.NewTicker(feedPoll)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.pollOnce(ctx)
		if time.Since(lastPrune) >= feedPrune {
			lastPrune = time.Now()
			s.feed.mu.Lock()
			hw := s.feed.hw
			s.feed.mu.Unlock()
			cctx, cancel := context.WithTimeout(ctx, feedCall)
			// Only rows this process has published, and only old ones:
			// another process's poller lagging this much has long stopped
			// vouching for its feed, and sees the gap.
			s.wdb.ExecContext(cctx, `DELETE FROM changes WHERE seq <= ? AND at < unixepoch() - ?`, hw, feedKeep)
			cancel()
		}
	}
}

// pollOnce publishes the rows other processes committed and renews the
// feed's lease from the start of the read.
func (s *Store) pollOnce(ctx context.Context) error {
	at := time.Now()
	cctx, cancel := context.WithTimeout(ctx, feedCall)
	defer cancel()
	changed, err := s.feed.read(cctx, s.rdb.DB) // bounded by feedCall
	if err != nil {
		return err
	}
	s.feed.publish(changed, nil)
	s.feed.renew(at.Add(feedLease))
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
