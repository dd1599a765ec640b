package webpush_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/seal"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
	"deadbolt/internal/webpush"
	"deadbolt/internal/webpush/webpushtest"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "deadbolt.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newBox(t *testing.T, b byte) *seal.Box {
	t.Helper()
	box, err := seal.New(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// newDevice stores a confirmed device of a new user with the given Web
// Push subscription.
func newDevice(t *testing.T, st *sqlite.Store, subscription string) *deadbolt.Device {
	t.Helper()
	ctx := context.Background()
	u := storetest.NewUser(t, st, "user-"+strings.ToLower(deadbolt.NewID()[:10]))
	d := &deadbolt.Device{ID: deadbolt.NewID(), UserID: u.ID, PairingID: deadbolt.NewID(), Name: "Phone", Platform: "web",
		PublicKey: []byte{1}, TOTPSecretSealed: []byte{1}, WebPush: subscription, CreatedAt: storetest.T0}
	tok := make([]byte, 32)
	rand.Read(tok)
	if err := st.CreateDevice(ctx, d, tok); err != nil {
		t.Fatalf("CreateDevice = %v", err)
	}
	storetest.ConfirmDevice(t, st, u.ID, d.ID, storetest.T0.Add(time.Minute))
	return d
}

// storedSubscription reads the device's subscription back from the store.
func storedSubscription(t *testing.T, st *sqlite.Store, d *deadbolt.Device) string {
	t.Helper()
	got, err := st.DeviceByPairing(context.Background(), d.UserID, d.PairingID)
	if err != nil {
		t.Fatal(err)
	}
	return got.WebPush
}

func newRequest(d *deadbolt.Device) *deadbolt.PushRequest {
	now := time.Now().UTC()
	return &deadbolt.PushRequest{ID: deadbolt.NewID(), UserID: d.UserID, SessionID: deadbolt.NewID(), DeviceID: d.ID,
		Number: 573920, Status: deadbolt.PushPending, CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute),
		Context: map[string]string{"app": "Deadbolt", "ip": "203.0.113.9", "browser": "Firefox"}}
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const subscriber = "mailto:security@example.com"

type env struct {
	st     *sqlite.Store
	push   *webpushtest.Service
	sender *webpush.Sender
	logs   *logBuffer
}

// setup builds a store, the VAPID keys, a loopback push service and a
// sender; edit adjusts the sender's configuration.
func setup(t *testing.T, edit func(*webpush.Config)) *env {
	t.Helper()
	e := &env{st: openStore(t), logs: &logBuffer{}}
	pub, priv, err := webpush.Keys(context.Background(), e.st, newBox(t, 7))
	if err != nil {
		t.Fatal(err)
	}
	e.push = webpushtest.NewService(t, pub)
	cfg := webpush.Config{PublicKey: pub, PrivateKey: priv, Subscriber: subscriber, AllowLoopback: true,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&cfg)
	}
	e.sender, err = webpush.NewSender(e.st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.sender.Close)
	return e
}

func TestDeliverEncryptedNotification(t *testing.T) {
	e := setup(t, nil)
	b, endpoint := e.push.Subscribe(t)
	d := newDevice(t, e.st, b.SubscriptionJSON(endpoint))
	p := newRequest(d)

	e.sender.Deliver(context.Background(), d, p)
	n := e.push.Next(t, 10*time.Second)
	if n.Err != nil {
		t.Fatalf("the push service refused the notification: %v", n.Err)
	}
	if want := `{"id":"` + p.ID + `"}`; string(n.Plaintext) != want {
		t.Errorf("decrypted payload = %q, want %q", n.Plaintext, want)
	}
	for _, secret := range []string{strconv.Itoa(p.Number), d.UserID, "203.0.113.9"} {
		if strings.Contains(string(n.Plaintext), secret) {
			t.Errorf("payload %q carries %q", n.Plaintext, secret)
		}
	}
	wantHeaders := map[string]string{"Content-Encoding": "aes128gcm", "TTL": "120", "Urgency": "high"}
	for k, want := range wantHeaders {
		if got := n.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if n.Claims.Aud != e.push.URL || n.Claims.Sub != subscriber {
		t.Errorf("VAPID claims = %+v, want aud %q and sub %q", n.Claims, e.push.URL, subscriber)
	}
	e.sender.Wait()
	if got := storedSubscription(t, e.st, d); got == "" {
		t.Error("a delivered subscription was removed")
	}
	if logs := e.logs.String(); strings.Contains(logs, n.Path) {
		t.Errorf("the log holds the endpoint path: %s", logs)
	}
}

func TestGoneSubscriptionRemoved(t *testing.T) {
	cases := []struct {
		status  int
		removed bool
	}{
		{http.StatusGone, true},
		{http.StatusNotFound, true},
		{http.StatusCreated, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusForbidden, false},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			e := setup(t, nil)
			b, endpoint := e.push.Subscribe(t)
			e.push.SetStatus(endpoint, c.status)
			d := newDevice(t, e.st, b.SubscriptionJSON(endpoint))
			e.sender.Deliver(context.Background(), d, newRequest(d))
			n := e.push.Next(t, 10*time.Second)
			if n.Err != nil {
				t.Fatalf("the push service refused the notification: %v", n.Err)
			}
			e.sender.Wait()
			got := storedSubscription(t, e.st, d)
			if removed := got == ""; removed != c.removed {
				t.Errorf("after status %d: subscription removed = %v, want %v", c.status, removed, c.removed)
			}
			logs := e.logs.String()
			path := strings.TrimPrefix(endpoint, e.push.URL)
			if strings.Contains(logs, path) {
				t.Errorf("the log holds the endpoint path: %s", logs)
			}
			host := strings.TrimPrefix(e.push.URL, "http://")
			wantLevel := "level=WARN"
			switch {
			case c.removed:
				wantLevel = "level=INFO"
			case c.status == http.StatusCreated:
				wantLevel = "level=DEBUG"
			}
			if !strings.Contains(logs, wantLevel) || !strings.Contains(logs, "host="+host) {
				t.Errorf("after status %d the log = %q, want %s with host=%s", c.status, logs, wantLevel, host)
			}
		})
	}
}

