package oidc

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// Next says what the browser does after an authorization request.
type Next int

// The outcomes of Authorize and Continue.
const (
	// NextRedirect: go back to the application (RedirectURL carries the
	// code, or an error).
	NextRedirect Next = iota
	// NextLogin: sign in first, then continue the request Ref.
	NextLogin
	// NextStepUp: prove it is you again (fresh proof, second factor),
	// then continue.
	NextStepUp
	// NextSetup: set up a second factor (the app requires one), then
	// continue.
	NextSetup
	// NextDenied: the app does not admit this employee; show a page
	// naming it.
	NextDenied
	// NextError: the request cannot go back to the app (unknown client,
	// unregistered redirect URI, lapsed request); show Err.
	NextError
)

// Outcome is the answer to an authorization request.
type Outcome struct {
	Next Next
	// RedirectURL is the application's redirect URI with code, state and
	// iss (or error) added, for NextRedirect.
	RedirectURL string
	// Ref is the pending request to continue after sign-in, step-up or
	// setup.
	Ref string
	// App is the application asking, when known.
	App *deadbolt.Application
	// Err is a *deadbolt.Error for NextError and NextDenied.
	Err error
}

func pageError(code deadbolt.Code, msg string) Outcome {
	return Outcome{Next: NextError, Err: deadbolt.Errorf(code, "%s", msg)}
}

// redirectError sends an OAuth error back to the application.
func (p *Provider) redirectError(params *AuthParams, app *deadbolt.Application, e *Error) Outcome {
	return Outcome{Next: NextRedirect, App: app, RedirectURL: RedirectWith(params.RedirectURI, url.Values{
		"error": {e.Code}, "error_description": {e.Description}, "state": {params.State}, "iss": {p.Issuer}})}
}

// Authorize answers an authorization request (the query of GET
// /oidc/authorize). a is the browser's session, nil when it has none. Until
// client_id and redirect_uri are known good, errors are NextError, shown to
// the person; afterwards they go back to the application.
func (p *Provider) Authorize(ctx context.Context, q url.Values, a *signin.Auth, c signin.Client) Outcome {
	clientID, redirectURI, perr := ClientAndRedirect(q)
	if perr != nil {
		return pageError(deadbolt.CodeBadRequest, "The application sent an incomplete sign-in request: "+perr.Description)
	}
	app, err := p.Apps.ByClientID(ctx, clientID)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return pageError(deadbolt.CodeBadRequest, "The application asking you to sign in is not registered with Deadbolt.")
	}
	if err != nil {
		return Outcome{Next: NextError, Err: err}
	}
	if !registered(app.RedirectURIs, redirectURI) {
		return pageError(deadbolt.CodeBadRequest, "The application "+app.Name+" asked to return to an address it did not register.")
	}
	params, perr := ParseAuthorize(q, app.Public)
	if perr != nil {
		params = &AuthParams{RedirectURI: redirectURI, State: q.Get("state")}
		if len(q["state"]) != 1 || len(params.State) > maxStateLen {
			params.State = ""
		}
		return p.redirectError(params, app, perr)
	}
	if hint := q.Get("id_token_hint"); hint != "" {
		claims, err := p.verifyIDToken(ctx, hint)
		if err != nil {
			return p.redirectError(params, app, oauthErr(ErrInvalidRequest, "id_token_hint is not an ID token of this provider.", 400))
		}
		params.HintSubject = claims.Subject
	}
	return p.decide(ctx, app, params, nil, a, c)
}

// registered reports whether uri is one of list, compared exactly: the
// scheme, host, port, path and query as registered.
func registered(list []string, uri string) bool {
	for _, r := range list {
		if r == uri {
			return true
		}
	}
	return false
}

// Continue resumes the pending request ref after the browser signed in,
// stepped up or set up a second factor.
func (p *Provider) Continue(ctx context.Context, ref string, a *signin.Auth, c signin.Client) Outcome {
	req, app, params, out, ok := p.pending(ctx, ref)
	if !ok {
		return out
	}
	return p.decide(ctx, app, params, req, a, c)
}

