package device

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"deadbolt/internal/deadbolt"
)

// PushConfig holds the push rules (SPEC §4).
type PushConfig struct {
	Lifetime  time.Duration // a request lives this long
	PerWindow int           // at most this many requests per employee …
	Window    time.Duration // … per this window
	Mute      time.Duration // "This wasn't me" stops pushes this long
	App       string        // what is being signed into, shown on the phone
	// Digits is the length of the number the browser shows and the
	// employee types on the phone: MinDigits to MaxDigits.
	Digits int
}

// The allowed lengths of the push number (NIST SP 800-63B rev 4 §3.1.3
// asks for at least six digits carried from the browser to the phone).
const (
	MinDigits     = 6
	MaxDigits     = 8
	DefaultDigits = 6
)

// DefaultPushConfig returns the product defaults.
func DefaultPushConfig() PushConfig {
	return PushConfig{Lifetime: 2 * time.Minute, PerWindow: 5, Window: 15 * time.Minute, Mute: 60 * time.Minute,
		App: "Deadbolt", Digits: DefaultDigits}
}

// Validate reports a rule out of range: a number shorter than MinDigits
// or longer than MaxDigits, or a lifetime, limit or window that is not
// positive.
func (c PushConfig) Validate() error {
	if c.Digits < MinDigits || c.Digits > MaxDigits {
		return fmt.Errorf("push number length %d is not from %d to %d digits", c.Digits, MinDigits, MaxDigits)
	}
	if c.Lifetime <= 0 || c.PerWindow <= 0 || c.Window <= 0 || c.Mute < 0 {
		return fmt.Errorf("push lifetime, limit and window must be positive")
	}
	return nil
}

// NewNumber returns a uniformly random number of exactly digits decimal
// digits (6 → 100000–999999) from crypto/rand. It panics when digits is
// outside MinDigits..MaxDigits, which Validate rules out.
func NewNumber(digits int) (int, error) {
	if digits < MinDigits || digits > MaxDigits {
		panic(fmt.Sprintf("device: push number of %d digits", digits))
	}
	low := int64(1)
	for range digits - 1 {
		low *= 10
	}
	n, err := rand.Int(rand.Reader, big.NewInt(9*low))
	if err != nil {
		return 0, err
	}
	return int(low + n.Int64()), nil
}

