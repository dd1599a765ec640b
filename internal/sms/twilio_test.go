package sms

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testAccountSID = "ACa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
	testAuthToken  = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	testServiceSID = "MG0123456789abcdef0123456789abcdef"
	testFrom       = "+15005550006"
)

// twilioAPI behaves like the Messages resource of Twilio's REST API for one
// account: it checks the request as Twilio does and answers with Twilio's
// status codes and error documents.
type twilioAPI struct {
	t      *testing.T
	prefix string // path before /2010-04-01
	token  string
	from   string // expected From; "" when a messaging service is used
	svc    string // expected MessagingServiceSid
	to     string
	body   string
	// answer, if set, replaces the success answer once the request has
	// been found correct.
	answer http.HandlerFunc
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

func (a *twilioAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != testAccountSID || subtle.ConstantTimeCompare([]byte(pass), []byte(a.token)) != 1 {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if want := a.prefix + "/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"; r.URL.Path != want || r.URL.RawQuery != "" {
		a.t.Errorf("twilio request to %q, want %q", r.URL.RequestURI(), want)
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		a.t.Errorf("twilio request method %q, want POST", r.Method)
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		a.t.Errorf("twilio Content-Type %q, want application/x-www-form-urlencoded", ct)
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		a.t.Errorf("read twilio request body: %v", err)
		return
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		a.t.Errorf("twilio form %q does not parse: %v", raw, err)
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	}
	want := url.Values{"To": {a.to}, "Body": {a.body}}
	if a.svc != "" {
		want.Set("MessagingServiceSid", a.svc)
	} else {
		want.Set("From", a.from)
	}
	if len(form) != len(want) {
		a.t.Errorf("twilio form fields %q, want %q", form, want)
	}
	for k, v := range want {
		if got := form[k]; len(got) != 1 || got[0] != v[0] {
			a.t.Errorf("twilio form field %s = %q, want %q", k, got, v)
			twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
			return
		}
	}
	if a.answer != nil {
		a.answer(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid":         "SM0123456789abcdef0123456789abcdef",
		"account_sid": testAccountSID,
		"to":          a.to,
		"from":        a.from,
		"body":        a.body,
		"status":      "queued",
	})
}

func TestTwilioDelivers(t *testing.T) {
	m := testMessage()
	tests := []struct {
		name   string
		prefix string // path of BaseURL
		svc    string
	}{
		{name: "from number"},
		{name: "messaging service", svc: testServiceSID},
		{name: "base url with trailing slash", prefix: "/"},
		{name: "base url with path", prefix: "/proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &twilioAPI{t: t, prefix: strings.TrimSuffix(tt.prefix, "/"), token: testAuthToken, svc: tt.svc, to: m.To, body: m.Body}
			cfg := TwilioConfig{AccountSID: testAccountSID, AuthToken: testAuthToken, MessagingServiceSID: tt.svc}
			if tt.svc == "" {
				api.from, cfg.From = testFrom, testFrom
			}
			p := newProvider(t, api.ServeHTTP)
			cfg.BaseURL = p.srv.URL + tt.prefix
			s, err := NewTwilio(cfg, p.srv.Client())
			if err != nil {
				t.Fatalf("NewTwilio(%+v) = %v, want nil", cfg, err)
			}
			if err := s.Send(context.Background(), m); err != nil {
				t.Errorf("Send() = %v, want nil", err)
			}
			if n := p.requests.Load(); n != 1 {
				t.Errorf("twilio got %d requests, want 1", n)
			}
		})
	}
}

func TestTwilioFailures(t *testing.T) {
	m := testMessage()
	secrets := []string{m.Code, m.Body, m.To, m.To[1:], testAuthToken}
	tests := []struct {
		name    string
		token   string // configured auth token; testAuthToken if empty
		answer  func(p *provider) http.HandlerFunc
		want    error
		status  int    // for a *ProviderError
		code    int    // Twilio error code
		message string // expected ProviderError.Message
		cause   error
	}{
		{
			name:   "wrong auth token",
			token:  "00000000000000000000000000000000",
			want:   ErrUnavailable,
			status: http.StatusUnauthorized, code: 20003, message: "Authenticate",
		},
		{
			name: "invalid to number",
			answer: func(*provider) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					twilioError(w, http.StatusBadRequest, 21211, "The 'To' number "+m.To+" is not a valid phone number.")
				}
			},
			want:   ErrUnavailable,
			status: http.StatusBadRequest, code: 21211, message: "The 'To' number [redacted] is not a valid phone number.",
		},
		{
			name: "rate limited",
			answer: func(*provider) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					twilioError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
				}
			},
			want:   ErrUnavailable,
			status: http.StatusTooManyRequests, code: 20429, message: "Too Many Requests",
		},
		{
			name: "server error without json",
			answer: func(*provider) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(http.StatusBadGateway)
					io.WriteString(w, "<html>\n<h1>502 Bad Gateway</h1>\n</html>")
				}
			},
			want:   ErrUnavailable,
			status: http.StatusBadGateway, message: "<html> <h1>502 Bad Gateway</h1> </html>",
		},
		{
			name:   "hang until timeout",
			answer: func(p *provider) http.HandlerFunc { return p.hang },
			want:   ErrAmbiguous, cause: context.DeadlineExceeded,
		},
		{
			name:   "connection reset after request",
			answer: func(*provider) http.HandlerFunc { return reset },
			want:   ErrAmbiguous,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &twilioAPI{t: t, token: testAuthToken, from: testFrom, to: m.To, body: m.Body}
			var p *provider
			p = newProvider(t, api.ServeHTTP)
			if tt.answer != nil {
				api.answer = tt.answer(p)
			}
			token := tt.token
			if token == "" {
				token = testAuthToken
			}
			cfg := TwilioConfig{BaseURL: p.srv.URL, AccountSID: testAccountSID, AuthToken: token, From: testFrom, Timeout: 300 * time.Millisecond}
			s, err := NewTwilio(cfg, p.srv.Client())
			if err != nil {
				t.Fatalf("NewTwilio(%+v) = %v, want nil", cfg, err)
			}
			err = s.Send(context.Background(), m)
			checkSendError(t, err, tt.want, append(secrets, token)...)
			var perr *ProviderError
			if got := errors.As(err, &perr); got != (tt.status != 0) {
				t.Fatalf("Send() = %v; errors.As(*ProviderError) = %v, want %v", err, got, tt.status != 0)
			}
			if perr != nil {
				want := ProviderError{Provider: "twilio", Status: tt.status, Code: tt.code, Message: tt.message}
				if *perr != want {
					t.Errorf("Send() = %+v, want %+v", *perr, want)
				}
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("Send() = %v, want it to wrap %v", err, tt.cause)
			}
			// Exactly one request: Send never retries on its own.
			if n := p.requests.Load(); n != 1 {
				t.Errorf("twilio got %d requests, want 1", n)
			}
		})
	}
}

func TestTwilioConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	s, err := NewTwilio(TwilioConfig{BaseURL: base, AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSendError(t, s.Send(context.Background(), testMessage()), ErrUnavailable, testAuthToken)
}

func TestTwilioRefusesInvalidMessage(t *testing.T) {
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {})
	s, err := NewTwilio(TwilioConfig{BaseURL: p.srv.URL, AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}, p.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{
		{To: "+14155550143", Body: ""},
		{To: "4155550143", Body: Body("123456")},
		{To: "+14155550143&From=+19005550000", Body: Body("123456")},
	} {
		checkSendError(t, s.Send(context.Background(), m), ErrInvalidMessage)
	}
	if n := p.requests.Load(); n != 0 {
		t.Errorf("twilio got %d requests, want 0", n)
	}
}

func TestNewTwilioRefuses(t *testing.T) {
	good := TwilioConfig{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}
	tests := []struct {
		name string
		edit func(*TwilioConfig)
	}{
		{"empty account", func(c *TwilioConfig) { c.AccountSID = "" }},
		{"account wrong prefix", func(c *TwilioConfig) { c.AccountSID = "MG" + testAccountSID[2:] }},
		{"account short", func(c *TwilioConfig) { c.AccountSID = testAccountSID[:33] }},
		{"account not hex", func(c *TwilioConfig) { c.AccountSID = testAccountSID[:33] + "g" }},
		{"account path traversal", func(c *TwilioConfig) { c.AccountSID = "AC/../../../../../../../../../../x" }},
		{"empty token", func(c *TwilioConfig) { c.AuthToken = "" }},
		{"token with newline", func(c *TwilioConfig) { c.AuthToken = testAuthToken + "\n" }},
		{"no sender", func(c *TwilioConfig) { c.From = "" }},
		{"two senders", func(c *TwilioConfig) { c.MessagingServiceSID = testServiceSID }},
		{"bad service", func(c *TwilioConfig) { c.From, c.MessagingServiceSID = "", "MG123" }},
		{"from with newline", func(c *TwilioConfig) { c.From = "+15005550006\r\n" }},
		{"from too long", func(c *TwilioConfig) { c.From = strings.Repeat("A", 33) }},
		{"http base", func(c *TwilioConfig) { c.BaseURL = "http://api.twilio.com" }},
		{"relative base", func(c *TwilioConfig) { c.BaseURL = "api.twilio.com" }},
		{"base with query", func(c *TwilioConfig) { c.BaseURL = "https://api.twilio.com/?x=1" }},
		{"base with user", func(c *TwilioConfig) { c.BaseURL = "https://u:p@api.twilio.com" }},
		{"negative timeout", func(c *TwilioConfig) { c.Timeout = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			s, err := NewTwilio(c, nil)
			if err == nil {
				t.Fatalf("NewTwilio(%+v) = %v, nil, want an error", c, s)
			}
			if strings.Contains(err.Error(), testAuthToken) {
				t.Errorf("NewTwilio error %q contains the auth token", err)
			}
		})
	}
	for _, base := range []string{"", "https://api.twilio.com", "http://127.0.0.1:8080", "http://[::1]:8080/", "http://localhost:8080"} {
		c := good
		c.BaseURL = base
		if _, err := NewTwilio(c, nil); err != nil {
			t.Errorf("NewTwilio with BaseURL %q = %v, want nil", base, err)
		}
	}
}

func TestTwilioEndpoint(t *testing.T) {
	tests := []struct{ base, want string }{
		{"", "https://api.twilio.com/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"},
		{"https://api.twilio.com/", "https://api.twilio.com/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"},
		{"https://proxy.example.com/twilio", "https://proxy.example.com/twilio/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"},
	}
	for _, tt := range tests {
		s, err := NewTwilio(TwilioConfig{BaseURL: tt.base, AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}, nil)
		if err != nil {
			t.Fatalf("NewTwilio(BaseURL %q) = %v, want nil", tt.base, err)
		}
		if got := s.(*twilio).endpoint; got != tt.want {
			t.Errorf("NewTwilio(BaseURL %q) endpoint = %q, want %q", tt.base, got, tt.want)
		}
	}
}
