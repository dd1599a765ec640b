package deadbolt

import "time"

// User is an employee account.
type User struct {
	ID    string
	Login string // canonical, lower-case
	Name  string
	// Email is the employee's address, "" for none.
	Email string
	Admin bool
	// Active is false once an administrator deactivated the account.
	Active       bool
	PasswordHash string // argon2id PHC string
	// SessionEpoch grows on every "log out everywhere": a session is valid
	// only while it carries the user's current epoch, so a sign-in racing a
	// logout-all can never outlive it.
	SessionEpoch int64
	CreatedAt    time.Time
	UpdatedAt    time.Time

	// TwoFactorSince is when the second factor was turned on (a trusted
	// device confirmed); zero while it is off.
	TwoFactorSince time.Time
	// TOTPLastStep is the last TOTP time step accepted; it only moves
	// forward.
	TOTPLastStep int64
	// Phone is the linked number in E.164, "" for none.
	Phone string
	// DeviceDisconnectedAt is set when a log-out-all or password change
	// disconnected the trusted device, and cleared by a new pairing.
	DeviceDisconnectedAt time.Time
	// LastConfirmedAt is the last "Everything is fine" on the login
	// parameters banner.
	LastConfirmedAt time.Time
	// ExemptUntil exempts the employee from a required second factor.
	ExemptUntil time.Time
	// Language is the code of the language the employee chose ("ru"),
	// "" while they have not chosen one.
	Language string
	// PasswordChangeRequired is set while the employee must choose a new
	// password before anything else (the first administrator's generated
	// one-time password); a new password clears it.
	PasswordChangeRequired bool
}

// TwoFactorEnabled reports whether the employee has a second factor on.
func (u *User) TwoFactorEnabled() bool { return !u.TwoFactorSince.IsZero() }

// SessionState is the stage a session is at.
type SessionState string

// Session states.
const (
	// SessionPending: the password was right, the second factor is due.
	// Usable for nothing but the second step.
	SessionPending SessionState = "pending"
	// SessionSetup: policy demands setting up 2FA before anything else.
	SessionSetup SessionState = "setup"
	// SessionFull: signed in.
	SessionFull SessionState = "full"
)

// Session is a server-side session. The bearer token itself is never
// stored: the store keys sessions by the token's hash.
type Session struct {
	ID         string
	UserID     string
	State      SessionState
	Epoch      int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time
	// AuthAt is the time of the last proof (sign-in or reauth): factor
	// changes need it to be recent.
	AuthAt time.Time
	// Method is how the session was completed: "password", "totp", …
	Method string
	// AMR lists what was proven to open or renew the session, as RFC 8176
	// authentication method references: "pwd", "otp", "sms", "swk",
	// "hwk", "user", and "mfa" once two factors were proven.
	AMR       []string
	IP        string
	UserAgent string
}

// Counter is the state of a named counter: how many hits, since when.
type Counter struct {
	N     int64
	First time.Time // start of the current window or streak
	Last  time.Time // last hit
	// Prev is the hit before Last in the same window or streak; zero when
	// Last was its first hit.
	Prev time.Time
}

// Event is an append-only audit record.
type Event struct {
	ID      string
	Type    string
	At      time.Time
	UserID  string // the employee concerned, "" for none
	ActorID string // who did it when not the employee (an administrator)
	IP      string
	Detail  map[string]string
}

// EventFilter selects events.
type EventFilter struct {
	UserID   string
	Type     string
	Since    time.Time
	Until    time.Time
	BeforeID string // paging: events older than this id
	Limit    int
}

// Device is an employee's phone (or CLI companion) running the companion
// app. A device becomes the trusted device once its pairing is confirmed.
type Device struct {
	ID        string
	UserID    string
	PairingID string
	Name      string
	Platform  string
	// PublicKey is the device's ECDSA P-256 key, DER SPKI.
	PublicKey []byte
	// TOTPSecretSealed is the TOTP secret sealed with the master key.
	TOTPSecretSealed []byte
	// WebPush is the browser PushSubscription JSON, "" if none.
	WebPush        string
	CreatedAt      time.Time
	ConfirmedAt    time.Time // zero until confirmed
	DisconnectedAt time.Time // zero while connected
}

// Trusted reports whether the device is confirmed and connected.
func (d *Device) Trusted() bool { return !d.ConfirmedAt.IsZero() && d.DisconnectedAt.IsZero() }

// Pairing is a one-time pairing offer shown as a QR code.
type Pairing struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}
