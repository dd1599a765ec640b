package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/seal"
)

// KeyStore is the persistence of the signing keys.
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]*deadbolt.SigningKey, error)
	AddFirstSigningKey(ctx context.Context, k *deadbolt.SigningKey) (bool, error)
	RotateSigningKey(ctx context.Context, k *deadbolt.SigningKey) error
	DeleteSigningKeys(ctx context.Context, before time.Time) (int64, error)
}

// Key lifetimes.
const (
	// keyRefresh is how long a node trusts its copy of the key list: a key
	// rotated on another node (or by the command line) is picked up within
	// it.
	keyRefresh = 30 * time.Second
	// keyRetention is how long a retired key stays in the JWKS: longer than
	// any token it signed lives (ID tokens: IDTokenLifetime).
	keyRetention = 24 * time.Hour
)

// signingKey is a parsed key with its signer.
type signingKey struct {
	id      string
	priv    *ecdsa.PrivateKey
	signer  jose.Signer
	retired time.Time
}

// KeyRing holds the provider's ES256 keys: made on first start, sealed with
// the master key in the store, shared by every node. It signs with the
// newest and publishes every key still within its retention. It is safe
// for concurrent use.
type KeyRing struct {
	store KeyStore
	box   *seal.Box
	clock deadbolt.Clock

	mu       sync.Mutex
	keys     []*signingKey // newest first
	loadedAt time.Time     // monotonic
}

// NewKeyRing returns a key ring over store.
func NewKeyRing(store KeyStore, box *seal.Box, clock deadbolt.Clock) *KeyRing {
	return &KeyRing{store: store, box: box, clock: clock}
}

func sealContext(kid string) string { return "oidc signing key:" + kid }

// newKey makes a P-256 key, its id (the RFC 7638 thumbprint) and its
// sealed form.
func (k *KeyRing) newKey() (*deadbolt.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tp, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	return &deadbolt.SigningKey{ID: kid, PrivateSealed: k.box.Seal(der, sealContext(kid)), CreatedAt: k.clock.Now()}, nil
}

// Ensure makes the first key unless one exists (several nodes starting at
// once agree on one) and loads the keys.
func (k *KeyRing) Ensure(ctx context.Context) error {
	list, err := k.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		nk, err := k.newKey()
		if err != nil {
			return err
		}
		if _, err := k.store.AddFirstSigningKey(ctx, nk); err != nil {
			return err
		}
	}
	return k.reload(ctx)
}

// Rotate makes a new signing key, retires the current one (it stays in the
// JWKS for keyRetention) and deletes keys retired longer ago. It returns
// the new key's id.
func (k *KeyRing) Rotate(ctx context.Context) (string, error) {
	nk, err := k.newKey()
	if err != nil {
		return "", err
	}
	if err := k.store.RotateSigningKey(ctx, nk); err != nil {
		return "", err
	}
	if _, err := k.store.DeleteSigningKeys(ctx, k.clock.Now().Add(-keyRetention)); err != nil {
		return "", err
	}
	return nk.ID, k.reload(ctx)
}

func (k *KeyRing) reload(ctx context.Context) error {
	list, err := k.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	var keys []*signingKey
	for _, sk := range list {
		der, err := k.box.Open(sk.PrivateSealed, sealContext(sk.ID))
		if err != nil {
			return fmt.Errorf("oidc: signing key %s: %w", sk.ID, err)
		}
		p, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("oidc: signing key %s: %w", sk.ID, err)
		}
		priv, ok := p.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return fmt.Errorf("oidc: signing key %s is not a P-256 key", sk.ID)
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: sk.ID}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return err
		}
		keys = append(keys, &signingKey{id: sk.ID, priv: priv, signer: signer, retired: sk.RetiredAt})
	}
	if len(keys) == 0 {
		return errors.New("oidc: no signing key")
	}
	k.mu.Lock()
	k.keys, k.loadedAt = keys, time.Now()
	k.mu.Unlock()
	return nil
}

// current returns the keys, reloading them when the copy is stale.
func (k *KeyRing) current(ctx context.Context) ([]*signingKey, error) {
	k.mu.Lock()
	keys, fresh := k.keys, time.Since(k.loadedAt) < keyRefresh
	k.mu.Unlock()
	if fresh && len(keys) > 0 {
		return keys, nil
	}
	if err := k.reload(ctx); err != nil {
		if len(keys) > 0 {
			return keys, nil // keep signing with what we have while the store is away
		}
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, nil
}

// Sign signs claims as a compact JWS with the newest key; typ is the JOSE
// header's typ ("JWT", or "logout+jwt" for logout tokens).
func (k *KeyRing) Sign(ctx context.Context, claims any, typ string) (string, error) {
	keys, err := k.current(ctx)
	if err != nil {
		return "", err
	}
	signer := keys[0].signer
	if typ != "JWT" {
		if signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: keys[0].priv, KeyID: keys[0].id}},
			(&jose.SignerOptions{}).WithType(jose.ContentType(typ))); err != nil {
			return "", err
		}
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// JWKS returns the public keys: the current one and those retired less
// than keyRetention ago. It reads them from the store each time (falling
// back to its copy when the store is away): a key another node already
// signs with is in the store, so every node publishes it.
func (k *KeyRing) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	if err := k.reload(ctx); err != nil {
		k.mu.Lock()
		none := len(k.keys) == 0
		k.mu.Unlock()
		if none {
			return jose.JSONWebKeySet{}, err
		}
	}
	keys, err := k.current(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := k.clock.Now()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, sk := range keys {
		if !sk.retired.IsZero() && now.Sub(sk.retired) > keyRetention {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &sk.priv.PublicKey, KeyID: sk.id, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return set, nil
}

// errBadToken is any JWT that does not verify.
var errBadToken = errors.New("oidc: token does not verify")

// Verify checks a compact JWS signed by one of the ring's published keys
// with ES256 and decodes its claims into dst. It does not check the
// claims' times or audience. It answers errBadToken for anything else.
func (k *KeyRing) Verify(ctx context.Context, token string, dst any) error {
	if len(token) > 8192 {
		return errBadToken
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return errBadToken
	}
	keys, err := k.current(ctx)
	if err != nil {
		return err
	}
	kid := tok.Headers[0].KeyID
	if !slices.ContainsFunc(keys, func(sk *signingKey) bool { return sk.id == kid }) && k.reload(ctx) == nil {
		// A key another node made since this copy was read.
		keys, _ = k.current(ctx)
	}
	now := k.clock.Now()
	for _, sk := range keys {
		if sk.id != kid || !sk.retired.IsZero() && now.Sub(sk.retired) > keyRetention {
			continue
		}
		if err := tok.Claims(&sk.priv.PublicKey, dst); err != nil {
			return errBadToken
		}
		return nil
	}
	return errBadToken
}
