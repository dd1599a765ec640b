package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
)

// ClientCredentials is how a client authenticated a request: HTTP Basic
// (client_secret_basic) and/or form fields (client_secret_post, or a
// public client's bare client_id).
type ClientCredentials struct {
	// Basic is set when the request carried Authorization: Basic.
	Basic          bool
	BasicID        string
	BasicSecret    string
	BasicMalformed bool
}

func invalidClient(desc string) *Error { return oauthErr(ErrInvalidClient, desc, 401) }

// authenticateClient identifies and authenticates the client of a token,
// revocation or introspection request from its credentials and the form
// (v, with client_id and client_secret). A confidential client must prove
// its secret, compared in constant time; a public client sends only its
// client_id. Anything else is invalid_client (401).
func (p *Provider) authenticateClient(ctx context.Context, cred ClientCredentials, v map[string]string) (*deadbolt.Application, *Error) {
	formID, hasFormID := v["client_id"]
	formSecret, hasFormSecret := v["client_secret"]
	var id, secret string
	switch {
	case cred.BasicMalformed:
		return nil, invalidClient("The Authorization header is not valid client_secret_basic.")
	case cred.Basic && hasFormSecret:
		return nil, oauthErr(ErrInvalidRequest, "Use one client authentication method, not two.", 400)
	case cred.Basic:
		if hasFormID && formID != cred.BasicID {
			return nil, oauthErr(ErrInvalidRequest, "client_id does not match the Authorization header.", 400)
		}
		id, secret = cred.BasicID, cred.BasicSecret
		if secret == "" {
			return nil, invalidClient("Client authentication failed.")
		}
	case hasFormID:
		id, secret = formID, formSecret
		if hasFormSecret && secret == "" {
			return nil, invalidClient("Client authentication failed.")
		}
	default:
		return nil, invalidClient("Client authentication is required.")
	}
	app, err := p.Apps.ByClientID(ctx, id)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, invalidClient("Client authentication failed.")
	}
	if err != nil {
		return nil, serverError(err)
	}
	if app.Public {
		if secret != "" {
			return nil, invalidClient("A public client has no secret.")
		}
		return app, nil
	}
	if secret == "" || !p.Apps.Secrets().Verify(app.SecretHash, secret) {
		return nil, invalidClient("Client authentication failed.")
	}
	return app, nil
}

// TokenResponse is the answer of the token endpoint.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// Token answers the token endpoint: form is the request body's fields.
// Errors are *Error with the status to answer (400 for the request, 401
// invalid_client, 5xx when the store fails).
func (p *Provider) Token(ctx context.Context, cred ClientCredentials, form url.Values) (*TokenResponse, *Error) {
	v, perr := singleValues(form)
	if perr != nil {
		return nil, perr
	}
	app, perr := p.authenticateClient(ctx, cred, v)
	if perr != nil {
		return nil, perr
	}
	switch v["grant_type"] {
	case "authorization_code":
		return p.exchangeCode(ctx, app, v)
	case "refresh_token":
		return p.refresh(ctx, app, v)
	case "":
		return nil, oauthErr(ErrInvalidRequest, "grant_type is required.", 400)
	}
	return nil, oauthErr(ErrUnsupportedGrantType, "Only authorization_code and refresh_token are supported.", 400)
}

func invalidGrant(desc string) *Error { return oauthErr(ErrInvalidGrant, desc, 400) }

