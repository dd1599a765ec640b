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

const passkeyCols = `id, user_id, credential_id, public_key, sign_count, aaguid, backup_eligible, backup_state,
	user_verified, transports, attestation_format, name, created_at, last_used_at`

func scanPasskey(row scanner) (*deadbolt.Passkey, error) {
	p := &deadbolt.Passkey{}
	var transports string
	var created int64
	var used sql.NullInt64
	err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.SignCount, &p.AAGUID, &p.BackupEligible,
		&p.BackupState, &p.UserVerified, &transports, &p.AttestationFormat, &p.Name, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Passkey")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: passkey: %w", err)
	}
	p.Transports = strings.Fields(transports)
	p.CreatedAt, p.LastUsedAt = time.UnixMicro(created).UTC(), fromTS(used)
	return p, nil
}

// Passkeys lists the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID string) ([]*deadbolt.Passkey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: passkeys: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: passkeys: %w", err)
	}
	return out, nil
}

// PasskeyByCredentialID returns the passkey with a raw credential id.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*deadbolt.Passkey, error) {
	return scanPasskey(s.rdb.QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = ?`, credentialID))
}

// RenamePasskey renames one of the user's passkeys.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return fmt.Errorf("sqlite: rename passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Passkey")
	}
	return nil
}

// SavePasskeyChallenge stores a ceremony's challenge.
func (s *Store) SavePasskeyChallenge(ctx context.Context, c *deadbolt.PasskeyChallenge) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO passkey_challenges (id, challenge, purpose, user_id, ceremony, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Challenge, c.Purpose, c.UserID, c.Ceremony, tsv(c.CreatedAt), tsv(c.ExpiresAt))
	if isUnique(err) {
		return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: passkey challenge exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: save passkey challenge: %w", err)
	}
	return nil
}

// DeleteExpiredPasskeyChallenges deletes the challenges that expired
// before before.
func (s *Store) DeleteExpiredPasskeyChallenges(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM passkey_challenges WHERE expires_at < ?`, tsv(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired passkey challenges: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ConsumePasskeyChallenge uses up a live challenge of purpose, atomically.
func (s *Store) ConsumePasskeyChallenge(ctx context.Context, challenge, purpose string, now time.Time) (*deadbolt.PasskeyChallenge, error) {
	c := &deadbolt.PasskeyChallenge{}
	var created, expires, used int64
	err := s.wdb.QueryRowContext(ctx, `UPDATE passkey_challenges SET used_at = ?1
		WHERE challenge = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1
		RETURNING id, challenge, purpose, user_id, ceremony, created_at, expires_at, used_at`, tsv(now), challenge, purpose).
		Scan(&c.ID, &c.Challenge, &c.Purpose, &c.UserID, &c.Ceremony, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Passkey challenge")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: consume passkey challenge: %w", err)
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC(), time.UnixMicro(used).UTC()
	return c, nil
}

// errPasskeyLimit rolls a factor change back when the user has as many
// passkeys as allowed.
var errPasskeyLimit = deadbolt.StoreError(deadbolt.CodeLimitReached, "sqlite: passkey limit reached")

// changePasskeys applies the passkey steps of a factor change in tx.
func changePasskeys(ctx context.Context, tx execQuerier, c *deadbolt.FactorChange) error {
	if p := c.AddPasskey; p != nil {
		res, err := tx.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyCols+`)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
			WHERE (SELECT count(*) FROM passkeys WHERE user_id = ?) < ?`,
			p.ID, c.UserID, p.CredentialID, p.PublicKey, p.SignCount, p.AAGUID, p.BackupEligible, p.BackupState,
			p.UserVerified, strings.Join(p.Transports, " "), p.AttestationFormat, p.Name, tsv(p.CreatedAt), ts(p.LastUsedAt),
			c.UserID, c.MaxPasskeys)
		if isUnique(err) {
			return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: passkey credential registered already")
		}
		if err != nil {
			return fmt.Errorf("sqlite: change factors: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errPasskeyLimit
		}
	}
	if c.RemovePasskeyID != "" {
		res, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, c.RemovePasskeyID, c.UserID)
		if err != nil {
			return fmt.Errorf("sqlite: change factors: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Passkey")
		}
	}
	if c.DeletePasskeys {
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ?`, c.UserID); err != nil {
			return fmt.Errorf("sqlite: change factors: %w", err)
		}
	}
	return nil
}

// usePasskey records a verified assertion in a completion: the counter
// moves forward (or stays at 0 for authenticators without one); anything
// else means the proof was used.
func usePasskey(ctx context.Context, tx execQuerier, userID string, u *deadbolt.PasskeyUse, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE passkeys SET sign_count = ?1, backup_state = ?2, last_used_at = ?3
		WHERE id = ?4 AND user_id = ?5 AND (sign_count < ?1 OR (sign_count = 0 AND ?1 = 0))`,
		u.SignCount, u.BackupState, tsv(now), u.ID, userID)
	if err != nil {
		return fmt.Errorf("sqlite: complete second factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errProofUsed
	}
	return nil
}
