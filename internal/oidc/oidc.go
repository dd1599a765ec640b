// Package oidc is Deadbolt's OpenID Connect provider: the protocol
// decisions of the authorization code flow with PKCE, the token endpoint
// (codes, refresh token rotation with reuse detection), userinfo, token
// revocation (RFC 7009) and introspection (RFC 7662), RP-initiated logout,
// and Back-Channel Logout 1.0 deliveries. It knows no SQL: it speaks to the
// store through deadbolt's interfaces; the HTTP handlers in package web
// only translate requests into these calls.
//
// It is written over go-jose (JWS and JWK) rather than a provider
// framework. The framework the project first looked at has no
// Back-Channel Logout, accepts the "plain" PKCE method and compares
// challenges with ==, accepts any port on loopback redirect URIs, puts no
// iss in the authorization response (RFC 9207) and no sid in ID tokens,
// and its storage interface would have to be bent for code-reuse
// revocation and refresh-chain reuse detection. Here each of those is a
// rule of this package: S256 only, compared in constant time; exact
// redirect URI match, ports included; iss in every authorization response;
// sid, amr and acr from how the SSO session was proven; a code or refresh
// token used twice revokes its whole chain (one atomic statement in the
// store decides which use came first).
//
// Every token lives no longer than the SSO session it came from: when the
// session ends — logout, log out of all devices, password change,
// deactivation, 2FA reset, or its lifetime — its tokens stop working and
// each application that had tokens and has a back-channel logout URI is
// sent a signed logout token by the Backchannel worker, which any node may
// run: one atomic claim per delivery decides which node sends it.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// Lifetimes of what the provider issues.
const (
	CodeLifetime        = 60 * time.Second
	AccessTokenLifetime = 10 * time.Minute
	IDTokenLifetime     = time.Hour
	// RequestLifetime is how long a sign-in may take before the pending
	// authorization request lapses.
	RequestLifetime   = 15 * time.Minute
	logoutTokenExpiry = 2 * time.Minute
)

// Store is the persistence the provider needs.
type Store interface {
	deadbolt.OIDCStore
	// UserWorkgroups gives the groups claim and the access rule's
	// membership.
	UserWorkgroups(ctx context.Context, userID string) ([]*deadbolt.Workgroup, error)
	UserByID(ctx context.Context, id string) (*deadbolt.User, error)
	Application(ctx context.Context, id string) (*deadbolt.Application, error)
}

// Config assembles a provider.
type Config struct {
	// Issuer is the public URL, without a trailing slash.
	Issuer string
	Store  Store
	Keys   *KeyRing
	Apps   *apps.Service
	// Signin decides whether the SSO session behind a code or token still
	// counts as signed in.
	Signin *signin.Service
	Clock  deadbolt.Clock
	Logger *slog.Logger
}

// Provider is the OpenID Connect provider. It is safe for concurrent use.
type Provider struct {
	Config
	issuer *url.URL
}

// New returns a provider. Config.Issuer must be an absolute http(s) URL.
func New(c Config) (*Provider, error) {
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("oidc: the issuer must be an absolute http(s) URL without query or fragment")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Provider{Config: c, issuer: u}, nil
}

// Endpoint paths, served at the issuer's root.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathAuthorize  = "/oidc/authorize"
	PathContinue   = "/oidc/continue"
	PathToken      = "/oidc/token"
	PathUserInfo   = "/oidc/userinfo"
	PathJWKS       = "/oidc/jwks"
	PathRevoke     = "/oidc/revoke"
	PathIntrospect = "/oidc/introspect"
	PathLogout     = "/oidc/logout"
)

// Discovery returns the provider metadata of OpenID Connect Discovery 1.0.
func (p *Provider) Discovery() map[string]any {
	e := func(path string) string { return p.Issuer + path }
	return map[string]any{
		"issuer":                                e(""),
		"authorization_endpoint":                e(PathAuthorize),
		"token_endpoint":                        e(PathToken),
		"userinfo_endpoint":                     e(PathUserInfo),
		"jwks_uri":                              e(PathJWKS),
		"revocation_endpoint":                   e(PathRevoke),
		"introspection_endpoint":                e(PathIntrospect),
		"end_session_endpoint":                  e(PathLogout),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      knownScopes,
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "acr",
			"at_hash", "name", "preferred_username", "email", "email_verified", "groups"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":               []string{"S256"},
		"acr_values_supported":                           []string{apps.ACRPassword, apps.ACRMultiFactor, apps.ACRPhishingResistant},
		"prompt_values_supported":                        []string{"none", "login", "consent", "select_account"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"authorization_response_iss_parameter_supported": true,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"frontchannel_logout_supported":                  false,
	}
}

func acrKnown(a string) bool { return apps.KnownACR(a) }

// newSecret returns a 256-bit random value (base64url) and its SHA-256:
// codes, access and refresh tokens are kept only as the hash.
func newSecret() (string, []byte) {
	var b [32]byte
	rand.Read(b[:])
	s := base64.RawURLEncoding.EncodeToString(b[:])
	return s, hashSecret(s)
}

// hashSecret hashes a presented code or token; junk hashes to a value no
// row holds.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// wellFormedSecret reports whether s can be a code or token of ours, so
// junk never reaches the store.
func wellFormedSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// memberOf lists the ids and names of an employee's workgroups.
func (p *Provider) memberOf(ctx context.Context, userID string) (ids, names []string, err error) {
	list, err := p.Store.UserWorkgroups(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	ids, names = []string{}, []string{}
	for _, w := range list {
		ids = append(ids, w.ID)
		names = append(names, w.Name)
	}
	return ids, names, nil
}

// userClaims are the claims of the scopes granted: profile (name,
// preferred_username), email (email, email_verified: addresses are set by
// administrators) and groups (workgroup names).
func (p *Provider) userClaims(ctx context.Context, u *deadbolt.User, scopes []string) (map[string]any, error) {
	m := map[string]any{"sub": u.ID}
	has := func(s string) bool {
		for _, x := range scopes {
			if x == s {
				return true
			}
		}
		return false
	}
	if has(ScopeProfile) {
		m["preferred_username"] = u.Login
		m["name"] = u.Name
		if u.Name == "" {
			m["name"] = u.Login
		}
	}
	if has(ScopeEmail) && u.Email != "" {
		m["email"] = u.Email
		m["email_verified"] = true
	}
	if has(ScopeGroups) {
		_, names, err := p.memberOf(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		m["groups"] = names
	}
	return m, nil
}

func serverError(err error) *Error {
	if deadbolt.IsCode(err, deadbolt.CodeUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Code: ErrTemporarilyUnavailable, Description: "The service is busy. Try again.", Status: 503, Cause: err}
	}
	return &Error{Code: ErrServerError, Description: "An internal error occurred.", Status: 500, Cause: err}
}