func TestNoSubscriptionSendsNothing(t *testing.T) {
	e := setup(t, nil)
	d := newDevice(t, e.st, "")
	e.sender.Deliver(context.Background(), d, newRequest(d))
	e.sender.Deliver(context.Background(), nil, newRequest(d))
	e.sender.Deliver(context.Background(), d, nil)
	e.sender.Wait()
	if got := e.push.Hits(); got != 0 {
		t.Errorf("push service hits = %d, want 0", got)
	}
}

// recorder is a transport that records requests instead of sending them.
type recorder struct{ n atomic.Int64 }

func (r *recorder) RoundTrip(*http.Request) (*http.Response, error) {
	r.n.Add(1)
	return nil, errors.New("recorder: not sent")
}

func TestRefusedSubscriptionSendsNothing(t *testing.T) {
	b, err := webpushtest.NewBrowser()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, subscription string
		allowLoopback      bool
	}{
		{"http on a public host", b.SubscriptionJSON("http://push.example.net/secret-path"), true},
		{"http on loopback when not allowed", b.SubscriptionJSON("http://127.0.0.1:9/secret-path"), false},
		{"ftp", b.SubscriptionJSON("ftp://push.example.net/secret-path"), true},
		{"no keys", `{"endpoint":"https://push.example.net/secret-path"}`, true},
		{"not JSON", `secret-path`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			e := setup(t, func(cfg *webpush.Config) {
				cfg.AllowLoopback = c.allowLoopback
				cfg.Client = &http.Client{Transport: rec}
			})
			d := newDevice(t, e.st, c.subscription)
			e.sender.Deliver(context.Background(), d, newRequest(d))
			e.sender.Wait()
			if got := rec.n.Load(); got != 0 {
				t.Errorf("Deliver(%s) sent %d requests, want 0", c.name, got)
			}
			logs := e.logs.String()
			if !strings.Contains(logs, "unusable subscription") {
				t.Errorf("Deliver(%s) logged %q, want an unusable subscription warning", c.name, logs)
			}
			if strings.Contains(logs, "secret-path") {
				t.Errorf("Deliver(%s) logged the endpoint: %s", c.name, logs)
			}
		})
	}
}

func TestPrivateAddressRefused(t *testing.T) {
	// An https endpoint on loopback passes parsing, but without
	// AllowLoopback the sender will not connect to it.
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	e := setup(t, func(cfg *webpush.Config) { cfg.AllowLoopback = false })
	b, _ := webpushtest.NewBrowser()
	d := newDevice(t, e.st, b.SubscriptionJSON(srv.URL+"/secret-path"))
	e.sender.Deliver(context.Background(), d, newRequest(d))
	e.sender.Wait()
	if got := hits.Load(); got != 0 {
		t.Errorf("push service on loopback hit %d times, want 0", got)
	}
	logs := e.logs.String()
	host := strings.TrimPrefix(srv.URL, "https://")
	if !strings.Contains(logs, "delivery failed") || !strings.Contains(logs, "host="+host) || strings.Contains(logs, "secret-path") {
		t.Errorf("log = %q, want a delivery failure naming host %s only", logs, host)
	}
	if storedSubscription(t, e.st, d) == "" {
		t.Error("a refused connection removed the subscription")
	}
}

