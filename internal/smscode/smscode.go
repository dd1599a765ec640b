// Package smscode sends and checks the 6-digit codes Deadbolt sends by text
// message: to sign in (bound to one pending sign-in), to renew a session's
// fresh proof, and to link a phone number to an employee's account. It also
// unlinks numbers, for employees and for administrators.
//
// Each code is bound to its purpose and to the number it went to, lives 5
// minutes, allows 5 tries, and is stored only as a keyed hash. Sending is
// limited per employee, per number, per IP and by a global hourly budget
// against SMS pumping; a resend replaces the previous code and is allowed
// after 60 seconds. The package knows nothing of HTTP or SQL.
package smscode

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/phone"
	"deadbolt/internal/sms"
)

// EventSMSSent is the audit event of a code sent by text message. Its
// detail names the purpose and the masked number, never the code.
const EventSMSSent = "sms.sent"

// Store is the persistence the service needs.
type Store interface {
	deadbolt.CounterStore
	deadbolt.DistinctStore
	deadbolt.PhoneStore
}

// Limit allows N events per Window.
type Limit struct {
	N      int
	Window time.Duration
}

// Config holds the rules for codes and sending. Start from DefaultConfig.
type Config struct {
	// CodeLifetime is how long a code stays valid.
	CodeLifetime time.Duration
	// MaxAttempts is the number of tries a code allows.
	MaxAttempts int
	// ResendAfter is how long after a code another of the same purpose
	// may be sent.
	ResendAfter time.Duration
	// PerUser, PerPhone and PerIP limit sends per employee, per number
	// and per client address.
	PerUser  Limit
	PerPhone Limit
	PerIP    Limit
	// LinkNumbers limits the different numbers one employee may ask to
	// link per window. Each gets the immediate answer (409 phone_in_use
	// for a number another account holds); past the limit a new number is
	// refused before it is looked up, so no one can probe which numbers
	// are registered. Asking again for a number already tried in the
	// window does not count.
	LinkNumbers Limit
	// HourlyBudget is the most codes sent per hour by the whole service;
	// past it, sending stops until the hour is over.
	HourlyBudget int
	// Region is the ISO 3166-1 region numbers typed without a country
	// code are read in.
	Region string
}

// DefaultConfig returns the product defaults (SPEC §2.3, §7).
func DefaultConfig() Config {
	return Config{
		CodeLifetime: 5 * time.Minute,
		MaxAttempts:  5,
		ResendAfter:  60 * time.Second,
		PerUser:      Limit{N: 10, Window: time.Hour},
		PerPhone:     Limit{N: 10, Window: time.Hour},
		PerIP:        Limit{N: 30, Window: time.Hour},
		LinkNumbers:  Limit{N: 5, Window: time.Hour},
		HourlyBudget: 1000,
		Region:       "US",
	}
}

// Validate reports the first unusable rule.
func (c Config) Validate() error {
	switch {
	case c.CodeLifetime <= 0:
		return errors.New("smscode: code lifetime must be positive")
	case c.MaxAttempts < 1:
		return errors.New("smscode: a code must allow at least one try")
	case c.ResendAfter < 0:
		return errors.New("smscode: resend interval must not be negative")
	case c.PerUser.N < 1 || c.PerUser.Window <= 0, c.PerPhone.N < 1 || c.PerPhone.Window <= 0,
		c.PerIP.N < 1 || c.PerIP.Window <= 0:
		return errors.New("smscode: every sending limit needs a positive count and window")
	case c.LinkNumbers.N < 1 || c.LinkNumbers.Window <= 0:
		return errors.New("smscode: the limit on numbers to link needs a positive count and window")
	case c.HourlyBudget < 1:
		return errors.New("smscode: the hourly budget must be at least 1")
	case !phone.ValidRegion(c.Region):
		return fmt.Errorf("smscode: %q is not a region code such as US or GB", c.Region)
	}
	return nil
}

// Service sends and checks SMS codes. It is safe for concurrent use.
type Service struct {
	store  Store
	sender sms.Sender
	key    []byte
	audit  *audit.Log
	clock  deadbolt.Clock
	cfg    Config
	log    *slog.Logger
}

// New returns a service sending through sender (nil when no provider is
// configured: then nothing can be sent and Enabled reports false). key
// keys the code hashes and must be at least 32 bytes. New returns an error
// for a short key or an invalid cfg.
func New(store Store, sender sms.Sender, key []byte, audit *audit.Log, clock deadbolt.Clock, cfg Config, log *slog.Logger) (*Service, error) {
	if len(key) < 32 {
		return nil, errors.New("smscode: the hash key must be at least 32 bytes")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, sender: sender, key: append([]byte(nil), key...), audit: audit,
		clock: clock, cfg: cfg, log: log}, nil
}