// Pending returns the application of the pending request ref, for the
// sign-in pages to name it; CodeNotFound when it lapsed.
func (p *Provider) Pending(ctx context.Context, ref string) (*deadbolt.Application, error) {
	_, app, _, out, ok := p.pending(ctx, ref)
	if !ok {
		return nil, out.Err
	}
	return app, nil
}

func (p *Provider) pending(ctx context.Context, ref string) (*deadbolt.AuthRequest, *deadbolt.Application, *AuthParams, Outcome, bool) {
	lapsed := pageError(deadbolt.CodeNotFound, "This sign-in request has lapsed. Go back to the application and sign in again.")
	if !deadbolt.ValidID(ref) {
		return nil, nil, nil, lapsed, false
	}
	req, err := p.Store.AuthRequest(ctx, ref)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, nil, nil, lapsed, false
	}
	if err != nil {
		return nil, nil, nil, Outcome{Next: NextError, Err: err}, false
	}
	if !p.Clock.Now().Before(req.ExpiresAt) {
		return nil, nil, nil, lapsed, false
	}
	app, err := p.Store.Application(ctx, req.AppID)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, nil, nil, lapsed, false
	}
	if err != nil {
		return nil, nil, nil, Outcome{Next: NextError, Err: err}, false
	}
	var params AuthParams
	if err := json.Unmarshal([]byte(req.Params), &params); err != nil || !registered(app.RedirectURIs, params.RedirectURI) {
		return nil, nil, nil, lapsed, false
	}
	return req, app, &params, Outcome{}, true
}

// decide applies the rules to a request and the browser's session: sign
// in, step up, set up, refuse, or issue a code. req is the pending request
// being continued, nil for a fresh one.
func (p *Provider) decide(ctx context.Context, app *deadbolt.Application, params *AuthParams, req *deadbolt.AuthRequest, a *signin.Auth, c signin.Client) Outcome {
	now := p.Clock.Now()
	since := now // when the request was made: proofs after it are fresh
	if req != nil {
		since = req.CreatedAt
	}
	none := params.HasPrompt("none")
	interact := func(next Next, noneErr string) Outcome {
		if none {
			return p.redirectError(params, app, oauthErr(noneErr, "The employee must interact with Deadbolt first.", 400))
		}
		if req == nil {
			var err error
			if req, err = p.savePending(ctx, app, params, now); err != nil {
				return Outcome{Next: NextError, App: app, Err: err}
			}
		}
		return Outcome{Next: next, Ref: req.ID, App: app}
	}
	if a == nil || a.Session.State != deadbolt.SessionFull || !p.Signin.Live(a.Session, a.User) {
		return interact(NextLogin, ErrLoginRequired)
	}
	if params.HintSubject != "" && params.HintSubject != a.User.ID {
		// Signed in as someone other than the application expects.
		if none {
			return p.redirectError(params, app, oauthErr(ErrLoginRequired, "Another employee is signed in.", 400))
		}
		return Outcome{Next: NextError, App: app, Err: deadbolt.Errorf(deadbolt.CodeConflict,
			"%s expects another account than the one signed in here. Sign out of Deadbolt, then sign in again from %s.", app.Name, app.Name)}
	}
	ids, _, err := p.memberOf(ctx, a.User.ID)
	if err != nil {
		return Outcome{Next: NextError, App: app, Err: err}
	}
	verdict := apps.Access(app, a.User, ids, a.Session.AMR)
	if verdict.Denied() {
		p.Apps.RecordAccess(ctx, app, a.User.ID, c.IP, "oidc", verdict)
		if none {
			return p.redirectError(params, app, oauthErr(ErrAccessDenied, "The employee may not use this application.", 403))
		}
		if req != nil {
			p.Store.ConsumeAuthRequest(ctx, req.ID)
		}
		return Outcome{Next: NextDenied, App: app, Err: apps.DeniedError(app)}
	}
	fresh := !a.Session.AuthAt.Before(since)
	if params.HasPrompt("login") && !fresh {
		return interact(NextStepUp, ErrLoginRequired)
	}
	if params.MaxAge >= 0 && !fresh && now.Sub(a.Session.AuthAt) > time.Duration(params.MaxAge)*time.Second {
		return interact(NextStepUp, ErrLoginRequired)
	}
	switch verdict {
	case apps.SetupFirst:
		return interact(NextSetup, ErrInteractionRequired)
	case apps.StepUp:
		return interact(NextStepUp, ErrInteractionRequired)
	}
	if want := p.wantedACR(params); want != "" && !apps.Satisfies(apps.ACR(a.Session.AMR), want) && !fresh && p.canReach(ctx, a.User, want) {
		// acr_values are voluntary: after one step-up the code is issued
		// with what the session reached, and the acr claim says so.
		return interact(NextStepUp, ErrInteractionRequired)
	}
	if req != nil {
		ok, err := p.Store.ConsumeAuthRequest(ctx, req.ID)
		if err != nil {
			return Outcome{Next: NextError, App: app, Err: err}
		}
		if !ok {
			return pageError(deadbolt.CodeNotFound, "This sign-in request was already answered. Go back to the application.")
		}
	}
	code, err := p.issueCode(ctx, app, params, a, now)
	if err != nil {
		return Outcome{Next: NextError, App: app, Err: err}
	}
	p.Apps.RecordAccess(ctx, app, a.User.ID, c.IP, "oidc", apps.Admit)
	return Outcome{Next: NextRedirect, App: app, RedirectURL: RedirectWith(params.RedirectURI, url.Values{
		"code": {code}, "state": {params.State}, "iss": {p.Issuer}})}
}

