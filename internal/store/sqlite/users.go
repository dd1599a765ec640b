package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

const userCols = `u.id, u.login, u.name, u.admin, u.active, u.password_hash, u.session_epoch,
	u.created_at, u.updated_at, u.two_factor_since, u.totp_last_step, u.phone,
	u.device_disconnected_at, u.last_confirmed_at, u.exempt_until, u.email, u.language,
	u.password_change_required`

type scanner interface{ Scan(...any) error }

// userDest returns scan destinations for userCols and a function that
// finishes the User after Scan.
func userDest(u *deadbolt.User) ([]any, func()) {
	var created, updated int64
	var tfa, disc, conf, exempt sql.NullInt64
	var phone sql.NullString
	dest := []any{&u.ID, &u.Login, &u.Name, &u.Admin, &u.Active, &u.PasswordHash, &u.SessionEpoch,
		&created, &updated, &tfa, &u.TOTPLastStep, &phone, &disc, &conf, &exempt, &u.Email, &u.Language,
		&u.PasswordChangeRequired}
	return dest, func() {
		u.CreatedAt = time.UnixMicro(created).UTC()
		u.UpdatedAt = time.UnixMicro(updated).UTC()
		u.TwoFactorSince = fromTS(tfa)
		u.Phone = phone.String
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

// CreateUser inserts u; a taken login is CodeLoginTaken, a phone number
// already linked to someone else CodePhoneInUse.
func (s *Store) CreateUser(ctx context.Context, u *deadbolt.User) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO users (id, login, name, admin, active, password_hash,
		session_epoch, created_at, updated_at, two_factor_since, totp_last_step, phone,
		device_disconnected_at, last_confirmed_at, exempt_until, email, language, password_change_required)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Login, u.Name, u.Admin, u.Active, u.PasswordHash, u.SessionEpoch,
		tsv(u.CreatedAt), tsv(u.UpdatedAt), ts(u.TwoFactorSince), u.TOTPLastStep, nullStr(u.Phone),
		ts(u.DeviceDisconnectedAt), ts(u.LastConfirmedAt), ts(u.ExemptUntil), u.Email, u.Language, u.PasswordChangeRequired)
	if phoneTaken(err) {
		return phoneInUse()
	}
	if isUnique(err) {
		return deadbolt.StoreError(deadbolt.CodeLoginTaken, "sqlite: login %q taken", u.Login)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (*deadbolt.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: user: %w", err)
	}
	return u, nil
}

// UserByID returns the user with id.
func (s *Store) UserByID(ctx context.Context, id string) (*deadbolt.User, error) {
	return s.userWhere(ctx, "u.id = ?", id)
}

// UserByLogin returns the user with the canonical login.
func (s *Store) UserByLogin(ctx context.Context, login string) (*deadbolt.User, error) {
	return s.userWhere(ctx, "u.login = ?", login)
}

// SetUserProfile replaces the user's name and email.
func (s *Store) SetUserProfile(ctx context.Context, userID, name, email string, now time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE users SET name = ?, email = ?, updated_at = ? WHERE id = ?`,
		name, email, tsv(now), userID)
	if err != nil {
		return fmt.Errorf("sqlite: set user profile: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("User")
	}
	return nil
}

// SetUserLanguage saves the language the user chose ("" for none).
func (s *Store) SetUserLanguage(ctx context.Context, userID, language string, now time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE users SET language = ?, updated_at = ? WHERE id = ?`,
		language, tsv(now), userID)
	if err != nil {
		return fmt.Errorf("sqlite: set user language: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("User")
	}
	return nil
}

// ListUsers lists every user by login.
func (s *Store) ListUsers(ctx context.Context) ([]*deadbolt.User, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.login`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []*deadbolt.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers counts users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count users: %w", err)
	}
	return n, nil
}

// endDevices changes the user's devices as end says: it disconnects every
// connected one and reports whether one of them was a trusted (confirmed)
// device, which it then records on the user when end says to mark it.
func endDevices(ctx context.Context, tx *sql.Tx, userID string, end deadbolt.SessionsEnd, now time.Time) (bool, error) {
	if !end.DisconnectDevices {
		return false, nil
	}
	var trusted int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM devices
		WHERE user_id = ? AND disconnected_at IS NULL AND confirmed_at IS NOT NULL`, userID).Scan(&trusted)
	if err != nil {
		return false, fmt.Errorf("sqlite: disconnect devices: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET disconnected_at = ?
		WHERE user_id = ? AND disconnected_at IS NULL`, tsv(now), userID); err != nil {
		return false, fmt.Errorf("sqlite: disconnect devices: %w", err)
	}
	if trusted > 0 && end.MarkDisconnected {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET device_disconnected_at = ? WHERE id = ?`,
			tsv(now), userID); err != nil {
			return false, fmt.Errorf("sqlite: disconnect devices: %w", err)
		}
	}
	return trusted > 0, nil
}

// bumpEpoch moves the user to a new session epoch and returns it.
func bumpEpoch(ctx context.Context, tx *sql.Tx, userID string, now time.Time) (int64, error) {
	var epoch int64
	err := tx.QueryRowContext(ctx, `UPDATE users SET session_epoch = session_epoch + 1, updated_at = ?
		WHERE id = ? RETURNING session_epoch`, tsv(now), userID).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("User")
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: session epoch: %w", err)
	}
	return epoch, nil
}

// SetPassword stores a new hash, ends every other session and changes the
// devices as end says, in one transaction.
func (s *Store) SetPassword(ctx context.Context, userID, hash, keepSessionID string, end deadbolt.SessionsEnd, now time.Time) (bool, error) {
	var disconnected bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		epoch, err := bumpEpoch(ctx, tx, userID, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_change_required = 0 WHERE id = ?`, hash, userID); err != nil {
			return fmt.Errorf("sqlite: set password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keepSessionID); err != nil {
			return fmt.Errorf("sqlite: set password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET epoch = ? WHERE id = ?`, epoch, keepSessionID); err != nil {
			return fmt.Errorf("sqlite: set password: %w", err)
		}
		disconnected, err = endDevices(ctx, tx, userID, end, now)
		return err
	})
	return disconnected, err
}

// RehashPassword swaps oldHash for newHash if it is still in place.
func (s *Store) RehashPassword(ctx context.Context, userID, oldHash, newHash string) error {
	if _, err := s.wdb.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`,
		newHash, userID, oldHash); err != nil {
		return fmt.Errorf("sqlite: rehash password: %w", err)
	}
	return nil
}

// EndAllSessions bumps the epoch, deletes the user's sessions and changes
// the devices as end says.
func (s *Store) EndAllSessions(ctx context.Context, userID string, end deadbolt.SessionsEnd, now time.Time) (bool, error) {
	var disconnected bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := bumpEpoch(ctx, tx, userID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: end sessions: %w", err)
		}
		var err error
		disconnected, err = endDevices(ctx, tx, userID, end, now)
		return err
	})
	return disconnected, err
}

// SetActive activates or deactivates the user; deactivation ends every
// session and changes the devices as end says.
func (s *Store) SetActive(ctx context.Context, userID string, active bool, end deadbolt.SessionsEnd, rule deadbolt.AdminRule, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := applyAdminRule(ctx, tx, rule); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET active = ?, updated_at = ? WHERE id = ?`, active, tsv(now), userID)
		if err != nil {
			return fmt.Errorf("sqlite: set active: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("User")
		}
		if active {
			return nil
		}
		if _, err := bumpEpoch(ctx, tx, userID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sqlite: set active: %w", err)
		}
		_, err = endDevices(ctx, tx, userID, end, now)
		return err
	})
}
