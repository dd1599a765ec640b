package webpush

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"

	"deadbolt/internal/deadbolt"
)

// Defaults of Config.
const (
	DefaultConcurrency = 16
	DefaultTimeout     = 10 * time.Second
	// TTL is how long, in seconds, a push service keeps a notification
	// for a phone that is offline: about the life of a push request.
	TTL = 120
	// maxWaiting bounds the deliveries waiting for a free slot; beyond it
	// new ones are dropped (delivery is best effort).
	maxWaiting = 1024
)

// Store is what a Sender needs of persistence: forgetting a subscription
// the push service says is gone.
type Store interface {
	SetDeviceWebPush(ctx context.Context, deviceID, subscription string) error
}

// Config configures a Sender.
type Config struct {
	// PublicKey and PrivateKey are the VAPID pair from Keys.
	PublicKey, PrivateKey string
	// Subscriber is the VAPID contact: an https URL or a mailto: URI
	// (see Subscriber).
	Subscriber string
	// AllowLoopback accepts http endpoints on loopback hosts and lets the
	// sender connect to loopback addresses (development and tests).
	AllowLoopback bool
	// Concurrency bounds the notifications in flight; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Timeout bounds one delivery, waiting for a slot included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Client sends the notifications; nil means a client that connects
	// only to public addresses (and loopback with AllowLoopback) and does
	// not follow redirects.
	Client *http.Client
	// Logger receives delivery outcomes; nil discards them.
	Logger *slog.Logger
}

