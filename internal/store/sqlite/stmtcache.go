package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxCachedStatements bounds the statement cache; queries past it run
// unprepared.
const maxCachedStatements = 512

// db is the readers' *sql.DB as the store methods see it: every call is
// bounded by callTimeout (waiting for a connection and reading its rows)
// and its errors classified (errors.go), and each query stays prepared
// after its first use, since SQLite spends most of a small query's time
// parsing it. It is safe for concurrent use.
type db struct {
	*sql.DB
	stmts sync.Map // query → *sql.Stmt
	n     atomic.Int64
}

func newDB(d *sql.DB) *db { return &db{DB: d} }

// stmt returns the prepared statement of query, or nil when it cannot be
// (or should not be) cached.
func (d *db) stmt(ctx context.Context, query string) *sql.Stmt {
	if v, ok := d.stmts.Load(query); ok {
		return v.(*sql.Stmt)
	}
	if d.n.Load() >= maxCachedStatements {
		return nil
	}
	st, err := d.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if v, loaded := d.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt)
	}
	d.n.Add(1)
	return st
}

// QueryRowContext runs a prepared query returning one row, read by Scan.
func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *readRow {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	var r *sql.Row
	if st := d.stmt(cctx, query); st != nil {
		r = st.QueryRowContext(cctx, args...)
	} else {
		r = d.DB.QueryRowContext(cctx, query, args...)
	}
	return &readRow{row: r, parent: ctx, call: cctx, cancel: cancel}
}

// QueryContext runs a prepared query; the deadline covers reading its
// rows, up to Close.
func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*readRows, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	var r *sql.Rows
	var err error
	if st := d.stmt(cctx, query); st != nil {
		r, err = st.QueryContext(cctx, args...)
	} else {
		r, err = d.DB.QueryContext(cctx, query, args...)
	}
	if err != nil {
		cancel()
		return nil, classify(ctx, cctx, err)
	}
	return &readRows{Rows: r, parent: ctx, call: cctx, cancel: cancel}, nil
}

// BeginTx starts a read transaction that must end within callTimeout.
func (d *db) BeginTx(ctx context.Context, opts *sql.TxOptions) (*readTx, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	tx, err := d.DB.BeginTx(cctx, opts)
	if err != nil {
		cancel()
		return nil, classify(ctx, cctx, err)
	}
	return &readTx{tx: tx, call: cctx, cancel: cancel}, nil
}

// Close closes the statements and the database.
func (d *db) Close() error {
	d.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return d.DB.Close()
}

// readRow releases its deadline once scanned.
type readRow struct {
	row          *sql.Row
	parent, call context.Context
	cancel       context.CancelFunc
}

// Scan scans the row; sql.ErrNoRows when there is none.
func (r *readRow) Scan(dest ...any) error {
	err := classify(r.parent, r.call, r.row.Scan(dest...))
	r.cancel()
	return err
}

// readRows releases its deadline when closed.
type readRows struct {
	*sql.Rows
	parent, call context.Context
	cancel       context.CancelFunc
}

// Close closes the rows.
func (r *readRows) Close() error {
	err := r.Rows.Close()
	r.cancel()
	return err
}

// Err returns the error that ended the iteration, if any.
func (r *readRows) Err() error { return classify(r.parent, r.call, r.Rows.Err()) }

// readTx is a read transaction bounded by the deadline of its BeginTx.
type readTx struct {
	tx     *sql.Tx
	call   context.Context
	cancel context.CancelFunc
}

func (t *readTx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, _ := t.call.Deadline()
	return context.WithDeadline(ctx, dl)
}

// QueryRowContext runs a query of one row in the transaction.
func (t *readTx) QueryRowContext(ctx context.Context, query string, args ...any) *readRow {
	bctx, cancel := t.bound(ctx)
	return &readRow{row: t.tx.QueryRowContext(bctx, query, args...), parent: ctx, call: bctx, cancel: cancel}
}

// QueryContext runs a query in the transaction.
func (t *readTx) QueryContext(ctx context.Context, query string, args ...any) (*readRows, error) {
	bctx, cancel := t.bound(ctx)
	r, err := t.tx.QueryContext(bctx, query, args...)
	if err != nil {
		cancel()
		return nil, classify(ctx, bctx, err)
	}
	return &readRows{Rows: r, parent: ctx, call: bctx, cancel: cancel}, nil
}

// Rollback ends the transaction.
func (t *readTx) Rollback() error {
	defer t.cancel()
	return t.tx.Rollback()
}

// Commit ends the transaction.
func (t *readTx) Commit() error {
	defer t.cancel()
	return t.tx.Commit()
}
