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

// errStepUsed rolls a factor change back when its TOTP step was used.
var errStepUsed = errors.New("totp step already used")

// ChangeFactors writes a factor change in one transaction.
func (s *Store) ChangeFactors(ctx context.Context, c *deadbolt.FactorChange) (deadbolt.FactorChangeResult, error) {
	var res deadbolt.FactorChangeResult
	set := "updated_at = ?1"
	switch c.TwoFactor {
	case deadbolt.TwoFactorOn:
		set += ", two_factor_since = coalesce(two_factor_since, ?1)"
	case deadbolt.TwoFactorOff:
		set += ", two_factor_since = NULL"
	}
	if c.ClearDeviceDisconnected {
		set += ", device_disconnected_at = NULL"
	}
	if c.ClearLastConfirmed {
		set += ", last_confirmed_at = NULL"
	}
	if c.EndSessions {
		set += ", session_epoch = session_epoch + 1"
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now, user := tsv(c.Now), c.UserID
		if g := c.Guard; g != nil {
			// The writer serialises every write: nothing moves the counter
			// between these statements.
			r, err := tx.ExecContext(ctx, guardDeleteSQL, g.Key, g.Below, g.Own)
			if err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				var kept int
				if err := tx.QueryRowContext(ctx, guardKeptSQL, g.Key, g.Below, g.Own).Scan(&kept); err != nil {
					return fmt.Errorf("sqlite: change factors: %w", err)
				}
				if kept > 0 {
					return guarded(g)
				}
			}
		}
		if err := applyAdminRule(ctx, tx, c.AdminRule); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE users SET `+set+` WHERE id = ?2`, now, user)
		if err != nil {
			return fmt.Errorf("sqlite: change factors: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return notFound("User")
		}
		if c.ConfirmDeviceID != "" {
			r, err := tx.ExecContext(ctx, `UPDATE devices SET confirmed_at = ?
				WHERE id = ? AND user_id = ? AND confirmed_at IS NULL AND disconnected_at IS NULL`, now, c.ConfirmDeviceID, user)
			if err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				return notFound("Device")
			}
		}
		if c.TOTPStep > 0 {
			r, err := tx.ExecContext(ctx, `UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_last_step < ?1`, c.TOTPStep, user)
			if err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				return errStepUsed
			}
		}
		if c.Disconnect != deadbolt.DisconnectNone {
			keep := ""
			if c.Disconnect == deadbolt.DisconnectOthers {
				keep = c.ConfirmDeviceID
			}
			var trusted int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM devices
				WHERE user_id = ? AND id <> ? AND disconnected_at IS NULL AND confirmed_at IS NOT NULL`, user, keep).Scan(&trusted); err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
			res.DisconnectedTrusted = trusted > 0
			if _, err := tx.ExecContext(ctx, `UPDATE devices SET disconnected_at = ?
				WHERE user_id = ? AND id <> ? AND disconnected_at IS NULL`, now, user, keep); err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
		}
		if c.DeleteRecoveryCodes {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, user).Scan(&res.VoidedRecoveryCodes); err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, user); err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
		}
		if c.EndSessions {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, user); err != nil {
				return fmt.Errorf("sqlite: change factors: %w", err)
			}
		}
		if err := changePasskeys(ctx, tx, c); err != nil {
			return err
		}
		for _, e := range c.Events {
			if err := appendEvent(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errStepUsed) {
		for _, e := range c.Events {
			e.ID = ""
		}
		return deadbolt.FactorChangeResult{}, nil
	}
	if err != nil {
		for _, e := range c.Events {
			e.ID = ""
		}
		return deadbolt.FactorChangeResult{}, err
	}
	res.Applied = true
	return res, nil
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
