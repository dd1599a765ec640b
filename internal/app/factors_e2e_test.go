package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/password"
	"deadbolt/internal/signin"
	"deadbolt/internal/totp"
)

// pairDevice pairs a fresh P-256 device for the signed-in token and
// confirms it; it returns the device token and TOTP secret.
func pairDevice(t *testing.T, s *deadbolttest.Server, token string) (string, []byte) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/me/device/pairing", token, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("pairing: %d %s", r.Status, r.Body)
	}
	offer := r.JSON(t)
	url := offer["url"].(string)
	if !strings.HasPrefix(url, s.URL+"/app/pair#") || !strings.HasPrefix(offer["qr"].(string), "data:image/png;base64,") {
		t.Fatalf("offer = %v", offer)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	body := map[string]any{"token": offer["token"], "public_key": base64.RawURLEncoding.EncodeToString(der), "name": "Test phone", "platform": "cli"}
	r = s.Do(t, "POST", "/api/v1/device/pair", "", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("device pair: %d %s", r.Status, r.Body)
	}
	paired := r.JSON(t)
	if again := s.Do(t, "POST", "/api/v1/device/pair", "", body); again.Status != http.StatusNotFound {
		t.Errorf("pairing token reused: %d %s", again.Status, again.Body)
	}
	secret, err := totp.DecodeSecret(paired["totp"].(map[string]any)["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	code := totp.Code(secret, s.Clock().Now())
	if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", token, map[string]string{"code": "000000"}); r.Status != http.StatusUnauthorized && code != "000000" {
		t.Errorf("confirm with a wrong code: %d %s", r.Status, r.Body)
	}
	r = s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", token, map[string]string{"code": code})
	if r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	return paired["device_token"].(string), secret
}

func secondFactor(t *testing.T, s *deadbolttest.Server, pending string, body map[string]any) *deadbolttest.Response {
	t.Helper()
	return s.Do(t, "POST", "/api/v1/login/second-factor", pending, body)
}

var recoveryShape = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)

func TestSecondFactorFlow(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "alice", "alice-password")
		tok, _ := s.Login(t, "alice", "alice-password")
		devToken, secret := pairDevice(t, s, tok)

		me := s.Do(t, "GET", "/api/v1/me", tok, nil).JSON(t)
		tf := me["two_factor"].(map[string]any)
		if tf["enabled"] != true || tf["device"] == nil {
			t.Fatalf("two_factor after pairing = %v", tf)
		}
		if !hasBanner(me, "recovery_codes_needed") {
			t.Errorf("banners = %v, want recovery_codes_needed", me["banners"])
		}
		r := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("recovery codes: %d %s", r.Status, r.Body)
		}
		var codes []string
		for _, c := range r.JSON(t)["codes"].([]any) {
			codes = append(codes, c.(string))
			if !recoveryShape.MatchString(c.(string)) {
				t.Errorf("code %q is not XXXXX-XXXXX", c)
			}
		}
		if len(codes) != 10 {
			t.Fatalf("got %d codes", len(codes))
		}

		// TOTP sign-in; the step used to confirm cannot be used again.
		pending, ans := s.Login(t, "alice", "alice-password")
		if ans["state"] != "second_factor" || fmt.Sprint(ans["methods"]) != "[push totp recovery]" {
			t.Fatalf("login = %v", ans)
		}
		if r := s.Do(t, "GET", "/api/v1/me", pending, nil); r.Status != http.StatusForbidden {
			t.Errorf("pending session reached /me: %d", r.Status)
		}
		s.Advance(t, 30*time.Second)
		code := totp.Code(secret, s.Clock().Now())
		r = secondFactor(t, s, pending, map[string]any{"method": "totp", "code": code})
		if r.Status != http.StatusOK || r.JSON(t)["state"] != "authenticated" {
			t.Fatalf("totp sign-in: %d %s", r.Status, r.Body)
		}
		full := r.JSON(t)["session_token"].(string)
		if r := s.Do(t, "GET", "/api/v1/me", full, nil); r.Status != http.StatusOK {
			t.Errorf("full session: %d", r.Status)
		}
		if r := s.Do(t, "GET", "/api/v1/me", pending, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("pending token still works after completion: %d", r.Status)
		}
		pending2, _ := s.Login(t, "alice", "alice-password")
		r = secondFactor(t, s, pending2, map[string]any{"method": "totp", "code": code})
		if r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_code" {
			t.Errorf("replayed TOTP code: %d %s", r.Status, r.Body)
		}

		// Recovery code, typed loosely; single use.
		loose := strings.ToLower(strings.ReplaceAll(codes[0], "-", " "))
		r = secondFactor(t, s, pending2, map[string]any{"method": "recovery", "code": loose})
		if r.Status != http.StatusOK {
			t.Fatalf("recovery sign-in: %d %s", r.Status, r.Body)
		}
		pending3, _ := s.Login(t, "alice", "alice-password")
		r = secondFactor(t, s, pending3, map[string]any{"method": "recovery", "code": codes[0]})
		if r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_code" {
			t.Errorf("reused recovery code: %d %s", r.Status, r.Body)
		}

		// Two more wrong ones make three in a row: CAPTCHA from now on.
		for i := range 2 {
			r = secondFactor(t, s, pending3, map[string]any{"method": "recovery", "code": "AAAAA-AAAAA"})
			want := i == 1
			got := r.JSON(t)["error"].(map[string]any)["captcha_required"]
			if r.ErrorCode() != "invalid_code" || got != want {
				t.Errorf("wrong code %d: %s (captcha_required %v, want %v)", i+2, r.Body, got, want)
			}
		}
		if _, ans := s.Login(t, "alice", "alice-password"); ans["captcha_required"] != true {
			t.Errorf("login after the streak: captcha_required = %v", ans["captcha_required"])
		}
		r = secondFactor(t, s, pending3, map[string]any{"method": "recovery", "code": codes[1]})
		if r.Status != http.StatusForbidden || r.ErrorCode() != "captcha_required" {
			t.Fatalf("recovery without CAPTCHA: %d %s", r.Status, r.Body)
		}
		c := s.Do(t, "GET", "/api/v1/captcha", "", nil).JSON(t)
		if img := s.Do(t, "GET", c["image"].(string), "", nil); img.Status != 200 || img.Header.Get("Content-Type") != "image/png" {
			t.Errorf("captcha image: %d %s", img.Status, img.Header.Get("Content-Type"))
		}
		answer := s.Do(t, "GET", "/api/v1/dev/captcha/"+c["id"].(string), "", nil).JSON(t)["answer"].(string)
		r = secondFactor(t, s, pending3, map[string]any{"method": "recovery", "code": codes[1], "captcha": map[string]string{"id": c["id"].(string), "answer": answer}})
		if r.Status != http.StatusOK {
			t.Fatalf("recovery with CAPTCHA: %d %s", r.Status, r.Body)
		}
		full = r.JSON(t)["session_token"].(string)

		// Log out of all devices disconnects the phone.
		if r := s.Do(t, "GET", "/api/v1/device", devToken, nil); r.Status != http.StatusOK {
			t.Fatalf("device before logout-all: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/logout/all", full, nil); r.Status != http.StatusOK {
			t.Fatalf("logout all: %d", r.Status)
		}
		if r := s.Do(t, "GET", "/api/v1/device", devToken, nil); r.Status != http.StatusUnauthorized || r.ErrorCode() != "device_disconnected" {
			t.Errorf("device after logout-all: %d %s", r.Status, r.Body)
		}
		pending4, ans := s.Login(t, "alice", "alice-password")
		if fmt.Sprint(ans["methods"]) != "[recovery]" {
			t.Errorf("methods after disconnection = %v", ans["methods"])
		}
		r = secondFactor(t, s, pending4, map[string]any{"method": "recovery", "code": codes[2]})
		if r.Status != http.StatusOK {
			t.Fatalf("recovery after disconnection: %d %s", r.Status, r.Body)
		}
		me = s.Do(t, "GET", "/api/v1/me", r.JSON(t)["session_token"].(string), nil).JSON(t)
		if !hasBanner(me, "confirm_device") {
			t.Errorf("banners after logout-all = %v, want confirm_device", me["banners"])
		}
	})
}