// Enabled reports whether a provider is configured, so codes can be sent.
func (s *Service) Enabled() bool { return s != nil && s.sender != nil }

// Config returns the rules in force.
func (s *Service) Config() Config { return s.cfg }

// Purposes a code is bound to.
func loginPurpose(sessionID string) string  { return "login:" + sessionID }
func reauthPurpose(sessionID string) string { return "reauth:" + sessionID }
func linkPurpose(userID string) string      { return "link:" + userID }

// SendLogin sends a sign-in code to the employee's linked number, bound to
// the pending sign-in pendingSessionID, and returns the masked number and
// the wait before another code may be asked for. Errors: CodeInvalidInput when the
// employee has no number or the second factor off; CodeRateLimited (with
// RetryAfter) before the resend interval or past a sending limit;
// CodeUnavailable when no provider is configured, the budget is spent or
// the provider failed.
func (s *Service) SendLogin(ctx context.Context, u *deadbolt.User, pendingSessionID, ip string) (maskedTo string, resendAfter time.Duration, err error) {
	if !u.TwoFactorEnabled() || u.Phone == "" {
		return "", 0, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Sign-in by SMS is not available for your account.")
	}
	return s.send(ctx, u, loginPurpose(pendingSessionID), u.Phone, "login", ip)
}

// SendReauth sends a code to the employee's linked number to renew the
// fresh proof of session sessionID. Errors as SendLogin.
func (s *Service) SendReauth(ctx context.Context, u *deadbolt.User, sessionID, ip string) (maskedTo string, resendAfter time.Duration, err error) {
	if !u.TwoFactorEnabled() || u.Phone == "" {
		return "", 0, deadbolt.Errorf(deadbolt.CodeInvalidInput, "Confirmation by SMS is not available for your account.")
	}
	return s.send(ctx, u, reauthPurpose(sessionID), u.Phone, "reauth", ip)
}

// LoginSent reports whether a code for the pending sign-in
// pendingSessionID was sent and is still live, and how long until another
// may be asked for (0 when one may be now), so that a page does not forget
// a code it sent. It sends and counts nothing.
func (s *Service) LoginSent(ctx context.Context, u *deadbolt.User, pendingSessionID string) (bool, time.Duration, error) {
	return s.sent(ctx, u, loginPurpose(pendingSessionID))
}

// ReauthSent is LoginSent for the codes of SendReauth.
func (s *Service) ReauthSent(ctx context.Context, u *deadbolt.User, sessionID string) (bool, time.Duration, error) {
	return s.sent(ctx, u, reauthPurpose(sessionID))
}

func (s *Service) sent(ctx context.Context, u *deadbolt.User, purpose string) (bool, time.Duration, error) {
	last, err := s.store.LatestSMSCode(ctx, purpose)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	now := s.clock.Now()
	if !last.Live() || !now.Before(last.ExpiresAt) || last.Phone != u.Phone {
		return false, 0, nil
	}
	return true, max(s.resendWait(last, now), 0), nil
}

// VerifyLogin reports whether code is the live code sent for the pending
// sign-in pendingSessionID to the employee's current number, using it up
// if so. Every call counts a try against the code; past MaxAttempts the
// code is dead. A wrong, expired, replaced or foreign code is false with
// a nil error; errors are the store's.
func (s *Service) VerifyLogin(ctx context.Context, u *deadbolt.User, pendingSessionID, code string) (bool, error) {
	return s.verify(ctx, u, loginPurpose(pendingSessionID), code, u.Phone)
}

// VerifyReauth is VerifyLogin for a code sent by SendReauth for session
// sessionID.
func (s *Service) VerifyReauth(ctx context.Context, u *deadbolt.User, sessionID, code string) (bool, error) {
	return s.verify(ctx, u, reauthPurpose(sessionID), code, u.Phone)
}

