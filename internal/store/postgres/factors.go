package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

// CreatePairing stores a pairing offer.
func (s *Store) CreatePairing(ctx context.Context, p *deadbolt.Pairing, tokenHash []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO pairings (id, user_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, p.ID, p.UserID, tokenHash, p.CreatedAt, p.ExpiresAt)
	if err != nil {
		return fmt.Errorf("postgres: create pairing: %w", err)
	}
	return nil
}

// ConsumePairing uses up a pairing token, atomically.
func (s *Store) ConsumePairing(ctx context.Context, tokenHash []byte, now time.Time) (*deadbolt.Pairing, error) {
	p := &deadbolt.Pairing{}
	err := s.pool.QueryRow(ctx, `UPDATE pairings SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING id, user_id, created_at, expires_at, used_at`, now, tokenHash).
		Scan(&p.ID, &p.UserID, &p.CreatedAt, &p.ExpiresAt, &p.UsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Pairing")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: consume pairing: %w", err)
	}
	p.CreatedAt, p.ExpiresAt, p.UsedAt = p.CreatedAt.UTC(), p.ExpiresAt.UTC(), p.UsedAt.UTC()
	return p, nil
}

const deviceCols = `id, user_id, pairing_id, name, platform, public_key, totp_secret, webpush,
	created_at, confirmed_at, disconnected_at`

func scanDevice(row scanner) (*deadbolt.Device, error) {
	d := &deadbolt.Device{}
	var confirmed, disconnected *time.Time
	err := row.Scan(&d.ID, &d.UserID, &d.PairingID, &d.Name, &d.Platform, &d.PublicKey, &d.TOTPSecretSealed,
		&d.WebPush, &d.CreatedAt, &confirmed, &disconnected)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Device")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: device: %w", err)
	}
	d.CreatedAt = d.CreatedAt.UTC()
	d.ConfirmedAt, d.DisconnectedAt = fromTS(confirmed), fromTS(disconnected)
	return d, nil
}

// CreateDevice stores a device.
func (s *Store) CreateDevice(ctx context.Context, d *deadbolt.Device, tokenHash []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO devices (id, user_id, pairing_id, token_hash, name, platform,
		public_key, totp_secret, webpush, created_at, confirmed_at, disconnected_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.ID, d.UserID, d.PairingID, tokenHash, d.Name, d.Platform, d.PublicKey, d.TOTPSecretSealed, d.WebPush,
		d.CreatedAt, ts(d.ConfirmedAt), ts(d.DisconnectedAt))
	if err != nil {
		return fmt.Errorf("postgres: create device: %w", err)
	}
	return nil
}

// DeviceByPairing returns the device registered through a pairing.
func (s *Store) DeviceByPairing(ctx context.Context, userID, pairingID string) (*deadbolt.Device, error) {
	return scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE user_id = $1 AND pairing_id = $2`, userID, pairingID))
}

// DeviceByToken returns the device with tokenHash.
func (s *Store) DeviceByToken(ctx context.Context, tokenHash []byte) (*deadbolt.Device, error) {
	return scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE token_hash = $1`, tokenHash))
}

