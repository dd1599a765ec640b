package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"deadbolt/internal/deadbolt"
)

// The change feed of the PostgreSQL store.
//
// Triggers (migration 00015) announce every change of an account, a
// session (but for its idle time) and a workgroup membership with
// pg_notify in the transaction that makes it, on two channels:
//
//   - deadbolt_changes, which every node's listening connection (one per
//     WatchChanges) receives once the transaction commits;
//   - deadbolt_self_<pid>, which only the pool connection that made the
//     change listens on. PostgreSQL delivers a session's own notifications
//     just before it reports the COMMIT (or the single statement) done, so
//     the listeners of the node that made a change are told before the
//     store method returns: the node that ends a session has forgotten it
//     before it answers, with no extra round trip.
//
// Notifications sent while a listening connection is down are lost. So
// the listener proves it is up: every feedBeat it sends a heartbeat
// through the pool to a channel of its own and vouches for the feed (FeedUp)
// until feedLease after the send time of the last heartbeat it received —
// PostgreSQL delivers notifications in commit order, so receiving a
// heartbeat proves every change committed before it was sent arrived
// first. A listener that errs, or hears nothing for feedSilence, reports
// FeedDown at once and reconnects; a listener that hangs without an error
// simply stops renewing, and its listeners stop trusting it feedLease after
// the last heartbeat they heard of. Either way no node trusts a session
// copy more than feedLease+feedBeat after a change it could have missed.
const (
	changesChannel = "deadbolt_changes"
	selfPrefix     = "deadbolt_self_"
	beatPrefix     = "deadbolt_beat_"

	feedBeat    = 200 * time.Millisecond
	feedLease   = 700 * time.Millisecond
	feedSilence = 2 * time.Second
	// feedApplicationName names the listening connections in
	// pg_stat_activity.
	feedApplicationName = "deadbolt change feed"
	// feedCall bounds each statement the feed sends.
	feedCall = 2 * time.Second
)

// selfFeed holds this process's change listeners: it hands them a pool
// connection's own notifications (at once) and the listening connection's
// (other nodes'), and tells them of the feed's state. It is safe for
// concurrent use.
type selfFeed struct {
	mu        sync.Mutex
	listeners atomic.Pointer[[]*selfListener]
}

// selfListener is one registration (listeners need not be comparable).
type selfListener struct {
	l      deadbolt.ChangeListener
	up     chan struct{} // closed at its first FeedUp
	upOnce sync.Once
}

func (f *selfFeed) add(l deadbolt.ChangeListener) *selfListener {
	f.mu.Lock()
	defer f.mu.Unlock()
	reg := &selfListener{l: l, up: make(chan struct{})}
	var next []*selfListener
	if cur := f.listeners.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, reg)
	f.listeners.Store(&next)
	return reg
}

func (f *selfFeed) remove(reg *selfListener) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.listeners.Load()
	if cur == nil {
		return
	}
	var next []*selfListener
	for _, x := range *cur {
		if x != reg {
			next = append(next, x)
		}
	}
	f.listeners.Store(&next)
}

func (f *selfFeed) each(fn func(*selfListener)) {
	if cur := f.listeners.Load(); cur != nil {
		for _, reg := range *cur {
			fn(reg)
		}
	}
}

func (f *selfFeed) deliver(what string) { f.each(func(r *selfListener) { deliver(r.l, what) }) }

func (f *selfFeed) down(err error) { f.each(func(r *selfListener) { r.l.FeedDown(err) }) }

func (f *selfFeed) up(until time.Time) {
	f.each(func(r *selfListener) {
		r.l.FeedUp(until)
		r.upOnce.Do(func() { close(r.up) })
	})
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

// listenToSelf makes every pool connection listen on its own channel and
// hand what arrives there to f.
func listenToSelf(cfg *pgxpool.Config, f *selfFeed) {
	// Set on each pool connection's own copy of the configuration, so that
	// listening connections made from cfg.ConnConfig keep pgx's own
	// handler (which WaitForNotification needs).
	handler := func(pc *pgconn.PgConn, n *pgconn.Notification) {
		if strings.HasPrefix(n.Channel, selfPrefix) {
			f.deliver(n.Payload)
		}
	}
	prevBefore := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if prevBefore != nil {
			if err := prevBefore(ctx, cc); err != nil {
				return err
			}
		}
		cc.OnNotification = handler
		return nil
	}
	prev := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if prev != nil {
			if err := prev(ctx, c); err != nil {
				return err
			}
		}
		ch := pgx.Identifier{selfPrefix + strconv.FormatUint(uint64(c.PgConn().PID()), 10)}.Sanitize()
		_, err := c.Exec(ctx, "LISTEN "+ch)
		return err
	}
}

