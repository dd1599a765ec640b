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

// CompleteSecondFactor commits a second-factor success in one transaction.
func (s *Store) CompleteSecondFactor(ctx context.Context, c *deadbolt.Completion) (bool, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if g := c.Guard; g != nil {
			// The writer serialises every write, so nothing moves the
			// counter between these two statements.
			if _, err := tx.ExecContext(ctx, `DELETE FROM counters WHERE key = ? AND (n < ? OR n = ?)`, g.Key, g.Below, g.Own); err != nil {
				return fmt.Errorf("sqlite: complete second factor: %w", err)
			}
			var kept int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM counters WHERE key = ? AND n >= ? AND n <> ?`, g.Key, g.Below, g.Own).Scan(&kept); err != nil {
				return fmt.Errorf("sqlite: complete second factor: %w", err)
			}
			if kept > 0 {
				return guarded(g)
			}
		}
		switch {
		case c.RecoveryHash != nil:
			res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
				tsv(c.Now), c.UserID, c.RecoveryHash)
			if err != nil {
				return fmt.Errorf("sqlite: complete second factor: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errProofUsed
			}
		case c.PushRequestID != "":
			res, err := tx.ExecContext(ctx, `UPDATE push_requests SET status = ? WHERE id = ? AND user_id = ? AND status = ?`,
				deadbolt.PushConsumed, c.PushRequestID, c.UserID, deadbolt.PushApproved)
			if err != nil {
				return fmt.Errorf("sqlite: complete second factor: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errProofUsed
			}
		case c.TOTPStep > 0:
			res, err := tx.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`,
				c.TOTPStep, c.UserID, c.TOTPStep)
			if err != nil {
				return fmt.Errorf("sqlite: complete second factor: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errProofUsed
			}
		}
		switch {
		case c.OldSessionID != "":
			res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, c.OldSessionID)
			if err != nil {
				return fmt.Errorf("sqlite: complete second factor: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return notFound("Session")
			}
			if err := insertSession(ctx, tx, c.NewSession, c.TokenHash); err != nil {
				return err
			}
		case c.AuthSessionID != "":
			res, err := tx.ExecContext(ctx, `UPDATE sessions SET auth_at = ?, amr = ? WHERE id = ?`, tsv(c.AuthAt), joinAMR(c.AuthAMR), c.AuthSessionID)
			if err != nil {
				return fmt.Errorf("sqlite: complete second factor: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return notFound("Session")
			}
		}
		for _, key := range c.ResetCounters {
			if _, err := tx.ExecContext(ctx, `DELETE FROM counters WHERE key = ?`, key); err != nil {
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
