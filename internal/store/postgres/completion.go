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

// CompleteSecondFactor commits a second-factor success in one transaction.
func (s *Store) CompleteSecondFactor(ctx context.Context, c *deadbolt.Completion) (bool, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		switch {
		case c.RecoveryHash != nil:
			tag, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`,
				c.Now, c.UserID, c.RecoveryHash)
			if err != nil {
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			if tag.RowsAffected() != 1 {
				return errProofUsed
			}
		case c.PushRequestID != "":
			tag, err := tx.Exec(ctx, `UPDATE push_requests SET status = $1 WHERE id = $2 AND user_id = $3 AND status = $4`,
				deadbolt.PushConsumed, c.PushRequestID, c.UserID, deadbolt.PushApproved)
			if err != nil {
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			if tag.RowsAffected() != 1 {
				return errProofUsed
			}
		case c.TOTPStep > 0:
			tag, err := tx.Exec(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, c.TOTPStep, c.UserID)
			if err != nil {
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			if tag.RowsAffected() != 1 {
				return errProofUsed
			}
		}
		switch {
		case c.OldSessionID != "":
			tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, c.OldSessionID)
			if err != nil {
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return notFound("Session")
			}
			if err := insertSession(ctx, tx, c.NewSession, c.TokenHash); err != nil {
				return err
			}
		case c.AuthSessionID != "":
			tag, err := tx.Exec(ctx, `UPDATE sessions SET auth_at = $1 WHERE id = $2`, c.AuthAt, c.AuthSessionID)
			if err != nil {
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return notFound("Session")
			}
		}
		if len(c.ResetCounters) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM counters WHERE key = ANY($1)`, c.ResetCounters); err != nil {
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
		}
		if e := c.Event; e != nil {
			detail, err := json.Marshal(e.Detail)
			if err != nil || e.Detail == nil {
				detail = []byte("{}")
			}
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO events (type, at, user_id, actor_id, ip, detail)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, e.Type, e.At, e.UserID, e.ActorID, e.IP, detail).Scan(&id); err != nil {
				return fmt.Errorf("postgres: complete second factor: %w", err)
			}
			e.ID = strconv.FormatInt(id, 10)
		}
		return nil
	})
	if errors.Is(err, errProofUsed) {
		return false, nil
	}
	return err == nil, err
}