// NumberMatches reports whether typed is the request's number, comparing
// in constant time (the time taken tells nothing of how many digits were
// right). A missing or negative number never matches.
func NumberMatches(typed *int, want int) bool {
	if typed == nil || *typed < 0 {
		return false
	}
	var a, b [8]byte
	binary.BigEndian.PutUint64(a[:], uint64(*typed))
	binary.BigEndian.PutUint64(b[:], uint64(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// PushStore is the persistence push needs.
type PushStore interface {
	Store
	deadbolt.PushStore
	deadbolt.CounterStore
}

// Pusher sends and decides push requests. It is safe for concurrent use.
type Pusher struct {
	svc    *Service
	store  PushStore
	notify deadbolt.Notifier
	cfg    PushConfig
	// Deliver, if set, is called after a request is created (Web Push).
	Deliver func(ctx context.Context, d *deadbolt.Device, p *deadbolt.PushRequest)
}

// NewPusher returns a Pusher over the device service's store. A zero
// cfg.Digits means DefaultDigits; the caller validates cfg (Validate).
func NewPusher(svc *Service, store PushStore, n deadbolt.Notifier, cfg PushConfig) *Pusher {
	if cfg.Digits == 0 {
		cfg.Digits = DefaultDigits
	}
	return &Pusher{svc: svc, store: store, notify: n, cfg: cfg}
}

// Digits returns the length of the numbers this Pusher makes.
func (p *Pusher) Digits() int { return p.cfg.Digits }

// DeviceTopic is the wake-up topic of an employee's devices.
func DeviceTopic(userID string) string { return "device:" + userID }

// RequestTopic is the wake-up topic of one push request.
func RequestTopic(id string) string { return "push:" + id }

// Reasons push is unavailable, in the push_unavailable field of /login.
const (
	UnavailableRateLimited = "rate_limited"
	UnavailableMuted       = "muted"
)

func unavailable(reason string, wait time.Duration, format string, args ...any) error {
	e := deadbolt.RateLimited(wait, format, args...)
	e.Extra = map[string]any{"push_unavailable": reason}
	return e
}

// UnavailableReason returns the push_unavailable reason carried by err, or "".
func UnavailableReason(err error) string {
	if e, ok := err.(*deadbolt.Error); ok && e.Extra != nil {
		if r, ok := e.Extra["push_unavailable"].(string); ok {
			return r
		}
	}
	return ""
}

func muteKey(userID string) string { return "push:mute:" + userID }
func sentKey(userID string) string { return "push:sent:" + userID }

// Send creates a push request for the pending session and wakes the
// employee's device. While the employee muted pushes ("This wasn't me") or
// after PerWindow requests in Window, it answers CodeRateLimited carrying
// the reason (UnavailableReason). CodeNotFound when no trusted device.
func (p *Pusher) Send(ctx context.Context, u *deadbolt.User, sessionID, ip, userAgent string) (*deadbolt.PushRequest, error) {
	return p.send(ctx, u, sessionID, deadbolt.PushSignIn, ip, userAgent)
}

// SendReauth creates a push request that renews the fresh proof of the
// full session sessionID, under the same rules and answers as Send (the
// same limit counts both). The device shows it as a confirmation.
func (p *Pusher) SendReauth(ctx context.Context, u *deadbolt.User, sessionID, ip, userAgent string) (*deadbolt.PushRequest, error) {
	return p.send(ctx, u, sessionID, deadbolt.PushReauth, ip, userAgent)
}

// Paused reports whether pushes to the employee are muted (after "This
// wasn't me") or limited now, without counting anything: the reason
// (UnavailableMuted, UnavailableRateLimited; "" when pushes may be sent)
// and how long it lasts.
func (p *Pusher) Paused(ctx context.Context, userID string) (string, time.Duration, error) {
	now := p.svc.clock.Now()
	mute, err := p.store.Counter(ctx, muteKey(userID))
	if err != nil {
		return "", 0, err
	}
	if mute.N > 0 && now.Before(mute.Last.Add(p.cfg.Mute)) {
		return UnavailableMuted, mute.Last.Add(p.cfg.Mute).Sub(now), nil
	}
	sent, err := p.store.Counter(ctx, sentKey(userID))
	if err != nil {
		return "", 0, err
	}
	if end := sent.First.Add(p.cfg.Window); sent.N >= int64(p.cfg.PerWindow) && now.Before(end) {
		return UnavailableRateLimited, end.Sub(now), nil
	}
	return "", 0, nil
}

func (p *Pusher) send(ctx context.Context, u *deadbolt.User, sessionID, purpose, ip, userAgent string) (*deadbolt.PushRequest, error) {
	d, err := p.store.TrustedDevice(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	now := p.svc.clock.Now()
	mute, err := p.store.Counter(ctx, muteKey(u.ID))
	if err != nil {
		return nil, err
	}
	if mute.N > 0 && now.Before(mute.Last.Add(p.cfg.Mute)) {
		return nil, unavailable(UnavailableMuted, mute.Last.Add(p.cfg.Mute).Sub(now),
			"Sign-in requests to your phone are paused because you reported one that was not you. Use another method.")
	}
	sent, err := p.store.Hit(ctx, sentKey(u.ID), now, p.cfg.Window)
	if err != nil {
		return nil, err
	}
	if sent.N > int64(p.cfg.PerWindow) {
		return nil, unavailable(UnavailableRateLimited, sent.First.Add(p.cfg.Window).Sub(now),
			"Too many sign-in requests were sent to your phone. Use another method.")
	}
	number, err := NewNumber(p.cfg.Digits)
	if err != nil {
		return nil, err
	}
	browser, os := ParseUserAgent(userAgent)
	req := &deadbolt.PushRequest{
		ID: deadbolt.NewID(), UserID: u.ID, SessionID: sessionID, Purpose: purpose, DeviceID: d.ID, Number: number,
		Status: deadbolt.PushPending, CreatedAt: now, ExpiresAt: now.Add(p.cfg.Lifetime),
		Context: map[string]string{"app": p.cfg.App, "browser": browser, "os": os, "ip": ip, "time": now.Format(time.RFC3339)},
	}
	if err := p.store.CreatePushRequest(ctx, req); err != nil {
		return nil, err
	}
	p.notify.Publish(ctx, DeviceTopic(u.ID))
	if p.Deliver != nil {
		p.Deliver(ctx, d, req)
	}
	return req, nil
}

// Pending lists the live requests waiting for the device.
func (p *Pusher) Pending(ctx context.Context, d *deadbolt.Device) ([]*deadbolt.PushRequest, error) {
	list, err := p.store.PendingPushRequests(ctx, d.UserID, p.svc.clock.Now())
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, r := range list {
		if r.DeviceID == d.ID {
			out = append(out, r)
		}
	}
	return out, nil
}

// Decision is what the device sends about a request; the signature is
// over SignedMessage.
type Decision = deadbolt.PushDecision

// SignedMessage is what the device signs for a decision.
func SignedMessage(id, decision string, number *int) []byte {
	n := ""
	if number != nil {
		n = strconv.Itoa(*number)
	}
	return []byte("deadbolt-push-v1\n" + id + "\n" + decision + "\n" + n)
}

// VerifySignature checks a decision's signature with the device key.
func VerifySignature(der []byte, msg []byte, sig string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(raw) != 64 {
		return false
	}
	pk, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return false
	}
	ec, ok := pk.(*ecdsa.PublicKey)
	if !ok {
		return false
	}
	h := sha256.Sum256(msg)
	r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
	return ecdsa.Verify(ec, h[:], r, s)
}

// Open checks the device's decision on request id before anything is
// counted or changed: its shape (CodeInvalidInput), the signature with the
// device key (CodeUnauthorized), that the request is this device's
// (CodeNotFound) and still waiting (CodeConflict). It returns the request. The sign-in service then counts
// an approval as an attempt and calls Settle (or Refuse).
func (p *Pusher) Open(ctx context.Context, d *deadbolt.Device, id string, dec Decision) (*deadbolt.PushRequest, error) {
	if !deadbolt.ValidID(id) {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Request not found.")
	}
	if dec.Decision != "approve" && dec.Decision != "deny" {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, `decision must be "approve" or "deny".`)
	}
	if dec.Report && dec.Decision != "deny" {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "A report is a denial.")
	}
	if dec.Decision == "approve" && dec.Number == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Type the number shown on the sign-in screen.")
	}
	if !VerifySignature(d.PublicKey, SignedMessage(id, dec.Decision, dec.Number), dec.Signature) {
		return nil, deadbolt.Errorf(deadbolt.CodeUnauthorized, "The signature does not match this device's key.")
	}
	req, err := p.store.PushRequest(ctx, id)
	if err != nil {
		return nil, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Request not found.")
	}
	if req.DeviceID != d.ID {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Request not found.")
	}
	if req.StatusAt(p.svc.clock.Now()) != deadbolt.PushPending {
		return nil, deadbolt.Errorf(deadbolt.CodeConflict, "This request was already answered or has expired.")
	}
	return req, nil
}

