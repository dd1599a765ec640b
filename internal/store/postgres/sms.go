package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

// SetPhone links a number to the user; a number held by another account
// is CodePhoneInUse.
func (s *Store) SetPhone(ctx context.Context, userID, e164 string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET phone = $1, updated_at = $2 WHERE id = $3`, e164, now, userID)
	if uniqueViolation(err) == "users_phone_key" {
		return deadbolt.StoreError(deadbolt.CodePhoneInUse, "postgres: phone number in use")
	}
	if err != nil {
		return fmt.Errorf("postgres: set phone: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("User")
	}
	return nil
}

// ClearPhone unlinks the user's number.
func (s *Store) ClearPhone(ctx context.Context, userID string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET phone = NULL, updated_at = $1 WHERE id = $2 AND phone IS NOT NULL`, now, userID)
	if err != nil {
		return fmt.Errorf("postgres: clear phone: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Phone number")
	}
	return nil
}

// UserByPhone returns the account holding the number.
func (s *Store) UserByPhone(ctx context.Context, e164 string) (*deadbolt.User, error) {
	return s.userWhere(ctx, "u.phone = $1", e164)
}

// smsCodeKeep is how long ended codes are kept before CreateSMSCode
// forgets them.
const smsCodeKeep = 24 * time.Hour

// CreateSMSCode stores a code and voids the purpose's older live codes, in
// one transaction. Of two resends racing, the second blocks on the first's
// row lock or on the unique index of live codes, and then fails with
// CodeConflict.
func (s *Store) CreateSMSCode(ctx context.Context, c *deadbolt.SMSCode, resendAfter time.Duration) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE sms_codes SET voided = true
			WHERE purpose = $1 AND used_at IS NULL AND NOT voided AND sent_at <= $2`,
			c.Purpose, c.SentAt.Add(-resendAfter)); err != nil {
			return fmt.Errorf("postgres: create sms code: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO sms_codes (id, user_id, purpose, phone, hash, sent_at, expires_at, attempts, used_at, voided)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.ID, c.UserID, c.Purpose, c.Phone, c.Hash, c.SentAt, c.ExpiresAt, c.Attempts, ts(c.UsedAt), c.Voided)
		if uniqueViolation(err) == "sms_codes_live" {
			return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: an SMS code was sent within the resend interval")
		}
		if err != nil {
			return fmt.Errorf("postgres: create sms code: %w", err)
		}
		// Forget the user's long-ended codes.
		if _, err := tx.Exec(ctx, `DELETE FROM sms_codes WHERE user_id = $1 AND expires_at < $2`,
			c.UserID, c.SentAt.Add(-smsCodeKeep)); err != nil {
			return fmt.Errorf("postgres: create sms code: %w", err)
		}
		return nil
	})
}

// LatestSMSCode returns the purpose's live code, or else its last one.
func (s *Store) LatestSMSCode(ctx context.Context, purpose string) (*deadbolt.SMSCode, error) {
	c := &deadbolt.SMSCode{}
	var used *time.Time
	err := s.pool.QueryRow(ctx, `SELECT id, user_id, purpose, phone, hash, sent_at, expires_at, attempts, used_at, voided
		FROM sms_codes WHERE purpose = $1
		ORDER BY (used_at IS NULL AND NOT voided) DESC, sent_at DESC LIMIT 1`, purpose).
		Scan(&c.ID, &c.UserID, &c.Purpose, &c.Phone, &c.Hash, &c.SentAt, &c.ExpiresAt, &c.Attempts, &used, &c.Voided)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Code")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: latest sms code: %w", err)
	}
	c.SentAt, c.ExpiresAt, c.UsedAt = c.SentAt.UTC(), c.ExpiresAt.UTC(), fromTS(used)
	return c, nil
}

// AttemptSMSCode counts one try against a live code, atomically.
func (s *Store) AttemptSMSCode(ctx context.Context, id string, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `UPDATE sms_codes SET attempts = attempts + 1
		WHERE id = $1 AND used_at IS NULL AND NOT voided AND expires_at > $2
		RETURNING attempts`, id, now).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("Code")
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: attempt sms code: %w", err)
	}
	return n, nil
}

// ConsumeSMSCode uses up a live code, atomically.
func (s *Store) ConsumeSMSCode(ctx context.Context, id string, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sms_codes SET used_at = $1
		WHERE id = $2 AND used_at IS NULL AND NOT voided AND expires_at > $1`, now, id)
	if err != nil {
		return false, fmt.Errorf("postgres: consume sms code: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// VoidSMSCode voids a code.
func (s *Store) VoidSMSCode(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sms_codes SET voided = true WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: void sms code: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Code")
	}
	return nil
}