// StartLink parses input (read in the configured region) and sends a code
// to it, to link it to the employee's account once confirmed. Errors:
// CodeInvalidInput for a number that cannot be used (Extra "reason" holds
// the phone package's code) or that the employee already has;
// CodeRateLimited (with RetryAfter, Extra "reason" "phone_numbers") for a
// number beyond the different numbers Config.LinkNumbers allows the
// employee per window — before it is looked up; CodePhoneInUse when
// another account, deactivated or not, holds it; and those of SendLogin.
func (s *Service) StartLink(ctx context.Context, u *deadbolt.User, input, ip string) (maskedTo string, resendAfter time.Duration, err error) {
	e164, err := phone.Parse(input, s.cfg.Region)
	if err != nil {
		return "", 0, phoneError(err)
	}
	if e164 == u.Phone {
		return "", 0, deadbolt.Errorf(deadbolt.CodeInvalidInput, "This number is already linked to your account.")
	}
	if err := s.limitLinkNumbers(ctx, u, e164); err != nil {
		return "", 0, err
	}
	holder, err := s.store.UserByPhone(ctx, e164)
	switch {
	case err == nil && holder.ID != u.ID:
		return "", 0, phoneInUse()
	case err != nil && !deadbolt.IsCode(err, deadbolt.CodeNotFound):
		return "", 0, err
	}
	return s.send(ctx, u, linkPurpose(u.ID), e164, "link", ip)
}

// ConfirmLink checks the code sent by StartLink and links its number to
// the employee. Errors: CodeInvalidCode for a wrong, expired, replaced or
// spent code (5 tries per code), CodePhoneInUse if another account took
// the number meanwhile, CodeNotFound when no number is being linked.
func (s *Service) ConfirmLink(ctx context.Context, u *deadbolt.User, code, ip string) (string, error) {
	c, err := s.store.LatestSMSCode(ctx, linkPurpose(u.ID))
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return "", deadbolt.Errorf(deadbolt.CodeNotFound, "Enter your phone number first; we will send you a code.")
	}
	if err != nil {
		return "", err
	}
	ok, err := s.check(ctx, u, c, code, c.Phone)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", deadbolt.Errorf(deadbolt.CodeInvalidCode, "The code is not correct, or it has expired. Check the text message, or ask for a new code.")
	}
	now := s.clock.Now()
	if err := s.store.SetPhone(ctx, u.ID, c.Phone, now); err != nil {
		if deadbolt.IsCode(err, deadbolt.CodePhoneInUse) {
			return "", phoneInUse()
		}
		return "", err
	}
	detail := map[string]string{"phone": phone.Mask(c.Phone)}
	if u.Phone != "" {
		detail["previous"] = phone.Mask(u.Phone)
	}
	s.audit.Record(ctx, deadbolt.EventPhoneLinked, u.ID, "", ip, detail)
	u.Phone = c.Phone
	return c.Phone, nil
}

// Remove unlinks the employee's number. CodeNotFound when there is none.
func (s *Service) Remove(ctx context.Context, u *deadbolt.User, ip string) error {
	if err := s.store.ClearPhone(ctx, u.ID, s.clock.Now()); err != nil {
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return deadbolt.Errorf(deadbolt.CodeNotFound, "No phone number is linked to your account.")
		}
		return err
	}
	s.audit.Record(ctx, deadbolt.EventPhoneRemoved, u.ID, "", ip, map[string]string{"phone": phone.Mask(u.Phone)})
	u.Phone = ""
	return nil
}

// Holder returns the account holding a number, for administrators. The
// number may be typed in any form Parse reads, or as E.164. Errors:
// CodeInvalidInput when it is no phone number, CodeNotFound when no
// account holds it. The caller checks the role.
func (s *Service) Holder(ctx context.Context, number string) (*deadbolt.User, error) {
	e164, err := phone.Parse(number, s.cfg.Region)
	if err != nil {
		if !isE164(number) {
			return nil, phoneError(err)
		}
		// A stored number always parses; look up what was asked anyway.
		e164 = number
	}
	u, err := s.store.UserByPhone(ctx, e164)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "No account holds this phone number.")
	}
	return u, err
}

// RemoveByAdmin unlinks the number of employee u on an administrator's
// behalf (actorID "" for the operator at the command line), recording
// admin.phone_removed. CodeNotFound when u has none. The caller checks
// the role.
func (s *Service) RemoveByAdmin(ctx context.Context, u *deadbolt.User, actorID, ip string) error {
	if err := s.store.ClearPhone(ctx, u.ID, s.clock.Now()); err != nil {
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return deadbolt.Errorf(deadbolt.CodeNotFound, "This employee has no phone number linked.")
		}
		return err
	}
	s.audit.Record(ctx, deadbolt.EventAdminPhoneRemoved, u.ID, actorID, ip, map[string]string{"phone": phone.Mask(u.Phone)})
	u.Phone = ""
	return nil
}

