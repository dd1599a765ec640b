package deadbolt

import (
	"context"
	"time"
)

// SigningKey is one of the OpenID Connect provider's ES256 keys, shared by
// every node through the store.
type SigningKey struct {
	// ID is the key id (kid) in tokens and the JWKS.
	ID string
	// PrivateSealed is the PKCS #8 private key sealed with the master key.
	PrivateSealed []byte
	CreatedAt     time.Time
	// RetiredAt is when a newer key replaced this one for signing; zero
	// for the current key. A retired key stays in the JWKS until the
	// tokens it signed have expired.
	RetiredAt time.Time
}

// AuthRequest is an OpenID Connect authorization request waiting for the
// employee to sign in, step up or set up a second factor. Pages refer to
// it by ID, so its parameters never travel in a cookie.
type AuthRequest struct {
	ID    string
	AppID string
	// Params is the validated request, encoded by package oidc.
	Params    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Grant ties an application to the SSO session it obtained a code from:
// the tokens of the grant live only as long as the session, and when the
// session ends the application is told through back-channel logout.
type Grant struct {
	ID        string
	SessionID string
	UserID    string
	AppID     string
	CreatedAt time.Time
	// TokensIssued is set once a code of the grant was exchanged: only
	// then did the app have tokens, and only then is it told of the
	// session's end.
	TokensIssued bool

	// Back-channel logout delivery.
	LogoutAttempts int
	// LogoutFirstAt is the first attempt; retries stop an hour after it.
	LogoutFirstAt time.Time
	// LogoutNextAt is the earliest next attempt; zero for at once.
	LogoutNextAt time.Time
	// LogoutDoneAt is when delivery succeeded or was given up.
	LogoutDoneAt time.Time
	// LogoutFailed is set when delivery was given up.
	LogoutFailed bool
	// LogoutError is the last failure, for the console.
	LogoutError string
}

// AuthCode is an authorization code, stored under the SHA-256 of its value.
// Its Hash also names the chain of tokens its exchange starts: revoking the
// code's chain kills every token that descends from it.
type AuthCode struct {
	Hash          []byte
	GrantID       string
	RedirectURI   string
	Scope         string
	Nonce         string
	CodeChallenge string
	// AuthTime and AMR are how the session was proven when the code was
	// issued.
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	// RevokedAt is set when the chain was revoked (a code or refresh
	// token used twice, a revocation request).
	RevokedAt time.Time
}

// Token kinds.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// OAuthToken is an access or refresh token, stored under the SHA-256 of
// its value.
type OAuthToken struct {
	Hash []byte
	// Chain is the Hash of the code whose exchange started the chain.
	Chain     []byte
	GrantID   string
	Kind      string
	Scope     string
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is set once a refresh token was exchanged for new ones.
	UsedAt time.Time
}

// CodeRecord is a code with its grant and the SSO session and employee
// behind it (Session nil once the session is gone).
type CodeRecord struct {
	Code    *AuthCode
	Grant   *Grant
	Session *Session
	User    *User
}

// TokenRecord is a token with everything that decides whether it is still
// good: its grant, whether its chain was revoked, and the SSO session and
// employee behind it (Session nil once the session is gone).
type TokenRecord struct {
	Token        *OAuthToken
	Grant        *Grant
	ChainRevoked bool
	Session      *Session
	User         *User
}

// OIDCStore persists the OpenID Connect provider's keys, pending requests,
// codes, tokens and grants. It stores; it decides nothing — but every
// single use (a code, a refresh token, a delivery claim) is one atomic
// statement.
type OIDCStore interface {
	// SigningKeys lists every key, newest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// AddFirstSigningKey stores k only if no key was ever stored, so that
	// nodes starting at once agree on one; it reports whether k was
	// stored.
	AddFirstSigningKey(ctx context.Context, k *SigningKey) (bool, error)
	// RotateSigningKey stores k and marks every other current key retired
	// at k.CreatedAt, in one transaction.
	RotateSigningKey(ctx context.Context, k *SigningKey) error
	// DeleteSigningKeys deletes keys retired before before, and returns
	// how many.
	DeleteSigningKeys(ctx context.Context, before time.Time) (int64, error)

	// SaveAuthRequest stores a pending authorization request.
	SaveAuthRequest(ctx context.Context, r *AuthRequest) error
	// AuthRequest returns the pending request id (expired ones too: the
	// caller checks).
	AuthRequest(ctx context.Context, id string) (*AuthRequest, error)
	// ConsumeAuthRequest deletes the request id and reports whether it was
	// there, in one statement: a request is answered once.
	ConsumeAuthRequest(ctx context.Context, id string) (bool, error)

	// IssueCode stores c under the grant of (g.SessionID, g.AppID),
	// creating the grant from g when there is none, in one transaction;
	// it returns the grant's id (also set in c.GrantID).
	IssueCode(ctx context.Context, g *Grant, c *AuthCode) (string, error)
	// Code returns the code with hash, its grant, session and employee.
	Code(ctx context.Context, hash []byte) (*CodeRecord, error)
	// RedeemCode marks the unused, unexpired, unrevoked code with hash
	// used, marks its grant as having tokens and stores tokens, in one
	// transaction. A code used before is CodeConflict — and its chain is
	// revoked by the same call, so the tokens of the first use die; an
	// unknown, expired or revoked code is CodeNotFound.
	RedeemCode(ctx context.Context, hash []byte, now time.Time, tokens []*OAuthToken) error
	// Token returns the token with hash and what decides its validity.
	Token(ctx context.Context, hash []byte) (*TokenRecord, error)
	// RotateRefreshToken marks the unused refresh token with hash used and
	// stores tokens (its successors), in one transaction. A refresh token
	// used before is CodeConflict, and its whole chain is revoked by the
	// same call; an unknown one is CodeNotFound.
	RotateRefreshToken(ctx context.Context, hash []byte, now time.Time, tokens []*OAuthToken) error
	// RevokeChain revokes the chain started by the code with hash.
	RevokeChain(ctx context.Context, chain []byte, now time.Time) error
	// DeleteToken deletes one token; a missing one is not an error.
	DeleteToken(ctx context.Context, hash []byte) error

	// EndedGrants lists up to limit grants owing a back-channel logout
	// now: their app has a back-channel logout URI, they issued tokens,
	// delivery is neither done nor claimed nor waiting for a retry, and
	// their session ended — it is gone, past its absolute expiry at now,
	// idle since before idleBefore, from an older session epoch, or its
	// employee is deactivated.
	EndedGrants(ctx context.Context, now, idleBefore time.Time, limit int) ([]*Grant, error)
	// ClaimLogout claims the delivery of grantID's logout until until, in
	// one atomic statement, counting an attempt; it reports false when
	// another claim holds, the delivery is done, or a retry is not due.
	ClaimLogout(ctx context.Context, grantID string, now, until time.Time) (*Grant, bool, error)
	// FinishLogout records the outcome of a claimed delivery: done (ok or
	// given up, with giveUp) or to retry at next, with errText for the
	// console.
	FinishLogout(ctx context.Context, grantID string, now time.Time, ok, giveUp bool, next time.Time, errText string) error
	// LogoutFailures lists the grants of appID ("" for every app) whose
	// delivery failed at least once, most recent first, up to limit.
	LogoutFailures(ctx context.Context, appID string, limit int) ([]*Grant, error)
	// SweepOIDC deletes expired pending requests, grants whose session
	// ended with nothing left to deliver (done before doneBefore, or never
	// owing a logout), and the codes and tokens that go with them; it
	// returns how many grants went.
	SweepOIDC(ctx context.Context, now, idleBefore, doneBefore time.Time) (int64, error)
}
