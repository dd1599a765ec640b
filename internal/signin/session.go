package signin

import (
	"context"
	"slices"

	"deadbolt/internal/deadbolt"
)

func unauthorized() error {
	return deadbolt.Errorf(deadbolt.CodeUnauthorized, "Your session has ended. Please sign in again.")
}

// Authenticate returns the session behind a bearer token. A missing,
// malformed, expired or idle token, a session from before a "log out
// everywhere", or a deactivated employee are all CodeUnauthorized.
// Authenticate records activity at most once per Config.TouchEvery.
func (s *Service) Authenticate(ctx context.Context, token string) (*Auth, error) {
	h, ok := HashToken(token)
	if !ok {
		return nil, unauthorized()
	}
	sess, u, err := s.store.SessionByToken(ctx, h)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.IdleTimeout {
		return nil, unauthorized()
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchEvery {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			s.log.Warn("signin: cannot record session activity", "session_id", sess.ID, "err", err)
		} else {
			sess.LastSeenAt = now
		}
	}
	return &Auth{Session: sess, User: u}, nil
}

// RequireFull returns CodeSecondFactorRequired or CodeSetupRequired unless
// the session is fully signed in, and CodePasswordChangeRequired while its
// employee must replace a one-time password (RequireChosenPassword).
func RequireFull(a *Auth) error {
	switch a.Session.State {
	case deadbolt.SessionFull:
		return RequireChosenPassword(a)
	case deadbolt.SessionSetup:
		return deadbolt.Errorf(deadbolt.CodeSetupRequired, "Set up two-factor authentication first.")
	default:
		return deadbolt.Errorf(deadbolt.CodeSecondFactorRequired, "Finish signing in with your second factor first.")
	}
}

// RequireChosenPassword returns CodePasswordChangeRequired while the
// session's employee signed in with a one-time password (the first
// administrator's) and has not chosen a new one: such a session may read
// its own account, choose its language, change the password and log out,
// nothing else. It is safe for concurrent use.
func RequireChosenPassword(a *Auth) error {
	if a.User.PasswordChangeRequired {
		return deadbolt.Errorf(deadbolt.CodePasswordChangeRequired, "Choose a new password first: the one you signed in with was for one time only.")
	}
	return nil
}

// requireSignedIn returns nil for a full session or one limited to 2FA
// setup; RequireFull's error for a session pending its second factor; and
// CodePasswordChangeRequired while a one-time password is to be replaced.
func requireSignedIn(a *Auth) error {
	if a.Session.State == deadbolt.SessionSetup {
		return RequireChosenPassword(a)
	}
	return RequireFull(a)
}

// RequireFresh returns CodeReauthRequired unless the session proved its
// employee within Config.FreshProof.
func (s *Service) RequireFresh(a *Auth) error {
	if err := requireSignedIn(a); err != nil {
		return err
	}
	if s.clock.Now().Sub(a.Session.AuthAt) > s.cfg.FreshProof {
		return deadbolt.Errorf(deadbolt.CodeReauthRequired, "Confirm it is you: enter your password or a code again.")
	}
	return nil
}

// newSession builds a session for u in state, and its token.
func (s *Service) newSession(u *deadbolt.User, state deadbolt.SessionState, method string, c Client) (*deadbolt.Session, string, []byte) {
	now := s.clock.Now()
	life := s.cfg.SessionLifetime
	if state == deadbolt.SessionPending {
		life = s.cfg.PendingLifetime
	}
	tok, h := newToken()
	sess := &deadbolt.Session{
		ID: deadbolt.NewID(), UserID: u.ID, State: state, Epoch: u.SessionEpoch,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(life), AuthAt: now,
		Method: method, AMR: AMR(method), IP: c.IP, UserAgent: truncate(c.UserAgent, 512),
	}
	return sess, tok, h
}

// methodAMR maps each second-factor method to its RFC 8176 method
// reference. A passkey also says whether the user was verified
// (passkeyAMR).
var methodAMR = map[string]string{
	MethodTOTP:     deadbolt.AMROTP,
	MethodRecovery: deadbolt.AMROTP,
	MethodSMS:      deadbolt.AMRSMS,
	MethodPush:     deadbolt.AMRSoftwareKey,
	MethodPasskey:  deadbolt.AMRHardwareKey,
}

