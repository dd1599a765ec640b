// Package passkey runs Deadbolt's WebAuthn ceremonies (SPEC §14) over
// github.com/go-webauthn/webauthn: registering an employee's passkeys,
// and checking the assertions that prove a second factor, a fresh proof,
// or a whole sign-in without a login. The relying party is the public URL:
// its host is the RP ID, its scheme, host and port the one origin accepted.
//
// The server's half of each ceremony (the challenge and what the check
// needs) is kept in the store, so any node finishes what another began; a
// challenge works once — used up by one atomic statement before the
// response is checked — and for five minutes. User verification is
// preferred, and what the authenticator reported is returned for the
// caller to weigh. Sign counters only move forward: a counter that did not
// is refused. The package knows nothing of HTTP or SQL (the library reads
// the JSON the browser sent, nothing else).
package passkey

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
)

// Defaults (SPEC §14).
const (
	// MaxPerEmployee is how many passkeys one employee may register.
	MaxPerEmployee = 10
	// ChallengeTTL is how long a ceremony's challenge works.
	ChallengeTTL = 5 * time.Minute
	// MaxNameLen is the longest passkey name, in characters.
	MaxNameLen = 64
	// maxCredential bounds the client JSON of one credential.
	maxCredential = 32 << 10
)

// Purposes bind a challenge to what it may prove.

// PurposeRegister is a registration started by session sessionID.
func PurposeRegister(sessionID string) string { return "register:" + sessionID }

// PurposeLogin is the second factor of the pending sign-in sessionID.
func PurposeLogin(sessionID string) string { return "login:" + sessionID }

// PurposeReauth is a fresh proof for session sessionID.
func PurposeReauth(sessionID string) string { return "reauth:" + sessionID }

// PurposeDiscover is a sign-in without a login (a discoverable
// credential names its employee).
const PurposeDiscover = "discover"

// Store is the persistence the ceremonies need.
type Store interface {
	deadbolt.PasskeyStore
	// ChangeFactors adds and removes passkeys (FactorChange).
	ChangeFactors(ctx context.Context, c *deadbolt.FactorChange) (deadbolt.FactorChangeResult, error)
}

// Config names the relying party.
type Config struct {
	// PublicURL is the address employees reach the server at: its host is
	// the RP ID, and its origin the only one accepted. With an IP address
	// (or no URL) passkeys are off.
	PublicURL *url.URL
	// DisplayName is the relying party's name authenticators show.
	DisplayName string
}

// Service runs the ceremonies. It is safe for concurrent use.
type Service struct {
	store Store
	audit *audit.Log
	clock deadbolt.Clock
	wa    *webauthn.WebAuthn // nil while passkeys are off
	off   error              // why they are off
	rpID  string

	// RemovalRule, if set, gives the rule a removal of one of userID's
	// passkeys must pass, decided in the removal's own transaction (the
	// workgroups' refusal to leave no administrator able to sign in).
	RemovalRule func(userID string) deadbolt.AdminRule
}

// New returns the passkey service for cfg. With a public URL whose host is
// an IP address, or none, it returns a service whose every ceremony
// answers CodePasskeysUnavailable (Available says why); any other
// unusable relying party is an error.
func New(store Store, audit *audit.Log, clock deadbolt.Clock, cfg Config) (*Service, error) {
	s := &Service{store: store, audit: audit, clock: clock}
	u := cfg.PublicURL
	if u == nil || u.Hostname() == "" {
		s.off = deadbolt.Errorf(deadbolt.CodePasskeysUnavailable, "Passkeys are off: the server has no public address.")
		return s, nil
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		s.off = deadbolt.Errorf(deadbolt.CodePasskeysUnavailable,
			"Passkeys are off: this server's public address %s is an IP address, and passkeys need a domain name. "+
				"An administrator can set --public-url to a name such as https://sso.example.com (or http://localhost:%s on this machine).",
			u.Scheme+"://"+u.Host, portOr(u, "8080"))
		return s, nil
	}
	name := cfg.DisplayName
	if name == "" {
		name = "Deadbolt"
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  host,
		RPDisplayName:         name,
		RPOrigins:             []string{u.Scheme + "://" + strings.ToLower(u.Host)},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: relying party %q: %w", host, err)
	}
	s.wa, s.rpID = wa, host
	return s, nil
}

