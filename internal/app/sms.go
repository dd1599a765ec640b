package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/phone"
	"deadbolt/internal/seal"
	"deadbolt/internal/sms"
	"deadbolt/internal/smscode"
	"deadbolt/internal/web"
)

// SMS providers.
const (
	SMSProviderLog     = "log"
	SMSProviderWebhook = "webhook"
	SMSProviderTwilio  = "twilio"
)

// SMSConfig configures text messages.
type SMSConfig struct {
	// Provider is SMSProviderLog (the default when empty), SMSProviderWebhook
	// or SMSProviderTwilio. The log provider delivers nothing: outside
	// development mode it leaves SMS off.
	Provider string
	Webhook  sms.WebhookConfig
	Twilio   sms.TwilioConfig
	// Region is the default region of typed numbers; empty means "US".
	Region string
	// HourlyBudget caps the codes sent per hour; 0 means the default.
	HourlyBudget int
	// NumbersPerHour caps the different numbers one employee may try to
	// link per hour; 0 means the default (5).
	NumbersPerHour int
	// HTTPClient sends provider requests; nil means a default client.
	HTTPClient *http.Client
}

// outboxSize is how many messages the development outbox keeps.
const outboxSize = 200

// NewSMSSender returns the Sender c names, with the development outbox it
// writes to (log provider in development mode only). The sender is nil
// when SMS is off. Errors name what in c is invalid.
func NewSMSSender(c SMSConfig, dev bool, clock deadbolt.Clock, log *slog.Logger) (sms.Sender, *sms.Outbox, error) {
	switch c.Provider {
	case "", SMSProviderLog:
		if !dev {
			log.Warn("sms: the log provider delivers nothing outside development mode; SMS codes are off")
			return nil, nil, nil
		}
		out := sms.NewOutbox(outboxSize)
		return sms.NewLog(log, out, clock.Now), out, nil
	case SMSProviderWebhook:
		s, err := sms.NewWebhook(c.Webhook, c.HTTPClient)
		return s, nil, err
	case SMSProviderTwilio:
		s, err := sms.NewTwilio(c.Twilio, c.HTTPClient)
		return s, nil, err
	}
	return nil, nil, fmt.Errorf("sms: unknown provider %q (log, webhook or twilio)", c.Provider)
}

// newSMS builds the SMS code service and, with the log provider in
// development mode, the outbox reader of the /dev/sms route.
func newSMS(c Config, st deadbolt.Store, auditLog *audit.Log, clock deadbolt.Clock, box *seal.Box, log *slog.Logger) (*smscode.Service, func() []web.DevMessage, error) {
	sender, outbox, err := NewSMSSender(c.SMS, c.Dev, clock, log)
	if err != nil {
		return nil, nil, err
	}
	cfg := smscode.DefaultConfig()
	if c.SMS.Region != "" {
		if !phone.ValidRegion(c.SMS.Region) {
			return nil, nil, fmt.Errorf("sms: %q is not a region code such as US or GB", c.SMS.Region)
		}
		cfg.Region = c.SMS.Region
	}
	if c.SMS.HourlyBudget < 0 {
		return nil, nil, errors.New("sms: the hourly budget must not be negative")
	}
	if c.SMS.HourlyBudget > 0 {
		cfg.HourlyBudget = c.SMS.HourlyBudget
	}
	if c.SMS.NumbersPerHour < 0 {
		return nil, nil, errors.New("sms: the phone numbers per hour must not be negative")
	}
	if c.SMS.NumbersPerHour > 0 {
		cfg.LinkNumbers.N = c.SMS.NumbersPerHour
	}
	svc, err := smscode.New(st, sender, box.Subkey("deadbolt sms codes v1"), auditLog, clock, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	var list func() []web.DevMessage
	if outbox != nil {
		list = func() []web.DevMessage {
			msgs := outbox.Messages()
			out := make([]web.DevMessage, len(msgs))
			for i, m := range msgs {
				out[i] = web.DevMessage{To: m.To, Body: m.Body, Code: m.Code, SentAt: m.SentAt.UTC().Format(time.RFC3339)}
			}
			return out
		}
	}
	return svc, list, nil
}
