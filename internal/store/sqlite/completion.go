package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

// errProofUsed rolls a completion back when its proof was already used.
var errProofUsed = errors.New("proof already used")

// guarded answers a completion its guard refused.
func guarded(g *deadbolt.CounterGuard) error {
	return deadbolt.StoreError(deadbolt.CodeLocked, "sqlite: counter %s is past its limit", g.Key)
}

// The statements of a completion (prepared on the writer's connection).
const (
	guardDeleteSQL     = `DELETE FROM counters WHERE key = ? AND (n < ? OR n = ?)`
	guardKeptSQL       = `SELECT count(*) FROM counters WHERE key = ? AND n >= ? AND n <> ?`
	useRecoveryCodeSQL = `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`
	consumePushSQL     = `UPDATE push_requests SET status = ? WHERE id = ? AND user_id = ? AND status = ?`
	useTOTPStepSQL     = `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`
	deleteSessionSQL   = `DELETE FROM sessions WHERE id = ?`
	renewAuthSQL       = `UPDATE sessions SET auth_at = ?, amr = ? WHERE id = ?`
	deleteCounterSQL   = `DELETE FROM counters WHERE key = ?`
	// A push request still waiting for the sign-in (or fresh proof) a
	// completion ends is over.
	replacePushSQL       = `UPDATE push_requests SET status = ? WHERE session_id = ? AND status = ?`
	replaceReauthPushSQL = `UPDATE push_requests SET status = ? WHERE session_id = ? AND purpose = ? AND status = ?`
)

// CompleteSecondFactor commits a second-factor success in one transaction.
func (s *Store) CompleteSecondFactor(ctx context.Context, c *deadbolt.Completion) (bool, error) {
	err := s.tx(ctx, func(sqlTx *sql.Tx) error {
		tx := s.prepared(sqlTx)
		if g := c.Guard; g != nil {
			if err := guardCounter(ctx, tx, g); err != nil {
				return err
			}
		}
		return complete(ctx, tx, c)
	})
	if errors.Is(err, errProofUsed) {
		return false, nil
	}
	return err == nil, err
}

// errUncounted rolls a settled attempt back whole (Settlement.Uncounted).
var errUncounted = errors.New("attempt taken back")

