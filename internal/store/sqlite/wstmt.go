package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The writer runs every write of the server one after the other on its one
// connection, and SQLite spends most of a small statement's time parsing
// it. So the statements of the hottest writes — a sign-in attempt's count
// and a second factor's completion — are prepared once, when the store
// opens, on the writer's connection; a write transaction runs them through
// Tx.StmtContext, which reuses the statement already prepared on that
// connection (and prepares it again should the connection ever be new).

// hotWrites are the statements prepared on the writer's connection; the
// read of a transaction's change feed rows (writer.go) among them, since
// every durable commit runs it.
var hotWrites = []string{
	changesSQL, hitSQL, hitPairSQL, unhitSQL,
	guardDeleteSQL, guardKeptSQL, useRecoveryCodeSQL, consumePushSQL, useTOTPStepSQL,
	deleteSessionSQL, renewAuthSQL, deleteCounterSQL, insertSessionSQL, insertEventSQL,
	peekCountersSQL, replacePushSQL, replaceReauthPushSQL, savepointSQL, rollbackToSQL, releaseSQL,
}

// execQuerier is a write transaction, plain or with prepared statements.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writeStmts are the prepared hot writes, by query.
type writeStmts map[string]*sql.Stmt

// prepareWrites prepares the hot writes on db, the writer's database,
// while no write holds its connection.
func prepareWrites(ctx context.Context, db *sql.DB) (writeStmts, error) {
	st := writeStmts{}
	for _, q := range hotWrites {
		p, err := db.PrepareContext(ctx, q)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
		st[q] = p
	}
	return st, nil
}

func (st writeStmts) close() error {
	var errs []error
	for _, p := range st {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// preparedTx runs the statements of one write transaction, the hot ones
// prepared.
type preparedTx struct {
	tx *sql.Tx
	st writeStmts
}

// prepared wraps a write transaction of s.
func (s *Store) prepared(tx *sql.Tx) preparedTx { return preparedTx{tx: tx, st: s.wst} }

// ExecContext runs query in the transaction.
func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.st[query]; st != nil {
		return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.st[query]; st != nil {
		return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.st[query]; st != nil {
		return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}
