package deadbolt

import (
	"context"
	"time"
)

// Application kinds.
const (
	// AppOIDC is an app that signs employees in through OpenID Connect.
	AppOIDC = "oidc"
	// AppProxy is an app behind a reverse proxy that asks Deadbolt
	// (forward-auth) whether each request may pass.
	AppProxy = "proxy"
)

// Application is an app registered by an administrator: an OpenID Connect
// client or a proxy-protected app. It is plain data; the rules that read
// it (validation, who may enter) live in package apps.
type Application struct {
	ID   string
	Name string
	// Kind is AppOIDC or AppProxy.
	Kind string
	// ClientID is the OAuth client_id of an OIDC app, "" for a proxy app.
	ClientID string
	// SecretHash is the keyed hash of a confidential OIDC client's
	// secret; nil for public clients, proxy apps, and clients whose
	// secret was never set.
	SecretHash []byte
	// Public marks an OIDC client that cannot keep a secret (a native or
	// browser app): it authenticates with PKCE alone.
	Public bool
	// RedirectURIs are the OIDC redirect URIs, matched exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may return.
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI receives logout tokens; "" for none.
	BackchannelLogoutURI string
	// Domains are a proxy app's hosts: "host", "host/path-prefix" or
	// "*.example.com".
	Domains []string
	// Workgroups are the ids of the workgroups whose members may enter;
	// empty admits every active employee.
	Workgroups []string
	// Require2FA admits only sessions proven with a second factor.
	Require2FA bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// SecretSetAt is when the client secret was last set; zero if never.
	SecretSetAt time.Time
}

// ApplicationStore persists applications. It stores; it decides nothing.
type ApplicationStore interface {
	// CreateApplication inserts a (every field set by the caller). A name
	// whose FoldName equals another app's, or a taken ClientID, is
	// CodeConflict; a workgroup id that does not exist is
	// CodeInvalidInput.
	CreateApplication(ctx context.Context, a *Application) error
	// Application returns the app with id.
	Application(ctx context.Context, id string) (*Application, error)
	// ApplicationByClientID returns the OIDC app with clientID.
	ApplicationByClientID(ctx context.Context, clientID string) (*Application, error)
	// ListApplications lists every app by FoldName of the name.
	ListApplications(ctx context.Context) ([]*Application, error)
	// UpdateApplication replaces every field of the app a.ID except ID,
	// Kind, ClientID, CreatedAt, SecretHash and SecretSetAt, its
	// workgroups included, in one transaction. Errors as
	// CreateApplication; a missing app is CodeNotFound.
	UpdateApplication(ctx context.Context, a *Application) error
	// SetApplicationSecret replaces the app's secret hash (nil clears
	// it) and records at as SecretSetAt.
	SetApplicationSecret(ctx context.Context, id string, hash []byte, at time.Time) error
	// DeleteApplication deletes the app and everything issued to it.
	DeleteApplication(ctx context.Context, id string) error
}

// Authentication method references (RFC 8176) recorded on sessions: what
// was proven to open or renew them.
const (
	AMRPassword    = "pwd"  // the password
	AMROTP         = "otp"  // a TOTP code or a recovery code
	AMRSMS         = "sms"  // a code sent by SMS
	AMRSoftwareKey = "swk"  // a push approved with the trusted device's key
	AMRHardwareKey = "hwk"  // a passkey
	AMRUser        = "user" // the authenticator verified the user (passkey UV)
	AMRMultiFactor = "mfa"  // two factors were proven
)
