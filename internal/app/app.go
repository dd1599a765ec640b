// Package app is the one composition root of Deadbolt: it opens the store
// the database setting names (SQLite file or PostgreSQL URL) and builds the
// services from the settings. New also builds the HTTP handler, creates the
// first administrator and serves with timeouts (the server and the test
// harness start through it); Open builds the same services without
// serving, for the administration commands. Serve drains on shutdown:
// readiness turns 503, the listener closes, long polls and event streams
// end at once, and requests in flight finish within the shutdown timeout,
// their contexts untouched by the signal.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"crypto/rand"

	"deadbolt/internal/accounts"
	"deadbolt/internal/apps"
	"deadbolt/internal/audit"
	"deadbolt/internal/authz"
	"deadbolt/internal/captcha"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/i18n"
	"deadbolt/internal/oidc"
	"deadbolt/internal/passkey"
	"deadbolt/internal/password"
	"deadbolt/internal/policy"
	"deadbolt/internal/recovery"
	"deadbolt/internal/seal"
	"deadbolt/internal/signin"
	"deadbolt/internal/smscode"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/web"
	"deadbolt/internal/webpush"
	"deadbolt/internal/workgroups"
)

// Config is a validated server configuration.
type Config struct {
	Database  string // SQLite file path, or postgres:// URL
	PublicURL *url.URL
	Dev       bool
	// AdminPassword sets the first administrator's password on an empty
	// database; empty means make one up.
	AdminPassword  string
	MasterKey      []byte
	TrustedProxies []netip.Prefix
	// CookieDomain makes the session cookie deadbolt_session for that
	// domain, so that every subdomain's reverse proxy can pass it to
	// forward-auth; "" keeps the host-only __Host- cookie. The public URL
	// must lie inside it (CheckCookieDomain).
	CookieDomain    string
	SessionLifetime time.Duration
	SessionIdle     time.Duration
	Hash            password.Params
	HashConcurrency int
	Logger          *slog.Logger
	// Clock overrides the clock (tests); nil means the system clock, or
	// the development clock with Dev.
	Clock deadbolt.Clock
	// Version is shown in logs.
	Version string
	// OrgLocation is the organisation's time zone, which decides when a
	// calendar day starts for the banners; nil means UTC.
	OrgLocation *time.Location
	// CheckEvery is the period of the "check your login parameters"
	// banner; zero means 180 days.
	CheckEvery time.Duration
	// Captcha configures a hosted CAPTCHA; nil means the built-in one.
	Captcha *captcha.HostedConfig
	// SMS configures text messages.
	SMS SMSConfig
	// PushDigits is the length of the push number (6 to 8); zero means 6.
	PushDigits int
	// ShutdownTimeout bounds the drain after Serve's context ends: how
	// long requests in flight may take to finish. Zero means 15 seconds.
	ShutdownTimeout time.Duration
	// DefaultLanguage is the language of requests that ask for none the
	// catalogue has ("" means English).
	DefaultLanguage string
}

// DefaultShutdownTimeout is the drain bound when Config sets none.
const DefaultShutdownTimeout = 15 * time.Second

// App is an assembled server.
type App struct {
	Store deadbolt.Store
	// Cache keeps this node's copies of sessions (package authz).
	Cache *authz.Cache
	// Authz answers reverse proxies' forward-auth checks.
	Authz    *authz.Service
	Handler  http.Handler
	Signin   *signin.Service
	Accounts *accounts.Service
	Devices  *device.Service
	Pusher   *device.Pusher
	// WebPush delivers push requests as Web Push notifications.
	WebPush  *webpush.Sender
	Notifier deadbolt.Notifier
	Captcha  *captcha.Builtin
	// HostedCaptcha is set when a hosted CAPTCHA replaces the built-in one.
	HostedCaptcha *captcha.Hosted
	DevClock      *deadbolt.DevClock
	// SMS sends SMS codes and links phone numbers.
	SMS *smscode.Service
	// Workgroups manages workgroups, the two-factor policy and banners.
	Workgroups *workgroups.Service
	// Apps manages the applications employees sign into and decides who
	// may enter them.
	Apps *apps.Service
	// OIDC is the OpenID Connect provider, and OIDCKeys its signing keys.
	OIDC     *oidc.Provider
	OIDCKeys *oidc.KeyRing
	// Backchannel sends back-channel logout tokens (every node runs it).
	Backchannel *oidc.Backchannel
	// Passkeys runs the WebAuthn ceremonies.
	Passkeys *passkey.Service
	// BootstrapPassword is the made-up password of the first
	// administrator, set only when this start created it.
	BootstrapPassword string
	log               *slog.Logger
	factors           *signin.Factors
	clock             deadbolt.Clock
	// stop ends the background work the services started (the PostgreSQL
	// notification listener).
	stop context.CancelFunc
	// devOutbox and vapidPublic are what the HTTP handler needs besides
	// the services.
	devOutbox       func() []web.DevMessage
	vapidPublic     string
	shutdownTimeout time.Duration
	// draining is closed when Serve begins to shut down.
	draining  chan struct{}
	drainOnce sync.Once
	// active counts the requests being served.
	active atomic.Int64
}

