package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"deadbolt/internal/deadbolt"
)

// factorStateCols reads the trusted device d, the codes left, the passkeys
// and the workgroup policies of user $1.
const factorStateCols = `d.id, d.user_id, d.pairing_id, d.name, d.platform, d.public_key, d.totp_secret, d.webpush,
		d.created_at, d.confirmed_at, d.disconnected_at,
		(SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL),
		(SELECT count(*) FROM passkeys WHERE user_id = $1),
		` + policiesCol

const trustedDeviceJoin = `LEFT JOIN LATERAL (SELECT * FROM devices WHERE user_id = $1 AND confirmed_at IS NOT NULL AND disconnected_at IS NULL
		ORDER BY confirmed_at DESC LIMIT 1) d ON true`

const factorStateSQL = `SELECT ` + factorStateCols + `,
		f.n, f.first_at, f.last_at, f.prev_at, r.n, r.first_at, r.last_at, r.prev_at
	FROM (SELECT 1) AS one
	` + trustedDeviceJoin + `
	LEFT JOIN counters f ON f.key = $2
	LEFT JOIN counters r ON r.key = $3`

// factorAttemptSQL counts the attempt on $2 (and on $3 when $5) at $4 and
// reads the state, in one statement. The main query reads the snapshot
// from before the statement's own writes, so the counters come from the
// RETURNING of the hits; r0 is the streak as it was, for when it is not
// counted. It waits for a settled attempt of the same streak to commit
// first (SettleAttempt's lock), taking that lock itself. Its commit does not wait for the WAL flush (synchronous_commit
// off, for this statement's transaction alone): the caller tells no
// outcome before a later durable commit, which flushes this one too
// (signin's gate.go, "Durability").
const factorAttemptSQL = `WITH f AS (
		INSERT INTO counters AS c (key, n, first_at, last_at)
		SELECT $2::text, 1, $4::timestamptz, $4::timestamptz FROM (SELECT pg_advisory_xact_lock(hashtextextended($2::text, 0))) AS settled
		ON CONFLICT (key) DO UPDATE SET n = c.n + 1, prev_at = c.last_at, last_at = excluded.last_at
		RETURNING n, first_at, last_at, prev_at
	), r AS (
		INSERT INTO counters AS c (key, n, first_at, last_at) SELECT $3::text, 1, $4::timestamptz, $4::timestamptz WHERE $5::boolean
		ON CONFLICT (key) DO UPDATE SET n = c.n + 1, prev_at = c.last_at, last_at = excluded.last_at
		RETURNING n, first_at, last_at, prev_at
	)
	SELECT ` + factorStateCols + `,
		f.n, f.first_at, f.last_at, f.prev_at,
		coalesce(r.n, r0.n), coalesce(r.first_at, r0.first_at), coalesce(r.last_at, r0.last_at),
		CASE WHEN r.n IS NULL THEN r0.prev_at ELSE r.prev_at END
	FROM f
	` + trustedDeviceJoin + `
	LEFT JOIN r ON true
	LEFT JOIN counters r0 ON r0.key = $3
	CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed`

// FactorState reads the trusted device, codes left and two counters in
// one statement.
func (s *Store) FactorState(ctx context.Context, userID, failuresKey, streakKey string) (*deadbolt.FactorState, error) {
	st, err := scanFactorState(s.pool.QueryRow(ctx, factorStateSQL, userID, failuresKey, streakKey))
	if err != nil {
		return nil, fmt.Errorf("postgres: factor state: %w", err)
	}
	return st, nil
}

// FactorAttempt counts an attempt and reads the factor state in one
// statement (one round trip, one commit).
func (s *Store) FactorAttempt(ctx context.Context, userID, failuresKey, streakKey string, countStreak bool, now time.Time) (*deadbolt.FactorState, error) {
	st, err := scanFactorState(s.pool.QueryRow(ctx, factorAttemptSQL, userID, failuresKey, streakKey, now, countStreak))
	if err != nil {
		return nil, fmt.Errorf("postgres: factor attempt: %w", err)
	}
	return st, nil
}

func scanFactorState(row pgx.Row) (*deadbolt.FactorState, error) {
	var (
		id, uid, pairing, name, platform, webpush *string
		pub, secret                               []byte
		created, confirmed, disconnected          *time.Time
		left, passkeys                            int
		policies                                  []byte
		fn, rn                                    *int64
		ff, fl, fp, rf, rl, rp                    *time.Time
	)
	if err := row.Scan(&id, &uid, &pairing, &name, &platform, &pub, &secret, &webpush, &created, &confirmed, &disconnected,
		&left, &passkeys, &policies, &fn, &ff, &fl, &fp, &rn, &rf, &rl, &rp); err != nil {
		return nil, err
	}
	ps, err := decodePolicies(policies)
	if err != nil {
		return nil, err
	}
	st := &deadbolt.FactorState{RecoveryCodesLeft: left, Passkeys: passkeys, Policies: ps, Failures: counterOf(fn, ff, fl, fp), Streak: counterOf(rn, rf, rl, rp)}
	if id != nil {
		st.Device = &deadbolt.Device{ID: *id, UserID: *uid, PairingID: *pairing, Name: *name, Platform: *platform,
			PublicKey: pub, TOTPSecretSealed: secret, WebPush: *webpush,
			CreatedAt: fromTS(created), ConfirmedAt: fromTS(confirmed), DisconnectedAt: fromTS(disconnected)}
	}
	return st, nil
}

func counterOf(n *int64, first, last, prev *time.Time) deadbolt.Counter {
	if n == nil {
		return deadbolt.Counter{}
	}
	return deadbolt.Counter{N: *n, First: fromTS(first), Last: fromTS(last), Prev: fromTS(prev)}
}
