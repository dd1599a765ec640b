package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"deadbolt/internal/deadbolt"
)

// testKeys returns a valid p256dh and auth, base64url.
func testKeys(t testing.TB) (p256dh, auth string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 16)
	rand.Read(a)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a)
}

func subJSON(endpoint, p256dh, auth string) string {
	return `{"endpoint":` + quote(endpoint) + `,"expirationTime":null,"keys":{"p256dh":` + quote(p256dh) + `,"auth":` + quote(auth) + `}}`
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestParseSubscription(t *testing.T) {
	p, a := testKeys(t)
	rawP, _ := base64.RawURLEncoding.DecodeString(p)
	notOnCurve := bytes.Clone(rawP)
	notOnCurve[64] ^= 1
	compressed := append([]byte{2 | rawP[64]&1}, rawP[1:33]...)
	const ep = "https://push.example.net/wpush/v2/secret-token"
	cases := []struct {
		name, raw     string
		allowLoopback bool
		ok            bool
	}{
		{"browser subscription", subJSON(ep, p, a), false, true},
		{"without expirationTime", `{"endpoint":` + quote(ep) + `,"keys":{"auth":` + quote(a) + `,"p256dh":` + quote(p) + `}}`, false, true},
		{"expirationTime number", `{"endpoint":` + quote(ep) + `,"expirationTime":1893456000000,"keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `}}`, false, true},
		{"padded keys", subJSON(ep, base64.URLEncoding.EncodeToString(rawP), a+"=="), false, true},
		{"https with port and query", subJSON("https://push.example.net:8443/x?y=z", p, a), false, true},
		{"http loopback allowed", subJSON("http://127.0.0.1:4000/push/x", p, a), true, true},
		{"http localhost allowed", subJSON("http://localhost:4000/push/x", p, a), true, true},
		{"http IPv6 loopback allowed", subJSON("http://[::1]:4000/push/x", p, a), true, true},
		{"http loopback not allowed", subJSON("http://127.0.0.1:4000/push/x", p, a), false, false},
		{"http public host", subJSON("http://push.example.net/secret-token", p, a), true, false},
		{"http private address", subJSON("http://10.0.0.1/secret-token", p, a), true, false},
		{"ftp", subJSON("ftp://push.example.net/secret-token", p, a), true, false},
		{"relative", subJSON("/push/secret-token", p, a), true, false},
		{"opaque", subJSON("https:push.example.net/secret-token", p, a), true, false},
		{"user information", subJSON("https://user:pw@push.example.net/secret-token", p, a), false, false},
		{"fragment", subJSON(ep+"#frag", p, a), false, false},
		{"empty endpoint", subJSON("", p, a), false, false},
		{"long endpoint", subJSON("https://push.example.net/"+strings.Repeat("a", 2100), p, a), false, false},
		{"no keys", `{"endpoint":` + quote(ep) + `}`, false, false},
		{"keys null", `{"endpoint":` + quote(ep) + `,"keys":null}`, false, false},
		{"no auth", `{"endpoint":` + quote(ep) + `,"keys":{"p256dh":` + quote(p) + `}}`, false, false},
		{"no p256dh", `{"endpoint":` + quote(ep) + `,"keys":{"auth":` + quote(a) + `}}`, false, false},
		{"short auth", subJSON(ep, p, a[:10]), false, false},
		{"long auth", subJSON(ep, p, base64.RawURLEncoding.EncodeToString(make([]byte, 32))), false, false},
		{"p256dh not on the curve", subJSON(ep, base64.RawURLEncoding.EncodeToString(notOnCurve), a), false, false},
		{"p256dh compressed", subJSON(ep, base64.RawURLEncoding.EncodeToString(compressed), a), false, false},
		{"p256dh standard base64", subJSON(ep, strings.NewReplacer("-", "+", "_", "/").Replace(p)+"+/", a), false, false},
		{"unknown member", `{"endpoint":` + quote(ep) + `,"keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `},"extra":1}`, false, false},
		{"unknown key", `{"endpoint":` + quote(ep) + `,"keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `,"x":"y"}}`, false, false},
		{"member in another case", `{"Endpoint":` + quote(ep) + `,"keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `}}`, false, false},
		{"repeated endpoint", `{"endpoint":"https://a.example/x","endpoint":` + quote(ep) + `,"keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `}}`, false, false},
		{"repeated key", `{"endpoint":` + quote(ep) + `,"keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `,"auth":` + quote(a) + `}}`, false, false},
		{"endpoint not a string", `{"endpoint":1,"keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `}}`, false, false},
		{"expirationTime string", `{"endpoint":` + quote(ep) + `,"expirationTime":"soon","keys":{"p256dh":` + quote(p) + `,"auth":` + quote(a) + `}}`, false, false},
		{"trailing data", subJSON(ep, p, a) + "{}", false, false},
		{"array", `[` + subJSON(ep, p, a) + `]`, false, false},
		{"empty", ``, false, false},
		{"too large", subJSON(ep+"?"+strings.Repeat("a", 5000), p, a), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseSubscription(c.raw, c.allowLoopback)
			if (err == nil) != c.ok {
				t.Fatalf("ParseSubscription(%s) = %v, want ok=%v", c.name, err, c.ok)
			}
			if err != nil {
				if !deadbolt.IsCode(err, deadbolt.CodeInvalidInput) {
					t.Errorf("ParseSubscription(%s) error code = %q, want invalid_input", c.name, deadbolt.ErrorCode(err))
				}
				if strings.Contains(err.Error(), "secret-token") {
					t.Errorf("ParseSubscription(%s) error %q quotes the endpoint", c.name, err)
				}
				return
			}
			if !bytes.Equal(s.P256DH, rawP) || len(s.Auth) != 16 {
				t.Errorf("ParseSubscription(%s) keys = %x, %x", c.name, s.P256DH, s.Auth)
			}
		})
	}
}

func TestAllowedIP(t *testing.T) {
	cases := []struct {
		ip            string
		allowLoopback bool
		want          bool
	}{
		{"142.250.74.10", false, true},
		{"2a00:1450:4001:80e::200a", false, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"::1", true, true},
		{"::ffff:127.0.0.1", false, false},
		{"10.1.2.3", true, false},
		{"172.16.0.1", false, false},
		{"192.168.1.1", false, false},
		{"169.254.169.254", true, false},
		{"::ffff:169.254.169.254", false, false},
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"fc00::1", false, false},
		{"fe80::1", false, false},
		{"224.0.0.1", false, false},
		{"255.255.255.255", false, false},
	}
	for _, c := range cases {
		if got := allowedIP(netip.MustParseAddr(c.ip), c.allowLoopback); got != c.want {
			t.Errorf("allowedIP(%q, loopback=%v) = %v, want %v", c.ip, c.allowLoopback, got, c.want)
		}
	}
}

func FuzzParseSubscription(f *testing.F) {
	p, a := testKeys(f)
	f.Add(subJSON("https://push.example.net/x", p, a), false)
	f.Add(subJSON("http://127.0.0.1:1/x", p, a), true)
	f.Add(`{"endpoint":"https://a.example","keys":{"p256dh":"","auth":""}}`, false)
	f.Add(`{"endpoint":"https://a.example","keys":{}}`, false)
	f.Add(`{}`, true)
	f.Fuzz(func(t *testing.T, raw string, allowLoopback bool) {
		s, err := ParseSubscription(raw, allowLoopback)
		if err != nil {
			if !deadbolt.IsCode(err, deadbolt.CodeInvalidInput) {
				t.Fatalf("ParseSubscription error %v is not invalid_input", err)
			}
			return
		}
		if len(s.P256DH) != 65 || len(s.Auth) != 16 {
			t.Fatalf("accepted keys of %d and %d bytes", len(s.P256DH), len(s.Auth))
		}
		if _, err := ecdh.P256().NewPublicKey(s.P256DH); err != nil {
			t.Fatalf("accepted a p256dh off the curve: %v", err)
		}
		switch s.Endpoint.Scheme {
		case "https":
		case "http":
			if !allowLoopback || !isLoopbackHost(s.Endpoint.Hostname()) {
				t.Fatalf("accepted http endpoint on %q (loopback allowed: %v)", s.Endpoint.Hostname(), allowLoopback)
			}
		default:
			t.Fatalf("accepted scheme %q", s.Endpoint.Scheme)
		}
		if s.Endpoint.User != nil || s.Endpoint.Host == "" {
			t.Fatalf("accepted endpoint with user information or no host")
		}
		// What was accepted round-trips.
		again, err := ParseSubscription(subJSON(s.Endpoint.String(), base64.RawURLEncoding.EncodeToString(s.P256DH), base64.RawURLEncoding.EncodeToString(s.Auth)), allowLoopback)
		if err != nil || again.Endpoint.String() != s.Endpoint.String() || !bytes.Equal(again.P256DH, s.P256DH) || !bytes.Equal(again.Auth, s.Auth) {
			t.Fatalf("accepted subscription does not round-trip: %v", err)
		}
	})
}
