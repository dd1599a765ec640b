package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

const overviewSQL = `SELECT d.id, d.user_id, d.pairing_id, d.name, d.platform, d.public_key, d.totp_secret, d.webpush,
		d.created_at, d.confirmed_at, d.disconnected_at,
		(SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL),
		(SELECT count(*) FROM passkeys WHERE user_id = ?1),
		` + policiesCol + `,
		(SELECT json_group_array(json_array(kind, dismissed_at)) FROM banner_dismissals WHERE user_id = ?1)
	FROM (SELECT 1) AS one
	LEFT JOIN (SELECT * FROM devices WHERE user_id = ?1 AND confirmed_at IS NOT NULL AND disconnected_at IS NULL
		ORDER BY confirmed_at DESC LIMIT 1) d ON 1 = 1`

// FactorOverview reads the employee's device, recovery codes left,
// workgroup policies and banner dismissals in one statement.
func (s *Store) FactorOverview(ctx context.Context, userID string) (*deadbolt.FactorOverview, error) {
	var (
		id, uid, pairing, name, platform, webpush sql.NullString
		pub, secret                               []byte
		created, confirmed, disconnected          sql.NullInt64
		left, passkeys                            int
		policies, dismissals                      string
	)
	err := s.rdb.QueryRowContext(ctx, overviewSQL, userID).Scan(&id, &uid, &pairing, &name, &platform, &pub, &secret,
		&webpush, &created, &confirmed, &disconnected, &left, &passkeys, &policies, &dismissals)
	if err != nil {
		return nil, fmt.Errorf("sqlite: factor overview: %w", err)
	}
	o := &deadbolt.FactorOverview{RecoveryCodesLeft: left, Passkeys: passkeys, Policies: []deadbolt.WorkgroupPolicy{}, Dismissals: map[string]time.Time{}}
	if id.Valid {
		o.Device = &deadbolt.Device{ID: id.String, UserID: uid.String, PairingID: pairing.String, Name: name.String,
			Platform: platform.String, PublicKey: pub, TOTPSecretSealed: secret, WebPush: webpush.String,
			CreatedAt: fromTS(created), ConfirmedAt: fromTS(confirmed), DisconnectedAt: fromTS(disconnected)}
	}
	if o.Policies, err = decodePolicies(policies); err != nil {
		return nil, fmt.Errorf("sqlite: factor overview: %w", err)
	}
	var rows [][]any
	if err := json.Unmarshal([]byte(dismissals), &rows); err != nil {
		return nil, fmt.Errorf("sqlite: factor overview: %w", err)
	}
	for _, r := range rows {
		if len(r) != 2 {
			return nil, fmt.Errorf("sqlite: factor overview: dismissal row of %d values", len(r))
		}
		kind, _ := r[0].(string)
		o.Dismissals[kind] = jsonTime(r[1])
	}
	return o, nil
}

// policiesCol reads the policies of user ?1's workgroups as a JSON array
// of arrays, for decodePolicies.
const policiesCol = `(SELECT json_group_array(json_array(w.required, w.deadline, w.paused_until, w.paused, w.after_deadline, w.policy_updated_at, w.min_method))
			FROM workgroups w JOIN workgroup_members m ON m.workgroup_id = w.id AND m.user_id = ?1)`

// decodePolicies reads what policiesCol read.
func decodePolicies(js string) ([]deadbolt.WorkgroupPolicy, error) {
	var rows [][]any
	if err := json.Unmarshal([]byte(js), &rows); err != nil {
		return nil, err
	}
	ps := []deadbolt.WorkgroupPolicy{}
	for _, r := range rows {
		if len(r) != 7 {
			return nil, fmt.Errorf("policy row of %d values", len(r))
		}
		after, _ := r[4].(string)
		minMethod, _ := r[6].(string)
		ps = append(ps, deadbolt.WorkgroupPolicy{
			Required: jsonNum(r[0]) != 0, Deadline: jsonTime(r[1]), PausedUntil: jsonTime(r[2]),
			Paused: jsonNum(r[3]) != 0, AfterDeadline: after, UpdatedAt: jsonTime(r[5]), MinMethod: minMethod,
		})
	}
	return ps, nil
}

// jsonNum reads a JSON number (float64) or null as an int64.
func jsonNum(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// jsonTime reads unix microseconds from JSON; null is the zero time.
func jsonTime(v any) time.Time {
	f, ok := v.(float64)
	if !ok {
		return time.Time{}
	}
	return time.UnixMicro(int64(f)).UTC()
}