// SigninFactors returns the second-factor dependencies the server runs
// with (tests build further services over the same store with it).
func (a *App) SigninFactors() *signin.Factors { return a.factors }

// IsPostgres reports whether a database setting names PostgreSQL.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// OpenStore opens (and migrates) the store a database setting names.
func OpenStore(ctx context.Context, db string) (deadbolt.Store, error) {
	if IsPostgres(db) {
		return postgres.Open(ctx, db, true)
	}
	return sqlite.Open(ctx, db, true)
}

// New opens the store and assembles the server.
func New(ctx context.Context, c Config) (*App, error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := i18n.NewMatcher(c.DefaultLanguage); err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, c.Database)
	if err != nil {
		return nil, err
	}
	a, err := Assemble(ctx, c, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// Open opens the store c.Database names and builds every service over it
// exactly as New does — same hash parameters, master key, clock, time zone,
// SMS settings, notifier and hooks — but neither creates the first
// administrator nor builds the HTTP handler: it is the composition root of
// the administration commands, which act on the database directly. Close
// the App when done.
func Open(ctx context.Context, c Config) (*App, error) {
	st, err := OpenStore(ctx, c.Database)
	if err != nil {
		return nil, err
	}
	a, err := build(ctx, c, st, false)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// Assemble builds the services and handler over an open store, and creates
// the first administrator on an empty database.
func Assemble(ctx context.Context, c Config, st deadbolt.Store) (*App, error) {
	a, err := build(ctx, c, st, true)
	if err != nil {
		return nil, err
	}
	if err := a.assembleServer(ctx, c); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// build builds the services over st; serving says whether they are to
// serve HTTP (rather than run one administration command).
func build(ctx context.Context, c Config, st deadbolt.Store, serving bool) (_ *App, err error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{Store: st, log: log, draining: make(chan struct{}), shutdownTimeout: c.ShutdownTimeout}
	if a.shutdownTimeout <= 0 {
		a.shutdownTimeout = DefaultShutdownTimeout
	}
	bg, stop := context.WithCancel(ctx)
	a.stop = stop
	defer func() {
		if err != nil {
			stop() // the notification listener lets go of its connection
		}
	}()
	clock := c.Clock
	if c.Dev {
		a.DevClock = &deadbolt.DevClock{}
		if clock == nil {
			clock = a.DevClock
		}
	}
	if clock == nil {
		clock = deadbolt.SystemClock{}
	}
	a.clock = clock
	hasher := password.New(c.Hash, c.HashConcurrency)
	auditLog := audit.New(st, clock, log)
	cfg := signin.DefaultConfig()
	if c.SessionLifetime > 0 {
		cfg.SessionLifetime = c.SessionLifetime
	}
	if c.SessionIdle > 0 {
		cfg.IdleTimeout = c.SessionIdle
	}
	box, err := seal.New(c.MasterKey)
	if err != nil {
		return nil, err
	}
	recHasher, err := recovery.NewHasher(box.Subkey("deadbolt recovery codes v1"))
	if err != nil {
		return nil, err
	}
	a.Captcha = captcha.NewBuiltin(captchaStore{st}, rand.Reader, 0, 0)
	a.factors = &signin.Factors{Seal: box, Recovery: recHasher, Captcha: a.Captcha}
	if c.Captcha != nil {
		hosted, err := captcha.NewHosted(*c.Captcha, nil)
		if err != nil {
			return nil, fmt.Errorf("captcha: %w", err)
		}
		a.HostedCaptcha = hosted
		a.factors.Captcha = hosted
	}
	a.Workgroups, err = workgroups.New(st, auditLog, clock, policy.Settings{Location: c.OrgLocation, CheckEvery: c.CheckEvery})
	if err != nil {
		return nil, err
	}
	a.factors.Setup = a.Workgroups
	smsLog := log
	if !serving {
		// A command sends no text message: no warning that SMS is off.
		smsLog = slog.New(slog.DiscardHandler)
	}
	smsSvc, devOutbox, err := newSMS(c, st, auditLog, clock, box, smsLog)
	if err != nil {
		return nil, err
	}
	a.devOutbox = devOutbox
	a.SMS = smsSvc
	if smsSvc.Enabled() {
		a.factors.SMS = smsSvc
	}
	// A server checks every session through the per-node cache, which
	// the store's change feed keeps honest (package authz); a command
	// checks none.
	var signinStore signin.Store = st
	if serving {
		a.Cache = authz.NewCache(st, authz.CacheConfig{}, log)
		if err := a.Cache.Start(bg); err != nil {
			return nil, fmt.Errorf("session cache: %w", err)
		}
		signinStore = a.Cache.Wrap(st)
	}
	a.Passkeys, err = passkey.New(st, auditLog, clock, passkey.Config{PublicURL: defaultPublicURL(c.PublicURL)})
	if err != nil {
		return nil, err
	}
	a.factors.Passkeys = a.Passkeys
	a.Workgroups.PasskeysAvailable = a.Passkeys.Available
	a.Passkeys.RemovalRule = a.Workgroups.PasskeyRemovalRule
	a.Signin = signin.New(signinStore, hasher, auditLog, clock, cfg, a.factors, log)
	a.Accounts = accounts.New(st, hasher, auditLog, clock, a.Signin)
	a.Accounts.Lockout = a.Workgroups
	appSecrets, err := apps.NewSecrets(box.Subkey("deadbolt client secrets v1"))
	if err != nil {
		return nil, err
	}
	a.Apps = apps.New(st, appSecrets, auditLog, clock)
	if serving {
		a.Authz = authz.New(a.Signin, a.Cache, a.Apps, authz.Config{PublicURL: c.PublicURL}, log)
	}
	a.OIDCKeys = oidc.NewKeyRing(st, box, clock)
	if serving {
		if err := a.OIDCKeys.Ensure(ctx); err != nil {
			return nil, fmt.Errorf("OpenID Connect signing key: %w", err)
		}
	}
	a.OIDC, err = oidc.New(oidc.Config{Issuer: publicURL(c.PublicURL), Store: st, Keys: a.OIDCKeys, Apps: a.Apps,
		Signin: a.Signin, Clock: clock, Logger: log})
	if err != nil {
		return nil, err
	}
	a.Backchannel = oidc.NewBackchannel(a.OIDC, nil)
	if serving {
		// A session that ends anywhere wakes the back-channel sender at
		// once, through the store's change feed (its scan stays the rule).
		if err := st.WatchChanges(bg, wakeOnChange{a.Backchannel.Wake}); err != nil {
			return nil, fmt.Errorf("change feed: %w", err)
		}
	}
	a.Devices = device.New(st, box, auditLog, clock, publicURL(c.PublicURL))
	if pg, ok := st.(*postgres.Store); ok {
		a.Notifier = pg.Notifier(bg, log)
	} else {
		a.Notifier = deadbolt.NewHub()
	}
	pushCfg := device.DefaultPushConfig()
	if c.PublicURL != nil {
		pushCfg.App = c.PublicURL.Host
	}
	if c.PushDigits != 0 {
		pushCfg.Digits = c.PushDigits
	}
	if err := pushCfg.Validate(); err != nil {
		return nil, err
	}
	a.Pusher = device.NewPusher(a.Devices, st, a.Notifier, pushCfg)
	a.factors.Push, a.factors.Notifier = a.Pusher, a.Notifier
	vapidPublic, vapidPrivate, err := webpush.Keys(ctx, st, box)
	if err != nil {
		return nil, err
	}
	a.vapidPublic = vapidPublic
	a.WebPush, err = webpush.NewSender(st, webpush.Config{PublicKey: vapidPublic, PrivateKey: vapidPrivate,
		Subscriber: webpush.Subscriber(c.PublicURL), AllowLoopback: c.Dev, Logger: log})
	if err != nil {
		return nil, err
	}
	a.Pusher.Deliver = a.WebPush.Deliver
	notices := device.NewNotifications(a.Devices)
	notices.Push = a.WebPush.Notice
	auditLog.OnRecord = notices.Record
	a.Devices.Notifier = a.Notifier
	a.Devices.Gate = a.Signin
	a.factors.OnDisconnect = a.Devices.WakeDevices
	a.Accounts.OnDisconnect = a.Devices.WakeDevices
	a.Devices.ValidateWebPush = func(sub string) error {
		_, err := webpush.ParseSubscription(sub, c.Dev)
		return err
	}
	return a, nil
}

// assembleServer creates the first administrator on an empty database and
// builds the HTTP handler over the services.
func (a *App) assembleServer(ctx context.Context, c Config) error {
	pw, created, err := a.Accounts.Bootstrap(ctx, c.AdminPassword)
	if err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if created && c.AdminPassword == "" {
		a.BootstrapPassword = pw
	}

	reg := prometheus.NewRegistry()
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "deadbolt_http_requests_in_flight",
		Help: "HTTP requests being served, long polls and event streams included."},
		func() float64 { return float64(a.active.Load()) })
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), inFlight)
	registerCacheMetrics(reg, a.Cache)
	cookieDomain, err := CheckCookieDomain(c.CookieDomain, c.PublicURL)
	if err != nil {
		return err
	}
	a.Handler = web.NewServer(web.Deps{
		Authz:           a.Authz,
		CookieDomain:    cookieDomain,
		Signin:          a.Signin,
		Accounts:        a.Accounts,
		Devices:         a.Devices,
		Workgroups:      a.Workgroups,
		Apps:            a.Apps,
		OIDC:            a.OIDC,
		Passkeys:        a.Passkeys,
		Pusher:          a.Pusher,
		Notifier:        a.Notifier,
		Captcha:         a.Captcha,
		HostedCaptcha:   a.HostedCaptcha,
		Events:          a.Store,
		Ready:           a.Store.Ping,
		Draining:        a.draining,
		Clock:           a.clock,
		DevClock:        a.DevClock,
		DevOutbox:       a.devOutbox,
		SMS:             a.SMS,
		Logger:          a.log,
		Metrics:         reg,
		PublicURL:       c.PublicURL,
		TrustedProxies:  c.TrustedProxies,
		Version:         c.Version,
		VAPIDPublicKey:  a.vapidPublic,
		DefaultLanguage: c.DefaultLanguage,
	})
	return nil
}

