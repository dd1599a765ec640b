package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

const userCols = `u.id, u.login, u.name, u.admin, u.active, u.password_hash, u.session_epoch,
	u.created_at, u.updated_at, u.two_factor_since, u.totp_last_step, u.phone,
	u.device_disconnected_at, u.last_confirmed_at, u.exempt_until, u.email, u.language,
	u.password_change_required`

// userDest returns scan destinations for userCols and a function that
// finishes the User after Scan.
func userDest(u *deadbolt.User) ([]any, func()) {
	var tfa, disc, conf, exempt *time.Time
	var phone *string
	dest := []any{&u.ID, &u.Login, &u.Name, &u.Admin, &u.Active, &u.PasswordHash, &u.SessionEpoch,
		&u.CreatedAt, &u.UpdatedAt, &tfa, &u.TOTPLastStep, &phone, &disc, &conf, &exempt, &u.Email, &u.Language,
		&u.PasswordChangeRequired}
	return dest, func() {
		u.CreatedAt = u.CreatedAt.UTC()
		u.UpdatedAt = u.UpdatedAt.UTC()
		u.TwoFactorSince = fromTS(tfa)
		if phone != nil {
			u.Phone = *phone
		}
		u.DeviceDisconnectedAt = fromTS(disc)
		u.LastConfirmedAt = fromTS(conf)
		u.ExemptUntil = fromTS(exempt)
	}
}

func scanUser(row scanner) (*deadbolt.User, error) {
	u := &deadbolt.User{}
	dest, finish := userDest(u)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	finish()
	return u, nil
}

// CreateUser inserts u. A taken login is CodeLoginTaken, a phone number
// already linked to someone else CodePhoneInUse.
func (s *Store) CreateUser(ctx context.Context, u *deadbolt.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (id, login, name, admin, active, password_hash,
		session_epoch, created_at, updated_at, two_factor_since, totp_last_step, phone,
		device_disconnected_at, last_confirmed_at, exempt_until, email, language, password_change_required)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		u.ID, u.Login, u.Name, u.Admin, u.Active, u.PasswordHash, u.SessionEpoch,
		u.CreatedAt, u.UpdatedAt, ts(u.TwoFactorSince), u.TOTPLastStep, nullStr(u.Phone),
		ts(u.DeviceDisconnectedAt), ts(u.LastConfirmedAt), ts(u.ExemptUntil), u.Email, u.Language, u.PasswordChangeRequired)
	switch uniqueViolation(err) {
	case "users_login_key":
		return deadbolt.StoreError(deadbolt.CodeLoginTaken, "postgres: login %q taken", u.Login)
	case "users_phone_key":
		return deadbolt.StoreError(deadbolt.CodePhoneInUse, "postgres: phone number in use")
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (*deadbolt.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users u WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("User")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: user: %w", err)
	}
	return u, nil
}

// UserByID returns the user with id, or CodeNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (*deadbolt.User, error) {
	return s.userWhere(ctx, "u.id = $1", id)
}

// UserByLogin returns the user with the canonical login, or CodeNotFound.
func (s *Store) UserByLogin(ctx context.Context, login string) (*deadbolt.User, error) {
	return s.userWhere(ctx, "u.login = $1", login)
}

// SetUserProfile replaces the user's name and email; an unknown user is
// CodeNotFound.
func (s *Store) SetUserProfile(ctx context.Context, userID, name, email string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET name = $2, email = $3, updated_at = $4 WHERE id = $1`,
		userID, name, email, now)
	if err != nil {
		return fmt.Errorf("postgres: set user profile: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("User")
	}
	return nil
}

// SetUserLanguage saves the language the user chose ("" for none).
func (s *Store) SetUserLanguage(ctx context.Context, userID, language string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET language = $2, updated_at = $3 WHERE id = $1`, userID, language, now)
	if err != nil {
		return fmt.Errorf("postgres: set user language: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("User")
	}
	return nil
}

