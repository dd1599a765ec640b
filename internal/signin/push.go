package signin

import (
	"context"
	"time"

	"deadbolt/internal/deadbolt"
)

// sendPush sends a push request for a pending sign-in; it returns the
// request, or why none was sent. Failures other than the limits are logged:
// the other methods stay available.
func (s *Service) sendPush(ctx context.Context, u *deadbolt.User, sessionID string, c Client) (*deadbolt.PushRequest, string) {
	req, err := s.factors.Push.Send(ctx, u, sessionID, c.IP, c.UserAgent)
	if err == nil {
		return req, ""
	}
	if e, ok := err.(*deadbolt.Error); ok && e.Extra != nil {
		if r, ok := e.Extra["push_unavailable"].(string); ok {
			return nil, r
		}
	}
	s.log.Warn("signin: cannot send push request", "user_id", u.ID, "err", err)
	return nil, ""
}

// PushPaused reports whether pushes to u are muted ("This wasn't me") or
// limited now — "muted", "rate_limited", or "" — and for how long, so that
// a page can say so and offer the other methods first. It counts nothing.
func (s *Service) PushPaused(ctx context.Context, u *deadbolt.User) (string, time.Duration, error) {
	if s.factors == nil || s.factors.Push == nil {
		return "", 0, nil
	}
	return s.factors.Push.Paused(ctx, u.ID)
}

// NewPush sends a fresh push request for a pending sign-in, replacing the
// previous one. While the second factor is locked it answers CodeLocked
// and sends nothing; while pushes are limited or muted, CodeRateLimited.
func (s *Service) NewPush(ctx context.Context, a *Auth, c Client) (*deadbolt.PushRequest, error) {
	if a.Session.State != deadbolt.SessionPending {
		return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "This session is not waiting for a second factor.")
	}
	if s.factors == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Push approval is not available for your account.")
	}
	st, err := s.factorState(ctx, a.User)
	if err != nil {
		return nil, err
	}
	if s.lockedBy(st.Failures) {
		return nil, lockedError()
	}
	if !contains(s.methodsOf(a.User, st), MethodPush) {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Push approval is not available for your account.")
	}
	return s.factors.Push.Send(ctx, a.User, a.Session.ID, c.IP, c.UserAgent)
}

// DecidePush records the trusted device d's decision on the push request
// id. An approval is a second-factor attempt of the device's employee and
// passes the gate (gate.go) before its number is compared: CodeLocked
// (the request then ends denied), CodeRateLimited (the request stays
// pending; the device may approve again after the wait); a wrong number
// ends the request denied and is recorded as a failure (CodeLocked when it
// was the attempt that reached the lock). A denial or "This wasn't me" is
// not a guess and is not counted. Errors of the decision itself are those
// of PushSender.Open and Settle. It returns the final status.
func (s *Service) DecidePush(ctx context.Context, d *deadbolt.Device, id string, dec deadbolt.PushDecision, c Client) (string, error) {
	if s.factors == nil || s.factors.Push == nil {
		return "", deadbolt.Errorf(deadbolt.CodeNotFound, "Request not found.")
	}
	push := s.factors.Push
	req, err := push.Open(ctx, d, id, dec)
	if err != nil {
		return "", err
	}
	if dec.Decision != "approve" {
		return push.Settle(ctx, d, req, dec, c.IP)
	}
	var status string
	_, err = s.secondFactorGate(ctx, gateAttempt{
		userID: d.UserID, method: MethodPush, client: c,
		usable: func(st *deadbolt.FactorState) bool { return st.Device != nil && st.Device.ID == d.ID },
		check: func(*deadbolt.FactorState) (*proof, bool, error) {
			var err error
			status, err = push.Settle(ctx, d, req, dec, c.IP)
			return nil, status == deadbolt.PushApproved, err
		},
	})
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeLocked) && status == "":
		// Refused before its number was looked at: it ends denied.
		if rerr := push.Refuse(ctx, d, req, "locked", c.IP); rerr != nil && !deadbolt.IsCode(rerr, deadbolt.CodeConflict) {
			return "", rerr
		}
		return "", err
	case deadbolt.IsCode(err, deadbolt.CodeInvalidCode):
		// A wrong number: the request ended denied, and the failure is
		// counted. The device hears what became of its decision.
		return status, nil
	case err != nil:
		return "", err
	}
	return status, nil
}

// PushOutcome is the state of a push request as the browser sees it.
type PushOutcome struct {
	Status string // pending, approved, denied, expired
	// Result is the completed sign-in when Status is approved.
	Result *Result
	// Reported is set when the employee denied with "This wasn't me":
	// pushes to them are paused now.
	Reported bool
}

