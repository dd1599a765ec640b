// Package apps holds the applications an administrator registers —
// OpenID Connect clients and proxy-protected apps — and the rule of who may
// enter which app with which strength.
//
// The rules are pure functions with no HTTP or SQL: validation of names,
// redirect URIs and proxy domains (validate.go); the access rule
// (workgroup membership, active employee, require_2fa against how the
// session was proven), the ACR a session's method references amount to,
// and matching a proxied request to its app by domain (access.go). The
// Service manages applications on behalf of administrators over the store,
// shows a confidential client's secret once and keeps only its keyed hash,
// and records every action in the audit log.
package apps

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"deadbolt/internal/accounts"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
)

// Store is the persistence the service needs.
type Store interface {
	deadbolt.ApplicationStore
	// Workgroup and WorkgroupByName resolve the workgroups an app admits.
	Workgroup(ctx context.Context, id string) (*deadbolt.Workgroup, error)
	WorkgroupByName(ctx context.Context, name string) (*deadbolt.Workgroup, error)
}

// Secrets makes client secrets and checks them against their keyed hash
// (HMAC-SHA256 under a server key), so a copy of the database does not
// reveal them. It is safe for concurrent use.
type Secrets struct{ key []byte }

// NewSecrets returns Secrets keyed with key (at least 32 bytes).
func NewSecrets(key []byte) (*Secrets, error) {
	if len(key) < 32 {
		return nil, errors.New("apps: the client secret key must be at least 32 bytes")
	}
	return &Secrets{key: append([]byte(nil), key...)}, nil
}

// secretLen is the length of a client secret: 32 random bytes, base64url.
const secretLen = 43

// Generate returns a new client secret (256 bits, base64url) and its hash.
func (s *Secrets) Generate() (secret string, hash []byte) {
	var b [32]byte
	rand.Read(b[:])
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, s.Hash(secret)
}

