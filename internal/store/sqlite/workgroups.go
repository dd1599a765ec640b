package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

const workgroupCols = `w.id, w.name, w.created_at, w.required, w.deadline, w.paused_until, w.paused,
	w.after_deadline, w.min_method, w.policy_updated_at,
	(SELECT count(*) FROM workgroup_members m WHERE m.workgroup_id = w.id)`

func scanWorkgroup(row scanner) (*deadbolt.Workgroup, error) {
	w := &deadbolt.Workgroup{}
	var created int64
	var deadline, paused, updated sql.NullInt64
	err := row.Scan(&w.ID, &w.Name, &created, &w.Policy.Required, &deadline, &paused, &w.Policy.Paused,
		&w.Policy.AfterDeadline, &w.Policy.MinMethod, &updated, &w.Members)
	if err != nil {
		return nil, err
	}
	w.CreatedAt = time.UnixMicro(created).UTC()
	w.Policy.Deadline, w.Policy.PausedUntil, w.Policy.UpdatedAt = fromTS(deadline), fromTS(paused), fromTS(updated)
	return w, nil
}

// workgroupInUse answers deleting a workgroup an application admits.
func workgroupInUse() error {
	return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: applications admit the workgroup")
}

func workgroupTaken(name string) error {
	return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: workgroup name %q taken", name)
}

// CreateWorkgroup inserts w; a name taken under FoldName is CodeConflict.
func (s *Store) CreateWorkgroup(ctx context.Context, w *deadbolt.Workgroup) error {
	p := w.Policy
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO workgroups (id, name, name_key, created_at, required,
		deadline, paused_until, paused, after_deadline, min_method, policy_updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.Name, deadbolt.FoldName(w.Name), tsv(w.CreatedAt), p.Required,
		ts(p.Deadline), ts(p.PausedUntil), p.Paused, p.AfterDeadline, p.MinMethod, ts(p.UpdatedAt))
	if isUnique(err) {
		return workgroupTaken(w.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create workgroup: %w", err)
	}
	return nil
}

func (s *Store) workgroupWhere(ctx context.Context, where string, arg any) (*deadbolt.Workgroup, error) {
	w, err := scanWorkgroup(s.rdb.QueryRowContext(ctx, `SELECT `+workgroupCols+` FROM workgroups w WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Workgroup")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: workgroup: %w", err)
	}
	return w, nil
}

// Workgroup returns the workgroup with id.
func (s *Store) Workgroup(ctx context.Context, id string) (*deadbolt.Workgroup, error) {
	return s.workgroupWhere(ctx, "w.id = ?", id)
}

// WorkgroupByName returns the workgroup whose name folds to the same key.
func (s *Store) WorkgroupByName(ctx context.Context, name string) (*deadbolt.Workgroup, error) {
	return s.workgroupWhere(ctx, "w.name_key = ?", deadbolt.FoldName(name))
}

func (s *Store) listWorkgroups(ctx context.Context, query string, args ...any) ([]*deadbolt.Workgroup, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list workgroups: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.Workgroup{}
	for rows.Next() {
		w, err := scanWorkgroup(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list workgroups: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list workgroups: %w", err)
	}
	return out, nil
}

// ListWorkgroups lists every workgroup by folded name.
func (s *Store) ListWorkgroups(ctx context.Context) ([]*deadbolt.Workgroup, error) {
	return s.listWorkgroups(ctx, `SELECT `+workgroupCols+` FROM workgroups w ORDER BY w.name_key, w.id`)
}

// UserWorkgroups lists the workgroups of a user by folded name.
func (s *Store) UserWorkgroups(ctx context.Context, userID string) ([]*deadbolt.Workgroup, error) {
	return s.listWorkgroups(ctx, `SELECT `+workgroupCols+` FROM workgroups w
		JOIN workgroup_members um ON um.workgroup_id = w.id AND um.user_id = ?
		ORDER BY w.name_key, w.id`, userID)
}

// RenameWorkgroup renames a workgroup; a taken name is CodeConflict.
func (s *Store) RenameWorkgroup(ctx context.Context, id, name string) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE workgroups SET name = ?, name_key = ? WHERE id = ?`,
		name, deadbolt.FoldName(name), id)
	if isUnique(err) {
		return workgroupTaken(name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: rename workgroup: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Workgroup")
	}
	return nil
}

// DeleteWorkgroup deletes a workgroup; its memberships go with it.
func (s *Store) DeleteWorkgroup(ctx context.Context, id string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM workgroups WHERE id = ?`, id)
	if isForeignKey(err) {
		return workgroupInUse()
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete workgroup: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Workgroup")
	}
	return nil
}

// SetWorkgroupPolicy replaces a workgroup's policy; with a rule, in one
// write transaction with the rule's read (the writer serialises every
// write, so nothing changes between them).
func (s *Store) SetWorkgroupPolicy(ctx context.Context, id string, p deadbolt.WorkgroupPolicy, rule deadbolt.AdminRule) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := applyAdminRule(ctx, tx, rule); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE workgroups SET required = ?, deadline = ?, paused_until = ?,
			paused = ?, after_deadline = ?, min_method = ?, policy_updated_at = ? WHERE id = ?`,
			p.Required, ts(p.Deadline), ts(p.PausedUntil), p.Paused, p.AfterDeadline, p.MinMethod, ts(p.UpdatedAt), id)
		if err != nil {
			return fmt.Errorf("sqlite: set workgroup policy: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Workgroup")
		}
		return nil
	})
}