func TestDeliverDoesNotBlockAndIsBounded(t *testing.T) {
	const limit, total = 2, 6
	e := setup(t, func(cfg *webpush.Config) { cfg.Concurrency = limit })
	b, endpoint := e.push.Subscribe(t)
	d := newDevice(t, e.st, b.SubscriptionJSON(endpoint))
	e.push.Hold()
	start := time.Now()
	ids := map[string]bool{}
	for range total {
		p := newRequest(d)
		ids[`{"id":"`+p.ID+`"}`] = true
		e.sender.Deliver(context.Background(), d, p)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Deliver blocked for %v while the push service held requests", took)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.push.InFlight() < limit && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a request beyond the limit to arrive
	if got := e.push.MaxInFlight(); got != limit {
		t.Errorf("notifications in flight = %d, want %d", got, limit)
	}
	e.push.Release()
	for range total {
		n := e.push.Next(t, 10*time.Second)
		if n.Err != nil || !ids[string(n.Plaintext)] {
			t.Errorf("notification %q (%v) is not one of the requests sent", n.Plaintext, n.Err)
		}
		delete(ids, string(n.Plaintext))
	}
	if got := e.push.MaxInFlight(); got > limit {
		t.Errorf("at most %d notifications were in flight, want at most %d", got, limit)
	}
}

func TestDeliverTimesOut(t *testing.T) {
	e := setup(t, func(cfg *webpush.Config) { cfg.Timeout = 200 * time.Millisecond })
	b, endpoint := e.push.Subscribe(t)
	d := newDevice(t, e.st, b.SubscriptionJSON(endpoint))
	e.push.Hold()
	e.sender.Deliver(context.Background(), d, newRequest(d))
	done := make(chan struct{})
	go func() { e.sender.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a delivery to a push service that never answers did not end")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "delivery failed") {
		t.Errorf("log = %q, want a delivery failure", logs)
	}
}

func TestDeliverOutlivesTheSignIn(t *testing.T) {
	// The sign-in's request ends (its context is cancelled) right after
	// Deliver returns; the notification still goes out.
	e := setup(t, nil)
	b, endpoint := e.push.Subscribe(t)
	d := newDevice(t, e.st, b.SubscriptionJSON(endpoint))
	ctx, cancel := context.WithCancel(context.Background())
	p := newRequest(d)
	e.sender.Deliver(ctx, d, p)
	cancel()
	n := e.push.Next(t, 10*time.Second)
	if want := `{"id":"` + p.ID + `"}`; n.Err != nil || string(n.Plaintext) != want {
		t.Errorf("notification = %q (%v), want %q", n.Plaintext, n.Err, want)
	}
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	box := newBox(t, 7)
	pub, priv, err := webpush.Keys(ctx, st, box)
	if err != nil {
		t.Fatal(err)
	}
	rawPub, err := base64.RawURLEncoding.DecodeString(pub)
	if err != nil || len(rawPub) != 65 || rawPub[0] != 4 {
		t.Fatalf("public key %q is not an uncompressed P-256 point", pub)
	}
	rawPriv, err := base64.RawURLEncoding.DecodeString(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdh.P256().NewPrivateKey(rawPriv)
	if err != nil || !bytes.Equal(k.PublicKey().Bytes(), rawPub) {
		t.Fatalf("private key does not match the public key: %v", err)
	}
	pub2, priv2, err := webpush.Keys(ctx, st, box)
	if err != nil || pub2 != pub || priv2 != priv {
		t.Errorf("Keys(second start) = %q, %v; want the stored pair %q", pub2, err, pub)
	}
	stored, err := st.Setting(ctx, webpush.SettingKey)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, priv) || bytes.Contains([]byte(stored), rawPriv) {
		t.Error("the private key is stored in the clear")
	}
	if _, _, err := webpush.Keys(ctx, st, newBox(t, 8)); !errors.Is(err, webpush.ErrKeys) {
		t.Errorf("Keys(other master key) = %v, want ErrKeys", err)
	}
}

func TestKeysDamaged(t *testing.T) {
	ctx := context.Background()
	box := newBox(t, 7)
	// A valid pair whose sealed private key is moved under another public
	// key must not open.
	donor := openStore(t)
	if _, _, err := webpush.Keys(ctx, donor, box); err != nil {
		t.Fatal(err)
	}
	v, _ := donor.Setting(ctx, webpush.SettingKey)
	var sk map[string]string
	json.Unmarshal([]byte(v), &sk)
	other := openStore(t)
	otherPub, _, err := webpush.Keys(ctx, other, box)
	if err != nil {
		t.Fatal(err)
	}
	swapped, _ := json.Marshal(map[string]string{"public_key": otherPub, "private_key_sealed": sk["private_key_sealed"]})
	cases := []struct{ name, value string }{
		{"not JSON", "garbage"},
		{"empty object", "{}"},
		{"unknown field", `{"public_key":"","private_key_sealed":"","x":1}`},
		{"moved sealed key", string(swapped)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			if _, err := st.SetSettingIfAbsent(ctx, webpush.SettingKey, c.value); err != nil {
				t.Fatal(err)
			}
			if _, _, err := webpush.Keys(ctx, st, box); !errors.Is(err, webpush.ErrKeys) {
				t.Errorf("Keys(%s) = %v, want ErrKeys", c.name, err)
			}
		})
	}
}

