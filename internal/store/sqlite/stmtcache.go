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

// db is a *sql.DB that keeps each query prepared after its first use:
// SQLite spends most of a small query's time parsing it. Transactions
// pass through unchanged. It is safe for concurrent use.
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

// QueryRowContext runs a prepared query returning one row.
func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := d.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.DB.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a prepared query.
func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := d.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.DB.QueryContext(ctx, query, args...)
}

// ExecContext runs a prepared statement.
func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := d.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.DB.ExecContext(ctx, query, args...)
}

// Close closes the statements and the database.
func (d *db) Close() error {
	d.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return d.DB.Close()
}
