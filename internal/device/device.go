// Package device pairs employees' phones (or the CLI companion) as trusted
// devices: one-time pairing offers shown as QR codes, device registration
// with an ECDSA P-256 public key, confirmation by the device's current
// TOTP code, and device authentication by token. It knows nothing of HTTP
// or SQL.
package device

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"image"
	"image/draw"
	"image/png"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/seal"
	"deadbolt/internal/totp"
)

// Store is the persistence pairing needs.
type Store interface {
	deadbolt.UserStore
	deadbolt.FactorStore
	SetDeviceWebPush(ctx context.Context, deviceID, subscription string) error
}

// Service pairs and authenticates devices. It is safe for concurrent use.
type Service struct {
	store      Store
	box        *seal.Box
	audit      *audit.Log
	clock      deadbolt.Clock
	publicURL  string
	pairingTTL time.Duration
	issuer     string

	// ValidateWebPush, if set, checks a PushSubscription before it is
	// kept (CodeInvalidInput when it is unusable).
	ValidateWebPush func(subscription string) error
	// Notifier, if set, wakes the employee's open companion apps when
	// their device is disconnected.
	Notifier deadbolt.Notifier
	// Gate counts pairing confirmations before their codes are checked;
	// without one no pairing is confirmed.
	Gate Gate
}

// New returns a device service. publicURL is the server's public address
// (pairing URLs point at its /app).
func New(store Store, box *seal.Box, audit *audit.Log, clock deadbolt.Clock, publicURL string) *Service {
	return &Service{store: store, box: box, audit: audit, clock: clock,
		publicURL: strings.TrimSuffix(publicURL, "/"), pairingTTL: 10 * time.Minute, issuer: "Deadbolt"}
}

// Offer is a pairing offer to show as a QR code.
type Offer struct {
	ID        string
	Token     string
	URL       string
	QRPNG     []byte
	ExpiresAt time.Time
}

func randomToken() (string, []byte) {
	var b [32]byte // 256 bits
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

func hashToken(tok string) ([]byte, bool) {
	if len(tok) != 43 {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(tok); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	return h[:], true
}

// StartPairing creates a one-time pairing offer for u (the caller has
// checked the fresh proof).
func (s *Service) StartPairing(ctx context.Context, u *deadbolt.User) (*Offer, error) {
	tok, h := randomToken()
	now := s.clock.Now()
	p := &deadbolt.Pairing{ID: deadbolt.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.pairingTTL)}
	if err := s.store.CreatePairing(ctx, p, h); err != nil {
		return nil, err
	}
	o := &Offer{ID: p.ID, Token: tok, URL: s.publicURL + "/app/pair#" + tok, ExpiresAt: p.ExpiresAt}
	var err error
	if o.QRPNG, err = QRCode(o.URL, 320); err != nil {
		return nil, err
	}
	return o, nil
}

// QRCode renders text as a PNG QR code of size×size pixels, with the
// white quiet zone around it that scanners need.
func QRCode(text string, size int) ([]byte, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	modules := code.Bounds().Dx()
	quiet := 4 // modules of white border, as the QR standard asks
	px := size / (modules + 2*quiet)
	if px < 1 {
		px = 1
	}
	inner := px * modules
	if code, err = barcode.Scale(code, inner, inner); err != nil {
		return nil, err
	}
	full := inner + 2*quiet*px
	img := image.NewGray(image.Rect(0, 0, full, full))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	off := quiet * px
	draw.Draw(img, image.Rect(off, off, off+inner, off+inner), code, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PairRequest is what a device sends to register.
type PairRequest struct {
	Token     string
	PublicKey string // base64url DER SPKI of an ECDSA P-256 key
	Name      string
	Platform  string
	WebPush   string // PushSubscription JSON, optional
}

// Paired is what a device receives once registered.
type Paired struct {
	DeviceID    string
	DeviceToken string
	Secret      []byte
	User        *deadbolt.User
}

// ParsePublicKey decodes a base64url SPKI ECDSA P-256 public key.
func ParsePublicKey(s string) (*ecdsa.PublicKey, []byte, error) {
	bad := deadbolt.Errorf(deadbolt.CodeInvalidInput, "public_key must be a base64url ECDSA P-256 SubjectPublicKeyInfo.")
	der, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(der) > 512 {
		return nil, nil, bad
	}
	pk, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, nil, bad
	}
	ec, ok := pk.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, nil, bad
	}
	return ec, der, nil
}

func cleanText(s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", deadbolt.Errorf(deadbolt.CodeInvalidInput, "Names are at most %d characters without control characters.", max)
	}
	return s, nil
}

