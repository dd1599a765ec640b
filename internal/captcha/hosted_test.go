package captcha

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "0x-test-secret-never-in-errors"

// siteverifyServer imitates a provider's siteverify endpoint on loopback.
// The token picks the answer; every request is checked for the shape the
// providers expect.
type siteverifyServer struct {
	t        *testing.T
	requests atomic.Int32
	lastForm atomic.Value // url.Values as map[string][]string
	release  chan struct{}
}

func newSiteverifyServer(t *testing.T) (*siteverifyServer, *httptest.Server) {
	t.Helper()
	s := &siteverifyServer{t: t, release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.release)
		srv.Close()
	})
	return s, srv
}

func (s *siteverifyServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.Method != http.MethodPost {
		s.t.Errorf("siteverify method = %q, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		s.t.Errorf("siteverify Content-Type = %q, want application/x-www-form-urlencoded", ct)
	}
	if r.URL.RawQuery != "" {
		s.t.Errorf("siteverify query = %q, want the fields in the body only", r.URL.RawQuery)
	}
	if err := r.ParseForm(); err != nil {
		s.t.Errorf("siteverify ParseForm() error = %v", err)
	}
	s.lastForm.Store(map[string][]string(r.PostForm))
	if got := r.PostForm.Get("secret"); got != testSecret {
		s.t.Errorf("siteverify secret = %q, want %q", got, testSecret)
	}
	w.Header().Set("Content-Type", "application/json")
	switch token := r.PostForm.Get("response"); token {
	case "good":
		io.WriteString(w, `{"success":true,"error-codes":[],"hostname":"login.example.com"}`)
	case "bad":
		io.WriteString(w, `{"success":false,"error-codes":["invalid-input-response"]}`)
	case "duplicate":
		io.WriteString(w, `{"success":false,"error-codes":["timeout-or-duplicate"]}`)
	case "secret-rejected":
		io.WriteString(w, `{"success":false,"error-codes":["invalid-input-secret"]}`)
	case "status500":
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"success":true}`)
	case "redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	case "malformed":
		io.WriteString(w, `{"success":tru`)
	case "html":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<html>maintenance</html>`)
	case "no-success":
		io.WriteString(w, `{"error-codes":[]}`)
	case "success-string":
		io.WriteString(w, `{"success":"true"}`)
	case "huge":
		io.WriteString(w, `{"success":true,"pad":"`+strings.Repeat("x", maxVerifyResponse)+`"}`)
	case "slow":
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
	default:
		s.t.Errorf("siteverify got unexpected token %q", token)
		io.WriteString(w, `{"success":false}`)
	}
}

func (s *siteverifyServer) form() map[string][]string {
	f, _ := s.lastForm.Load().(map[string][]string)
	return f
}

func TestHostedVerify(t *testing.T) {
	tests := []struct {
		token   string
		want    bool
		wantErr bool
	}{
		{"good", true, false},
		{"  good\n", true, false},
		{"bad", false, false},
		{"duplicate", false, false},
		{"secret-rejected", false, true},
		{"status500", false, true},
		{"redirect", false, true},
		{"malformed", false, true},
		{"html", false, true},
		{"no-success", false, true},
		{"success-string", false, true},
		{"huge", false, true},
	}
	for _, provider := range []string{ProviderTurnstile, ProviderHCaptcha} {
		t.Run(provider, func(t *testing.T) {
			_, srv := newSiteverifyServer(t)
			h, err := NewHosted(HostedConfig{Provider: provider, Secret: testSecret, VerifyURL: srv.URL}, nil)
			if err != nil {
				t.Fatalf("NewHosted() error = %v", err)
			}
			for _, tt := range tests {
				t.Run(tt.token, func(t *testing.T) {
					got, err := h.Verify(context.Background(), "ignored-id", tt.token, t0)
					if got != tt.want || (err != nil) != tt.wantErr {
						t.Errorf("Verify(%q) = %v, %v; want %v, error %v", tt.token, got, err, tt.want, tt.wantErr)
					}
					if got && err != nil {
						t.Errorf("Verify(%q) = true with error %v; must fail closed", tt.token, err)
					}
					if err != nil && strings.Contains(err.Error(), testSecret) {
						t.Errorf("Verify(%q) error %q reveals the secret", tt.token, err)
					}
				})
			}
		})
	}
}

