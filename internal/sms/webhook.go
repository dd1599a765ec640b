package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// WebhookConfig configures the generic HTTP webhook provider.
type WebhookConfig struct {
	// URL is the absolute http or https address to call. It must not
	// contain user information; put credentials in AuthHeader.
	URL string
	// Method is "POST" (the default when empty) or "PUT".
	Method string
	// Format is "json" (the default when empty), sending
	// {"to":"+14155550143","text":"…"} as application/json, or "form",
	// sending to=…&text=… as application/x-www-form-urlencoded.
	Format string
	// AuthHeader is the full value of the authentication header, such as
	// "Bearer s3cr3t"; empty sends none.
	AuthHeader string
	// HeaderName is the name of the authentication header; empty means
	// "Authorization".
	HeaderName string
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
}

type webhook struct {
	url        string
	method     string
	form       bool
	authHeader string
	headerName string
	timeout    time.Duration
	client     *http.Client
}

// isReserved reports whether the configuration may not set the header
// named by the canonical key name.
func isReserved(name string) bool {
	switch name {
	case "Host", "Content-Type", "Content-Length", "Transfer-Encoding", "Connection",
		"Te", "Trailer", "Upgrade", "Expect", "Cookie", "Accept", "User-Agent":
		return true
	}
	return false
}

// NewWebhook returns a Sender that delivers each message with one HTTP
// request to c.URL through client (nil means a client with default
// settings; client is copied, never modified, and redirects are not
// followed). A 2xx answer means the message was accepted; any other answer
// gives a *ProviderError. See Sender for the other errors of Send.
//
// NewWebhook returns an error if c is invalid: URL not an absolute http or
// https URL or containing user information, an unknown Method or Format, a
// HeaderName that is not a valid or is a reserved header name, control
// characters in AuthHeader, or a negative Timeout. Its errors never repeat
// the URL or AuthHeader. The Sender is safe for concurrent use.
func NewWebhook(c WebhookConfig, client *http.Client) (Sender, error) {
	if _, err := checkURL(c.URL); err != nil {
		return nil, fmt.Errorf("sms: webhook: %w", err)
	}
	w := &webhook{url: c.URL, client: noRedirects(client)}
	switch c.Method {
	case "", http.MethodPost:
		w.method = http.MethodPost
	case http.MethodPut:
		w.method = http.MethodPut
	default:
		return nil, errors.New(`sms: webhook: method must be "POST" or "PUT"`)
	}
	switch c.Format {
	case "", "json":
	case "form":
		w.form = true
	default:
		return nil, errors.New(`sms: webhook: format must be "json" or "form"`)
	}
	w.headerName = "Authorization"
	if c.HeaderName != "" {
		if !isToken(c.HeaderName) {
			return nil, errors.New("sms: webhook: header name is not a valid HTTP header name")
		}
		w.headerName = http.CanonicalHeaderKey(c.HeaderName)
		if isReserved(w.headerName) {
			return nil, errors.New("sms: webhook: header name is reserved")
		}
	}
	for _, r := range c.AuthHeader {
		if r < 0x20 || r == 0x7f {
			return nil, errors.New("sms: webhook: auth header contains a control character")
		}
	}
	w.authHeader = strings.TrimSpace(c.AuthHeader)
	var err error
	if w.timeout, err = checkTimeout(c.Timeout); err != nil {
		return nil, fmt.Errorf("sms: webhook: %w", err)
	}
	return w, nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of a header
// name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (w *webhook) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	var payload []byte
	contentType := "application/json"
	if w.form {
		payload = []byte(url.Values{"to": {m.To}, "text": {m.Body}}.Encode())
		contentType = "application/x-www-form-urlencoded"
	} else {
		var err error
		payload, err = json.Marshal(struct {
			To   string `json:"to"`
			Text string `json:"text"`
		}{m.To, m.Body})
		if err != nil {
			return fmt.Errorf("sms: webhook: encode: %w", err)
		}
	}
	resp, err := roundTrip(ctx, w.client, "webhook", w.timeout, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, w.method, w.url, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "Deadbolt")
		if w.authHeader != "" {
			req.Header.Set(w.headerName, w.authHeader)
		}
		return req, nil
	})
	if err != nil {
		return err
	}
	if resp.status >= 200 && resp.status <= 299 {
		return nil
	}
	return &ProviderError{
		Provider: "webhook",
		Status:   resp.status,
		Message:  sanitize(resp.body, w.secrets(m)...),
	}
}

// secrets lists what must not appear in an error built from the answer to m.
func (w *webhook) secrets(m Message) []string {
	s := []string{m.Body, m.Code, m.To, m.To[1:], w.authHeader, w.url}
	if i := strings.LastIndexByte(w.authHeader, ' '); i >= 0 {
		s = append(s, w.authHeader[i+1:])
	}
	return s
}