// Pair registers a device with a pairing token. The token is consumed by
// one atomic statement: of many devices racing with one token, one wins;
// the others, like an expired or unknown token, get CodeNotFound.
func (s *Service) Pair(ctx context.Context, r PairRequest, ip string) (*Paired, error) {
	h, ok := hashToken(r.Token)
	if !ok {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "This pairing code is not valid. Show a new QR code.")
	}
	_, der, err := ParsePublicKey(r.PublicKey)
	if err != nil {
		return nil, err
	}
	name, err := cleanText(r.Name, 100)
	if err != nil {
		return nil, err
	}
	platform, err := cleanText(r.Platform, 40)
	if err != nil {
		return nil, err
	}
	if err := s.checkWebPush(r.WebPush); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	p, err := s.store.ConsumePairing(ctx, h, now)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "This pairing code was used or has expired. Show a new QR code.")
	}
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Active {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "This pairing code is not valid.")
	}
	secret, err := totp.GenerateSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	tok, th := randomToken()
	d := &deadbolt.Device{ID: deadbolt.NewID(), UserID: u.ID, PairingID: p.ID, Name: name, Platform: platform,
		PublicKey: der, WebPush: r.WebPush, CreatedAt: now}
	d.TOTPSecretSealed = s.box.Seal(secret, "totp:"+d.ID)
	if err := s.store.CreateDevice(ctx, d, th); err != nil {
		return nil, err
	}
	s.audit.Record(ctx, deadbolt.EventDevicePaired, u.ID, "", ip, map[string]string{"device_id": d.ID, "platform": platform})
	return &Paired{DeviceID: d.ID, DeviceToken: tok, Secret: secret, User: u}, nil
}

// Confirmation is the factor change that makes deviceID the employee's
// trusted device once its pairing is confirmed with the code of TOTP step
// step (0 for none): the device becomes trusted and replaces any earlier
// device, every recovery code stops working (SPEC: pairing voids them),
// the second factor turns on if it was off, and the "confirm your device"
// mark is cleared — all in one transaction with the step's use and
// events.
func Confirmation(userID, deviceID string, step int64, now time.Time, events ...*deadbolt.Event) *deadbolt.FactorChange {
	return &deadbolt.FactorChange{UserID: userID, Now: now, ConfirmDeviceID: deviceID, TOTPStep: step,
		Disconnect: deadbolt.DisconnectOthers, DeleteRecoveryCodes: true, TwoFactor: deadbolt.TwoFactorOn,
		ClearDeviceDisconnected: true, Events: events}
}

// Gate counts a proof before it is checked: the sign-in service's attempt
// gate (signin.Service.CheckPairingCode).
type Gate interface {
	// CheckPairingCode counts one pairing confirmation of userID, decides
	// from the count, and only then calls check, which reports whether the
	// code is right; commit then confirms with the streak's guard
	// (FactorChange.Guard) and reports false when the code was used
	// meanwhile. It answers CodeLocked, CodeRateLimited or CodeInvalidCode
	// without a confirmation, or what check or commit returned.
	CheckPairingCode(ctx context.Context, userID, ip string, check func() (bool, error),
		commit func(guard *deadbolt.CounterGuard) (bool, error)) error
}

// Confirm makes the device registered through pairingID the trusted
// device, given the device's current code (the employee types what the
// phone shows into the browser that showed the QR). It turns the second
// factor on, replaces any earlier device and voids every recovery code;
// it returns how many unused codes were voided. The code is a guess like
// any second factor's: it passes the attempt gate (Gate) — counted in the
// employee's second-factor streak before it is checked, so many codes sent
// at once get no more checks than the same number sent one by one, and a
// locked employee confirms no device (CodeLocked; CodeRateLimited during
// the delays); a right one ends the streak in the confirmation's
// transaction, as any second-factor success does, unless a lock was
// reached meanwhile. The code's TOTP step is used up in the same
// transaction as the confirmation, so a confirmation that fails leaves
// the code unused.
// A wrong or used code is CodeInvalidCode; an unknown pairing, one no
// device used yet, or one already finished is CodeNotFound (not counted:
// nothing secret was tried). Without a Gate nothing is confirmed
// (CodeUnavailable).
func (s *Service) Confirm(ctx context.Context, u *deadbolt.User, pairingID, code, ip string) (int, error) {
	if !deadbolt.ValidID(pairingID) {
		return 0, deadbolt.Errorf(deadbolt.CodeNotFound, "Pairing not found.")
	}
	if s.Gate == nil {
		return 0, deadbolt.Errorf(deadbolt.CodeUnavailable, "Try again later.")
	}
	d, err := s.store.DeviceByPairing(ctx, u.ID, pairingID)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return 0, deadbolt.Errorf(deadbolt.CodeNotFound, "No device has scanned this QR code yet.")
	}
	if err != nil {
		return 0, err
	}
	finished := deadbolt.Errorf(deadbolt.CodeNotFound, "This pairing is already finished. Show a new QR code.")
	if !d.ConfirmedAt.IsZero() || !d.DisconnectedAt.IsZero() {
		return 0, finished
	}
	secret, err := s.box.Open(d.TOTPSecretSealed, "totp:"+d.ID)
	if err != nil {
		return 0, err
	}
	var (
		res       deadbolt.FactorChangeResult
		confirmed *deadbolt.Event
		step      int64
		now       time.Time
	)
	check := func() (bool, error) {
		c, err := totp.ParseCode(code)
		if err != nil {
			return false, nil
		}
		now = s.clock.Now()
		var ok bool
		step, ok = totp.Match(secret, c, now, u.TOTPLastStep)
		return ok, nil
	}
	commit := func(guard *deadbolt.CounterGuard) (bool, error) {
		confirmed = &deadbolt.Event{Type: deadbolt.EventDeviceConfirmed, At: now, UserID: u.ID, IP: ip,
			Detail: map[string]string{"device_id": d.ID, "name": d.Name}}
		change := Confirmation(u.ID, d.ID, step, now, confirmed)
		change.Guard = guard
		var err error
		res, err = s.store.ChangeFactors(ctx, change)
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return false, finished // another confirmation, or an unpairing, came first
		}
		return res.Applied, err // not applied: the step was used meanwhile
	}
	err = s.Gate.CheckPairingCode(ctx, u.ID, ip, check, commit)
	if deadbolt.IsCode(err, deadbolt.CodeInvalidCode) {
		return 0, deadbolt.Errorf(deadbolt.CodeInvalidCode, "The code is not correct. Type the 6 digits the app shows now.")
	}
	if err != nil {
		return 0, err
	}
	s.audit.Committed(ctx, confirmed)
	// The new device's open app learns at once that its pairing is
	// confirmed, and a replaced device's that it is disconnected.
	s.WakeDevices(ctx, u.ID)
	if res.VoidedRecoveryCodes > 0 {
		s.audit.Record(ctx, deadbolt.EventRecoveryVoided, u.ID, "", ip, map[string]string{"reason": "device_paired"})
	}
	return res.VoidedRecoveryCodes, nil
}

