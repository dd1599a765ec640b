package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many writes share one commit.
const maxBatch = 128

// errClosed answers writes after Close.
var errClosed = errors.New("sqlite: store closed")

// writer owns the database's single write connection and commits writes in
// groups: every write waiting when the connection frees up runs in its own
// savepoint of one transaction, and one commit (one fsync, with
// synchronous=FULL) makes them all durable. Each caller is answered only
// after the commit that holds its write returned, so nothing is
// acknowledged before it is on disk; a write that fails is rolled back to
// its savepoint without touching the others. It is safe for concurrent use.
//
// No caller waits unbounded for a write that has not started: a write
// still queued when its callTimeout runs out is withdrawn, never runs, and
// is answered CodeUnavailable — the truth. A write that has started is
// answered only with its outcome, however long its commit takes.
type writer struct {
	db   *sql.DB
	ops  chan *writeOp
	quit chan struct{}
	done chan struct{}
	once sync.Once
	// feed publishes the change feed rows of each transaction once it
	// committed, before any of its writes is answered.
	feed *feed
	// unsynced: the connection may still be at synchronous=NORMAL after
	// relaxed writes (relaxed.go).
	unsynced bool
	// st are the statements prepared on the connection (wstmt.go).
	st writeStmts
}

type writeOp struct {
	ctx   context.Context // ends at the write's deadline
	fn    func(*sql.Tx) error
	done  chan error
	state atomic.Int32 // opQueued, then opRunning or opWithdrawn
}

// The states of a write: queued writes are either taken by the writer or
// withdrawn after their deadline, whichever comes first.
const (
	opQueued int32 = iota
	opRunning
	opWithdrawn
)

func newWriter(d *sql.DB, f *feed, st writeStmts) *writer {
	w := &writer{db: d, ops: make(chan *writeOp, 1024), quit: make(chan struct{}), done: make(chan struct{}), feed: f, st: st}
	go w.run()
	return w
}

// do runs fn in a write transaction (shared with other writes) and returns
// once that transaction committed or failed — or, with CodeUnavailable,
// once callTimeout passed with the write still queued, withdrawn unrun.
// The answer always tells the truth about what was written.
func (w *writer) do(ctx context.Context, fn func(*sql.Tx) error) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	op := &writeOp{ctx: wctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-wctx.Done():
		return unavailable(fmt.Errorf("sqlite: write queue full: %w", wctx.Err()))
	case <-w.quit:
		return unavailable(errClosed)
	}
	select {
	case err := <-op.done:
		return classify(ctx, wctx, err)
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opWithdrawn) {
			return ctx.Err() // the caller left first; nothing was written
		}
	case <-wctx.Done():
		if op.state.CompareAndSwap(opQueued, opWithdrawn) {
			return unavailable(fmt.Errorf("sqlite: write still queued: %w", wctx.Err()))
		}
	}
	return classify(ctx, wctx, <-op.done) // under way: wait for the truth
}

// ping checks that the writer takes writes: an empty write, answered
// within ctx (it has nothing to tell the truth about).
func (w *writer) ping(ctx context.Context) error {
	op := &writeOp{ctx: ctx, fn: func(*sql.Tx) error { return nil }, done: make(chan error, 1)}
	select {
	case w.ops <- op:
	case <-ctx.Done():
		return unavailable(fmt.Errorf("sqlite: write queue full: %w", ctx.Err()))
	case <-w.quit:
		return unavailable(errClosed)
	}
	select {
	case err := <-op.done:
		return classify(context.WithoutCancel(ctx), ctx, err)
	case <-ctx.Done():
		op.state.CompareAndSwap(opQueued, opWithdrawn)
		return unavailable(fmt.Errorf("sqlite: writer busy: %w", ctx.Err()))
	}
}

// ExecContext runs one statement as a write.
func (w *writer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := w.do(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = w.exec(ctx, tx, query, args...)
		return err
	})
	return res, err
}

// exec runs query in tx. (Statements are not prepared ahead here: the
// writer's only connection is busy with the transaction.)
func (w *writer) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, query, args...)
}

// QueryRowContext returns a row whose Scan runs query as a write (for
// UPDATE … RETURNING and the like).
func (w *writer) QueryRowContext(ctx context.Context, query string, args ...any) *writeRow {
	return &writeRow{w: w, ctx: ctx, query: query, args: args}
}

