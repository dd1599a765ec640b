package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

// notifyChannel is the PostgreSQL channel every node listens on; the
// payload is the topic.
const notifyChannel = "deadbolt_wake"

// Notifier wakes waiters on every node sharing the database, through
// LISTEN/NOTIFY. Notifications sent while the listening connection is down
// are lost, so after each reconnect every local waiter is woken to re-read
// the store. It is safe for concurrent use.
type Notifier struct {
	s   *Store
	hub *deadbolt.Hub
	log *slog.Logger
}

// Notifier starts listening until ctx ends and returns the notifier.
func (s *Store) Notifier(ctx context.Context, log *slog.Logger) *Notifier {
	n := &Notifier{s: s, hub: deadbolt.NewHub(), log: log}
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

// Publish wakes the topic's subscribers on every node.
func (n *Notifier) Publish(ctx context.Context, topic string) error {
	_, err := n.s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, topic)
	if err != nil {
		// Local waiters at least.
		n.hub.Wake(topic)
	}
	return err
}

func (n *Notifier) listen(ctx context.Context, ready chan struct{}) {
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := n.listenOnce(ctx, func() {
			if first {
				close(ready)
				first = false
			} else {
				n.hub.WakeAll()
			}
			backoff = 100 * time.Millisecond
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
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (n *Notifier) listenOnce(ctx context.Context, onListening func()) error {
	// A connection of its own: pool connections hand their notifications
	// to the change feed (changes.go), not to WaitForNotification.
	conn, err := pgx.ConnectConfig(ctx, n.s.listenConfig())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	onListening()
	for {
		nt, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		n.hub.Wake(nt.Payload)
	}
}
