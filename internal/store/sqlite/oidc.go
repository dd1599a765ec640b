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

// SigningKeys lists every key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]*deadbolt.SigningKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, private_key, created_at, retired_at FROM oidc_keys
		ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	defer rows.Close()
	var out []*deadbolt.SigningKey
	for rows.Next() {
		k := &deadbolt.SigningKey{}
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&k.ID, &k.PrivateSealed, &created, &retired); err != nil {
			return nil, fmt.Errorf("sqlite: signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = time.UnixMicro(created).UTC(), fromTS(retired)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddFirstSigningKey stores k unless a key was ever stored.
func (s *Store) AddFirstSigningKey(ctx context.Context, k *deadbolt.SigningKey) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `INSERT INTO oidc_keys (id, private_key, created_at, first)
		SELECT ?, ?, ?, 1 WHERE NOT EXISTS (SELECT 1 FROM oidc_keys) ON CONFLICT DO NOTHING`,
		k.ID, k.PrivateSealed, tsv(k.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: add signing key: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RotateSigningKey stores k and retires the other current keys.
func (s *Store) RotateSigningKey(ctx context.Context, k *deadbolt.SigningKey) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE oidc_keys SET retired_at = ? WHERE retired_at IS NULL`, tsv(k.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: rotate signing key: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_keys (id, private_key, created_at) VALUES (?, ?, ?)`,
			k.ID, k.PrivateSealed, tsv(k.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: rotate signing key: %w", err)
		}
		return nil
	})
}

// DeleteSigningKeys deletes keys retired before before.
func (s *Store) DeleteSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at < ?`, tsv(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete signing keys: %w", err)
	}
	return res.RowsAffected()
}

// SaveAuthRequest stores a pending authorization request.
func (s *Store) SaveAuthRequest(ctx context.Context, r *deadbolt.AuthRequest) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO oidc_requests (id, app_id, params, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, r.ID, r.AppID, r.Params, tsv(r.CreatedAt), tsv(r.ExpiresAt))
	if isForeignKey(err) {
		return notFound("application")
	}
	if err != nil {
		return fmt.Errorf("sqlite: save authorization request: %w", err)
	}
	return nil
}

// AuthRequest returns a pending request.
func (s *Store) AuthRequest(ctx context.Context, id string) (*deadbolt.AuthRequest, error) {
	r := &deadbolt.AuthRequest{}
	var created, expires int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, app_id, params, created_at, expires_at FROM oidc_requests WHERE id = ?`, id).
		Scan(&r.ID, &r.AppID, &r.Params, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("authorization request")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: authorization request: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return r, nil
}

