// Package signin is the sign-in state machine of Deadbolt: password →
// pending session → second factor → full session, with the guessing limits
// on each step, and the session rules (lifetimes, logout, log out of all
// devices, password change, fresh proof). It knows nothing of HTTP or SQL:
// it speaks to the store through deadbolt's interfaces and reads the time
// from the injected clock.
package signin

import (
	"context"
	"log/slog"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
	"deadbolt/internal/recovery"
	"deadbolt/internal/seal"
)

// Store is the persistence the sign-in service needs.
type Store interface {
	deadbolt.UserStore
	deadbolt.SessionStore
	deadbolt.CounterStore
	deadbolt.FactorStore
	deadbolt.PushStore
	deadbolt.CompletionStore
	deadbolt.FactorStateStore
}

// Config holds the sign-in rules. The zero value is not usable: start from
// DefaultConfig.
type Config struct {
	SessionLifetime time.Duration // absolute lifetime of a full session
	IdleTimeout     time.Duration // a session unused this long ends
	PendingLifetime time.Duration // time allowed for the second step
	FreshProof      time.Duration // how recent a proof factor changes need
	TouchEvery      time.Duration // granularity of idle tracking

	// AccountFreeFailures consecutive wrong passwords per login are free;
	// after that each try waits a growing delay, up to AccountMaxDelay.
	AccountFreeFailures int
	AccountMaxDelay     time.Duration
	// IPFailures failed passwords per IP within IPWindow block that IP
	// until the window ends.
	IPFailures int
	IPWindow   time.Duration

	// SecondFactorFreeFailures consecutive failed second factors are free;
	// then each try waits a growing delay up to SecondFactorMaxDelay. At
	// SecondFactorLockAt failures the second factor locks until an
	// administrator unlocks it.
	SecondFactorFreeFailures int
	SecondFactorMaxDelay     time.Duration
	SecondFactorLockAt       int
	// CaptchaAfter wrong recovery codes in a row require a CAPTCHA.
	CaptchaAfter int

	// PasskeyBegins sign-ins without a login may be begun per network
	// (an IPv4 address, an IPv6 /64) within PasskeyBeginWindow; each
	// keeps a challenge in the store until it expires.
	PasskeyBegins      int
	PasskeyBeginWindow time.Duration
}

// DefaultConfig returns the product defaults (SPEC §2, §3).
func DefaultConfig() Config {
	return Config{
		SessionLifetime:     24 * time.Hour,
		IdleTimeout:         time.Hour,
		PendingLifetime:     10 * time.Minute,
		FreshProof:          10 * time.Minute,
		TouchEvery:          time.Minute,
		AccountFreeFailures: 10,
		AccountMaxDelay:     15 * time.Minute,
		IPFailures:          100,
		IPWindow:            15 * time.Minute,

		SecondFactorFreeFailures: 5,
		SecondFactorMaxDelay:     15 * time.Minute,
		SecondFactorLockAt:       100,
		CaptchaAfter:             3,

		PasskeyBegins:      600,
		PasskeyBeginWindow: 15 * time.Minute,
	}
}

// Client describes where a request comes from.
type Client struct {
	IP        string
	UserAgent string
}

// Auth is an authenticated request: the session and its employee.
type Auth struct {
	Session *deadbolt.Session
	User    *deadbolt.User
}

// Full reports whether the session is fully signed in, its employee's
// one-time password replaced (RequireChosenPassword).
func (a *Auth) Full() bool {
	return a.Session.State == deadbolt.SessionFull && !a.User.PasswordChangeRequired
}

