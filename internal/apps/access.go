package apps

import (
	"net"
	"net/url"
	"path"
	"slices"
	"strings"

	"deadbolt/internal/deadbolt"
)

// Authentication context class references (OpenID EAP ACR Values), from
// weakest to strongest.
const (
	ACRPassword          = "pwd" // the password alone
	ACRMultiFactor       = "mfa" // a second factor was proven
	ACRPhishingResistant = "phr" // a passkey was proven
)

// acrRank orders the ACR values; unknown values rank 0 (unsatisfiable).
var acrRank = map[string]int{ACRPassword: 1, ACRMultiFactor: 2, ACRPhishingResistant: 3}

// ACR returns the class of a session proven with amr: phr when a passkey
// was proven, mfa when two factors were, else pwd. It is safe for
// concurrent use.
func ACR(amr []string) string {
	switch {
	case slices.Contains(amr, deadbolt.AMRHardwareKey):
		return ACRPhishingResistant
	case MultiFactor(amr):
		return ACRMultiFactor
	}
	return ACRPassword
}

// KnownACR reports whether acr is one of the classes Deadbolt issues.
func KnownACR(acr string) bool { return acrRank[acr] > 0 }

// Satisfies reports whether a session of class have meets a request for
// class want: a stronger class satisfies a weaker one. An unknown want is
// never satisfied.
func Satisfies(have, want string) bool {
	w := acrRank[want]
	return w > 0 && acrRank[have] >= w
}

// MultiFactor reports whether amr records two factors (or a passkey,
// which is a complete multi-factor proof by itself). It is safe for
// concurrent use.
func MultiFactor(amr []string) bool {
	return slices.Contains(amr, deadbolt.AMRMultiFactor) || slices.Contains(amr, deadbolt.AMRHardwareKey)
}

// Verdict is the answer of the access rule.
type Verdict string

// The verdicts of Access.
const (
	// Admit lets the employee in.
	Admit Verdict = "admit"
	// DenyInactive: the employee is deactivated.
	DenyInactive Verdict = "inactive"
	// DenyNotMember: the app admits workgroups the employee is not in.
	DenyNotMember Verdict = "not_member"
	// StepUp: the app requires a second factor and this session was proven
	// with the password alone, but the employee has one: prove it again
	// (step-up), then ask again.
	StepUp Verdict = "second_factor_required"
	// SetupFirst: the app requires a second factor and the employee has
	// none: set it up first.
	SetupFirst Verdict = "setup_required"
)

// Denied reports whether the verdict refuses entry for good (as opposed to
// admitting, or asking for more proof the employee can give).
func (v Verdict) Denied() bool { return v == DenyInactive || v == DenyNotMember }

// Access is the rule of who may enter which app with which strength: an
// inactive employee never; an app with workgroups admits only their
// members (memberOf lists the ids of the employee's workgroups); an app
// with Require2FA admits only a session whose amr records a second factor
// or a passkey — otherwise the employee must step up, or set up a second
// factor first when they have none. It is a pure function, safe for
// concurrent use.
func Access(a *deadbolt.Application, u *deadbolt.User, memberOf []string, amr []string) Verdict {
	if u == nil || !u.Active {
		return DenyInactive
	}
	if len(a.Workgroups) > 0 && !slices.ContainsFunc(a.Workgroups, func(id string) bool { return slices.Contains(memberOf, id) }) {
		return DenyNotMember
	}
	if a.Require2FA && !MultiFactor(amr) {
		if u.TwoFactorEnabled() {
			return StepUp
		}
		return SetupFirst
	}
	return Admit
}

// DeniedError is the CodeAccessDenied answer for an employee the app does
// not admit, naming the app.
func DeniedError(a *deadbolt.Application) error {
	e := deadbolt.Errorf(deadbolt.CodeAccessDenied,
		"You do not have access to %s. Ask your administrator to give you access.", a.Name)
	e.Extra = map[string]any{"app": a.Name}
	return e
}

// splitHost splits "host[:port]" and lower-cases the host, dropping a
// trailing dot and IPv6 brackets.
func splitHost(hostport string) (host, port string) {
	hostport = strings.ToLower(strings.TrimSpace(hostport))
	host = hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	host = strings.TrimSuffix(host, ".")
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return host, port
}

// CleanPath returns the path of a request URI ("/a/b?q") as a proxied app
// would see it: query dropped, percent-decoded, "." and ".." segments and
// repeated slashes resolved. ok is false when the URI cannot be decoded or
// holds a backslash or a control character; callers then match nothing
// (fail closed).
func CleanPath(requestURI string) (clean string, ok bool) {
	p, _, _ := strings.Cut(requestURI, "?")
	p, _, _ = strings.Cut(p, "#")
	if p == "" {
		p = "/"
	}
	dec, err := url.PathUnescape(p)
	if err != nil || strings.ContainsAny(dec, "\\\x00") || strings.IndexFunc(dec, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", false
	}
	if !strings.HasPrefix(dec, "/") {
		dec = "/" + dec
	}
	return path.Clean(dec), true
}

// score ranks a match: exact host, base length, prefix length, port
// given; compared in that order. The zero score is no match.
type score [4]int

func (a score) better(b score) bool { return slices.Compare(a[:], b[:]) > 0 }

// matchScore reports whether d matches the host, port and clean path and
// how specifically.
func (d Domain) matchScore(host, port, clean string) (score, bool) {
	var sc score
	if d.Port != "" {
		if d.Port != port {
			return sc, false
		}
		sc[3] = 1
	}
	switch {
	case !d.Wildcard && host == d.Host:
		sc[0] = 1
	case d.Wildcard && strings.HasSuffix(host, "."+d.Host):
	default:
		return sc, false
	}
	sc[1] = len(d.Host)
	if d.Prefix != "" {
		if clean != d.Prefix && !strings.HasPrefix(clean, d.Prefix+"/") {
			return sc, false
		}
		sc[2] = len(d.Prefix)
	}
	return sc, true
}

// MatchDomain reports whether the domain entry d matches a request for
// hostport (the Host or X-Forwarded-Host, with an optional port) and
// requestURI (path and query). An entry without a port matches any port.
// It is safe for concurrent use.
func MatchDomain(d Domain, hostport, requestURI string) bool {
	clean, ok := CleanPath(requestURI)
	if !ok {
		return false
	}
	host, port := splitHost(hostport)
	_, match := d.matchScore(host, port, clean)
	return match
}

// Match returns the proxy app among list whose domain entry matches a
// request for hostport and requestURI most specifically (an exact host
// before a wildcard, then the longest base, then the longest path prefix),
// or nil when none does. Entries that do not parse never match. It is
// safe for concurrent use.
func Match(list []*deadbolt.Application, hostport, requestURI string) *deadbolt.Application {
	clean, ok := CleanPath(requestURI)
	if !ok {
		return nil
	}
	host, port := splitHost(hostport)
	var best *deadbolt.Application
	var bestScore score
	for _, a := range list {
		if a.Kind != deadbolt.AppProxy {
			continue
		}
		for _, raw := range a.Domains {
			d, err := ParseDomain(raw)
			if err != nil {
				continue
			}
			if sc, ok := d.matchScore(host, port, clean); ok && (best == nil || sc.better(bestScore)) {
				best, bestScore = a, sc
			}
		}
	}
	return best
}
