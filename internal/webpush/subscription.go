package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"deadbolt/internal/deadbolt"
)

// Limits of a subscription's parts.
const (
	maxSubscription = 4096
	maxEndpoint     = 2048
	authLen         = 16 // bytes of keys.auth (RFC 8291 §3.2)
	p256dhLen       = 65 // bytes of an uncompressed P-256 point
)

// Subscription is a parsed browser PushSubscription.
type Subscription struct {
	// Endpoint is the push service URL of the subscription. It is a
	// capability: whoever knows it can push to the phone; never log it.
	Endpoint *url.URL
	// P256DH is the browser's public key, an uncompressed P-256 point.
	P256DH []byte
	// Auth is the 16-byte authentication secret.
	Auth []byte
}

// Host is the endpoint's host (and port), the only part of it that may be
// logged.
func (s *Subscription) Host() string { return s.Endpoint.Host }

// errSubscription builds the error ParseSubscription returns. Its message
// never quotes the subscription.
func errSubscription(msg string) error {
	return deadbolt.Errorf(deadbolt.CodeInvalidInput, "webpush: %s", msg)
}

// ParseSubscription parses the JSON of a browser PushSubscription
// (PushSubscription.toJSON(): "endpoint", "expirationTime", "keys" with
// "p256dh" and "auth") strictly: exact member names, no unknown or
// repeated members, an https endpoint without user information (or, with
// allowLoopbackHTTP, an http endpoint on a loopback host), keys.p256dh a
// valid uncompressed P-256 point and keys.auth 16 bytes, both base64url.
// Every refusal is a CodeInvalidInput *deadbolt.Error whose text does not
// contain the endpoint. It is safe for concurrent use.
func ParseSubscription(raw string, allowLoopbackHTTP bool) (*Subscription, error) {
	if len(raw) > maxSubscription {
		return nil, errSubscription("the subscription is too large")
	}
	top, err := objectMembers([]byte(raw))
	if err != nil {
		return nil, err
	}
	var endpoint string
	var keys map[string]json.RawMessage
	for name, v := range top {
		switch name {
		case "endpoint":
			if err := json.Unmarshal(v, &endpoint); err != nil {
				return nil, errSubscription("endpoint must be a string")
			}
		case "expirationTime":
			var t *float64
			if err := json.Unmarshal(v, &t); err != nil {
				return nil, errSubscription("expirationTime must be a number or null")
			}
		case "keys":
			if keys, err = objectMembers(v); err != nil {
				return nil, err
			}
		default:
			return nil, errSubscription("the subscription has an unknown member")
		}
	}
	u, err := parseEndpoint(endpoint, allowLoopbackHTTP)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errSubscription("keys is required")
	}
	var p256dh, auth string
	for name, v := range keys {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, errSubscription("keys members must be strings")
		}
		switch name {
		case "p256dh":
			p256dh = s
		case "auth":
			auth = s
		default:
			return nil, errSubscription("keys has an unknown member")
		}
	}
	pub, err := decodeKey(p256dh)
	if err != nil || len(pub) != p256dhLen {
		return nil, errSubscription("keys.p256dh must be a base64url uncompressed P-256 public key")
	}
	if _, err := ecdh.P256().NewPublicKey(pub); err != nil {
		return nil, errSubscription("keys.p256dh is not a point on P-256")
	}
	sec, err := decodeKey(auth)
	if err != nil || len(sec) != authLen {
		return nil, errSubscription("keys.auth must be 16 bytes in base64url")
	}
	return &Subscription{Endpoint: u, P256DH: pub, Auth: sec}, nil
}

// parseEndpoint checks the push service URL.
func parseEndpoint(s string, allowLoopbackHTTP bool) (*url.URL, error) {
	if s == "" {
		return nil, errSubscription("endpoint is required")
	}
	if len(s) > maxEndpoint {
		return nil, errSubscription("endpoint is too long")
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, errSubscription("endpoint must be an absolute URL")
	}
	if u.User != nil {
		return nil, errSubscription("endpoint must not carry user information")
	}
	if u.Fragment != "" || strings.ContainsAny(s, " \t\r\n") {
		return nil, errSubscription("endpoint must be a plain URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowLoopbackHTTP && isLoopbackHost(u.Hostname()):
	default:
		return nil, errSubscription("endpoint must be an https URL")
	}
	return u, nil
}

// isLoopbackHost reports whether host names the local machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// decodeKey decodes base64url, with or without padding.
func decodeKey(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

// objectMembers decodes one JSON object into its members, refusing
// anything else: repeated names, trailing data, another JSON type.
func objectMembers(b []byte) (map[string]json.RawMessage, error) {
	bad := errSubscription("the subscription must be a JSON object with unique members")
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, bad
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		name, ok := t.(string)
		if !ok {
			return nil, bad
		}
		if _, dup := out[name]; dup {
			return nil, bad
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad
		}
		out[name] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, bad
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad
	}
	return out, nil
}

// allowedIP reports whether the server may connect to ip to deliver a
// notification: a public unicast address, or loopback when allowed.
// Refusing the rest keeps a subscription from aiming the server at its own
// network.
func allowedIP(ip netip.Addr, allowLoopback bool) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return allowLoopback
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// nonPublic lists special-purpose ranges IsPrivate does not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // shared address space (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"), // documentation
}

// hostPortIP extracts the IP of a dialed "ip:port" address.
func hostPortIP(address string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(host)
	return ip, err == nil
}
