package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

// SigningKeys lists every key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]*deadbolt.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, private_key, created_at, retired_at FROM oidc_keys
		ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("postgres: signing keys: %w", err)
	}
	defer rows.Close()
	var out []*deadbolt.SigningKey
	for rows.Next() {
		k := &deadbolt.SigningKey{}
		var retired *time.Time
		if err := rows.Scan(&k.ID, &k.PrivateSealed, &k.CreatedAt, &retired); err != nil {
			return nil, fmt.Errorf("postgres: signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = k.CreatedAt.UTC(), fromTS(retired)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: signing keys: %w", err)
	}
	return out, nil
}

// AddFirstSigningKey stores k unless a key was ever stored; of nodes
// racing, the unique first column lets one through.
func (s *Store) AddFirstSigningKey(ctx context.Context, k *deadbolt.SigningKey) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO oidc_keys (id, private_key, created_at, first)
		SELECT $1, $2, $3, true WHERE NOT EXISTS (SELECT 1 FROM oidc_keys) ON CONFLICT DO NOTHING`,
		k.ID, k.PrivateSealed, k.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("postgres: add signing key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RotateSigningKey stores k and retires the other current keys, in one
// transaction.
func (s *Store) RotateSigningKey(ctx context.Context, k *deadbolt.SigningKey) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE oidc_keys SET retired_at = $1 WHERE retired_at IS NULL`, k.CreatedAt); err != nil {
			return fmt.Errorf("postgres: rotate signing key: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO oidc_keys (id, private_key, created_at) VALUES ($1, $2, $3)`,
			k.ID, k.PrivateSealed, k.CreatedAt); err != nil {
			return fmt.Errorf("postgres: rotate signing key: %w", err)
		}
		return nil
	})
}

// DeleteSigningKeys deletes keys retired before before.
func (s *Store) DeleteSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete signing keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// SaveAuthRequest stores a pending authorization request; an unknown app
// is CodeNotFound.
func (s *Store) SaveAuthRequest(ctx context.Context, r *deadbolt.AuthRequest) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO oidc_requests (id, app_id, params, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, r.ID, r.AppID, r.Params, r.CreatedAt, r.ExpiresAt)
	if foreignKeyViolation(err) {
		return notFound("application")
	}
	if err != nil {
		return fmt.Errorf("postgres: save authorization request: %w", err)
	}
	return nil
}

