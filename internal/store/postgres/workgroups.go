package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"deadbolt/internal/deadbolt"
)

const workgroupCols = `w.id, w.name, w.created_at, w.required, w.deadline, w.paused_until, w.paused,
	w.after_deadline, w.min_method, w.policy_updated_at,
	(SELECT count(*) FROM workgroup_members m WHERE m.workgroup_id = w.id)`

func scanWorkgroup(row scanner) (*deadbolt.Workgroup, error) {
	w := &deadbolt.Workgroup{}
	var deadline, paused, updated *time.Time
	err := row.Scan(&w.ID, &w.Name, &w.CreatedAt, &w.Policy.Required, &deadline, &paused, &w.Policy.Paused,
		&w.Policy.AfterDeadline, &w.Policy.MinMethod, &updated, &w.Members)
	if err != nil {
		return nil, err
	}
	w.CreatedAt = w.CreatedAt.UTC()
	w.Policy.Deadline, w.Policy.PausedUntil, w.Policy.UpdatedAt = fromTS(deadline), fromTS(paused), fromTS(updated)
	return w, nil
}

func workgroupTaken(name string) error {
	return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: workgroup name %q taken", name)
}

// sqlstateForeignKeyViolation is the SQLSTATE of a row referring to a
// missing one.
const sqlstateForeignKeyViolation = "23503"

func foreignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == sqlstateForeignKeyViolation
}

// CreateWorkgroup inserts w; a name taken under FoldName is CodeConflict.
func (s *Store) CreateWorkgroup(ctx context.Context, w *deadbolt.Workgroup) error {
	p := w.Policy
	_, err := s.pool.Exec(ctx, `INSERT INTO workgroups (id, name, name_key, created_at, required,
		deadline, paused_until, paused, after_deadline, min_method, policy_updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		w.ID, w.Name, deadbolt.FoldName(w.Name), w.CreatedAt, p.Required,
		ts(p.Deadline), ts(p.PausedUntil), p.Paused, p.AfterDeadline, p.MinMethod, ts(p.UpdatedAt))
	if uniqueViolation(err) == "workgroups_name_key" {
		return workgroupTaken(w.Name)
	}
	if err != nil {
		return fmt.Errorf("postgres: create workgroup: %w", err)
	}
	return nil
}

func (s *Store) workgroupWhere(ctx context.Context, where string, arg any) (*deadbolt.Workgroup, error) {
	w, err := scanWorkgroup(s.pool.QueryRow(ctx, `SELECT `+workgroupCols+` FROM workgroups w WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Workgroup")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: workgroup: %w", err)
	}
	return w, nil
}

// Workgroup returns the workgroup with id.
func (s *Store) Workgroup(ctx context.Context, id string) (*deadbolt.Workgroup, error) {
	return s.workgroupWhere(ctx, "w.id = $1", id)
}

// WorkgroupByName returns the workgroup whose name folds to the same key.
func (s *Store) WorkgroupByName(ctx context.Context, name string) (*deadbolt.Workgroup, error) {
	return s.workgroupWhere(ctx, "w.name_key = $1", deadbolt.FoldName(name))
}

func (s *Store) listWorkgroups(ctx context.Context, query string, args ...any) ([]*deadbolt.Workgroup, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list workgroups: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.Workgroup{}
	for rows.Next() {
		w, err := scanWorkgroup(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list workgroups: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list workgroups: %w", err)
	}
	return out, nil
}

// ListWorkgroups lists every workgroup by folded name. Names sort by their
// bytes (COLLATE "C"), as on SQLite.
func (s *Store) ListWorkgroups(ctx context.Context) ([]*deadbolt.Workgroup, error) {
	return s.listWorkgroups(ctx, `SELECT `+workgroupCols+` FROM workgroups w ORDER BY w.name_key COLLATE "C", w.id`)
}

// UserWorkgroups lists the workgroups of a user by folded name.
func (s *Store) UserWorkgroups(ctx context.Context, userID string) ([]*deadbolt.Workgroup, error) {
	return s.listWorkgroups(ctx, `SELECT `+workgroupCols+` FROM workgroups w
		JOIN workgroup_members um ON um.workgroup_id = w.id AND um.user_id = $1
		ORDER BY w.name_key COLLATE "C", w.id`, userID)
}

// RenameWorkgroup renames a workgroup; a taken name is CodeConflict.
func (s *Store) RenameWorkgroup(ctx context.Context, id, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE workgroups SET name = $2, name_key = $3 WHERE id = $1`,
		id, name, deadbolt.FoldName(name))
	if uniqueViolation(err) == "workgroups_name_key" {
		return workgroupTaken(name)
	}
	if err != nil {
		return fmt.Errorf("postgres: rename workgroup: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Workgroup")
	}
	return nil
}

// DeleteWorkgroup deletes a workgroup; its memberships go with it.
func (s *Store) DeleteWorkgroup(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM workgroups WHERE id = $1`, id)
	if foreignKeyViolation(err) {
		return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: applications admit the workgroup")
	}
	if err != nil {
		return fmt.Errorf("postgres: delete workgroup: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Workgroup")
	}
	return nil
}