func hasBanner(me map[string]any, kind string) bool {
	for _, b := range me["banners"].([]any) {
		if b.(map[string]any)["kind"] == kind {
			return true
		}
	}
	return false
}

// TestRecoveryCodeRace: one valid recovery code on 50 pending sign-ins at
// once signs in exactly once.
func TestRecoveryCodeRace(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "bob", "bob-password")
		tok, _ := s.Login(t, "bob", "bob-password")
		pairDevice(t, s, tok)
		codes := s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil).JSON(t)["codes"].([]any)
		const n = 50
		pendings := make([]string, n)
		for i := range pendings {
			pendings[i], _ = s.Login(t, "bob", "bob-password")
		}
		var wins, serverErrors atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := secondFactor(t, s, pendings[i], map[string]any{"method": "recovery", "code": codes[0]})
				switch {
				case r.Status == http.StatusOK:
					wins.Add(1)
				case r.Status >= 500:
					serverErrors.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || serverErrors.Load() != 0 {
			t.Errorf("one recovery code on %d sign-ins: %d successes, %d server errors; want exactly 1 and 0", n, wins.Load(), serverErrors.Load())
		}
	})
}

// TestParallelWrongCodesCounted: 50 parallel wrong codes raise the
// employee's failure counter by exactly 50, on the real store.
func TestParallelWrongCodesCounted(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "carol", "carol-password")
		tok, _ := s.Login(t, "carol", "carol-password")
		pairDevice(t, s, tok)
		s.Do(t, "POST", "/api/v1/me/recovery-codes", tok, nil)

		// A second service over the same store, with delays off, so every
		// attempt reaches the counter.
		cfg := signin.DefaultConfig()
		cfg.SecondFactorFreeFailures, cfg.SecondFactorLockAt, cfg.CaptchaAfter = 1000, 1000, 1000
		clock := s.Clock()
		log := slog.New(slog.DiscardHandler)
		svc := signin.New(s.App.Store, password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4),
			audit.New(s.App.Store, clock, log), clock, cfg, s.App.SigninFactors(), log)
		ctx := context.Background()
		u, err := s.App.Store.UserByLogin(ctx, "carol")
		if err != nil {
			t.Fatal(err)
		}
		before, _ := svc.FailureCount(ctx, u.ID)
		const n = 50
		var wg sync.WaitGroup
		var invalid atomic.Int64
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := &signin.Auth{User: u, Session: &deadbolt.Session{State: deadbolt.SessionPending}}
				_, err := svc.SecondFactor(ctx, a, "recovery", "AAAAA-AAAAA", nil, signin.Client{IP: "192.0.2.7"})
				if deadbolt.ErrorCode(err) == deadbolt.CodeInvalidCode {
					invalid.Add(1)
				} else {
					t.Errorf("wrong code answered %v", err)
				}
			}()
		}
		wg.Wait()
		after, _ := svc.FailureCount(ctx, u.ID)
		if after-before != n || invalid.Load() != n {
			t.Errorf("%d parallel wrong codes: counter %d → %d, %d invalid answers; want +%d", n, before, after, invalid.Load(), n)
		}
	})
}
