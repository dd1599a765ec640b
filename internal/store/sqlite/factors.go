package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

// CreatePairing stores a pairing offer.
func (s *Store) CreatePairing(ctx context.Context, p *deadbolt.Pairing, tokenHash []byte) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO pairings (id, user_id, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, p.ID, p.UserID, tokenHash, tsv(p.CreatedAt), tsv(p.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create pairing: %w", err)
	}
	return nil
}

// ConsumePairing uses up a pairing token, atomically.
func (s *Store) ConsumePairing(ctx context.Context, tokenHash []byte, now time.Time) (*deadbolt.Pairing, error) {
	p := &deadbolt.Pairing{}
	var created, expires, used int64
	err := s.wdb.QueryRowContext(ctx, `UPDATE pairings SET used_at = ?1
		WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
		RETURNING id, user_id, created_at, expires_at, used_at`, tsv(now), tokenHash).
		Scan(&p.ID, &p.UserID, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Pairing")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: consume pairing: %w", err)
	}
	p.CreatedAt, p.ExpiresAt, p.UsedAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC(), time.UnixMicro(used).UTC()
	return p, nil
}

const deviceCols = `id, user_id, pairing_id, name, platform, public_key, totp_secret, webpush,
	created_at, confirmed_at, disconnected_at`

func scanDevice(row scanner) (*deadbolt.Device, error) {
	d := &deadbolt.Device{}
	var created int64
	var confirmed, disconnected sql.NullInt64
	err := row.Scan(&d.ID, &d.UserID, &d.PairingID, &d.Name, &d.Platform, &d.PublicKey, &d.TOTPSecretSealed,
		&d.WebPush, &created, &confirmed, &disconnected)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Device")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: device: %w", err)
	}
	d.CreatedAt = time.UnixMicro(created).UTC()
	d.ConfirmedAt, d.DisconnectedAt = fromTS(confirmed), fromTS(disconnected)
	return d, nil
}

// CreateDevice stores a device.
func (s *Store) CreateDevice(ctx context.Context, d *deadbolt.Device, tokenHash []byte) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO devices (id, user_id, pairing_id, token_hash, name, platform,
		public_key, totp_secret, webpush, created_at, confirmed_at, disconnected_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.UserID, d.PairingID, tokenHash, d.Name, d.Platform, d.PublicKey, d.TOTPSecretSealed, d.WebPush,
		tsv(d.CreatedAt), ts(d.ConfirmedAt), ts(d.DisconnectedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create device: %w", err)
	}
	return nil
}

// DeviceByPairing returns the device registered through a pairing.
func (s *Store) DeviceByPairing(ctx context.Context, userID, pairingID string) (*deadbolt.Device, error) {
	return scanDevice(s.rdb.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE user_id = ? AND pairing_id = ?`, userID, pairingID))
}

// DeviceByToken returns the device with tokenHash.
func (s *Store) DeviceByToken(ctx context.Context, tokenHash []byte) (*deadbolt.Device, error) {
	return scanDevice(s.rdb.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE token_hash = ?`, tokenHash))
}

// TrustedDevice returns the user's confirmed, connected device.
func (s *Store) TrustedDevice(ctx context.Context, userID string) (*deadbolt.Device, error) {
	return scanDevice(s.rdb.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE user_id = ? AND confirmed_at IS NOT NULL AND disconnected_at IS NULL
		ORDER BY confirmed_at DESC LIMIT 1`, userID))
}

// ConfirmDevice makes the device trusted and voids the recovery codes.
func (s *Store) ConfirmDevice(ctx context.Context, userID, deviceID string, now time.Time) (int, error) {
	var voided int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET confirmed_at = ?
			WHERE id = ? AND user_id = ? AND confirmed_at IS NULL AND disconnected_at IS NULL`, tsv(now), deviceID, userID)
		if err != nil {
			return fmt.Errorf("sqlite: confirm device: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Device")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET disconnected_at = ?
			WHERE user_id = ? AND id <> ? AND disconnected_at IS NULL`, tsv(now), userID, deviceID); err != nil {
			return fmt.Errorf("sqlite: confirm device: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&voided); err != nil {
			return fmt.Errorf("sqlite: confirm device: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: confirm device: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET two_factor_since = coalesce(two_factor_since, ?1),
			device_disconnected_at = NULL, updated_at = ?1 WHERE id = ?2`, tsv(now), userID)
		if err != nil {
			return fmt.Errorf("sqlite: confirm device: %w", err)
		}
		return nil
	})
	return voided, err
}

