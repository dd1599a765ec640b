// Package postgres is the PostgreSQL store of Deadbolt (github.com/jackc/pgx/v5).
// Any number of server nodes share one database: every counter, lock-out,
// single-use consumption and session revocation is decided by the database,
// never by one process's memory.
//
// It persists and decides nothing: every rule lives in the services. Each
// single-use consumption and each counter is one atomic statement; the few
// multi-statement changes (password change, log out everywhere,
// deactivation, completing a sign-in, a factor change) run in one
// transaction. Refusals are codes with internal detail, never words for a
// person.
//
// # Under faults
//
// Every store call has a deadline (callTimeout, 4 s) covering the wait for
// a pool connection and every statement — for a transaction, everything
// from BEGIN to COMMIT. Store methods reach the pool only through db
// (pool.go), which applies it, so no method can forget. When the database
// refuses connections, drops them or does not answer in time, the call
// fails with deadbolt.CodeUnavailable and a RetryAfter (classify in
// errors.go is the one place that decides it), and the web layer answers
// 503 with a Retry-After header; driver detail stays in the error's cause
// for the log and never reaches a client.
//
// A connection whose round trip outlives its deadline is abandoned at
// once, abortively: it is reset (SO_LINGER 0), so the kernel throws away
// what is still in its send buffer instead of delivering it when the
// network comes back, and it never returns to the pool. Connecting is
// bounded (connect_timeout, 3 s by default); TCP keepalive and
// TCP_USER_TIMEOUT kill connections whose peer stopped acknowledging; a
// connection that sat idle is pinged (1 s) before it is handed out, so
// after an outage dead connections are dropped and the store recovers
// by itself, without a restart. On the server, statement_timeout and
// idle_in_transaction_session_timeout (3 s each, unless the DSN sets them)
// end statements and transactions whose client went silent.
//
// Nothing commits after its caller was told it failed, with one exception.
// Where a commit could land late, and what closes each hole:
//   - A statement or COMMIT still in our send buffer at the deadline: the
//     abortive close discards it.
//   - A transaction interrupted before its COMMIT was sent: the server
//     rolls it back when the connection ends (reset, or
//     idle_in_transaction_session_timeout when even the reset is lost).
//   - A statement the server is still executing (waiting on a lock, say):
//     pgx sends a cancel request when the connection is abandoned, and
//     statement_timeout ends it regardless.
//   - A COMMIT (or a single-statement write) the server received and
//     committed whose reply was lost or came after the deadline: this one
//     cannot be closed — no client can tell "committed, reply lost" from
//     "never arrived". The caller is answered 503 while the write stands.
//     The product stays safe: a completed sign-in leaves a full session
//     whose token was never sent to anyone (only its hash is stored) and
//     which ends at its idle timeout; a consumed recovery code, TOTP step
//     or push approval stays consumed, so the employee signs in with
//     another proof (a retry with the same code counts as a failed
//     attempt); an incremented counter stays counted, failing closed.
//
// The notification listener (notify.go) has a connection of its own,
// checked every few seconds; it reconnects with at most 1 s between tries
// and then wakes every waiter to re-read the store.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"deadbolt/internal/deadbolt"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL implementation of deadbolt.Store. It is safe for
// concurrent use.
type Store struct {
	pool *db
	// listen configures the listening connections' own connections
	// (notify.go, changes.go).
	listen *pgx.ConnConfig
	// self holds this process's change listeners; feedOnce starts the
	// change feed's one listening connection, stopFeed stops it
	// (changes.go).
	self      *selfFeed
	feedOnce  sync.Once
	stopFeed  func()
	closeOnce sync.Once
}

var _ deadbolt.Store = (*Store)(nil)

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxConnsParam is the DSN parameter pgxpool reads the pool size from.
const maxConnsParam = "pool_max_conns"

// Open connects to the PostgreSQL database named by dsn (a postgres:// URL
// or keyword/value string, as pgx accepts) and, when migrate is true,
// applies pending migrations first; several nodes migrating at once
// serialise on an advisory lock. The pool holds at most 4×GOMAXPROCS
// connections unless the DSN sets pool_max_conns. Open fails if the DSN
// does not parse or the database does not answer. The returned Store is
// safe for concurrent use.
func Open(ctx context.Context, dsn string, migrate bool) (*Store, error) {
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, err
	}
	harden(&cfg.ConnConfig.Config)
	if migrate {
		// Migrations run without the statement backstops: one may take
		// longer than a request's statement.
		db := stdlib.OpenDB(*cfg.ConnConfig.Copy())
		err := Migrate(ctx, db)
		db.Close()
		if err != nil {
			return nil, err
		}
	}
	serverBackstops(&cfg.ConnConfig.Config)
	abandonOnCancel(cfg)
	listen := cfg.ConnConfig.Copy()
	self := &selfFeed{}
	listenToSelf(cfg, self)
	// The listener's connection waits with a timeout and then checks the
	// connection (notify.go): a timed-out wait must not abandon it.
	listen.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: &db{pool: pool, timeout: callTimeout}, listen: listen, self: self}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return s, nil
}

// poolConfig parses dsn and sizes the pool for this machine unless the DSN
// sizes it itself.
func poolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	// pgxpool consumes pool_max_conns while parsing; a plain parse keeps it
	// among the runtime parameters, which tells whether it was given.
	plain, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if _, set := plain.RuntimeParams[maxConnsParam]; !set {
		cfg.MaxConns = int32(4 * runtime.GOMAXPROCS(0))
	}
	return cfg, nil
}

// Migrate applies the embedded migrations to db, holding a PostgreSQL
// advisory lock meanwhile so that nodes starting together migrate once.
func Migrate(ctx context.Context, db *sql.DB) error {
	// Retry the lock every second (rather than every five) for up to five
	// minutes: nodes waiting for another's migration start sooner.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, mustSub(migrations, "migrations"),
		goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Pool returns the store's connection pool, for features that need a
// connection of their own. It stays owned by the Store. Calls made through
// it directly have none of the store's deadlines.
func (s *Store) Pool() *pgxpool.Pool { return s.pool.pool }

// Close closes every connection; calling it again does nothing. It always
// returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.feedOnce.Do(func() {}) // no feed starts from now on
		if s.stopFeed != nil {
			s.stopFeed() // the change feed's listener lets go first
		}
	})
	s.pool.Close()
	return nil
}

// Ping checks that the database answers a query within the store's call
// deadline (or ctx's, if sooner); it returns CodeUnavailable otherwise.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// tx runs fn in one transaction (READ COMMITTED), committing when fn
// returns nil and rolling back otherwise.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// sqlstateUniqueViolation is the SQLSTATE of a UNIQUE or PRIMARY KEY
// violation.
const sqlstateUniqueViolation = "23505"

// uniqueViolation returns the name of the unique constraint err violates,
// or "" if err is not a unique violation.
func uniqueViolation(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == sqlstateUniqueViolation {
		return pe.ConstraintName
	}
	return ""
}

// notFound is the answer for a missing row: a code and internal detail,
// no words for a person (the services have them).
func notFound(what string) error {
	return deadbolt.StoreError(deadbolt.CodeNotFound, "postgres: %s not found", what)
}

// Times are timestamptz with microsecond precision; the zero time is NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromTS turns a scanned nullable timestamp into a UTC time, zero for NULL.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scanner is a row or a cursor positioned on a row.
type scanner interface{ Scan(...any) error }