// Hash returns the keyed hash of a secret.
func (s *Secrets) Hash(secret string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Verify reports whether secret matches hash, in constant time. An empty
// hash (no secret set) never matches.
func (s *Secrets) Verify(hash []byte, secret string) bool {
	if len(hash) == 0 || len(secret) > 512 {
		return false
	}
	return hmac.Equal(hash, s.Hash(secret))
}

// Service manages applications. It is safe for concurrent use.
type Service struct {
	store   Store
	secrets *Secrets
	audit   *audit.Log
	clock   deadbolt.Clock
}

// New returns an application service.
func New(store Store, secrets *Secrets, audit *audit.Log, clock deadbolt.Clock) *Service {
	return &Service{store: store, secrets: secrets, audit: audit, clock: clock}
}

// Secrets returns the secret hasher clients are authenticated with.
func (s *Service) Secrets() *Secrets { return s.secrets }

// Settings is what an administrator sets on an application. A nil field is
// left as it is by Update and takes its default in Create (Name and Kind
// are required there).
type Settings struct {
	Name                   *string
	Kind                   *string
	RedirectURIs           *[]string
	Public                 *bool
	BackchannelLogoutURI   *string
	PostLogoutRedirectURIs *[]string
	Domains                *[]string
	// Workgroups are ids or names of workgroups.
	Workgroups *[]string
	Require2FA *bool
}

func check(a accounts.Actor) error {
	if a.User != nil && (!a.User.Admin || !a.User.Active) {
		return deadbolt.Errorf(deadbolt.CodeForbidden, "Only administrators can do this.")
	}
	return nil
}

func actorID(a accounts.Actor) string {
	if a.User == nil {
		return ""
	}
	return a.User.ID
}

// apply validates in and applies it to a, resolving workgroup names. It
// changes a only when everything is valid.
func (s *Service) apply(ctx context.Context, a *deadbolt.Application, in Settings) error {
	next := *a
	if in.Name != nil {
		name, err := ValidateName(*in.Name)
		if err != nil {
			return err
		}
		next.Name = name
	}
	if in.Kind != nil && *in.Kind != a.Kind {
		if a.Kind != "" {
			return invalid("kind", "An application's kind cannot change; create a new application instead.")
		}
		if *in.Kind != deadbolt.AppOIDC && *in.Kind != deadbolt.AppProxy {
			return invalid("kind", "kind is \"oidc\" or \"proxy\".")
		}
		next.Kind = *in.Kind
	}
	if in.Public != nil {
		next.Public = *in.Public
	}
	if in.RedirectURIs != nil {
		list, err := validateURIs("redirect_uris", *in.RedirectURIs)
		if err != nil {
			return err
		}
		next.RedirectURIs = list
	}
	if in.PostLogoutRedirectURIs != nil {
		list, err := validateURIs("post_logout_redirect_uris", *in.PostLogoutRedirectURIs)
		if err != nil {
			return err
		}
		next.PostLogoutRedirectURIs = list
	}
	if in.BackchannelLogoutURI != nil {
		if *in.BackchannelLogoutURI != "" {
			if err := ValidateBackchannelURI(*in.BackchannelLogoutURI); err != nil {
				return err
			}
		}
		next.BackchannelLogoutURI = *in.BackchannelLogoutURI
	}
	if in.Domains != nil {
		if len(*in.Domains) > MaxURIs {
			return invalid("domains", "At most %d domains.", MaxURIs)
		}
		var list []string
		for _, raw := range *in.Domains {
			d, err := ParseDomain(raw)
			if err != nil {
				return err
			}
			if c := d.String(); !slices.Contains(list, c) {
				list = append(list, c)
			}
		}
		next.Domains = list
	}
	if in.Workgroups != nil {
		ids, err := s.workgroupIDs(ctx, *in.Workgroups)
		if err != nil {
			return err
		}
		next.Workgroups = ids
	}
	if in.Require2FA != nil {
		next.Require2FA = *in.Require2FA
	}
	switch next.Kind {
	case deadbolt.AppOIDC:
		if len(next.RedirectURIs) == 0 {
			return invalid("redirect_uris", "An OpenID Connect application needs at least one redirect URI.")
		}
		if len(next.Domains) > 0 {
			return invalid("domains", "Domains are for proxy applications; an OpenID Connect application has redirect URIs.")
		}
	case deadbolt.AppProxy:
		if len(next.Domains) == 0 {
			return invalid("domains", "A proxy application needs at least one domain.")
		}
		if len(next.RedirectURIs) > 0 || len(next.PostLogoutRedirectURIs) > 0 || next.BackchannelLogoutURI != "" || next.Public {
			return invalid("kind", "Redirect URIs, logout URIs and public are for OpenID Connect applications.")
		}
	default:
		return invalid("kind", "kind is \"oidc\" or \"proxy\".")
	}
	*a = next
	return nil
}

// workgroupIDs resolves workgroup ids or names to ids, in order, without
// duplicates. An unknown one is CodeInvalidInput.
func (s *Service) workgroupIDs(ctx context.Context, refs []string) ([]string, error) {
	if len(refs) > MaxWorkgroups {
		return nil, invalid("workgroups", "At most %d workgroups.", MaxWorkgroups)
	}
	var ids []string
	for _, ref := range refs {
		var w *deadbolt.Workgroup
		var err error
		if deadbolt.ValidID(ref) {
			w, err = s.store.Workgroup(ctx, ref)
		} else if n := strings.TrimSpace(ref); n != "" && utf8.ValidString(n) && len(n) <= 400 {
			w, err = s.store.WorkgroupByName(ctx, n)
		} else {
			err = deadbolt.Errorf(deadbolt.CodeNotFound, "Workgroup not found.")
		}
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return nil, invalid("workgroups", "The workgroup %q does not exist.", truncate(ref, 80))
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, w.ID) {
			ids = append(ids, w.ID)
		}
	}
	return ids, nil
}