// SetWorkgroupPolicy replaces a workgroup's policy.
func (s *Store) SetWorkgroupPolicy(ctx context.Context, id string, p deadbolt.WorkgroupPolicy, rule deadbolt.AdminRule) error {
	const update = `UPDATE workgroups SET required = $2, deadline = $3, paused_until = $4,
		paused = $5, after_deadline = $6, min_method = $7, policy_updated_at = $8 WHERE id = $1`
	args := []any{id, p.Required, ts(p.Deadline), ts(p.PausedUntil), p.Paused, p.AfterDeadline, p.MinMethod, ts(p.UpdatedAt)}
	var tag pgconn.CommandTag
	var err error
	if rule == nil {
		tag, err = s.pool.Exec(ctx, update, args...)
	} else {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			if err := applyAdminRule(ctx, tx, rule); err != nil {
				return err
			}
			tag, err = tx.Exec(ctx, update, args...)
			return err
		})
	}
	if ruleErr := (*deadbolt.Error)(nil); errors.As(err, &ruleErr) {
		return err // the rule's answer
	}
	if err != nil {
		return fmt.Errorf("postgres: set workgroup policy: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Workgroup")
	}
	return nil
}

// adminRuleLock is the transaction-level advisory lock every change with
// an AdminRule takes before it reads: such changes run one at a time, and
// each reads what the one before it committed (READ COMMITTED takes a new
// snapshot for every statement).
const adminRuleLock = 0x646561646d696e // "deadmin"

// applyAdminRule serialises tx with every other change that carries a
// rule, reads every active administrator inside it and asks rule (none:
// nothing to decide).
func applyAdminRule(ctx context.Context, tx pgx.Tx, rule deadbolt.AdminRule) error {
	if rule == nil {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(adminRuleLock)); err != nil {
		return fmt.Errorf("postgres: administrators: %w", err)
	}
	admins, err := adminFactors(ctx, tx)
	if err != nil {
		return err
	}
	return rule(admins)
}

// prefixed scans a row whose first column is not the scanner's: into
// first, and the rest into what the scanner asks.
type prefixed struct {
	row   scanner
	first any
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append([]any{p.first}, dest...)...) }

// adminFactors reads every active administrator with their workgroups and
// passkey count, in two queries.
func adminFactors(ctx context.Context, tx pgx.Tx) ([]deadbolt.AdminFactors, error) {
	rows, err := tx.Query(ctx, `SELECT `+userCols+`, (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id)
		FROM users u WHERE u.admin AND u.active ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: administrators: %w", err)
	}
	var out []deadbolt.AdminFactors
	for rows.Next() {
		a := deadbolt.AdminFactors{User: &deadbolt.User{}}
		dest, finish := userDest(a.User)
		if err := rows.Scan(append(dest, &a.Passkeys)...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: administrators: %w", err)
		}
		finish()
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: administrators: %w", err)
	}
	ws, err := tx.Query(ctx, `SELECT um.user_id, `+workgroupCols+` FROM workgroups w
		JOIN workgroup_members um ON um.workgroup_id = w.id
		JOIN users u ON u.id = um.user_id AND u.admin AND u.active
		ORDER BY w.name_key COLLATE "C", w.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: administrators' workgroups: %w", err)
	}
	defer ws.Close()
	byID := make(map[string]int, len(out))
	for i, a := range out {
		byID[a.User.ID] = i
	}
	for ws.Next() {
		var userID string
		w, err := scanWorkgroup(prefixed{ws, &userID})
		if err != nil {
			return nil, fmt.Errorf("postgres: administrators' workgroups: %w", err)
		}
		if i, ok := byID[userID]; ok {
			out[i].Workgroups = append(out[i].Workgroups, w)
		}
	}
	if err := ws.Err(); err != nil {
		return nil, fmt.Errorf("postgres: administrators' workgroups: %w", err)
	}
	return out, nil
}

