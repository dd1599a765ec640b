package main

import (
	"errors"
	"fmt"
	"strings"

	"deadbolt/internal/app"
	"deadbolt/internal/phone"
	"deadbolt/internal/sms"
)

// maxHourlyBudget bounds the sms-hourly-budget setting.
const maxHourlyBudget = 1_000_000

// maxNumbersPerHour bounds the phone-numbers-per-hour setting.
const maxNumbersPerHour = 1000

// smsSettings validates the SMS settings. Errors name the setting and
// never repeat a credential or the webhook address (it may carry one).
func smsSettings(v values) (app.SMSConfig, error) {
	var c app.SMSConfig
	region := strings.ToUpper(strings.TrimSpace(v["phone-region"]))
	if !phone.ValidRegion(region) {
		return c, settingError("phone-region", fmt.Errorf("%q is not a two-letter region code such as US or GB", v["phone-region"]))
	}
	c.Region = region
	budget, err := v.uint("sms-hourly-budget", maxHourlyBudget)
	if err != nil {
		return c, err
	}
	if budget == 0 {
		return c, settingError("sms-hourly-budget", errors.New("must be at least 1"))
	}
	c.HourlyBudget = int(budget)
	numbers, err := v.uint("phone-numbers-per-hour", maxNumbersPerHour)
	if err != nil {
		return c, err
	}
	if numbers == 0 {
		return c, settingError("phone-numbers-per-hour", errors.New("must be at least 1"))
	}
	c.NumbersPerHour = int(numbers)

	required := func(name string) error {
		if strings.TrimSpace(v[name]) == "" {
			return settingError(name, fmt.Errorf("is required with sms-provider %s", v["sms-provider"]))
		}
		return nil
	}
	switch c.Provider = strings.ToLower(strings.TrimSpace(v["sms-provider"])); c.Provider {
	case app.SMSProviderLog:
	case app.SMSProviderWebhook:
		if err := required("sms-webhook-url"); err != nil {
			return c, err
		}
		w := sms.WebhookConfig{URL: strings.TrimSpace(v["sms-webhook-url"])}
		if _, err := sms.NewWebhook(w, nil); err != nil {
			return c, settingError("sms-webhook-url", errors.New("must be an absolute http or https address without user information"))
		}
		switch w.Method = strings.ToUpper(strings.TrimSpace(v["sms-webhook-method"])); w.Method {
		case "POST", "PUT":
		default:
			return c, settingError("sms-webhook-method", fmt.Errorf("%q is not POST or PUT", v["sms-webhook-method"]))
		}
		switch w.Format = strings.ToLower(strings.TrimSpace(v["sms-webhook-format"])); w.Format {
		case "json", "form":
		default:
			return c, settingError("sms-webhook-format", fmt.Errorf("%q is not json or form", v["sms-webhook-format"]))
		}
		w.AuthHeader = v["sms-webhook-auth"]
		if _, err := sms.NewWebhook(w, nil); err != nil {
			return c, settingError("sms-webhook-auth", errors.New("must not contain control characters"))
		}
		c.Webhook = w
	case app.SMSProviderTwilio:
		for _, name := range []string{"twilio-account-sid", "twilio-auth-token", "twilio-from"} {
			if err := required(name); err != nil {
				return c, err
			}
		}
		t := sms.TwilioConfig{AccountSID: strings.TrimSpace(v["twilio-account-sid"]), AuthToken: "placeholder", From: "+14155550143"}
		if _, err := sms.NewTwilio(t, nil); err != nil {
			return c, settingError("twilio-account-sid", errors.New(`must be "AC" followed by 32 hex digits`))
		}
		t.AuthToken = strings.TrimSpace(v["twilio-auth-token"])
		if _, err := sms.NewTwilio(t, nil); err != nil {
			return c, settingError("twilio-auth-token", errors.New("must be printable ASCII"))
		}
		t.From = strings.TrimSpace(v["twilio-from"])
		if _, err := sms.NewTwilio(t, nil); err != nil {
			return c, settingError("twilio-from", errors.New("must be a number in E.164 form or a sender ID of at most 32 printable ASCII characters"))
		}
		c.Twilio = t
	default:
		return c, settingError("sms-provider", fmt.Errorf("%q is not log, webhook or twilio", v["sms-provider"]))
	}
	return c, nil
}