func portOr(u *url.URL, def string) string {
	if p := u.Port(); p != "" {
		return p
	}
	return def
}

// Available returns nil while passkeys work, and otherwise the
// CodePasskeysUnavailable error saying why they are off.
func (s *Service) Available() error { return s.off }

// RPID returns the relying party id ("" while passkeys are off).
func (s *Service) RPID() string { return s.rpID }

// employee is the library's view of an employee: the user handle is the
// employee's id (random, no personal data), the name the login.
type employee struct {
	u     *deadbolt.User
	creds []webauthn.Credential
}

func (e employee) WebAuthnID() []byte                         { return []byte(e.u.ID) }
func (e employee) WebAuthnName() string                       { return e.u.Login }
func (e employee) WebAuthnCredentials() []webauthn.Credential { return e.creds }
func (e employee) WebAuthnDisplayName() string {
	if e.u.Name != "" {
		return e.u.Name
	}
	return e.u.Login
}

// credential is the library's credential record of a stored passkey.
func credential(p *deadbolt.Passkey) webauthn.Credential {
	var flags protocol.AuthenticatorFlags = protocol.FlagUserPresent
	if p.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, 0, len(p.Transports))
	for _, t := range p.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat,
		Transport: transports, Flags: webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: uint32(p.SignCount)}}
}

func (s *Service) employee(ctx context.Context, u *deadbolt.User) (employee, []*deadbolt.Passkey, error) {
	list, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return employee{}, nil, err
	}
	e := employee{u: u}
	for _, p := range list {
		e.creds = append(e.creds, credential(p))
	}
	return e, list, nil
}

// Sweep deletes the challenges that have expired (used or not): nothing
// can use them any more, and a ceremony begun without a session must not
// leave its row behind for good.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	return s.store.DeleteExpiredPasskeyChallenges(ctx, s.clock.Now())
}

// List returns the employee's passkeys, oldest first.
func (s *Service) List(ctx context.Context, u *deadbolt.User) ([]*deadbolt.Passkey, error) {
	return s.store.Passkeys(ctx, u.ID)
}

// save keeps the server's half of a ceremony for ChallengeTTL.
func (s *Service) save(ctx context.Context, purpose, userID string, sd *webauthn.SessionData) (string, error) {
	ceremony, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	c := &deadbolt.PasskeyChallenge{ID: deadbolt.NewID(), Challenge: sd.Challenge, Purpose: purpose, UserID: userID,
		Ceremony: ceremony, CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL)}
	if err := s.store.SavePasskeyChallenge(ctx, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

// consume uses up the live challenge of purpose that the client data
// names, and returns the ceremony it began; nil (and no error) when there
// is none: unknown, expired, used, or another purpose's.
func (s *Service) consume(ctx context.Context, purpose, challenge string) (*deadbolt.PasskeyChallenge, *webauthn.SessionData, error) {
	if challenge == "" || len(challenge) > 256 {
		return nil, nil, nil
	}
	c, err := s.store.ConsumePasskeyChallenge(ctx, challenge, purpose, s.clock.Now())
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Ceremony, &sd); err != nil {
		return nil, nil, fmt.Errorf("passkey: stored ceremony: %w", err)
	}
	return c, &sd, nil
}

// options renders a ceremony's options as the JSON the browser passes to
// PublicKeyCredential.parseCreationOptionsFromJSON or
// parseRequestOptionsFromJSON: {"publicKey":{…}}.
func options(v any) ([]byte, error) { return json.Marshal(v) }