func TestHostedFormFields(t *testing.T) {
	tests := []struct {
		name         string
		provider     string
		siteKey      string
		remoteIP     string
		wantRemoteIP string
		wantSiteKey  string
	}{
		{"turnstile with ip", ProviderTurnstile, "site-1", "203.0.113.7", "203.0.113.7", ""},
		{"turnstile ipv6", ProviderTurnstile, "", "2001:db8::1", "2001:db8::1", ""},
		{"mapped ipv4", ProviderTurnstile, "", "::ffff:192.0.2.1", "192.0.2.1", ""},
		{"junk ip omitted", ProviderTurnstile, "", "not-an-ip", "", ""},
		{"no ip", ProviderTurnstile, "", "", "", ""},
		{"hcaptcha sends sitekey", ProviderHCaptcha, "site-2", "198.51.100.2", "198.51.100.2", "site-2"},
		{"hcaptcha without sitekey", ProviderHCaptcha, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newSiteverifyServer(t)
			h, err := NewHosted(HostedConfig{Provider: tt.provider, Secret: testSecret, SiteKey: tt.siteKey, VerifyURL: srv.URL}, srv.Client())
			if err != nil {
				t.Fatalf("NewHosted() error = %v", err)
			}
			ok, err := h.VerifyToken(context.Background(), "good", tt.remoteIP)
			if err != nil || !ok {
				t.Fatalf("VerifyToken(%q) = %v, %v; want true, nil", "good", ok, err)
			}
			form := s.form()
			check := func(field, want string) {
				t.Helper()
				var got string
				if v := form[field]; len(v) > 0 {
					got = v[0]
				}
				if len(form[field]) > 1 {
					t.Errorf("field %s sent %d times, want once", field, len(form[field]))
				}
				if got != want {
					t.Errorf("field %s = %q, want %q", field, got, want)
				}
			}
			check("response", "good")
			check("remoteip", tt.wantRemoteIP)
			check("sitekey", tt.wantSiteKey)
			if _, ok := form["remoteip"]; ok != (tt.wantRemoteIP != "") {
				t.Errorf("remoteip present = %v, want %v", ok, tt.wantRemoteIP != "")
			}
		})
	}
}

func TestHostedNoRequestForUnusableToken(t *testing.T) {
	s, srv := newSiteverifyServer(t)
	h, err := NewHosted(HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: srv.URL}, nil)
	if err != nil {
		t.Fatalf("NewHosted() error = %v", err)
	}
	for _, token := range []string{"", "   ", strings.Repeat("a", maxTokenLen+1)} {
		ok, err := h.Verify(context.Background(), "", token, t0)
		if ok || err != nil {
			t.Errorf("Verify(%.10q…) = %v, %v; want false, nil", token, ok, err)
		}
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("siteverify called %d times for unusable tokens, want 0", n)
	}
}

func TestHostedHostname(t *testing.T) {
	tests := []struct {
		hostname string
		want     bool
	}{
		{"", true},
		{"login.example.com", true},
		{"LOGIN.example.com", true},
		{"evil.example.net", false},
	}
	_, srv := newSiteverifyServer(t)
	for _, tt := range tests {
		t.Run(tt.hostname, func(t *testing.T) {
			h, err := NewHosted(HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: srv.URL, Hostname: tt.hostname}, nil)
			if err != nil {
				t.Fatalf("NewHosted() error = %v", err)
			}
			ok, err := h.Verify(context.Background(), "", "good", t0)
			if ok != tt.want || err != nil {
				t.Errorf("Verify(good) with Hostname %q = %v, %v; want %v, nil", tt.hostname, ok, err, tt.want)
			}
		})
	}
}