// MergeAMR returns the method references of a session that proved have
// and then, in a reauth or step-up, more: every method once, the password
// first and "mfa" last. It is safe for concurrent use.
func MergeAMR(have, more []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(r string) {
		if !seen[r] && r != deadbolt.AMRMultiFactor {
			seen[r] = true
			out = append(out, r)
		}
	}
	if slices.Contains(have, deadbolt.AMRPassword) || slices.Contains(more, deadbolt.AMRPassword) {
		add(deadbolt.AMRPassword)
	}
	for _, r := range have {
		add(r)
	}
	for _, r := range more {
		add(r)
	}
	if slices.Contains(have, deadbolt.AMRMultiFactor) || slices.Contains(more, deadbolt.AMRMultiFactor) {
		out = append(out, deadbolt.AMRMultiFactor)
	}
	return out
}

// AMR returns what a session completed by method proved: the password,
// and for a second-factor method also that method and "mfa". It is safe
// for concurrent use.
func AMR(method string) []string {
	if r, ok := methodAMR[method]; ok {
		return []string{deadbolt.AMRPassword, r, deadbolt.AMRMultiFactor}
	}
	return []string{deadbolt.AMRPassword}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Logout ends the current session.
func (s *Service) Logout(ctx context.Context, a *Auth, c Client) error {
	if err := s.store.DeleteSession(ctx, a.User.ID, a.Session.ID); err != nil && !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return err
	}
	s.audit.Record(ctx, deadbolt.EventLogout, a.User.ID, "", c.IP, nil)
	// The session's waiting push request ended with it.
	s.wakeDevices(ctx, a.User.ID)
	return nil
}

// LogoutAll ends every session of the employee, this one included, and
// disconnects the trusted device.
func (s *Service) LogoutAll(ctx context.Context, a *Auth, c Client) error {
	disconnected, err := s.store.EndAllSessions(ctx, a.User.ID, deadbolt.EndLogOutEverywhere, s.clock.Now())
	if err != nil {
		return err
	}
	s.audit.Record(ctx, deadbolt.EventLogoutAll, a.User.ID, "", c.IP, nil)
	if disconnected {
		s.audit.Record(ctx, deadbolt.EventDeviceDisconnect, a.User.ID, "", c.IP, map[string]string{"reason": "logout_all"})
		s.deviceDisconnected(ctx, a.User.ID)
	}
	return nil
}

// Sessions lists the employee's sessions.
func (s *Service) Sessions(ctx context.Context, a *Auth) ([]*deadbolt.Session, error) {
	return s.store.ListSessions(ctx, a.User.ID)
}

// EndSession ends one of the employee's own sessions; another employee's
// session is CodeNotFound.
func (s *Service) EndSession(ctx context.Context, a *Auth, id string, c Client) error {
	if !deadbolt.ValidID(id) {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "Session not found.")
	}
	if err := s.store.DeleteSession(ctx, a.User.ID, id); err != nil {
		return deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Session not found.")
	}
	s.audit.Record(ctx, deadbolt.EventSessionEnded, a.User.ID, "", c.IP, map[string]string{"session_id": id})
	return nil
}

// deviceDisconnected tells open companion apps their device is gone.
func (s *Service) deviceDisconnected(ctx context.Context, userID string) {
	if s.factors != nil && s.factors.OnDisconnect != nil {
		s.factors.OnDisconnect(ctx, userID)
	}
}

// Live reports whether sess, a session of u, still counts as signed in
// now: fully signed in, of u's current session epoch, u active, before its
// absolute expiry and not idle. What depends on a session (the tokens
// applications got from it) lives exactly as long. It is safe for
// concurrent use.
func (s *Service) Live(sess *deadbolt.Session, u *deadbolt.User) bool {
	if sess == nil || u == nil || sess.UserID != u.ID {
		return false
	}
	now := s.clock.Now()
	return sess.State == deadbolt.SessionFull && u.Active && !u.PasswordChangeRequired && sess.Epoch == u.SessionEpoch &&
		now.Before(sess.ExpiresAt) && now.Sub(sess.LastSeenAt) < s.cfg.IdleTimeout
}
