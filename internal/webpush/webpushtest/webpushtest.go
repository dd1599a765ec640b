// Package webpushtest runs a Web Push service on loopback for tests. It
// plays both the push service (RFC 8030), which checks the sender's VAPID
// authorization (RFC 8292), and the browser behind each subscription,
// which decrypts the notification (RFC 8291) with keys it made itself.
// The checks and the decryption are written from the RFCs, independently
// of the sending code under test.
package webpushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Browser holds the keys a browser makes for one push subscription.
type Browser struct {
	Key  *ecdh.PrivateKey // the subscription's P-256 key pair (p256dh)
	Auth []byte           // the 16-byte authentication secret
}

// NewBrowser makes a browser's subscription keys. It returns the
// random source's error.
func NewBrowser() (*Browser, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return nil, err
	}
	return &Browser{Key: k, Auth: auth}, nil
}

// Subscription returns the PushSubscription for endpoint as a map, the
// shape PushSubscription.toJSON() gives.
func (b *Browser) Subscription(endpoint string) map[string]any {
	return map[string]any{
		"endpoint":       endpoint,
		"expirationTime": nil,
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(b.Key.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(b.Auth),
		},
	}
}

// SubscriptionJSON returns Subscription as JSON text.
func (b *Browser) SubscriptionJSON(endpoint string) string {
	j, err := json.Marshal(b.Subscription(endpoint))
	if err != nil {
		panic(err)
	}
	return string(j)
}

// Decrypt opens an aes128gcm body (RFC 8188) encrypted for the browser as
// RFC 8291 says, and returns the plaintext without its padding. It
// returns an error for anything that does not decrypt or is malformed.
func (b *Browser) Decrypt(body []byte) ([]byte, error) {
	// Header: salt (16) | rs (4) | idlen (1) | keyid (idlen).
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("keyid is %d bytes, want the sender's 65-byte public key", idlen)
	}
	asPublic := body[21 : 21+idlen]
	record := body[21+idlen:]
	if rs < 18 || uint32(len(record)) > rs {
		return nil, fmt.Errorf("record of %d bytes with record size %d: want one record", len(record), rs)
	}
	if len(record) < 17 {
		return nil, errors.New("record shorter than the tag and the delimiter")
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("sender public key: %w", err)
	}
	ecdhSecret, err := b.Key.ECDH(as)
	if err != nil {
		return nil, err
	}
	info := append([]byte("WebPush: info\x00"), b.Key.PublicKey().Bytes()...)
	info = append(info, asPublic...)
	ikm, err := hkdf.Key(sha256.New, ecdhSecret, b.Auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	padded, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// Padding: the delimiter 0x02 (last record) then zeros.
	end := bytes.LastIndexFunc(padded, func(r rune) bool { return r != 0 })
	if end < 0 || padded[end] != 0x02 {
		return nil, errors.New("no last-record padding delimiter")
	}
	return padded[:end], nil
}

// Claims are the VAPID JWT claims.
type Claims struct {
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Sub string `json:"sub"`
}

