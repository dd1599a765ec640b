package signin

import (
	"context"
	"crypto/rand"
	"math"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/recovery"
	"deadbolt/internal/totp"
)

// Second-factor methods.
const (
	MethodPush     = "push"
	MethodTOTP     = "totp"
	MethodSMS      = "sms"
	MethodRecovery = "recovery"
)

func failureKey(userID string) string  { return "sf:" + userID }
func recoveryKey(userID string) string { return "rc:" + userID }

// Methods lists the second-factor methods the employee can use now,
// preferred first: only what this employee actually has.
func (s *Service) Methods(ctx context.Context, u *deadbolt.User) ([]string, error) {
	if s.factors == nil {
		return nil, nil
	}
	st, err := s.factorState(ctx, u)
	if err != nil {
		return nil, err
	}
	return s.methodsOf(u, st), nil
}

// factorState reads, in one statement, what a second-factor attempt needs.
func (s *Service) factorState(ctx context.Context, u *deadbolt.User) (*deadbolt.FactorState, error) {
	return s.store.FactorState(ctx, u.ID, failureKey(u.ID), recoveryKey(u.ID))
}

// methodsOf lists the methods the employee has, preferred first.
func (s *Service) methodsOf(u *deadbolt.User, st *deadbolt.FactorState) []string {
	var m []string
	if st.Device != nil && s.factors.Push != nil {
		m = append(m, MethodPush)
	}
	if st.Passkeys > 0 && s.factors.Passkeys != nil && s.factors.Passkeys.Available() == nil {
		m = append(m, MethodPasskey)
	}
	if st.Device != nil {
		m = append(m, MethodTOTP)
	}
	if s.factors.SMS != nil && u.TwoFactorEnabled() && u.Phone != "" {
		m = append(m, MethodSMS)
	}
	if st.RecoveryCodesLeft > 0 {
		m = append(m, MethodRecovery)
	}
	return m
}

// CaptchaAnswer is a solved CAPTCHA sent with a recovery code.
type CaptchaAnswer struct {
	ID     string
	Answer string
}

// SecondFactor completes a pending sign-in with a code. The attempt passes
// the gate (gate.go): it answers, in order of the checks, CodeLocked once
// the second factor is locked; CodeRateLimited during the delays after
// repeated attempts (the code is not checked); CodeInvalidInput for a
// method this employee does not have; CodeCaptchaRequired for a recovery
// code without a solved CAPTCHA after the streak of wrong ones (the code
// is not checked); CodeInvalidCode for a wrong code. Success replaces the
// pending session with a new full one — or, when the employee's workgroup
// policy no longer accepts the method (min_method, past its deadline), with
// one limited to setting up a second factor it accepts (StateSetupRequired).
func (s *Service) SecondFactor(ctx context.Context, a *Auth, method, code string, cap *CaptchaAnswer, c Client) (*Result, error) {
	if a.Session.State != deadbolt.SessionPending {
		return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "This session is not waiting for a second factor.")
	}
	if s.settles(method, cap) {
		// Built in the attempt's transaction, from the workgroup policies
		// its factor state read.
		var res *Result
		err := s.settleCode(ctx, a.User, method, code, c, func(st *deadbolt.FactorState) *deadbolt.Completion {
			var comp *deadbolt.Completion
			comp, res = s.signInCompletion(a, nil, method, nil, s.methodAllowedBy(a.User, st, method), c)
			return comp
		})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	p, err := s.proveFactor(ctx, a.User, smsFor{sessionID: a.Session.ID}, method, code, cap, c)
	if err != nil {
		return nil, err
	}
	return s.completeSignIn(ctx, a, p, method, nil, c)
}

// ReauthCode renews a session's fresh proof with a second-factor code,
// through the same gate as sign-in (errors as SecondFactor).
func (s *Service) ReauthCode(ctx context.Context, a *Auth, method, code string, cap *CaptchaAnswer, c Client) error {
	if err := requireSignedIn(a); err != nil {
		return err
	}
	reauth := func(p *proof) *deadbolt.Completion {
		comp := s.completion(a.User, p, s.clock.Now())
		comp.AuthSessionID, comp.AuthAt = a.Session.ID, comp.Now
		comp.AuthAMR = MergeAMR(a.Session.AMR, AMR(method))
		comp.Event = &deadbolt.Event{Type: deadbolt.EventReauth, At: comp.Now, UserID: a.User.ID, IP: c.IP,
			Detail: map[string]string{"method": method}}
		return comp
	}
	if s.settles(method, cap) {
		return s.settleCode(ctx, a.User, method, code, c, func(*deadbolt.FactorState) *deadbolt.Completion {
			return reauth(&proof{})
		})
	}
	p, err := s.proveFactor(ctx, a.User, smsFor{sessionID: a.Session.ID, reauth: true}, method, code, cap, c)
	if err != nil {
		return err
	}
	return s.complete(ctx, a.User, p, reauth(p), c)
}