// ConsumeAuthRequest deletes a pending request, once.
func (s *Store) ConsumeAuthRequest(ctx context.Context, id string) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM oidc_requests WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("sqlite: consume authorization request: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

const grantCols = `g.id, g.session_id, g.user_id, g.app_id, g.created_at, g.tokens_issued, g.logout_attempts,
	g.logout_first_at, g.logout_next_at, g.logout_done_at, g.logout_failed, g.logout_error`

func grantDest(g *deadbolt.Grant) ([]any, func()) {
	var created int64
	var first, next, done sql.NullInt64
	return []any{&g.ID, &g.SessionID, &g.UserID, &g.AppID, &created, &g.TokensIssued, &g.LogoutAttempts,
			&first, &next, &done, &g.LogoutFailed, &g.LogoutError}, func() {
			g.CreatedAt = time.UnixMicro(created).UTC()
			g.LogoutFirstAt, g.LogoutNextAt, g.LogoutDoneAt = fromTS(first), fromTS(next), fromTS(done)
		}
}

// IssueCode stores c under the grant of (session, app), creating it.
func (s *Store) IssueCode(ctx context.Context, g *deadbolt.Grant, c *deadbolt.AuthCode) (string, error) {
	var id string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO oidc_grants (id, session_id, user_id, app_id, created_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (session_id, app_id) DO UPDATE SET session_id = excluded.session_id
			RETURNING id`, g.ID, g.SessionID, g.UserID, g.AppID, tsv(g.CreatedAt)).Scan(&id)
		if isForeignKey(err) {
			return notFound("user or application")
		}
		if err != nil {
			return fmt.Errorf("sqlite: issue code: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO oidc_codes (hash, grant_id, redirect_uri, scope, nonce, code_challenge,
			auth_time, amr, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, id, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, tsv(c.AuthTime), joinAMR(c.AMR),
			tsv(c.CreatedAt), tsv(c.ExpiresAt))
		if err != nil {
			return fmt.Errorf("sqlite: issue code: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	c.GrantID = id
	return id, nil
}

// Code returns a code, its grant, session and employee.
func (s *Store) Code(ctx context.Context, hash []byte) (*deadbolt.CodeRecord, error) {
	c, g := &deadbolt.AuthCode{Hash: hash}, &deadbolt.Grant{}
	var auth, created, expires int64
	var used, revoked sql.NullInt64
	var amr string
	var sessID sql.NullString
	sess, u := &deadbolt.Session{}, &deadbolt.User{}
	gd, gf := grantDest(g)
	sd, sf := nullableSessionDest(sess, &sessID)
	ud, uf := userDest(u)
	err := s.rdb.QueryRowContext(ctx, `SELECT c.grant_id, c.redirect_uri, c.scope, c.nonce, c.code_challenge, c.auth_time,
		c.amr, c.created_at, c.expires_at, c.used_at, c.revoked_at, `+grantCols+`, `+nullableSessionCols+`, `+userCols+`
		FROM oidc_codes c
		JOIN oidc_grants g ON g.id = c.grant_id
		JOIN users u ON u.id = g.user_id
		LEFT JOIN sessions s ON s.id = g.session_id
		WHERE c.hash = ?`, hash).
		Scan(append(append(append([]any{&c.GrantID, &c.RedirectURI, &c.Scope, &c.Nonce, &c.CodeChallenge, &auth, &amr,
			&created, &expires, &used, &revoked}, gd...), sd...), ud...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("code")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: code: %w", err)
	}
	gf()
	uf()
	rec := &deadbolt.CodeRecord{Code: c, Grant: g, User: u}
	if sf() {
		rec.Session = sess
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt = time.UnixMicro(auth).UTC(), time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	c.UsedAt, c.RevokedAt, c.AMR = fromTS(used), fromTS(revoked), splitAMR(amr)
	return rec, nil
}

func insertTokens(ctx context.Context, tx *sql.Tx, tokens []*deadbolt.OAuthToken) error {
	for _, t := range tokens {
		if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_tokens (hash, chain, grant_id, kind, scope, auth_time, amr,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, t.Chain, t.GrantID, t.Kind, t.Scope, tsv(t.AuthTime), joinAMR(t.AMR), tsv(t.CreatedAt), tsv(t.ExpiresAt)); err != nil {
			return fmt.Errorf("sqlite: store token: %w", err)
		}
	}
	return nil
}

// errReused rolls a redemption back so that the revocation that follows
// commits on its own.
var errReused = errors.New("used before")

// RedeemCode uses a code once and stores the tokens of its exchange; a
// second use revokes the code's chain.
func (s *Store) RedeemCode(ctx context.Context, hash []byte, now time.Time, tokens []*deadbolt.OAuthToken) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var grant string
		err := tx.QueryRowContext(ctx, `UPDATE oidc_codes SET used_at = ?
			WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? RETURNING grant_id`,
			tsv(now), hash, tsv(now)).Scan(&grant)
		if errors.Is(err, sql.ErrNoRows) {
			var used sql.NullInt64
			switch err := tx.QueryRowContext(ctx, `SELECT used_at FROM oidc_codes WHERE hash = ?`, hash).Scan(&used); {
			case errors.Is(err, sql.ErrNoRows):
				return notFound("code")
			case err != nil:
				return fmt.Errorf("sqlite: redeem code: %w", err)
			case used.Valid:
				return errReused
			}
			return notFound("code") // expired or revoked
		}
		if err != nil {
			return fmt.Errorf("sqlite: redeem code: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oidc_grants SET tokens_issued = 1 WHERE id = ?`, grant); err != nil {
			return fmt.Errorf("sqlite: redeem code: %w", err)
		}
		return insertTokens(ctx, tx, tokens)
	})
	if errors.Is(err, errReused) {
		if err := s.RevokeChain(ctx, hash, now); err != nil {
			return err
		}
		return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: code used before; its chain is revoked")
	}
	return err
}

