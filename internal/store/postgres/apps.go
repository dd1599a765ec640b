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

const appCols = `a.id, a.name, a.kind, a.client_id, a.secret_hash, a.secret_set_at, a.public,
	a.redirect_uris, a.post_logout_redirect_uris, a.backchannel_logout_uri, a.domains, a.require_2fa,
	a.created_at, a.updated_at,
	ARRAY(SELECT workgroup_id FROM application_workgroups WHERE app_id = a.id ORDER BY workgroup_id COLLATE "C")`

func scanApp(row scanner) (*deadbolt.Application, error) {
	a := &deadbolt.Application{}
	var clientID *string
	var secretSet *time.Time
	var redirects, postLogout, domains []byte
	err := row.Scan(&a.ID, &a.Name, &a.Kind, &clientID, &a.SecretHash, &secretSet, &a.Public,
		&redirects, &postLogout, &a.BackchannelLogoutURI, &domains, &a.Require2FA, &a.CreatedAt, &a.UpdatedAt,
		&a.Workgroups)
	if err != nil {
		return nil, err
	}
	if clientID != nil {
		a.ClientID = *clientID
	}
	if len(a.SecretHash) == 0 {
		a.SecretHash = nil
	}
	a.SecretSetAt = fromTS(secretSet)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	for _, f := range []struct {
		dst *[]string
		src []byte
	}{{&a.RedirectURIs, redirects}, {&a.PostLogoutRedirectURIs, postLogout}, {&a.Domains, domains}} {
		if err := json.Unmarshal(f.src, f.dst); err != nil {
			return nil, fmt.Errorf("application %s: %w", a.ID, err)
		}
	}
	if len(a.Workgroups) == 0 {
		a.Workgroups = nil
	}
	return a, nil
}

// jsonList encodes a list column; nil is the empty list.
func jsonList(l []string) []byte {
	if len(l) == 0 {
		return []byte("[]")
	}
	b, _ := json.Marshal(l)
	return b
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func appConflict(err error, a *deadbolt.Application) error {
	if uniqueViolation(err) == "applications_client_id_key" {
		return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: client id %q taken", a.ClientID)
	}
	return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: application name %q taken", a.Name)
}

func unknownWorkgroup() error {
	return deadbolt.StoreError(deadbolt.CodeInvalidInput, "postgres: an application names a workgroup that does not exist")
}

func setAppWorkgroups(ctx context.Context, tx pgx.Tx, a *deadbolt.Application) error {
	if _, err := tx.Exec(ctx, `DELETE FROM application_workgroups WHERE app_id = $1`, a.ID); err != nil {
		return fmt.Errorf("postgres: application workgroups: %w", err)
	}
	if len(a.Workgroups) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO application_workgroups (app_id, workgroup_id)
		SELECT $1, w FROM unnest($2::text[]) AS w ON CONFLICT DO NOTHING`, a.ID, a.Workgroups)
	if foreignKeyViolation(err) {
		return unknownWorkgroup()
	}
	if err != nil {
		return fmt.Errorf("postgres: application workgroups: %w", err)
	}
	return nil
}

// CreateApplication inserts a with its workgroups, in one transaction. A
// taken name or client id is CodeConflict, an unknown workgroup
// CodeInvalidInput.
func (s *Store) CreateApplication(ctx context.Context, a *deadbolt.Application) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO applications (id, name, name_key, kind, client_id,
			secret_hash, secret_set_at, public, redirect_uris, post_logout_redirect_uris,
			backchannel_logout_uri, domains, require_2fa, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			a.ID, a.Name, deadbolt.FoldName(a.Name), a.Kind, nullStr(a.ClientID), nullBytes(a.SecretHash), ts(a.SecretSetAt),
			a.Public, jsonList(a.RedirectURIs), jsonList(a.PostLogoutRedirectURIs), a.BackchannelLogoutURI,
			jsonList(a.Domains), a.Require2FA, a.CreatedAt, a.UpdatedAt)
		if uniqueViolation(err) != "" {
			return appConflict(err, a)
		}
		if err != nil {
			return fmt.Errorf("postgres: create application: %w", err)
		}
		return setAppWorkgroups(ctx, tx, a)
	})
}

func (s *Store) appWhere(ctx context.Context, where string, arg any) (*deadbolt.Application, error) {
	a, err := scanApp(s.pool.QueryRow(ctx, `SELECT `+appCols+` FROM applications a WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("Application")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: application: %w", err)
	}
	return a, nil
}

// Application returns the app with id, or CodeNotFound.
func (s *Store) Application(ctx context.Context, id string) (*deadbolt.Application, error) {
	return s.appWhere(ctx, "a.id = $1", id)
}

// ApplicationByClientID returns the OIDC app with clientID, or
// CodeNotFound.
func (s *Store) ApplicationByClientID(ctx context.Context, clientID string) (*deadbolt.Application, error) {
	return s.appWhere(ctx, "a.client_id = $1", clientID)
}

// ListApplications lists every app by folded name.
func (s *Store) ListApplications(ctx context.Context) ([]*deadbolt.Application, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+appCols+` FROM applications a ORDER BY a.name_key COLLATE "C", a.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list applications: %w", err)
	}
	defer rows.Close()
	out := []*deadbolt.Application{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list applications: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list applications: %w", err)
	}
	return out, nil
}

// UpdateApplication replaces the app's settings and workgroups in one
// transaction; errors as CreateApplication, CodeNotFound for a missing app.
func (s *Store) UpdateApplication(ctx context.Context, a *deadbolt.Application) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE applications SET name = $2, name_key = $3, public = $4,
			redirect_uris = $5, post_logout_redirect_uris = $6, backchannel_logout_uri = $7, domains = $8,
			require_2fa = $9, updated_at = $10 WHERE id = $1`,
			a.ID, a.Name, deadbolt.FoldName(a.Name), a.Public, jsonList(a.RedirectURIs), jsonList(a.PostLogoutRedirectURIs),
			a.BackchannelLogoutURI, jsonList(a.Domains), a.Require2FA, a.UpdatedAt)
		if uniqueViolation(err) != "" {
			return appConflict(err, a)
		}
		if err != nil {
			return fmt.Errorf("postgres: update application: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("Application")
		}
		return setAppWorkgroups(ctx, tx, a)
	})
}

// SetApplicationSecret replaces the app's secret hash (nil clears it); a
// missing app is CodeNotFound.
func (s *Store) SetApplicationSecret(ctx context.Context, id string, hash []byte, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE applications SET secret_hash = $2, secret_set_at = $3, updated_at = $3
		WHERE id = $1`, id, nullBytes(hash), at)
	if err != nil {
		return fmt.Errorf("postgres: set application secret: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Application")
	}
	return nil
}

// DeleteApplication deletes the app; what was issued to it goes with it. A
// missing app is CodeNotFound.
func (s *Store) DeleteApplication(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM applications WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: delete application: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("Application")
	}
	return nil
}