// limitLinkNumbers admits e164 among the different numbers u may try to
// link in the current window (Config.LinkNumbers), counted in the store
// so every node agrees. The store keeps a keyed hash of each number, not
// the number.
func (s *Service) limitLinkNumbers(ctx context.Context, u *deadbolt.User, e164 string) error {
	now, lim := s.clock.Now(), s.cfg.LinkNumbers
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("link number\x00" + e164))
	d, err := s.store.AddDistinct(ctx, "sms:link-numbers:"+u.ID, hex.EncodeToString(m.Sum(nil)[:16]), lim.N, now, lim.Window)
	if err != nil {
		return err
	}
	if !d.Held {
		e := deadbolt.RateLimited(d.First.Add(lim.Window).Sub(now),
			"You have tried too many different phone numbers. Ask your administrator to link your number, or wait.")
		e.Extra = map[string]any{"reason": "phone_numbers"}
		return e
	}
	return nil
}

func phoneInUse() error {
	return deadbolt.Errorf(deadbolt.CodePhoneInUse,
		"This phone number is already linked to another account. Ask your administrator to remove it from that account, then try again.")
}

// phoneError turns a parse error into an invalid-input answer.
func phoneError(err error) error {
	var pe *phone.Error
	if errors.As(err, &pe) {
		e := deadbolt.Errorf(deadbolt.CodeInvalidInput, "%s", pe.Words)
		e.Extra = map[string]any{"reason": pe.Code}
		return e
	}
	return deadbolt.Errorf(deadbolt.CodeInvalidInput, "This is not a valid phone number.")
}

func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// send makes a code for purpose, stores its hash and sends it to e164.
func (s *Service) send(ctx context.Context, u *deadbolt.User, purpose, e164, kind, ip string) (maskedTo string, resendAfter time.Duration, err error) {
	if s.sender == nil {
		return "", 0, deadbolt.Errorf(deadbolt.CodeUnavailable, "Text messages are not set up on this server. %s", otherMethods(kind))
	}
	now := s.clock.Now()
	if last, err := s.store.LatestSMSCode(ctx, purpose); err == nil {
		if wait := s.resendWait(last, now); wait > 0 {
			return "", 0, deadbolt.RateLimited(wait, "A code was just sent. Enter it, or ask for a new one a little later.")
		}
	} else if !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return "", 0, err
	}
	if err := s.checkLimits(ctx, u, e164, kind, ip, now); err != nil {
		return "", 0, err
	}
	code, err := newCode()
	if err != nil {
		return "", 0, err
	}
	c := &deadbolt.SMSCode{ID: deadbolt.NewID(), UserID: u.ID, Purpose: purpose, Phone: e164,
		Hash: s.hash(purpose, code), SentAt: now, ExpiresAt: now.Add(s.cfg.CodeLifetime)}
	if err := s.store.CreateSMSCode(ctx, c, s.cfg.ResendAfter); err != nil {
		if deadbolt.IsCode(err, deadbolt.CodeConflict) {
			// Another request sent a code for this purpose at this moment.
			return "", 0, deadbolt.RateLimited(s.cfg.ResendAfter, "A code was just sent. Enter it, or ask for a new one a little later.")
		}
		return "", 0, err
	}
	err = s.sender.Send(ctx, sms.Message{To: e164, Body: sms.BodyIn(i18n.FromContext(ctx), code, s.cfg.CodeLifetime), Code: code})
	switch {
	case err == nil:
	case errors.Is(err, sms.ErrAmbiguous):
		// The message may have arrived: keep the code usable and never
		// send again by ourselves.
		s.log.WarnContext(ctx, "sms delivery unknown", "user_id", u.ID, "purpose", kind, "to", phone.Mask(e164), "err", err)
		return "", 0, deadbolt.Errorf(deadbolt.CodeUnavailable,
			"We could not confirm that the text message was sent. If it arrives, enter its code; otherwise ask for a new one in a minute. %s", otherMethods(kind))
	default:
		// Nothing was delivered: the code goes, so a new one may be asked
		// for at once.
		if verr := s.store.VoidSMSCode(context.WithoutCancel(ctx), c.ID); verr != nil {
			s.log.ErrorContext(ctx, "sms: cannot void unsent code", "user_id", u.ID, "err", verr)
		}
		s.log.WarnContext(ctx, "sms not sent", "user_id", u.ID, "purpose", kind, "to", phone.Mask(e164), "err", err)
		return "", 0, deadbolt.Errorf(deadbolt.CodeUnavailable,
			"We could not send the text message right now. %s", otherMethods(kind))
	}
	s.audit.Record(ctx, EventSMSSent, u.ID, "", ip, map[string]string{"purpose": kind, "to": phone.Mask(e164)})
	return phone.Mask(e164), s.cfg.ResendAfter, nil
}