// complete commits a proven second factor in one transaction. A proof
// used up meanwhile (a replayed code, a lost race) is a failed attempt; a
// second factor locked meanwhile refuses the success (CodeLocked).
func (s *Service) complete(ctx context.Context, u *deadbolt.User, p *proof, comp *deadbolt.Completion, c Client) error {
	ok, err := s.store.CompleteSecondFactor(ctx, comp)
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeNotFound):
		return unauthorized()
	case deadbolt.IsCode(err, deadbolt.CodeLocked):
		if p.locks {
			// This attempt reached the threshold; with its success refused,
			// the lock stands from it.
			s.audit.Record(ctx, deadbolt.EventSecondFactorLock, u.ID, "", c.IP, nil)
		}
		return lockedError()
	case err != nil:
		return err
	case !ok:
		return s.secondFactorFailed(ctx, u.ID, p.method, p.streak, p.locks, c)
	}
	// The completion ended any push request still waiting for it.
	s.wakeDevices(ctx, u.ID)
	return nil
}

// wakeDevices tells the employee's open companion apps, on every node, to
// read their requests again — one that was waiting has just ended, so they
// drop it at once. The answer does not wait for it: the request's end is
// already committed, and an app that misses the wake-up finds it ended at
// its next look.
func (s *Service) wakeDevices(ctx context.Context, userID string) {
	if s.factors == nil || s.factors.Notifier == nil {
		return
	}
	n, topic := s.factors.Notifier, deviceTopic(userID)
	go n.Publish(context.WithoutCancel(ctx), topic)
}

// deviceTopic is the wake-up topic of an employee's companion apps (the
// name device.DeviceTopic gives it).
func deviceTopic(userID string) string { return "device:" + userID }

// proof is a checked second-factor code, not yet used up: the completion
// consumes it in the same transaction that opens the session.
type proof struct {
	recoveryHash []byte
	totpStep     int64
	passkey      *deadbolt.PasskeyUse
	reset        []string // counters a success clears besides the streak

	// Filled in by the gate.
	method  string
	attempt int64 // the attempt's own count in the streak
	streak  int64 // the recovery streak as the attempt saw it
	locks   bool  // the attempt reached the lock threshold
}

// completion starts the Completion of a proof: what it uses up, the
// counters it resets, and the lock guard.
func (s *Service) completion(u *deadbolt.User, p *proof, now time.Time) *deadbolt.Completion {
	return &deadbolt.Completion{UserID: u.ID, RecoveryHash: p.recoveryHash, TOTPStep: p.totpStep, Passkey: p.passkey, Now: now,
		ResetCounters: p.reset, Guard: s.lockGuard(u.ID, p.attempt)}
}

// smsFor names the session an SMS code must have been sent for: a pending
// sign-in, or (reauth) a session renewing its fresh proof.
type smsFor struct {
	sessionID string
	reauth    bool
}

// codeMethods are the methods proved by a typed code.
var codeMethods = []string{MethodTOTP, MethodSMS, MethodRecovery}

