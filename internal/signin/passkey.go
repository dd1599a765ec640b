package signin

import (
	"context"
	"net/netip"

	"deadbolt/internal/deadbolt"
)

// MethodPasskey is a passkey (WebAuthn) assertion: a second factor after
// the password, a fresh proof, or — when the authenticator verified the
// user — a whole sign-in without a login (SPEC §14).
const MethodPasskey = "passkey"

// PasskeyVerifier runs passkey assertions for the sign-in service; the
// passkey package implements it. Purposes are opaque keys binding a
// challenge to what it may prove.
type PasskeyVerifier interface {
	// Available returns nil while passkeys work, else the
	// CodePasskeysUnavailable error saying why not.
	Available() error
	// AssertionOptions begins an assertion for purpose by one of u's
	// passkeys (u nil: any discoverable one) and answers the request
	// options JSON ({"publicKey":{…}}) after the challenge's id.
	AssertionOptions(ctx context.Context, u *deadbolt.User, purpose string) (string, []byte, error)
	// Owner returns the passkey an assertion names, without checking it:
	// CodeInvalidInput when it does not parse, CodeNotFound when nobody
	// registered it.
	Owner(ctx context.Context, credential []byte) (*deadbolt.Passkey, error)
	// Verify checks an assertion for a live challenge of purpose by one of
	// u's passkeys, using the challenge up; a wrong one is not OK, with no
	// error. CodeInvalidInput when it does not parse.
	Verify(ctx context.Context, u *deadbolt.User, purpose string, credential []byte, ip string) (*deadbolt.PasskeyAssertion, error)
}

// Purposes of the assertions this service asks for.
func purposeLogin(sessionID string) string  { return "login:" + sessionID }
func purposeReauth(sessionID string) string { return "reauth:" + sessionID }
func purposeDiscover(id string) string      { return "discover:" + id }

// passkeys returns the verifier, or CodeInvalidInput / the reason they
// are off when there is none that works.
func (s *Service) passkeys() (PasskeyVerifier, error) {
	if s.factors == nil || s.factors.Passkeys == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Passkeys are not available.")
	}
	pk := s.factors.Passkeys
	if err := pk.Available(); err != nil {
		return nil, err
	}
	return pk, nil
}

// passkeyAMR is what a passkey proved: the key (hwk), the user when the
// authenticator verified them, and — after the password, or with user
// verification — two factors.
func passkeyAMR(password, userVerified bool) []string {
	var amr []string
	if password {
		amr = append(amr, deadbolt.AMRPassword)
	}
	amr = append(amr, deadbolt.AMRHardwareKey)
	if userVerified {
		amr = append(amr, deadbolt.AMRUser)
	}
	if password || userVerified {
		amr = append(amr, deadbolt.AMRMultiFactor)
	}
	return amr
}

// PasskeyOptions begins the passkey assertion that completes the pending
// sign-in a (or, for a full or setup session, renews its fresh proof): the
// request options for the browser, allowing the employee's passkeys.
// CodePasskeysUnavailable while passkeys are off; CodeInvalidInput when the
// employee has no passkey; CodeLocked while the second factor is locked.
func (s *Service) PasskeyOptions(ctx context.Context, a *Auth) ([]byte, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, err
	}
	if err := s.RequireUnlocked(ctx, a.User.ID); err != nil {
		return nil, err
	}
	purpose := purposeReauth(a.Session.ID)
	if a.Session.State == deadbolt.SessionPending {
		purpose = purposeLogin(a.Session.ID)
	}
	_, opts, err := pk.AssertionOptions(ctx, a.User, purpose)
	return opts, err
}

// provePasskey runs one passkey assertion of u for purpose through the
// gate (count first, then check). It answers the proof to complete and
// the assertion; errors as the gate's (CodeInvalidCode for a wrong
// assertion).
func (s *Service) provePasskey(ctx context.Context, u *deadbolt.User, purpose string, credential []byte, c Client) (*proof, *deadbolt.PasskeyAssertion, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, nil, err
	}
	var as *deadbolt.PasskeyAssertion
	p, err := s.secondFactorGate(ctx, gateAttempt{
		userID: u.ID, method: MethodPasskey, client: c,
		usable: func(st *deadbolt.FactorState) bool { return st.Passkeys > 0 },
		check: func(*deadbolt.FactorState) (*proof, bool, error) {
			var err error
			as, err = pk.Verify(ctx, u, purpose, credential, c.IP)
			if err != nil || !as.OK {
				if as != nil && !as.OK {
					s.log.Debug("signin: passkey assertion refused", "user_id", u.ID, "reason", as.Reason)
				}
				return nil, false, err
			}
			use := as.Use
			return &proof{passkey: &use}, true, nil
		},
	})
	if deadbolt.IsCode(err, deadbolt.CodeInvalidCode) {
		e := deadbolt.Errorf(deadbolt.CodeInvalidCode, "The passkey could not be verified. Try again.")
		no := false
		e.CaptchaRequired = &no
		return nil, nil, e
	}
	return p, as, err
}

