package deadbolt

import (
	"context"
	"time"
)

// SMSCode is one code sent by text message, bound to what it may prove
// (its purpose, such as "login:<pending session id>" or "link:<user id>")
// and to the number it went to. The code itself is never stored: only a
// keyed hash of it.
type SMSCode struct {
	ID      string
	UserID  string
	Purpose string
	// Phone is the E.164 number the code was sent to.
	Phone string
	// Hash is the keyed hash of the code.
	Hash      []byte
	SentAt    time.Time
	ExpiresAt time.Time
	// Attempts counts the tries made against this code.
	Attempts int
	// UsedAt is when the code was used; zero while unused.
	UsedAt time.Time
	// Voided is set when a newer code of the same purpose replaced this
	// one, or when sending it failed.
	Voided bool
}

// Live reports whether the code is neither used nor voided (it may still
// have expired).
func (c *SMSCode) Live() bool { return c.UsedAt.IsZero() && !c.Voided }

// PhoneStore persists linked phone numbers and the codes sent to them. A
// number belongs to at most one account, deactivated accounts included.
type PhoneStore interface {
	// SetPhone links e164 to the user. A number held by another account is
	// CodePhoneInUse; an unknown user CodeNotFound. Linking the number the
	// user already holds succeeds.
	SetPhone(ctx context.Context, userID, e164 string, now time.Time) error
	// ClearPhone unlinks the user's number; CodeNotFound when the user has
	// none (or does not exist).
	ClearPhone(ctx context.Context, userID string, now time.Time) error
	// UserByPhone returns the account holding e164, active or not.
	UserByPhone(ctx context.Context, e164 string) (*User, error)

	// CreateSMSCode stores c and, in the same transaction, voids every live
	// code of c.Purpose sent at or before c.SentAt-resendAfter. A purpose
	// has at most one live code: when a live code of c.Purpose was sent
	// after that, nothing changes and the answer is CodeConflict (so of
	// several resends racing, exactly one is stored).
	CreateSMSCode(ctx context.Context, c *SMSCode, resendAfter time.Duration) error
	// LatestSMSCode returns the live code of purpose if there is one, and
	// otherwise the one sent last; CodeNotFound when none was sent.
	LatestSMSCode(ctx context.Context, purpose string) (*SMSCode, error)
	// AttemptSMSCode counts one try against the live, unexpired code id
	// and returns the number of tries so far, in one atomic statement;
	// CodeNotFound when the code is used, voided, expired or unknown.
	AttemptSMSCode(ctx context.Context, id string, now time.Time) (int, error)
	// ConsumeSMSCode marks the live, unexpired code id used, in one atomic
	// statement, and reports whether it did.
	ConsumeSMSCode(ctx context.Context, id string, now time.Time) (bool, error)
	// VoidSMSCode voids the code id (its sending failed); CodeNotFound for
	// an unknown id.
	VoidSMSCode(ctx context.Context, id string) error
}
