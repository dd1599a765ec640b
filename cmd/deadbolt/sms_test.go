package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/app"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/sqlite"
)

// smsEnv is a getenv over name/value pairs.
func smsEnv(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestSMSSettings(t *testing.T) {
	const sid = "AC0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		args  []string
		env   []string
		want  string // a setting the error names; "" for success
		check func(t *testing.T, c app.SMSConfig)
		never string // text the error must not repeat
	}{
		{name: "defaults", check: func(t *testing.T, c app.SMSConfig) {
			if c.Provider != "log" || c.Region != "US" || c.HourlyBudget != 1000 || c.NumbersPerHour != 5 {
				t.Errorf("defaults = %+v, want log, US, 1000, 5", c)
			}
		}},
		{name: "region lower-case", args: []string{"--phone-region", "gb"}, check: func(t *testing.T, c app.SMSConfig) {
			if c.Region != "GB" {
				t.Errorf("Region = %q, want GB", c.Region)
			}
		}},
		{name: "unknown region", args: []string{"--phone-region", "XX"}, want: "phone-region"},
		{name: "budget zero", args: []string{"--sms-hourly-budget", "0"}, want: "sms-hourly-budget"},
		{name: "budget words", args: []string{"--sms-hourly-budget", "lots"}, want: "sms-hourly-budget"},
		{name: "budget set", args: []string{"--sms-hourly-budget", "50"}, check: func(t *testing.T, c app.SMSConfig) {
			if c.HourlyBudget != 50 {
				t.Errorf("HourlyBudget = %d, want 50", c.HourlyBudget)
			}
		}},
		{name: "numbers zero", args: []string{"--phone-numbers-per-hour", "0"}, want: "phone-numbers-per-hour"},
		{name: "numbers too many", args: []string{"--phone-numbers-per-hour", "1001"}, want: "phone-numbers-per-hour"},
		{name: "numbers by env", env: []string{"DEADBOLT_PHONE_NUMBERS_PER_HOUR", "3"}, check: func(t *testing.T, c app.SMSConfig) {
			if c.NumbersPerHour != 3 {
				t.Errorf("NumbersPerHour = %d, want 3", c.NumbersPerHour)
			}
		}},
		{name: "unknown provider", args: []string{"--sms-provider", "pigeon"}, want: "sms-provider"},
		{name: "webhook without url", args: []string{"--sms-provider", "webhook"}, want: "sms-webhook-url"},
		{name: "webhook url by env", env: []string{"DEADBOLT_SMS_PROVIDER", "webhook"}, want: "DEADBOLT_SMS_WEBHOOK_URL"},
		{name: "webhook bad url", args: []string{"--sms-provider", "webhook", "--sms-webhook-url", "https://user:s3cret-pw@sms.example.com/send"},
			want: "sms-webhook-url", never: "s3cret-pw"},
		{name: "webhook ftp", args: []string{"--sms-provider", "webhook", "--sms-webhook-url", "ftp://sms.example.com/"}, want: "sms-webhook-url"},
		{name: "webhook method", args: []string{"--sms-provider", "webhook", "--sms-webhook-url", "https://sms.example.com/send", "--sms-webhook-method", "GET"},
			want: "sms-webhook-method"},
		{name: "webhook format", args: []string{"--sms-provider", "webhook", "--sms-webhook-url", "https://sms.example.com/send", "--sms-webhook-format", "xml"},
			want: "sms-webhook-format"},
		{name: "webhook auth", args: []string{"--sms-provider", "webhook", "--sms-webhook-url", "https://sms.example.com/send", "--sms-webhook-auth", "Bearer tok\x01en-secret"},
			want: "sms-webhook-auth", never: "en-secret"},
		{name: "webhook", args: []string{"--sms-provider", "webhook", "--sms-webhook-url", "https://sms.example.com/send",
			"--sms-webhook-method", "put", "--sms-webhook-format", "form", "--sms-webhook-auth", "Bearer abc"},
			check: func(t *testing.T, c app.SMSConfig) {
				w := c.Webhook
				if c.Provider != "webhook" || w.URL != "https://sms.example.com/send" || w.Method != "PUT" || w.Format != "form" || w.AuthHeader != "Bearer abc" {
					t.Errorf("webhook config = %+v", c)
				}
			}},
		{name: "twilio without sid", args: []string{"--sms-provider", "twilio"}, want: "twilio-account-sid"},
		{name: "twilio without token", args: []string{"--sms-provider", "twilio", "--twilio-account-sid", sid}, want: "twilio-auth-token"},
		{name: "twilio without from", args: []string{"--sms-provider", "twilio", "--twilio-account-sid", sid, "--twilio-auth-token", "t"}, want: "twilio-from"},
		{name: "twilio bad sid", args: []string{"--sms-provider", "twilio", "--twilio-account-sid", "AC12", "--twilio-auth-token", "t", "--twilio-from", "+14155550100"},
			want: "twilio-account-sid"},
		{name: "twilio bad token", args: []string{"--sms-provider", "twilio", "--twilio-account-sid", sid, "--twilio-auth-token", "tok\x7fsecret-part", "--twilio-from", "+14155550100"},
			want: "twilio-auth-token", never: "secret-part"},
		{name: "twilio long from", args: []string{"--sms-provider", "twilio", "--twilio-account-sid", sid, "--twilio-auth-token", "t", "--twilio-from", strings.Repeat("x", 40)},
			want: "twilio-from"},
		{name: "twilio", env: []string{"DEADBOLT_SMS_PROVIDER", "twilio", "DEADBOLT_TWILIO_ACCOUNT_SID", sid, "DEADBOLT_TWILIO_AUTH_TOKEN", "tok", "DEADBOLT_TWILIO_FROM", "+14155550100"},
			check: func(t *testing.T, c app.SMSConfig) {
				if c.Provider != "twilio" || c.Twilio.AccountSID != sid || c.Twilio.AuthToken != "tok" || c.Twilio.From != "+14155550100" {
					t.Errorf("twilio config = %+v", c)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _, err := parseSettings("serve", serveSettings, tc.args, smsEnv(tc.env...), io.Discard)
			if err != nil {
				t.Fatalf("parseSettings(%q) = %v", tc.args, err)
			}
			c, err := smsSettings(v)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("smsSettings(%q) = %v, want success", tc.args, err)
				}
				tc.check(t, c)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("smsSettings(%q) = %v, want an error naming %s", tc.args, err, tc.want)
			}
			if tc.never != "" && strings.Contains(err.Error(), tc.never) {
				t.Errorf("smsSettings(%q) error %q repeats %q", tc.args, err, tc.never)
			}
		})
	}
}

