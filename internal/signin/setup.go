package signin

import (
	"context"

	"deadbolt/internal/deadbolt"
)

// SetupPolicy tells whether an employee's password sign-in must lead
// straight to two-factor setup: a workgroup requires two-factor
// authentication with after_deadline "block", its deadline has passed, and
// the employee has no second factor and no exemption. The workgroup service
// implements it. Implementations must be safe for concurrent use.
type SetupPolicy interface {
	SetupRequired(ctx context.Context, u *deadbolt.User) (bool, error)
	// MethodAllowed reports whether a sign-in of u completed now by
	// method meets the min_method of u's workgroups; one that does not
	// opens a session limited to setup.
	MethodAllowed(ctx context.Context, u *deadbolt.User, method string) (bool, error)
	// MethodAllowedBy is MethodAllowed decided from the policies of u's
	// workgroups read with the attempt's factor state (no store call).
	MethodAllowedBy(u *deadbolt.User, policies []deadbolt.WorkgroupPolicy, method string) bool
}

// setupRequired asks the configured SetupPolicy; without one, sign-in never
// leads to setup.
//
// A session opened this way has the state deadbolt.SessionSetup: it reaches
// only what setting up two-factor authentication needs (the employee's own
// status, pairing a device and confirming it, recovery codes). It stays
// limited after the device is confirmed; the employee then signs in again,
// this time with the new second factor, to get a full session. Upgrading
// the setup session in place would turn a password alone into a full
// session for whoever holds it.
func (s *Service) setupRequired(ctx context.Context, u *deadbolt.User) (bool, error) {
	if s.factors == nil || s.factors.Setup == nil || u.TwoFactorEnabled() {
		return false, nil
	}
	return s.factors.Setup.SetupRequired(ctx, u)
}

// methodAllowed asks the configured SetupPolicy whether a sign-in
// completed by method meets the employee's min_method; without one every
// method does.
func (s *Service) methodAllowed(ctx context.Context, u *deadbolt.User, method string) (bool, error) {
	if s.factors == nil || s.factors.Setup == nil {
		return true, nil
	}
	return s.factors.Setup.MethodAllowed(ctx, u, method)
}

// methodAllowedBy is methodAllowed decided from the policies read with the
// attempt's factor state.
func (s *Service) methodAllowedBy(u *deadbolt.User, st *deadbolt.FactorState, method string) bool {
	if s.factors == nil || s.factors.Setup == nil {
		return true
	}
	return s.factors.Setup.MethodAllowedBy(u, st.Policies, method)
}