// AuthRequest returns a pending request, or CodeNotFound.
func (s *Store) AuthRequest(ctx context.Context, id string) (*deadbolt.AuthRequest, error) {
	r := &deadbolt.AuthRequest{}
	err := s.pool.QueryRow(ctx, `SELECT id, app_id, params, created_at, expires_at FROM oidc_requests WHERE id = $1`, id).
		Scan(&r.ID, &r.AppID, &r.Params, &r.CreatedAt, &r.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("authorization request")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: authorization request: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return r, nil
}

// ConsumeAuthRequest deletes a pending request and reports whether it was
// there.
func (s *Store) ConsumeAuthRequest(ctx context.Context, id string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM oidc_requests WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("postgres: consume authorization request: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

const grantCols = `g.id, g.session_id, g.user_id, g.app_id, g.created_at, g.tokens_issued, g.logout_attempts,
	g.logout_first_at, g.logout_next_at, g.logout_done_at, g.logout_failed, g.logout_error`

func grantDest(g *deadbolt.Grant) ([]any, func()) {
	var first, next, done *time.Time
	return []any{&g.ID, &g.SessionID, &g.UserID, &g.AppID, &g.CreatedAt, &g.TokensIssued, &g.LogoutAttempts,
			&first, &next, &done, &g.LogoutFailed, &g.LogoutError}, func() {
			g.CreatedAt = g.CreatedAt.UTC()
			g.LogoutFirstAt, g.LogoutNextAt, g.LogoutDoneAt = fromTS(first), fromTS(next), fromTS(done)
		}
}

// IssueCode stores c under the grant of (session, app), creating it, in
// one statement.
func (s *Store) IssueCode(ctx context.Context, g *deadbolt.Grant, c *deadbolt.AuthCode) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `WITH g AS (
			INSERT INTO oidc_grants (id, session_id, user_id, app_id, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (session_id, app_id) DO UPDATE SET session_id = excluded.session_id
			RETURNING id)
		INSERT INTO oidc_codes (hash, grant_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr,
			created_at, expires_at)
		SELECT $6, g.id, $7, $8, $9, $10, $11, $12, $13, $14 FROM g RETURNING grant_id`,
		g.ID, g.SessionID, g.UserID, g.AppID, g.CreatedAt,
		c.Hash, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, c.AuthTime, joinAMR(c.AMR), c.CreatedAt, c.ExpiresAt).Scan(&id)
	if foreignKeyViolation(err) {
		return "", notFound("user or application")
	}
	if err != nil {
		return "", fmt.Errorf("postgres: issue code: %w", err)
	}
	c.GrantID = id
	return id, nil
}

// Code returns a code, its grant, session and employee, or CodeNotFound.
func (s *Store) Code(ctx context.Context, hash []byte) (*deadbolt.CodeRecord, error) {
	c, g := &deadbolt.AuthCode{Hash: hash}, &deadbolt.Grant{}
	var used, revoked *time.Time
	var amr string
	sess, u := &deadbolt.Session{}, &deadbolt.User{}
	gd, gf := grantDest(g)
	sd, sf := nullableSessionDest(sess)
	ud, uf := userDest(u)
	err := s.pool.QueryRow(ctx, `SELECT c.grant_id, c.redirect_uri, c.scope, c.nonce, c.code_challenge, c.auth_time,
		c.amr, c.created_at, c.expires_at, c.used_at, c.revoked_at, `+grantCols+`, `+sessionCols+`, `+userCols+`
		FROM oidc_codes c
		JOIN oidc_grants g ON g.id = c.grant_id
		JOIN users u ON u.id = g.user_id
		LEFT JOIN sessions s ON s.id = g.session_id
		WHERE c.hash = $1`, hash).
		Scan(append(append(append([]any{&c.GrantID, &c.RedirectURI, &c.Scope, &c.Nonce, &c.CodeChallenge, &c.AuthTime, &amr,
			&c.CreatedAt, &c.ExpiresAt, &used, &revoked}, gd...), sd...), ud...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("code")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: code: %w", err)
	}
	gf()
	uf()
	rec := &deadbolt.CodeRecord{Code: c, Grant: g, User: u}
	if sf() {
		rec.Session = sess
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt = c.AuthTime.UTC(), c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	c.UsedAt, c.RevokedAt, c.AMR = fromTS(used), fromTS(revoked), splitAMR(amr)
	return rec, nil
}

func insertTokens(ctx context.Context, tx pgx.Tx, tokens []*deadbolt.OAuthToken) error {
	for _, t := range tokens {
		if _, err := tx.Exec(ctx, `INSERT INTO oidc_tokens (hash, chain, grant_id, kind, scope, auth_time, amr,
			created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.Hash, t.Chain, t.GrantID, t.Kind, t.Scope, t.AuthTime, joinAMR(t.AMR), t.CreatedAt, t.ExpiresAt); err != nil {
			return fmt.Errorf("postgres: store token: %w", err)
		}
	}
	return nil
}

// errReused rolls a redemption back so that the revocation that follows
// commits on its own.
var errReused = errors.New("used before")

// RedeemCode uses a code once (the row lock of the UPDATE serialises racing
// redemptions) and stores the tokens of its exchange; a second use is
// CodeConflict and revokes the code's chain.
func (s *Store) RedeemCode(ctx context.Context, hash []byte, now time.Time, tokens []*deadbolt.OAuthToken) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var grant string
		err := tx.QueryRow(ctx, `UPDATE oidc_codes SET used_at = $2
			WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 RETURNING grant_id`,
			hash, now).Scan(&grant)
		if errors.Is(err, pgx.ErrNoRows) {
			var used *time.Time
			switch err := tx.QueryRow(ctx, `SELECT used_at FROM oidc_codes WHERE hash = $1`, hash).Scan(&used); {
			case errors.Is(err, pgx.ErrNoRows):
				return notFound("code")
			case err != nil:
				return fmt.Errorf("postgres: redeem code: %w", err)
			case used != nil:
				return errReused
			}
			return notFound("code") // expired or revoked
		}
		if err != nil {
			return fmt.Errorf("postgres: redeem code: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE oidc_grants SET tokens_issued = true WHERE id = $1 AND NOT tokens_issued`, grant); err != nil {
			return fmt.Errorf("postgres: redeem code: %w", err)
		}
		return insertTokens(ctx, tx, tokens)
	})
	if errors.Is(err, errReused) {
		if err := s.RevokeChain(ctx, hash, now); err != nil {
			return err
		}
		return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: code used before; its chain is revoked")
	}
	return err
}

// nullableSessionDest returns scan destinations for a left-joined session
// and a function that finishes it, reporting whether there was one.
func nullableSessionDest(sess *deadbolt.Session) ([]any, func() bool) {
	var id, userID, state, method, ip, ua, amr *string
	var epoch *int64
	var created, seen, expires, auth *time.Time
	dest := []any{&id, &userID, &state, &epoch, &created, &seen, &expires, &auth, &method, &ip, &ua, &amr}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return dest, func() bool {
		if id == nil {
			return false
		}
		*sess = deadbolt.Session{ID: *id, UserID: str(userID), State: deadbolt.SessionState(str(state)),
			CreatedAt: fromTS(created), LastSeenAt: fromTS(seen), ExpiresAt: fromTS(expires), AuthAt: fromTS(auth),
			Method: str(method), IP: str(ip), UserAgent: str(ua), AMR: splitAMR(str(amr))}
		if epoch != nil {
			sess.Epoch = *epoch
		}
		return true
	}
}

// Token returns a token and what decides its validity, or CodeNotFound.
func (s *Store) Token(ctx context.Context, hash []byte) (*deadbolt.TokenRecord, error) {
	t, g := &deadbolt.OAuthToken{Hash: hash}, &deadbolt.Grant{}
	rec := &deadbolt.TokenRecord{Token: t, Grant: g}
	var used, revoked *time.Time
	var amr string
	sess, u := &deadbolt.Session{}, &deadbolt.User{}
	gd, gf := grantDest(g)
	sd, sf := nullableSessionDest(sess)
	ud, uf := userDest(u)
	err := s.pool.QueryRow(ctx, `SELECT t.chain, t.grant_id, t.kind, t.scope, t.auth_time, t.amr, t.created_at,
		t.expires_at, t.used_at, c.revoked_at, `+grantCols+`, `+sessionCols+`, `+userCols+`
		FROM oidc_tokens t
		JOIN oidc_codes c ON c.hash = t.chain
		JOIN oidc_grants g ON g.id = t.grant_id
		JOIN users u ON u.id = g.user_id
		LEFT JOIN sessions s ON s.id = g.session_id
		WHERE t.hash = $1`, hash).
		Scan(append(append(append([]any{&t.Chain, &t.GrantID, &t.Kind, &t.Scope, &t.AuthTime, &amr, &t.CreatedAt,
			&t.ExpiresAt, &used, &revoked}, gd...), sd...), ud...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("token")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: token: %w", err)
	}
	gf()
	uf()
	if sf() {
		rec.Session = sess
	}
	rec.User = u
	t.AuthTime, t.CreatedAt, t.ExpiresAt = t.AuthTime.UTC(), t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	t.UsedAt, t.AMR = fromTS(used), splitAMR(amr)
	rec.ChainRevoked = revoked != nil
	return rec, nil
}

// RotateRefreshToken uses a refresh token once and stores its successors;
// a second use is CodeConflict and revokes the chain.
func (s *Store) RotateRefreshToken(ctx context.Context, hash []byte, now time.Time, tokens []*deadbolt.OAuthToken) error {
	var chain []byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE oidc_tokens SET used_at = $2
			WHERE hash = $1 AND kind = 'refresh' AND used_at IS NULL RETURNING chain`, hash, now).Scan(&chain)
		if errors.Is(err, pgx.ErrNoRows) {
			switch err := tx.QueryRow(ctx, `SELECT chain FROM oidc_tokens WHERE hash = $1 AND kind = 'refresh'`, hash).Scan(&chain); {
			case errors.Is(err, pgx.ErrNoRows):
				return notFound("refresh token")
			case err != nil:
				return fmt.Errorf("postgres: rotate refresh token: %w", err)
			}
			return errReused
		}
		if err != nil {
			return fmt.Errorf("postgres: rotate refresh token: %w", err)
		}
		return insertTokens(ctx, tx, tokens)
	})
	if errors.Is(err, errReused) {
		if err := s.RevokeChain(ctx, chain, now); err != nil {
			return err
		}
		return deadbolt.StoreError(deadbolt.CodeConflict, "postgres: refresh token used before; its chain is revoked")
	}
	return err
}

// RevokeChain revokes the chain started by a code.
func (s *Store) RevokeChain(ctx context.Context, chain []byte, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE oidc_codes SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL`,
		chain, now); err != nil {
		return fmt.Errorf("postgres: revoke chain: %w", err)
	}
	return nil
}

// DeleteToken deletes one token.
func (s *Store) DeleteToken(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM oidc_tokens WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("postgres: delete token: %w", err)
	}
	return nil
}

// sessionEnded is the condition on a grant row g whose session s (left
// joined) and user u have ended; parameters $1 now and $2 the idle bound.
const sessionEnded = `(s.id IS NULL OR s.expires_at <= $1 OR s.last_seen_at < $2
	OR s.epoch <> u.session_epoch OR NOT u.active)`

// EndedGrants lists grants owing a back-channel logout now.
func (s *Store) EndedGrants(ctx context.Context, now, idleBefore time.Time, limit int) ([]*deadbolt.Grant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+grantCols+` FROM oidc_grants g
		JOIN applications a ON a.id = g.app_id
		JOIN users u ON u.id = g.user_id
		LEFT JOIN sessions s ON s.id = g.session_id
		WHERE g.logout_done_at IS NULL AND g.tokens_issued AND a.backchannel_logout_uri <> ''
		AND (g.logout_next_at IS NULL OR g.logout_next_at <= $1)
		AND (g.logout_claimed_until IS NULL OR g.logout_claimed_until <= $1)
		AND `+sessionEnded+`
		ORDER BY g.logout_next_at NULLS FIRST, g.id LIMIT $3`, now, idleBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: ended grants: %w", err)
	}
	return scanGrants(rows)
}

