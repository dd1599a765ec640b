package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

const pushCols = `id, user_id, session_id, device_id, number, context, status, reported, created_at, expires_at, decided_at, purpose`

func scanPush(row scanner) (*deadbolt.PushRequest, error) {
	p := &deadbolt.PushRequest{}
	var ctxJSON string
	var created, expires int64
	var decided sql.NullInt64
	err := row.Scan(&p.ID, &p.UserID, &p.SessionID, &p.DeviceID, &p.Number, &ctxJSON, &p.Status, &p.Reported,
		&created, &expires, &decided, &p.Purpose)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Push request")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: push request: %w", err)
	}
	if err := json.Unmarshal([]byte(ctxJSON), &p.Context); err != nil {
		return nil, fmt.Errorf("sqlite: push context: %w", err)
	}
	p.CreatedAt, p.ExpiresAt, p.DecidedAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC(), fromTS(decided)
	return p, nil
}

// CreatePushRequest stores p, replacing the session's pending request.
func (s *Store) CreatePushRequest(ctx context.Context, p *deadbolt.PushRequest) error {
	c, err := json.Marshal(p.Context)
	if err != nil {
		return fmt.Errorf("sqlite: push context: %w", err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE push_requests SET status = ?, decided_at = ?
			WHERE session_id = ? AND status = ?`, deadbolt.PushReplaced, tsv(p.CreatedAt), p.SessionID, deadbolt.PushPending); err != nil {
			return fmt.Errorf("sqlite: create push request: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO push_requests (`+pushCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.SessionID, p.DeviceID, p.Number, string(c), p.Status, p.Reported,
			tsv(p.CreatedAt), tsv(p.ExpiresAt), ts(p.DecidedAt), purposeOf(p))
		if err != nil {
			return fmt.Errorf("sqlite: create push request: %w", err)
		}
		return nil
	})
}

// PushRequest returns a push request.
func (s *Store) PushRequest(ctx context.Context, id string) (*deadbolt.PushRequest, error) {
	return scanPush(s.rdb.QueryRowContext(ctx, `SELECT `+pushCols+` FROM push_requests WHERE id = ?`, id))
}

// PendingPushRequests lists the user's live pending requests.
func (s *Store) PendingPushRequests(ctx context.Context, userID string, now time.Time) ([]*deadbolt.PushRequest, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+pushCols+` FROM push_requests
		WHERE user_id = ? AND status = ? AND expires_at > ? ORDER BY created_at, id`, userID, deadbolt.PushPending, tsv(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending push requests: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.PushRequest{}
	for rows.Next() {
		p, err := scanPush(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DecidePushRequest decides a pending request, atomically.
func (s *Store) DecidePushRequest(ctx context.Context, id, deviceID, status string, reported bool, now time.Time) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `UPDATE push_requests SET status = ?, reported = ?, decided_at = ?
		WHERE id = ? AND device_id = ? AND status = ? AND expires_at > ?`,
		status, reported, tsv(now), id, deviceID, deadbolt.PushPending, tsv(now))
	if err != nil {
		return false, fmt.Errorf("sqlite: decide push request: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetDeviceWebPush replaces a device's Web Push subscription.
func (s *Store) SetDeviceWebPush(ctx context.Context, deviceID, subscription string) error {
	if _, err := s.wdb.ExecContext(ctx, `UPDATE devices SET webpush = ? WHERE id = ?`, subscription, deviceID); err != nil {
		return fmt.Errorf("sqlite: set webpush: %w", err)
	}
	return nil
}

// purposeOf is what a request asks, sign-in when unset.
func purposeOf(p *deadbolt.PushRequest) string {
	if p.Purpose == "" {
		return deadbolt.PushSignIn
	}
	return p.Purpose
}
