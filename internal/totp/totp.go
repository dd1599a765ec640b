// Package totp implements HMAC-based one-time passwords (RFC 4226), their
// time-based variant (RFC 6238) with the parameters Deadbolt uses (SHA-1,
// 6 digits, 30-second steps), and the otpauth:// key URIs that authenticator
// apps read.
//
// Everything here is a pure function of its arguments: the current time is
// always passed in, and the replay guard (the last time step an employee used)
// is kept by the caller's store. All functions are safe for concurrent use.
package totp

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

const (
	// Digits is the number of digits in a verification code.
	Digits = 6
	// Period is the length of one time step, in seconds.
	Period = 30
	// Skew is how many time steps before and after the current one Match
	// accepts, to absorb clock drift and typing delay.
	Skew = 1

	// SecretSize is the size in bytes of a secret made by GenerateSecret
	// (160 bits, the size RFC 4226 recommends).
	SecretSize = 20
	// MinSecretSize is the smallest secret, in bytes, DecodeSecret accepts
	// and Match works with (RFC 4226 requires at least 128 bits; 80 bits is
	// tolerated for keys made elsewhere).
	MinSecretSize = 10
	// MaxSecretSize is the largest secret, in bytes, DecodeSecret accepts.
	MaxSecretSize = 64
)

// ErrMalformed reports input that is not a well-formed code, secret or key
// URI. Errors returned by the parsers of this package wrap it; their text
// never contains the input itself.
var ErrMalformed = errors.New("totp: malformed input")

func malformed(what string) error {
	return fmt.Errorf("%w: %s", ErrMalformed, what)
}

// rawBase32 is RFC 4648 base32 without padding, the form secrets are shown in.
var rawBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret reads SecretSize random bytes from r, which is normally
// crypto/rand.Reader (a nil r means crypto/rand.Reader). It returns the error
// of r, wrapped, when r cannot supply them. It is safe for concurrent use if r
// is.
func GenerateSecret(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, SecretSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("totp: generate secret: %w", err)
	}
	return b, nil
}

// EncodeSecret returns secret as unpadded, upper-case RFC 4648 base32, the
// form authenticator apps expect. It never fails and is safe for concurrent
// use.
func EncodeSecret(secret []byte) string {
	return rawBase32.EncodeToString(secret)
}

// maxSecretText bounds the length of the text DecodeSecret looks at, spaces
// included, so that hostile input cannot make it work hard.
const maxSecretText = 256

// DecodeSecret decodes a base32 secret as people and apps write it: upper or
// lower case, with or without "=" padding, with spaces anywhere. Anything
// else, an empty secret, a secret shorter than MinSecretSize or longer than
// MaxSecretSize bytes, wrong padding and non-zero trailing bits are refused
// with an error wrapping ErrMalformed. It is safe for concurrent use.
func DecodeSecret(s string) ([]byte, error) {
	if len(s) > maxSecretText {
		return nil, malformed("secret too long")
	}
	buf := make([]byte, 0, len(s))
	padded := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '2' <= c && c <= '7':
		case c == '=':
			padded = true
		default:
			return nil, malformed("secret is not base32")
		}
		buf = append(buf, c)
	}
	if len(buf) == 0 {
		return nil, malformed("empty secret")
	}
	enc := rawBase32
	if padded {
		// The padded decoder checks that the padding is where and as long as
		// it must be.
		enc = base32.StdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(buf)))
	n, err := enc.Decode(out, buf)
	if err != nil {
		return nil, malformed("secret is not base32")
	}
	out = out[:n]
	// Refuse non-canonical encodings (non-zero bits after the last byte), so
	// that one secret has exactly one text form.
	if rawBase32.EncodeToString(out) != string(bytes.TrimRight(buf, "=")) {
		return nil, malformed("secret is not canonical base32")
	}
	switch {
	case len(out) < MinSecretSize:
		return nil, malformed("secret too short")
	case len(out) > MaxSecretSize:
		return nil, malformed("secret too long")
	}
	return out, nil
}

// HOTP returns the RFC 4226 one-time password for secret and counter: HMAC-SHA-1
// with dynamic truncation, reduced to digits decimal digits and zero-padded.
// It panics if digits is outside 1..10, which is a programming error. It is
// safe for concurrent use.
func HOTP(secret []byte, counter uint64, digits int) string {
	if digits < 1 || digits > 10 {
		panic("totp: HOTP digits must be between 1 and 10, got " + strconv.Itoa(digits))
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint64(1)
	for range digits {
		mod *= 10
	}
	v := strconv.FormatUint(uint64(bin)%mod, 10)
	return strings.Repeat("0", digits-len(v)) + v
}

// Step returns the RFC 6238 time step of t: the number of whole Periods since
// the Unix epoch, rounded down. It is safe for concurrent use.
func Step(t time.Time) int64 {
	u := t.Unix()
	s := u / Period
	if u%Period < 0 {
		s--
	}
	return s
}

// Code returns the Digits-digit verification code for secret at time t.
// Times before the Unix epoch have no meaningful code. It is safe for
// concurrent use.
func Code(secret []byte, t time.Time) string {
	return HOTP(secret, uint64(Step(t)), Digits)
}

// maxCodeText bounds the length of the text ParseCode looks at.
const maxCodeText = 64

// ParseCode normalises a verification code typed by a person: ASCII spaces,
// tabs and line breaks anywhere are dropped (so "123 456" is accepted), and
// what remains must be exactly Digits ASCII digits. Other digits (fullwidth,
// Arabic-Indic, …) and any other character are refused with an error wrapping
// ErrMalformed. It is safe for concurrent use.
func ParseCode(s string) (string, error) {
	if len(s) > maxCodeText {
		return "", malformed("code too long")
	}
	var b [Digits]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case '0' <= c && c <= '9':
			if n == Digits {
				return "", malformed("code too long")
			}
			b[n] = c
			n++
		default:
			return "", malformed("code must be digits")
		}
	}
	if n != Digits {
		return "", malformed("code too short")
	}
	return string(b[:]), nil
}

// Match reports whether code is the verification code of secret for one of
// the time steps Step(now)-Skew through Step(now)+Skew that is later than
// lastUsed, and returns the earliest such step. The caller must then record
// that step as the employee's last used step in one atomic, forward-only
// update, so that each code works at most once. Steps at or before lastUsed
// are never accepted; a caller without a recorded step passes -1.
//
// code should come from ParseCode; anything that is not Digits ASCII digits
// never matches, nor does any code when secret is shorter than MinSecretSize.
// Each candidate is compared in constant time. Match returns (0, false) when
// nothing matches. It is safe for concurrent use.
func Match(secret []byte, code string, now time.Time, lastUsed int64) (int64, bool) {
	if len(secret) < MinSecretSize || !isCode(code) {
		return 0, false
	}
	cur := Step(now)
	var step int64
	found := false
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s < 0 || s <= lastUsed {
			continue
		}
		want := HOTP(secret, uint64(s), Digits)
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !found {
			step, found = s, true
		}
	}
	if !found {
		return 0, false
	}
	return step, true
}

func isCode(s string) bool {
	if len(s) != Digits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