// RegistrationOptions begins registering a passkey for u in the ceremony
// purpose (PurposeRegister of the session asking): it answers the creation
// options, excluding the passkeys u has. The caller checks the fresh
// proof. CodePasskeysUnavailable while passkeys are off; CodeLimitReached
// when u has MaxPerEmployee passkeys already.
func (s *Service) RegistrationOptions(ctx context.Context, u *deadbolt.User, purpose string) ([]byte, error) {
	if s.off != nil {
		return nil, s.off
	}
	e, list, err := s.employee(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(list) >= MaxPerEmployee {
		return nil, limitReached()
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(e.creds))
	for _, c := range e.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := s.wa.BeginRegistration(e, webauthn.WithExclusions(exclude),
		webauthn.WithCredentialParameters(webauthn.CredentialParametersRecommendedL3()))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	if _, err := s.save(ctx, purpose, u.ID, sd); err != nil {
		return nil, err
	}
	return options(creation)
}

func limitReached() error {
	return deadbolt.Errorf(deadbolt.CodeLimitReached, "You have %d passkeys, the most one employee may have. Remove one first.", MaxPerEmployee)
}

// CleanName checks a passkey name: 1 to MaxNameLen characters of valid
// UTF-8 without control characters, trimmed. Anything else is
// CodeInvalidInput. It is safe for concurrent use.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		e := deadbolt.Errorf(deadbolt.CodeInvalidInput, "Name the passkey: 1 to %d characters, without control characters.", MaxNameLen)
		e.Extra = map[string]any{"field": "name"}
		return "", e
	}
	return name, nil
}

// invalidCredential is the answer to a registration that cannot be
// accepted; detail stays in the logs.
func invalidCredential(msg string, cause error) error {
	return &deadbolt.Error{Code: deadbolt.CodeInvalidInput, Message: msg, Extra: map[string]any{"field": "credential"}, Err: cause}
}

// clientChallenge reads the challenge the client data of a parsed
// response names.
func clientChallenge(cd protocol.CollectedClientData) string { return cd.Challenge }

// Register finishes a registration of purpose with the browser's
// PublicKeyCredential JSON and stores the passkey as name — in one factor
// change that also turns the second factor on, records the audit event
// and tells the trusted device. The challenge is used up first, whatever
// follows. Errors: CodePasskeysUnavailable; CodeInvalidInput for a bad
// name, a credential that does not parse or verify (wrong origin or RP
// ID, a challenge unknown, expired or used, …); CodeConflict for a
// passkey registered already; CodeLimitReached past MaxPerEmployee.
func (s *Service) Register(ctx context.Context, u *deadbolt.User, purpose, name string, credentialJSON []byte, ip string) (*deadbolt.Passkey, error) {
	if s.off != nil {
		return nil, s.off
	}
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	if len(credentialJSON) > maxCredential {
		return nil, invalidCredential("The passkey response is too large.", nil)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credentialJSON)
	if err != nil {
		return nil, invalidCredential("The passkey response could not be read.", err)
	}
	_, sd, err := s.consume(ctx, purpose, clientChallenge(parsed.Response.CollectedClientData))
	if err != nil {
		return nil, err
	}
	if sd == nil {
		return nil, invalidCredential("This passkey request has expired or was used. Start again.", nil)
	}
	e, list, err := s.employee(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(list) >= MaxPerEmployee {
		return nil, limitReached()
	}
	cred, err := s.wa.CreateCredential(e, *sd, parsed)
	if err != nil {
		return nil, invalidCredential("The passkey could not be verified. Try again.", err)
	}
	now := s.clock.Now()
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	p := &deadbolt.Passkey{ID: deadbolt.NewID(), UserID: u.ID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		SignCount: int64(cred.Authenticator.SignCount), AAGUID: cred.Authenticator.AAGUID,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, UserVerified: cred.Flags.UserVerified,
		Transports: transports, AttestationFormat: cred.AttestationFormat, Name: name, CreatedAt: now}
	if len(p.AAGUID) == 0 {
		p.AAGUID = make([]byte, 16)
	}
	ev := &deadbolt.Event{Type: deadbolt.EventPasskeyAdded, At: now, UserID: u.ID, IP: ip,
		Detail: map[string]string{"passkey_id": p.ID, "name": name, "user_verified": boolString(p.UserVerified),
			"synced": boolString(p.BackupState)}}
	_, err = s.store.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: now, TwoFactor: deadbolt.TwoFactorOn,
		AddPasskey: p, MaxPasskeys: MaxPerEmployee, Events: []*deadbolt.Event{ev}})
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeLimitReached):
		return nil, limitReached()
	case deadbolt.IsCode(err, deadbolt.CodeConflict):
		return nil, deadbolt.WithMessage(err, deadbolt.CodeConflict, "This passkey is registered already.")
	case err != nil:
		return nil, err
	}
	s.audit.Committed(ctx, ev)
	return p, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Rename renames one of u's passkeys (CodeInvalidInput for a bad name,
