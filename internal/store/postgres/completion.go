package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

// errProofUsed rolls a completion back when its proof was already used.
var errProofUsed = errors.New("proof already used")

// guarded answers a completion its guard refused.
func guarded(g *deadbolt.CounterGuard) error {
	return deadbolt.StoreError(deadbolt.CodeLocked, "postgres: counter %s is past its limit", g.Key)
}

// CompleteSecondFactor commits a second-factor success in one transaction,
// its statements sent together in one round trip.
func (s *Store) CompleteSecondFactor(ctx context.Context, c *deadbolt.Completion) (bool, error) {
	b := &pgx.Batch{}
	if g := c.Guard; g != nil {
		// The delete re-reads a row a concurrent hit changed (READ
		// COMMITTED re-checks its WHERE on the newest version, under the
		// row lock), and a hit waits for this transaction once the row is
		// deleted: the guard and the counter cannot drift apart.
		b.Queue(`DELETE FROM counters WHERE key = $1 AND (n < $2 OR n = $3)`, g.Key, g.Below, g.Own)
		b.Queue(`SELECT count(*) FROM counters WHERE key = $1 AND n >= $2 AND n <> $3`, g.Key, g.Below, g.Own)
	}
	q := queueCompletion(b, c)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		var locked bool
		if c.Guard != nil {
			var kept int64
			_, err := br.Exec()
			if err == nil {
				err = br.QueryRow().Scan(&kept)
			}
			if err != nil {
				br.Close()
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			locked = kept > 0
		}
		err := q.read(br)
		if cerr := br.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("postgres: complete second factor: %w", cerr)
		}
		if locked && (err == nil || errors.Is(err, errProofUsed) || deadbolt.IsCode(err, deadbolt.CodeNotFound)) {
			return guarded(c.Guard) // rolls back everything the batch did
		}
		return err // an error rolls back everything the batch did
	})
	if err != nil && c.Event != nil {
		c.Event.ID = "" // rolled back
	}
	if errors.Is(err, errProofUsed) {
		return false, nil
	}
	return err == nil, err
}

// errUncounted rolls a settled attempt back whole (Settlement.Uncounted).
var errUncounted = errors.New("attempt taken back")

// settleLockSQL holds the streak $1 for the transaction: every settled
// attempt and every FactorAttempt of it take this lock before they read or
// count it, so they run one after the other.
const settleLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

// settleHitSQL counts one hit on a streak (no window), for SettleAttempt.
const settleHitSQL = `INSERT INTO counters AS c (key, n, first_at, last_at) VALUES ($1, 1, $2, $2)
	ON CONFLICT (key) DO UPDATE SET n = c.n + 1, prev_at = c.last_at, last_at = excluded.last_at`