// Remove disconnects the employee's devices (the employee unpairs). The
// second factor stays on. Without a trusted device it is CodeNotFound.
func (s *Service) Remove(ctx context.Context, u *deadbolt.User, ip string) error {
	res, err := s.store.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: s.clock.Now(), Disconnect: deadbolt.DisconnectAll})
	if err != nil {
		return err
	}
	if !res.DisconnectedTrusted {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "You have no trusted device.")
	}
	s.audit.Record(ctx, deadbolt.EventDeviceRemoved, u.ID, "", ip, nil)
	s.WakeDevices(ctx, u.ID)
	return nil
}

// WakeDevices wakes the employee's open companion apps so that they
// re-check their connection (after a disconnection).
func (s *Service) WakeDevices(ctx context.Context, userID string) {
	if s.Notifier != nil {
		s.Notifier.Publish(ctx, DeviceTopic(userID))
	}
}

func (s *Service) checkWebPush(sub string) error {
	if sub == "" {
		return nil
	}
	if len(sub) > 4096 {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "webpush is too large.")
	}
	if s.ValidateWebPush != nil {
		return s.ValidateWebPush(sub)
	}
	return nil
}

// SetWebPush replaces the device's Web Push subscription ("" removes it),
// for apps that subscribe after pairing.
func (s *Service) SetWebPush(ctx context.Context, d *deadbolt.Device, sub string) error {
	if err := s.checkWebPush(sub); err != nil {
		return err
	}
	return s.store.SetDeviceWebPush(ctx, d.ID, sub)
}

// Authenticate returns the connected device behind a device token and its
// employee. A disconnected device, an unknown token or a deactivated
// employee is CodeDeviceDisconnected.
func (s *Service) Authenticate(ctx context.Context, token string) (*deadbolt.Device, *deadbolt.User, error) {
	gone := deadbolt.Errorf(deadbolt.CodeDeviceDisconnected, "This device is disconnected. Scan a new QR code from the Security page to pair it again.")
	h, ok := hashToken(token)
	if !ok {
		return nil, nil, gone
	}
	d, err := s.store.DeviceByToken(ctx, h)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, nil, gone
	}
	if err != nil {
		return nil, nil, err
	}
	if !d.DisconnectedAt.IsZero() {
		return nil, nil, gone
	}
	u, err := s.store.UserByID(ctx, d.UserID)
	if err != nil {
		return nil, nil, err
	}
	if !u.Active {
		return nil, nil, gone
	}
	return d, u, nil
}

// Trusted returns the employee's trusted device, or nil.
func (s *Service) Trusted(ctx context.Context, u *deadbolt.User) (*deadbolt.Device, error) {
	d, err := s.store.TrustedDevice(ctx, u.ID)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, nil
	}
	return d, err
}

// OTPAuthURI returns the otpauth:// URI of a secret, for authenticator apps.
func (s *Service) OTPAuthURI(u *deadbolt.User, secret []byte) string {
	return totp.URI(s.issuer, u.Login, secret)
}