func (p *Provider) exchangeCode(ctx context.Context, app *deadbolt.Application, v map[string]string) (*TokenResponse, *Error) {
	code := v["code"]
	if code == "" {
		return nil, oauthErr(ErrInvalidRequest, "code is required.", 400)
	}
	if !wellFormedSecret(code) {
		return nil, invalidGrant("The code is not valid.")
	}
	h := hashSecret(code)
	rec, err := p.Store.Code(ctx, h)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, invalidGrant("The code is not valid.")
	}
	if err != nil {
		return nil, serverError(err)
	}
	c := rec.Code
	now := p.Clock.Now()
	switch {
	case rec.Grant.AppID != app.ID:
		return nil, invalidGrant("The code was issued to another client.")
	case v["redirect_uri"] != c.RedirectURI:
		return nil, invalidGrant("redirect_uri does not match the authorization request.")
	case c.CodeChallenge != "" && !VerifyPKCE(c.CodeChallenge, v["code_verifier"]):
		return nil, invalidGrant("code_verifier does not match the code_challenge.")
	case c.CodeChallenge == "" && v["code_verifier"] != "":
		return nil, invalidGrant("A code_verifier for a request without code_challenge.")
	case !now.Before(c.ExpiresAt) && c.UsedAt.IsZero():
		return nil, invalidGrant("The code has expired.")
	case !c.UsedAt.IsZero():
		// A second use: refused, and the chain of the first is revoked.
		if err := p.Store.RevokeChain(ctx, c.Hash, now); err != nil {
			return nil, serverError(err)
		}
		p.Logger.Warn("oidc: a code was used twice; its tokens are revoked", "app_id", app.ID, "grant_id", rec.Grant.ID)
		return nil, invalidGrant("The code was already used.")
	case !p.Signin.Live(rec.Session, rec.User):
		return nil, invalidGrant("The sign-in session behind the code has ended.")
	}
	scopes := strings.Fields(c.Scope)
	resp, tokens := p.newTokens(app, rec.Grant.ID, c.Hash, scopes, c.AuthTime, c.AMR, rec.Session.ExpiresAt, now)
	switch err := p.Store.RedeemCode(ctx, h, now, tokens); {
	case deadbolt.IsCode(err, deadbolt.CodeConflict):
		p.Logger.Warn("oidc: a code was used twice; its tokens are revoked", "app_id", app.ID, "grant_id", rec.Grant.ID)
		return nil, invalidGrant("The code was already used.")
	case deadbolt.IsCode(err, deadbolt.CodeNotFound):
		return nil, invalidGrant("The code is not valid.")
	case err != nil:
		return nil, serverError(err)
	}
	idt, err := p.idToken(ctx, app, rec.User, rec.Grant.SessionID, scopes, c.Nonce, c.AuthTime, c.AMR, resp.AccessToken, now)
	if err != nil {
		return nil, serverError(err)
	}
	resp.IDToken = idt
	return resp, nil
}

// newTokens makes an access token and, with offline_access, a refresh
// token (living until the session's absolute end) for a chain.
func (p *Provider) newTokens(app *deadbolt.Application, grantID string, chain []byte, scopes []string, authTime time.Time,
	amr []string, sessionEnd, now time.Time) (*TokenResponse, []*deadbolt.OAuthToken) {
	scope := strings.Join(scopes, " ")
	access, ah := newSecret()
	resp := &TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(AccessTokenLifetime / time.Second), Scope: scope}
	tokens := []*deadbolt.OAuthToken{{Hash: ah, Chain: chain, GrantID: grantID, Kind: deadbolt.TokenAccess, Scope: scope,
		AuthTime: authTime, AMR: amr, CreatedAt: now, ExpiresAt: now.Add(AccessTokenLifetime)}}
	if slices.Contains(scopes, ScopeOfflineAccess) {
		refresh, rh := newSecret()
		resp.RefreshToken = refresh
		tokens = append(tokens, &deadbolt.OAuthToken{Hash: rh, Chain: chain, GrantID: grantID, Kind: deadbolt.TokenRefresh,
			Scope: scope, AuthTime: authTime, AMR: amr, CreatedAt: now, ExpiresAt: sessionEnd})
	}
	return resp, tokens
}

// tokenValid reports whether a stored token still works: not expired, its
// chain not revoked, its session live.
func (p *Provider) tokenValid(rec *deadbolt.TokenRecord, now time.Time) bool {
	return now.Before(rec.Token.ExpiresAt) && !rec.ChainRevoked && p.Signin.Live(rec.Session, rec.User)
}