// proveFactor runs one typed-code attempt through the gate and returns
// the proof to consume. SMS codes are used up here, by the SMS service.
func (s *Service) proveFactor(ctx context.Context, u *deadbolt.User, target smsFor, method, code string, cap *CaptchaAnswer, c Client) (*proof, error) {
	if s.factors == nil || !contains(codeMethods, method) {
		// Not an attempt at anything: nothing is counted.
		return nil, errUnusable
	}
	return s.secondFactorGate(ctx, gateAttempt{
		userID: u.ID, method: method, captcha: cap, client: c,
		usable: func(st *deadbolt.FactorState) bool { return contains(s.methodsOf(u, st), method) },
		check: func(st *deadbolt.FactorState) (*proof, bool, error) {
			p := &proof{}
			var ok bool
			var err error
			switch method {
			case MethodTOTP:
				p.totpStep, ok, err = s.checkTOTP(u, st.Device, code, s.clock.Now())
			case MethodSMS:
				if target.reauth {
					ok, err = s.factors.SMS.VerifyReauth(ctx, u, target.sessionID, code)
				} else {
					ok, err = s.factors.SMS.VerifyLogin(ctx, u, target.sessionID, code)
				}
			case MethodRecovery:
				p.recoveryHash, ok = s.checkRecovery(code)
			}
			return p, ok, err
		},
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// secondFactorDelay is the wait after n attempts in a streak: none for the
// free ones, then 1 s doubling each time, capped.
func (s *Service) secondFactorDelay(n int64) time.Duration {
	over := n - int64(s.cfg.SecondFactorFreeFailures)
	if over < 0 {
		return 0
	}
	if over > 30 {
		return s.cfg.SecondFactorMaxDelay
	}
	return min(time.Duration(math.Pow(2, float64(over)))*time.Second, s.cfg.SecondFactorMaxDelay)
}

// checkTOTP matches a code against the trusted device's secret and
// returns its time step; the completion then moves the employee's last
// used step forward by one atomic statement, so a code is accepted once.
func (s *Service) checkTOTP(u *deadbolt.User, d *deadbolt.Device, code string, now time.Time) (int64, bool, error) {
	c, err := totp.ParseCode(code)
	if err != nil || d == nil {
		return 0, false, nil
	}
	secret, err := s.factors.Seal.Open(d.TOTPSecretSealed, "totp:"+d.ID)
	if err != nil {
		return 0, false, err
	}
	step, ok := totp.Match(secret, c, now, u.TOTPLastStep)
	return step, ok, nil
}

// checkRecovery returns the keyed hash of a well-formed recovery code; the
// completion uses the code up by one atomic statement.
func (s *Service) checkRecovery(code string) ([]byte, bool) {
	canon, err := recovery.Normalize(code)
	if err != nil {
		return nil, false
	}
	return s.factors.Recovery.Hash(canon), true
}

// captchaNeeded answers a recovery code that needs a solved CAPTCHA.
func captchaNeeded(msg deadbolt.Words) error {
	e := deadbolt.Errorf(deadbolt.CodeCaptchaRequired, "%s", msg)
	yes := true
	e.CaptchaRequired = &yes
	return e
}

func (s *Service) checkCaptcha(ctx context.Context, userID string, cap *CaptchaAnswer, c Client, now time.Time) error {
	need := captchaNeeded
	if cap == nil || cap.Answer == "" {
		s.audit.Record(ctx, deadbolt.EventCaptchaShown, userID, "", c.IP, nil)
		return need(deadbolt.Phrase("Solve the CAPTCHA to try another recovery code."))
	}
	if s.factors.Captcha == nil {
		return need(deadbolt.Phrase("The CAPTCHA is not available."))
	}
	ok, err := s.factors.Captcha.Verify(ctx, cap.ID, cap.Answer, now)
	if err != nil {
		return err
	}
	if !ok {
		return need(deadbolt.Phrase("The CAPTCHA answer was wrong. Solve the new one."))
	}
	return nil
}

// GenerateRecoveryCodes replaces the employee's recovery codes with a new
// set and returns them for showing once. It needs a fresh proof and the
// second factor on.
func (s *Service) GenerateRecoveryCodes(ctx context.Context, a *Auth, c Client) ([]string, error) {
	if err := s.RequireFresh(a); err != nil {
		return nil, err
	}
	if !a.User.TwoFactorEnabled() {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Turn on two-factor authentication by pairing a device first.")
	}
	codes, err := recovery.Generate(rand.Reader)
	if err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, code := range codes {
		canon, err := recovery.Normalize(code)
		if err != nil {
			return nil, err
		}
		hashes[i] = s.factors.Recovery.Hash(canon)
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, a.User.ID, hashes, s.clock.Now()); err != nil {
		return nil, err
	}
	s.audit.Record(ctx, deadbolt.EventRecoveryGenerated, a.User.ID, "", c.IP, nil)
	return codes, nil
}

// Unlock clears an employee's second-factor failures and recovery streak
// (an administrator's action; the caller checks the role).
func (s *Service) Unlock(ctx context.Context, userID string) error {
	if err := s.store.ResetCounter(ctx, failureKey(userID)); err != nil {
		return err
	}
	return s.store.ResetCounter(ctx, recoveryKey(userID))
}

// FailureCount returns the attempts in the employee's current
// second-factor streak: every attempt since the last success (or unlock),
// refused ones included.
func (s *Service) FailureCount(ctx context.Context, userID string) (int64, error) {
	c, err := s.store.Counter(ctx, failureKey(userID))
	return c.N, err
}

// RecoveryCodesLeft counts the employee's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, u *deadbolt.User) (int, error) {
	return s.store.CountRecoveryCodes(ctx, u.ID)
}

// CaptchaRequired reports whether the employee's next recovery code needs
// a solved CAPTCHA.
func (s *Service) CaptchaRequired(ctx context.Context, u *deadbolt.User) (bool, error) {
	c, err := s.store.Counter(ctx, recoveryKey(u.ID))
	return c.N >= int64(s.cfg.CaptchaAfter), err
}

// Locked reports whether the employee's second factor is locked: the
// streak reached Config.SecondFactorLockAt attempts.
func (s *Service) Locked(ctx context.Context, userID string) (bool, error) {
	c, err := s.store.Counter(ctx, failureKey(userID))
	return s.lockedBy(c), err
}

// lockedBy reports whether the streak c locks the second factor.
func (s *Service) lockedBy(c deadbolt.Counter) bool {
	return c.N >= int64(s.cfg.SecondFactorLockAt)
}

// RequireUnlocked answers CodeLocked while the employee's second factor is
// locked: nothing should be sent (an SMS code, say) that could not be used.
func (s *Service) RequireUnlocked(ctx context.Context, userID string) error {
	locked, err := s.Locked(ctx, userID)
	if err != nil {
		return err
	}
	if locked {
		return lockedError()
	}
	return nil
}

func lockedError() error {
	return deadbolt.Errorf(deadbolt.CodeLocked, "Your second factor is locked after too many failed attempts. Contact your administrator.")
}