// checkDomains refuses a domain entry another proxy app already has.
func (s *Service) checkDomains(ctx context.Context, a *deadbolt.Application) error {
	if len(a.Domains) == 0 {
		return nil
	}
	list, err := s.store.ListApplications(ctx)
	if err != nil {
		return err
	}
	for _, other := range list {
		if other.ID == a.ID {
			continue
		}
		for _, d := range a.Domains {
			if slices.Contains(other.Domains, d) {
				e := deadbolt.Errorf(deadbolt.CodeConflict, "The domain %q already belongs to %s.", d, other.Name)
				e.Extra = map[string]any{"field": "domains"}
				return e
			}
		}
	}
	return nil
}

// Create registers an application. It returns the client secret of a
// confidential OIDC client, to show once ("" otherwise). Bad settings are
// CodeInvalidInput (with the field in Extra); a name already used in any
// letter case, or a domain of another app, CodeConflict; a
// non-administrator CodeForbidden.
func (s *Service) Create(ctx context.Context, actor accounts.Actor, in Settings) (*deadbolt.Application, string, error) {
	if err := check(actor); err != nil {
		return nil, "", err
	}
	if in.Name == nil {
		return nil, "", invalid("name", "An application needs a name.")
	}
	if in.Kind == nil {
		return nil, "", invalid("kind", "kind is \"oidc\" or \"proxy\".")
	}
	now := s.clock.Now()
	a := &deadbolt.Application{ID: deadbolt.NewID(), CreatedAt: now, UpdatedAt: now}
	if err := s.apply(ctx, a, in); err != nil {
		return nil, "", err
	}
	if err := s.checkDomains(ctx, a); err != nil {
		return nil, "", err
	}
	var secret string
	if a.Kind == deadbolt.AppOIDC {
		a.ClientID = deadbolt.NewID()
		if !a.Public {
			secret, a.SecretHash = s.secrets.Generate()
			a.SecretSetAt = now
		}
	}
	if err := s.store.CreateApplication(ctx, a); err != nil {
		return nil, "", storeWords(err, a)
	}
	s.audit.Record(ctx, deadbolt.EventAdminAppCreated, "", actorID(actor), actor.IP, appDetail(a))
	return a, secret, nil
}

// storeWords gives a store's answer about the app a the words a person
// reads.
func storeWords(err error, a *deadbolt.Application) error {
	err = deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Application not found.")
	err = deadbolt.WithMessagef(err, deadbolt.CodeConflict, "An application named %q already exists.", a.Name)
	if deadbolt.IsCode(err, deadbolt.CodeInvalidInput) && deadbolt.ErrorMessage(err) == deadbolt.Sentence(deadbolt.CodeInvalidInput) {
		e := invalid("workgroups", "One of the workgroups no longer exists.")
		e.Err = err
		return e
	}
	return err
}

func appDetail(a *deadbolt.Application) map[string]string {
	return map[string]string{"app_id": a.ID, "name": a.Name, "kind": a.Kind}
}

// find returns an app by id or, failing that, by name.
func (s *Service) find(ctx context.Context, idOrName string) (*deadbolt.Application, error) {
	if deadbolt.ValidID(idOrName) {
		a, err := s.store.Application(ctx, idOrName)
		if !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return a, err
		}
	}
	key := deadbolt.FoldName(idOrName)
	if key == "" || len(key) > 4*MaxNameLen {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Application not found.")
	}
	list, err := s.store.ListApplications(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if deadbolt.FoldName(a.Name) == key {
			return a, nil
		}
	}
	return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Application not found.")
}

// List lists every application, by name. A non-administrator is
// CodeForbidden.
func (s *Service) List(ctx context.Context, actor accounts.Actor) ([]*deadbolt.Application, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	return s.store.ListApplications(ctx)
}

// Get returns one application by id or name; CodeNotFound when there is
// none, CodeForbidden for a non-administrator.
func (s *Service) Get(ctx context.Context, actor accounts.Actor, idOrName string) (*deadbolt.Application, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	return s.find(ctx, idOrName)
}