func (p *Provider) refresh(ctx context.Context, app *deadbolt.Application, v map[string]string) (*TokenResponse, *Error) {
	rt := v["refresh_token"]
	if rt == "" {
		return nil, oauthErr(ErrInvalidRequest, "refresh_token is required.", 400)
	}
	if !wellFormedSecret(rt) {
		return nil, invalidGrant("The refresh token is not valid.")
	}
	h := hashSecret(rt)
	rec, err := p.Store.Token(ctx, h)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, invalidGrant("The refresh token is not valid.")
	}
	if err != nil {
		return nil, serverError(err)
	}
	t := rec.Token
	now := p.Clock.Now()
	if t.Kind != deadbolt.TokenRefresh || rec.Grant.AppID != app.ID {
		return nil, invalidGrant("The refresh token is not valid.")
	}
	if !t.UsedAt.IsZero() {
		if err := p.Store.RevokeChain(ctx, t.Chain, now); err != nil {
			return nil, serverError(err)
		}
		p.Logger.Warn("oidc: a refresh token was used twice; its chain is revoked", "app_id", app.ID, "grant_id", rec.Grant.ID)
		return nil, invalidGrant("The refresh token was already used.")
	}
	if !p.tokenValid(rec, now) {
		return nil, invalidGrant("The refresh token is no longer valid: the sign-in session behind it has ended.")
	}
	scopes := strings.Fields(t.Scope)
	if s, ok := v["scope"]; ok {
		asked := strings.Fields(s)
		for _, x := range asked {
			if !slices.Contains(scopes, x) {
				return nil, oauthErr(ErrInvalidScope, "A refresh cannot widen the scope.", 400)
			}
		}
		if !slices.Contains(asked, ScopeOfflineAccess) {
			asked = append(asked, ScopeOfflineAccess) // the chain goes on
		}
		scopes = asked
	}
	ids, _, err := p.memberOf(ctx, rec.User.ID)
	if err != nil {
		return nil, serverError(err)
	}
	if verdict := apps.Access(app, rec.User, ids, t.AMR); verdict != apps.Admit {
		p.Apps.RecordAccess(ctx, app, rec.User.ID, "", "oidc_refresh", verdict)
		return nil, invalidGrant("The employee may no longer use this application.")
	}
	resp, tokens := p.newTokens(app, rec.Grant.ID, t.Chain, scopes, t.AuthTime, t.AMR, rec.Session.ExpiresAt, now)
	switch err := p.Store.RotateRefreshToken(ctx, h, now, tokens); {
	case deadbolt.IsCode(err, deadbolt.CodeConflict):
		p.Logger.Warn("oidc: a refresh token was used twice; its chain is revoked", "app_id", app.ID, "grant_id", rec.Grant.ID)
		return nil, invalidGrant("The refresh token was already used.")
	case deadbolt.IsCode(err, deadbolt.CodeNotFound):
		return nil, invalidGrant("The refresh token is not valid.")
	case err != nil:
		return nil, serverError(err)
	}
	if slices.Contains(scopes, ScopeOpenID) {
		idt, err := p.idToken(ctx, app, rec.User, rec.Grant.SessionID, scopes, "", t.AuthTime, t.AMR, resp.AccessToken, now)
		if err != nil {
			return nil, serverError(err)
		}
		resp.IDToken = idt
	}
	return resp, nil
}

// IDClaims are the registered claims of the ID tokens Deadbolt issues.
type IDClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	AuthTime  *jwt.NumericDate `json:"auth_time"`
	SessionID string           `json:"sid"`
}

// idToken signs the ID token of a grant: iss sub aud exp iat auth_time
// nonce sid amr acr at_hash, and the claims of the scopes.
func (p *Provider) idToken(ctx context.Context, app *deadbolt.Application, u *deadbolt.User, sid string, scopes []string,
	nonce string, authTime time.Time, amr []string, accessToken string, now time.Time) (string, error) {
	claims, err := p.userClaims(ctx, u, scopes)
	if err != nil {
		return "", err
	}
	claims["iss"] = p.Issuer
	claims["aud"] = app.ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(IDTokenLifetime).Unix()
	claims["auth_time"] = authTime.Unix()
	claims["sid"] = sid
	if len(amr) == 0 {
		amr = []string{deadbolt.AMRPassword}
	}
	claims["amr"] = amr
	claims["acr"] = apps.ACR(amr)
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	}
	return p.Keys.Sign(ctx, claims, "JWT")
}

// verifyIDToken checks that s is an ID token this provider signed (expired
// ones too: id_token_hint may be old) and returns its claims.
func (p *Provider) verifyIDToken(ctx context.Context, s string) (*IDClaims, error) {
	var c IDClaims
	if err := p.Keys.Verify(ctx, s, &c); err != nil {
		return nil, err
	}
	if c.Issuer != p.Issuer || c.Subject == "" || len(c.Audience) != 1 {
		return nil, errBadToken
	}
	return &c, nil
}

