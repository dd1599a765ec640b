package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/captcha"
	"deadbolt/internal/deadbolttest"
)

// TestHostedCaptcha: with a hosted CAPTCHA configured, the recovery-code
// rule asks the provider's siteverify (here a loopback stand-in) instead of
// the built-in challenge.
func TestHostedCaptcha(t *testing.T) {
	verify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.ParseForm() != nil || r.PostForm.Get("secret") != "s3cret" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("response") == "good-token" {
			w.Write([]byte(`{"success":true}`))
			return
		}
		w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"]}`))
	}))
	defer verify.Close()
	s := deadbolttest.StartServer(t, deadbolttest.Options{Captcha: &captcha.HostedConfig{
		Provider: captcha.ProviderTurnstile, SiteKey: "site-key-1", Secret: "s3cret", VerifyURL: verify.URL}})
	if m := s.Do(t, "GET", "/api/v1/captcha", "", nil).JSON(t); m["provider"] != "turnstile" || m["site_key"] != "site-key-1" {
		t.Errorf("GET /captcha = %v", m)
	}
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "hal", "hal-password")
	tok, _ := s.Login(t, "hal", "hal-password")
	pairCLI(t, s, tok)
	codes := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil).JSON(t)["codes"].([]any)
	pending, _ := s.Login(t, "hal", "hal-password")
	for range 3 {
		secondFactor(t, s, pending, map[string]any{"method": "recovery", "code": "AAAAA-AAAAA"})
	}
	if r := secondFactor(t, s, pending, map[string]any{"method": "recovery", "code": codes[0]}); r.ErrorCode() != "captcha_required" {
		t.Fatalf("without a token: %d %s", r.Status, r.Body)
	}
	if r := secondFactor(t, s, pending, map[string]any{"method": "recovery", "code": codes[0],
		"captcha": map[string]string{"id": "", "answer": "bad-token"}}); r.ErrorCode() != "captcha_required" {
		t.Fatalf("with a refused token: %d %s", r.Status, r.Body)
	}
	// Those five attempts were counted: the sixth waits its second.
	s.Advance(t, time.Second)
	// The recovery page shows the provider's widget, allowed by its CSP.
	req, _ := http.NewRequest("GET", s.URL+"/login/verify?method=recovery", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-deadbolt_session", Value: pending})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "https://challenges.cloudflare.com") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("recovery page CSP = %q", csp)
	}
	if r := secondFactor(t, s, pending, map[string]any{"method": "recovery", "code": codes[0],
		"captcha": map[string]string{"id": "", "answer": "good-token"}}); r.Status != http.StatusOK {
		t.Fatalf("with a good token: %d %s", r.Status, r.Body)
	}
}