// Update changes the settings given in in and leaves the others. Its kind
// cannot change. A client made public loses its secret; a client made
// confidential has none until RotateSecret. Errors as Create, and
// CodeNotFound for an unknown app.
func (s *Service) Update(ctx context.Context, actor accounts.Actor, idOrName string, in Settings) (*deadbolt.Application, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	a, err := s.find(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	wasPublic := a.Public
	if err := s.apply(ctx, a, in); err != nil {
		return nil, err
	}
	if err := s.checkDomains(ctx, a); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	a.UpdatedAt = now
	if err := s.store.UpdateApplication(ctx, a); err != nil {
		return nil, storeWords(err, a)
	}
	if a.Public && !wasPublic && a.SecretHash != nil {
		if err := s.store.SetApplicationSecret(ctx, a.ID, nil, now); err != nil {
			return nil, storeWords(err, a)
		}
		a.SecretHash, a.SecretSetAt = nil, now
	}
	s.audit.Record(ctx, deadbolt.EventAdminAppUpdated, "", actorID(actor), actor.IP, appDetail(a))
	return a, nil
}

// RotateSecret gives a confidential OIDC client a new secret, returned to
// show once; the old one stops working at once. A public client or a
// proxy app is CodeInvalidInput; errors otherwise as Get.
func (s *Service) RotateSecret(ctx context.Context, actor accounts.Actor, idOrName string) (*deadbolt.Application, string, error) {
	if err := check(actor); err != nil {
		return nil, "", err
	}
	a, err := s.find(ctx, idOrName)
	if err != nil {
		return nil, "", err
	}
	if a.Kind != deadbolt.AppOIDC || a.Public {
		return nil, "", invalid("public", "Only a confidential OpenID Connect client has a secret.")
	}
	secret, hash := s.secrets.Generate()
	now := s.clock.Now()
	if err := s.store.SetApplicationSecret(ctx, a.ID, hash, now); err != nil {
		return nil, "", storeWords(err, a)
	}
	a.SecretHash, a.SecretSetAt, a.UpdatedAt = hash, now, now
	s.audit.Record(ctx, deadbolt.EventAdminAppSecretRotated, "", actorID(actor), actor.IP, appDetail(a))
	return a, secret, nil
}

// Delete deletes an application and everything issued to it. Errors as
// Get.
func (s *Service) Delete(ctx context.Context, actor accounts.Actor, idOrName string) error {
	if err := check(actor); err != nil {
		return err
	}
	a, err := s.find(ctx, idOrName)
	if err != nil {
		return err
	}
	if err := s.store.DeleteApplication(ctx, a.ID); err != nil {
		return storeWords(err, a)
	}
	s.audit.Record(ctx, deadbolt.EventAdminAppDeleted, "", actorID(actor), actor.IP, appDetail(a))
	return nil
}

// ByClientID returns the OIDC application with clientID; CodeNotFound
// for anything else.
func (s *Service) ByClientID(ctx context.Context, clientID string) (*deadbolt.Application, error) {
	if !deadbolt.ValidID(clientID) {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Application not found.")
	}
	a, err := s.store.ApplicationByClientID(ctx, clientID)
	if err != nil {
		return nil, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Application not found.")
	}
	if a.Kind != deadbolt.AppOIDC {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Application not found.")
	}
	return a, nil
}

// All lists every application for the services that route requests to
// them (no administrator needed).
func (s *Service) All(ctx context.Context) ([]*deadbolt.Application, error) {
	return s.store.ListApplications(ctx)
}

// RecordAccess records a grant (verdict Admit) or a denial of app to
// userID in the audit log; via says how the app asked ("oidc",
// "forward_auth").
func (s *Service) RecordAccess(ctx context.Context, a *deadbolt.Application, userID, ip, via string, v Verdict) {
	typ := deadbolt.EventAppAccessGranted
	detail := map[string]string{"app_id": a.ID, "app": a.Name, "via": via}
	if v != Admit {
		typ = deadbolt.EventAppAccessDenied
		detail["reason"] = string(v)
	}
	s.audit.Record(ctx, typ, userID, "", ip, detail)
}
