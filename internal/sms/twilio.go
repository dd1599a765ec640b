package sms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTwilioBaseURL is the address of Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// TwilioConfig configures the Twilio Messages API provider.
type TwilioConfig struct {
	// BaseURL is the API address; empty means DefaultTwilioBaseURL. It
	// must be https, except on a loopback host (for tests).
	BaseURL string
	// AccountSID is the account identifier, "AC" and 32 hex digits. It is
	// the user name of HTTP Basic authentication.
	AccountSID string
	// AuthToken is the account's auth token, the Basic password.
	AuthToken string
	// From is the sending number (E.164), short code or alphanumeric
	// sender ID. Exactly one of From and MessagingServiceSID is set.
	From string
	// MessagingServiceSID is a messaging service, "MG" and 32 hex digits,
	// that picks the sending number itself.
	MessagingServiceSID string
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
}

type twilio struct {
	endpoint   string
	accountSID string
	authToken  string
	from       string
	service    string
	timeout    time.Duration
	client     *http.Client
}

// NewTwilio returns a Sender that creates each message with one POST to
// {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json, form-encoded
// To, From or MessagingServiceSid, and Body, authenticated with HTTP Basic
// AccountSID:AuthToken, through client (nil means a client with default
// settings; client is copied, never modified, and redirects are not
// followed). A 2xx answer (Twilio sends 201 Created) means Twilio accepted
// the message; any other answer gives a *ProviderError carrying Twilio's
// error code and message. See Sender for the other errors of Send.
//
// NewTwilio returns an error if c is invalid: malformed AccountSID or
// MessagingServiceSID, empty AuthToken, not exactly one of From and
// MessagingServiceSID, a BaseURL that is not https (or http on loopback),
// or a negative Timeout. Its errors never repeat AuthToken. The Sender is
// safe for concurrent use.
func NewTwilio(c TwilioConfig, client *http.Client) (Sender, error) {
	if !isSID(c.AccountSID, "AC") {
		return nil, errors.New(`sms: twilio: account SID must be "AC" followed by 32 hex digits`)
	}
	if c.AuthToken == "" {
		return nil, errors.New("sms: twilio: empty auth token")
	}
	if !isPrintable(c.AuthToken) {
		return nil, errors.New("sms: twilio: auth token contains a character that is not printable ASCII")
	}
	switch {
	case c.From == "" && c.MessagingServiceSID == "":
		return nil, errors.New("sms: twilio: set a sender: From or MessagingServiceSID")
	case c.From != "" && c.MessagingServiceSID != "":
		return nil, errors.New("sms: twilio: set only one of From and MessagingServiceSID")
	case c.MessagingServiceSID != "" && !isSID(c.MessagingServiceSID, "MG"):
		return nil, errors.New(`sms: twilio: messaging service SID must be "MG" followed by 32 hex digits`)
	case c.From != "" && (len(c.From) > 32 || !isPrintable(c.From)):
		return nil, errors.New("sms: twilio: From must be at most 32 printable ASCII characters")
	}

	base := c.BaseURL
	if base == "" {
		base = DefaultTwilioBaseURL
	}
	u, err := checkURL(base)
	if err != nil {
		return nil, fmt.Errorf("sms: twilio: base %w", err)
	}
	if u.Scheme != "https" && !isLoopback(u.Hostname()) {
		return nil, errors.New("sms: twilio: base URL must be https")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("sms: twilio: base URL must not have a query or fragment")
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/2010-04-01/Accounts/" + c.AccountSID + "/Messages.json"
	u.RawPath = ""

	t := &twilio{
		endpoint:   u.String(),
		accountSID: c.AccountSID,
		authToken:  c.AuthToken,
		from:       c.From,
		service:    c.MessagingServiceSID,
		client:     noRedirects(client),
	}
	if t.timeout, err = checkTimeout(c.Timeout); err != nil {
		return nil, fmt.Errorf("sms: twilio: %w", err)
	}
	return t, nil
}

// isSID reports whether s is prefix followed by 32 hex digits.
func isSID(s, prefix string) bool {
	if len(s) != len(prefix)+32 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for i := len(prefix); i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (t *twilio) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if t.service != "" {
		form.Set("MessagingServiceSid", t.service)
	} else {
		form.Set("From", t.from)
	}
	payload := form.Encode()
	resp, err := roundTrip(ctx, t.client, "twilio", t.timeout, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(t.accountSID, t.authToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "Deadbolt")
		return req, nil
	})
	if err != nil {
		return err
	}
	if resp.status >= 200 && resp.status <= 299 {
		return nil
	}
	return parseTwilioError(resp.status, resp.body, t.secrets(m)...)
}

// secrets lists what must not appear in an error built from the answer to m.
func (t *twilio) secrets(m Message) []string {
	basic := base64.StdEncoding.EncodeToString([]byte(t.accountSID + ":" + t.authToken))
	return []string{m.Body, m.Code, m.To, m.To[1:], t.authToken, basic}
}

// parseTwilioError builds the error for a non-2xx answer. Twilio answers
// {"code":21211,"message":"…","more_info":"…","status":400}; any other
// body is kept as a sanitized snippet.
func parseTwilioError(status int, body []byte, secrets ...string) *ProviderError {
	e := &ProviderError{Provider: "twilio", Status: status}
	var v struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		e.Message = sanitize(body, secrets...)
		return e
	}
	if v.Code > 0 {
		e.Code = v.Code
	}
	e.Message = sanitize([]byte(v.Message), secrets...)
	return e
}
