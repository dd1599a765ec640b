package oidc

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// OAuth 2.0 and OpenID Connect error codes.
const (
	ErrInvalidRequest          = "invalid_request"
	ErrInvalidClient           = "invalid_client"
	ErrInvalidGrant            = "invalid_grant"
	ErrUnauthorizedClient      = "unauthorized_client"
	ErrUnsupportedGrantType    = "unsupported_grant_type"
	ErrUnsupportedResponseType = "unsupported_response_type"
	ErrInvalidScope            = "invalid_scope"
	ErrAccessDenied            = "access_denied"
	ErrServerError             = "server_error"
	ErrTemporarilyUnavailable  = "temporarily_unavailable"
	ErrLoginRequired           = "login_required"
	ErrInteractionRequired     = "interaction_required"
	ErrRequestNotSupported     = "request_not_supported"
	ErrRequestURINotSupported  = "request_uri_not_supported"
	ErrInvalidToken            = "invalid_token"
	ErrUnsupportedTokenType    = "unsupported_token_type"
)

// Error is an OAuth error: Code is the protocol's error code, Description
// a sentence for developers (never a secret), Status the HTTP status of a
// direct answer (token, userinfo, revocation and introspection endpoints).
type Error struct {
	Code        string
	Description string
	Status      int
	// Cause is internal detail for logs.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Description + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Description
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

func oauthErr(code, desc string, status int) *Error {
	return &Error{Code: code, Description: desc, Status: status}
}

// Scopes the provider knows; others are ignored, as OpenID Connect allows.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeGroups        = "groups"
	ScopeOfflineAccess = "offline_access"
)

var knownScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeGroups, ScopeOfflineAccess}

// Limits on request parameters.
const (
	maxParamLen   = 2048
	maxStateLen   = 2048
	maxNonceLen   = 512
	maxParams     = 64
	verifierMin   = 43
	verifierMax   = 128
	challengeS256 = 43 // base64url of a SHA-256
)

