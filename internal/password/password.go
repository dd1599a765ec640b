// Package password hashes and verifies employee passwords with argon2id and
// states the policy new passwords must meet.
//
// Hashes are PHC strings that carry their own parameters
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so the cost can be raised later:
// Verify reports when a stored hash was made with other parameters and should
// be replaced. Each hash takes tens of MiB of memory, so a Hasher lets only a
// bounded number run at once and makes the others wait; memory stays flat
// however many sign-ins arrive together.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters and sizes.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen is the length of a new salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived key in bytes.
	KeyLen uint32
}

// DefaultParams are OWASP's minimum recommendation for argon2id: 19 MiB of
// memory, two passes, one thread.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters, for both a Hasher's own and those read from a stored
// hash. The upper bounds keep a tampered or corrupt hash from costing the
// server a gigabyte or a minute; the lower bounds are those of RFC 9106 and
// of sound practice.
const (
	MaxMemory  = 1 << 20 // KiB, 1 GiB
	MaxTime    = 100
	MaxThreads = 64
	MinSaltLen = 8
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 128
)

// ErrMalformedHash reports a string that is not an argon2id PHC string this
// package can verify, or one whose parameters are out of bounds.
var ErrMalformedHash = errors.New("password: malformed hash")

// ErrBadParams reports parameters outside the bounds above.
var ErrBadParams = errors.New("password: bad parameters")

// Validate reports whether p is within bounds: Time 1..MaxTime, Threads
// 1..MaxThreads, Memory 8*Threads..MaxMemory KiB, SaltLen MinSaltLen..MaxSaltLen
// and KeyLen MinKeyLen..MaxKeyLen. The error wraps ErrBadParams.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: time %d not in 1..%d", ErrBadParams, p.Time, MaxTime)
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("%w: threads %d not in 1..%d", ErrBadParams, p.Threads, MaxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("%w: memory %d KiB not in %d..%d", ErrBadParams, p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt length %d not in %d..%d", ErrBadParams, p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: key length %d not in %d..%d", ErrBadParams, p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with fixed parameters, running at most
// a fixed number of hashes at once. It is safe for concurrent use.
type Hasher struct {
	params   Params
	sem      chan struct{}
	inFlight atomic.Int64
	// dummy is a hash with the Hasher's parameters of a random key nobody
	// knows; Dummy verifies against it.
	dummy string
	// enter, when set (by tests), is called with the number of hashes in
	// flight each time one starts.
	enter func(inFlight int64)
}

// New returns a Hasher that makes hashes with p and lets at most
// maxConcurrent hashes (Hash, Verify and Dummy together) run at once; the
// others wait their turn. maxConcurrent <= 0 means runtime.GOMAXPROCS(0). New
// panics if p.Validate fails: parameters are configuration, checked at start.
func New(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
	h.dummy = hash{
		memory:  p.Memory,
		time:    p.Time,
		threads: p.Threads,
		salt:    randomBytes(p.SaltLen),
		key:     randomBytes(p.KeyLen),
	}.String()
	return h
}

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails; crashes the program if the system has no randomness
	return b
}

// Params returns the parameters h makes new hashes with. It is safe for
// concurrent use.
func (h *Hasher) Params() Params { return h.params }

// InFlight returns the number of hashes running now, for metrics and tests.
// It never exceeds the limit given to New. It is safe for concurrent use.
func (h *Hasher) InFlight() int { return int(h.inFlight.Load()) }

// run calls f once a slot is free, or returns the context's error, wrapped,
// if ctx ends first.
func (h *Hasher) run(ctx context.Context, f func()) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("password: %w", ctx.Err())
	}
	defer func() {
		h.inFlight.Add(-1)
		<-h.sem
	}()
	n := h.inFlight.Add(1)
	if h.enter != nil {
		h.enter(n)
	}
	f()
	return nil
}

// Hash returns the PHC string of password under a new random salt, with h's
// parameters:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// where salt and hash are standard base64 without padding. It waits for a
// free slot first and returns the context's error, wrapped, if ctx ends
// before one frees up. It is safe for concurrent use.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	p := h.params
	x := hash{memory: p.Memory, time: p.Time, threads: p.Threads, salt: randomBytes(p.SaltLen)}
	err := h.run(ctx, func() {
		x.key = argon2.IDKey([]byte(password), x.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	})
	if err != nil {
		return "", err
	}
	return x.String(), nil
}

// Verify reports whether password matches phc, an argon2id PHC string,
// computing the hash with the parameters the string carries and comparing in
// constant time. needsRehash is true when the password matches but the
// string's parameters, salt length or key length differ from h's: the caller
// should then store a fresh Hash. A string that does not parse, or whose
// parameters are out of the bounds of Params.Validate (for instance more than
// 1 GiB of memory), gives an error wrapping ErrMalformedHash and is never
// hashed. Like Hash, Verify waits for a free slot and returns the context's
// error, wrapped, if ctx ends first. It is safe for concurrent use.
func (h *Hasher) Verify(ctx context.Context, password, phc string) (ok, needsRehash bool, err error) {
	x, err := parseHash(phc)
	if err != nil {
		return false, false, err
	}
	return h.verify(ctx, password, x, nil)
}

