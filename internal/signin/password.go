package signin

import (
	"context"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
)

// ChangePassword checks the current password and sets a new one. The other
// sessions end and the trusted device is disconnected; this session stays,
// and its fresh proof is left as it was: a password change never renews it.
// An employee with a second factor needs a fresh proof first
// (CodeReauthRequired, checked before the password); without one the
// current password is the proof. A wrong current password is
// CodeInvalidCredentials and passes the same gate as sign-in
// (CodeRateLimited). An employee who signed in with a one-time password
// changes it here from any session past the second step (one limited to
// setup too), without a fresh proof: the one-time password is the proof.
func (s *Service) ChangePassword(ctx context.Context, a *Auth, current, next string, c Client) error {
	oneTime := a.User.PasswordChangeRequired
	switch {
	case oneTime && (a.Session.State == deadbolt.SessionFull || a.Session.State == deadbolt.SessionSetup):
	default:
		if err := RequireFull(a); err != nil {
			return err
		}
	}
	if a.User.TwoFactorEnabled() && !oneTime {
		if err := s.RequireFresh(a); err != nil {
			return err
		}
	}
	if err := s.verifyOwnPassword(ctx, a, current, c); err != nil {
		return err
	}
	if err := password.Validate(next); err != nil {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "%s", password.Explain(err))
	}
	if current == next {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "The new password must differ from the current one.")
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	disconnected, err := s.store.SetPassword(ctx, a.User.ID, hash, a.Session.ID, deadbolt.EndPasswordChange, now)
	if err != nil {
		return err
	}
	s.audit.Record(ctx, deadbolt.EventPasswordChanged, a.User.ID, "", c.IP, nil)
	if disconnected {
		s.audit.Record(ctx, deadbolt.EventDeviceDisconnect, a.User.ID, "", c.IP, map[string]string{"reason": "password_changed"})
		s.deviceDisconnected(ctx, a.User.ID)
	}
	return nil
}

// verifyOwnPassword checks a signed-in employee's password through the
// same gate as sign-in: CodeRateLimited, or CodeInvalidCredentials.
func (s *Service) verifyOwnPassword(ctx context.Context, a *Auth, pw string, c Client) error {
	if pw == "" || len(pw) > maxPasswordLen {
		return invalidCredentials()
	}
	ok, _, err := s.checkPassword(ctx, a.User.Login, pw, a.User.PasswordHash, true, c.IP)
	if err != nil {
		return err
	}
	if !ok {
		return s.passwordWrong(ctx, a.User, "wrong_password", c)
	}
	return nil
}

// ReauthPassword renews the fresh proof of a session with the password.
// Employees with a second factor must prove it instead
// (CodeInvalidInput names the method to use). The password passes the same
// gate as sign-in: CodeRateLimited, CodeInvalidCredentials.
func (s *Service) ReauthPassword(ctx context.Context, a *Auth, pw string, c Client) error {
	if err := requireSignedIn(a); err != nil {
		return err
	}
	if a.User.TwoFactorEnabled() {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "Confirm with a code from your second factor, not the password.")
	}
	if err := s.verifyOwnPassword(ctx, a, pw, c); err != nil {
		return err
	}
	if err := s.store.SetSessionAuth(ctx, a.Session.ID, s.clock.Now(), MergeAMR(a.Session.AMR, AMR("password"))); err != nil {
		return err
	}
	s.audit.Record(ctx, deadbolt.EventReauth, a.User.ID, "", c.IP, map[string]string{"method": "password"})
	return nil
}
