package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

const sessionCols = `s.id, s.user_id, s.state, s.epoch, s.created_at, s.last_seen_at, s.expires_at,
	s.auth_at, s.method, s.ip, s.user_agent, s.amr`

// sessionByTokenSQL is the hottest query of the service: pgx prepares it
// once per connection and reuses the plan.
const sessionByTokenSQL = `SELECT ` + sessionCols + `, ` + userCols + `
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE s.token_hash = $1 AND s.epoch = u.session_epoch AND u.active`

// sessionDest returns scan destinations for sessionCols and a function that
// finishes the Session after Scan.
func sessionDest(s *deadbolt.Session) ([]any, func()) {
	var state, amr string
	dest := []any{&s.ID, &s.UserID, &state, &s.Epoch, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.AuthAt,
		&s.Method, &s.IP, &s.UserAgent, &amr}
	return dest, func() {
		s.State = deadbolt.SessionState(state)
		s.CreatedAt = s.CreatedAt.UTC()
		s.LastSeenAt = s.LastSeenAt.UTC()
		s.ExpiresAt = s.ExpiresAt.UTC()
		s.AuthAt = s.AuthAt.UTC()
		s.AMR = splitAMR(amr)
	}
}

func insertSession(ctx context.Context, q querier, s *deadbolt.Session, tokenHash []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO sessions (id, token_hash, user_id, state, epoch,
		created_at, last_seen_at, expires_at, auth_at, method, ip, user_agent, amr)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.ID, tokenHash, s.UserID, string(s.State), s.Epoch, s.CreatedAt, s.LastSeenAt,
		s.ExpiresAt, s.AuthAt, s.Method, s.IP, s.UserAgent, joinAMR(s.AMR))
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	return nil
}

// CreateSession inserts sess under tokenHash.
func (s *Store) CreateSession(ctx context.Context, sess *deadbolt.Session, tokenHash []byte) error {
	return insertSession(ctx, s.pool, sess, tokenHash)
}

// SessionByToken returns the session with tokenHash and its user while the
// session carries the user's current epoch and the user is active;
// otherwise CodeNotFound.
func (s *Store) SessionByToken(ctx context.Context, tokenHash []byte) (*deadbolt.Session, *deadbolt.User, error) {
	sess, u := &deadbolt.Session{}, &deadbolt.User{}
	sd, sf := sessionDest(sess)
	ud, uf := userDest(u)
	err := s.pool.QueryRow(ctx, sessionByTokenSQL, tokenHash).Scan(append(sd, ud...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, notFound("Session")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: session: %w", err)
	}
	sf()
	uf()
	return sess, u, nil
}

// TouchSession records activity at now; it never moves the time back and
// ignores unknown sessions.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`,
		id, now); err != nil {
		return fmt.Errorf("postgres: touch session: %w", err)
	}
	return nil
}

// SetSessionAuth records a fresh proof at authAt; an unknown session is
// CodeNotFound.
func (s *Store) SetSessionAuth(ctx context.Context, id string, authAt time.Time, amr []string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET auth_at = $2, amr = $3 WHERE id = $1`, id, authAt, joinAMR(amr))
	if err != nil {
		return fmt.Errorf("postgres: session auth: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Session")
	}
	return nil
}

// ListSessions lists the user's current-epoch sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]*deadbolt.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = $1 AND s.epoch = u.session_epoch ORDER BY s.created_at DESC, s.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	defer rows.Close()
	var out []*deadbolt.Session
	for rows.Next() {
		sess := &deadbolt.Session{}
		d, f := sessionDest(sess)
		if err := rows.Scan(d...); err != nil {
			return nil, fmt.Errorf("postgres: list sessions: %w", err)
		}
		f()
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	return out, nil
}

// DeleteSession deletes the session id of userID ("" for any user); a
// missing session is CodeNotFound.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	// One statement: the session goes, and so do the push requests still
	// pending for it (replaced).
	var n int
	err := s.pool.QueryRow(ctx, `WITH gone AS (
			DELETE FROM sessions WHERE id = $1 AND ($2 = '' OR user_id = $2) RETURNING id
		), ended AS (
			UPDATE push_requests SET status = $3 WHERE session_id IN (SELECT id FROM gone) AND status = $4
		)
		SELECT count(*) FROM gone`, id, userID, deadbolt.PushReplaced, deadbolt.PushPending).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	if n == 0 {
		return notFound("Session")
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their absolute expiry at now
// or idle since before idleBefore, and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2`, now, idleBefore)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// joinAMR and splitAMR store a session's method references as one
// space-separated column.
func joinAMR(amr []string) string { return strings.Join(amr, " ") }

func splitAMR(s string) []string { return strings.Fields(s) }
