// Package deadbolt holds the domain of the Deadbolt sign-in service: the
// types every other package speaks (User, Session, Device, Event, …), the one
// error type whose Code becomes an HTTP status in exactly one place, the
// injected Clock, the in-process wake-up Hub, and the narrow store
// interfaces the services depend on.
//
// It imports nothing of the project and neither net/http nor database/sql.
package deadbolt

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// idEncoding is lower-case unpadded base32: identifiers are URL-safe,
// case-insensitive and easy to read aloud to support.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random 128-bit identifier as 26 lower-case base32
// characters. It is safe for concurrent use.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of an identifier made by NewID.
// Handlers use it to answer not_found for junk without touching the store.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7')
	}) < 0
}

// NormalizeLogin returns the canonical form of a login: logins are
// case-insensitive, so they are compared and stored lower-cased.
func NormalizeLogin(login string) string {
	return strings.ToLower(strings.TrimSpace(login))
}
