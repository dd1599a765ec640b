package deadbolt

import (
	"context"
	"time"
)

// ChangeListener receives a store's change feed: what a node keeping
// copies of sessions, accounts or applications in memory must forget.
// The store publishes changes itself, from the database (triggers), so no
// service path can forget to; a listener is told of every committed
// change to a user's account row, to any of their sessions (except the
// idle-time update of TouchSessions) and to their workgroup memberships.
//
// Methods are called from the store's own goroutines, possibly several at
// once, and must not block: they record and return.
type ChangeListener interface {
	// UserChanged tells that userID's account, one of their sessions or
	// one of their workgroup memberships changed. On the node that made
	// the change it is called before the store method that made it
	// returns; on other nodes as soon as the notification arrives.
	UserChanged(userID string)
	// AppsChanged tells that the registered applications changed.
	AppsChanged()
	// FeedDown tells that changes may be missed from now on: forget
	// everything and keep nothing until FeedUp. err says why (nil when the
	// watch ended because its context did).
	FeedDown(err error)
	// FeedUp vouches that every change committed so far has been
	// delivered and that changes will keep arriving until until, a time
	// read from this process's monotonic clock (time.Now), not the
	// product's Clock: it measures the feed, not a rule. The feed renews it
	// while it works; past until, trust nothing the feed has not renewed.
	// After a FeedDown, the first FeedUp must be taken as "anything may
	// have changed meanwhile".
	FeedUp(until time.Time)
}

// ChangeFeed is a store's change feed.
type ChangeFeed interface {
	// WatchChanges delivers the store's changes to l until ctx ends. It
	// returns once l is registered (changes committed after the return are
	// delivered), or with an error (CodeUnavailable) when the feed cannot
	// start; l gets FeedUp once the feed works, FeedDown whenever it
	// stops.
	WatchChanges(ctx context.Context, l ChangeListener) error
}

// SessionTouch is the last activity of one session, written in batches.
type SessionTouch struct {
	SessionID string
	At        time.Time
}
