package sms

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	bodyPrefix = "Your Deadbolt sign-in code is "
	bodySuffix = ". It expires in 5 minutes. Do not share it."
)

func TestBody(t *testing.T) {
	for _, code := range []string{"123456", "000000", "999999", "1234", "0123456789", "731946"} {
		t.Run(code, func(t *testing.T) {
			got := Body(code)
			if want := bodyPrefix + code + bodySuffix; got != want {
				t.Fatalf("Body(%q) = %q, want %q", code, got, want)
			}
			// Taking the code out leaves only the fixed wording, whose only
			// digit is the lifetime.
			rest := strings.Replace(got, code, "", 1)
			if rest != bodyPrefix+bodySuffix {
				t.Errorf("Body(%q) without the code = %q, want %q", code, rest, bodyPrefix+bodySuffix)
			}
			if d := digits(rest); d != "5" {
				t.Errorf("Body(%q) has digits %q outside the code, want only %q", code, d, "5")
			}
			if err := (Message{To: "+14155550143", Body: got, Code: code}).validate(); err != nil {
				t.Errorf("Body(%q) is refused by validate: %v", code, err)
			}
		})
	}
}

func TestBodyRefusesNonCodes(t *testing.T) {
	for _, code := range []string{
		"", "123", "12345678901", "12345a", "12 456", "-12345", "１２３４５６",
		"123456\r\nSTOP", "123456. Visit http://evil.example", "<b>123456</b>", "１２３",
	} {
		t.Run(code, func(t *testing.T) {
			if got := Body(code); got != "" {
				t.Errorf("Body(%q) = %q, want \"\"", code, got)
			}
		})
	}
}

func TestBodyExpiring(t *testing.T) {
	tests := []struct {
		lifetime time.Duration
		want     string
	}{
		{5 * time.Minute, "5 minutes"},
		{time.Minute, "1 minute"},
		{30 * time.Second, "1 minute"},
		{90 * time.Second, "2 minutes"},
		{10 * time.Minute, "10 minutes"},
		{time.Nanosecond, "1 minute"},
	}
	for _, tt := range tests {
		t.Run(tt.lifetime.String(), func(t *testing.T) {
			got := BodyExpiring("123456", tt.lifetime)
			want := bodyPrefix + "123456. It expires in " + tt.want + ". Do not share it."
			if got != want {
				t.Errorf("BodyExpiring(%q, %v) = %q, want %q", "123456", tt.lifetime, got, want)
			}
		})
	}
	for _, d := range []time.Duration{0, -time.Minute} {
		if got := BodyExpiring("123456", d); got != "" {
			t.Errorf("BodyExpiring(%q, %v) = %q, want \"\"", "123456", d, got)
		}
	}
}

func FuzzBody(f *testing.F) {
	for _, s := range []string{"123456", "", "12345a", "123456\n", "１２３４５６", "0000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		got := Body(code)
		if got == "" {
			if isCode(code) {
				t.Fatalf("Body(%q) = \"\", want a message for a valid code", code)
			}
			return
		}
		if got != bodyPrefix+code+bodySuffix {
			t.Fatalf("Body(%q) = %q, want fixed wording around the code", code, got)
		}
		if digits(code) != code || len(code) < 4 || len(code) > 10 {
			t.Fatalf("Body(%q) = %q, accepted something that is not a code", code, got)
		}
	})
}

