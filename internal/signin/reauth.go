package signin

import (
	"context"
	"time"

	"deadbolt/internal/deadbolt"
)

// Fresh proof by push. A factor change needs a proof from the last
// Config.FreshProof; an employee with a trusted device may give it by
// approving a push request, as at sign-in, with the number the page shows.
// The request is bound to the full session that asks (its SessionID, with
// the purpose deadbolt.PushReauth), never to a pending sign-in: a sign-in
// cannot collect it, nor another session. The device decides it on the
// same path as a sign-in request — the approval is a second-factor
// attempt, counted by the attempt gate, and a wrong number ends it denied.
// Collecting the approval renews the session's AuthAt in the completion's
// one transaction, which also uses the approval up: it works once.

func errNoPush() error {
	return deadbolt.Errorf(deadbolt.CodeInvalidInput, "Push approval is not available for your account.")
}

// ReauthPush sends a push request that, once approved with its number,
// renews the fresh proof of the full session a. It answers
// CodeSecondFactorRequired or CodeSetupRequired unless the session is
// full; CodeLocked while the second factor is locked (nothing is sent);
// CodeInvalidInput when push is not one of the employee's methods;
// CodeRateLimited while pushes are limited or muted (the reason in
// Extra["push_unavailable"]). A new request replaces the session's
// previous one.
func (s *Service) ReauthPush(ctx context.Context, a *Auth, c Client) (*deadbolt.PushRequest, error) {
	if err := RequireFull(a); err != nil {
		return nil, err
	}
	if s.factors == nil || s.factors.Push == nil {
		return nil, errNoPush()
	}
	st, err := s.factorState(ctx, a.User)
	if err != nil {
		return nil, err
	}
	if s.lockedBy(st.Failures) {
		return nil, lockedError()
	}
	if !contains(s.methodsOf(a.User, st), MethodPush) {
		return nil, errNoPush()
	}
	return s.factors.Push.SendReauth(ctx, a.User, a.Session.ID, c.IP, c.UserAgent)
}

// ReauthPushFor returns the reauth push request id of the session a;
// another session's request, or a sign-in's, is CodeNotFound.
func (s *Service) ReauthPushFor(ctx context.Context, a *Auth, id string) (*deadbolt.PushRequest, error) {
	if !deadbolt.ValidID(id) {
		return nil, errPushNotFound()
	}
	p, err := s.store.PushRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.SessionID != a.Session.ID || p.Purpose != deadbolt.PushReauth {
		return nil, errPushNotFound()
	}
	return p, nil
}

func errPushNotFound() error {
	return deadbolt.Errorf(deadbolt.CodeNotFound, "Push request not found.")
}

// WaitReauthPush reports the status of the session's reauth push request
// id — pending, approved, denied or expired — waiting up to wait while it
// is pending, and no longer once drain is closed (nil never is). On
// approval it renews the session's fresh proof (once: the approval is used
// up in the same transaction) and sets a.Session.AuthAt; an approval
// already collected for this session reads as approved too. It answers
// CodeNotFound for a request of another session or of a sign-in,
// CodeUnauthorized when the session ended meanwhile, and CodeLocked when
// the second factor was locked after the approval (the proof is not
// renewed).
func (s *Service) WaitReauthPush(ctx context.Context, a *Auth, id string, wait time.Duration, drain <-chan struct{}, c Client) (string, error) {
	if err := RequireFull(a); err != nil {
		return "", err
	}
	if !deadbolt.ValidID(id) || s.factors == nil || s.factors.Notifier == nil {
		return "", errPushNotFound()
	}
	req, err := s.waitPushRequest(ctx, id, wait, drain, func(p *deadbolt.PushRequest) bool {
		return p.SessionID == a.Session.ID && p.Purpose == deadbolt.PushReauth
	})
	if err != nil {
		return "", err
	}
	switch req.StatusAt(s.clock.Now()) {
	case deadbolt.PushPending:
		return deadbolt.PushPending, nil
	case deadbolt.PushApproved:
		return s.completeReauthPush(ctx, a, req, c)
	case deadbolt.PushConsumed:
		// Another wait of this session collected it: the session it is
		// bound to was renewed.
		return deadbolt.PushApproved, nil
	case deadbolt.PushDenied:
		return deadbolt.PushDenied, nil
	default: // expired, replaced
		return deadbolt.PushExpired, nil
	}
}

// completeReauthPush uses the approval up and renews the session's fresh
// proof, in one transaction.
func (s *Service) completeReauthPush(ctx context.Context, a *Auth, req *deadbolt.PushRequest, c Client) (string, error) {
	now := s.clock.Now()
	comp := &deadbolt.Completion{UserID: a.User.ID, PushRequestID: req.ID, Now: now,
		AuthSessionID: a.Session.ID, AuthAt: now,
		// The streak ends only while the second factor is not locked: a
		// lock reached after the approval is never undone by it. (The
		// approval's own count is not kept with the request, as for a
		// sign-in by push.)
		Guard: s.lockGuard(a.User.ID, 0),
		Event: &deadbolt.Event{Type: deadbolt.EventReauth, At: now, UserID: a.User.ID, IP: c.IP,
			Detail: map[string]string{"method": MethodPush}}}
	ok, err := s.store.CompleteSecondFactor(ctx, comp)
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeLocked):
		return "", lockedError()
	case deadbolt.IsCode(err, deadbolt.CodeNotFound):
		return "", unauthorized()
	case err != nil:
		return "", err
	}
	if ok {
		a.Session.AuthAt = now
	}
	// Not ok: another wait of this session used the approval up at the
	// same moment, renewing the same session.
	return deadbolt.PushApproved, nil
}

// waitPushRequest reads the push request id until it is no longer
// pending, wait runs out, drain closes or ctx ends, waking on its topic
// and at its expiry. A request that mine refuses is CodeNotFound.
func (s *Service) waitPushRequest(ctx context.Context, id string, wait time.Duration, drain <-chan struct{}, mine func(*deadbolt.PushRequest) bool) (*deadbolt.PushRequest, error) {
	wake, stop := s.factors.Notifier.Subscribe("push:" + id)
	defer stop()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		req, err := s.store.PushRequest(ctx, id)
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return nil, errPushNotFound()
		}
		if err != nil {
			return nil, err
		}
		if !mine(req) {
			return nil, errPushNotFound()
		}
		now := s.clock.Now()
		if req.StatusAt(now) != deadbolt.PushPending || wait <= 0 {
			return req, nil
		}
		expiry := time.NewTimer(req.ExpiresAt.Sub(now) + time.Millisecond)
		select {
		case <-wake:
		case <-expiry.C:
		case <-timer.C:
			wait = 0
		case <-drain:
			wait = 0
		case <-ctx.Done():
			expiry.Stop()
			return nil, ctx.Err()
		}
		expiry.Stop()
	}
}
