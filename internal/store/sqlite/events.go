package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"deadbolt/internal/deadbolt"
)

// AppendEvent stores e and fills in its ID.
func (s *Store) AppendEvent(ctx context.Context, e *deadbolt.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return appendEvent(ctx, tx, e) })
}

// appendEvent inserts e within tx and fills in its ID.
const insertEventSQL = `INSERT INTO events (type, at, user_id, actor_id, ip, detail)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`

func appendEvent(ctx context.Context, tx execQuerier, e *deadbolt.Event) error {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("sqlite: append event: %w", err)
	}
	if e.Detail == nil {
		detail = []byte("{}")
	}
	var id int64
	err = tx.QueryRowContext(ctx, insertEventSQL, e.Type, tsv(e.At), e.UserID, e.ActorID, e.IP, string(detail)).Scan(&id)
	if err != nil {
		return fmt.Errorf("sqlite: append event: %w", err)
	}
	e.ID = strconv.FormatInt(id, 10)
	return nil
}

// Events lists events matching f, newest first.
func (s *Store) Events(ctx context.Context, f deadbolt.EventFilter) ([]*deadbolt.Event, error) {
	var where []string
	var args []any
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, tsv(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, tsv(f.Until))
	}
	if f.BeforeID != "" {
		before, err := strconv.ParseInt(f.BeforeID, 10, 64)
		if err != nil {
			return nil, deadbolt.StoreError(deadbolt.CodeInvalidInput, "sqlite: paging cursor %q is not an event id", f.BeforeID)
		}
		where, args = append(where, "id < ?"), append(args, before)
	}
	q := `SELECT id, type, at, user_id, actor_id, ip, detail FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	return scanEvents(rows)
}

func scanEvents(rows *readRows) ([]*deadbolt.Event, error) {
	out := []*deadbolt.Event{}
	for rows.Next() {
		e := &deadbolt.Event{}
		var id, at int64
		var detail string
		if err := rows.Scan(&id, &e.Type, &at, &e.UserID, &e.ActorID, &e.IP, &detail); err != nil {
			return nil, fmt.Errorf("sqlite: events: %w", err)
		}
		e.ID = strconv.FormatInt(id, 10)
		e.At = time.UnixMicro(at).UTC()
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: event detail: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