// Factors holds what the second-factor methods need.
type Factors struct {
	// Seal opens the devices' TOTP secrets.
	Seal *seal.Box
	// Recovery hashes recovery codes with the server's key.
	Recovery *recovery.Hasher
	// Captcha checks solved CAPTCHAs.
	Captcha CaptchaVerifier
	// SMS checks codes sent by text message; nil when no SMS provider is
	// configured, and then SMS is not offered.
	SMS SMSVerifier
	// Push sends push requests to the trusted device; nil turns push off.
	Push PushSender
	// Notifier wakes sign-ins waiting for a push decision.
	Notifier deadbolt.Notifier
	// OnDisconnect, if set, is called after the employee's trusted device
	// was disconnected (so open companion apps learn it at once).
	OnDisconnect func(ctx context.Context, userID string)
	// Setup tells whether a password sign-in must lead straight to
	// two-factor setup; nil never does.
	Setup SetupPolicy
	// Passkeys checks passkey assertions; nil turns passkeys off.
	Passkeys PasskeyVerifier
}

// CaptchaVerifier checks a solved CAPTCHA: (false, nil) for a wrong,
// unknown, expired or used one; an error only when the check could not be
// made. The built-in and hosted CAPTCHAs implement it.
type CaptchaVerifier interface {
	Verify(ctx context.Context, id, answer string, now time.Time) (bool, error)
}

// PushSender sends push requests to the trusted device and records its
// decisions; the device package's Pusher implements it. Decisions arrive
// through Service.DecidePush, which gates approvals.
type PushSender interface {
	// Send sends a push request for a pending sign-in. When pushes are
	// limited or muted it answers CodeRateLimited with the reason in
	// Extra["push_unavailable"].
	Send(ctx context.Context, u *deadbolt.User, sessionID, ip, userAgent string) (*deadbolt.PushRequest, error)
	// Open checks a device's decision on request id — its shape
	// (CodeInvalidInput), signature (CodeUnauthorized), that the request
	// is the device's (CodeNotFound) — and returns the request, changing
	// nothing.
	Open(ctx context.Context, d *deadbolt.Device, id string, dec deadbolt.PushDecision) (*deadbolt.PushRequest, error)
	// Settle records an opened decision and returns the final status:
	// approved when an approval carries the request's number, denied
	// otherwise; CodeConflict when it was already answered or expired.
	Settle(ctx context.Context, d *deadbolt.Device, req *deadbolt.PushRequest, dec deadbolt.PushDecision, ip string) (string, error)
	// Refuse ends an opened request denied without comparing its number.
	Refuse(ctx context.Context, d *deadbolt.Device, req *deadbolt.PushRequest, reason, ip string) error
	// SendReauth sends a push request that renews the fresh proof of the
	// full session sessionID, with Send's answers.
	SendReauth(ctx context.Context, u *deadbolt.User, sessionID, ip, userAgent string) (*deadbolt.PushRequest, error)
	// Paused reports, counting nothing, whether pushes to the employee are
	// muted or limited now ("muted", "rate_limited", or "" when not) and
	// for how long.
	Paused(ctx context.Context, userID string) (string, time.Duration, error)
}

// SMSVerifier checks codes sent by text message. Each method reports
// whether code is the live code sent to the employee's linked number for
// that session, using it up if so; a wrong code is false with a nil error.
type SMSVerifier interface {
	// VerifyLogin checks a code sent for the pending sign-in
	// pendingSessionID.
	VerifyLogin(ctx context.Context, u *deadbolt.User, pendingSessionID, code string) (bool, error)
	// VerifyReauth checks a code sent to renew the fresh proof of session
	// sessionID.
	VerifyReauth(ctx context.Context, u *deadbolt.User, sessionID, code string) (bool, error)
}

// Service runs sign-ins and sessions. It is safe for concurrent use.
type Service struct {
	store   Store
	hasher  *password.Hasher
	audit   *audit.Log
	clock   deadbolt.Clock
	cfg     Config
	log     *slog.Logger
	factors *Factors
}

// New returns a sign-in service. With nil factors, second factors are off.
func New(store Store, hasher *password.Hasher, audit *audit.Log, clock deadbolt.Clock, cfg Config, factors *Factors, log *slog.Logger) *Service {
	return &Service{store: store, hasher: hasher, audit: audit, clock: clock, cfg: cfg, factors: factors, log: log}
}

// Config returns the rules in force.
func (s *Service) Config() Config { return s.cfg }