// ListUsers lists every user by login.
func (s *Store) ListUsers(ctx context.Context) ([]*deadbolt.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.login`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	defer rows.Close()
	var out []*deadbolt.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	return out, nil
}

// CountUsers counts users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count users: %w", err)
	}
	return n, nil
}

// endDevices changes the user's devices as end says, in one statement: it
// disconnects every connected one and reports whether one of them was a
// trusted (confirmed) device, which it then records on the user when end
// says to mark it.
func endDevices(ctx context.Context, q querier, userID string, end deadbolt.SessionsEnd, now time.Time) (bool, error) {
	if !end.DisconnectDevices {
		return false, nil
	}
	var trusted bool
	err := q.QueryRow(ctx, `WITH d AS (
			UPDATE devices SET disconnected_at = $2
			WHERE user_id = $1 AND disconnected_at IS NULL
			RETURNING confirmed_at),
		m AS (
			UPDATE users SET device_disconnected_at = $2
			WHERE id = $1 AND $3::boolean AND EXISTS (SELECT 1 FROM d WHERE confirmed_at IS NOT NULL))
		SELECT EXISTS (SELECT 1 FROM d WHERE confirmed_at IS NOT NULL)`, userID, now, end.MarkDisconnected).Scan(&trusted)
	if err != nil {
		return false, fmt.Errorf("postgres: disconnect devices: %w", err)
	}
	return trusted, nil
}

// bumpEpoch moves the user to a new session epoch and returns it.
func bumpEpoch(ctx context.Context, q querier, userID string, now time.Time) (int64, error) {
	var epoch int64
	err := q.QueryRow(ctx, `UPDATE users SET session_epoch = session_epoch + 1, updated_at = $2
		WHERE id = $1 RETURNING session_epoch`, userID, now).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("User")
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: session epoch: %w", err)
	}
	return epoch, nil
}

// SetPassword stores a new hash, ends every session but keepSessionID
// (which moves to the new epoch) and changes the devices as end says, in
// one transaction. An unknown user is CodeNotFound.
func (s *Store) SetPassword(ctx context.Context, userID, hash, keepSessionID string, end deadbolt.SessionsEnd, now time.Time) (bool, error) {
	var disconnected bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		epoch, err := bumpEpoch(ctx, tx, userID, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, password_change_required = false WHERE id = $1`, userID, hash); err != nil {
			return fmt.Errorf("postgres: set password: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keepSessionID); err != nil {
			return fmt.Errorf("postgres: set password: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET epoch = $3 WHERE id = $2 AND user_id = $1`,
			userID, keepSessionID, epoch); err != nil {
			return fmt.Errorf("postgres: set password: %w", err)
		}
		disconnected, err = endDevices(ctx, tx, userID, end, now)
		return err
	})
	return disconnected, err
}

// RehashPassword swaps oldHash for newHash if it is still in place;
// otherwise it does nothing and returns nil.
func (s *Store) RehashPassword(ctx context.Context, userID, oldHash, newHash string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`,
		userID, oldHash, newHash); err != nil {
		return fmt.Errorf("postgres: rehash password: %w", err)
	}
	return nil
}

// EndAllSessions bumps the epoch, deletes the user's sessions and changes
// the devices as end says, in one transaction. An unknown user is
// CodeNotFound.
func (s *Store) EndAllSessions(ctx context.Context, userID string, end deadbolt.SessionsEnd, now time.Time) (bool, error) {
	var disconnected bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := bumpEpoch(ctx, tx, userID, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("postgres: end sessions: %w", err)
		}
		var err error
		disconnected, err = endDevices(ctx, tx, userID, end, now)
		return err
	})
	return disconnected, err
}

// SetActive activates or deactivates the user; deactivation also ends every
// session and changes the devices as end says, in the same transaction. An
// unknown user is CodeNotFound.
func (s *Store) SetActive(ctx context.Context, userID string, active bool, end deadbolt.SessionsEnd, rule deadbolt.AdminRule, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := applyAdminRule(ctx, tx, rule); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET active = $2, updated_at = $3 WHERE id = $1`, userID, active, now)
		if err != nil {
			return fmt.Errorf("postgres: set active: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("User")
		}
		if active {
			return nil
		}
		if _, err := bumpEpoch(ctx, tx, userID, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("postgres: set active: %w", err)
		}
		_, err = endDevices(ctx, tx, userID, end, now)
		return err
	})
}
