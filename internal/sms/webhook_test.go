package sms

import (
	"bytes"
	"context"
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

const webhookSecret = "wh-s3cret-token-7f3a"

// webhookExpect is what the receiving end of a webhook insists on.
type webhookExpect struct {
	method      string
	path        string
	query       string
	contentType string
	header      string // authentication header name; "" means none is sent
	value       string // its exact value
	form        bool
	to, text    string
}

// check returns what is wrong with r, or "".
func (e webhookExpect) check(r *http.Request) string {
	if r.Method != e.method {
		return fmt.Sprintf("method %q, want %q", r.Method, e.method)
	}
	if r.URL.Path != e.path || r.URL.RawQuery != e.query {
		return fmt.Sprintf("target %q, want %q?%q", r.URL.RequestURI(), e.path, e.query)
	}
	if ct := r.Header.Get("Content-Type"); ct != e.contentType {
		return fmt.Sprintf("Content-Type %q, want %q", ct, e.contentType)
	}
	if e.header == "" {
		if v := r.Header.Get("Authorization"); v != "" {
			return "unexpected Authorization header"
		}
	} else if v := r.Header.Values(e.header); len(v) != 1 || v[0] != e.value {
		return fmt.Sprintf("%d %s header values, want exactly the configured one", len(v), e.header)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "read body: " + err.Error()
	}
	if r.ContentLength != int64(len(body)) {
		return fmt.Sprintf("Content-Length %d, body %d bytes", r.ContentLength, len(body))
	}
	var fields map[string]string
	if e.form {
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return "form does not parse: " + err.Error()
		}
		fields = map[string]string{}
		for k, v := range values {
			if len(v) != 1 {
				return fmt.Sprintf("form field %q has %d values", k, len(v))
			}
			fields[k] = v[0]
		}
	} else if fields, err = strictStringObject(body); err != nil {
		return "JSON: " + err.Error()
	}
	if len(fields) != 2 || fields["to"] != e.to || fields["text"] != e.text {
		return fmt.Sprintf("fields %q, want to=%q text=%q only", fields, e.to, e.text)
	}
	return ""
}

// strictStringObject decodes a JSON object whose members are all strings,
// refusing duplicate keys and trailing data.
func strictStringObject(b []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	out := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("member %q is not a string", key)
		}
		out[key] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data")
	}
	return out, nil
}

// webhookReceiver answers status after checking the request against want.
func webhookReceiver(t *testing.T, want webhookExpect, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if problem := want.check(r); problem != "" {
			t.Errorf("webhook request: %s", problem)
			http.Error(w, problem, http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
	}
}

func testMessage() Message {
	return Message{To: "+14155550143", Body: Body("483920"), Code: "483920"}
}

func TestWebhookDelivers(t *testing.T) {
	m := testMessage()
	tests := []struct {
		name   string
		cfg    WebhookConfig
		query  string
		want   webhookExpect
		status int
	}{
		{
			name:   "json post bearer",
			cfg:    WebhookConfig{AuthHeader: "Bearer " + webhookSecret},
			query:  "tenant=7",
			want:   webhookExpect{method: "POST", contentType: "application/json", header: "Authorization", value: "Bearer " + webhookSecret},
			status: http.StatusOK,
		},
		{
			name:   "explicit json post, 202",
			cfg:    WebhookConfig{Method: "POST", Format: "json", AuthHeader: "Bearer " + webhookSecret, HeaderName: "Authorization"},
			want:   webhookExpect{method: "POST", contentType: "application/json", header: "Authorization", value: "Bearer " + webhookSecret},
			status: http.StatusAccepted,
		},
		{
			name:   "form put custom header",
			cfg:    WebhookConfig{Method: "PUT", Format: "form", AuthHeader: webhookSecret, HeaderName: "x-api-key"},
			want:   webhookExpect{method: "PUT", contentType: "application/x-www-form-urlencoded", header: "X-Api-Key", value: webhookSecret, form: true},
			status: http.StatusNoContent,
		},
		{
			name:   "no authentication",
			cfg:    WebhookConfig{Format: "form"},
			want:   webhookExpect{method: "POST", contentType: "application/x-www-form-urlencoded", form: true},
			status: http.StatusCreated,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.path, want.query, want.to, want.text = "/hooks/sms", tt.query, m.To, m.Body
			p := newProvider(t, webhookReceiver(t, want, tt.status))
			cfg := tt.cfg
			cfg.URL = p.srv.URL + "/hooks/sms"
			if tt.query != "" {
				cfg.URL += "?" + tt.query
			}
			s, err := NewWebhook(cfg, p.srv.Client())
			if err != nil {
				t.Fatalf("NewWebhook(%+v) = %v, want nil", cfg, err)
			}
			if err := s.Send(context.Background(), m); err != nil {
				t.Errorf("Send() = %v, want nil", err)
			}
			if n := p.requests.Load(); n != 1 {
				t.Errorf("provider got %d requests, want 1", n)
			}
		})
	}
}

