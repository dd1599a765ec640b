// Package audit records security events in the append-only audit log. A
// failure to record is logged but does not undo what happened.
package audit

import (
	"context"
	"log/slog"

	"deadbolt/internal/deadbolt"
)

// Log appends events through an EventStore. It is safe for concurrent use.
type Log struct {
	store deadbolt.EventStore
	clock deadbolt.Clock
	log   *slog.Logger
	// OnRecord, if set, is called after each event is stored (to notify
	// the employee's device of factor changes). Set it before use.
	OnRecord func(ctx context.Context, e *deadbolt.Event)
}

// New returns a Log writing to store.
func New(store deadbolt.EventStore, clock deadbolt.Clock, log *slog.Logger) *Log {
	return &Log{store: store, clock: clock, log: log}
}

// Record appends an event of typ about userID. actorID is the administrator
// acting, "" when the employee acted. detail must never hold a secret.
func (l *Log) Record(ctx context.Context, typ, userID, actorID, ip string, detail map[string]string) {
	e := &deadbolt.Event{Type: typ, At: l.clock.Now(), UserID: userID, ActorID: actorID, IP: ip, Detail: detail}
	// The event must be kept even when the request that caused it is
	// cancelled right after.
	if err := l.store.AppendEvent(context.WithoutCancel(ctx), e); err != nil {
		l.log.Error("audit: cannot record event", "type", typ, "user_id", userID, "err", err)
		return
	}
	if l.OnRecord != nil {
		l.OnRecord(ctx, e)
	}
}

// RecordDurably is Record for an answer that may be sent only once its
// event is stored: it returns the store's error instead of logging it.
func (l *Log) RecordDurably(ctx context.Context, typ, userID, actorID, ip string, detail map[string]string) error {
	e := &deadbolt.Event{Type: typ, At: l.clock.Now(), UserID: userID, ActorID: actorID, IP: ip, Detail: detail}
	if err := l.store.AppendEvent(context.WithoutCancel(ctx), e); err != nil {
		return err
	}
	if l.OnRecord != nil {
		l.OnRecord(ctx, e)
	}
	return nil
}

// Committed tells the OnRecord hook about events a store appended itself,
// in the transaction of the change they record (FactorChange.Events).
func (l *Log) Committed(ctx context.Context, events ...*deadbolt.Event) {
	if l.OnRecord == nil {
		return
	}
	for _, e := range events {
		l.OnRecord(ctx, e)
	}
}
