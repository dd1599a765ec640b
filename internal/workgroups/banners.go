package workgroups

import (
	"context"
	"slices"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/policy"
)

// Status is what the two-factor policy asks of one employee at one instant.
type Status struct {
	// Now is the instant the status describes.
	Now time.Time
	// State is what the policy rules read about the employee.
	State policy.State
	// Required is true while one of the employee's workgroups requires
	// two-factor authentication and no exemption covers now; it stays
	// true once two-factor authentication is on.
	Required bool
	// Deadline is the setup deadline that applies, zero for none (and
	// always zero when not Required).
	Deadline time.Time
	// SetupRequired is true when a password sign-in now leads straight to
	// setup (policy.SetupRequired).
	SetupRequired bool
	// Banners are the banners to show now.
	Banners []policy.Banner
	// Device is the employee's trusted device, nil if none (read with the
	// rest, for pages that show it).
	Device *deadbolt.Device
}

// policies loads the policies of the employee's workgroups.
func (s *Service) policies(ctx context.Context, userID string) ([]policy.Policy, error) {
	ws, err := s.store.UserWorkgroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	ps := make([]policy.Policy, 0, len(ws))
	for _, w := range ws {
		ps = append(ps, PolicyOf(w.Policy))
	}
	return ps, nil
}

// State assembles everything the policy rules read about u at now: the
// requirement of u's workgroups (policy.Effective), the exemption, the
// second factor, the disconnected device, the recovery codes left and the
// banners u closed. u should be freshly read (the session's employee is).
// It returns store errors only.
func (s *Service) State(ctx context.Context, u *deadbolt.User, now time.Time) (policy.State, error) {
	st, _, err := s.state(ctx, u, now)
	return st, err
}

// state is State plus the trusted device, read in the same statement.
func (s *Service) state(ctx context.Context, u *deadbolt.User, now time.Time) (policy.State, *deadbolt.Device, error) {
	o, err := s.store.FactorOverview(ctx, u.ID)
	if err != nil {
		return policy.State{}, nil, err
	}
	ps := make([]policy.Policy, 0, len(o.Policies))
	for _, p := range o.Policies {
		ps = append(ps, PolicyOf(p))
	}
	var dismissed map[policy.BannerKind]time.Time
	for kind, at := range o.Dismissals {
		k, err := policy.ParseBannerKind(kind)
		if err != nil {
			continue // a kind no longer shown
		}
		if dismissed == nil {
			dismissed = make(map[policy.BannerKind]time.Time, len(o.Dismissals))
		}
		dismissed[k] = at
	}
	return policy.State{
		Requirement:          policy.Effective(ps, now),
		ExemptUntil:          u.ExemptUntil,
		TwoFactorEnabled:     u.TwoFactorEnabled(),
		TwoFactorSince:       u.TwoFactorSince,
		LastConfirmedAt:      u.LastConfirmedAt,
		DeviceDisconnectedAt: u.DeviceDisconnectedAt,
		RecoveryCodesLeft:    o.RecoveryCodesLeft,
		Passkeys:             o.Passkeys,
		Dismissed:            dismissed,
	}, o.Device, nil
}

// status derives a Status from a state.
func (s *Service) status(st policy.State, now time.Time) Status {
	out := Status{
		Now:           now,
		State:         st,
		SetupRequired: policy.SetupRequired(st, now),
		Banners:       policy.Banners(st, s.set, now),
	}
	if st.Requirement.Required && !st.Exempt(now) {
		out.Required, out.Deadline = true, st.Requirement.Deadline
	}
	return out
}

// Status returns what the two-factor policy asks of u now, banners
// included. It returns store errors only.
func (s *Service) Status(ctx context.Context, u *deadbolt.User) (Status, error) {
	now := s.clock.Now()
	st, d, err := s.state(ctx, u, now)
	if err != nil {
		return Status{}, err
	}
	out := s.status(st, now)
	out.Device = d
	return out, nil
}

// Act records u's action on a banner (kind and action as sent by the page
// or the API), audits it, and returns what policy.Act decided with the
// status that follows. ActionClose and ActionRemindLater hide a closable
// banner until the next calendar day in the organisation's time zone;
// ActionConfirm restarts the check_login_parameters period.
//
// Errors, all *deadbolt.Error: deadbolt.CodeNotFound for an unknown kind;
// policy.CodeInvalidAction for an unknown action or one the banner does not
// offer; policy.CodeBannerNotShown when the banner is not shown now;
// policy.CodeBannerNotClosable when closing a banner past its deadline.
func (s *Service) Act(ctx context.Context, u *deadbolt.User, kind, action, ip string) (policy.Outcome, Status, error) {
	k, err := policy.ParseBannerKind(kind)
	if err != nil {
		return policy.Outcome{}, Status{}, err
	}
	a, err := policy.ParseAction(action)
	if err != nil {
		return policy.Outcome{}, Status{}, err
	}
	now := s.clock.Now()
	st, err := s.State(ctx, u, now)
	if err != nil {
		return policy.Outcome{}, Status{}, err
	}
	o, err := policy.Act(st, s.set, k, a, now)
	if err != nil {
		return policy.Outcome{}, Status{}, err
	}
	if !o.DismissedAt.IsZero() {
		if err := s.store.SetBannerDismissed(ctx, u.ID, string(k), o.DismissedAt); err != nil {
			return policy.Outcome{}, Status{}, err
		}
	}
	if !o.ConfirmedAt.IsZero() {
		if err := s.store.SetLastConfirmed(ctx, u.ID, o.ConfirmedAt); err != nil {
			return policy.Outcome{}, Status{}, err
		}
	}
	s.audit.Record(ctx, deadbolt.EventBanner, u.ID, "", ip,
		map[string]string{"kind": string(k), "action": string(a)})
	return o, s.status(o.Apply(st), now), nil
}

// SetupRequired reports whether a password sign-in of u now must lead
// straight to two-factor setup: a workgroup requires it with
// after_deadline "block", the deadline has passed, u has no second factor
// and no exemption. It returns store errors only. The sign-in service
// calls it through signin.SetupPolicy.
func (s *Service) SetupRequired(ctx context.Context, u *deadbolt.User) (bool, error) {
	now := s.clock.Now()
	if u.TwoFactorEnabled() || now.Before(u.ExemptUntil) {
		return false, nil
	}
	ps, err := s.policies(ctx, u.ID)
	if err != nil {
		return false, err
	}
	st := policy.State{Requirement: policy.Effective(ps, now), ExemptUntil: u.ExemptUntil}
	return policy.SetupRequired(st, now), nil
}

// RequiredBy names u's workgroups whose policy requires two-factor
// authentication now (not paused; an exemption of u aside), sorted by
// name: who asks for the setup Status.Required reports. It returns store
// errors only; it is safe for concurrent use.
func (s *Service) RequiredBy(ctx context.Context, u *deadbolt.User) ([]string, error) {
	ws, err := s.store.UserWorkgroups(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var names []string
	for _, w := range ws {
		if PolicyOf(w.Policy).Active(now) {
			names = append(names, w.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}
