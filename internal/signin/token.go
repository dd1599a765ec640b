package signin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// tokenLen is the length of a session token: 32 random bytes, base64url.
const tokenLen = 43

// newToken returns a fresh bearer token and the hash the store keeps.
func newToken() (string, []byte) {
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

// HashToken returns the stored hash of a bearer token, and false when tok
// cannot be one of ours (so junk never reaches the store).
func HashToken(tok string) ([]byte, bool) {
	if len(tok) != tokenLen {
		return nil, false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	h := sha256.Sum256([]byte(tok))
	return h[:], true
}
