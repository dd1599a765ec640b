package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"deadbolt/internal/deadbolt"
)

// phoneTaken reports whether err violates the uniqueness of users.phone.
func phoneTaken(err error) bool {
	return isUnique(err) && strings.Contains(err.Error(), "users.phone")
}

func phoneInUse() error {
	return deadbolt.StoreError(deadbolt.CodePhoneInUse, "sqlite: phone number in use")
}

// SetPhone links a number to the user; a number held by another account
// is CodePhoneInUse.
func (s *Store) SetPhone(ctx context.Context, userID, e164 string, now time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE users SET phone = ?, updated_at = ? WHERE id = ?`, e164, tsv(now), userID)
	if phoneTaken(err) {
		return phoneInUse()
	}
	if err != nil {
		return fmt.Errorf("sqlite: set phone: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("User")
	}
	return nil
}

// ClearPhone unlinks the user's number.
func (s *Store) ClearPhone(ctx context.Context, userID string, now time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE users SET phone = NULL, updated_at = ? WHERE id = ? AND phone IS NOT NULL`, tsv(now), userID)
	if err != nil {
		return fmt.Errorf("sqlite: clear phone: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Phone number")
	}
	return nil
}

// UserByPhone returns the account holding the number.
func (s *Store) UserByPhone(ctx context.Context, e164 string) (*deadbolt.User, error) {
	return s.userWhere(ctx, "u.phone = ?", e164)
}

// smsCodeKeep is how long ended codes are kept before CreateSMSCode
// forgets them.
const smsCodeKeep = 24 * time.Hour

// CreateSMSCode stores a code and voids the purpose's older live codes, in
// one transaction.
func (s *Store) CreateSMSCode(ctx context.Context, c *deadbolt.SMSCode, resendAfter time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sms_codes SET voided = 1
			WHERE purpose = ? AND used_at IS NULL AND voided = 0 AND sent_at <= ?`,
			c.Purpose, tsv(c.SentAt.Add(-resendAfter))); err != nil {
			return fmt.Errorf("sqlite: create sms code: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sms_codes (id, user_id, purpose, phone, hash, sent_at, expires_at, attempts, used_at, voided)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.Purpose, c.Phone, c.Hash, tsv(c.SentAt), tsv(c.ExpiresAt), c.Attempts, ts(c.UsedAt), c.Voided)
		if isUnique(err) {
			return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: an SMS code was sent within the resend interval")
		}
		if err != nil {
			return fmt.Errorf("sqlite: create sms code: %w", err)
		}
		// Forget the user's long-ended codes.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sms_codes WHERE user_id = ? AND expires_at < ?`,
			c.UserID, tsv(c.SentAt.Add(-smsCodeKeep))); err != nil {
			return fmt.Errorf("sqlite: create sms code: %w", err)
		}
		return nil
	})
}

// LatestSMSCode returns the purpose's live code, or else its last one.
func (s *Store) LatestSMSCode(ctx context.Context, purpose string) (*deadbolt.SMSCode, error) {
	c := &deadbolt.SMSCode{}
	var sent, expires int64
	var used sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, user_id, purpose, phone, hash, sent_at, expires_at, attempts, used_at, voided
		FROM sms_codes WHERE purpose = ?
		ORDER BY (used_at IS NULL AND voided = 0) DESC, sent_at DESC, rowid DESC LIMIT 1`, purpose).
		Scan(&c.ID, &c.UserID, &c.Purpose, &c.Phone, &c.Hash, &sent, &expires, &c.Attempts, &used, &c.Voided)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Code")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: latest sms code: %w", err)
	}
	c.SentAt, c.ExpiresAt, c.UsedAt = time.UnixMicro(sent).UTC(), time.UnixMicro(expires).UTC(), fromTS(used)
	return c, nil
}

// AttemptSMSCode counts one try against a live code, atomically.
func (s *Store) AttemptSMSCode(ctx context.Context, id string, now time.Time) (int, error) {
	var n int
	err := s.wdb.QueryRowContext(ctx, `UPDATE sms_codes SET attempts = attempts + 1
		WHERE id = ?1 AND used_at IS NULL AND voided = 0 AND expires_at > ?2
		RETURNING attempts`, id, tsv(now)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("Code")
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: attempt sms code: %w", err)
	}
	return n, nil
}

// ConsumeSMSCode uses up a live code, atomically.
func (s *Store) ConsumeSMSCode(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `UPDATE sms_codes SET used_at = ?1
		WHERE id = ?2 AND used_at IS NULL AND voided = 0 AND expires_at > ?1`, tsv(now), id)
	if err != nil {
		return false, fmt.Errorf("sqlite: consume sms code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// VoidSMSCode voids a code.
func (s *Store) VoidSMSCode(ctx context.Context, id string) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE sms_codes SET voided = 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: void sms code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Code")
	}
	return nil
}