// SecondFactorPasskey completes the pending sign-in a with a passkey
// assertion (the browser's PublicKeyCredential JSON) made for
// PasskeyOptions. The attempt passes the gate like a code: CodeLocked,
// CodeRateLimited, CodeInvalidInput for an employee without a passkey or
// a response that does not parse, CodeInvalidCode for a wrong assertion
// (a replay, an expired or another sign-in's challenge, another
// employee's or a removed passkey, a wrong origin or RP ID, a sign
// counter gone back). Success replaces the pending session with a full
// one — or one limited to setup when the employee's policy demands more
// (not possible for a passkey today, but checked all the same).
func (s *Service) SecondFactorPasskey(ctx context.Context, a *Auth, credential []byte, c Client) (*Result, error) {
	if a.Session.State != deadbolt.SessionPending {
		return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "This session is not waiting for a second factor.")
	}
	p, as, err := s.provePasskey(ctx, a.User, purposeLogin(a.Session.ID), credential, c)
	if err != nil {
		return nil, err
	}
	return s.completeSignIn(ctx, a, p, MethodPasskey, passkeyAMR(true, as.UserVerified), c)
}

// completeSignIn replaces the pending session of a with a new one opened
// by the proof p of method: full, or limited to setup when the
// employee's policy does not accept method now.
func (s *Service) completeSignIn(ctx context.Context, a *Auth, p *proof, method string, amr []string, c Client) (*Result, error) {
	allowed, err := s.methodAllowed(ctx, a.User, method)
	if err != nil {
		return nil, err
	}
	comp, res := s.signInCompletion(a, p, method, amr, allowed, c)
	if err := s.complete(ctx, a.User, p, comp, c); err != nil {
		return nil, err
	}
	return res, nil
}

// signInCompletion builds the completion of the pending sign-in a by p
// (nil: the proof is filled in later) and the result it answers once
// committed: a full session, or — when the employee's workgroup policy no
// longer accepts method (allowed false) — one limited to setting up a
// second factor it accepts.
func (s *Service) signInCompletion(a *Auth, p *proof, method string, amr []string, allowed bool, c Client) (*deadbolt.Completion, *Result) {
	state, res := deadbolt.SessionFull, StateAuthenticated
	if !allowed {
		state, res = deadbolt.SessionSetup, StateSetupRequired
	}
	sess, tok, h := s.newSession(a.User, state, method, c)
	if amr != nil {
		sess.AMR = amr
	}
	if p == nil {
		p = &proof{}
	}
	comp := s.completion(a.User, p, s.clock.Now())
	comp.OldSessionID, comp.NewSession, comp.TokenHash = a.Session.ID, sess, h
	detail := map[string]string{"method": method}
	typ := deadbolt.EventSignIn
	if state == deadbolt.SessionSetup {
		typ, detail["reason"] = deadbolt.EventSetupRequired, "min_method"
	}
	comp.Event = &deadbolt.Event{Type: typ, At: comp.Now, UserID: a.User.ID, IP: c.IP, Detail: detail}
	return comp, &Result{State: res, Token: tok, Session: sess, User: a.User}
}

// ReauthPasskey renews a session's fresh proof with a passkey assertion
// made for PasskeyOptions, through the same gate as sign-in (errors as
// SecondFactorPasskey).
func (s *Service) ReauthPasskey(ctx context.Context, a *Auth, credential []byte, c Client) error {
	if err := requireSignedIn(a); err != nil {
		return err
	}
	p, as, err := s.provePasskey(ctx, a.User, purposeReauth(a.Session.ID), credential, c)
	if err != nil {
		return err
	}
	comp := s.completion(a.User, p, s.clock.Now())
	comp.AuthSessionID, comp.AuthAt = a.Session.ID, comp.Now
	comp.AuthAMR = MergeAMR(a.Session.AMR, passkeyAMR(false, as.UserVerified))
	comp.Event = &deadbolt.Event{Type: deadbolt.EventReauth, At: comp.Now, UserID: a.User.ID, IP: c.IP,
		Detail: map[string]string{"method": MethodPasskey}}
	return s.complete(ctx, a.User, p, comp, c)
}

