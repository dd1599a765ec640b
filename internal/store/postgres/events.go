package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"deadbolt/internal/deadbolt"
)

// maxEvents caps one page of events.
const maxEvents = 1000

// AppendEvent stores e and fills in its ID, a decimal number that grows
// with every event.
func (s *Store) AppendEvent(ctx context.Context, e *deadbolt.Event) error {
	detail := e.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO events (type, at, user_id, actor_id, ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, e.Type, e.At, e.UserID, e.ActorID, e.IP, detail).Scan(&id)
	if err != nil {
		return fmt.Errorf("postgres: append event: %w", err)
	}
	e.ID = strconv.FormatInt(id, 10)
	return nil
}

// Events lists events matching f, newest first, at most 1000 at a time. A
// BeforeID that is not an event ID is CodeInvalidInput.
func (s *Store) Events(ctx context.Context, f deadbolt.EventFilter) ([]*deadbolt.Event, error) {
	var where []string
	var args []any
	cond := func(expr string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(expr, len(args)))
	}
	if f.UserID != "" {
		cond("user_id = $%d", f.UserID)
	}
	if f.Type != "" {
		cond("type = $%d", f.Type)
	}
	if !f.Since.IsZero() {
		cond("at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		cond("at < $%d", f.Until)
	}
	if f.BeforeID != "" {
		before, err := strconv.ParseInt(f.BeforeID, 10, 64)
		if err != nil {
			return nil, deadbolt.StoreError(deadbolt.CodeInvalidInput, "postgres: paging cursor %q is not an event id", f.BeforeID)
		}
		cond("id < $%d", before)
	}
	q := `SELECT id, type, at, user_id, actor_id, ip, detail FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > maxEvents {
		limit = maxEvents
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.Event{}
	for rows.Next() {
		e := &deadbolt.Event{}
		var id int64
		if err := rows.Scan(&id, &e.Type, &e.At, &e.UserID, &e.ActorID, &e.IP, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: events: %w", err)
		}
		e.ID = strconv.FormatInt(id, 10)
		e.At = e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: events: %w", err)
	}
	return out, nil
}
