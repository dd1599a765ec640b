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

const sessionCols = `s.id, s.user_id, s.state, s.epoch, s.created_at, s.last_seen_at, s.expires_at,
	s.auth_at, s.method, s.ip, s.user_agent, s.amr`

const sessionByTokenSQL = `SELECT ` + sessionCols + `, ` + userCols + `
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE s.token_hash = ? AND s.epoch = u.session_epoch AND u.active = 1`

func sessionDest(s *deadbolt.Session) ([]any, func()) {
	var created, seen, expires, auth int64
	var amr string
	dest := []any{&s.ID, &s.UserID, &s.State, &s.Epoch, &created, &seen, &expires, &auth,
		&s.Method, &s.IP, &s.UserAgent, &amr}
	return dest, func() {
		s.CreatedAt = time.UnixMicro(created).UTC()
		s.LastSeenAt = time.UnixMicro(seen).UTC()
		s.ExpiresAt = time.UnixMicro(expires).UTC()
		s.AuthAt = time.UnixMicro(auth).UTC()
		s.AMR = splitAMR(amr)
	}
}

const insertSessionSQL = `INSERT INTO sessions (id, token_hash, user_id, state, epoch,
		created_at, last_seen_at, expires_at, auth_at, method, ip, user_agent, amr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func insertSession(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, s *deadbolt.Session, tokenHash []byte) error {
	_, err := ex.ExecContext(ctx, insertSessionSQL,
		s.ID, tokenHash, s.UserID, string(s.State), s.Epoch, tsv(s.CreatedAt), tsv(s.LastSeenAt),
		tsv(s.ExpiresAt), tsv(s.AuthAt), s.Method, s.IP, s.UserAgent, joinAMR(s.AMR))
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// CreateSession inserts s under tokenHash.
func (s *Store) CreateSession(ctx context.Context, sess *deadbolt.Session, tokenHash []byte) error {
	return insertSession(ctx, s.wdb, sess, tokenHash)
}

// SessionByToken returns the live-epoch session with tokenHash and its user.
func (s *Store) SessionByToken(ctx context.Context, tokenHash []byte) (*deadbolt.Session, *deadbolt.User, error) {
	sess, u := &deadbolt.Session{}, &deadbolt.User{}
	sd, sf := sessionDest(sess)
	ud, uf := userDest(u)
	err := s.rdb.QueryRowContext(ctx, sessionByTokenSQL, tokenHash).Scan(append(sd, ud...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("Session")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: session: %w", err)
	}
	sf()
	uf()
	return sess, u, nil
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	if _, err := s.wdb.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`,
		tsv(now), id, tsv(now)); err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// SetSessionAuth records a fresh proof.
func (s *Store) SetSessionAuth(ctx context.Context, id string, authAt time.Time, amr []string) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE sessions SET auth_at = ?, amr = ? WHERE id = ?`, tsv(authAt), joinAMR(amr), id)
	if err != nil {
		return fmt.Errorf("sqlite: session auth: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Session")
	}
	return nil
}

// ListSessions lists the user's current-epoch sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]*deadbolt.Session, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = ? AND s.epoch = u.session_epoch ORDER BY s.created_at DESC, s.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	defer rows.Close()
	var out []*deadbolt.Session
	for rows.Next() {
		sess := &deadbolt.Session{}
		d, f := sessionDest(sess)
		if err := rows.Scan(d...); err != nil {
			return nil, fmt.Errorf("sqlite: list sessions: %w", err)
		}
		f()
		out = append(out, sess)
	}
	return out, rows.Err()
}

// DeleteSession deletes a session of userID ("" for any user) and, in the
// same transaction, ends (as replaced) the push requests still pending for
// it.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND (? = '' OR user_id = ?)`, id, userID, userID)
		if err != nil {
			return fmt.Errorf("sqlite: delete session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Session")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE push_requests SET status = ? WHERE session_id = ? AND status = ?`,
			deadbolt.PushReplaced, id, deadbolt.PushPending); err != nil {
			return fmt.Errorf("sqlite: delete session: %w", err)
		}
		return nil
	})
}

// DeleteExpiredSessions removes ended sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?`,
		tsv(now), tsv(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// joinAMR and splitAMR store a session's method references as one
// space-separated column.
func joinAMR(amr []string) string { return strings.Join(amr, " ") }

func splitAMR(s string) []string { return strings.Fields(s) }
