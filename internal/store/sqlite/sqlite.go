// Package sqlite is the embedded SQLite store of Deadbolt (pure Go,
// modernc.org/sqlite). The database runs in WAL mode with synchronous=FULL so
// that an acknowledged single-use consumption survives a power cut; writes go
// through one connection in immediate transactions, reads through a pool.
//
// It persists and decides nothing: every rule lives in the services. Each
// single-use consumption and each counter is one atomic statement.
//
// # Under faults
//
// An embedded database cannot be cut off by the network, but it can be
// locked by another process (an administration command, a backup) or
// stall on its disk, and no store call may wait unbounded for it. Reads
// are bounded by callTimeout (7 s: waiting for a connection and reading,
// stmtcache.go); a write waits at most callTimeout in the writer's queue
// and is then withdrawn unrun (writer.go); another process's lock is
// waited for at most busyTimeout (2 s), so a locked database answers
// within a few seconds. Each of these answers
// deadbolt.CodeUnavailable with a RetryAfter (classify in errors.go), which
// the web layer turns into 503. The writer's rule stands: a write that has
// started is answered only with its outcome, so an answer never lies about
// what was written. Ping checks the writer too, so readiness fails while
// writes cannot be taken.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"deadbolt/internal/deadbolt"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of deadbolt.Store. It is safe for
// concurrent use.
type Store struct {
	path string
	rdb  *db        // readers
	wdb  *writer    // the single writer, committing in groups
	feed *feed      // the change feed, published by the writer
	wst  writeStmts // hot writes prepared on the writer's connection
}

var _ deadbolt.Store = (*Store)(nil)

// dsn is the driver's name for the database at path: a SQLite URI whose
// path is escaped, so that a '?', '#' or '%' in a directory name stays part
// of the path — unescaped, the driver would cut the name at the '?' and
// read the rest as its settings (dropping WAL and synchronous=FULL), and
// SQLite would end the path at a '#'. An absolute path gets the empty
// authority (file:///…), so a path starting with "//" is not read as a
// host.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{
		"busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")",
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(1)",
	} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	prefix := "file:"
	if strings.HasPrefix(path, "/") {
		prefix = "file://"
	}
	return prefix + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if need be) the SQLite database at path and, when
// migrate is true, applies pending migrations. The path ":memory:" is not
// supported (readers and writer need one shared file); use a temporary file.
func Open(ctx context.Context, path string, migrate bool) (*Store, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") {
		return nil, fmt.Errorf("sqlite: a file path is required")
	}
	wdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if migrate {
		if err := Migrate(ctx, wdb); err != nil {
			wdb.Close()
			return nil, err
		}
	}
	rdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxLifetime(0)
	f := newFeed()
	if err := f.start(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	wst, err := prepareWrites(ctx, wdb)
	if err != nil {
		wdb.Close()
		return nil, err
	}
	s := &Store{path: path, rdb: newDB(rdb), wdb: newWriter(wdb, f, wst), feed: f, wst: wst}
	if s.rdb.stmt(ctx, sessionByTokenSQL) == nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: prepare the session query")
	}
	return s, nil
}

// Migrate applies the embedded migrations to db.
func Migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, mustSub(migrations, "migrations"))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.wst.close()
	return errors.Join(s.rdb.Close(), s.wdb.Close())
}

// Ping checks that the database answers a query and that the writer takes
// writes (its queue is not stuck), each within the store's call deadline
// (or ctx's, if sooner); it returns CodeUnavailable otherwise.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.wdb.ping(ctx); err != nil {
		return fmt.Errorf("sqlite: ping the writer: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the live database to dest, which must
// not exist yet. Writers keep running meanwhile.
func (s *Store) Backup(ctx context.Context, dest string) error {
	// A connection of its own: readers are query-only, and the writer must
	// stay free for the service while the copy is made.
	db, err := sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// tx runs fn as one write: in its own savepoint of a transaction that
// commits it together with the other writes waiting at the time.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.wdb.do(ctx, fn)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// notFound is the answer for a missing row: a code and internal detail,
// no words for a person (the services have them).
func notFound(what string) error {
	return deadbolt.StoreError(deadbolt.CodeNotFound, "sqlite: %s not found", what)
}

// Times are stored as unix microseconds; the zero time is NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func tsv(t time.Time) int64 { return t.UnixMicro() }

func fromTS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