// TrustedDevice returns the user's confirmed, connected device.
func (s *Store) TrustedDevice(ctx context.Context, userID string) (*deadbolt.Device, error) {
	return scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE user_id = $1 AND confirmed_at IS NOT NULL AND disconnected_at IS NULL
		ORDER BY confirmed_at DESC LIMIT 1`, userID))
}

// ConfirmDevice makes the device trusted and voids the recovery codes.
func (s *Store) ConfirmDevice(ctx context.Context, userID, deviceID string, now time.Time) (int, error) {
	var voided int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Serialise factor changes of one user.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return fmt.Errorf("postgres: confirm device: %w", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE devices SET confirmed_at = $1
			WHERE id = $2 AND user_id = $3 AND confirmed_at IS NULL AND disconnected_at IS NULL`, now, deviceID, userID)
		if err != nil {
			return fmt.Errorf("postgres: confirm device: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("Device")
		}
		if _, err := tx.Exec(ctx, `UPDATE devices SET disconnected_at = $1
			WHERE user_id = $2 AND id <> $3 AND disconnected_at IS NULL`, now, userID, deviceID); err != nil {
			return fmt.Errorf("postgres: confirm device: %w", err)
		}
		if err := tx.QueryRow(ctx, `WITH gone AS (DELETE FROM recovery_codes WHERE user_id = $1 RETURNING used_at)
			SELECT count(*) FROM gone WHERE used_at IS NULL`, userID).Scan(&voided); err != nil {
			return fmt.Errorf("postgres: confirm device: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE users SET two_factor_since = coalesce(two_factor_since, $1),
			device_disconnected_at = NULL, updated_at = $1 WHERE id = $2`, now, userID)
		if err != nil {
			return fmt.Errorf("postgres: confirm device: %w", err)
		}
		return nil
	})
	return voided, err
}

// RemoveDevices disconnects every device of the user.
func (s *Store) RemoveDevices(ctx context.Context, userID string, now time.Time) (bool, error) {
	var trusted int
	err := s.pool.QueryRow(ctx, `WITH gone AS (UPDATE devices SET disconnected_at = $1
		WHERE user_id = $2 AND disconnected_at IS NULL RETURNING confirmed_at)
		SELECT count(*) FROM gone WHERE confirmed_at IS NOT NULL`, now, userID).Scan(&trusted)
	if err != nil {
		return false, fmt.Errorf("postgres: remove devices: %w", err)
	}
	return trusted > 0, nil
}

// ResetTwoFactor turns the second factor off.
func (s *Store) ResetTwoFactor(ctx context.Context, userID string, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET two_factor_since = NULL, device_disconnected_at = NULL,
			last_confirmed_at = NULL, updated_at = $1 WHERE id = $2`, now, userID)
		if err != nil {
			return fmt.Errorf("postgres: reset 2fa: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("User")
		}
		if _, err := tx.Exec(ctx, `UPDATE devices SET disconnected_at = $1 WHERE user_id = $2 AND disconnected_at IS NULL`, now, userID); err != nil {
			return fmt.Errorf("postgres: reset 2fa: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("postgres: reset 2fa: %w", err)
		}
		return nil
	})
}

// UseTOTPStep advances the last used step, atomically.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, userID)
	if err != nil {
		return false, fmt.Errorf("postgres: use totp step: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReplaceRecoveryCodes swaps the user's whole set of codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("postgres: replace recovery codes: %w", err)
		}
		for _, h := range hashes {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (id, user_id, hash, created_at) VALUES ($1, $2, $3, $4)`,
				deadbolt.NewID(), userID, h, now); err != nil {
				return fmt.Errorf("postgres: replace recovery codes: %w", err)
			}
		}
		return nil
	})
}

// ConsumeRecoveryCode uses up one code, atomically.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`,
		now, userID, hash)
	if err != nil {
		return false, fmt.Errorf("postgres: consume recovery code: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// CountRecoveryCodes counts unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count recovery codes: %w", err)
	}
	return n, nil
}

// SaveChallenge stores a CAPTCHA challenge.
func (s *Store) SaveChallenge(ctx context.Context, c deadbolt.Challenge) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO captchas (id, digits, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		c.ID, c.Digits, c.CreatedAt, c.ExpiresAt)
	if err != nil {
		return fmt.Errorf("postgres: save captcha: %w", err)
	}
	if c.ID[0]%16 == 0 {
		s.pool.Exec(ctx, `DELETE FROM captchas WHERE expires_at < $1`, c.CreatedAt.Add(-time.Hour))
	}
	return nil
}

func scanChallenge(row scanner) (deadbolt.Challenge, error) {
	var c deadbolt.Challenge
	err := row.Scan(&c.ID, &c.Digits, &c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFound("Challenge")
	}
	if err != nil {
		return c, fmt.Errorf("postgres: captcha: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return c, nil
}

// Challenge returns an unused, unexpired challenge.
func (s *Store) Challenge(ctx context.Context, id string, now time.Time) (deadbolt.Challenge, error) {
	return scanChallenge(s.pool.QueryRow(ctx, `SELECT id, digits, created_at, expires_at FROM captchas
		WHERE id = $1 AND used_at IS NULL AND expires_at > $2`, id, now))
}

// ConsumeChallenge uses up a challenge, atomically.
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) (deadbolt.Challenge, error) {
	return scanChallenge(s.pool.QueryRow(ctx, `UPDATE captchas SET used_at = $2
		WHERE id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id, digits, created_at, expires_at`, id, now))
}