// writeRow is a one-row write query, run when scanned.
type writeRow struct {
	w     *writer
	ctx   context.Context
	query string
	args  []any
}

// Scan runs the query and scans its row; sql.ErrNoRows when there is none.
func (r *writeRow) Scan(dest ...any) error {
	return r.w.do(r.ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(r.ctx, r.query, r.args...).Scan(dest...)
	})
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		var first *writeOp
		select {
		case first = <-w.ops:
		case <-w.quit:
			w.drain()
			return
		}
		batch = batch[:0]
		w.take(&batch, first)
	gather:
		for len(batch) < maxBatch {
			select {
			case op := <-w.ops:
				w.take(&batch, op)
			default:
				break gather
			}
		}
		w.commitBatch(batch)
	}
}

// take adds op to the batch unless it was withdrawn or its deadline
// passed while it was queued (then it is answered, unrun).
func (w *writer) take(batch *[]*writeOp, op *writeOp) {
	if op.ctx.Err() != nil {
		if op.state.CompareAndSwap(opQueued, opWithdrawn) {
			op.done <- unavailable(fmt.Errorf("sqlite: write still queued: %w", op.ctx.Err()))
		}
		return
	}
	if op.state.CompareAndSwap(opQueued, opRunning) {
		*batch = append(*batch, op)
	}
}

// drain refuses the writes still queued at Close.
func (w *writer) drain() {
	for {
		select {
		case op := <-w.ops:
			op.done <- errClosed
		default:
			return
		}
	}
}

// commit runs a batch in one transaction and answers each write.
func (w *writer) commit(batch []*writeOp) { w.commitFeed(batch, true) }

// commitRelaxed commits a batch of relaxed writes: they count attempts and
// write no change feed rows, so the transaction's feed rows are not read.
func (w *writer) commitRelaxed(batch []*writeOp) { w.commitFeed(batch, false) }

// commitFeed runs a batch in one transaction and answers each write;
// with feed, it publishes the change feed rows the transaction wrote.
func (w *writer) commitFeed(batch []*writeOp, feed bool) {
	if len(batch) == 0 {
		return
	}
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		for _, op := range batch {
			op.done <- fmt.Errorf("sqlite: begin: %w", err)
		}
		return
	}
	errs := make([]error, len(batch))
	if len(batch) == 1 {
		// Alone, a write needs no savepoint: its failure rolls back all.
		if errs[0] = batch[0].fn(tx); errs[0] != nil {
			tx.Rollback()
			batch[0].done <- errs[0]
			return
		}
	} else {
		for i, op := range batch {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				errs[i] = fmt.Errorf("sqlite: savepoint: %w", err)
				continue
			}
			if errs[i] = op.fn(tx); errs[i] != nil && interrupted(errs[i]) {
				// A cancelled statement may have rolled back the whole
				// transaction: give up this one, answer the interrupted
				// write, and run the others again in a new transaction.
				tx.Rollback()
				op.done <- errs[i]
				w.commitFeed(append(append([]*writeOp(nil), batch[:i]...), batch[i+1:]...), feed)
				return
			}
			if errs[i] != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
					errs[i] = errors.Join(errs[i], fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil && errs[i] == nil {
				errs[i] = fmt.Errorf("sqlite: release savepoint: %w", err)
			}
		}
	}
	var changed []change
	var ferr error
	if feed {
		changed, ferr = w.feed.take(ctx, preparedTx{tx: tx, st: w.st})
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("sqlite: commit: %w", err)
			}
		}
		// Nothing of it happened (and its rows' numbers come again); should
		// it have committed after all, the feed's poller finds its rows.
		changed = nil
	}
	// Published before any write of the transaction is answered. A failed
	// read of the feed's rows makes the listeners forget everything.
	w.feed.publish(changed, ferr)
	for i, op := range batch {
		op.done <- errs[i]
	}
}

// Close stops the writer after the batch in progress and closes the
// connection.
func (w *writer) Close() error {
	w.once.Do(func() { close(w.quit) })
	<-w.done
	return w.db.Close()
}

// interrupted reports whether err comes from a cancelled statement.
func interrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "interrupted")
}