func TestKeysAgreeAcrossNodes(t *testing.T) {
	// Several nodes starting at once on one database end up with one pair.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadbolt.db")
	const nodes = 6
	stores := make([]*sqlite.Store, nodes)
	for i := range stores {
		st, err := sqlite.Open(ctx, path, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	box := newBox(t, 7)
	pubs := make([]string, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { pubs[i], _, errs[i] = webpush.Keys(ctx, stores[i], box) })
	}
	wg.Wait()
	for i := range pubs {
		if errs[i] != nil || pubs[i] != pubs[0] {
			t.Errorf("node %d: Keys = %q, %v; want %q like node 0", i, pubs[i], errs[i], pubs[0])
		}
	}
}

func TestSubscriber(t *testing.T) {
	cases := []struct{ publicURL, want string }{
		{"https://deadbolt.example.com", "https://deadbolt.example.com"},
		{"https://deadbolt.example.com:8443/base/", "https://deadbolt.example.com:8443"},
		{"http://127.0.0.1:8080", "mailto:webpush@127.0.0.1"},
		{"http://intranet.example:8080", "mailto:webpush@intranet.example"},
		{"", "mailto:webpush@localhost"},
	}
	for _, c := range cases {
		var u *url.URL
		if c.publicURL != "" {
			u, _ = url.Parse(c.publicURL)
		}
		if got := webpush.Subscriber(u); got != c.want {
			t.Errorf("Subscriber(%q) = %q, want %q", c.publicURL, got, c.want)
		}
	}
}

func TestNewSenderRefusesBadConfig(t *testing.T) {
	st := openStore(t)
	pub, priv, err := webpush.Keys(context.Background(), st, newBox(t, 7))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  webpush.Config
		ok   bool
	}{
		{"mailto", webpush.Config{PublicKey: pub, PrivateKey: priv, Subscriber: "mailto:ops@example.com"}, true},
		{"https", webpush.Config{PublicKey: pub, PrivateKey: priv, Subscriber: "https://deadbolt.example"}, true},
		{"bare address", webpush.Config{PublicKey: pub, PrivateKey: priv, Subscriber: "ops@example.com"}, false},
		{"http", webpush.Config{PublicKey: pub, PrivateKey: priv, Subscriber: "http://deadbolt.example"}, false},
		{"empty mailto", webpush.Config{PublicKey: pub, PrivateKey: priv, Subscriber: "mailto:"}, false},
		{"no public key", webpush.Config{PrivateKey: priv, Subscriber: subscriber}, false},
		{"no private key", webpush.Config{PublicKey: pub, Subscriber: subscriber}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := webpush.NewSender(st, c.cfg)
			if (err == nil) != c.ok {
				t.Errorf("NewSender(%s) = %v, want ok=%v", c.name, err, c.ok)
			}
			if s != nil {
				s.Close()
			}
		})
	}
}

func TestDeliverAfterCloseSendsNothing(t *testing.T) {
	e := setup(t, nil)
	b, endpoint := e.push.Subscribe(t)
	d := newDevice(t, e.st, b.SubscriptionJSON(endpoint))
	e.sender.Close()
	e.sender.Deliver(context.Background(), d, newRequest(d))
	e.sender.Wait()
	if got := e.push.Hits(); got != 0 {
		t.Errorf("push service hits after Close = %d, want 0", got)
	}
}

func TestPayload(t *testing.T) {
	for _, id := range []string{deadbolt.NewID(), `quote"and\backslash`} {
		var got map[string]string
		if err := json.Unmarshal(webpush.Payload(id), &got); err != nil || len(got) != 1 || got["id"] != id {
			t.Errorf("Payload(%q) = %s, want only the id", id, webpush.Payload(id))
		}
	}
}