// listenConfig is the configuration of a connection of its own for
// listening: the pool's, without the pool's notification handler, and
// with a context watcher that lets a wait for notifications time out
// without abandoning the connection.
func (s *Store) listenConfig() *pgx.ConnConfig {
	c := s.listen.Copy()
	c.OnNotification = nil
	return c
}

// WatchChanges delivers the store's committed changes to l until ctx
// ends: this node's own at once (before the store method making them
// returns), other nodes' through the store's one listening connection
// (started by the first call, stopped by Close). It returns once l is
// registered, after waiting up to a few seconds for the feed to vouch for
// itself (l hears FeedUp then, and FeedDown whenever it stops). It does
// not fail: a database that does not answer keeps the feed down until it
// does.
func (s *Store) WatchChanges(ctx context.Context, l deadbolt.ChangeListener) error {
	reg := s.self.add(l)
	context.AfterFunc(ctx, func() {
		s.self.remove(reg)
		l.FeedDown(nil)
	})
	s.feedOnce.Do(func() {
		fctx, stop := context.WithCancel(context.Background())
		w := &watcher{s: s, done: make(chan struct{})}
		var b [8]byte
		rand.Read(b[:])
		w.beat = beatPrefix + hex.EncodeToString(b[:])
		s.stopFeed = func() {
			stop()
			<-w.done
		}
		go w.run(fctx)
	})
	select {
	case <-reg.up:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	return nil
}

// watcher is the store's listening connection and its heartbeat.
type watcher struct {
	s    *Store
	beat string // the heartbeat channel
	done chan struct{}

	mu   sync.Mutex
	sent map[uint64]time.Time // heartbeats in flight by number
	seq  uint64
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		listened, err := w.listenOnce(ctx)
		if ctx.Err() != nil {
			w.s.self.down(nil)
			return
		}
		w.s.self.down(fmt.Errorf("postgres: change feed: %w", err))
		if listened {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// listenOnce listens until the connection fails, falls silent or ctx
// ends; it reports whether it got as far as listening.
func (w *watcher) listenOnce(ctx context.Context) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, feedCall)
	cfg := w.s.listenConfig()
	cfg.RuntimeParams["application_name"] = feedApplicationName
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	lctx, cancel := context.WithTimeout(ctx, feedCall)
	_, err = conn.Exec(lctx, "LISTEN "+changesChannel+"; LISTEN "+pgx.Identifier{w.beat}.Sanitize())
	cancel()
	if err != nil {
		return false, err
	}
	w.mu.Lock()
	w.sent = map[uint64]time.Time{}
	w.mu.Unlock()
	bctx, stopBeats := context.WithCancel(ctx)
	defer stopBeats()
	go w.beats(bctx)
	for {
		wctx, cancel := context.WithTimeout(ctx, feedSilence)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			return true, err
		}
		if n.Channel == w.beat {
			w.heard(n.Payload)
			continue
		}
		w.s.self.deliver(n.Payload)
	}
}

// beats sends a heartbeat every feedBeat until ctx ends.
func (w *watcher) beats(ctx context.Context) {
	t := time.NewTicker(feedBeat)
	defer t.Stop()
	for {
		w.mu.Lock()
		w.seq++
		seq := w.seq
		w.sent[seq] = time.Now()
		for k := range w.sent {
			if k+64 < seq {
				delete(w.sent, k)
			}
		}
		w.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, feedCall)
		// A heartbeat that fails is one the listener does not hear: the
		// lease runs out by itself.
		w.s.pool.Exec(cctx, `SELECT pg_notify($1, $2)`, w.beat, strconv.FormatUint(seq, 10))
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// heard renews the feed from a heartbeat that came back.
func (w *watcher) heard(payload string) {
	seq, err := strconv.ParseUint(payload, 10, 64)
	if err != nil {
		return
	}
	w.mu.Lock()
	at, ok := w.sent[seq]
	delete(w.sent, seq)
	w.mu.Unlock()
	if !ok {
		return
	}
	w.s.self.up(at.Add(feedLease))
}

// TouchSessions records many sessions' last activity in one statement; a
// time never moves back and unknown sessions are skipped.
func (s *Store) TouchSessions(ctx context.Context, touches []deadbolt.SessionTouch) error {
	if len(touches) == 0 {
		return nil
	}
	ids := make([]string, len(touches))
	ats := make([]time.Time, len(touches))
	for i, t := range touches {
		ids[i], ats[i] = t.SessionID, t.At
	}
	if _, err := s.pool.Exec(ctx, `UPDATE sessions s SET last_seen_at = v.at
		FROM unnest($1::text[], $2::timestamptz[]) AS v(id, at)
		WHERE s.id = v.id AND s.last_seen_at < v.at`, ids, ats); err != nil {
		return fmt.Errorf("postgres: touch sessions: %w", err)
	}
	return nil
}