// singleValues checks that no parameter appears twice (RFC 6749 §3.1) and
// that every value is valid UTF-8 of bounded length, and flattens them.
func singleValues(q url.Values) (map[string]string, *Error) {
	if len(q) > maxParams {
		return nil, oauthErr(ErrInvalidRequest, "Too many parameters.", 400)
	}
	out := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, oauthErr(ErrInvalidRequest, "The parameter "+strconv.Quote(truncate(k, 40))+" appears more than once.", 400)
		}
		v := vs[0]
		if len(k) > 64 || len(v) > maxParamLen || !utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, oauthErr(ErrInvalidRequest, "The parameter "+strconv.Quote(truncate(k, 40))+" is too long or not valid text.", 400)
		}
		out[k] = v
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AuthParams is a validated authorization request.
type AuthParams struct {
	ClientID      string   `json:"client_id"`
	RedirectURI   string   `json:"redirect_uri"`
	Scopes        []string `json:"scopes"`
	State         string   `json:"state,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	CodeChallenge string   `json:"code_challenge,omitempty"`
	// Prompt holds "login", "none", "consent" or "select_account".
	Prompt []string `json:"prompt,omitempty"`
	// MaxAge is the max_age in seconds; -1 when absent.
	MaxAge int64 `json:"max_age"`
	// ACRValues are the requested ACR values Deadbolt knows, in order.
	ACRValues []string `json:"acr_values,omitempty"`
	// HintSubject is the sub of a valid id_token_hint, "" for none.
	HintSubject string `json:"hint_subject,omitempty"`
}

// HasPrompt reports whether the request asked for prompt p.
func (p *AuthParams) HasPrompt(v string) bool { return slices.Contains(p.Prompt, v) }

// HasScope reports whether the request asked for scope s.
func (p *AuthParams) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// ClientAndRedirect reads the two parameters that decide where errors can
// be sent: client_id and redirect_uri. Until both are known good, errors
// are shown to the person, never redirected.
func ClientAndRedirect(q url.Values) (clientID, redirectURI string, err *Error) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		if vs := q[name]; len(vs) != 1 || vs[0] == "" || len(vs[0]) > maxParamLen || !utf8.ValidString(vs[0]) {
			return "", "", oauthErr(ErrInvalidRequest, "The request needs exactly one "+name+".", 400)
		}
	}
	return q.Get("client_id"), q.Get("redirect_uri"), nil
}

// ParseAuthorize validates an authorization request's parameters once its
// client and redirect URI are known good (ClientAndRedirect): only
// response_type=code; the openid scope; PKCE with S256 only (required of
// public clients; "plain" refused); prompt, max_age and acr_values well
// formed; no request objects. It is a pure function, safe for concurrent
// use; the *Error it returns is to be sent back to the redirect URI.
func ParseAuthorize(q url.Values, public bool) (*AuthParams, *Error) {
	v, err := singleValues(q)
	if err != nil {
		return nil, err
	}
	p := &AuthParams{ClientID: v["client_id"], RedirectURI: v["redirect_uri"], State: v["state"], MaxAge: -1}
	if len(p.State) > maxStateLen {
		return nil, oauthErr(ErrInvalidRequest, "state is too long.", 400)
	}
	if _, ok := v["request"]; ok {
		return nil, oauthErr(ErrRequestNotSupported, "Request objects are not supported.", 400)
	}
	if _, ok := v["request_uri"]; ok {
		return nil, oauthErr(ErrRequestURINotSupported, "request_uri is not supported.", 400)
	}
	switch rt, ok := v["response_type"]; {
	case !ok:
		return nil, oauthErr(ErrInvalidRequest, "response_type is required.", 400)
	case rt != "code":
		return nil, oauthErr(ErrUnsupportedResponseType, "Only response_type=code is supported.", 400)
	}
	if rm, ok := v["response_mode"]; ok && rm != "query" {
		return nil, oauthErr(ErrInvalidRequest, "Only response_mode=query is supported.", 400)
	}
	seen := map[string]bool{}
	for _, s := range strings.Fields(v["scope"]) {
		if slices.Contains(knownScopes, s) && !seen[s] {
			seen[s] = true
			p.Scopes = append(p.Scopes, s)
		}
	}
	if !seen[ScopeOpenID] {
		return nil, oauthErr(ErrInvalidScope, "The openid scope is required.", 400)
	}
	if n, ok := v["nonce"]; ok {
		if n == "" || len(n) > maxNonceLen {
			return nil, oauthErr(ErrInvalidRequest, "nonce must be 1 to 512 characters.", 400)
		}
		p.Nonce = n
	}
	method, hasMethod := v["code_challenge_method"]
	challenge, hasChallenge := v["code_challenge"]
	switch {
	case hasChallenge && (!hasMethod || method != "S256"):
		// Absent means "plain" (RFC 7636 §4.3), which is refused.
		return nil, oauthErr(ErrInvalidRequest, "code_challenge_method must be S256.", 400)
	case hasMethod && !hasChallenge:
		return nil, oauthErr(ErrInvalidRequest, "code_challenge_method without code_challenge.", 400)
	case hasChallenge:
		if !validChallenge(challenge) {
			return nil, oauthErr(ErrInvalidRequest, "code_challenge must be the 43-character base64url SHA-256 of the verifier.", 400)
		}
		p.CodeChallenge = challenge
	case public:
		return nil, oauthErr(ErrInvalidRequest, "Public clients must use PKCE (code_challenge with S256).", 400)
	}
	if pr, ok := v["prompt"]; ok {
		for _, x := range strings.Fields(pr) {
			switch x {
			case "none", "login", "consent", "select_account":
				if !slices.Contains(p.Prompt, x) {
					p.Prompt = append(p.Prompt, x)
				}
			default:
				return nil, oauthErr(ErrInvalidRequest, "prompt must be none, login, consent or select_account.", 400)
			}
		}
		if p.HasPrompt("none") && len(p.Prompt) > 1 {
			return nil, oauthErr(ErrInvalidRequest, "prompt=none cannot be combined with other values.", 400)
		}
	}
	if ma, ok := v["max_age"]; ok {
		n, err := strconv.ParseInt(ma, 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			return nil, oauthErr(ErrInvalidRequest, "max_age must be a non-negative number of seconds.", 400)
		}
		p.MaxAge = n
	}
	for _, a := range strings.Fields(v["acr_values"]) {
		if acrKnown(a) && !slices.Contains(p.ACRValues, a) {
			p.ACRValues = append(p.ACRValues, a)
		}
	}
	return p, nil
}

// validChallenge reports whether c is a base64url SHA-256: 43 characters
// of the unpadded base64url alphabet.
func validChallenge(c string) bool {
	if len(c) != challengeS256 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// validVerifier reports whether v is a PKCE code verifier: 43 to 128
// unreserved characters (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < verifierMin || len(v) > verifierMax {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// VerifyPKCE reports whether verifier matches an S256 challenge, comparing
// in constant time. It is safe for concurrent use.
func VerifyPKCE(challenge, verifier string) bool {
	if !validVerifier(verifier) || !validChallenge(challenge) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// RedirectWith returns redirectURI with the parameters added to its query
// (keeping those it has), as RFC 6749 §4.1.2 requires.
func RedirectWith(redirectURI string, params url.Values) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return redirectURI
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
