package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// errStepUsed rolls a factor change back when its TOTP step was used.
var errStepUsed = errors.New("totp step already used")

// ChangeFactors writes a factor change in one transaction, its statements
// sent together in one round trip. Its first statement updates the user's
// row, which also serialises factor changes of one user.
func (s *Store) ChangeFactors(ctx context.Context, c *deadbolt.FactorChange) (deadbolt.FactorChangeResult, error) {
	var res deadbolt.FactorChangeResult
	set := "updated_at = $1"
	switch c.TwoFactor {
	case deadbolt.TwoFactorOn:
		set += ", two_factor_since = coalesce(two_factor_since, $1)"
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
	b := &pgx.Batch{}
	if g := c.Guard; g != nil {
		// As in a completion: the delete re-checks a row a concurrent hit
		// changed, and a later hit waits for this transaction.
		b.Queue(`DELETE FROM counters WHERE key = $1 AND (n < $2 OR n = $3)`, g.Key, g.Below, g.Own)
		b.Queue(`SELECT count(*) FROM counters WHERE key = $1 AND n >= $2 AND n <> $3`, g.Key, g.Below, g.Own).
			QueryRow(func(row pgx.Row) error {
				var kept int64
				if err := row.Scan(&kept); err != nil {
					return err
				}
				if kept > 0 {
					return guarded(g)
				}
				return nil
			})
	}
	b.Queue(`UPDATE users SET `+set+` WHERE id = $2`, c.Now, c.UserID).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return notFound("User")
		}
		return nil
	})
	if c.ConfirmDeviceID != "" {
		b.Queue(`UPDATE devices SET confirmed_at = $1
			WHERE id = $2 AND user_id = $3 AND confirmed_at IS NULL AND disconnected_at IS NULL`,
			c.Now, c.ConfirmDeviceID, c.UserID).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return notFound("Device")
			}
			return nil
		})
	}
	if c.TOTPStep > 0 {
		b.Queue(`UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`,
			c.TOTPStep, c.UserID).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return errStepUsed
			}
			return nil
		})
	}
	if c.Disconnect != deadbolt.DisconnectNone {
		keep := ""
		if c.Disconnect == deadbolt.DisconnectOthers {
			keep = c.ConfirmDeviceID
		}
		b.Queue(`WITH gone AS (UPDATE devices SET disconnected_at = $1
				WHERE user_id = $2 AND id <> $3 AND disconnected_at IS NULL RETURNING confirmed_at)
			SELECT count(*) FROM gone WHERE confirmed_at IS NOT NULL`, c.Now, c.UserID, keep).
			QueryRow(func(row pgx.Row) error {
				var n int
				err := row.Scan(&n)
				res.DisconnectedTrusted = n > 0
				return err
			})
	}
	if c.DeleteRecoveryCodes {
		b.Queue(`WITH gone AS (DELETE FROM recovery_codes WHERE user_id = $1 RETURNING used_at)
			SELECT count(*) FROM gone WHERE used_at IS NULL`, c.UserID).
			QueryRow(func(row pgx.Row) error { return row.Scan(&res.VoidedRecoveryCodes) })
	}
	if c.EndSessions {
		b.Queue(`DELETE FROM sessions WHERE user_id = $1`, c.UserID)
	}
	queuePasskeys(b, c)
	for _, e := range c.Events {
		detail := e.Detail
		if detail == nil {
			detail = map[string]string{}
		}
		b.Queue(`INSERT INTO events (type, at, user_id, actor_id, ip, detail)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, e.Type, e.At, e.UserID, e.ActorID, e.IP, detail).
			QueryRow(func(row pgx.Row) error {
				var id int64
				if err := row.Scan(&id); err != nil {
					return err
				}
				e.ID = strconv.FormatInt(id, 10)
				return nil
			})
	}
	var ruleErr error
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if ruleErr = applyAdminRule(ctx, tx, c.AdminRule); ruleErr != nil {
			return ruleErr
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		for _, e := range c.Events {
			e.ID = ""
		}
		if ruleErr != nil {
			return deadbolt.FactorChangeResult{}, ruleErr
		}
		if errors.Is(err, errStepUsed) {
			return deadbolt.FactorChangeResult{}, nil
		}
		if c := deadbolt.ErrorCode(err); c == deadbolt.CodeNotFound || c == deadbolt.CodeLimitReached || c == deadbolt.CodeLocked {
			return deadbolt.FactorChangeResult{}, err
		}
		if passkeyTaken(err) {
			return deadbolt.FactorChangeResult{}, deadbolt.StoreError(deadbolt.CodeConflict, "postgres: passkey credential registered already")
		}
		return deadbolt.FactorChangeResult{}, fmt.Errorf("postgres: change factors: %w", err)
	}
	res.Applied = true
	return res, nil
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