// Sender delivers push requests as Web Push notifications, in the
// background. It is safe for concurrent use.
type Sender struct {
	store   Store
	cfg     Config
	sub     string // Subscriber as webpush-go takes it
	client  *http.Client
	log     *slog.Logger
	slots   chan struct{} // notifications in flight
	waiting chan struct{} // deliveries started and not finished

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewSender returns a Sender. It returns an error when the key pair or
// the subscriber is unusable.
func NewSender(store Store, cfg Config) (*Sender, error) {
	if _, err := decodeKey(cfg.PublicKey); err != nil || cfg.PublicKey == "" {
		return nil, errors.New("webpush: a VAPID public key is required")
	}
	if _, err := decodeKey(cfg.PrivateKey); err != nil || cfg.PrivateKey == "" {
		return nil, errors.New("webpush: a VAPID private key is required")
	}
	var sub string
	switch {
	case strings.HasPrefix(cfg.Subscriber, "https://"):
		sub = cfg.Subscriber
	case strings.HasPrefix(cfg.Subscriber, "mailto:") && len(cfg.Subscriber) > len("mailto:"):
		// webpush-go adds the mailto: scheme itself.
		sub = strings.TrimPrefix(cfg.Subscriber, "mailto:")
	default:
		return nil, errors.New("webpush: the subscriber must be an https URL or a mailto: URI")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	s := &Sender{store: store, cfg: cfg, sub: sub, client: cfg.Client, log: cfg.Logger,
		slots: make(chan struct{}, cfg.Concurrency), waiting: make(chan struct{}, maxWaiting)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = guardedClient(cfg.AllowLoopback)
	}
	return s, nil
}

// Subscriber derives the VAPID contact from the server's public URL: the
// URL's origin when it is https, otherwise a mailto: address at its host.
func Subscriber(publicURL *url.URL) string {
	if publicURL == nil || publicURL.Hostname() == "" {
		return "mailto:webpush@localhost"
	}
	if publicURL.Scheme == "https" {
		return "https://" + publicURL.Host
	}
	return "mailto:webpush@" + publicURL.Hostname()
}

// errAddress is why a connection was refused.
var errAddress = errors.New("webpush: the push service's address is not a public one")

// guardedClient returns the default HTTP client: it connects only to
// allowed addresses (checked on the address actually dialled, so a DNS
// answer cannot aim it elsewhere) and returns redirects unfollowed.
func guardedClient(allowLoopback bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ip, ok := hostPortIP(address)
		if !ok || !allowedIP(ip, allowLoopback) {
			return errAddress
		}
		return nil
	}}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: DefaultTimeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Payload is the body of a notification before encryption: the request id
// and nothing else.
func Payload(requestID string) []byte {
	b, _ := json.Marshal(struct {
		ID string `json:"id"`
	}{requestID})
	return b
}

// Deliver sends a notification about p to device d in the background and
// returns at once; it has the signature of device.Pusher.Deliver. A device
// without a subscription gets nothing; an unusable subscription is logged
// and skipped. When the push service answers 404 or 410 the subscription
// is removed from the device. Failures are logged, never returned:
// delivery is best effort and the app fetches pending requests when
// opened. After Close it does nothing.
func (s *Sender) Deliver(ctx context.Context, d *deadbolt.Device, p *deadbolt.PushRequest) {
	if d == nil || p == nil {
		return
	}
	s.enqueue(ctx, d, "request "+p.ID, Payload(p.ID))
}

// NoticePayload is the body of a notice: only its kind (e.g.
// "phone.linked"), never the details.
func NoticePayload(kind string) []byte {
	b, _ := json.Marshal(struct {
		Notice string `json:"notice"`
	}{kind})
	return b
}

// Notice tells device d, in the background, that a factor of its employee
// changed. Like Deliver it returns at once and does nothing without a
// subscription.
func (s *Sender) Notice(ctx context.Context, d *deadbolt.Device, kind string) {
	if d == nil {
		return
	}
	s.enqueue(ctx, d, "notice "+kind, NoticePayload(kind))
}

// enqueue sends payload to d's subscription in the background.
func (s *Sender) enqueue(ctx context.Context, d *deadbolt.Device, label string, payload []byte) {
	if d.WebPush == "" {
		return
	}
	sub, err := ParseSubscription(d.WebPush, s.cfg.AllowLoopback)
	if err != nil {
		s.log.Warn("webpush: unusable subscription", "device_id", d.ID, "err", err)
		return
	}
	select {
	case s.waiting <- struct{}{}:
	default:
		s.log.Warn("webpush: too many notifications waiting; dropped", "device_id", d.ID, "what", label)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.waiting
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	deviceID := d.ID
	go func() {
		defer s.wg.Done()
		defer func() { <-s.waiting }()
		defer cancel()
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			s.log.Warn("webpush: no free slot in time; dropped", "device_id", deviceID, "what", label, "host", sub.Host())
			return
		}
		defer func() { <-s.slots }()
		s.send(ctx, deviceID, label, payload, sub)
	}()
}

// send posts one notification and acts on the answer.
func (s *Sender) send(ctx context.Context, deviceID, label string, payload []byte, sub *Subscription) {
	host := sub.Host()
	status, err := s.post(ctx, payload, sub)
	switch {
	case err != nil:
		s.log.Warn("webpush: delivery failed", "device_id", deviceID, "what", label, "host", host, "err", err)
	case status == http.StatusNotFound || status == http.StatusGone:
		if err := s.store.SetDeviceWebPush(ctx, deviceID, ""); err != nil {
			s.log.Warn("webpush: forget subscription", "device_id", deviceID, "host", host, "err", err)
			return
		}
		s.log.Info("webpush: subscription gone; removed", "device_id", deviceID, "host", host, "status", status)
	case status < 200 || status > 299:
		s.log.Warn("webpush: push service refused the notification", "device_id", deviceID, "what", label, "host", host, "status", status)
	default:
		s.log.Debug("webpush: delivered", "device_id", deviceID, "what", label, "host", host, "status", status)
	}
}

// post encrypts and sends the notification and returns the push service's
// status. Its errors never contain the endpoint.
func (s *Sender) post(ctx context.Context, payload []byte, sub *Subscription) (int, error) {
	resp, err := wp.SendNotificationWithContext(ctx, payload, &wp.Subscription{
		Endpoint: sub.Endpoint.String(),
		Keys: wp.Keys{
			P256dh: base64.RawURLEncoding.EncodeToString(sub.P256DH),
			Auth:   base64.RawURLEncoding.EncodeToString(sub.Auth),
		},
	}, &wp.Options{
		HTTPClient:      s.client,
		Subscriber:      s.sub,
		TTL:             TTL,
		Urgency:         wp.UrgencyHigh,
		VAPIDPublicKey:  s.cfg.PublicKey,
		VAPIDPrivateKey: s.cfg.PrivateKey,
	})
	if err != nil {
		// A *url.Error quotes the whole URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// Wait waits for the deliveries already started to finish (each ends
// within the timeout). Deliveries must not be started while it waits; use
// Close when they may be.
func (s *Sender) Wait() { s.wg.Wait() }

// Close stops accepting deliveries and waits for those in flight.
func (s *Sender) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}
