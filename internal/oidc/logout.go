package oidc

import (
	"context"
	"net/url"

	"deadbolt/internal/deadbolt"
)

// LogoutRequest is a validated RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0).
type LogoutRequest struct {
	// App is the application asking, when the request names it.
	App *deadbolt.Application
	// RedirectURL is the registered post_logout_redirect_uri with state
	// added, "" when the request gave none.
	RedirectURL string
	// Subject and SessionID come from a valid id_token_hint.
	Subject   string
	SessionID string
}

// EndSession validates a logout request: id_token_hint, when given, must
// be an ID token this provider signed (expired ones too); client_id, when
// given too, must be its audience; post_logout_redirect_uri must be
// registered by that client, exactly. Anything else is a *deadbolt.Error
// (CodeBadRequest) to show, never a redirect.
func (p *Provider) EndSession(ctx context.Context, q url.Values) (*LogoutRequest, error) {
	v, perr := singleValues(q)
	if perr != nil {
		return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "The sign-out request is malformed: %s", perr.Description)
	}
	lr := &LogoutRequest{}
	clientID := v["client_id"]
	if hint := v["id_token_hint"]; hint != "" {
		claims, err := p.verifyIDToken(ctx, hint)
		if err != nil {
			return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "The application sent a sign-out request with an ID token Deadbolt did not issue.")
		}
		if clientID != "" && clientID != claims.Audience[0] {
			return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "The sign-out request names two different applications.")
		}
		clientID, lr.Subject, lr.SessionID = claims.Audience[0], claims.Subject, claims.SessionID
	}
	if clientID != "" {
		app, err := p.Apps.ByClientID(ctx, clientID)
		if err != nil && !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return nil, err
		}
		lr.App = app
	}
	if target, ok := v["post_logout_redirect_uri"]; ok {
		if lr.App == nil {
			return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "The sign-out request asks to return to an application it does not name.")
		}
		if !registered(lr.App.PostLogoutRedirectURIs, target) {
			return nil, deadbolt.Errorf(deadbolt.CodeBadRequest, "%s asked to return to an address it did not register for after sign-out.", lr.App.Name)
		}
		lr.RedirectURL = RedirectWith(target, url.Values{"state": {v["state"]}})
	}
	return lr, nil
}