// otherMethods is the advice that follows a failed send.
func otherMethods(kind string) deadbolt.Words {
	switch kind {
	case "login":
		return deadbolt.Phrase("Choose Other login methods: approve on your phone, enter the code from the app, or use a recovery code.")
	case "reauth":
		return deadbolt.Phrase("Confirm with your password, the code from the app, or a recovery code instead.")
	}
	return deadbolt.Phrase("Try again later.")
}

// resendWait is how long before another code of last's purpose may be sent.
func (s *Service) resendWait(last *deadbolt.SMSCode, now time.Time) time.Duration {
	if !last.Live() {
		return 0
	}
	return last.SentAt.Add(s.cfg.ResendAfter).Sub(now)
}

// checkLimits counts one send against every limit and refuses it when one
// is exceeded.
func (s *Service) checkLimits(ctx context.Context, u *deadbolt.User, e164, kind, ip string, now time.Time) error {
	type check struct {
		key   string
		limit Limit
		msg   deadbolt.Words
	}
	checks := []check{
		{"sms:user:" + u.ID, s.cfg.PerUser, deadbolt.Phrase("Too many text messages were sent to you. Use another method meanwhile.")},
		{"sms:phone:" + e164, s.cfg.PerPhone, deadbolt.Phrase("Too many text messages were sent to this number. Use another method meanwhile.")},
	}
	if ip != "" {
		checks = append(checks, check{"sms:ip:" + ip, s.cfg.PerIP, deadbolt.Phrase("Too many text messages were asked for from your network.")})
	}
	for _, c := range checks {
		n, err := s.store.Hit(ctx, c.key, now, c.limit.Window)
		if err != nil {
			return err
		}
		if n.N > int64(c.limit.N) {
			return deadbolt.RateLimited(n.First.Add(c.limit.Window).Sub(now), "%s", c.msg)
		}
	}
	n, err := s.store.Hit(ctx, "sms:global", now, time.Hour)
	if err != nil {
		return err
	}
	if n.N > int64(s.cfg.HourlyBudget) {
		if n.N == int64(s.cfg.HourlyBudget)+1 {
			s.log.ErrorContext(ctx, "sms budget exhausted", "budget", s.cfg.HourlyBudget,
				"until", n.First.Add(time.Hour).Format(time.RFC3339))
		}
		return deadbolt.Errorf(deadbolt.CodeUnavailable, "Text messages are paused for a while. %s", otherMethods(kind))
	}
	return nil
}

// verify checks code against the live code of purpose.
func (s *Service) verify(ctx context.Context, u *deadbolt.User, purpose, code, phoneNow string) (bool, error) {
	if phoneNow == "" {
		return false, nil
	}
	c, err := s.store.LatestSMSCode(ctx, purpose)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.check(ctx, u, c, code, phoneNow)
}

// check counts a try against c and, if the code matches, uses c up.
func (s *Service) check(ctx context.Context, u *deadbolt.User, c *deadbolt.SMSCode, code, phoneNow string) (bool, error) {
	now := s.clock.Now()
	if c.UserID != u.ID || c.Phone != phoneNow || !c.Live() || !now.Before(c.ExpiresAt) {
		return false, nil
	}
	tries, err := s.store.AttemptSMSCode(ctx, c.ID, now)
	if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if tries > s.cfg.MaxAttempts {
		return false, nil
	}
	norm, ok := normalize(code)
	if !ok || !hmac.Equal(s.hash(c.Purpose, norm), c.Hash) {
		return false, nil
	}
	return s.store.ConsumeSMSCode(ctx, c.ID, now)
}

// hash is the keyed hash of a code, bound to its purpose.
func (s *Service) hash(purpose, code string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// CodeDigits is the length of a code.
const CodeDigits = 6

// newCode returns a uniformly random 6-digit code.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("smscode: random: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// normalize reads a typed code: 6 ASCII digits, ignoring spaces and
// hyphens around or between them.
func normalize(code string) (string, bool) {
	if len(code) > 32 {
		return "", false
	}
	b := make([]byte, 0, CodeDigits)
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c >= '0' && c <= '9':
			if len(b) == CodeDigits {
				return "", false
			}
			b = append(b, c)
		case c == ' ' || c == '-':
		default:
			return "", false
		}
	}
	if len(b) != CodeDigits {
		return "", false
	}
	return string(b), true
}
