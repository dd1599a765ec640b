package sqlite

import (
	"context"
	"fmt"
)

// Relaxed writes. A write marked relaxed is committed without waiting for
// the disk: in a transaction of its own kind, under synchronous=NORMAL,
// which in WAL mode appends to the WAL without syncing it. It is durable
// once any later write commits under the store's synchronous=FULL, since
// that sync covers the whole WAL file, earlier frames included — or at the
// next checkpoint. Only the count of a sign-in attempt is written so
// (FactorAttempt): its caller tells nobody what the attempt proved before a
// durable write that follows it (signin's gate.go, "Durability"). Every
// other write stays fully synchronous. A relaxed write writes no change
// feed rows: a commit of relaxed writes alone does not read them
// (writer.commitRelaxed).

type relaxedKey struct{}

// relaxedWrite marks the writes run with ctx as relaxed.
func relaxedWrite(ctx context.Context) context.Context {
	return context.WithValue(ctx, relaxedKey{}, true)
}

func isRelaxed(op *writeOp) bool { return op.ctx.Value(relaxedKey{}) != nil }

// commitBatch commits a gathered batch: its relaxed writes first, together,
// under synchronous=NORMAL, then the others under FULL. No other write
// commits before the connection is back at FULL: if it cannot be put back,
// they are refused rather than committed relaxed.
func (w *writer) commitBatch(batch []*writeOp) {
	var relaxed, durable []*writeOp
	for _, op := range batch {
		if isRelaxed(op) {
			relaxed = append(relaxed, op)
		} else {
			durable = append(durable, op)
		}
	}
	ctx := context.Background()
	if len(relaxed) > 0 {
		if w.unsynced {
			// Still at NORMAL since the last relaxed commit.
			w.commitRelaxed(relaxed)
		} else if _, err := w.db.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err == nil {
			w.unsynced = true
			w.commitRelaxed(relaxed)
		} else {
			// Committed durably instead: slower, never weaker.
			durable = batch
		}
	}
	if len(durable) == 0 {
		return
	}
	if w.unsynced {
		if _, err := w.db.ExecContext(ctx, "PRAGMA synchronous = FULL"); err != nil {
			for _, op := range durable {
				op.done <- fmt.Errorf("sqlite: restore synchronous=FULL: %w", err)
			}
			return
		}
		w.unsynced = false
	}
	w.commit(durable)
}