func TestWebhookFailures(t *testing.T) {
	m := testMessage()
	secrets := []string{m.Code, m.Body, m.To, m.To[1:], webhookSecret, "q-s3cr3t"}
	tests := []struct {
		name     string
		respond  func(p *provider) http.HandlerFunc
		want     error
		status   int   // for a *ProviderError
		cause    error // also wrapped, if not nil
		requests int32
	}{
		{
			name: "client error echoing the request",
			respond: func(*provider) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprintf(w, "rejected %s with %s\r\n\x1b[0m%s", body, r.Header.Get("Authorization"), strings.Repeat("!", 500))
				}
			},
			want: ErrUnavailable, status: http.StatusBadRequest, requests: 1,
		},
		{
			name: "server error",
			respond: func(*provider) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "upstream carrier down", http.StatusServiceUnavailable)
				}
			},
			want: ErrUnavailable, status: http.StatusServiceUnavailable, requests: 1,
		},
		{
			name: "redirect not followed",
			respond: func(*provider) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/hooks/sms" {
						t.Errorf("redirect to %q was followed", r.URL.Path)
					}
					http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
				}
			},
			want: ErrUnavailable, status: http.StatusTemporaryRedirect, requests: 1,
		},
		{
			name:    "hang until timeout",
			respond: func(p *provider) http.HandlerFunc { return p.hang },
			want:    ErrAmbiguous, cause: context.DeadlineExceeded, requests: 1,
		},
		{
			name:    "connection reset after request",
			respond: func(*provider) http.HandlerFunc { return reset },
			want:    ErrAmbiguous, requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *provider
			p = newProvider(t, func(w http.ResponseWriter, r *http.Request) { tt.respond(p)(w, r) })
			cfg := WebhookConfig{URL: p.srv.URL + "/hooks/sms?key=q-s3cr3t", AuthHeader: "Bearer " + webhookSecret, Timeout: 300 * time.Millisecond}
			s, err := NewWebhook(cfg, p.srv.Client())
			if err != nil {
				t.Fatalf("NewWebhook(%+v) = %v, want nil", cfg, err)
			}
			err = s.Send(context.Background(), m)
			checkSendError(t, err, tt.want, secrets...)
			var perr *ProviderError
			if got := errors.As(err, &perr); got != (tt.status != 0) {
				t.Fatalf("Send() = %v; errors.As(*ProviderError) = %v, want %v", err, got, tt.status != 0)
			}
			if perr != nil {
				if perr.Status != tt.status || perr.Provider != "webhook" {
					t.Errorf("Send() = %+v, want webhook status %d", perr, tt.status)
				}
				if len(perr.Message) > maxSnippetBytes+3 {
					t.Errorf("ProviderError.Message is %d bytes, want at most %d", len(perr.Message), maxSnippetBytes+3)
				}
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("Send() = %v, want it to wrap %v", err, tt.cause)
			}
			// No automatic retry, whatever happened.
			if n := p.requests.Load(); n != tt.requests {
				t.Errorf("provider got %d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestWebhookEchoIsRedacted(t *testing.T) {
	m := testMessage()
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, "bad request %s auth=%s", body, r.Header.Get("Authorization"))
	})
	s, err := NewWebhook(WebhookConfig{URL: p.srv.URL, AuthHeader: "Bearer " + webhookSecret}, p.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), m)
	var perr *ProviderError
	if !errors.As(err, &perr) {
		t.Fatalf("Send() = %v, want *ProviderError", err)
	}
	if !strings.HasPrefix(perr.Message, "bad request {") || !strings.Contains(perr.Message, "[redacted]") {
		t.Errorf("ProviderError.Message = %q, want the answer with secrets redacted", perr.Message)
	}
	for _, s := range []string{m.Code, m.To[1:], webhookSecret} {
		if strings.Contains(perr.Message, s) {
			t.Errorf("ProviderError.Message = %q contains %q", perr.Message, s)
		}
	}
}

