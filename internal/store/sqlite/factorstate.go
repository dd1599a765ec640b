package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

const factorStateSQL = `SELECT d.id, d.user_id, d.pairing_id, d.name, d.platform, d.public_key, d.totp_secret, d.webpush,
		d.created_at, d.confirmed_at, d.disconnected_at,
		(SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL),
		(SELECT count(*) FROM passkeys WHERE user_id = ?1),
		` + policiesCol + `,
		f.n, f.first_at, f.last_at, f.prev_at, r.n, r.first_at, r.last_at, r.prev_at
	FROM (SELECT 1) AS one
	LEFT JOIN (SELECT * FROM devices WHERE user_id = ?1 AND confirmed_at IS NOT NULL AND disconnected_at IS NULL
		ORDER BY confirmed_at DESC LIMIT 1) d ON 1 = 1
	LEFT JOIN counters f ON f.key = ?2
	LEFT JOIN counters r ON r.key = ?3`

// rowScanner is a *sql.Row of the reader pool or of a write transaction.
type rowScanner interface{ Scan(dest ...any) error }

// FactorState reads the trusted device, codes left and two counters in
// one statement.
func (s *Store) FactorState(ctx context.Context, userID, failuresKey, streakKey string) (*deadbolt.FactorState, error) {
	st, err := scanFactorState(s.rdb.QueryRowContext(ctx, factorStateSQL, userID, failuresKey, streakKey))
	if err != nil {
		return nil, fmt.Errorf("sqlite: factor state: %w", err)
	}
	return st, nil
}

// FactorAttempt counts an attempt in one write of the group commit and,
// meanwhile, reads the rest of the factor state on a reader connection:
// the counters come from the hits themselves (RETURNING), and nothing else
// the state holds depends on them, so the writer — which runs every write
// of the server one after the other — does only the hits.
func (s *Store) FactorAttempt(ctx context.Context, userID, failuresKey, streakKey string, countStreak bool, now time.Time) (*deadbolt.FactorState, error) {
	var (
		st   *deadbolt.FactorState
		rerr error
		read = make(chan struct{})
	)
	go func() {
		defer close(read)
		st, rerr = s.FactorState(ctx, userID, failuresKey, streakKey)
	}()
	var fails, streak deadbolt.Counter
	// Relaxed: see relaxed.go.
	err := s.tx(relaxedWrite(ctx), func(sqlTx *sql.Tx) error {
		var err error
		fails, streak, err = hitFactor(ctx, s.prepared(sqlTx), failuresKey, streakKey, countStreak, now)
		return err
	})
	<-read
	if err = errors.Join(err, rerr); err != nil {
		return nil, fmt.Errorf("sqlite: factor attempt: %w", err)
	}
	st.Failures = fails
	if countStreak {
		st.Streak = streak
	}
	return st, nil
}

// hitFactor counts one hit at now on failuresKey, and on streakKey too
// when countStreak (both in one statement), and returns the counters.
func hitFactor(ctx context.Context, tx preparedTx, failuresKey, streakKey string, countStreak bool, now time.Time) (fails, streak deadbolt.Counter, err error) {
	if !countStreak {
		fails, err = scanHit(tx.QueryRowContext(ctx, hitSQL, failuresKey, tsv(now), noWindow))
		return fails, streak, err
	}
	f, st, err := queryStreaks(ctx, tx, hitPairSQL, failuresKey, streakKey, tsv(now))
	if err != nil {
		return fails, streak, err
	}
	fails, streak = f.Counter, st.Counter
	if !f.found || !st.found {
		return fails, streak, fmt.Errorf("the hits returned a counter short (%v, %v)", f.found, st.found)
	}
	return fails, streak, nil
}

// queryStreaks runs query, whose rows are the counters of two streaks
// (failuresKey's first, and whether each is) — hitPairSQL or
// peekCountersSQL — and returns them, found or not.
func queryStreaks(ctx context.Context, tx preparedTx, query, failuresKey, streakKey string, args ...any) (fails, streak peeked, err error) {
	rows, err := tx.QueryContext(ctx, query, append([]any{failuresKey, streakKey}, args...)...)
	if err != nil {
		return fails, streak, err
	}
	defer rows.Close()
	for rows.Next() {
		var isFails bool
		c, err := scanHitRow(rows, &isFails)
		if err != nil {
			return fails, streak, err
		}
		if isFails {
			fails = peeked{c, true}
		} else {
			streak = peeked{c, true}
		}
	}
	return fails, streak, rows.Err()
}

// hitPairSQL counts one hit on each of two streaks (keys ?1 and ?2, which
// never restart) at ?3, as hitSQL does for one; each returned row tells
// whether it is ?1's.
const hitPairSQL = `INSERT INTO counters (key, n, first_at, last_at, prev_at) VALUES (?1, 1, ?3, ?3, NULL), (?2, 1, ?3, ?3, NULL)
	ON CONFLICT (key) DO UPDATE SET
		n = counters.n + 1,
		prev_at = counters.last_at,
		last_at = excluded.last_at
	RETURNING key = ?1, n, first_at, last_at, prev_at`

// scanHitRow reads a counter of hitPairSQL, and whether it is the first key's.
func scanHitRow(rows *sql.Rows, first *bool) (deadbolt.Counter, error) {
	var n, f, last int64
	var prev sql.NullInt64
	if err := rows.Scan(first, &n, &f, &last, &prev); err != nil {
		return deadbolt.Counter{}, err
	}
	return deadbolt.Counter{N: n, First: time.UnixMicro(f).UTC(), Last: time.UnixMicro(last).UTC(), Prev: fromTS(prev)}, nil
}

// scanHit reads the counter a hit returned.
func scanHit(row rowScanner) (deadbolt.Counter, error) {
	var n, first, last int64
	var prev sql.NullInt64
	if err := row.Scan(&n, &first, &last, &prev); err != nil {
		return deadbolt.Counter{}, err
	}
	return deadbolt.Counter{N: n, First: time.UnixMicro(first).UTC(), Last: time.UnixMicro(last).UTC(), Prev: fromTS(prev)}, nil
}

func scanFactorState(row rowScanner) (*deadbolt.FactorState, error) {
	var (
		id, uid, pairing, name, platform, webpush sql.NullString
		pub, secret                               []byte
		created, confirmed, disconnected          sql.NullInt64
		left, passkeys                            int
		policies                                  string
		fn, ff, fl, fp, rn, rf, rl, rp            sql.NullInt64
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
	if id.Valid {
		st.Device = &deadbolt.Device{ID: id.String, UserID: uid.String, PairingID: pairing.String, Name: name.String,
			Platform: platform.String, PublicKey: pub, TOTPSecretSealed: secret, WebPush: webpush.String,
			CreatedAt: fromTS(created), ConfirmedAt: fromTS(confirmed), DisconnectedAt: fromTS(disconnected)}
	}
	return st, nil
}

func counterOf(n, first, last, prev sql.NullInt64) deadbolt.Counter {
	if !n.Valid {
		return deadbolt.Counter{}
	}
	return deadbolt.Counter{N: n.Int64, First: time.UnixMicro(first.Int64).UTC(), Last: time.UnixMicro(last.Int64).UTC(), Prev: fromTS(prev)}
}
