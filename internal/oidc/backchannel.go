package oidc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"deadbolt/internal/deadbolt"
)

// Back-channel logout delivery.
const (
	// ScanEvery is how often a node looks for sessions that ended: a
	// logout token goes out within about this long (SPEC: within 5 s).
	ScanEvery = time.Second
	// WakeGap is the least time between the starts of two scans when the
	// later one was woken by a change (Run).
	WakeGap = 100 * time.Millisecond
	// claimFor is how long a node holds a delivery; longer than a send.
	claimFor = 45 * time.Second
	// sendTimeout bounds one POST to an application.
	sendTimeout = 10 * time.Second
	// retryFor is how long deliveries are retried before giving up.
	retryFor = time.Hour
	// maxBackoff caps the wait between attempts.
	maxBackoff = 5 * time.Minute
	// parallelSends bounds the deliveries in flight on one node.
	parallelSends = 8
	// idleMargin widens the idle bound of the scan past the session idle
	// timeout: activity is recorded at most once a minute, so a session
	// last seen just over the timeout ago may still be in use.
	idleMargin = 2 * time.Minute
	// doneKeep is how long delivered grants are kept (failures stay
	// visible in the console that long).
	doneKeep = 7 * 24 * time.Hour
)

// EventBackchannelLogout is the event of a logout token.
const EventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// Backchannel sends Back-Channel Logout 1.0 logout tokens for sessions
// that ended, from any node: each delivery is claimed by one atomic
// statement, so one node sends it; failures are retried with backoff for
// an hour and recorded for the console. It is safe for concurrent use.
type Backchannel struct {
	p      *Provider
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}
	sem    chan struct{}
	wg     sync.WaitGroup
}

// NewBackchannel returns a sender for p's logout tokens. client nil uses a
// client that follows no redirects.
func NewBackchannel(p *Provider, client *http.Client) *Backchannel {
	if client == nil {
		client = &http.Client{Timeout: sendTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return &Backchannel{p: p, client: client, log: p.Logger, wake: make(chan struct{}, 1), sem: make(chan struct{}, parallelSends)}
}

// Wake asks for a scan now (a session may have ended). It never blocks.
func (b *Backchannel) Wake() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Run scans for ended sessions every ScanEvery (and on Wake) and delivers
// their logout tokens, until ctx ends; it then waits for deliveries in
// flight.
//
// Wakes come with every change of any employee's sessions — each sign-in
// among them — so under a burst of sign-ins they would ask for a scan all
// the time: a scan woken starts no sooner than WakeGap after the one
// before it. The wakes meanwhile are not lost: they are the one scan at
// the end of the gap, which sees every session ended before it.
func (b *Backchannel) Run(ctx context.Context) {
	t := time.NewTicker(ScanEvery)
	defer t.Stop()
	defer b.wg.Wait()
	for {
		last := time.Now()
		b.Scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
			if wait := WakeGap - time.Since(last); wait > 0 {
				gap := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					gap.Stop()
					return
				case <-gap.C:
				}
			}
		}
	}
}

// Scan delivers the logout tokens due now; deliveries run in the
// background, bounded.
func (b *Backchannel) Scan(ctx context.Context) {
	now := b.p.Clock.Now()
	idle := now.Add(-b.p.Signin.Config().IdleTimeout - idleMargin)
	list, err := b.p.Store.EndedGrants(ctx, now, idle, 100)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("oidc: cannot look for ended sessions", "err", err)
		}
		return
	}
	for _, g := range list {
		claimed, ok, err := b.p.Store.ClaimLogout(ctx, g.ID, now, now.Add(claimFor))
		if err != nil {
			b.log.Warn("oidc: cannot claim a logout delivery", "grant_id", g.ID, "err", err)
			continue
		}
		if !ok {
			continue // another node has it
		}
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer func() { <-b.sem }()
			b.deliver(context.WithoutCancel(ctx), claimed)
		}()
	}
}

// deliver sends one logout token and records the outcome.
func (b *Backchannel) deliver(ctx context.Context, g *deadbolt.Grant) {
	app, err := b.p.Store.Application(ctx, g.AppID)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return // deleted, with its grants
	}
	var sendErr error
	if err != nil {
		sendErr = err
	} else if app.BackchannelLogoutURI == "" {
		sendErr = nil // the URI was removed meanwhile: nothing to send
	} else {
		sendErr = b.send(ctx, app, g)
	}
	now := b.p.Clock.Now()
	first := g.LogoutFirstAt
	if first.IsZero() {
		first = now
	}
	if sendErr == nil {
		if err := b.p.Store.FinishLogout(ctx, g.ID, now, true, false, time.Time{}, ""); err != nil {
			b.log.Warn("oidc: cannot record a logout delivery", "grant_id", g.ID, "err", err)
		}
		return
	}
	giveUp := now.Sub(first) >= retryFor
	wait := time.Second << min(g.LogoutAttempts, 10)
	wait = min(wait, maxBackoff)
	msg := truncate(sendErr.Error(), 300)
	b.log.Warn("oidc: back-channel logout failed", "app_id", g.AppID, "grant_id", g.ID, "attempt", g.LogoutAttempts,
		"give_up", giveUp, "err", msg)
	if err := b.p.Store.FinishLogout(ctx, g.ID, now, false, giveUp, now.Add(wait), msg); err != nil {
		b.log.Warn("oidc: cannot record a logout failure", "grant_id", g.ID, "err", err)
	}
}

// LogoutToken signs the logout token telling app that the session sid of
// sub ended: iss aud iat exp jti sid sub events, typ logout+jwt.
func (p *Provider) LogoutToken(ctx context.Context, app *deadbolt.Application, sub, sid string) (string, error) {
	now := p.Clock.Now()
	return p.Keys.Sign(ctx, map[string]any{
		"iss": p.Issuer, "aud": app.ClientID, "iat": now.Unix(), "exp": now.Add(logoutTokenExpiry).Unix(),
		"jti": deadbolt.NewID(), "sub": sub, "sid": sid,
		"events": map[string]any{EventBackchannelLogout: map[string]any{}},
	}, "logout+jwt")
}

func (b *Backchannel) send(ctx context.Context, app *deadbolt.Application, g *deadbolt.Grant) error {
	tok, err := b.p.LogoutToken(ctx, app, g.UserID, g.SessionID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app.BackchannelLogoutURI,
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", app.BackchannelLogoutURI, unwrapURL(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST %s: HTTP %d", app.BackchannelLogoutURI, resp.StatusCode)
	}
	return nil
}

// unwrapURL drops the *url.Error wrapper (which repeats the URL).
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// Wait waits for the deliveries in flight.
func (b *Backchannel) Wait() { b.wg.Wait() }

// Sweep deletes expired pending requests and access tokens, and the grants
// of ended sessions with nothing left to deliver.
func (p *Provider) Sweep(ctx context.Context) error {
	now := p.Clock.Now()
	idle := now.Add(-p.Signin.Config().IdleTimeout - idleMargin)
	_, err := p.Store.SweepOIDC(ctx, now, idle, now.Add(-doneKeep))
	return err
}

// LogoutFailures lists an application's failed back-channel logout
// deliveries, most recent first (the console shows them).
func (p *Provider) LogoutFailures(ctx context.Context, appID string) ([]*deadbolt.Grant, error) {
	return p.Store.LogoutFailures(ctx, appID, 50)
}
