package deadbolt

import (
	"context"
	"time"
)

// Push request statuses.
const (
	PushPending  = "pending"
	PushApproved = "approved"
	PushDenied   = "denied"
	PushExpired  = "expired"
	// PushReplaced: a newer request for the same sign-in took its place.
	PushReplaced = "replaced"
	// PushConsumed: approved, and the sign-in it approved was completed.
	PushConsumed = "consumed"
)

// What a push request asks the device to approve.
const (
	// PushSignIn completes the pending sign-in SessionID.
	PushSignIn = "sign_in"
	// PushReauth renews the fresh proof of the full session SessionID
	// before a factor change.
	PushReauth = "reauth"
)

// PushRequest asks the trusted device to approve a sign-in. Number is shown
// only in the browser; the employee types it on the phone. The device is
// told how many digits it has, never the number.
type PushRequest struct {
	ID        string
	UserID    string
	SessionID string // the pending session it would complete, or the full session it would renew
	// Purpose is PushSignIn or PushReauth; the store reads "" as
	// PushSignIn.
	Purpose   string
	DeviceID  string
	Number    int
	Context   map[string]string // app, browser, os, ip, time
	Status    string
	Reported  bool
	CreatedAt time.Time
	ExpiresAt time.Time
	DecidedAt time.Time
}

// Digits is the length of the request's number in decimal digits (the
// number has no leading zero: 6 digits are 100000–999999).
func (p *PushRequest) Digits() int {
	n, d := p.Number, 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// StatusAt is the request's status at now: a pending request past its
// expiry is expired.
func (p *PushRequest) StatusAt(now time.Time) string {
	if p.Status == PushPending && !now.Before(p.ExpiresAt) {
		return PushExpired
	}
	return p.Status
}

// PushStore persists push requests.
type PushStore interface {
	// CreatePushRequest stores p and, in the same transaction, marks every
	// other pending request of the same session replaced: at most one is
	// pending per sign-in.
	CreatePushRequest(ctx context.Context, p *PushRequest) error
	PushRequest(ctx context.Context, id string) (*PushRequest, error)
	// PendingPushRequests lists the user's pending, unexpired requests,
	// oldest first.
	PendingPushRequests(ctx context.Context, userID string, now time.Time) ([]*PushRequest, error)
	// DecidePushRequest sets the status of a pending, unexpired request of
	// deviceID in one atomic statement and reports whether it did: of an
	// approval and a denial racing, exactly one wins.
	DecidePushRequest(ctx context.Context, id, deviceID, status string, reported bool, now time.Time) (bool, error)
	// SetDeviceWebPush replaces (or with "" removes) a device's Web Push
	// subscription.
	SetDeviceWebPush(ctx context.Context, deviceID, subscription string) error
}

// Notifier wakes waiters across the process — and, on PostgreSQL, across
// nodes — when something they wait for may have changed. A wake-up carries
// no data: waiters re-read the store. It is safe for concurrent use.
type Notifier interface {
	// Subscribe returns a channel that receives a value after each Publish
	// on topic (coalesced), and a function to stop.
	Subscribe(topic string) (<-chan struct{}, func())
	// Publish wakes the topic's subscribers.
	Publish(ctx context.Context, topic string) error
}

// PushDecision is what the trusted device sends about a push request.
type PushDecision struct {
	Decision  string // "approve" | "deny"
	Number    *int   // the number typed on the phone; may be nil for deny
	Report    bool   // "This wasn't me"
	Signature string // base64url raw r||s over the signed message
}