func TestWebhookNothingSent(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		s, err := NewWebhook(WebhookConfig{URL: url + "/send?key=q-s3cr3t"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkSendError(t, s.Send(context.Background(), testMessage()), ErrUnavailable, "q-s3cr3t")
	})
	t.Run("context canceled", func(t *testing.T) {
		p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {})
		s, err := NewWebhook(WebhookConfig{URL: p.srv.URL}, p.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(canceledContext(), testMessage())
		checkSendError(t, err, ErrUnavailable)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Send() = %v, want it to wrap context.Canceled", err)
		}
		if n := p.requests.Load(); n != 0 {
			t.Errorf("provider got %d requests, want 0", n)
		}
	})
	t.Run("invalid message", func(t *testing.T) {
		p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {})
		s, err := NewWebhook(WebhookConfig{URL: p.srv.URL}, p.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		m := Message{To: "+14155550143\r\nX-Injected: 1", Body: Body("123456")}
		checkSendError(t, s.Send(context.Background(), m), ErrInvalidMessage)
		if n := p.requests.Load(); n != 0 {
			t.Errorf("provider got %d requests, want 0", n)
		}
	})
}

func TestNewWebhookRefuses(t *testing.T) {
	const key = "Bearer k3y-do-not-print"
	good := WebhookConfig{URL: "https://sms.example.com/send?key=s3cr3t-query", AuthHeader: key}
	tests := []struct {
		name string
		edit func(*WebhookConfig)
	}{
		{"empty url", func(c *WebhookConfig) { c.URL = "" }},
		{"relative url", func(c *WebhookConfig) { c.URL = "/send?key=s3cr3t-query" }},
		{"ftp url", func(c *WebhookConfig) { c.URL = "ftp://sms.example.com/?key=s3cr3t-query" }},
		{"no host", func(c *WebhookConfig) { c.URL = "https:///send?key=s3cr3t-query" }},
		{"user info", func(c *WebhookConfig) { c.URL = "https://u:s3cr3t-query@sms.example.com/" }},
		{"bad url", func(c *WebhookConfig) { c.URL = "https://sms.example.com/%zz?key=s3cr3t-query" }},
		{"get", func(c *WebhookConfig) { c.Method = "GET" }},
		{"lower-case post", func(c *WebhookConfig) { c.Method = "post" }},
		{"xml", func(c *WebhookConfig) { c.Format = "xml" }},
		{"header name with space", func(c *WebhookConfig) { c.HeaderName = "X Api Key" }},
		{"header name with colon", func(c *WebhookConfig) { c.HeaderName = "X-Key:" }},
		{"reserved header", func(c *WebhookConfig) { c.HeaderName = "content-type" }},
		{"host header", func(c *WebhookConfig) { c.HeaderName = "Host" }},
		{"header value injection", func(c *WebhookConfig) { c.AuthHeader = key + "\r\nX-Evil: 1" }},
		{"negative timeout", func(c *WebhookConfig) { c.Timeout = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			s, err := NewWebhook(c, nil)
			if err == nil {
				t.Fatalf("NewWebhook(%+v) = %v, nil, want an error", c, s)
			}
			for _, secret := range []string{"s3cr3t-query", "k3y-do-not-print"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("NewWebhook error %q contains %q", err, secret)
				}
			}
		})
	}
	if _, err := NewWebhook(good, nil); err != nil {
		t.Errorf("NewWebhook(%+v) = %v, want nil", good, err)
	}
}

func TestWebhookDoesNotChangeClient(t *testing.T) {
	client := &http.Client{Timeout: time.Minute}
	if _, err := NewWebhook(WebhookConfig{URL: "https://sms.example.com/"}, client); err != nil {
		t.Fatal(err)
	}
	if client.CheckRedirect != nil || client.Timeout != time.Minute {
		t.Errorf("NewWebhook modified the client it was given: %+v", client)
	}
}
