package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"deadbolt/internal/deadbolt"
)

const overviewSQL = `SELECT d.id, d.user_id, d.pairing_id, d.name, d.platform, d.public_key, d.totp_secret, d.webpush,
		d.created_at, d.confirmed_at, d.disconnected_at,
		(SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL),
		(SELECT count(*) FROM passkeys WHERE user_id = $1),
		` + policiesCol + `,
		(SELECT coalesce(json_agg(json_build_array(kind, dismissed_at)), '[]') FROM banner_dismissals WHERE user_id = $1)
	FROM (SELECT 1) AS one
	LEFT JOIN LATERAL (SELECT * FROM devices WHERE user_id = $1 AND confirmed_at IS NOT NULL AND disconnected_at IS NULL
		ORDER BY confirmed_at DESC LIMIT 1) d ON true`

// FactorOverview reads the employee's device, recovery codes left,
// workgroup policies and banner dismissals in one statement.
func (s *Store) FactorOverview(ctx context.Context, userID string) (*deadbolt.FactorOverview, error) {
	var (
		id, uid, pairing, name, platform, webpush *string
		pub, secret                               []byte
		created, confirmed, disconnected          *time.Time
		left, passkeys                            int
		policies, dismissals                      []byte
	)
	err := s.pool.QueryRow(ctx, overviewSQL, userID).Scan(&id, &uid, &pairing, &name, &platform, &pub, &secret,
		&webpush, &created, &confirmed, &disconnected, &left, &passkeys, &policies, &dismissals)
	if err != nil {
		return nil, fmt.Errorf("postgres: factor overview: %w", err)
	}
	o := &deadbolt.FactorOverview{RecoveryCodesLeft: left, Passkeys: passkeys, Policies: []deadbolt.WorkgroupPolicy{}, Dismissals: map[string]time.Time{}}
	if id != nil {
		o.Device = &deadbolt.Device{ID: *id, UserID: *uid, PairingID: *pairing, Name: *name, Platform: *platform,
			PublicKey: pub, TOTPSecretSealed: secret, WebPush: *webpush,
			CreatedAt: fromTS(created), ConfirmedAt: fromTS(confirmed), DisconnectedAt: fromTS(disconnected)}
	}
	if o.Policies, err = decodePolicies(policies); err != nil {
		return nil, fmt.Errorf("postgres: factor overview: %w", err)
	}
	var raw [][]json.RawMessage
	if err := json.Unmarshal(dismissals, &raw); err != nil {
		return nil, fmt.Errorf("postgres: factor overview: %w", err)
	}
	for _, r := range raw {
		if len(r) != 2 {
			return nil, fmt.Errorf("postgres: factor overview: dismissal row of %d values", len(r))
		}
		var kind string
		var at time.Time
		if err := firstErr(json.Unmarshal(r[0], &kind), json.Unmarshal(r[1], &at)); err != nil {
			return nil, fmt.Errorf("postgres: factor overview: %w", err)
		}
		o.Dismissals[kind] = at.UTC()
	}
	return o, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// policiesCol reads the policies of user $1's workgroups as a JSON array
// of arrays, for decodePolicies.
const policiesCol = `(SELECT coalesce(json_agg(json_build_array(w.required, w.deadline, w.paused_until, w.paused, w.after_deadline, w.policy_updated_at, w.min_method)), '[]')
			FROM workgroups w JOIN workgroup_members m ON m.workgroup_id = w.id AND m.user_id = $1)`

// decodePolicies reads what policiesCol read.
func decodePolicies(js []byte) ([]deadbolt.WorkgroupPolicy, error) {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, err
	}
	ps := []deadbolt.WorkgroupPolicy{}
	for _, r := range raw {
		if len(r) != 7 {
			return nil, fmt.Errorf("policy row of %d values", len(r))
		}
		var p deadbolt.WorkgroupPolicy
		var dl, pu, up *time.Time
		if err := firstErr(json.Unmarshal(r[0], &p.Required), json.Unmarshal(r[1], &dl), json.Unmarshal(r[2], &pu),
			json.Unmarshal(r[3], &p.Paused), json.Unmarshal(r[4], &p.AfterDeadline), json.Unmarshal(r[5], &up),
			json.Unmarshal(r[6], &p.MinMethod)); err != nil {
			return nil, err
		}
		p.Deadline, p.PausedUntil, p.UpdatedAt = fromTS(dl), fromTS(pu), fromTS(up)
		ps = append(ps, p)
	}
	return ps, nil
}