// VerifyVAPID checks an Authorization header of the form
// "vapid t=<JWT>, k=<key>" (RFC 8292): k must be publicKey (the
// uncompressed P-256 point), the JWT an ES256 JWT signed with it whose aud
// is origin, whose exp is after now and at most 24 hours later, and whose
// sub is a mailto: or https: URI. It returns the claims, or why the header
// is not acceptable.
func VerifyVAPID(header, origin string, publicKey []byte, now time.Time) (Claims, error) {
	var c Claims
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return c, errors.New(`authorization scheme is not "vapid"`)
	}
	var token, key string
	for _, part := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "t":
			token = value
		case "k":
			key = value
		}
	}
	k, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || !bytes.Equal(k, publicKey) {
		return c, errors.New("k is not the server's VAPID public key")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k)
	if err != nil {
		return c, fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("t is not a JWT")
	}
	var head struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodeSegment(parts[0], &head); err != nil || head.Alg != "ES256" {
		return c, fmt.Errorf("JWT header %+v (%v): want alg ES256", head, err)
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return c, fmt.Errorf("JWT claims: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return c, errors.New("JWT signature is not a raw 64-byte ES256 signature")
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return c, errors.New("JWT signature does not verify with k")
	}
	if c.Aud != origin {
		return c, fmt.Errorf("aud = %q, want %q", c.Aud, origin)
	}
	exp := time.Unix(c.Exp, 0)
	if !exp.After(now) || exp.After(now.Add(24*time.Hour)) {
		return c, fmt.Errorf("exp %v not within 24 hours after %v", exp, now)
	}
	if !strings.HasPrefix(c.Sub, "mailto:") && !strings.HasPrefix(c.Sub, "https://") {
		return c, fmt.Errorf("sub = %q, want a mailto: or https: URI", c.Sub)
	}
	return c, nil
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Notification is one request the push service received.
type Notification struct {
	Path   string
	Header http.Header
	Claims Claims
	// Plaintext is what the browser decrypted.
	Plaintext []byte
	// Err says why the request was not a valid Web Push request (VAPID,
	// headers or encryption); nil when it was.
	Err error
}

// Service is a Web Push service listening on loopback.
type Service struct {
	// URL is the service's origin, http://127.0.0.1:port.
	URL string
	// Now is the time VAPID expiry is checked against.
	Now func() time.Time

	srv      *httptest.Server
	received chan Notification
	hits     atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64

	mu       sync.Mutex
	vapid    []byte
	browsers map[string]*Browser
	status   map[string]int
	hold     chan struct{}
}

// NewService starts a push service that accepts notifications signed with
// the VAPID public key vapidPublicKey (unpadded base64url; it may be set
// later with SetVAPIDKey). It stops when the test ends.
func NewService(t testing.TB, vapidPublicKey string) *Service {
	t.Helper()
	s := &Service{Now: time.Now, received: make(chan Notification, 256),
		browsers: map[string]*Browser{}, status: map[string]int{}}
	s.SetVAPIDKey(t, vapidPublicKey)
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// SetVAPIDKey sets the VAPID public key the service expects.
func (s *Service) SetVAPIDKey(t testing.TB, vapidPublicKey string) {
	t.Helper()
	k, err := base64.RawURLEncoding.DecodeString(vapidPublicKey)
	if err != nil {
		t.Fatalf("VAPID public key %q: %v", vapidPublicKey, err)
	}
	s.mu.Lock()
	s.vapid = k
	s.mu.Unlock()
}

// Subscribe makes a browser subscribed at a fresh endpoint of the service
// and returns it with the endpoint.
func (s *Service) Subscribe(t testing.TB) (*Browser, string) {
	t.Helper()
	b, err := NewBrowser()
	if err != nil {
		t.Fatal(err)
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	path := "/push/" + base64.RawURLEncoding.EncodeToString(tok)
	s.mu.Lock()
	s.browsers[path] = b
	s.mu.Unlock()
	return b, s.URL + path
}

// SetStatus makes the service answer status for endpoint (201 otherwise).
func (s *Service) SetStatus(endpoint string, status int) {
	s.mu.Lock()
	s.status[strings.TrimPrefix(endpoint, s.URL)] = status
	s.mu.Unlock()
}

// Hold makes requests wait, until Release, before they are answered.
func (s *Service) Hold() {
	s.mu.Lock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
	s.mu.Unlock()
}

// Release lets held requests, and later ones, through.
func (s *Service) Release() {
	s.mu.Lock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
	s.mu.Unlock()
}

// Hits counts the requests received so far, valid or not.
func (s *Service) Hits() int { return int(s.hits.Load()) }

// InFlight counts the requests being handled now.
func (s *Service) InFlight() int { return int(s.inFlight.Load()) }

// MaxInFlight is the most requests handled at once so far.
func (s *Service) MaxInFlight() int { return int(s.maxIn.Load()) }

// Next returns the next notification received, failing the test after
// timeout.
func (s *Service) Next(t testing.TB, timeout time.Duration) Notification {
	t.Helper()
	select {
	case n := <-s.received:
		return n
	case <-time.After(timeout):
		t.Fatalf("the push service received no notification in %v", timeout)
		return Notification{}
	}
}

// Pending returns the notifications received and not yet taken by Next.
func (s *Service) Pending() []Notification {
	var out []Notification
	for {
		select {
		case n := <-s.received:
			out = append(out, n)
		default:
			return out
		}
	}
}

func (s *Service) handle(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	cur := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxIn.Load()
		if cur <= m || s.maxIn.CompareAndSwap(m, cur) {
			break
		}
	}
	s.mu.Lock()
	hold, b, vapid := s.hold, s.browsers[r.URL.Path], s.vapid
	status, ok := s.status[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		status = http.StatusCreated
	}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	n := Notification{Path: r.URL.Path, Header: r.Header.Clone()}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	switch {
	case err != nil:
		n.Err = err
	case r.Method != http.MethodPost:
		n.Err = fmt.Errorf("method %s, want POST", r.Method)
	case b == nil:
		n.Err = errors.New("no subscription at this endpoint")
		status = http.StatusNotFound
	case r.Header.Get("Content-Encoding") != "aes128gcm":
		n.Err = fmt.Errorf("Content-Encoding %q, want aes128gcm", r.Header.Get("Content-Encoding"))
	case r.Header.Get("TTL") == "":
		n.Err = errors.New("no TTL header")
	case len(body) > 4096:
		n.Err = fmt.Errorf("body of %d bytes: a push service takes at most 4096", len(body))
	}
	if n.Err == nil {
		n.Claims, n.Err = VerifyVAPID(r.Header.Get("Authorization"), s.URL, vapid, s.Now())
	}
	if n.Err == nil {
		n.Plaintext, n.Err = b.Decrypt(body)
	}
	if n.Err != nil && status == http.StatusCreated {
		status = http.StatusBadRequest
	}
	select {
	case s.received <- n:
	default:
	}
	w.WriteHeader(status)
}
