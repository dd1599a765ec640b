package sms

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"deadbolt/internal/phone"
)

// OutboxMessage is a message recorded by the Log provider.
type OutboxMessage struct {
	To     string    // E.164 recipient
	Body   string    // full text
	Code   string    // the code alone
	SentAt time.Time // from the clock given to NewLog
}

// Outbox keeps the most recent messages sent through the Log provider, for
// development tools and tests. It is bounded and safe for concurrent use.
type Outbox struct {
	mu    sync.Mutex
	max   int
	items []OutboxMessage // ring buffer once full
	next  int             // index of the oldest entry when full
}

// NewOutbox returns an empty Outbox that keeps the max most recent messages
// (at least one) and forgets older ones.
func NewOutbox(max int) *Outbox {
	if max < 1 {
		max = 1
	}
	return &Outbox{max: max}
}

func (o *Outbox) add(m OutboxMessage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) < o.max {
		o.items = append(o.items, m)
		return
	}
	o.items[o.next] = m
	o.next = (o.next + 1) % o.max
}

// Messages returns a copy of the kept messages, oldest first.
func (o *Outbox) Messages() []OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OutboxMessage, 0, len(o.items))
	out = append(out, o.items[o.next:]...)
	out = append(out, o.items[:o.next]...)
	return out
}

type logSender struct {
	logger *slog.Logger
	outbox *Outbox
	now    func() time.Time
}

// NewLog returns the development Sender. Send validates the message (and
// returns an ErrInvalidMessage error if it is malformed), appends it to
// outbox (if not nil) stamped with now(), and writes an info record
// "sms sent" to logger with the masked recipient only: never the body or
// the code. It sends nothing anywhere else and never fails otherwise. A nil
// logger discards the record. now must not be nil. The Sender is safe for
// concurrent use.
func NewLog(logger *slog.Logger, outbox *Outbox, now func() time.Time) Sender {
	if now == nil {
		panic("sms: NewLog: nil clock")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &logSender{logger: logger, outbox: outbox, now: now}
}

func (s *logSender) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	if s.outbox != nil {
		s.outbox.add(OutboxMessage{To: m.To, Body: m.Body, Code: m.Code, SentAt: s.now()})
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "sms sent",
		slog.String("provider", "log"),
		slog.String("to", phone.Mask(m.To)))
	return nil
}
