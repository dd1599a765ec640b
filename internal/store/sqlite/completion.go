package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
)

// CompleteSecondFactor commits a second-factor success in one transaction.
func (s *Store) CompleteSecondFactor(ctx context.Context, c *deadbolt.Completion) (bool, error) {
	err := s.tx(ctx, func(sqlTx *sql.Tx) error {
		tx := s.prepared(sqlTx)
		if g := c.Guard; g != nil {
			// The writer serialises every write, so nothing moves the
			// counter between these statements. The guarded delete nearly
			// always finds the counter (this attempt counted it); only when
			// it deletes nothing is there something to tell apart.
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
		}
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
			if _, err := tx.ExecContext(ctx, `UPDATE push_requests SET status = ? WHERE session_id = ? AND status = ?`,
				deadbolt.PushReplaced, c.OldSessionID, deadbolt.PushPending); err != nil {
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
			if _, err := tx.ExecContext(ctx, `UPDATE push_requests SET status = ? WHERE session_id = ? AND purpose = ? AND status = ?`,
				deadbolt.PushReplaced, c.AuthSessionID, deadbolt.PushReauth, deadbolt.PushPending); err != nil {
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
	})
	if errors.Is(err, errProofUsed) {
		return false, nil
	}
	return err == nil, err
}