// CodeNotFound for a passkey u does not have) and records it.
func (s *Service) Rename(ctx context.Context, u *deadbolt.User, id, name, ip string) (*deadbolt.Passkey, error) {
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	if !deadbolt.ValidID(id) {
		return nil, notFound()
	}
	if err := s.store.RenamePasskey(ctx, u.ID, id, name); err != nil {
		return nil, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Passkey not found.")
	}
	s.audit.Record(ctx, deadbolt.EventPasskeyRenamed, u.ID, "", ip, map[string]string{"passkey_id": id, "name": name})
	list, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, notFound()
}

func notFound() error { return deadbolt.Errorf(deadbolt.CodeNotFound, "Passkey not found.") }

// Remove deletes one of u's passkeys (the caller checks the fresh proof),
// with its audit event, in one factor change; the second factor stays on.
// CodeNotFound for a passkey u does not have; CodeAdminLockout when
// RemovalRule refuses (the last passkey an administrator could sign in
// with while passkeys are required).
func (s *Service) Remove(ctx context.Context, u *deadbolt.User, id, ip string) error {
	if !deadbolt.ValidID(id) {
		return notFound()
	}
	now := s.clock.Now()
	ev := &deadbolt.Event{Type: deadbolt.EventPasskeyRemoved, At: now, UserID: u.ID, IP: ip,
		Detail: map[string]string{"passkey_id": id}}
	change := &deadbolt.FactorChange{UserID: u.ID, Now: now, RemovePasskeyID: id, Events: []*deadbolt.Event{ev}}
	if s.RemovalRule != nil {
		change.AdminRule = s.RemovalRule(u.ID)
	}
	_, err := s.store.ChangeFactors(ctx, change)
	if err != nil {
		return deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Passkey not found.")
	}
	s.audit.Committed(ctx, ev)
	return nil
}

// AssertionOptions begins an assertion for purpose and answers the
// challenge's id with the request options: for u, by one of u's passkeys
// (CodeInvalidInput when u has none); for a nil u, by any discoverable
// passkey of this relying party. CodePasskeysUnavailable while passkeys
// are off.
func (s *Service) AssertionOptions(ctx context.Context, u *deadbolt.User, purpose string) (string, []byte, error) {
	if s.off != nil {
		return "", nil, s.off
	}
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
		err       error
		uid       string
	)
	if u == nil {
		assertion, sd, err = s.wa.BeginDiscoverableLogin()
	} else {
		e, _, lerr := s.employee(ctx, u)
		if lerr != nil {
			return "", nil, lerr
		}
		if len(e.creds) == 0 {
			return "", nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "You have no passkey.")
		}
		uid = u.ID
		assertion, sd, err = s.wa.BeginLogin(e)
	}
	if err != nil {
		return "", nil, fmt.Errorf("passkey: begin assertion: %w", err)
	}
	id, err := s.save(ctx, purpose, uid, sd)
	if err != nil {
		return "", nil, err
	}
	opts, err := options(assertion)
	return id, opts, err
}

// parseAssertion reads the browser's PublicKeyCredential JSON of an
// assertion; CodeInvalidInput when it does not parse.
func parseAssertion(credentialJSON []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(credentialJSON) > maxCredential {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "The passkey response is too large.")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credentialJSON)
	if err != nil {
		return nil, &deadbolt.Error{Code: deadbolt.CodeInvalidInput, Message: "The passkey response could not be read.", Err: err}
	}
	return parsed, nil
}

// Owner returns the passkey an assertion names by its credential id,
// without checking the assertion (the sign-in service counts the attempt
// against its employee first). CodePasskeysUnavailable while passkeys are
// off; CodeInvalidInput for a response that does not parse; CodeNotFound
// for a credential nobody registered.
func (s *Service) Owner(ctx context.Context, credentialJSON []byte) (*deadbolt.Passkey, error) {
	if s.off != nil {
		return nil, s.off
	}
	parsed, err := parseAssertion(credentialJSON)
	if err != nil {
		return nil, err
	}
	p, err := s.store.PasskeyByCredentialID(ctx, parsed.RawID)
	return p, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "This passkey is not registered here.")
}

