package postgres

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The deadlines of the store (see the package documentation).
const (
	// callTimeout bounds one store call: acquiring a connection and every
	// statement, or a whole transaction from BEGIN to COMMIT.
	callTimeout = 4 * time.Second
	// connectTimeout bounds opening a connection (TCP, TLS, start-up and
	// authentication) unless the DSN sets connect_timeout.
	connectTimeout = 3 * time.Second
	// pingTimeout bounds the check of a connection that sat idle before it
	// is handed out.
	pingTimeout = time.Second
	// rollbackTimeout bounds a ROLLBACK; past it the connection is
	// abandoned, which rolls back as surely.
	rollbackTimeout = time.Second
	// statementTimeout and idleInTxTimeout are the server's backstops: a
	// statement running longer, or a transaction whose client fell
	// silent, is ended by the server itself.
	statementTimeout = 3 * time.Second
	idleInTxTimeout  = 3 * time.Second
	// userTimeout (TCP_USER_TIMEOUT) and the keepalive settings let the
	// kernel give up on a connection whose peer stopped acknowledging.
	userTimeout       = 8 * time.Second
	keepAliveIdle     = 5 * time.Second
	keepAliveInterval = 2 * time.Second
	keepAliveCount    = 3
)

// harden sets the connection-level defences on cfg: a dialer with TCP
// keepalive and TCP_USER_TIMEOUT whose connections can be closed
// abortively, and a bound on connecting. The DSN's connect_timeout, when
// given, is kept.
func harden(cfg *pgconn.Config) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	d := &net.Dialer{
		Timeout: cfg.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepAliveIdle,
			Interval: keepAliveInterval, Count: keepAliveCount},
		Control: func(network, _ string, rc syscall.RawConn) error {
			if network == "tcp" || network == "tcp4" || network == "tcp6" {
				return setUserTimeout(rc, userTimeout)
			}
			return nil
		},
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &abortableConn{Conn: c}, nil
	}
}

// serverBackstops asks the server to end, by itself, statements and
// transactions left running by a client that gave up; settings the DSN
// makes are kept.
func serverBackstops(cfg *pgconn.Config) {
	for k, v := range map[string]time.Duration{
		"statement_timeout":                   statementTimeout,
		"idle_in_transaction_session_timeout": idleInTxTimeout,
	} {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = strconv.FormatInt(v.Milliseconds(), 10) // milliseconds
		}
	}
}

// abandonOnCancel makes every pool connection close abortively the moment
// a call's context ends during a round trip, and keeps such a connection
// out of the pool even when its last answer arrived in time.
func abandonOnCancel(cfg *pgxpool.Config) {
	cfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		if c := abortable(pc.Conn()); c != nil {
			return abortOnCancel{c}
		}
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	// Checked when a connection is handed out (AfterRelease would make
	// every release asynchronous).
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
		ac := abortable(c.PgConn().Conn())
		return ac == nil || !ac.aborted.Load(), nil
	}
	cfg.PingTimeout = pingTimeout
}

// abortableConn is a database connection that can be abandoned at once:
// abort resets it (SO_LINGER 0), so the kernel discards whatever is still
// in its send buffer — a COMMIT written but not yet delivered is never
// delivered later, when the network comes back.
type abortableConn struct {
	net.Conn
	aborted atomic.Bool
}

func (c *abortableConn) abort() {
	c.aborted.Store(true)
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Conn.Close()
}