func scanGrants(rows pgx.Rows) ([]*deadbolt.Grant, error) {
	defer rows.Close()
	var out []*deadbolt.Grant
	for rows.Next() {
		g := &deadbolt.Grant{}
		d, f := grantDest(g)
		if err := rows.Scan(d...); err != nil {
			return nil, fmt.Errorf("postgres: grants: %w", err)
		}
		f()
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: grants: %w", err)
	}
	return out, nil
}

// ClaimLogout claims a delivery in one atomic statement: of nodes racing,
// one gets it.
func (s *Store) ClaimLogout(ctx context.Context, grantID string, now, until time.Time) (*deadbolt.Grant, bool, error) {
	g := &deadbolt.Grant{}
	d, f := grantDest(g)
	err := s.pool.QueryRow(ctx, `UPDATE oidc_grants AS g SET logout_claimed_until = $1,
			logout_attempts = g.logout_attempts + 1, logout_first_at = COALESCE(g.logout_first_at, $2)
		WHERE g.id = $3 AND g.logout_done_at IS NULL
		AND (g.logout_claimed_until IS NULL OR g.logout_claimed_until <= $2)
		AND (g.logout_next_at IS NULL OR g.logout_next_at <= $2)
		RETURNING `+grantCols, until, now, grantID).Scan(d...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("postgres: claim logout: %w", err)
	}
	f()
	return g, true, nil
}

