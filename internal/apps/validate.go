package apps

import (
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"deadbolt/internal/deadbolt"
)

// Limits of an application's settings.
const (
	MaxNameLen     = 100  // characters
	MaxURILen      = 2000 // bytes, per URI
	MaxURIs        = 20   // redirect URIs, post-logout URIs, domains: each
	MaxDomainLen   = 300  // bytes, host and path prefix
	MaxWorkgroups  = 100
	maxHostnameLen = 253
)

func invalid(field, format string, args ...any) *deadbolt.Error {
	e := deadbolt.Errorf(deadbolt.CodeInvalidInput, format, args...)
	e.Extra = map[string]any{"field": field}
	return e
}

// ValidateName trims an application name and checks it: 1 to MaxNameLen
// characters of valid UTF-8 without control characters. A bad name is
// CodeInvalidInput. It is safe for concurrent use.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", invalid("name", "An application name is 1 to %d characters, without control characters.", MaxNameLen)
	}
	return name, nil
}

// IsLoopbackHost reports whether host (without port) names this machine:
// 127.0.0.0/8, ::1 or localhost.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// ValidateRedirectURI checks a redirect URI (or post-logout redirect URI)
// an administrator registers, the rules of OAuth 2.1 and RFC 8252:
// absolute, at most MaxURILen bytes, no fragment, no user information,
// and either https, http to a loopback address (127.0.0.1, [::1],
// localhost; its port is part of the exact match), or a private-use
// scheme of a native app in reverse-domain form (com.example.app:/cb).
// A bad URI is CodeInvalidInput naming field. It is safe for concurrent
// use.
func ValidateRedirectURI(field, raw string) error {
	bad := func(why deadbolt.Words) error {
		return invalid(field, "%s: %q %s.", field, truncate(raw, 80), why)
	}
	if raw == "" || len(raw) > MaxURILen || !utf8.ValidString(raw) {
		return bad(deadbolt.Phrase("%d bytes at most, not empty", MaxURILen))
	}
	if strings.ContainsAny(raw, "# \t\r\n\\") || strings.IndexFunc(raw, unicode.IsControl) >= 0 {
		return bad(deadbolt.Phrase("must not contain a fragment, spaces or control characters"))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return bad(deadbolt.Phrase("is not an absolute URI"))
	}
	if u.User != nil {
		return bad(deadbolt.Phrase("must not contain user information"))
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return bad(deadbolt.Phrase("has no host"))
		}
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return bad(deadbolt.Phrase("must use https (plain http is allowed only to 127.0.0.1, [::1] or localhost)"))
		}
	default:
		// RFC 8252 §7.1: private-use schemes are reverse domain names.
		if !strings.Contains(u.Scheme, ".") {
			return bad(deadbolt.Phrase("must use https, loopback http, or a reverse-domain private-use scheme such as com.example.app"))
		}
	}
	return nil
}

// ValidateBackchannelURI checks a back-channel logout URI: absolute,
// https or loopback http, no fragment (OpenID Connect Back-Channel Logout
// 1.0 §2.2). A bad URI is CodeInvalidInput. It is safe for concurrent use.
func ValidateBackchannelURI(raw string) error {
	const field = "backchannel_logout_uri"
	if err := ValidateRedirectURI(field, raw); err != nil {
		return err
	}
	if u, _ := url.Parse(raw); u.Scheme != "https" && u.Scheme != "http" {
		return invalid(field, "%s must use https (or http to a loopback address).", field)
	}
	return nil
}

// validateURIs checks and de-duplicates a list of redirect URIs.
func validateURIs(field string, list []string) ([]string, error) {
	if len(list) > MaxURIs {
		return nil, invalid(field, "At most %d %s.", MaxURIs, field)
	}
	var out []string
	for _, raw := range list {
		if err := ValidateRedirectURI(field, raw); err != nil {
			return nil, err
		}
		if !slices.Contains(out, raw) {
			out = append(out, raw)
		}
	}
	return out, nil
}

// Domain is a parsed domain entry of a proxy app.
type Domain struct {
	// Wildcard is true for "*.base": every subdomain of Host, at any
	// depth, but not Host itself.
	Wildcard bool
	// Host is the lower-case host name or IP literal (the base of a
	// wildcard).
	Host string
	// Port is "" for any port.
	Port string
	// Prefix is the path prefix, "" for the whole host. It starts with "/"
	// and matches on segment boundaries: "/wiki" matches "/wiki" and
	// "/wiki/page", not "/wikipedia".
	Prefix string
}

// String returns the canonical form of the entry.
func (d Domain) String() string {
	s := d.Host
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	if d.Wildcard {
		s = "*." + s
	}
	if d.Port != "" {
		s += ":" + d.Port
	}
	return s + d.Prefix
}

// ParseDomain parses and checks a domain entry of a proxy app: "host",
// "host:port", "host/path-prefix" or "*.example.com" (a wildcard needs at
// least two labels after "*."). Hosts are ASCII (IDNA A-labels) and
// compared in lower case; IP literals are allowed. The path prefix holds no
// query, fragment, percent sign, backslash, "." or ".." segment, or empty
// segment. A bad entry is CodeInvalidInput. It is safe for concurrent use.
func ParseDomain(raw string) (Domain, error) {
	bad := func(why deadbolt.Words) (Domain, error) {
		return Domain{}, invalid("domains", "domains: %q %s.", truncate(raw, 80), why)
	}
	s := strings.ToLower(strings.TrimSpace(raw))
	if s == "" || len(s) > MaxDomainLen || !utf8.ValidString(s) {
		return bad(deadbolt.Phrase("must be 1 to %d bytes", MaxDomainLen))
	}
	if strings.Contains(s, "://") {
		return bad(deadbolt.Phrase("is a host (with an optional /path-prefix), not a URL"))
	}
	var d Domain
	hostport, prefix, hasPath := strings.Cut(s, "/")
	if hasPath {
		prefix = "/" + prefix
		if strings.ContainsAny(prefix, "?#%\\ \t") || strings.IndexFunc(prefix, unicode.IsControl) >= 0 {
			return bad(deadbolt.Phrase("has a path prefix with a query, fragment, percent sign, backslash or space"))
		}
		trimmed := strings.TrimSuffix(prefix, "/")
		if trimmed == "" {
			prefix = "" // "host/" is the whole host
		} else {
			if path.Clean(trimmed) != trimmed {
				return bad(deadbolt.Phrase("has a path prefix with empty, \".\" or \"..\" segments"))
			}
			prefix = trimmed
		}
		d.Prefix = prefix
	}
	if strings.HasPrefix(hostport, "*.") {
		d.Wildcard = true
		hostport = hostport[2:]
	}
	host := hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return bad(deadbolt.Phrase("has a bad port"))
		}
		host, d.Port = h, p
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	if ip := net.ParseIP(host); ip != nil {
		if d.Wildcard {
			return bad(deadbolt.Phrase("puts a wildcard on an IP address"))
		}
		d.Host = ip.String()
		return d, nil
	}
	if !validHostname(host) {
		return bad(deadbolt.Phrase("is not a valid host name"))
	}
	if d.Wildcard && strings.Count(host, ".") < 1 {
		return bad(deadbolt.Phrase("is a wildcard that needs at least two labels after \"*.\""))
	}
	d.Host = host
	return d, nil
}

// validHostname checks LDH labels of 1 to 63 characters.
func validHostname(h string) bool {
	if h == "" || len(h) > maxHostnameLen {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
