// Package recovery makes and checks the single-use recovery codes an employee
// keeps for the day their phone is lost.
//
// A code carries 50 random bits written as ten Crockford base32 characters and
// shown in two groups, "XXXXX-XXXXX". Typed input is forgiving: case, spaces
// and hyphens are ignored and the letters Crockford treats as look-alikes
// (O for 0, I and L for 1) are read as what they stand for. Codes are never
// stored: the store keeps only a keyed hash (HMAC-SHA-256 under a server
// secret) of each code's canonical form and finds a typed code by that hash.
//
// The package holds no state; single use and the "Reload" that voids every
// earlier code are the store's atomic updates. Everything here is safe for
// concurrent use.
package recovery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// Count is the number of codes in a set.
	Count = 10
	// Length is the number of characters in a code's canonical form.
	Length = 10
	// Bits is the entropy of one code.
	Bits = 5 * Length
	// MinKeySize is the smallest hashing key, in bytes, NewHasher accepts.
	MinKeySize = 32
)

// Alphabet is Crockford's base32 alphabet: digits and upper-case letters
// without I, L, O and U.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// hashDomain separates recovery-code hashes from any other use of the key.
const hashDomain = "deadbolt-recovery-v1\n"

// ErrMalformed reports input that cannot be a recovery code. Errors wrapping
// it never contain the input.
var ErrMalformed = errors.New("recovery: malformed code")

// ErrWeakKey reports a hashing key shorter than MinKeySize.
var ErrWeakKey = errors.New("recovery: hashing key too short")

// maxDraws bounds how many codes Generate draws to find Count distinct ones.
// With 50-bit codes a repeat is so unlikely that hitting the bound means the
// random source is broken.
const maxDraws = 2 * Count

// Generate returns Count distinct codes in display form ("XXXXX-XXXXX"),
// reading randomness from r, which is normally crypto/rand.Reader (a nil r
// means crypto/rand.Reader). It returns the error of r, wrapped, when r fails,
// and an error when r keeps producing the same codes. It is safe for
// concurrent use if r is.
func Generate(r io.Reader) ([]string, error) {
	if r == nil {
		r = rand.Reader
	}
	codes := make([]string, 0, Count)
	seen := make(map[string]bool, Count)
	var buf [8]byte
	for range maxDraws {
		// 7 bytes give 56 bits, of which the low 50 are used.
		if _, err := io.ReadFull(r, buf[1:]); err != nil {
			return nil, fmt.Errorf("recovery: generate codes: %w", err)
		}
		c := encode(binary.BigEndian.Uint64(buf[:]))
		if seen[c] {
			continue
		}
		seen[c] = true
		codes = append(codes, Format(c))
		if len(codes) == Count {
			return codes, nil
		}
	}
	return nil, errors.New("recovery: generate codes: random source repeats itself")
}

// encode writes the low Bits bits of v as a canonical code, most significant
// group first.
func encode(v uint64) string {
	var b [Length]byte
	for i := Length - 1; i >= 0; i-- {
		b[i] = Alphabet[v&0x1f]
		v >>= 5
	}
	return string(b[:])
}

// maxInput bounds the length of the text Normalize looks at, separators
// included.
const maxInput = 64

// Normalize turns a code typed by a person into its canonical form: ten
// upper-case characters of Alphabet, without separators. It ignores case,
// ASCII spaces and hyphens anywhere, and reads O as 0 and I and L as 1. Any
// other character (U, punctuation, control characters, anything outside
// ASCII) or a wrong number of characters is refused with an error wrapping
// ErrMalformed. It is safe for concurrent use.
func Normalize(input string) (string, error) {
	if len(input) > maxInput {
		return "", fmt.Errorf("%w: too long", ErrMalformed)
	}
	var b [Length]byte
	n := 0
	for i := 0; i < len(input); i++ {
		c := input[i]
		if c == ' ' || c == '-' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		case 'U':
			return "", fmt.Errorf("%w: character not in the alphabet", ErrMalformed)
		}
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			return "", fmt.Errorf("%w: character not in the alphabet", ErrMalformed)
		}
		if n == Length {
			return "", fmt.Errorf("%w: too long", ErrMalformed)
		}
		b[n] = c
		n++
	}
	if n != Length {
		return "", fmt.Errorf("%w: too short", ErrMalformed)
	}
	return string(b[:]), nil
}

// Format returns a canonical code in display form, "XXXXX-XXXXX". A string
// that is not Length bytes long is returned unchanged. It is safe for
// concurrent use.
func Format(canonical string) string {
	if len(canonical) != Length {
		return canonical
	}
	return canonical[:Length/2] + "-" + canonical[Length/2:]
}

// Hasher computes the keyed hashes under which codes are stored and looked
// up. It is safe for concurrent use.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher using a copy of key, which must be a secret of at
// least MinKeySize bytes; a shorter key gives an error wrapping ErrWeakKey.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("%w: %d bytes, need %d", ErrWeakKey, len(key), MinKeySize)
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// Hash returns HMAC-SHA-256 of "deadbolt-recovery-v1\n" followed by canonical,
// the form Normalize returns. The result is the code's lookup key in the
// store; the same code and key always give the same hash. Hash never fails and
// is safe for concurrent use.
func (h *Hasher) Hash(canonical string) []byte {
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(hashDomain))
	mac.Write([]byte(canonical))
	return mac.Sum(nil)
}
