// Package seal encrypts secrets at rest (TOTP secrets, keys) with the
// server's master key, and derives purpose-bound subkeys from it.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// ErrOpen is returned when a sealed value cannot be opened: wrong key,
// wrong purpose, or tampering.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Box seals and opens values with AES-256-GCM under a key derived from the
// master key. It is safe for concurrent use.
type Box struct {
	master []byte
	aead   cipher.AEAD
}

// New returns a Box for a 32-byte master key.
func New(master []byte) (*Box, error) {
	if len(master) != 32 {
		return nil, errors.New("seal: the master key must be 32 bytes")
	}
	b := &Box{master: append([]byte(nil), master...)}
	block, err := aes.NewCipher(b.Subkey("deadbolt seal v1"))
	if err != nil {
		return nil, err
	}
	if b.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return b, nil
}

// Subkey derives a 32-byte key for one purpose with HKDF-SHA256.
func (b *Box) Subkey(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, b.master, nil, purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return k
}

// Seal encrypts plaintext bound to context (e.g. "totp:"+deviceID), so a
// sealed value moved to another row does not open.
func (b *Box) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts a value sealed with the same context; ErrOpen otherwise.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