// applyAdminRule reads every active administrator inside tx and asks rule
// (none: nothing to decide).
func applyAdminRule(ctx context.Context, tx *sql.Tx, rule deadbolt.AdminRule) error {
	if rule == nil {
		return nil
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
func adminFactors(ctx context.Context, tx *sql.Tx) ([]deadbolt.AdminFactors, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+userCols+`, (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id)
		FROM users u WHERE u.admin AND u.active ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: administrators: %w", err)
	}
	var out []deadbolt.AdminFactors
	for rows.Next() {
		a := deadbolt.AdminFactors{User: &deadbolt.User{}}
		dest, finish := userDest(a.User)
		if err := rows.Scan(append(dest, &a.Passkeys)...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: administrators: %w", err)
		}
		finish()
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: administrators: %w", err)
	}
	ws, err := tx.QueryContext(ctx, `SELECT um.user_id, `+workgroupCols+` FROM workgroups w
		JOIN workgroup_members um ON um.workgroup_id = w.id
		JOIN users u ON u.id = um.user_id AND u.admin AND u.active
		ORDER BY w.name_key, w.id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: administrators' workgroups: %w", err)
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
			return nil, fmt.Errorf("sqlite: administrators' workgroups: %w", err)
		}
		if i, ok := byID[userID]; ok {
			out[i].Workgroups = append(out[i].Workgroups, w)
		}
	}
	if err := ws.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: administrators' workgroups: %w", err)
	}
	return out, nil
}

// AddWorkgroupMember adds a membership unless it exists.
func (s *Store) AddWorkgroupMember(ctx context.Context, workgroupID, userID string, now time.Time) (bool, error) {
	var added bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var wg, user int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM workgroups WHERE id = ?),
			(SELECT count(*) FROM users WHERE id = ?)`, workgroupID, userID).Scan(&wg, &user); err != nil {
			return fmt.Errorf("sqlite: add workgroup member: %w", err)
		}
		if wg == 0 {
			return notFound("Workgroup")
		}
		if user == 0 {
			return notFound("User")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO workgroup_members (workgroup_id, user_id, added_at)
			VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, workgroupID, userID, tsv(now))
		if err != nil {
			return fmt.Errorf("sqlite: add workgroup member: %w", err)
		}
		n, _ := res.RowsAffected()
		added = n == 1
		return nil
	})
	return added, err
}

// RemoveWorkgroupMember ends a membership.
func (s *Store) RemoveWorkgroupMember(ctx context.Context, workgroupID, userID string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM workgroup_members WHERE workgroup_id = ? AND user_id = ?`,
		workgroupID, userID)
	if err != nil {
		return fmt.Errorf("sqlite: remove workgroup member: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Membership")
	}
	return nil
}

// WorkgroupMembers lists a workgroup's members by login.
func (s *Store) WorkgroupMembers(ctx context.Context, workgroupID string) ([]*deadbolt.User, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: workgroup members: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workgroups WHERE id = ?`, workgroupID).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqlite: workgroup members: %w", err)
	}
	if n == 0 {
		return nil, notFound("Workgroup")
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+userCols+` FROM users u
		JOIN workgroup_members m ON m.user_id = u.id AND m.workgroup_id = ?
		ORDER BY u.login`, workgroupID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: workgroup members: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: workgroup members: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: workgroup members: %w", err)
	}
	return out, nil
}

// SetBannerDismissed records when the user last closed a banner kind.
func (s *Store) SetBannerDismissed(ctx context.Context, userID, kind string, at time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `INSERT INTO banner_dismissals (user_id, kind, dismissed_at)
		SELECT id, ?2, ?3 FROM users WHERE id = ?1
		ON CONFLICT (user_id, kind) DO UPDATE SET dismissed_at = excluded.dismissed_at`, userID, kind, tsv(at))
	if err != nil {
		return fmt.Errorf("sqlite: set banner dismissed: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("User")
	}
	return nil
}

func (s *Store) setUserTime(ctx context.Context, what, column, userID string, t time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE users SET `+column+` = ? WHERE id = ?`, ts(t), userID)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
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
