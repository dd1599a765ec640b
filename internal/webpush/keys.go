// Package webpush delivers push requests to the companion app as Web Push
// notifications (RFC 8030), encrypted for the subscription (RFC 8291) and
// signed with the server's VAPID key (RFC 8292).
//
// The VAPID key pair is generated on first start and kept in the store,
// the private half sealed with the master key, so every node signs with
// the same pair. A notification carries only the request's id: the push
// service and the phone's lock screen never see the number, the account or
// where the sign-in comes from; the app fetches the request itself.
package webpush

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	wp "github.com/SherClockHolmes/webpush-go"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/seal"
)

// SettingKey is the setting the VAPID key pair is kept under.
const SettingKey = "vapid_keys"

// ErrKeys is returned when the stored VAPID key pair cannot be used: it
// does not open with this master key, or it is damaged.
var ErrKeys = errors.New("webpush: the stored VAPID keys cannot be used (was the master key changed?)")

// storedKeys is the JSON kept under SettingKey.
type storedKeys struct {
	PublicKey        string `json:"public_key"`         // base64url uncompressed P-256 point
	PrivateKeySealed string `json:"private_key_sealed"` // base64url of the sealed 32-byte scalar
}

func sealContext(publicKey string) string { return "vapid:" + publicKey }

// Keys returns the server's VAPID key pair as unpadded base64url: the
// public key is the uncompressed P-256 point browsers take as
// applicationServerKey, the private key the 32-byte scalar. On first start
// it generates a pair and stores it (the private key sealed with box);
// when several nodes start at once, all of them end up with the pair that
// was stored first. It returns the store's errors, or ErrKeys when the
// stored pair does not open with box or is damaged. It is safe for
// concurrent use.
func Keys(ctx context.Context, store deadbolt.SettingStore, box *seal.Box) (publicKey, privateKey string, err error) {
	v, err := store.Setting(ctx, SettingKey)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		priv, pub, gerr := wp.GenerateVAPIDKeys()
		if gerr != nil {
			return "", "", fmt.Errorf("webpush: generate VAPID keys: %w", gerr)
		}
		raw, derr := base64.RawURLEncoding.DecodeString(priv)
		if derr != nil {
			return "", "", fmt.Errorf("webpush: generate VAPID keys: %w", derr)
		}
		b, merr := json.Marshal(storedKeys{
			PublicKey:        pub,
			PrivateKeySealed: base64.RawURLEncoding.EncodeToString(box.Seal(raw, sealContext(pub))),
		})
		if merr != nil {
			return "", "", merr
		}
		v, err = store.SetSettingIfAbsent(ctx, SettingKey, string(b))
	}
	if err != nil {
		return "", "", fmt.Errorf("webpush: VAPID keys: %w", err)
	}
	return openKeys(v, box)
}

// openKeys decodes a stored pair and checks that its halves match.
func openKeys(v string, box *seal.Box) (publicKey, privateKey string, err error) {
	var sk storedKeys
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sk); err != nil {
		return "", "", ErrKeys
	}
	sealed, err := base64.RawURLEncoding.DecodeString(sk.PrivateKeySealed)
	if err != nil {
		return "", "", ErrKeys
	}
	pub, err := base64.RawURLEncoding.DecodeString(sk.PublicKey)
	if err != nil {
		return "", "", ErrKeys
	}
	raw, err := box.Open(sealed, sealContext(sk.PublicKey))
	if err != nil {
		return "", "", ErrKeys
	}
	priv, err := ecdh.P256().NewPrivateKey(raw)
	if err != nil || !bytes.Equal(priv.PublicKey().Bytes(), pub) {
		return "", "", ErrKeys
	}
	return sk.PublicKey, base64.RawURLEncoding.EncodeToString(raw), nil
}
