package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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
	const (
		plain   = iota // any outcome
		proof          // must change exactly one row
		session        // must change a row
	)
	var checks []int
	b := &pgx.Batch{}
	if g := c.Guard; g != nil {
		// The delete re-reads a row a concurrent hit changed (READ
		// COMMITTED re-checks its WHERE on the newest version, under the
		// row lock), and a hit waits for this transaction once the row is
		// deleted: the guard and the counter cannot drift apart.
		b.Queue(`DELETE FROM counters WHERE key = $1 AND (n < $2 OR n = $3)`, g.Key, g.Below, g.Own)
		b.Queue(`SELECT count(*) FROM counters WHERE key = $1 AND n >= $2 AND n <> $3`, g.Key, g.Below, g.Own)
	}
	switch {
	case c.RecoveryHash != nil:
		b.Queue(`UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`,
			c.Now, c.UserID, c.RecoveryHash)
		checks = append(checks, proof)
	case c.PushRequestID != "":
		b.Queue(`UPDATE push_requests SET status = $1 WHERE id = $2 AND user_id = $3 AND status = $4`,
			deadbolt.PushConsumed, c.PushRequestID, c.UserID, deadbolt.PushApproved)
		checks = append(checks, proof)
	case c.TOTPStep > 0:
		b.Queue(`UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, c.TOTPStep, c.UserID)
		checks = append(checks, proof)
	case c.Passkey != nil:
		// The counter only moves forward, or stays at 0 for authenticators
		// without one.
		b.Queue(`UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3
			WHERE id = $4 AND user_id = $5 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))`,
			c.Passkey.SignCount, c.Passkey.BackupState, c.Now, c.Passkey.ID, c.UserID)
		checks = append(checks, proof)
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
		checks = append(checks, session, plain, plain)
	case c.NewSession != nil:
		insert()
		checks = append(checks, plain)
	case c.AuthSessionID != "":
		b.Queue(`UPDATE sessions SET auth_at = $1, amr = $3 WHERE id = $2`, c.AuthAt, c.AuthSessionID, joinAMR(c.AuthAMR))
		b.Queue(`UPDATE push_requests SET status = $1 WHERE session_id = $2 AND purpose = $3 AND status = $4`,
			deadbolt.PushReplaced, c.AuthSessionID, deadbolt.PushReauth, deadbolt.PushPending)
		checks = append(checks, session, plain)
	}
	if len(c.ResetCounters) > 0 {
		b.Queue(`DELETE FROM counters WHERE key = ANY($1)`, c.ResetCounters)
		checks = append(checks, plain)
	}
	var detail []byte
	if e := c.Event; e != nil {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil || e.Detail == nil {
			detail = []byte("{}")
		}
		b.Queue(`INSERT INTO events (type, at, user_id, actor_id, ip, detail)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, e.Type, e.At, e.UserID, e.ActorID, e.IP, detail)
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		var used, gone, locked bool
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
		for _, check := range checks {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			switch {
			case check == proof && tag.RowsAffected() != 1:
				used = true
			case check == session && tag.RowsAffected() == 0:
				gone = true
			}
		}
		if e := c.Event; e != nil {
			var id int64
			if err := br.QueryRow().Scan(&id); err != nil {
				br.Close()
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			e.ID = strconv.FormatInt(id, 10)
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("postgres: complete second factor: %w", err)
		}
		switch {
		case locked:
			return guarded(c.Guard) // rolls back everything the batch did
		case used:
			return errProofUsed // rolls back everything the batch did
		case gone:
			return notFound("Session")
		}
		return nil
	})
	if err != nil && c.Event != nil {
		c.Event.ID = "" // rolled back
	}
	if errors.Is(err, errProofUsed) {
		return false, nil
	}
	return err == nil, err
}