// WaitPush reports a push request's status, waiting up to wait while it is
// pending — or until stop is closed (the server is shutting down; nil
// never closes), when it answers the current status at once. On approval
// it completes the sign-in (once: the approval is consumed atomically) and
// returns the full session — unless the second factor got locked since the
// approval (CodeLocked). Requests of another sign-in are CodeNotFound; a
// request after the session ended is CodeUnauthorized; store failures come
// back as the store reports them (CodeUnavailable when the database cannot
// answer).
func (s *Service) WaitPush(ctx context.Context, a *Auth, id string, wait time.Duration, stop <-chan struct{}, c Client) (*PushOutcome, error) {
	if a.Session.State != deadbolt.SessionPending {
		return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "This session is not waiting for a second factor.")
	}
	if !deadbolt.ValidID(id) || s.factors == nil || s.factors.Notifier == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Push request not found.")
	}
	wake, unsubscribe := s.factors.Notifier.Subscribe("push:" + id)
	defer unsubscribe()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		req, err := s.store.PushRequest(ctx, id)
		if err != nil {
			return nil, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Push request not found.")
		}
		if req.SessionID != a.Session.ID {
			return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Push request not found.")
		}
		now := s.clock.Now()
		switch st := req.StatusAt(now); st {
		case deadbolt.PushApproved:
			return s.completePush(ctx, a, req, c)
		case deadbolt.PushPending:
		case deadbolt.PushDenied:
			return &PushOutcome{Status: deadbolt.PushDenied, Reported: req.Reported}, nil
		default: // expired, replaced, consumed
			return &PushOutcome{Status: deadbolt.PushExpired}, nil
		}
		expiry := time.NewTimer(req.ExpiresAt.Sub(now) + time.Millisecond)
		select {
		case <-wake:
		case <-expiry.C:
		case <-timer.C:
			expiry.Stop()
			return &PushOutcome{Status: deadbolt.PushPending}, nil
		case <-stop:
			expiry.Stop()
			return &PushOutcome{Status: deadbolt.PushPending}, nil
		case <-ctx.Done():
			expiry.Stop()
			return nil, ctx.Err()
		}
		expiry.Stop()
	}
}

func (s *Service) completePush(ctx context.Context, a *Auth, req *deadbolt.PushRequest, c Client) (*PushOutcome, error) {
	now := s.clock.Now()
	state, resState := deadbolt.SessionFull, StateAuthenticated
	if allowed, err := s.methodAllowed(ctx, a.User, MethodPush); err != nil {
		return nil, err
	} else if !allowed {
		// The workgroup's policy no longer accepts a push: setup only.
		state, resState = deadbolt.SessionSetup, StateSetupRequired
	}
	sess, tok, h := s.newSession(a.User, state, MethodPush, c)
	// The approval's own count is not kept with the request: an approval
	// that was itself the attempt reaching the lock does not complete.
	comp := &deadbolt.Completion{UserID: a.User.ID, PushRequestID: req.ID, Now: now,
		OldSessionID: a.Session.ID, NewSession: sess, TokenHash: h,
		Guard: s.lockGuard(a.User.ID, 0),
		Event: &deadbolt.Event{Type: deadbolt.EventSignIn, At: now, UserID: a.User.ID, IP: c.IP,
			Detail: map[string]string{"method": MethodPush}}}
	if state == deadbolt.SessionSetup {
		comp.Event.Type, comp.Event.Detail["reason"] = deadbolt.EventSetupRequired, "min_method"
	}
	ok, err := s.store.CompleteSecondFactor(ctx, comp)
	if deadbolt.IsCode(err, deadbolt.CodeLocked) {
		// Locked since the approval: it does not sign in.
		return nil, lockedError()
	}
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) || err == nil && !ok {
		// Another wait of this sign-in completed it.
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	return &PushOutcome{Status: deadbolt.PushApproved,
		Result: &Result{State: resState, Token: tok, Session: sess, User: a.User}}, nil
}

// PushFor returns a push request of this pending sign-in.
func (s *Service) PushFor(ctx context.Context, a *Auth, id string) (*deadbolt.PushRequest, error) {
	if !deadbolt.ValidID(id) {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Push request not found.")
	}
	p, err := s.store.PushRequest(ctx, id)
	if err != nil {
		return nil, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Push request not found.")
	}
	if p.SessionID != a.Session.ID {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Push request not found.")
	}
	return p, nil
}
