package webpushtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"
)

// captured is a request recorded instead of sent.
type captured struct{ req *http.Request }

func (c *captured) Do(r *http.Request) (*http.Response, error) {
	c.req = r
	return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// vapidKey makes a VAPID key pair: base64url public point and the key.
func vapidKey(t *testing.T) (string, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(pub), k
}

// signJWT signs claims with k the way RFC 8292 asks.
func signJWT(t *testing.T, k *ecdsa.PrivateKey, claims any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	in := enc(map[string]string{"typ": "JWT", "alg": "ES256"}) + "." + enc(claims)
	h := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyVAPID(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	pubS, key := vapidKey(t)
	pub, _ := base64.RawURLEncoding.DecodeString(pubS)
	otherS, other := vapidKey(t)
	const origin = "https://push.example"
	good := Claims{Aud: origin, Exp: now.Add(12 * time.Hour).Unix(), Sub: "mailto:ops@example.com"}
	header := func(k *ecdsa.PrivateKey, kS string, c any) string {
		return "vapid t=" + signJWT(t, k, c) + ", k=" + kS
	}
	tampered := header(key, pubS, good)
	tampered = strings.Replace(tampered, "t=", "t=x", 1)
	cases := []struct {
		name, header string
		ok           bool
	}{
		{"valid", header(key, pubS, good), true},
		{"valid https subscriber", header(key, pubS, Claims{Aud: origin, Exp: good.Exp, Sub: "https://deadbolt.example"}), true},
		{"another scheme", strings.Replace(header(key, pubS, good), "vapid ", "WebPush ", 1), false},
		{"another k", header(other, otherS, good), false},
		{"signed by another key", header(other, pubS, good), false},
		{"tampered token", tampered, false},
		{"wrong aud", header(key, pubS, Claims{Aud: "https://other.example", Exp: good.Exp, Sub: good.Sub}), false},
		{"expired", header(key, pubS, Claims{Aud: origin, Exp: now.Add(-time.Second).Unix(), Sub: good.Sub}), false},
		{"exp too far", header(key, pubS, Claims{Aud: origin, Exp: now.Add(25 * time.Hour).Unix(), Sub: good.Sub}), false},
		{"bad sub", header(key, pubS, Claims{Aud: origin, Exp: good.Exp, Sub: "ops@example.com"}), false},
		{"no token", "vapid k=" + pubS, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := VerifyVAPID(c.header, origin, pub, now)
			if (err == nil) != c.ok {
				t.Errorf("VerifyVAPID(%s) = %v, want ok=%v", c.name, err, c.ok)
			}
		})
	}
}

// encrypt makes a notification for b with an independent implementation
// (the webpush-go library) and returns its body.
func encrypt(t *testing.T, b *Browser, plaintext []byte) []byte {
	t.Helper()
	pubS, key := vapidKey(t)
	d, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	c := &captured{}
	sub := &wp.Subscription{Endpoint: "https://push.example/x", Keys: wp.Keys{
		P256dh: base64.RawURLEncoding.EncodeToString(b.Key.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(b.Auth),
	}}
	if _, err := wp.SendNotification(plaintext, sub, &wp.Options{HTTPClient: c, Subscriber: "ops@example.com", TTL: 60,
		VAPIDPublicKey: pubS, VAPIDPrivateKey: base64.RawURLEncoding.EncodeToString(d)}); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(c.req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestDecrypt(t *testing.T) {
	b, err := NewBrowser()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"id":"abc"}`)
	body := encrypt(t, b, msg)
	got, err := b.Decrypt(body)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Decrypt = %q, %v; want %q", got, err, msg)
	}
	other, _ := NewBrowser()
	flip := func(i int) []byte {
		c := bytes.Clone(body)
		c[i] ^= 1
		return c
	}
	cases := []struct {
		name string
		b    *Browser
		body []byte
	}{
		{"another browser", other, body},
		{"salt changed", b, flip(0)},
		{"sender key changed", b, flip(21 + 64)},
		{"ciphertext changed", b, flip(len(body) - 20)},
		{"tag changed", b, flip(len(body) - 1)},
		{"truncated", b, body[:40]},
		{"empty", b, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, err := c.b.Decrypt(c.body); err == nil {
				t.Errorf("Decrypt(%s) = %q, want an error", c.name, got)
			}
		})
	}
}
