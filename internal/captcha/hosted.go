package captcha

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Hosted CAPTCHA providers.
const (
	ProviderTurnstile = "turnstile"
	ProviderHCaptcha  = "hcaptcha"
)

// Default siteverify endpoints and timeout of [NewHosted].
const (
	TurnstileVerifyURL   = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
	HCaptchaVerifyURL    = "https://api.hcaptcha.com/siteverify"
	DefaultHostedTimeout = 10 * time.Second
)

const (
	// maxTokenLen bounds the token sent to the provider; Turnstile tokens
	// are at most 2048 characters. Longer tokens are wrong without a request.
	maxTokenLen = 4096
	// maxVerifyResponse bounds the siteverify answer read.
	maxVerifyResponse = 64 << 10
)

// HostedConfig configures a [Hosted] verifier.
type HostedConfig struct {
	// Provider is ProviderTurnstile or ProviderHCaptcha.
	Provider string
	// Secret is the provider's secret key. It is sent only in the body of
	// the siteverify request and never appears in an error.
	Secret string
	// SiteKey is the public key the browser widget uses. For hCaptcha it is
	// also sent to siteverify, which then rejects tokens of other site keys.
	SiteKey string
	// VerifyURL overrides the provider's siteverify endpoint. It must be
	// https, or http to a loopback address (for tests).
	VerifyURL string
	// Hostname, when set, must equal the hostname the provider reports the
	// CAPTCHA was solved on.
	Hostname string
	// Timeout bounds each siteverify request; DefaultHostedTimeout when
	// zero or negative.
	Timeout time.Duration
}

// Hosted verifies tokens of a hosted CAPTCHA (Cloudflare Turnstile or
// hCaptcha) with the provider's siteverify endpoint. It fails closed: when
// the provider cannot be reached or answers something unexpected, Verify
// returns an error and never true.
//
// A Hosted is safe for concurrent use.
type Hosted struct {
	cfg       HostedConfig
	verifyURL string
	client    *http.Client
}

// NewHosted returns a verifier for the configured provider, sending its
// requests with client; nil means a client of its own that does not follow
// redirects.
//
// It returns an error for an unknown provider, an empty secret, or a
// VerifyURL that is not absolute https (or http to a loopback address).
func NewHosted(c HostedConfig, client *http.Client) (*Hosted, error) {
	verifyURL := c.VerifyURL
	switch c.Provider {
	case ProviderTurnstile:
		if verifyURL == "" {
			verifyURL = TurnstileVerifyURL
		}
	case ProviderHCaptcha:
		if verifyURL == "" {
			verifyURL = HCaptchaVerifyURL
		}
	default:
		return nil, fmt.Errorf("captcha: unknown hosted provider %q (want %q or %q)", c.Provider, ProviderTurnstile, ProviderHCaptcha)
	}
	if c.Secret == "" {
		return nil, fmt.Errorf("captcha: %s secret is empty", c.Provider)
	}
	if err := checkVerifyURL(verifyURL); err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultHostedTimeout
	}
	if client == nil {
		client = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &Hosted{cfg: c, verifyURL: verifyURL, client: client}, nil
}

// checkVerifyURL accepts absolute https URLs, and http URLs to loopback
// addresses: the secret travels in the request body.
func checkVerifyURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("captcha: verify URL: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("captcha: verify URL %q has no host", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("captcha: verify URL %q must use https", raw)
	default:
		return fmt.Errorf("captcha: verify URL %q must use https", raw)
	}
}

// Provider returns the configured provider name.
func (h *Hosted) Provider() string { return h.cfg.Provider }

// SiteKey returns the public site key for the browser widget.
func (h *Hosted) SiteKey() string { return h.cfg.SiteKey }

// Verify checks the token answer with the provider; id and now are
// ignored. It is VerifyToken without a remote IP address.
func (h *Hosted) Verify(ctx context.Context, id, answer string, now time.Time) (bool, error) {
	return h.VerifyToken(ctx, answer, "")
}

// siteverifyResponse is the part of the provider's answer that is used.
type siteverifyResponse struct {
	Success    *bool    `json:"success"`
	ErrorCodes []string `json:"error-codes"`
	Hostname   string   `json:"hostname"`
}

// configErrorCode reports whether a siteverify error code points at our
// own configuration or request rather than at the visitor's token.
func configErrorCode(code string) bool {
	switch code {
	case "missing-input-secret", "invalid-input-secret", "sitekey-secret-mismatch",
		"bad-request", "internal-error":
		return true
	}
	return false
}

// VerifyToken checks token with the provider's siteverify endpoint,
// passing remoteIP (the visitor's address) when it is a valid IP address.
//
// It returns (true, nil) only when the provider answers success (and, if
// HostedConfig.Hostname is set, names that hostname). An empty or overlong
// token, or a provider answer that rejects the token, is (false, nil) —
// empty and overlong tokens without a request. A network failure, a
// timeout, a non-200 status, a malformed answer, or an error code that
// points at the configuration returns an error.
func (h *Hosted) VerifyToken(ctx context.Context, token, remoteIP string) (bool, error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLen {
		return false, nil
	}
	form := url.Values{}
	form.Set("secret", h.cfg.Secret)
	form.Set("response", token)
	if ip, err := netip.ParseAddr(strings.TrimSpace(remoteIP)); err == nil {
		form.Set("remoteip", ip.Unmap().String())
	}
	if h.cfg.Provider == ProviderHCaptcha && h.cfg.SiteKey != "" {
		form.Set("sitekey", h.cfg.SiteKey)
	}

	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.verifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return false, fmt.Errorf("captcha: %s siteverify request: %w", h.cfg.Provider, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("captcha: %s siteverify: %w", h.cfg.Provider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxVerifyResponse+1))
	if err != nil {
		return false, fmt.Errorf("captcha: %s siteverify: read answer: %w", h.cfg.Provider, err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("captcha: %s siteverify: status %d", h.cfg.Provider, resp.StatusCode)
	}
	if len(body) > maxVerifyResponse {
		return false, fmt.Errorf("captcha: %s siteverify: answer over %d bytes", h.cfg.Provider, maxVerifyResponse)
	}
	return h.judge(body)
}

// judge interprets a siteverify answer body.
func (h *Hosted) judge(body []byte) (bool, error) {
	var r siteverifyResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return false, fmt.Errorf("captcha: %s siteverify: malformed answer: %w", h.cfg.Provider, err)
	}
	if r.Success == nil {
		return false, fmt.Errorf("captcha: %s siteverify: answer has no success field", h.cfg.Provider)
	}
	if !*r.Success {
		for _, code := range r.ErrorCodes {
			if configErrorCode(code) {
				return false, fmt.Errorf("captcha: %s siteverify: rejected the request: %s", h.cfg.Provider, quoteCodes(r.ErrorCodes))
			}
		}
		return false, nil
	}
	if h.cfg.Hostname != "" && !strings.EqualFold(r.Hostname, h.cfg.Hostname) {
		return false, nil
	}
	return true, nil
}

// quoteCodes renders provider error codes for an error message, bounded in
// number and length since they come from outside.
func quoteCodes(codes []string) string {
	const maxCodes, maxLen = 5, 64
	var b strings.Builder
	for i, c := range codes {
		if i == maxCodes {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteString(" ")
		}
		if len(c) > maxLen {
			c = c[:maxLen]
		}
		fmt.Fprintf(&b, "%q", c)
	}
	return b.String()
}
