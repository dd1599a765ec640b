package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"deadbolt/internal/deadbolt"
)

const appCols = `a.id, a.name, a.kind, a.client_id, a.secret_hash, a.secret_set_at, a.public,
	a.redirect_uris, a.post_logout_redirect_uris, a.backchannel_logout_uri, a.domains, a.require_2fa,
	a.created_at, a.updated_at,
	(SELECT group_concat(w.workgroup_id, ' ') FROM
		(SELECT workgroup_id FROM application_workgroups WHERE app_id = a.id ORDER BY workgroup_id) w)`

func scanApp(row scanner) (*deadbolt.Application, error) {
	a := &deadbolt.Application{}
	var clientID, workgroups sql.NullString
	var secretSet sql.NullInt64
	var created, updated int64
	var redirects, postLogout, domains string
	err := row.Scan(&a.ID, &a.Name, &a.Kind, &clientID, &a.SecretHash, &secretSet, &a.Public,
		&redirects, &postLogout, &a.BackchannelLogoutURI, &domains, &a.Require2FA, &created, &updated, &workgroups)
	if err != nil {
		return nil, err
	}
	a.ClientID = clientID.String
	if len(a.SecretHash) == 0 {
		a.SecretHash = nil
	}
	a.SecretSetAt = fromTS(secretSet)
	a.CreatedAt, a.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	for _, f := range []struct {
		dst *[]string
		src string
	}{{&a.RedirectURIs, redirects}, {&a.PostLogoutRedirectURIs, postLogout}, {&a.Domains, domains}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return nil, fmt.Errorf("application %s: %w", a.ID, err)
		}
	}
	a.Workgroups = strings.Fields(workgroups.String)
	return a, nil
}

// jsonList encodes a list column; nil is the empty list.
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func appConflict(err error, a *deadbolt.Application) error {
	if strings.Contains(err.Error(), "client_id") {
		return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: client id %q taken", a.ClientID)
	}
	return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: application name %q taken", a.Name)
}

func unknownWorkgroup() error {
	return deadbolt.StoreError(deadbolt.CodeInvalidInput, "sqlite: an application names a workgroup that does not exist")
}

func setAppWorkgroups(ctx context.Context, tx *sql.Tx, a *deadbolt.Application) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM application_workgroups WHERE app_id = ?`, a.ID); err != nil {
		return fmt.Errorf("sqlite: application workgroups: %w", err)
	}
	for _, w := range a.Workgroups {
		_, err := tx.ExecContext(ctx, `INSERT INTO application_workgroups (app_id, workgroup_id) VALUES (?, ?)
			ON CONFLICT DO NOTHING`, a.ID, w)
		if isForeignKey(err) {
			return unknownWorkgroup()
		}
		if err != nil {
			return fmt.Errorf("sqlite: application workgroups: %w", err)
		}
	}
	return nil
}

// CreateApplication inserts a with its workgroups, in one transaction.
func (s *Store) CreateApplication(ctx context.Context, a *deadbolt.Application) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO applications (id, name, name_key, kind, client_id,
			secret_hash, secret_set_at, public, redirect_uris, post_logout_redirect_uris,
			backchannel_logout_uri, domains, require_2fa, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, deadbolt.FoldName(a.Name), a.Kind, nullStr(a.ClientID), nullBytes(a.SecretHash), ts(a.SecretSetAt),
			a.Public, jsonList(a.RedirectURIs), jsonList(a.PostLogoutRedirectURIs), a.BackchannelLogoutURI,
			jsonList(a.Domains), a.Require2FA, tsv(a.CreatedAt), tsv(a.UpdatedAt))
		if isUnique(err) {
			return appConflict(err, a)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create application: %w", err)
		}
		return setAppWorkgroups(ctx, tx, a)
	})
}

func (s *Store) appWhere(ctx context.Context, where string, arg any) (*deadbolt.Application, error) {
	a, err := scanApp(s.rdb.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications a WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Application")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: application: %w", err)
	}
	return a, nil
}

// Application returns the app with id.
func (s *Store) Application(ctx context.Context, id string) (*deadbolt.Application, error) {
	return s.appWhere(ctx, "a.id = ?", id)
}

// ApplicationByClientID returns the OIDC app with clientID.
func (s *Store) ApplicationByClientID(ctx context.Context, clientID string) (*deadbolt.Application, error) {
	return s.appWhere(ctx, "a.client_id = ?", clientID)
}

// ListApplications lists every app by folded name.
func (s *Store) ListApplications(ctx context.Context) ([]*deadbolt.Application, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+appCols+` FROM applications a ORDER BY a.name_key, a.id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list applications: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.Application{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list applications: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list applications: %w", err)
	}
	return out, nil
}

// UpdateApplication replaces the app's settings and workgroups.
func (s *Store) UpdateApplication(ctx context.Context, a *deadbolt.Application) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE applications SET name = ?, name_key = ?, public = ?,
			redirect_uris = ?, post_logout_redirect_uris = ?, backchannel_logout_uri = ?, domains = ?,
			require_2fa = ?, updated_at = ? WHERE id = ?`,
			a.Name, deadbolt.FoldName(a.Name), a.Public, jsonList(a.RedirectURIs), jsonList(a.PostLogoutRedirectURIs),
			a.BackchannelLogoutURI, jsonList(a.Domains), a.Require2FA, tsv(a.UpdatedAt), a.ID)
		if isUnique(err) {
			return appConflict(err, a)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update application: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Application")
		}
		return setAppWorkgroups(ctx, tx, a)
	})
}

// SetApplicationSecret replaces the app's secret hash.
func (s *Store) SetApplicationSecret(ctx context.Context, id string, hash []byte, at time.Time) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE applications SET secret_hash = ?, secret_set_at = ?, updated_at = ?
		WHERE id = ?`, nullBytes(hash), tsv(at), tsv(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: set application secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Application")
	}
	return nil
}

// DeleteApplication deletes the app; what was issued to it goes with it.
func (s *Store) DeleteApplication(ctx context.Context, id string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM applications WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete application: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Application")
	}
	return nil
}
