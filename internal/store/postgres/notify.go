package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"deadbolt/internal/deadbolt"
)

// notifyChannel is the PostgreSQL channel every node listens on; the
// payload is the topic.
const notifyChannel = "deadbolt_wake"

// Notifier wakes waiters on every node sharing the database, through
// LISTEN/NOTIFY on a connection of its own, which it checks after a few
// seconds of silence. Notifications sent while that connection is down are
// lost, so when it fails every local waiter is woken to re-read the store,
// and again after each reconnect. It is safe for concurrent use.
type Notifier struct {
	s   *Store
	hub *deadbolt.Hub
	log *slog.Logger

	// Publishes in flight, sent together (send): the topics waiting for
	// the next statement, and their callers.
	mu      sync.Mutex
	topics  map[string]struct{}
	waiting []chan error
	sending bool
}

// Notifier starts listening until ctx ends and returns the notifier.
func (s *Store) Notifier(ctx context.Context, log *slog.Logger) *Notifier {
	n := &Notifier{s: s, hub: deadbolt.NewHub(), log: log, topics: map[string]struct{}{}}
	ready := make(chan struct{})
	go n.listen(ctx, ready)
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
	}
	return n
}

// Subscribe returns a channel woken after each Publish on topic on any node.
func (n *Notifier) Subscribe(topic string) (<-chan struct{}, func()) { return n.hub.Subscribe(topic) }

// Publish wakes the topic's subscribers on every node; it returns once
// the notification is sent. Publishes made while one is being sent go out
// together in the next statement — one round trip and one transaction for
// all of them, however many sign-ins end at once — so under load a
// publish costs a share of a statement, and alone no more than one.
func (n *Notifier) Publish(ctx context.Context, topic string) error {
	done := make(chan error, 1)
	n.mu.Lock()
	n.topics[topic] = struct{}{}
	n.waiting = append(n.waiting, done)
	if !n.sending {
		n.sending = true
		go n.send()
	}
	n.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err() // it is sent all the same
	}
}

// publishTimeout bounds one statement of notifications.
const publishTimeout = 4 * time.Second

// send sends the waiting topics, one statement at a time, until none are
// left. On an error the local waiters at least are woken.
func (n *Notifier) send() {
	for {
		n.mu.Lock()
		if len(n.topics) == 0 {
			n.sending = false
			n.mu.Unlock()
			return
		}
		topics := make([]string, 0, len(n.topics))
		for t := range n.topics {
			topics = append(topics, t)
		}
		waiting := n.waiting
		n.topics, n.waiting = map[string]struct{}{}, nil
		n.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		_, err := n.s.pool.Exec(ctx, `SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t`, notifyChannel, topics)
		cancel()
		if err != nil {
			for _, t := range topics {
				n.hub.Wake(t)
			}
		}
		for _, w := range waiting {
			w <- err
		}
	}
}

// The listener's rhythm: after this much silence it checks its
// connection; while down it retries with growing pauses up to
// listenBackoffMax.
const (
	listenCheckEvery  = 3 * time.Second
	listenBackoffMin  = 100 * time.Millisecond
	listenBackoffMax  = time.Second
	listenCloseWithin = time.Second
)

func (n *Notifier) listen(ctx context.Context, ready chan struct{}) {
	backoff := listenBackoffMin
	first := true
	for ctx.Err() == nil {
		err := n.listenOnce(ctx, func() {
			if first {
				close(ready)
				first = false
			} else {
				// Notifications sent while we were away are lost.
				n.hub.WakeAll()
			}
			backoff = listenBackoffMin
		})
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("postgres: notification listener lost its connection", "err", err)
		n.hub.WakeAll()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOnce listens on a connection of its own until the connection
// fails (or does not answer a check within pingTimeout) or ctx ends.
func (n *Notifier) listenOnce(ctx context.Context, onListening func()) error {
	// A connection of its own: pool connections hand their notifications
	// to the change feed (changes.go), not to WaitForNotification.
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	conn, err := pgx.ConnectConfig(cctx, n.s.listenConfig())
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		if ctx.Err() == nil {
			// A failed connection: nothing on it is worth delivering.
			if c := abortable(conn.PgConn().Conn()); c != nil {
				c.abort()
			}
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenCloseWithin)
		defer cancel()
		conn.Close(cctx)
	}()
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	_, err = conn.Exec(lctx, "LISTEN "+notifyChannel)
	cancel()
	if err != nil {
		return err
	}
	onListening()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenCheckEvery)
		nt, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			n.hub.Wake(nt.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !pgconn.Timeout(err):
			return err
		}
		// Silence: make sure it is not a dead connection.
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
	}
}