// Token returns a token and what decides its validity.
func (s *Store) Token(ctx context.Context, hash []byte) (*deadbolt.TokenRecord, error) {
	t, g := &deadbolt.OAuthToken{Hash: hash}, &deadbolt.Grant{}
	rec := &deadbolt.TokenRecord{Token: t, Grant: g}
	var auth, created, expires int64
	var used, revoked sql.NullInt64
	var amr string
	var sessID sql.NullString
	sess, u := &deadbolt.Session{}, &deadbolt.User{}
	gd, gf := grantDest(g)
	sd, sf := nullableSessionDest(sess, &sessID)
	ud, uf := userDest(u)
	err := s.rdb.QueryRowContext(ctx, `SELECT t.chain, t.grant_id, t.kind, t.scope, t.auth_time, t.amr, t.created_at,
		t.expires_at, t.used_at, c.revoked_at, `+grantCols+`, `+nullableSessionCols+`, `+userCols+`
		FROM oidc_tokens t
		JOIN oidc_codes c ON c.hash = t.chain
		JOIN oidc_grants g ON g.id = t.grant_id
		JOIN users u ON u.id = g.user_id
		LEFT JOIN sessions s ON s.id = g.session_id
		WHERE t.hash = ?`, hash).
		Scan(append(append(append([]any{&t.Chain, &t.GrantID, &t.Kind, &t.Scope, &auth, &amr, &created, &expires, &used, &revoked},
			gd...), sd...), ud...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("token")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: token: %w", err)
	}
	gf()
	uf()
	if sf() {
		rec.Session = sess
	}
	rec.User = u
	t.AuthTime, t.CreatedAt, t.ExpiresAt = time.UnixMicro(auth).UTC(), time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	t.UsedAt, t.AMR = fromTS(used), splitAMR(amr)
	rec.ChainRevoked = revoked.Valid
	return rec, nil
}

// RotateRefreshToken uses a refresh token once and stores its successors;
// a second use revokes the chain.
func (s *Store) RotateRefreshToken(ctx context.Context, hash []byte, now time.Time, tokens []*deadbolt.OAuthToken) error {
	var chain []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE oidc_tokens SET used_at = ?
			WHERE hash = ? AND kind = 'refresh' AND used_at IS NULL RETURNING chain`, tsv(now), hash).Scan(&chain)
		if errors.Is(err, sql.ErrNoRows) {
			switch err := tx.QueryRowContext(ctx, `SELECT chain FROM oidc_tokens WHERE hash = ? AND kind = 'refresh'`, hash).Scan(&chain); {
			case errors.Is(err, sql.ErrNoRows):
				return notFound("refresh token")
			case err != nil:
				return fmt.Errorf("sqlite: rotate refresh token: %w", err)
			}
			return errReused
		}
		if err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		}
		return insertTokens(ctx, tx, tokens)
	})
	if errors.Is(err, errReused) {
		if err := s.RevokeChain(ctx, chain, now); err != nil {
			return err
		}
		return deadbolt.StoreError(deadbolt.CodeConflict, "sqlite: refresh token used before; its chain is revoked")
	}
	return err
}

// RevokeChain revokes the chain started by a code.
func (s *Store) RevokeChain(ctx context.Context, chain []byte, now time.Time) error {
	if _, err := s.wdb.ExecContext(ctx, `UPDATE oidc_codes SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL`,
		tsv(now), chain); err != nil {
		return fmt.Errorf("sqlite: revoke chain: %w", err)
	}
	return nil
}

// DeleteToken deletes one token.
func (s *Store) DeleteToken(ctx context.Context, hash []byte) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("sqlite: delete token: %w", err)
	}
	return nil
}

// sessionEnded is the condition on a grant row g whose session s (left
// joined) and user u have ended; parameters ?1 now and ?2 the idle bound.
const sessionEnded = `(s.id IS NULL OR s.expires_at <= ?1 OR s.last_seen_at < ?2
	OR s.epoch <> u.session_epoch OR u.active = 0)`

// EndedGrants lists grants owing a back-channel logout now.
func (s *Store) EndedGrants(ctx context.Context, now, idleBefore time.Time, limit int) ([]*deadbolt.Grant, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+grantCols+` FROM oidc_grants g
		JOIN applications a ON a.id = g.app_id
		JOIN users u ON u.id = g.user_id
		LEFT JOIN sessions s ON s.id = g.session_id
		WHERE g.logout_done_at IS NULL AND g.tokens_issued = 1 AND a.backchannel_logout_uri <> ''
		AND (g.logout_next_at IS NULL OR g.logout_next_at <= ?1)
		AND (g.logout_claimed_until IS NULL OR g.logout_claimed_until <= ?1)
		AND `+sessionEnded+`
		ORDER BY g.logout_next_at, g.id LIMIT ?3`, tsv(now), tsv(idleBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: ended grants: %w", err)
	}
	return scanGrants(rows)
}

func scanGrants(rows *readRows) ([]*deadbolt.Grant, error) {
	defer rows.Close()
	var out []*deadbolt.Grant
	for rows.Next() {
		g := &deadbolt.Grant{}
		d, f := grantDest(g)
		if err := rows.Scan(d...); err != nil {
			return nil, fmt.Errorf("sqlite: grants: %w", err)
		}
		f()
		out = append(out, g)
	}
	return out, rows.Err()
}

// ClaimLogout claims a delivery, once.
func (s *Store) ClaimLogout(ctx context.Context, grantID string, now, until time.Time) (*deadbolt.Grant, bool, error) {
	g := &deadbolt.Grant{}
	d, f := grantDest(g)
	err := s.wdb.QueryRowContext(ctx, `UPDATE oidc_grants SET logout_claimed_until = ?1,
			logout_attempts = logout_attempts + 1, logout_first_at = COALESCE(logout_first_at, ?2)
		WHERE id = ?3 AND logout_done_at IS NULL
		AND (logout_claimed_until IS NULL OR logout_claimed_until <= ?2)
		AND (logout_next_at IS NULL OR logout_next_at <= ?2)
		RETURNING `+strings.ReplaceAll(grantCols, "g.", ""), tsv(until), tsv(now), grantID).Scan(d...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: claim logout: %w", err)
	}
	f()
	return g, true, nil
}

// FinishLogout records a delivery's outcome.
func (s *Store) FinishLogout(ctx context.Context, grantID string, now time.Time, ok, giveUp bool, next time.Time, errText string) error {
	var err error
	switch {
	case ok:
		_, err = s.wdb.ExecContext(ctx, `UPDATE oidc_grants SET logout_done_at = ?, logout_claimed_until = NULL,
			logout_next_at = NULL WHERE id = ?`, tsv(now), grantID)
	case giveUp:
		_, err = s.wdb.ExecContext(ctx, `UPDATE oidc_grants SET logout_done_at = ?, logout_failed = 1, logout_error = ?,
			logout_claimed_until = NULL, logout_next_at = NULL WHERE id = ?`, tsv(now), errText, grantID)
	default:
		_, err = s.wdb.ExecContext(ctx, `UPDATE oidc_grants SET logout_next_at = ?, logout_error = ?,
			logout_claimed_until = NULL WHERE id = ?`, tsv(next), errText, grantID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: finish logout: %w", err)
	}
	return nil
}

// LogoutFailures lists grants whose delivery failed, most recent first.
func (s *Store) LogoutFailures(ctx context.Context, appID string, limit int) ([]*deadbolt.Grant, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+grantCols+` FROM oidc_grants g WHERE g.logout_error <> ''
		AND (?1 = '' OR g.app_id = ?1)
		ORDER BY COALESCE(g.logout_done_at, g.logout_next_at) DESC, g.id LIMIT ?2`, appID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: logout failures: %w", err)
	}
	return scanGrants(rows)
}

// SweepOIDC deletes what no longer serves.
func (s *Store) SweepOIDC(ctx context.Context, now, idleBefore, doneBefore time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_requests WHERE expires_at <= ?`, tsv(now)); err != nil {
			return fmt.Errorf("sqlite: sweep: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE kind = 'access' AND expires_at <= ?`, tsv(now)); err != nil {
			return fmt.Errorf("sqlite: sweep: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM oidc_grants WHERE id IN (
			SELECT g.id FROM oidc_grants g
			JOIN applications a ON a.id = g.app_id
			JOIN users u ON u.id = g.user_id
			LEFT JOIN sessions s ON s.id = g.session_id
			WHERE (g.logout_done_at IS NOT NULL AND g.logout_done_at < ?3)
			OR (g.logout_done_at IS NULL AND (g.tokens_issued = 0 OR a.backchannel_logout_uri = '')
				AND `+sessionEnded+`))`, tsv(now), tsv(idleBefore), tsv(doneBefore))
		if err != nil {
			return fmt.Errorf("sqlite: sweep: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// nullableSessionCols are sessionCols of a left-joined session.
const nullableSessionCols = sessionCols

// nullableSessionDest returns scan destinations for a left-joined
// session and a function that finishes it, reporting whether there was one.
func nullableSessionDest(sess *deadbolt.Session, id *sql.NullString) ([]any, func() bool) {
	var userID, state, method, ip, ua, amr sql.NullString
	var epoch, created, seen, expires, auth sql.NullInt64
	dest := []any{id, &userID, &state, &epoch, &created, &seen, &expires, &auth, &method, &ip, &ua, &amr}
	return dest, func() bool {
		if !id.Valid {
			return false
		}
		*sess = deadbolt.Session{ID: id.String, UserID: userID.String, State: deadbolt.SessionState(state.String),
			Epoch: epoch.Int64, CreatedAt: fromTS(created), LastSeenAt: fromTS(seen), ExpiresAt: fromTS(expires),
			AuthAt: fromTS(auth), Method: method.String, IP: ip.String, UserAgent: ua.String, AMR: splitAMR(amr.String)}
		return true
	}
}