func TestHostedFailsClosedOnNetworkTrouble(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		_, srv := newSiteverifyServer(t)
		h, err := NewHosted(HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: srv.URL, Timeout: 50 * time.Millisecond}, nil)
		if err != nil {
			t.Fatalf("NewHosted() error = %v", err)
		}
		ok, err := h.Verify(context.Background(), "", "slow", t0)
		if ok || err == nil {
			t.Errorf("Verify(slow) = %v, %v; want false and an error", ok, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		_, srv := newSiteverifyServer(t)
		h, err := NewHosted(HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: srv.URL}, nil)
		if err != nil {
			t.Fatalf("NewHosted() error = %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ok, err := h.Verify(ctx, "", "good", t0)
		if ok || err == nil {
			t.Errorf("Verify(cancelled) = %v, %v; want false and an error", ok, err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		h, err := NewHosted(HostedConfig{Provider: ProviderHCaptcha, Secret: testSecret, VerifyURL: url}, nil)
		if err != nil {
			t.Fatalf("NewHosted() error = %v", err)
		}
		ok, err := h.Verify(context.Background(), "", "good", t0)
		if ok || err == nil {
			t.Errorf("Verify(unreachable) = %v, %v; want false and an error", ok, err)
		}
		if err != nil && strings.Contains(err.Error(), testSecret) {
			t.Errorf("Verify(unreachable) error %q reveals the secret", err)
		}
	})
}

func TestNewHosted(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HostedConfig
		wantErr bool
		wantURL string
	}{
		{"turnstile default", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret}, false, TurnstileVerifyURL},
		{"hcaptcha default", HostedConfig{Provider: ProviderHCaptcha, Secret: testSecret, SiteKey: "10000000-ffff-ffff-ffff-000000000001"}, false, HCaptchaVerifyURL},
		{"custom https", HostedConfig{Provider: ProviderHCaptcha, Secret: testSecret, VerifyURL: "https://proxy.example.com/siteverify"}, false, "https://proxy.example.com/siteverify"},
		{"loopback http", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: "http://127.0.0.1:9/v"}, false, "http://127.0.0.1:9/v"},
		{"loopback ipv6 http", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: "http://[::1]:9/v"}, false, "http://[::1]:9/v"},
		{"localhost http", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: "http://localhost:9/v"}, false, "http://localhost:9/v"},
		{"unknown provider", HostedConfig{Provider: "recaptcha", Secret: testSecret}, true, ""},
		{"empty provider", HostedConfig{Secret: testSecret}, true, ""},
		{"empty secret", HostedConfig{Provider: ProviderTurnstile}, true, ""},
		{"remote http", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: "http://example.com/v"}, true, ""},
		{"other scheme", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: "ftp://example.com/v"}, true, ""},
		{"relative", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: "/siteverify"}, true, ""},
		{"unparsable", HostedConfig{Provider: ProviderTurnstile, Secret: testSecret, VerifyURL: "https://exa mple.com/%zz"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHosted(tt.cfg, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewHosted(%+v) error = %v, want error %v", tt.cfg.Provider, err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), testSecret) {
					t.Errorf("NewHosted() error %q reveals the secret", err)
				}
				return
			}
			if h.verifyURL != tt.wantURL {
				t.Errorf("NewHosted(%s) verify URL = %q, want %q", tt.name, h.verifyURL, tt.wantURL)
			}
			if h.cfg.Timeout != DefaultHostedTimeout {
				t.Errorf("NewHosted() timeout = %v, want %v", h.cfg.Timeout, DefaultHostedTimeout)
			}
			if h.SiteKey() != tt.cfg.SiteKey {
				t.Errorf("SiteKey() = %q, want %q", h.SiteKey(), tt.cfg.SiteKey)
			}
			if h.Provider() != tt.cfg.Provider {
				t.Errorf("Provider() = %q, want %q", h.Provider(), tt.cfg.Provider)
			}
		})
	}
}