// AddWorkgroupMember adds a membership unless it exists, in one statement.
func (s *Store) AddWorkgroupMember(ctx context.Context, workgroupID, userID string, now time.Time) (bool, error) {
	var wg, user, added bool
	err := s.pool.QueryRow(ctx, `WITH w AS (SELECT id FROM workgroups WHERE id = $1),
			u AS (SELECT id FROM users WHERE id = $2),
			ins AS (INSERT INTO workgroup_members (workgroup_id, user_id, added_at)
				SELECT w.id, u.id, $3 FROM w, u
				ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM w), EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM ins)`,
		workgroupID, userID, now).Scan(&wg, &user, &added)
	switch {
	case foreignKeyViolation(err):
		// Deleted meanwhile.
		return false, notFound("Workgroup or user")
	case err != nil:
		return false, fmt.Errorf("postgres: add workgroup member: %w", err)
	case !wg:
		return false, notFound("Workgroup")
	case !user:
		return false, notFound("User")
	}
	return added, nil
}

// RemoveWorkgroupMember ends a membership.
func (s *Store) RemoveWorkgroupMember(ctx context.Context, workgroupID, userID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM workgroup_members WHERE workgroup_id = $1 AND user_id = $2`,
		workgroupID, userID)
	if err != nil {
		return fmt.Errorf("postgres: remove workgroup member: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Membership")
	}
	return nil
}

// WorkgroupMembers lists a workgroup's members by login.
func (s *Store) WorkgroupMembers(ctx context.Context, workgroupID string) ([]*deadbolt.User, error) {
	var out []*deadbolt.User
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workgroups WHERE id = $1)`, workgroupID).Scan(&exists); err != nil {
			return fmt.Errorf("postgres: workgroup members: %w", err)
		}
		if !exists {
			return notFound("Workgroup")
		}
		rows, err := tx.Query(ctx, `SELECT `+userCols+` FROM users u
			JOIN workgroup_members m ON m.user_id = u.id AND m.workgroup_id = $1
			ORDER BY u.login COLLATE "C"`, workgroupID)
		if err != nil {
			return fmt.Errorf("postgres: workgroup members: %w", err)
		}
		defer rows.Close()
		out = []*deadbolt.User{}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return fmt.Errorf("postgres: workgroup members: %w", err)
			}
			out = append(out, u)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: workgroup members: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetBannerDismissed records when the user last closed a banner kind.
func (s *Store) SetBannerDismissed(ctx context.Context, userID, kind string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO banner_dismissals (user_id, kind, dismissed_at)
		SELECT id, $2, $3 FROM users WHERE id = $1
		ON CONFLICT (user_id, kind) DO UPDATE SET dismissed_at = excluded.dismissed_at`, userID, kind, at)
	if foreignKeyViolation(err) {
		return notFound("User")
	}
	if err != nil {
		return fmt.Errorf("postgres: set banner dismissed: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("User")
	}
	return nil
}

func (s *Store) setUserTime(ctx context.Context, what, column, userID string, t time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET `+column+` = $2 WHERE id = $1`, userID, ts(t))
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("User")
	}
	return nil
}

// SetLastConfirmed stores the user's last "Everything is fine".
func (s *Store) SetLastConfirmed(ctx context.Context, userID string, at time.Time) error {
	return s.setUserTime(ctx, "set last confirmed", "last_confirmed_at", userID, at)
}

// SetExemptUntil stores (or, with the zero time, clears) the end of the
// user's exemption.
func (s *Store) SetExemptUntil(ctx context.Context, userID string, until time.Time) error {
	return s.setUserTime(ctx, "set exempt until", "exempt_until", userID, until)
}
