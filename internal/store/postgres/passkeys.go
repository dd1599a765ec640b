package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"deadbolt/internal/deadbolt"
)

const passkeyCols = `id, user_id, credential_id, public_key, sign_count, aaguid, backup_eligible, backup_state,
	user_verified, transports, attestation_format, name, created_at, last_used_at`

func scanPasskey(row scanner) (*deadbolt.Passkey, error) {
	p := &deadbolt.Passkey{}
	var transports string
	var used *time.Time
	err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.SignCount, &p.AAGUID, &p.BackupEligible,
		&p.BackupState, &p.UserVerified, &transports, &p.AttestationFormat, &p.Name, &p.CreatedAt, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Passkey")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: passkey: %w", err)
	}
	p.Transports = strings.Fields(transports)
	p.CreatedAt, p.LastUsedAt = p.CreatedAt.UTC(), fromTS(used)
	return p, nil
}

// Passkeys lists the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID string) ([]*deadbolt.Passkey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: passkeys: %w", err)
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
		return nil, fmt.Errorf("postgres: passkeys: %w", err)
	}
	return out, nil
}

// PasskeyByCredentialID returns the passkey with a raw credential id.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*deadbolt.Passkey, error) {
	return scanPasskey(s.pool.QueryRow(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = $1`, credentialID))
}

// RenamePasskey renames one of the user's passkeys.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID)
	if err != nil {
		return fmt.Errorf("postgres: rename passkey: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Passkey")
	}
	return nil
}

// SavePasskeyChallenge stores a ceremony's challenge.
func (s *Store) SavePasskeyChallenge(ctx context.Context, c *deadbolt.PasskeyChallenge) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO passkey_challenges (id, challenge, purpose, user_id, ceremony, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.Challenge, c.Purpose, c.UserID, c.Ceremony, c.CreatedAt, c.ExpiresAt)
	if uniqueViolation(err) != "" {
		return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: passkey challenge exists")
	}
	if err != nil {
		return fmt.Errorf("postgres: save passkey challenge: %w", err)
	}
	return nil
}

// DeleteExpiredPasskeyChallenges deletes the challenges that expired
// before before.
func (s *Store) DeleteExpiredPasskeyChallenges(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM passkey_challenges WHERE expires_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired passkey challenges: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ConsumePasskeyChallenge uses up a live challenge of purpose, atomically.
func (s *Store) ConsumePasskeyChallenge(ctx context.Context, challenge, purpose string, now time.Time) (*deadbolt.PasskeyChallenge, error) {
	c := &deadbolt.PasskeyChallenge{}
	err := s.pool.QueryRow(ctx, `UPDATE passkey_challenges SET used_at = $1
		WHERE challenge = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
		RETURNING id, challenge, purpose, user_id, ceremony, created_at, expires_at, used_at`, now, challenge, purpose).
		Scan(&c.ID, &c.Challenge, &c.Purpose, &c.UserID, &c.Ceremony, &c.CreatedAt, &c.ExpiresAt, &c.UsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Passkey challenge")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: consume passkey challenge: %w", err)
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC(), c.UsedAt.UTC()
	return c, nil
}

// errPasskeyLimit rolls a factor change back when the user has as many
// passkeys as allowed.
var errPasskeyLimit = deadbolt.StoreError(deadbolt.CodeLimitReached, "postgres: passkey limit reached")

// queuePasskeys queues the passkey steps of a factor change. The batch's
// first statement updated the user's row, so its lock serialises
// concurrent changes of the same user: the count below sees every
// passkey committed before.
func queuePasskeys(b *pgx.Batch, c *deadbolt.FactorChange) {
	if p := c.AddPasskey; p != nil {
		b.Queue(`INSERT INTO passkeys (`+passkeyCols+`)
			SELECT $1::text, $2::text, $3::bytea, $4::bytea, $5::bigint, $6::bytea, $7::boolean, $8::boolean,
				$9::boolean, $10::text, $11::text, $12::text, $13::timestamptz, $14::timestamptz
			WHERE (SELECT count(*) FROM passkeys WHERE user_id = $2) < $15::bigint`,
			p.ID, c.UserID, p.CredentialID, p.PublicKey, p.SignCount, p.AAGUID, p.BackupEligible, p.BackupState,
			p.UserVerified, strings.Join(p.Transports, " "), p.AttestationFormat, p.Name, p.CreatedAt, ts(p.LastUsedAt),
			c.MaxPasskeys).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return errPasskeyLimit
			}
			return nil
		})
	}
	if c.RemovePasskeyID != "" {
		b.Queue(`DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, c.RemovePasskeyID, c.UserID).
			Exec(func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() == 0 {
					return notFound("Passkey")
				}
				return nil
			})
	}
	if c.DeletePasskeys {
		b.Queue(`DELETE FROM passkeys WHERE user_id = $1`, c.UserID)
	}
}

// passkeyTaken reports whether err is the unique violation of a credential
// id registered already.
func passkeyTaken(err error) bool { return uniqueViolation(err) == "passkeys_credential_id_key" }
