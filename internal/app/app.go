// Package app assembles a Deadbolt server from its settings: it opens the
// store the database setting names (SQLite file or PostgreSQL URL), builds
// the services and the HTTP handler, creates the first administrator, and
// serves with timeouts and graceful shutdown. The command and the test
// harness both start servers through it.
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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"deadbolt/internal/accounts"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
	"deadbolt/internal/signin"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/web"
)

// Config is a validated server configuration.
type Config struct {
	Database  string // SQLite file path, or postgres:// URL
	PublicURL *url.URL
	Dev       bool
	// AdminPassword sets the first administrator's password on an empty
	// database; empty means make one up.
	AdminPassword   string
	MasterKey       []byte
	TrustedProxies  []netip.Prefix
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
}

// App is an assembled server.
type App struct {
	Store    deadbolt.Store
	Handler  http.Handler
	Signin   *signin.Service
	Accounts *accounts.Service
	DevClock *deadbolt.DevClock
	// BootstrapPassword is the made-up password of the first
	// administrator, set only when this start created it.
	BootstrapPassword string
	log               *slog.Logger
}

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

// Assemble builds the services and handler over an open store.
func Assemble(ctx context.Context, c Config, st deadbolt.Store) (*App, error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{Store: st, log: log}
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
	hasher := password.New(c.Hash, c.HashConcurrency)
	auditLog := audit.New(st, clock, log)
	cfg := signin.DefaultConfig()
	if c.SessionLifetime > 0 {
		cfg.SessionLifetime = c.SessionLifetime
	}
	if c.SessionIdle > 0 {
		cfg.IdleTimeout = c.SessionIdle
	}
	a.Signin = signin.New(st, hasher, auditLog, clock, cfg, nil, log)
	a.Accounts = accounts.New(st, hasher, auditLog, clock)

	pw, created, err := a.Accounts.Bootstrap(ctx, c.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("create the first administrator: %w", err)
	}
	if created && c.AdminPassword == "" {
		a.BootstrapPassword = pw
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Handler = web.NewServer(web.Deps{
		Signin:         a.Signin,
		Accounts:       a.Accounts,
		Events:         st,
		Ready:          st.Ping,
		Clock:          clock,
		DevClock:       a.DevClock,
		Logger:         log,
		Metrics:        reg,
		PublicURL:      c.PublicURL,
		TrustedProxies: c.TrustedProxies,
		Version:        c.Version,
	})
	return a, nil
}

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully,
// giving requests in flight up to 10 seconds.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go a.sweep(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// sweep removes ended sessions every few minutes.
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cfg := a.Signin.Config()
			now := time.Now().UTC()
			if n, err := a.Store.DeleteExpiredSessions(ctx, now, now.Add(-cfg.IdleTimeout)); err != nil {
				a.log.Warn("sweep sessions", "err", err)
			} else if n > 0 {
				a.log.Debug("swept sessions", "count", n)
			}
		}
	}
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }
