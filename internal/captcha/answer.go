package captcha

import (
	"encoding/base64"
	"unicode"
)

// maxAnswerLen bounds the answer input in bytes; longer input is wrong
// without being looked at further.
const maxAnswerLen = 64

// normaliseAnswer turns a typed answer into digit values 0-9. White space
// anywhere is ignored; any other character that is not an ASCII digit, or
// an answer with no digit at all, makes it invalid (ok false).
func normaliseAnswer(s string) (digits []byte, ok bool) {
	if len(s) > maxAnswerLen {
		return nil, false
	}
	digits = make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r-'0'))
		case unicode.IsSpace(r):
		default:
			return nil, false
		}
	}
	if len(digits) == 0 {
		return nil, false
	}
	return digits, true
}

// formatDigits turns digit values 0-9 into ASCII digits.
func formatDigits(digits []byte) string {
	out := make([]byte, len(digits))
	for i, d := range digits {
		out[i] = '0' + d
	}
	return string(out)
}

// validDigits reports whether digits is a usable answer: non-empty, not
// absurdly long, every value 0-9.
func validDigits(digits []byte) bool {
	if len(digits) == 0 || len(digits) > maxStoredDigits {
		return false
	}
	for _, d := range digits {
		if d > 9 {
			return false
		}
	}
	return true
}

// idEncoding decodes challenge ids strictly: the unused trailing bits must
// be zero, so each id has exactly one spelling.
var idEncoding = base64.RawURLEncoding.Strict()

// validID reports whether id has the shape of a challenge id: 128 bits in
// canonical base64url without padding.
func validID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	raw, err := idEncoding.DecodeString(id)
	return err == nil && len(raw) == idBytes
}