// Serve serves HTTP on ln until ctx ends (SIGTERM, in the command), then
// drains, in this order: /readyz answers 503 and long polls and event
// streams answer at once with their current state; the listener closes, so
// no new connection is accepted; idle connections close and every answer
// from now on closes its connection; requests in flight — and requests
// still arriving on connections already open, such as a load balancer's
// readiness check — are served to the end, their contexts not ended by
// ctx. Once none is left, or after the shutdown timeout, the server shuts
// down; requests still running then have their contexts cancelled (their
// store calls roll back) and their connections closed. Serve returns nil
// after a drain, timed out or not, and the listener's error if serving
// fails before.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	// Requests get a context of their own, ended only if the drain runs
	// out of time.
	base, cutOff := context.WithCancel(context.WithoutCancel(ctx))
	defer cutOff()
	srv := &http.Server{
		Handler:           a.countInFlight(a.Handler),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	go a.sweep(ctx)
	go a.Backchannel.Run(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.drain()
	ln.Close()
	srv.SetKeepAlivesEnabled(false)
	a.log.Info("draining", "in_flight", a.active.Load(), "timeout", a.shutdownTimeout.String())
	deadline := time.Now().Add(a.shutdownTimeout)
	for a.active.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(drainPoll)
	}
	shutdownCtx, cancel := context.WithDeadline(base, deadline)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("drain timed out: cutting off the requests still in flight",
			"in_flight", a.active.Load(), "timeout", a.shutdownTimeout.String())
		cutOff()
		err = srv.Close()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil // the listener, closed above
	}
	if e := <-errc; err == nil && !errors.Is(e, http.ErrServerClosed) && !errors.Is(e, net.ErrClosed) {
		err = e
	}
	a.log.Info("drained")
	return err
}

