package totp

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key is the content of an otpauth:// key URI.
type Key struct {
	// Issuer names the service the key belongs to; it may be empty.
	Issuer string
	// Account names the account within the issuer; it is never empty.
	Account string
	// Secret is the shared secret.
	Secret []byte
	// Digits is the code length; always Digits for a parsed key.
	Digits int
	// Period is the step length in seconds; always Period for a parsed key.
	Period int
}

// URI returns the otpauth:// key URI that authenticator apps read, in the form
//
//	otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//
// Every byte of issuer and account outside the URI's unreserved characters is
// percent-encoded (a colon too, so the label stays unambiguous, and a space
// as %20). An empty issuer is left out of both the label and the parameters.
// issuer and account should be valid UTF-8 without control characters, and
// account should not be empty, or ParseURI will refuse the result. URI is safe
// for concurrent use.
func URI(issuer, account string, secret []byte) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escape(issuer))
		b.WriteByte(':')
	}
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(issuer))
	}
	b.WriteString("&algorithm=SHA1&digits=")
	b.WriteString(strconv.Itoa(Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(Period))
	return b.String()
}

// escape percent-encodes every byte of s but RFC 3986's unreserved characters.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

const (
	// maxURIText bounds the length of a URI ParseURI accepts.
	maxURIText = 4096
	// maxNameText bounds the decoded length of an issuer or account name.
	maxNameText = 256
)

// ParseURI parses an otpauth:// key URI strictly. It accepts only the type
// totp, algorithm SHA1, 6 digits and a 30-second period (the last three may be
// omitted); it requires a secret (see DecodeSecret) and a non-empty account
// name; issuer and account must be valid UTF-8 without control characters. The
// label is split at its literal colon; a percent-encoded colon is part of a
// name. When the issuer appears both in the label and as a parameter the two
// must agree. Unknown, repeated or empty-valued parameters and fragments are
// refused. Every refusal is an error wrapping ErrMalformed. ParseURI is safe
// for concurrent use.
func ParseURI(s string) (Key, error) {
	if len(s) > maxURIText {
		return Key{}, malformed("URI too long")
	}
	const scheme = "otpauth://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return Key{}, malformed("not an otpauth URI")
	}
	rest := s[len(scheme):]
	if strings.ContainsRune(rest, '#') {
		return Key{}, malformed("URI has a fragment")
	}
	typ, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Key{}, malformed("URI has no label")
	}
	if !strings.EqualFold(typ, "totp") {
		return Key{}, malformed("key type is not totp")
	}
	rawLabel, rawQuery, _ := strings.Cut(rest, "?")

	rawIssuer, rawAccount, hasLabelIssuer := strings.Cut(rawLabel, ":")
	if !hasLabelIssuer {
		rawIssuer, rawAccount = "", rawLabel
	}
	if strings.ContainsRune(rawAccount, ':') {
		return Key{}, malformed("label has more than one colon")
	}
	account, err := unescapeName(rawAccount, url.PathUnescape)
	if err != nil {
		return Key{}, err
	}
	if account == "" {
		return Key{}, malformed("empty account name")
	}
	labelIssuer, err := unescapeName(rawIssuer, url.PathUnescape)
	if err != nil {
		return Key{}, err
	}
	if hasLabelIssuer && labelIssuer == "" {
		return Key{}, malformed("empty issuer in label")
	}

	k := Key{Account: account, Digits: Digits, Period: Period}
	var paramIssuer string
	seen := make(map[string]bool)
	if rawQuery == "" {
		return Key{}, malformed("URI has no secret")
	}
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, rawValue, ok := strings.Cut(part, "=")
		if !ok || rawValue == "" {
			return Key{}, malformed("parameter without value")
		}
		if seen[name] {
			return Key{}, malformed("repeated parameter")
		}
		seen[name] = true
		switch name {
		case "secret":
			v, err := url.QueryUnescape(rawValue)
			if err != nil {
				return Key{}, malformed("bad escape in secret")
			}
			if k.Secret, err = DecodeSecret(v); err != nil {
				return Key{}, err
			}
		case "issuer":
			if paramIssuer, err = unescapeName(rawValue, url.QueryUnescape); err != nil {
				return Key{}, err
			}
		case "algorithm":
			if rawValue != "SHA1" {
				return Key{}, malformed("algorithm is not SHA1")
			}
		case "digits":
			if rawValue != strconv.Itoa(Digits) {
				return Key{}, malformed("unsupported number of digits")
			}
		case "period":
			if rawValue != strconv.Itoa(Period) {
				return Key{}, malformed("unsupported period")
			}
		default:
			return Key{}, malformed("unknown parameter")
		}
	}
	if k.Secret == nil {
		return Key{}, malformed("URI has no secret")
	}
	switch {
	case hasLabelIssuer && seen["issuer"] && labelIssuer != paramIssuer:
		return Key{}, malformed("issuer in label and parameter differ")
	case hasLabelIssuer:
		k.Issuer = labelIssuer
	default:
		k.Issuer = paramIssuer
	}
	return k, nil
}

// unescapeName decodes an issuer or account name and checks that it is
// printable text of reasonable length.
func unescapeName(raw string, unescape func(string) (string, error)) (string, error) {
	s, err := unescape(raw)
	if err != nil {
		return "", malformed("bad escape in name")
	}
	if len(s) > maxNameText {
		return "", malformed("name too long")
	}
	if !utf8.ValidString(s) {
		return "", malformed("name is not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", malformed("name has a control character")
		}
	}
	return s, nil
}