// abortable finds the abortableConn under c (through TLS), or nil.
func abortable(c net.Conn) *abortableConn {
	for c != nil {
		switch v := c.(type) {
		case *abortableConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// abortOnCancel is the context watcher of pool connections: a cancelled
// round trip abandons the connection instead of waiting for it.
type abortOnCancel struct{ c *abortableConn }

func (h abortOnCancel) HandleCancel(context.Context) { h.c.abort() }
func (h abortOnCancel) HandleUnwatchAfterCancel()    {}

// db is the pool as every store method sees it: the methods the store
// uses, each bounded by callTimeout and with its errors classified (see
// classify). It is safe for concurrent use.
type db struct {
	pool    *pgxpool.Pool
	timeout time.Duration
}

func (d *db) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

// Exec runs one statement.
func (d *db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	cctx, cancel := d.call(ctx)
	defer cancel()
	tag, err := d.pool.Exec(cctx, sql, args...)
	return tag, classify(ctx, cctx, err)
}

// Query runs a query; the deadline covers reading its rows, up to Close.
func (d *db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	cctx, cancel := d.call(ctx)
	r, err := d.pool.Query(cctx, sql, args...)
	if err != nil {
		cancel()
		return nil, classify(ctx, cctx, err)
	}
	return &rows{Rows: r, parent: ctx, call: cctx, cancel: cancel}, nil
}

// QueryRow runs a query of one row, read by Scan.
func (d *db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	cctx, cancel := d.call(ctx)
	return &row{Row: d.pool.QueryRow(cctx, sql, args...), parent: ctx, call: cctx, cancel: cancel}
}

// Begin starts a transaction; see BeginTx.
func (d *db) Begin(ctx context.Context) (pgx.Tx, error) { return d.BeginTx(ctx, pgx.TxOptions{}) }

// BeginTx starts a transaction whose every statement, COMMIT included,
// must end before one callTimeout from now.
func (d *db) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	cctx, cancel := d.call(ctx)
	t, err := d.pool.BeginTx(cctx, opts)
	if err != nil {
		cancel()
		return nil, classify(ctx, cctx, err)
	}
	return &tx{Tx: t, call: cctx, cancel: cancel}, nil
}

// Close closes the pool.
func (d *db) Close() { d.pool.Close() }

// tx is a transaction bounded by the deadline of the call that began it.
type tx struct {
	pgx.Tx
	call   context.Context
	cancel context.CancelFunc
}

// bound returns ctx ending at the transaction's deadline at the latest.
func (t *tx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, _ := t.call.Deadline()
	return context.WithDeadline(ctx, dl)
}

func (t *tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	bctx, cancel := t.bound(ctx)
	defer cancel()
	tag, err := t.Tx.Exec(bctx, sql, args...)
	return tag, classify(ctx, bctx, err)
}

func (t *tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	bctx, cancel := t.bound(ctx)
	r, err := t.Tx.Query(bctx, sql, args...)
	if err != nil {
		cancel()
		return nil, classify(ctx, bctx, err)
	}
	return &rows{Rows: r, parent: ctx, call: bctx, cancel: cancel}, nil
}

func (t *tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	bctx, cancel := t.bound(ctx)
	return &row{Row: t.Tx.QueryRow(bctx, sql, args...), parent: ctx, call: bctx, cancel: cancel}
}

func (t *tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	bctx, cancel := t.bound(ctx)
	return &batch{BatchResults: t.Tx.SendBatch(bctx, b), parent: ctx, call: bctx, cancel: cancel}
}

// Commit commits before the transaction's deadline or abandons the
// connection (see the package documentation for what that means).
func (t *tx) Commit(ctx context.Context) error {
	defer t.cancel()
	bctx, cancel := t.bound(ctx)
	defer cancel()
	return classify(ctx, bctx, t.Tx.Commit(bctx))
}

// Rollback rolls back within rollbackTimeout, even past the
// transaction's deadline or after ctx ended; failing that the connection
// is abandoned, which ends the transaction on the server as well.
func (t *tx) Rollback(ctx context.Context) error {
	defer t.cancel()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	return classify(context.WithoutCancel(ctx), rctx, t.Tx.Rollback(rctx))
}

// rows releases its deadline when closed.
type rows struct {
	pgx.Rows
	parent, call context.Context
	cancel       context.CancelFunc
}

func (r *rows) Close() {
	r.Rows.Close()
	r.cancel()
}

func (r *rows) Err() error { return classify(r.parent, r.call, r.Rows.Err()) }

// row releases its deadline once scanned.
type row struct {
	pgx.Row
	parent, call context.Context
	cancel       context.CancelFunc
}

func (r *row) Scan(dest ...any) error {
	err := classify(r.parent, r.call, r.Row.Scan(dest...))
	r.cancel()
	return err
}

// batch releases its deadline when closed.
type batch struct {
	pgx.BatchResults
	parent, call context.Context
	cancel       context.CancelFunc
}

func (b *batch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, classify(b.parent, b.call, err)
}

func (b *batch) Query() (pgx.Rows, error) {
	r, err := b.BatchResults.Query()
	return r, classify(b.parent, b.call, err)
}

func (b *batch) QueryRow() pgx.Row {
	return &row{Row: b.BatchResults.QueryRow(), parent: b.parent, call: b.call, cancel: func() {}}
}

func (b *batch) Close() error {
	defer b.cancel()
	return classify(b.parent, b.call, b.BatchResults.Close())
}