// SettleAttempt counts a second-factor attempt and settles it in one
// transaction. The employee's streak is locked first (settleLockSQL,
// pipelined with the read of the factor state, which then sees every
// attempt committed before it): no other attempt of the streak counts
// until this transaction ends, so the count settle sees — the stored one
// plus this attempt — is exactly what an increment would return, and the
// hits are written only when the attempt does not end its streaks. A
// success, which resets them in the same commit, writes no count at all.
// Its events and completion are then sent together, the completion in a
// savepoint of its own so that a proof already used or a session gone
// rolls back only it (and the count is written).
func (s *Store) SettleAttempt(ctx context.Context, userID, failuresKey, streakKey string, countStreak bool, now time.Time, settle deadbolt.Settle) (bool, error) {
	var (
		serr, cerr error
		events     []*deadbolt.Event
	)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(settleLockSQL, failuresKey)
		b.Queue(factorStateSQL, userID, failuresKey, streakKey)
		br := tx.SendBatch(ctx, b)
		_, err := br.Exec()
		var st *deadbolt.FactorState
		if err == nil {
			st, err = scanFactorState(br.QueryRow())
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("postgres: settle attempt: %w", err)
		}
		// A stored streak always has its first hit.
		failsFound, streakFound := !st.Failures.First.IsZero(), !st.Streak.First.IsZero()
		at := now.Truncate(time.Microsecond)
		st.Failures = nextHit(st.Failures, failsFound, at)
		if countStreak {
			st.Streak = nextHit(st.Streak, streakFound, at)
		}
		set, err := settle(st)
		serr = err
		if set != nil && set.Uncounted {
			return errUncounted
		}
		// What to count: every streak the attempt hit, unless a success
		// resets it (deadbolt.SettledWrites).
		counted := []string{failuresKey}
		if countStreak {
			counted = append(counted, streakKey)
		}
		count := counted
		b = &pgx.Batch{}
		var q *completionQueue
		var c deadbolt.Completion
		if set != nil {
			for _, e := range set.Events {
				queueEvent(b, e)
			}
			events = set.Events
			if set.Completion != nil && serr == nil {
				c = *set.Completion
				c.ResetCounters, count = deadbolt.SettledWrites(set.Completion.ResetCounters,
					deadbolt.SettledStreak{Key: failuresKey, Stored: failsFound, Counted: true},
					deadbolt.SettledStreak{Key: streakKey, Stored: streakFound, Counted: countStreak})
				b.Queue(`SAVEPOINT completion`)
				q = queueCompletion(b, &c)
				events = append(events, c.Event)
			}
		}
		hits := func(b *pgx.Batch, keys []string) {
			for _, k := range keys {
				b.Queue(settleHitSQL, k, now)
			}
		}
		// Sent after the completion: should it be rolled back, they are
		// counted again below.
		hits(b, count)
		if b.Len() == 0 {
			return nil
		}
		br = tx.SendBatch(ctx, b)
		if set != nil {
			for _, e := range set.Events {
				if err := readEvent(br, e); err != nil {
					br.Close()
					return fmt.Errorf("postgres: settle attempt: %w", err)
				}
			}
		}
		if q != nil {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("postgres: settle attempt: %w", err)
			}
			cerr = q.read(br)
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("postgres: settle attempt: %w", err)
		}
		if cerr != nil {
			if !errors.Is(cerr, errProofUsed) && !deadbolt.IsCode(cerr, deadbolt.CodeNotFound) {
				return cerr
			}
			if e := c.Event; e != nil {
				e.ID = "" // rolled back
			}
			// The rollback undoes the completion and the hits sent after
			// it; the attempt is counted all the same.
			rb := &pgx.Batch{}
			rb.Queue(`ROLLBACK TO SAVEPOINT completion`)
			hits(rb, counted)
			if err := tx.SendBatch(ctx, rb).Close(); err != nil {
				return fmt.Errorf("postgres: settle attempt: %w", err)
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
		return false, err
	case serr != nil:
		return false, serr
	case errors.Is(cerr, errProofUsed):
		return false, nil
	}
	return cerr == nil, cerr
}

// nextHit is the streak c (stored when found) after one more hit at.
func nextHit(c deadbolt.Counter, found bool, at time.Time) deadbolt.Counter {
	if !found {
		return deadbolt.Counter{N: 1, First: at, Last: at}
	}
	return deadbolt.Counter{N: c.N + 1, First: c.First, Last: at, Prev: c.Last}
}

// completionQueue reads the answers of a completion queued in a batch.
type completionQueue struct {
	c      *deadbolt.Completion
	checks []int
}

// What a completion's statement must have changed.
const (
	anyRows     = iota // any outcome
	proofRow           // must change exactly one row
	sessionRows        // must change a row
)

