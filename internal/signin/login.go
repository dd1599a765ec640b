package signin

import (
	"context"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"deadbolt/internal/deadbolt"
)

// Result states of a password step.
const (
	StateAuthenticated = "authenticated"
	StateSecondFactor  = "second_factor"
	StateSetupRequired = "setup_required"
	// StatePasswordChange: signed in with a one-time password; the
	// session can do nothing but choose a new one (RequireChosenPassword).
	StatePasswordChange = "password_change_required"
)

// Result is the outcome of a successful password step.
type Result struct {
	State   string
	Token   string
	Session *deadbolt.Session
	User    *deadbolt.User
	// Methods lists the second-factor methods, preferred first, when
	// State is StateSecondFactor.
	Methods []string
	// CaptchaRequired tells that a recovery code now needs a CAPTCHA.
	CaptchaRequired bool
	// Push is the push request sent at once when push is a method.
	Push *deadbolt.PushRequest
	// PushUnavailable says why no push was sent: "rate_limited" or "muted".
	PushUnavailable string
	// Locked tells that the second factor is locked: no method will work
	// and no push was sent.
	Locked bool
}

const (
	maxLoginLen    = 256
	maxPasswordLen = 1024
)

func invalidCredentials() error {
	return deadbolt.Errorf(deadbolt.CodeInvalidCredentials, "The login or password is incorrect.")
}

func accountKey(login string) string { return "pw:login:" + login }
func ipKey(ip string) string         { return "pw:ip:" + ip }

// Login runs the password step. The attempt passes the gate (gate.go):
// counted per login and per IP before the password is checked; too many
// for the login or from the IP answer CodeRateLimited with the time to
// wait, without checking the password. Unknown login, wrong password and
// deactivated account all answer CodeInvalidCredentials after the same
// amount of hashing work.
func (s *Service) Login(ctx context.Context, login, pw string, c Client) (*Result, error) {
	if login == "" || pw == "" {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Enter your login and password.")
	}
	if len(login) > maxLoginLen || len(pw) > maxPasswordLen || !utf8.ValidString(login) {
		return nil, invalidCredentials()
	}
	canon := deadbolt.NormalizeLogin(login)
	u, err := s.store.UserByLogin(ctx, canon)
	if err != nil && !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, err
	}
	phc, valid := "", false
	if err == nil {
		phc, valid = u.PasswordHash, u.Active
	} else {
		u = nil
	}
	ok, rehash, err := s.checkPassword(ctx, canon, pw, phc, valid, c.IP)
	switch {
	case err != nil:
		return nil, err
	case u == nil:
		return nil, s.passwordWrong(ctx, nil, "unknown_login", c)
	case !ok:
		return nil, s.passwordWrong(ctx, u, "wrong_password", c)
	case !u.Active:
		return nil, s.passwordWrong(ctx, u, "deactivated", c)
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			if err := s.store.RehashPassword(ctx, u.ID, u.PasswordHash, h); err != nil {
				s.log.Warn("signin: cannot upgrade password hash", "user_id", u.ID, "err", err)
			}
		}
	}
	return s.afterPassword(ctx, u, c)
}

// afterPassword opens the session that follows a correct password: full,
// pending a second factor, or limited to setting one up.
func (s *Service) afterPassword(ctx context.Context, u *deadbolt.User, c Client) (*Result, error) {
	now := s.clock.Now()
	state, res := deadbolt.SessionFull, &Result{State: StateAuthenticated, User: u}
	if u.TwoFactorEnabled() && !now.Before(u.ExemptUntil) {
		var methods []string
		var streak deadbolt.Counter
		if s.factors != nil {
			st, err := s.factorState(ctx, u)
			if err != nil {
				return nil, err
			}
			methods, streak = s.methodsOf(u, st), st.Streak
			res.Locked = s.lockedBy(st.Failures)
		}
		if len(methods) == 0 {
			// Fail closed: the second factor is on but nothing can prove it.
			s.audit.Record(ctx, deadbolt.EventSignInFailed, u.ID, "", c.IP, map[string]string{"reason": "no_second_factor"})
			return nil, deadbolt.Errorf(deadbolt.CodeForbidden,
				"None of your second factors can be used now. Contact your administrator to reset two-factor authentication.")
		}
		if i := slices.Index(methods, MethodPasskey); i > 0 {
			// When the workgroup's policy accepts only a passkey now, offer
			// it first (and send no push that could not sign in).
			allowed, err := s.methodAllowed(ctx, u, methods[0])
			if err != nil {
				return nil, err
			}
			if !allowed {
				methods = append([]string{MethodPasskey}, slices.Delete(methods, i, i+1)...)
			}
		}
		state, res.State, res.Methods = deadbolt.SessionPending, StateSecondFactor, methods
		res.CaptchaRequired = streak.N >= int64(s.cfg.CaptchaAfter)
	}
	// Workgroup policy: past a blocking deadline, setup comes first (see
	// setup.go).
	if state == deadbolt.SessionFull {
		setup, err := s.setupRequired(ctx, u)
		if err != nil {
			return nil, err
		}
		if setup {
			state, res.State = deadbolt.SessionSetup, StateSetupRequired
		}
	}
	if u.PasswordChangeRequired && state != deadbolt.SessionPending {
		// The one-time password is replaced before anything else, setup
		// included.
		res.State = StatePasswordChange
	}
	sess, tok, h := s.newSession(u, state, "password", c)
	if err := s.store.CreateSession(ctx, sess, h); err != nil {
		return nil, err
	}
	res.Token, res.Session = tok, sess
	if state == deadbolt.SessionPending && len(res.Methods) > 0 && res.Methods[0] == MethodPush && !res.Locked {
		res.Push, res.PushUnavailable = s.sendPush(ctx, u, sess.ID, c)
	}
	if state == deadbolt.SessionFull {
		s.audit.Record(ctx, deadbolt.EventSignIn, u.ID, "", c.IP, map[string]string{"method": "password"})
	} else if state == deadbolt.SessionSetup {
		s.audit.Record(ctx, deadbolt.EventSetupRequired, u.ID, "", c.IP, map[string]string{"method": "password"})
	} else {
		s.audit.Record(ctx, deadbolt.EventSecondFactorStep, u.ID, "", c.IP, nil)
	}
	return res, nil
}

// accountDelay is the wait after n attempts in an account's streak: none
// for the free ones, then 1 s doubling each time, capped.
func (s *Service) accountDelay(n int64) time.Duration {
	over := n - int64(s.cfg.AccountFreeFailures)
	if over < 0 {
		return 0
	}
	if over > 30 {
		return s.cfg.AccountMaxDelay
	}
	d := time.Duration(math.Pow(2, float64(over))) * time.Second
	return min(d, s.cfg.AccountMaxDelay)
}