// SettleAttempt counts a second-factor attempt, settles it and writes the
// settlement, all in one write of the group commit. The trusted device and
// codes left are read first on a reader connection, so that the writer —
// which runs every write of the server one after the other — runs only
// the count, settle and what it returned.
//
// Since the writer runs one write at a time, reading the streaks and
// writing them back are one atomic step here: the count settle sees is the
// stored one plus this attempt, exactly what the hits would return, and no
// other attempt can count in between. So the hits are written only when
// the attempt does not end its streaks: a success, which resets them in
// the same commit, writes no count at all (and deletes only streaks that
// exist). The completion runs in a savepoint of its own: a proof already
// used or a session gone rolls back only it, and the count is written.
func (s *Store) SettleAttempt(ctx context.Context, userID, failuresKey, streakKey string, countStreak bool, now time.Time, settle deadbolt.Settle) (bool, error) {
	read, err := s.FactorState(ctx, userID, failuresKey, streakKey)
	if err != nil {
		return false, err
	}
	var (
		serr    error // settle's answer
		cerr    error // the completion's
		applied bool
		events  []*deadbolt.Event
	)
	err = s.tx(ctx, func(sqlTx *sql.Tx) error {
		// The writer may run this again in a new transaction (writer.go):
		// each run starts from the state read.
		serr, cerr, applied, events = nil, nil, false, nil
		tx := s.prepared(sqlTx)
		fails, streak, err := peekCounters(ctx, tx, failuresKey, streakKey)
		if err != nil {
			return err
		}
		count := func() error {
			_, _, err := hitFactor(ctx, tx, failuresKey, streakKey, countStreak, now)
			return err
		}
		st := *read
		st.Failures = fails.next(now)
		if countStreak {
			st.Streak = streak.next(now)
		} else {
			st.Streak = streak.Counter
		}
		set, err := settle(&st)
		serr = err
		switch {
		case set == nil:
			return count()
		case set.Uncounted:
			return errUncounted
		}
		for _, e := range set.Events {
			if err := appendEvent(ctx, tx, e); err != nil {
				return err
			}
		}
		events = set.Events
		if set.Completion == nil || serr != nil {
			return count()
		}
		if _, err := tx.ExecContext(ctx, savepointSQL); err != nil {
			return fmt.Errorf("sqlite: settle attempt: %w", err)
		}
		c := *set.Completion
		var hits []string
		c.ResetCounters, hits = deadbolt.SettledWrites(set.Completion.ResetCounters,
			deadbolt.SettledStreak{Key: failuresKey, Stored: fails.found, Counted: true},
			deadbolt.SettledStreak{Key: streakKey, Stored: streak.found, Counted: countStreak})
		events = append(events, c.Event)
		if cerr = complete(ctx, tx, &c); cerr != nil {
			if c.Event != nil {
				c.Event.ID = "" // rolled back
			}
			if _, err := tx.ExecContext(ctx, rollbackToSQL); err != nil {
				return fmt.Errorf("sqlite: settle attempt: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, releaseSQL); err != nil {
			return fmt.Errorf("sqlite: settle attempt: %w", err)
		}
		if applied = cerr == nil; !applied {
			return count()
		}
		for _, k := range hits {
			if _, err := scanHit(tx.QueryRowContext(ctx, hitSQL, k, tsv(now), noWindow)); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errUncounted):
		return false, serr
	case err != nil:
		for _, e := range events {
			if e != nil {
				e.ID = "" // rolled back
			}
		}
		return false, fmt.Errorf("sqlite: settle attempt: %w", err)
	case serr != nil:
		return false, serr
	case errors.Is(cerr, errProofUsed):
		return false, nil
	}
	return applied, cerr
}

// peekCountersSQL reads the streaks ?1 and ?2 in the writer; each row
// tells whether it is ?1's.
const peekCountersSQL = `SELECT key = ?1, n, first_at, last_at, prev_at FROM counters WHERE key IN (?1, ?2)`

// peeked is a streak as stored, and whether it is.
type peeked struct {
	deadbolt.Counter
	found bool
}

// next is the streak after one more hit at now, as hitFactor writes it.
func (p peeked) next(now time.Time) deadbolt.Counter {
	at := time.UnixMicro(tsv(now)).UTC()
	if !p.found {
		return deadbolt.Counter{N: 1, First: at, Last: at}
	}
	return deadbolt.Counter{N: p.N + 1, First: p.First, Last: at, Prev: p.Last}
}

// peekCounters reads two streaks in the writer.
func peekCounters(ctx context.Context, tx preparedTx, failuresKey, streakKey string) (fails, streak peeked, err error) {
	return queryStreaks(ctx, tx, peekCountersSQL, failuresKey, streakKey)
}

// The savepoint of a settled attempt's completion.
const (
	savepointSQL  = `SAVEPOINT completion`
	rollbackToSQL = `ROLLBACK TO completion`
	releaseSQL    = `RELEASE completion`
)

// guardCounter deletes the guarded counter while the guard allows it, and
// answers CodeLocked when it does not.
func guardCounter(ctx context.Context, tx execQuerier, g *deadbolt.CounterGuard) error {
	// The writer serialises every write, so nothing moves the counter
	// between these statements. The guarded delete nearly always finds
	// the counter (this attempt counted it); only when it deletes nothing
	// is there something to tell apart.
	res, err := tx.ExecContext(ctx, guardDeleteSQL, g.Key, g.Below, g.Own)
	if err != nil {
		return fmt.Errorf("sqlite: complete second factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var kept int
		if err := tx.QueryRowContext(ctx, guardKeptSQL, g.Key, g.Below, g.Own).Scan(&kept); err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
		if kept > 0 {
			return guarded(g)
		}
	}
	return nil
}

// complete applies c, its Guard aside: errProofUsed when its proof was
// used, CodeNotFound when its session is gone — the caller rolls back.
func complete(ctx context.Context, tx execQuerier, c *deadbolt.Completion) error {
	switch {
	case c.RecoveryHash != nil:
		res, err := tx.ExecContext(ctx, useRecoveryCodeSQL, tsv(c.Now), c.UserID, c.RecoveryHash)
		if err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errProofUsed
		}
	case c.PushRequestID != "":
		res, err := tx.ExecContext(ctx, consumePushSQL, deadbolt.PushConsumed, c.PushRequestID, c.UserID, deadbolt.PushApproved)
		if err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errProofUsed
		}
	case c.TOTPStep > 0:
		res, err := tx.ExecContext(ctx, useTOTPStepSQL, c.TOTPStep, c.UserID, c.TOTPStep)
		if err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errProofUsed
		}
	case c.Passkey != nil:
		if err := usePasskey(ctx, tx, c.UserID, c.Passkey, c.Now); err != nil {
			return err
		}
	}
	switch {
	case c.OldSessionID != "":
		res, err := tx.ExecContext(ctx, deleteSessionSQL, c.OldSessionID)
		if err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Session")
		}
		if err := insertSession(ctx, tx, c.NewSession, c.TokenHash); err != nil {
			return err
		}
		// A push request still waiting for this sign-in is over.
		if _, err := tx.ExecContext(ctx, replacePushSQL, deadbolt.PushReplaced, c.OldSessionID, deadbolt.PushPending); err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
	case c.NewSession != nil:
		if err := insertSession(ctx, tx, c.NewSession, c.TokenHash); err != nil {
			return err
		}
	case c.AuthSessionID != "":
		res, err := tx.ExecContext(ctx, renewAuthSQL, tsv(c.AuthAt), joinAMR(c.AuthAMR), c.AuthSessionID)
		if err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Session")
		}
		if _, err := tx.ExecContext(ctx, replaceReauthPushSQL, deadbolt.PushReplaced, c.AuthSessionID, deadbolt.PushReauth, deadbolt.PushPending); err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
	}
	for _, key := range c.ResetCounters {
		if _, err := tx.ExecContext(ctx, deleteCounterSQL, key); err != nil {
			return fmt.Errorf("sqlite: complete second factor: %w", err)
		}
	}
	if c.Event != nil {
		return appendEvent(ctx, tx, c.Event)
	}
	return nil
}