// BeginPasskey begins a sign-in without a login for the client c: it
// answers the ceremony's id and the request options for any discoverable
// passkey. Nobody is signed in yet and each begin keeps a challenge in the
// store, so begins are counted per network before anything is written
// (one atomic hit, counted in the store so every node agrees): more than
// PasskeyBegins within PasskeyBeginWindow answer CodeRateLimited until the
// window ends. CodePasskeysUnavailable while passkeys are off.
func (s *Service) BeginPasskey(ctx context.Context, c Client) (string, []byte, error) {
	pk, err := s.passkeys()
	if err != nil {
		return "", nil, err
	}
	now := s.clock.Now()
	hit, err := s.store.Hit(ctx, passkeyBeginKey(c.IP), now, s.cfg.PasskeyBeginWindow)
	if err != nil {
		return "", nil, err
	}
	if wait := s.passkeyBeginWindow().decide(hit, now); wait > 0 {
		return "", nil, deadbolt.RateLimited(wait, "Too many passkey sign-ins were begun from your network. Wait a while, or sign in with your password.")
	}
	id := deadbolt.NewID()
	_, opts, err := pk.AssertionOptions(ctx, nil, purposeDiscover(id))
	return id, opts, err
}

// passkeyBeginWindow is the per-network rule of BeginPasskey.
func (s *Service) passkeyBeginWindow() window {
	return window{max: int64(s.cfg.PasskeyBegins), span: s.cfg.PasskeyBeginWindow}
}

// passkeyBeginKey is the counter of passkey begins from ip's network: the
// address itself for IPv4, its /64 for IPv6 (one subscriber's usual
// allocation, so a client cannot step around the limit by changing the
// low bits). An address that does not parse counts as itself.
func passkeyBeginKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "pk:begin:" + ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "pk:begin:" + p.String()
	}
	return "pk:begin:" + a.String()
}

// FinishPasskey finishes the sign-in without a login begun as id, with
// the browser's assertion. The passkey names its employee, whose
// second-factor streak counts the attempt before it is checked (the
// gate): a locked employee is CodeLocked, a hurried one CodeRateLimited.
// An unknown passkey, a deactivated employee and a wrong assertion are
// all CodeInvalidCredentials; an assertion without user verification is
// one factor only and CodeUserVerificationRequired. Success opens a full
// session, phishing-resistant (amr hwk user mfa).
func (s *Service) FinishPasskey(ctx context.Context, id string, credential []byte, c Client) (*Result, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, err
	}
	if !deadbolt.ValidID(id) {
		return nil, invalidCredentials()
	}
	owner, err := pk.Owner(ctx, credential)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		s.audit.Record(ctx, deadbolt.EventSignInFailed, "", "", c.IP, map[string]string{"method": MethodPasskey, "reason": "unknown_passkey"})
		return nil, invalidCredentials()
	}
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, owner.UserID)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, invalidCredentials()
	}
	if err != nil {
		return nil, err
	}
	if !u.Active {
		s.audit.Record(ctx, deadbolt.EventSignInFailed, u.ID, "", c.IP, map[string]string{"method": MethodPasskey, "reason": "deactivated"})
		return nil, invalidCredentials()
	}
	p, as, err := s.provePasskey(ctx, u, purposeDiscover(id), credential, c)
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeInvalidCode), err == errUnusable:
		return nil, invalidCredentials()
	case err != nil:
		return nil, err
	case !as.UserVerified:
		// One factor only: the proof is not used, and the attempt stays
		// counted.
		s.audit.Record(ctx, deadbolt.EventSignInFailed, u.ID, "", c.IP, map[string]string{"method": MethodPasskey, "reason": "no_user_verification"})
		return nil, deadbolt.Errorf(deadbolt.CodeUserVerificationRequired,
			"Your passkey did not verify you (PIN or biometrics), so it counts as one factor only. Sign in with your password and use the passkey as the second step.")
	}
	sess, tok, h := s.newSession(u, deadbolt.SessionFull, MethodPasskey, c)
	sess.AMR = passkeyAMR(false, true)
	comp := s.completion(u, p, s.clock.Now())
	comp.NewSession, comp.TokenHash = sess, h
	comp.Event = &deadbolt.Event{Type: deadbolt.EventSignIn, At: comp.Now, UserID: u.ID, IP: c.IP,
		Detail: map[string]string{"method": MethodPasskey, "passwordless": "true"}}
	if err := s.complete(ctx, u, p, comp, c); err != nil {
		if deadbolt.IsCode(err, deadbolt.CodeInvalidCode) {
			return nil, invalidCredentials()
		}
		return nil, err
	}
	return &Result{State: StateAuthenticated, Token: tok, Session: sess, User: u}, nil
}