// verify compares password with x in a slot, after count (if set) allowed
// it.
func (h *Hasher) verify(ctx context.Context, password string, x hash, count func() error) (ok, needsRehash bool, err error) {
	var gated error
	err = h.run(ctx, func() {
		if count != nil {
			if gated = count(); gated != nil {
				return
			}
		}
		key := argon2.IDKey([]byte(password), x.salt, x.time, x.memory, x.threads, uint32(len(x.key)))
		ok = subtle.ConstantTimeCompare(key, x.key) == 1
	})
	if gated != nil {
		return false, false, gated
	}
	if err != nil || !ok {
		return false, false, err
	}
	p := h.params
	needsRehash = x.memory != p.Memory || x.time != p.Time || x.threads != p.Threads ||
		uint32(len(x.salt)) != p.SaltLen || uint32(len(x.key)) != p.KeyLen
	return true, needsRehash, nil
}

// VerifyCounted is Verify for an attempt that must be counted before it is
// checked (the sign-in attempt gate). Once a slot is free, and still
// holding it, VerifyCounted calls count; when count returns an error,
// nothing is hashed and VerifyCounted returns that error as is. So an
// attempt is counted only when it is about to be checked: attempts queued
// for a slot are not yet "in flight", and a burst of sign-ins from one
// address is counted a slot's worth at a time. An empty phc verifies
// against the dummy hash (see Dummy), which never matches. It is safe for
// concurrent use.
func (h *Hasher) VerifyCounted(ctx context.Context, password, phc string, count func() error) (ok, needsRehash bool, err error) {
	dummy := phc == ""
	if dummy {
		phc = h.dummy
	}
	x, err := parseHash(phc)
	if err != nil {
		return false, false, err
	}
	ok, needsRehash, err = h.verify(ctx, password, x, count)
	return ok && !dummy, needsRehash && !dummy, err
}

// Dummy verifies password against a hash, made with h's parameters, of a key
// nobody knows, and throws the result away. A sign-in for an unknown or
// deactivated login calls it so that it takes as long, and waits for the same
// slots, as one for a real employee. It returns early if ctx ends. It is safe
// for concurrent use.
func (h *Hasher) Dummy(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, password, h.dummy)
}

// hash is a parsed PHC string.
type hash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

var b64 = base64.RawStdEncoding.Strict()

// String returns x as a PHC string.
func (x hash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, x.memory, x.time, x.threads, b64.EncodeToString(x.salt), b64.EncodeToString(x.key))
}

// maxHashText bounds the length of a PHC string parseHash looks at.
const maxHashText = 512

// parseHash parses an argon2id PHC string strictly: version 19 required,
// exactly the parameters m, t and p in that order, decimal numbers without
// sign or leading zeros, salt and hash in canonical unpadded standard base64,
// and every value within the bounds of Params.Validate. Errors wrap
// ErrMalformedHash.
func parseHash(s string) (hash, error) {
	bad := func(what string) (hash, error) {
		return hash{}, fmt.Errorf("%w: %s", ErrMalformedHash, what)
	}
	if len(s) > maxHashText {
		return bad("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return bad("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("want parameters m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return bad("want parameters m, t and p")
		}
		v, ok := parseDecimal(digits)
		if !ok {
			return bad("parameter is not a decimal number")
		}
		vals[i] = v
	}
	if vals[0] > MaxMemory || vals[1] > MaxTime || vals[2] > MaxThreads {
		return bad("parameters out of bounds")
	}
	x := hash{memory: uint32(vals[0]), time: uint32(vals[1]), threads: uint8(vals[2])}
	var err error
	if x.salt, err = decodeB64(parts[4]); err != nil {
		return bad("salt is not base64")
	}
	if x.key, err = decodeB64(parts[5]); err != nil {
		return bad("hash is not base64")
	}
	p := Params{Memory: x.memory, Time: x.time, Threads: x.threads, SaltLen: uint32(len(x.salt)), KeyLen: uint32(len(x.key))}
	if p.Validate() != nil {
		return bad("parameters out of bounds")
	}
	return x, nil
}

// parseDecimal parses 1 to 10 ASCII digits without a leading zero (but "0").
func parseDecimal(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 10 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	return v, true
}

// decodeB64 decodes canonical unpadded standard base64. The standard decoder
// skips line breaks, which a canonical string never holds, so they are
// refused first.
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64")
	}
	return b64.DecodeString(s)
}