// drainPoll is how often a drain checks whether requests are left.
const drainPoll = 5 * time.Millisecond

// drain tells the handlers that the server is shutting down.
func (a *App) drain() { a.drainOnce.Do(func() { close(a.draining) }) }

// countInFlight counts the requests being served, for the drain and the
// in-flight gauge.
func (a *App) countInFlight(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.active.Add(1)
		defer a.active.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// sweep removes ended sessions, OpenID Connect grants that no longer
// serve and expired passkey challenges every few minutes.
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cfg := a.Signin.Config()
			now := a.clock.Now()
			if n, err := a.Store.DeleteExpiredSessions(ctx, now, now.Add(-cfg.IdleTimeout)); err != nil {
				a.log.Warn("sweep sessions", "err", err)
			} else if n > 0 {
				a.log.Debug("swept sessions", "count", n)
			}
			if err := a.OIDC.Sweep(ctx); err != nil {
				a.log.Warn("sweep OpenID Connect grants", "err", err)
			}
			if n, err := a.Passkeys.Sweep(ctx); err != nil {
				a.log.Warn("sweep passkey challenges", "err", err)
			} else if n > 0 {
				a.log.Debug("swept passkey challenges", "count", n)
			}
		}
	}
}

// Close stops the services' background work and releases the store.
func (a *App) Close() error {
	if a.Cache != nil {
		a.Cache.Close() // idle-time updates still held are written
	}
	a.stop()
	if a.WebPush != nil {
		a.WebPush.Close() // deliveries in flight finish before the store closes
	}
	return a.Store.Close()
}