// queueCompletion queues c, its Guard aside, in b.
func queueCompletion(b *pgx.Batch, c *deadbolt.Completion) *completionQueue {
	q := &completionQueue{c: c}
	switch {
	case c.RecoveryHash != nil:
		b.Queue(`UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`,
			c.Now, c.UserID, c.RecoveryHash)
		q.checks = append(q.checks, proofRow)
	case c.PushRequestID != "":
		b.Queue(`UPDATE push_requests SET status = $1 WHERE id = $2 AND user_id = $3 AND status = $4`,
			deadbolt.PushConsumed, c.PushRequestID, c.UserID, deadbolt.PushApproved)
		q.checks = append(q.checks, proofRow)
	case c.TOTPStep > 0:
		b.Queue(`UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, c.TOTPStep, c.UserID)
		q.checks = append(q.checks, proofRow)
	case c.Passkey != nil:
		// The counter only moves forward, or stays at 0 for authenticators
		// without one.
		b.Queue(`UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3
			WHERE id = $4 AND user_id = $5 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))`,
			c.Passkey.SignCount, c.Passkey.BackupState, c.Now, c.Passkey.ID, c.UserID)
		q.checks = append(q.checks, proofRow)
	}
	insert := func() {
		ns := c.NewSession
		b.Queue(`INSERT INTO sessions (id, token_hash, user_id, state, epoch,
			created_at, last_seen_at, expires_at, auth_at, method, ip, user_agent, amr)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			ns.ID, c.TokenHash, ns.UserID, string(ns.State), ns.Epoch, ns.CreatedAt, ns.LastSeenAt,
			ns.ExpiresAt, ns.AuthAt, ns.Method, ns.IP, ns.UserAgent, joinAMR(ns.AMR))
	}
	switch {
	case c.OldSessionID != "":
		b.Queue(`DELETE FROM sessions WHERE id = $1`, c.OldSessionID)
		insert()
		// A push request still waiting for this sign-in is over.
		b.Queue(`UPDATE push_requests SET status = $1 WHERE session_id = $2 AND status = $3`,
			deadbolt.PushReplaced, c.OldSessionID, deadbolt.PushPending)
		q.checks = append(q.checks, sessionRows, anyRows, anyRows)
	case c.NewSession != nil:
		insert()
		q.checks = append(q.checks, anyRows)
	case c.AuthSessionID != "":
		b.Queue(`UPDATE sessions SET auth_at = $1, amr = $3 WHERE id = $2`, c.AuthAt, c.AuthSessionID, joinAMR(c.AuthAMR))
		b.Queue(`UPDATE push_requests SET status = $1 WHERE session_id = $2 AND purpose = $3 AND status = $4`,
			deadbolt.PushReplaced, c.AuthSessionID, deadbolt.PushReauth, deadbolt.PushPending)
		q.checks = append(q.checks, sessionRows, anyRows)
	}
	if len(c.ResetCounters) > 0 {
		b.Queue(`DELETE FROM counters WHERE key = ANY($1)`, c.ResetCounters)
		q.checks = append(q.checks, anyRows)
	}
	if c.Event != nil {
		queueEvent(b, c.Event)
	}
	return q
}

// read reads the completion's answers off br: errProofUsed when its proof
// was used, CodeNotFound when its session is gone, other errors as they
// are. It reads every answer it queued either way but an error's.
func (q *completionQueue) read(br pgx.BatchResults) error {
	var used, gone bool
	for _, check := range q.checks {
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("postgres: complete second factor: %w", err)
		}
		switch {
		case check == proofRow && tag.RowsAffected() != 1:
			used = true
		case check == sessionRows && tag.RowsAffected() == 0:
			gone = true
		}
	}
	if e := q.c.Event; e != nil {
		if err := readEvent(br, e); err != nil {
			return fmt.Errorf("postgres: complete second factor: %w", err)
		}
	}
	switch {
	case used:
		return errProofUsed
	case gone:
		return notFound("Session")
	}
	return nil
}

// queueEvent queues the insert of e; readEvent reads its id.
func queueEvent(b *pgx.Batch, e *deadbolt.Event) {
	detail, err := json.Marshal(e.Detail)
	if err != nil || e.Detail == nil {
		detail = []byte("{}")
	}
	b.Queue(`INSERT INTO events (type, at, user_id, actor_id, ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, e.Type, e.At, e.UserID, e.ActorID, e.IP, detail)
}

func readEvent(br pgx.BatchResults, e *deadbolt.Event) error {
	var id int64
	if err := br.QueryRow().Scan(&id); err != nil {
		return err
	}
	e.ID = strconv.FormatInt(id, 10)
	return nil
}