// smsRun runs the program once and returns its status and output.
func smsRun(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"deadbolt"}, args...), getenv, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestServeChecksSMSSettings(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	code, out, errs := smsRun(t, smsEnv(), "serve", "--listen", "127.0.0.1:0", "--database", db,
		"--master-key-file", filepath.Join(dir, "k"), "--sms-provider", "webhook")
	if code != 1 || !strings.Contains(errs, "sms-webhook-url") || strings.Contains(out, "listening") {
		t.Errorf("serve with a webhook and no URL = %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

func TestAdminPhone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	env := smsEnv("DEADBOLT_DATABASE", db)
	if code, out, errs := smsRun(t, env, "admin", "user", "add", "bob"); code != 0 {
		t.Fatalf("admin user add bob = %d\n%s%s", code, out, errs)
	}
	st, err := sqlite.Open(ctx, db, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bob, err := st.UserByLogin(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPhone(ctx, bob.ID, "+14155550143", time.Now()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		env  func(string) string
		args []string
		code int
		want string
	}{
		{"lookup", env, []string{"admin", "phone", "lookup", "+14155550143"}, 0, "+14155550143 is linked to bob (id " + bob.ID + ", active)"},
		{"lookup national form with --database after", smsEnv(), []string{"admin", "phone", "lookup", "415 555 0143", "--database", db}, 0, "linked to bob"},
		{"lookup with --database before", smsEnv(), []string{"admin", "phone", "--database", db, "lookup", "+14155550143"}, 0, "linked to bob"},
		{"lookup of a free number", env, []string{"admin", "phone", "lookup", "+14155550199"}, 1, "not_found"},
		{"lookup of junk", env, []string{"admin", "phone", "lookup", "call-me"}, 1, "invalid_input"},
		{"bad region", env, []string{"admin", "phone", "lookup", "+14155550143", "--phone-region", "XX"}, 1, "phone-region"},
		{"no verb", env, []string{"admin", "phone"}, 2, "admin phone lookup"},
		{"unknown verb", env, []string{"admin", "phone", "steal", "bob"}, 2, "admin phone remove"},
		{"remove unknown", env, []string{"admin", "phone", "remove", "nobody"}, 1, "not_found"},
		{"remove", env, []string{"admin", "phone", "remove", "bob"}, 0, "removed +14155550143 from bob"},
		{"remove again", env, []string{"admin", "phone", "remove", "bob"}, 1, "not_found"},
		{"lookup after removal", env, []string{"admin", "phone", "lookup", "+14155550143"}, 1, "not_found"},
		{"user verbs still work", env, []string{"admin", "user", "list"}, 0, "bob"},
	}
	for _, tc := range tests {
		code, out, errs := smsRun(t, tc.env, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%s: run(%q) = %d\nstdout: %s\nstderr: %s\nwant %d and %q", tc.name, tc.args, code, out, errs, tc.code, tc.want)
		}
	}
	ev, err := st.Events(ctx, deadbolt.EventFilter{Type: deadbolt.EventAdminPhoneRemoved, Limit: 10})
	if err != nil || len(ev) != 1 || ev[0].UserID != bob.ID || ev[0].IP != "cli" {
		t.Errorf("admin.phone_removed events = %+v, %v; want one for bob from the command line", ev, err)
	}
}