func TestValidateRefuses(t *testing.T) {
	good := Message{To: "+14155550143", Body: Body("123456"), Code: "123456"}
	tests := []struct {
		name string
		edit func(*Message)
	}{
		{"empty to", func(m *Message) { m.To = "" }},
		{"to without plus", func(m *Message) { m.To = "14155550143" }},
		{"to with spaces", func(m *Message) { m.To = "+1 415 555 0143" }},
		{"to with newline", func(m *Message) { m.To = "+14155550143\n" }},
		{"to with leading zero", func(m *Message) { m.To = "+04155550143" }},
		{"to too short", func(m *Message) { m.To = "+123456" }},
		{"to too long", func(m *Message) { m.To = "+1234567890123456" }},
		{"empty body", func(m *Message) { m.Body = "" }},
		{"body with carriage return", func(m *Message) { m.Body = "a\rb" }},
		{"body with nul", func(m *Message) { m.Body = "a\x00b" }},
		{"body with delete", func(m *Message) { m.Body = "a\x7fb" }},
		{"body not utf-8", func(m *Message) { m.Body = "a\xffb" }},
		{"body too long", func(m *Message) { m.Body = strings.Repeat("a", 1601) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			tt.edit(&m)
			err := m.validate()
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("validate(%+v) = %v, want ErrInvalidMessage", m, err)
			}
			if strings.Contains(err.Error(), "123456") {
				t.Errorf("validate error %q contains the code", err)
			}
		})
	}
	if err := good.validate(); err != nil {
		t.Errorf("validate(%+v) = %v, want nil", good, err)
	}
}

func TestProviderError(t *testing.T) {
	err := error(&ProviderError{Provider: "twilio", Status: 400, Code: 21211, Message: "bad number"})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("errors.Is(%v, ErrUnavailable) = false, want true", err)
	}
	if errors.Is(err, ErrAmbiguous) {
		t.Errorf("errors.Is(%v, ErrAmbiguous) = true, want false", err)
	}
	want := "sms: twilio: sms provider unavailable: status 400, code 21211: bad number"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	bare := &ProviderError{Provider: "webhook", Status: 503}
	if got, want := bare.Error(), "sms: webhook: sms provider unavailable: status 503"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		secrets []string
		want    string
	}{
		{"plain", "bad request", nil, "bad request"},
		{"whitespace collapsed", "  bad\r\n\t request \n", nil, "bad request"},
		{"control and non-ascii dropped", "bad\x00\x1b[31m réquest", nil, "bad[31m rquest"},
		{"secrets redacted", "code 123456 sent to +14155550143 with Bearer tok-abc", []string{"123456", "+14155550143", "Bearer tok-abc"}, "code [redacted] sent to [redacted] with [redacted]"},
		{"short secrets ignored", "a b c", []string{"", "a", "b c"}, "a b c"},
		{"truncated", strings.Repeat("x", 300), nil, strings.Repeat("x", 200) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitize([]byte(tt.body), tt.secrets...); got != tt.want {
				t.Errorf("sanitize(%q, %q) = %q, want %q", tt.body, tt.secrets, got, tt.want)
			}
		})
	}
}

func FuzzParseTwilioError(f *testing.F) {
	f.Add(400, []byte(`{"code":21211,"message":"The 'To' number +14155550143 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`))
	f.Add(401, []byte(`{"code":20003,"message":"Authenticate","status":401}`))
	f.Add(500, []byte("<html>Internal Server Error 483920</html>"))
	f.Add(429, []byte(`{"code":"x"}`))
	f.Add(400, []byte(`{"code":-1,"message":null}`))
	f.Add(502, []byte{0xff, 0x00, '4', '8', '3', '9', '2', '0'})
	secrets := []string{"483920", "+14155550143", "14155550143", "tok3n-s3cret"}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseTwilioError(status, body, secrets...)
		if e.Status != status || e.Provider != "twilio" || e.Code < 0 {
			t.Fatalf("parseTwilioError(%d, %q) = %+v, want status %d, provider twilio, code >= 0", status, body, e, status)
		}
		if !errors.Is(e, ErrUnavailable) {
			t.Fatalf("parseTwilioError(%d, %q) does not match ErrUnavailable", status, body)
		}
		if len(e.Message) > maxSnippetBytes+3 {
			t.Fatalf("parseTwilioError(%d, %q) message is %d bytes, want at most %d", status, body, len(e.Message), maxSnippetBytes+3)
		}
		for i := 0; i < len(e.Message); i++ {
			if c := e.Message[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("parseTwilioError(%d, %q) message %q has byte %#x", status, body, e.Message, c)
			}
		}
		for _, s := range secrets {
			if strings.Contains(e.Message, s) {
				t.Fatalf("parseTwilioError(%d, %q) message %q contains secret %q", status, body, e.Message, s)
			}
		}
	})
}

// canceledContext returns a context that is already canceled.
func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