// RemoveDevices disconnects every device of the user.
func (s *Store) RemoveDevices(ctx context.Context, userID string, now time.Time) (bool, error) {
	var trusted bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM devices
			WHERE user_id = ? AND disconnected_at IS NULL AND confirmed_at IS NOT NULL`, userID).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: remove devices: %w", err)
		}
		trusted = n > 0
		_, err := tx.ExecContext(ctx, `UPDATE devices SET disconnected_at = ? WHERE user_id = ? AND disconnected_at IS NULL`, tsv(now), userID)
		if err != nil {
			return fmt.Errorf("sqlite: remove devices: %w", err)
		}
		return nil
	})
	return trusted, err
}

// ResetTwoFactor turns the second factor off.
func (s *Store) ResetTwoFactor(ctx context.Context, userID string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET two_factor_since = NULL, device_disconnected_at = NULL,
			last_confirmed_at = NULL, updated_at = ? WHERE id = ?`, tsv(now), userID)
		if err != nil {
			return fmt.Errorf("sqlite: reset 2fa: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("User")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET disconnected_at = ? WHERE user_id = ? AND disconnected_at IS NULL`, tsv(now), userID); err != nil {
			return fmt.Errorf("sqlite: reset 2fa: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: reset 2fa: %w", err)
		}
		return nil
	})
}

// UseTOTPStep advances the last used step, atomically.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("sqlite: use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReplaceRecoveryCodes swaps the user's whole set of codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: replace recovery codes: %w", err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)`,
				deadbolt.NewID(), userID, h, tsv(now)); err != nil {
				return fmt.Errorf("sqlite: replace recovery codes: %w", err)
			}
		}
		return nil
	})
}

// ConsumeRecoveryCode uses up one code, atomically.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
		tsv(now), userID, hash)
	if err != nil {
		return false, fmt.Errorf("sqlite: consume recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CountRecoveryCodes counts unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count recovery codes: %w", err)
	}
	return n, nil
}

// SaveChallenge stores a CAPTCHA challenge.
func (s *Store) SaveChallenge(ctx context.Context, c deadbolt.Challenge) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO captchas (id, digits, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		c.ID, c.Digits, tsv(c.CreatedAt), tsv(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: save captcha: %w", err)
	}
	// Forget long-expired challenges now and then.
	if c.ID[0]%16 == 0 {
		s.wdb.ExecContext(ctx, `DELETE FROM captchas WHERE expires_at < ?`, tsv(c.CreatedAt.Add(-time.Hour)))
	}
	return nil
}

func scanChallenge(row scanner) (deadbolt.Challenge, error) {
	var c deadbolt.Challenge
	var created, expires int64
	err := row.Scan(&c.ID, &c.Digits, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("Challenge")
	}
	if err != nil {
		return c, fmt.Errorf("sqlite: captcha: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return c, nil
}

// Challenge returns an unused, unexpired challenge.
func (s *Store) Challenge(ctx context.Context, id string, now time.Time) (deadbolt.Challenge, error) {
	return scanChallenge(s.rdb.QueryRowContext(ctx, `SELECT id, digits, created_at, expires_at FROM captchas
		WHERE id = ? AND used_at IS NULL AND expires_at > ?`, id, tsv(now)))
}

// ConsumeChallenge uses up a challenge, atomically.
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) (deadbolt.Challenge, error) {
	return scanChallenge(s.wdb.QueryRowContext(ctx, `UPDATE captchas SET used_at = ?2
		WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING id, digits, created_at, expires_at`, id, tsv(now)))
}