// Verify checks an assertion (the browser's PublicKeyCredential JSON)
// made for a live challenge of purpose by one of u's passkeys. The
// challenge the client data names is used up first, whatever follows.
// It reports a wrong assertion as false with the reason (for the audit
// log) and no error: no live challenge of that purpose (unknown, expired,
// used: a replay), a passkey u does not have or no longer has, a wrong
// origin or RP ID, a bad signature, a missing user presence, or a sign
// counter that did not move forward (recorded as its own event: a
// cloned authenticator?). On success the assertion carries the use to
// commit with the completion. Errors: CodePasskeysUnavailable,
// CodeInvalidInput for a response that does not parse, store errors.
func (s *Service) Verify(ctx context.Context, u *deadbolt.User, purpose string, credentialJSON []byte, ip string) (*deadbolt.PasskeyAssertion, error) {
	if s.off != nil {
		return nil, s.off
	}
	parsed, err := parseAssertion(credentialJSON)
	if err != nil {
		return nil, err
	}
	fail := func(reason string) (*deadbolt.PasskeyAssertion, error) {
		return &deadbolt.PasskeyAssertion{Reason: reason}, nil
	}
	c, sd, err := s.consume(ctx, purpose, clientChallenge(parsed.Response.CollectedClientData))
	if err != nil {
		return nil, err
	}
	if sd == nil {
		return fail("challenge")
	}
	if c.UserID != "" && c.UserID != u.ID {
		return fail("challenge")
	}
	e, list, err := s.employee(ctx, u)
	if err != nil {
		return nil, err
	}
	var p *deadbolt.Passkey
	for _, k := range list {
		if bytes.Equal(k.CredentialID, parsed.RawID) {
			p = k
		}
	}
	if p == nil {
		return fail("unknown_passkey")
	}
	var cred *webauthn.Credential
	if c.UserID == "" {
		_, cred, err = s.wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, e.WebAuthnID()) {
				return nil, fmt.Errorf("user handle of another employee")
			}
			return e, nil
		}, *sd, parsed)
	} else {
		cred, err = s.wa.ValidateLogin(e, *sd, parsed)
	}
	if err != nil {
		return fail(reason(err))
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if cred.Authenticator.CloneWarning {
		s.audit.Record(ctx, deadbolt.EventPasskeyCounter, u.ID, "", ip, map[string]string{"passkey_id": p.ID,
			"stored": fmt.Sprint(p.SignCount), "received": fmt.Sprint(parsed.Response.AuthenticatorData.Counter)})
		return fail("counter")
	}
	return &deadbolt.PasskeyAssertion{OK: true, Passkey: p, UserVerified: flags.HasUserVerified(),
		Use: deadbolt.PasskeyUse{ID: p.ID, SignCount: int64(parsed.Response.AuthenticatorData.Counter), BackupState: flags.HasBackupState()}}, nil
}

// reason names why the library refused an assertion, for the audit log
// (never shown to the client).
func reason(err error) string {
	msg := strings.ToLower(err.Error())
	if pe, ok := err.(*protocol.Error); ok {
		msg = strings.ToLower(pe.Details + " " + pe.DevInfo)
	}
	switch {
	case strings.Contains(msg, "origin"):
		return "origin"
	case strings.Contains(msg, "rp hash") || strings.Contains(msg, "rpid") || strings.Contains(msg, "relying party"):
		return "rp_id"
	case strings.Contains(msg, "signature"):
		return "signature"
	case strings.Contains(msg, "presen"):
		return "user_presence"
	case strings.Contains(msg, "challenge"):
		return "challenge"
	}
	return "invalid"
}

// CredentialID decodes the base64url credential id of a passkey as the
// API shows it.
func CredentialID(p *deadbolt.Passkey) string {
	return base64.RawURLEncoding.EncodeToString(p.CredentialID)
}
