package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

const pushCols = `id, user_id, session_id, device_id, number, context, status, reported, created_at, expires_at, decided_at, purpose`

func scanPush(row scanner) (*deadbolt.PushRequest, error) {
	p := &deadbolt.PushRequest{}
	var ctxJSON []byte
	var decided *time.Time
	err := row.Scan(&p.ID, &p.UserID, &p.SessionID, &p.DeviceID, &p.Number, &ctxJSON, &p.Status, &p.Reported,
		&p.CreatedAt, &p.ExpiresAt, &decided, &p.Purpose)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Push request")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: push request: %w", err)
	}
	if err := json.Unmarshal(ctxJSON, &p.Context); err != nil {
		return nil, fmt.Errorf("postgres: push context: %w", err)
	}
	p.CreatedAt, p.ExpiresAt, p.DecidedAt = p.CreatedAt.UTC(), p.ExpiresAt.UTC(), fromTS(decided)
	return p, nil
}

// CreatePushRequest stores p, replacing the session's pending request.
func (s *Store) CreatePushRequest(ctx context.Context, p *deadbolt.PushRequest) error {
	c, err := json.Marshal(p.Context)
	if err != nil {
		return fmt.Errorf("postgres: push context: %w", err)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE push_requests SET status = $1, decided_at = $2
			WHERE session_id = $3 AND status = $4`, deadbolt.PushReplaced, p.CreatedAt, p.SessionID, deadbolt.PushPending); err != nil {
			return fmt.Errorf("postgres: create push request: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO push_requests (`+pushCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			p.ID, p.UserID, p.SessionID, p.DeviceID, p.Number, c, p.Status, p.Reported,
			p.CreatedAt, p.ExpiresAt, ts(p.DecidedAt), purposeOf(p))
		if err != nil {
			return fmt.Errorf("postgres: create push request: %w", err)
		}
		return nil
	})
}

// PushRequest returns a push request.
func (s *Store) PushRequest(ctx context.Context, id string) (*deadbolt.PushRequest, error) {
	return scanPush(s.pool.QueryRow(ctx, `SELECT `+pushCols+` FROM push_requests WHERE id = $1`, id))
}

// PendingPushRequests lists the user's live pending requests.
func (s *Store) PendingPushRequests(ctx context.Context, userID string, now time.Time) ([]*deadbolt.PushRequest, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+pushCols+` FROM push_requests
		WHERE user_id = $1 AND status = $2 AND expires_at > $3 ORDER BY created_at, id`, userID, deadbolt.PushPending, now)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending push requests: %w", err)
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
	tag, err := s.pool.Exec(ctx, `UPDATE push_requests SET status = $1, reported = $2, decided_at = $3
		WHERE id = $4 AND device_id = $5 AND status = $6 AND expires_at > $3`,
		status, reported, now, id, deviceID, deadbolt.PushPending)
	if err != nil {
		return false, fmt.Errorf("postgres: decide push request: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetDeviceWebPush replaces a device's Web Push subscription.
func (s *Store) SetDeviceWebPush(ctx context.Context, deviceID, subscription string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE devices SET webpush = $1 WHERE id = $2`, subscription, deviceID); err != nil {
		return fmt.Errorf("postgres: set webpush: %w", err)
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
