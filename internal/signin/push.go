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

// NewPush sends a fresh push request for a pending sign-in, replacing the
// previous one. While pushes are limited or muted it answers
// CodeRateLimited.
func (s *Service) NewPush(ctx context.Context, a *Auth, c Client) (*deadbolt.PushRequest, error) {
	if a.Session.State != deadbolt.SessionPending {
		return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "This session is not waiting for a second factor.")
	}
	methods, err := s.Methods(ctx, a.User)
	if err != nil {
		return nil, err
	}
	if !contains(methods, MethodPush) {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Push approval is not available for your account.")
	}
	return s.factors.Push.Send(ctx, a.User, a.Session.ID, c.IP, c.UserAgent)
}

// PushOutcome is the state of a push request as the browser sees it.
type PushOutcome struct {
	Status string // pending, approved, denied, expired
	// Result is the completed sign-in when Status is approved.
	Result *Result
}

// WaitPush reports a push request's status, waiting up to wait while it is
// pending. On approval it completes the sign-in (once: the approval is
// consumed atomically) and returns the full session. Requests of another
// sign-in are CodeNotFound.
func (s *Service) WaitPush(ctx context.Context, a *Auth, id string, wait time.Duration, c Client) (*PushOutcome, error) {
	if a.Session.State != deadbolt.SessionPending {
		return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "This session is not waiting for a second factor.")
	}
	if !deadbolt.ValidID(id) || s.factors == nil || s.factors.Notifier == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Push request not found.")
	}
	wake, stop := s.factors.Notifier.Subscribe("push:" + id)
	defer stop()
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
			return &PushOutcome{Status: deadbolt.PushDenied}, nil
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
		case <-ctx.Done():
			expiry.Stop()
			return nil, ctx.Err()
		}
		expiry.Stop()
	}
}

func (s *Service) completePush(ctx context.Context, a *Auth, req *deadbolt.PushRequest, c Client) (*PushOutcome, error) {
	now := s.clock.Now()
	sess, tok, h := s.newSession(a.User, deadbolt.SessionFull, MethodPush, c)
	comp := &deadbolt.Completion{UserID: a.User.ID, PushRequestID: req.ID, Now: now,
		OldSessionID: a.Session.ID, NewSession: sess, TokenHash: h,
		ResetCounters: []string{failureKey(a.User.ID)},
		Event: &deadbolt.Event{Type: deadbolt.EventSignIn, At: now, UserID: a.User.ID, IP: c.IP,
			Detail: map[string]string{"method": MethodPush}}}
	ok, err := s.store.CompleteSecondFactor(ctx, comp)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) || err == nil && !ok {
		// Another wait of this sign-in completed it.
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	return &PushOutcome{Status: deadbolt.PushApproved,
		Result: &Result{State: StateAuthenticated, Token: tok, Session: sess, User: a.User}}, nil
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
