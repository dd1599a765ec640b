package deadbolt

import (
	"context"
	"time"
)

// The store interfaces below are implemented by the SQLite and PostgreSQL
// stores and checked by one contract suite. They persist; they decide
// nothing. Every single-use consumption and every counter is one atomic
// statement. Unless a method says otherwise, a missing row is an *Error with
// CodeNotFound. Stores answer with codes and internal detail only
// (StoreError); the words a person reads come from the services. All
// implementations are safe for concurrent use.

// UserStore persists employees.
type UserStore interface {
	// CreateUser inserts u (ID, Login set by the caller). A taken login is
	// CodeLoginTaken.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByLogin finds a user by canonical login.
	UserByLogin(ctx context.Context, login string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// SetUserProfile replaces the user's name and email ("" for none).
	SetUserProfile(ctx context.Context, userID, name, email string, now time.Time) error
	// SetUserLanguage saves the language the user chose ("" for none);
	// an unknown user is CodeNotFound.
	SetUserLanguage(ctx context.Context, userID, language string, now time.Time) error
	CountUsers(ctx context.Context) (int, error)
	// SetPassword stores a new hash, bumps the session epoch and deletes
	// every session of the user except keepSessionID ("" for none, which is
	// moved to the new epoch), and changes the devices as end says — in one
	// transaction. It returns whether a trusted device was disconnected.
	SetPassword(ctx context.Context, userID, hash, keepSessionID string, end SessionsEnd, now time.Time) (bool, error)
	// RehashPassword replaces the hash only if it is still oldHash.
	RehashPassword(ctx context.Context, userID, oldHash, newHash string) error
	// EndAllSessions bumps the session epoch, deletes every session of the
	// user and changes the devices as end says — in one transaction. It
	// returns whether a trusted device was disconnected.
	EndAllSessions(ctx context.Context, userID string, end SessionsEnd, now time.Time) (bool, error)
	// SetActive activates or deactivates a user; deactivation also bumps
	// the session epoch, deletes every session and changes the devices as
	// end says, in the same transaction (activation ignores end). With a
	// rule, the rule decides first, in the same transaction (AdminRule);
	// its error refuses the change, which then changes nothing.
	SetActive(ctx context.Context, userID string, active bool, end SessionsEnd, rule AdminRule, now time.Time) error
}

// SessionStore persists sessions, keyed by the hash of their token.
type SessionStore interface {
	// CreateSession inserts s under tokenHash.
	CreateSession(ctx context.Context, s *Session, tokenHash []byte) error
	// SessionByToken returns the session with tokenHash and its user, only
	// while the session carries the user's current epoch and the user is
	// active; otherwise CodeNotFound. Expiry is the caller's rule.
	SessionByToken(ctx context.Context, tokenHash []byte) (*Session, *User, error)
	// TouchSession records activity at now.
	TouchSession(ctx context.Context, id string, now time.Time) error
	// TouchSessions records the activity of many sessions in one write:
	// each session's last activity moves to its At unless it is already
	// later; unknown sessions are skipped. It is the one update of a
	// session that the change feed does not publish.
	TouchSessions(ctx context.Context, touches []SessionTouch) error
	// SetSessionAuth records a fresh proof at authAt; amr replaces the
	// session's method references.
	SetSessionAuth(ctx context.Context, id string, authAt time.Time, amr []string) error
	// ListSessions lists the user's sessions of the current epoch, newest
	// first.
	ListSessions(ctx context.Context, userID string) ([]*Session, error)
	// DeleteSession deletes the session id of userID ("" matches any user)
	// and, in the same transaction, ends (as replaced) the push requests
	// still pending for it: a sign-in given up leaves no request behind.
	DeleteSession(ctx context.Context, userID, id string) error
	// DeleteExpiredSessions removes sessions ended before now (absolute
	// expiry) or idle since before idleBefore; returns how many.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
}

// CounterStore keeps named counters for limits and lock-outs: failed
// passwords per account and per IP, failed second factors, the recovery
// streak, sends per window. Each hit is one atomic statement, so parallel
// hits on any node are all counted.
type CounterStore interface {
	// Hit adds one to the counter key and returns its new state, Prev
	// included (the previous hit's time moves from Last to Prev in the same
	// statement). When window > 0 and the counter's window began at or
	// before now-window, the counter restarts at 1 from now, with no Prev.
	Hit(ctx context.Context, key string, now time.Time, window time.Duration) (Counter, error)
	// Unhit takes one hit back from the counter key, in one atomic
	// statement, only while its window or streak is still the one that
	// began at first (a restarted or deleted counter is left alone) and its
	// count is above zero. Last and Prev stay as they are.
	Unhit(ctx context.Context, key string, first time.Time) error
	// Counter returns the counter's state; a missing counter is the zero
	// Counter and no error.
	Counter(ctx context.Context, key string) (Counter, error)
	// ResetCounter deletes the counter.
	ResetCounter(ctx context.Context, key string) error
}

// DistinctStore keeps capped sets of distinct values, for limits on how
// many different things one party may try (the phone numbers an employee
// asks to link) rather than how many times. Each addition is one atomic
// statement, so parallel additions on any node never let more than the
// cap in.
type DistinctStore interface {
	// AddDistinct adds member to the set key unless the set already holds
	// max members, in one atomic statement, and returns the set's state
	// after it: Held reports whether member is in the set (added now or
	// before). When window > 0 and the set's window began at or before
	// now-window, the set restarts from now, empty, before member is
	// added. max must be at least 1; member must not hold a newline.
	AddDistinct(ctx context.Context, key, member string, max int, now time.Time, window time.Duration) (Distinct, error)
}

// Distinct is the state of a capped set after an addition.
type Distinct struct {
	// Held reports whether the member asked about is in the set.
	Held bool
	// N is the number of members.
	N int
	// First is when the set's current window began.
	First time.Time
}

// EventStore keeps the append-only audit log.
type EventStore interface {
	// AppendEvent stores e, filling in its ID.
	AppendEvent(ctx context.Context, e *Event) error
	// Events lists events matching f, newest first.
	Events(ctx context.Context, f EventFilter) ([]*Event, error)
}

// SettingStore keeps small server-wide values (VAPID keys, …).
type SettingStore interface {
	// Setting returns the value of key, or CodeNotFound.
	Setting(ctx context.Context, key string) (string, error)
	// SetSettingIfAbsent stores value under key unless one exists, and
	// returns the value in force — so several nodes starting at once agree.
	SetSettingIfAbsent(ctx context.Context, key, value string) (string, error)
}

// Store is everything a server needs from persistence.
type Store interface {
	UserStore
	SessionStore
	CounterStore
	DistinctStore
	EventStore
	SettingStore
	FactorStore
	CaptchaStore
	WorkgroupStore
	PhoneStore
	PushStore
	OverviewStore
	CompletionStore
	FactorStateStore
	ChangeFeed
	ApplicationStore
	OIDCStore
	PasskeyStore
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// FactorStore persists the second factors: pairing offers, devices, the
// TOTP replay step, and recovery codes.
type FactorStore interface {
	// CreatePairing stores a pairing offer under the hash of its token.
	CreatePairing(ctx context.Context, p *Pairing, tokenHash []byte) error
	// ConsumePairing marks the unused, unexpired pairing with tokenHash
	// used and returns it, in one atomic statement; CodeNotFound otherwise.
	ConsumePairing(ctx context.Context, tokenHash []byte, now time.Time) (*Pairing, error)
	// CreateDevice stores a device under the hash of its token.
	CreateDevice(ctx context.Context, d *Device, tokenHash []byte) error
	// DeviceByPairing returns the device registered through a pairing of
	// userID.
	DeviceByPairing(ctx context.Context, userID, pairingID string) (*Device, error)
	// DeviceByToken returns the device with tokenHash, connected or not.
	DeviceByToken(ctx context.Context, tokenHash []byte) (*Device, error)
	// TrustedDevice returns the user's confirmed, connected device.
	TrustedDevice(ctx context.Context, userID string) (*Device, error)
	// ChangeFactors writes c in one transaction, as FactorChange
	// describes. It answers CodeNotFound, changing nothing, when the user
	// or the device to confirm is missing or that device is no longer
	// unconfirmed and connected; a result that is not Applied, changing
	// nothing, when c.TOTPStep was already used.
	ChangeFactors(ctx context.Context, c *FactorChange) (FactorChangeResult, error)
	// ReplaceRecoveryCodes deletes every recovery code of the user and
	// stores the new hashes, in one transaction.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error
	// CountRecoveryCodes counts the user's unused recovery codes.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// CaptchaStore keeps CAPTCHA challenges so that any node can check an
// answer. A challenge is used at most once.
type CaptchaStore interface {
	SaveChallenge(ctx context.Context, c Challenge) error
	// Challenge returns an unused, unexpired challenge (CodeNotFound
	// otherwise).
	Challenge(ctx context.Context, id string, now time.Time) (Challenge, error)
	// ConsumeChallenge marks an unused, unexpired challenge used and
	// returns it, in one atomic statement (CodeNotFound otherwise).
	ConsumeChallenge(ctx context.Context, id string, now time.Time) (Challenge, error)
}

// Challenge is a CAPTCHA challenge: the digits to type.
type Challenge struct {
	ID        string
	Digits    []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}
