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
)

// Store is the persistence the sign-in service needs.
type Store interface {
	deadbolt.UserStore
	deadbolt.SessionStore
	deadbolt.CounterStore
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

// Full reports whether the session is fully signed in.
func (a *Auth) Full() bool { return a.Session.State == deadbolt.SessionFull }

// Factors is what the sign-in service asks of the second-factor methods.
type Factors interface {
	// Methods lists the second-factor methods the employee can use now,
	// preferred first.
	Methods(ctx context.Context, u *deadbolt.User) ([]string, error)
}

// Service runs sign-ins and sessions. It is safe for concurrent use.
type Service struct {
	store   Store
	hasher  *password.Hasher
	audit   *audit.Log
	clock   deadbolt.Clock
	cfg     Config
	log     *slog.Logger
	factors Factors
}

// New returns a sign-in service. factors may be nil while no second factor
// exists.
func New(store Store, hasher *password.Hasher, audit *audit.Log, clock deadbolt.Clock, cfg Config, factors Factors, log *slog.Logger) *Service {
	return &Service{store: store, hasher: hasher, audit: audit, clock: clock, cfg: cfg, factors: factors, log: log}
}

// Config returns the rules in force.
func (s *Service) Config() Config { return s.cfg }