// UserInfo answers the userinfo endpoint for a bearer access token: the
// claims of the token's scopes. A missing, unknown, expired or revoked
// token, or one whose session ended, is invalid_token (401).
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (map[string]any, *Error) {
	bad := oauthErr(ErrInvalidToken, "The access token is not valid.", 401)
	if !wellFormedSecret(accessToken) {
		return nil, bad
	}
	rec, err := p.Store.Token(ctx, hashSecret(accessToken))
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, serverError(err)
	}
	if rec.Token.Kind != deadbolt.TokenAccess || !p.tokenValid(rec, p.Clock.Now()) {
		return nil, bad
	}
	scopes := strings.Fields(rec.Token.Scope)
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, oauthErr("insufficient_scope", "The access token lacks the openid scope.", 403)
	}
	claims, err := p.userClaims(ctx, rec.User, scopes)
	if err != nil {
		return nil, serverError(err)
	}
	return claims, nil
}

// Revoke answers the revocation endpoint (RFC 7009) for a confidential
// client: a refresh token revokes its whole chain, an access token itself.
// Unknown tokens, and tokens of other clients, are answered as revoked
// (nil) without effect.
func (p *Provider) Revoke(ctx context.Context, cred ClientCredentials, form url.Values) *Error {
	v, perr := singleValues(form)
	if perr != nil {
		return perr
	}
	app, perr := p.authenticateClient(ctx, cred, v)
	if perr != nil {
		return perr
	}
	if app.Public {
		return invalidClient("Revocation is for confidential clients.")
	}
	tok := v["token"]
	if tok == "" {
		return oauthErr(ErrInvalidRequest, "token is required.", 400)
	}
	if hint := v["token_type_hint"]; hint != "" && hint != "access_token" && hint != "refresh_token" {
		return oauthErr(ErrUnsupportedTokenType, "token_type_hint is access_token or refresh_token.", 400)
	}
	if !wellFormedSecret(tok) {
		return nil
	}
	rec, err := p.Store.Token(ctx, hashSecret(tok))
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil
	}
	if err != nil {
		return serverError(err)
	}
	if rec.Grant.AppID != app.ID {
		return nil
	}
	if rec.Token.Kind == deadbolt.TokenRefresh {
		err = p.Store.RevokeChain(ctx, rec.Token.Chain, p.Clock.Now())
	} else {
		err = p.Store.DeleteToken(ctx, rec.Token.Hash)
	}
	if err != nil {
		return serverError(err)
	}
	return nil
}

// Introspect answers the introspection endpoint (RFC 7662) for a
// confidential client, about its own tokens: {"active":false} for anything
// not currently valid or issued to another client.
func (p *Provider) Introspect(ctx context.Context, cred ClientCredentials, form url.Values) (map[string]any, *Error) {
	v, perr := singleValues(form)
	if perr != nil {
		return nil, perr
	}
	app, perr := p.authenticateClient(ctx, cred, v)
	if perr != nil {
		return nil, perr
	}
	if app.Public {
		return nil, invalidClient("Introspection is for confidential clients.")
	}
	tok := v["token"]
	if tok == "" {
		return nil, oauthErr(ErrInvalidRequest, "token is required.", 400)
	}
	inactive := map[string]any{"active": false}
	if !wellFormedSecret(tok) {
		return inactive, nil
	}
	rec, err := p.Store.Token(ctx, hashSecret(tok))
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return inactive, nil
	}
	if err != nil {
		return nil, serverError(err)
	}
	now := p.Clock.Now()
	t := rec.Token
	if rec.Grant.AppID != app.ID || !p.tokenValid(rec, now) || t.Kind == deadbolt.TokenRefresh && !t.UsedAt.IsZero() {
		return inactive, nil
	}
	typ := "access_token"
	if t.Kind == deadbolt.TokenRefresh {
		typ = "refresh_token"
	}
	return map[string]any{
		"active": true, "scope": t.Scope, "client_id": app.ClientID, "username": rec.User.Login,
		"token_type": "Bearer", "exp": t.ExpiresAt.Unix(), "iat": t.CreatedAt.Unix(), "sub": rec.User.ID,
		"aud": app.ClientID, "iss": p.Issuer, "sid": rec.Grant.SessionID, "auth_time": t.AuthTime.Unix(),
		"acr": apps.ACR(t.AMR), "token_use": typ,
	}, nil
}