// wantedACR is the least demanding ACR value asked for (any of them
// satisfies the request), "" for none.
func (p *Provider) wantedACR(params *AuthParams) string {
	want := ""
	for _, v := range params.ACRValues {
		if want == "" || apps.Satisfies(want, v) {
			want = v
		}
	}
	return want
}

// canReach reports whether the employee has what a step-up to acr needs:
// a second factor for mfa, a passkey for phr.
func (p *Provider) canReach(ctx context.Context, u *deadbolt.User, acr string) bool {
	switch acr {
	case apps.ACRMultiFactor:
		return u.TwoFactorEnabled()
	case apps.ACRPhishingResistant:
		methods, err := p.Signin.Methods(ctx, u)
		return err == nil && slices.Contains(methods, signin.MethodPasskey)
	}
	return false
}

func (p *Provider) savePending(ctx context.Context, app *deadbolt.Application, params *AuthParams, now time.Time) (*deadbolt.AuthRequest, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	req := &deadbolt.AuthRequest{ID: deadbolt.NewID(), AppID: app.ID, Params: string(b), CreatedAt: now, ExpiresAt: now.Add(RequestLifetime)}
	if err := p.Store.SaveAuthRequest(ctx, req); err != nil {
		return nil, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "The application was deleted meanwhile.")
	}
	return req, nil
}

// issueCode stores a one-use code for the session and returns it.
func (p *Provider) issueCode(ctx context.Context, app *deadbolt.Application, params *AuthParams, a *signin.Auth, now time.Time) (string, error) {
	code, h := newSecret()
	c := &deadbolt.AuthCode{Hash: h, RedirectURI: params.RedirectURI, Scope: strings.Join(params.Scopes, " "),
		Nonce: params.Nonce, CodeChallenge: params.CodeChallenge, AuthTime: a.Session.AuthAt, AMR: a.Session.AMR,
		CreatedAt: now, ExpiresAt: now.Add(CodeLifetime)}
	g := &deadbolt.Grant{ID: deadbolt.NewID(), SessionID: a.Session.ID, UserID: a.User.ID, AppID: app.ID, CreatedAt: now}
	if _, err := p.Store.IssueCode(ctx, g, c); err != nil {
		return "", deadbolt.WithMessage(err, deadbolt.CodeNotFound, "The application was deleted meanwhile.")
	}
	return code, nil
}