// FinishLogout records a delivery's outcome.
func (s *Store) FinishLogout(ctx context.Context, grantID string, now time.Time, ok, giveUp bool, next time.Time, errText string) error {
	var err error
	switch {
	case ok:
		_, err = s.pool.Exec(ctx, `UPDATE oidc_grants SET logout_done_at = $2, logout_claimed_until = NULL,
			logout_next_at = NULL WHERE id = $1`, grantID, now)
	case giveUp:
		_, err = s.pool.Exec(ctx, `UPDATE oidc_grants SET logout_done_at = $2, logout_failed = true, logout_error = $3,
			logout_claimed_until = NULL, logout_next_at = NULL WHERE id = $1`, grantID, now, errText)
	default:
		_, err = s.pool.Exec(ctx, `UPDATE oidc_grants SET logout_next_at = $2, logout_error = $3,
			logout_claimed_until = NULL WHERE id = $1`, grantID, next, errText)
	}
	if err != nil {
		return fmt.Errorf("postgres: finish logout: %w", err)
	}
	return nil
}

// LogoutFailures lists grants whose delivery failed, most recent first.
func (s *Store) LogoutFailures(ctx context.Context, appID string, limit int) ([]*deadbolt.Grant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+grantCols+` FROM oidc_grants g WHERE g.logout_error <> ''
		AND ($1 = '' OR g.app_id = $1)
		ORDER BY COALESCE(g.logout_done_at, g.logout_next_at) DESC, g.id LIMIT $2`, appID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: logout failures: %w", err)
	}
	return scanGrants(rows)
}

// SweepOIDC deletes what no longer serves, in one transaction.
func (s *Store) SweepOIDC(ctx context.Context, now, idleBefore, doneBefore time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_requests WHERE expires_at <= $1`, now); err != nil {
			return fmt.Errorf("postgres: sweep: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_tokens WHERE kind = 'access' AND expires_at <= $1`, now); err != nil {
			return fmt.Errorf("postgres: sweep: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM oidc_grants WHERE id IN (
			SELECT g.id FROM oidc_grants g
			JOIN applications a ON a.id = g.app_id
			JOIN users u ON u.id = g.user_id
			LEFT JOIN sessions s ON s.id = g.session_id
			WHERE (g.logout_done_at IS NOT NULL AND g.logout_done_at < $3)
			OR (g.logout_done_at IS NULL AND (NOT g.tokens_issued OR a.backchannel_logout_uri = '')
				AND `+sessionEnded+`))`, now, idleBefore, doneBefore)
		if err != nil {
			return fmt.Errorf("postgres: sweep: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}