// defaultPublicURL is the public URL in force: the setting, or
// http://localhost:8080 without one.
func defaultPublicURL(u *url.URL) *url.URL {
	if u == nil {
		return &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
	return u
}

func publicURL(u *url.URL) string { return defaultPublicURL(u).String() }

// captchaStore adapts the store's challenges to the captcha package.
type captchaStore struct{ st deadbolt.CaptchaStore }

func (c captchaStore) SaveChallenge(ctx context.Context, ch captcha.Challenge) error {
	return c.st.SaveChallenge(ctx, deadbolt.Challenge{ID: ch.ID, Digits: ch.Digits, CreatedAt: ch.CreatedAt, ExpiresAt: ch.ExpiresAt})
}

func (c captchaStore) Challenge(ctx context.Context, id string, now time.Time) (captcha.Challenge, error) {
	return fromChallenge(c.st.Challenge(ctx, id, now))
}

func (c captchaStore) ConsumeChallenge(ctx context.Context, id string, now time.Time) (captcha.Challenge, error) {
	return fromChallenge(c.st.ConsumeChallenge(ctx, id, now))
}

func fromChallenge(ch deadbolt.Challenge, err error) (captcha.Challenge, error) {
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return captcha.Challenge{}, captcha.ErrNotFound
	}
	if err != nil {
		return captcha.Challenge{}, err
	}
	return captcha.Challenge{ID: ch.ID, Digits: ch.Digits, CreatedAt: ch.CreatedAt, ExpiresAt: ch.ExpiresAt}, nil
}

// registerCacheMetrics publishes the session cache's counters.
func registerCacheMetrics(reg *prometheus.Registry, c *authz.Cache) {
	counter := func(name, help string, f func(authz.CacheStats) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(c.Stats())) }))
	}
	counter("deadbolt_session_cache_hits_total", "Session checks answered from this node's memory.",
		func(s authz.CacheStats) uint64 { return s.Hits })
	counter("deadbolt_session_cache_misses_total", "Session checks read from the database.",
		func(s authz.CacheStats) uint64 { return s.Misses })
	counter("deadbolt_session_cache_invalidations_total", "Changes of an employee announced by the change feed.",
		func(s authz.CacheStats) uint64 { return s.Invalidations })
	counter("deadbolt_session_cache_flushes_total", "Times the cache forgot everything (change feed lost or regained).",
		func(s authz.CacheStats) uint64 { return s.Flushes })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "deadbolt_session_cache_trusted",
		Help: "1 while the change feed vouches for this node's session copies."},
		func() float64 {
			if c.Stats().Trusted {
				return 1
			}
			return 0
		}))
}

// CheckCookieDomain checks a --cookie-domain setting against the public
// URL and returns it in canonical form (lower case, no leading dot): a host
// name of at least two labels, not an IP address, that the public URL's
// host is or lies under, and an https public URL (the cookie is Secure).
// "" is returned as is. The error says what is wrong.
func CheckCookieDomain(domain string, public *url.URL) (string, error) {
	d := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(domain)), ".")
	if d == "" {
		return "", nil
	}
	if net.ParseIP(d) != nil || !strings.Contains(d, ".") || strings.ContainsAny(d, ":/ *") {
		return "", fmt.Errorf("cookie domain %q is not a domain name such as example.com", domain)
	}
	if public == nil {
		return "", fmt.Errorf("cookie domain %q needs a public URL inside it", domain)
	}
	host := strings.ToLower(public.Hostname())
	if host != d && !strings.HasSuffix(host, "."+d) {
		return "", fmt.Errorf("the public URL's host %s is not inside the cookie domain %s: browsers would refuse the cookie", host, d)
	}
	if public.Scheme != "https" {
		return "", fmt.Errorf("cookie domain %s needs an https public URL: the session cookie is Secure", d)
	}
	return d, nil
}

// wakeOnChange is a change listener that calls wake whenever an
// employee's account or sessions change.
type wakeOnChange struct{ wake func() }

func (w wakeOnChange) UserChanged(string) { w.wake() }
func (w wakeOnChange) AppsChanged()       {}
func (w wakeOnChange) FeedDown(error)     { w.wake() }
func (w wakeOnChange) FeedUp(time.Time)   {}