// Settle records an opened decision on req. An approval with the
// request's number approves it; with another number it ends denied (no
// second guess). A report denies, records a security event and mutes
// pushes. CodeConflict when the request was already answered or has
// expired. It returns the final status.
func (p *Pusher) Settle(ctx context.Context, d *deadbolt.Device, req *deadbolt.PushRequest, dec Decision, ip string) (string, error) {
	now := p.svc.clock.Now()
	status := deadbolt.PushDenied
	wrong := false
	if dec.Decision == "approve" {
		// A number of the wrong length is a wrong number too: the
		// request ends denied, with no second guess.
		if NumberMatches(dec.Number, req.Number) {
			status = deadbolt.PushApproved
		} else {
			wrong = true
		}
	}
	if err := p.decide(ctx, d, req, status, dec.Report, now); err != nil {
		return "", err
	}
	switch {
	case dec.Report:
		if _, err := p.store.Hit(ctx, muteKey(d.UserID), now, 0); err != nil {
			return "", err
		}
		p.svc.audit.Record(ctx, deadbolt.EventPushReported, d.UserID, "", ip, map[string]string{"request_id": req.ID, "ip": req.Context["ip"]})
	case status == deadbolt.PushDenied:
		reason := "denied"
		if wrong {
			reason = "wrong_number"
		}
		p.svc.audit.Record(ctx, deadbolt.EventPushDenied, d.UserID, "", ip, map[string]string{"request_id": req.ID, "reason": reason})
	}
	return status, nil
}

// Refuse ends an opened request denied without looking at its number (the
// employee's second factor is locked); reason goes into the audit event.
// CodeConflict when the request was already answered or has expired.
func (p *Pusher) Refuse(ctx context.Context, d *deadbolt.Device, req *deadbolt.PushRequest, reason, ip string) error {
	if err := p.decide(ctx, d, req, deadbolt.PushDenied, false, p.svc.clock.Now()); err != nil {
		return err
	}
	p.svc.audit.Record(ctx, deadbolt.EventPushDenied, d.UserID, "", ip, map[string]string{"request_id": req.ID, "reason": reason})
	return nil
}

// decide sets a pending request's status and wakes who waits on it.
func (p *Pusher) decide(ctx context.Context, d *deadbolt.Device, req *deadbolt.PushRequest, status string, report bool, now time.Time) error {
	ok, err := p.store.DecidePushRequest(ctx, req.ID, d.ID, status, report, now)
	if err != nil {
		return err
	}
	if !ok {
		return deadbolt.Errorf(deadbolt.CodeConflict, "This request was already answered or has expired.")
	}
	p.notify.Publish(ctx, RequestTopic(req.ID))
	p.notify.Publish(ctx, DeviceTopic(d.UserID))
	return nil
}
