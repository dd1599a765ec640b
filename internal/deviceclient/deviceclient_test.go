package deviceclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
	"deadbolt/internal/totp"
)

func TestPairConfirmCheckDisconnect(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	ctx := context.Background()
	admin := s.AdminToken(t)
	r := s.Do(t, "POST", "/api/v1/me/device/pairing", admin, map[string]any{})
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("start pairing: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	pairURL, _ := m["url"].(string)
	pairID, _ := m["id"].(string)

	st, err := deviceclient.Pair(ctx, s.Client, pairURL, "terminal")
	if err != nil {
		t.Fatalf("Pair(%q) = %v", pairURL, err)
	}
	if st.Server != s.URL {
		t.Errorf("Pair: Server = %q, want %q", st.Server, s.URL)
	}
	if st.Account.Login != "admin" {
		t.Errorf("Pair: Account.Login = %q, want %q", st.Account.Login, "admin")
	}
	if st.DeviceID == "" || st.DeviceToken == "" {
		t.Errorf("Pair: empty device id or token: %+v", st.Account)
	}

	// The token is single use.
	_, err = deviceclient.Pair(ctx, s.Client, pairURL, "again")
	var ae *deviceclient.APIError
	if !errors.As(err, &ae) || ae.Status < 400 || ae.Code == "" {
		t.Errorf("second Pair = %v, want an *APIError with a code", err)
	}

	code, err := st.Code(s.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+pairID+"/confirm", admin, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	if err := st.Check(ctx, s.Client); err != nil {
		t.Fatalf("Check after pairing = %v, want nil", err)
	}

	if r := s.Do(t, "POST", "/api/v1/logout/all", admin, map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("logout all: %d %s", r.Status, r.Body)
	}
	err = st.Check(ctx, s.Client)
	if !errors.As(err, &ae) || ae.Code != "device_disconnected" || ae.Status != http.StatusUnauthorized {
		t.Errorf("Check after logout all = %v, want 401 device_disconnected", err)
	}
}

func TestPairBadURL(t *testing.T) {
	for _, u := range []string{
		"", "ftp://example.com/app/pair#abc", "https://example.com/app/pair",
		"https://example.com/other#abc", "https://example.com/app/pair?x=1#abc",
		"https:///app/pair#abc", "https://example.com/app/pair#a+b",
	} {
		t.Run(u, func(t *testing.T) {
			if _, err := deviceclient.Pair(context.Background(), http.DefaultClient, u, "x"); err == nil {
				t.Errorf("Pair(%q) = nil error, want an error", u)
			}
		})
	}
}

func TestParsePairingURL(t *testing.T) {
	tests := []struct{ in, server, token string }{
		{"https://mfa.example.com/app/pair#AbC-_9", "https://mfa.example.com", "AbC-_9"},
		{"http://127.0.0.1:8080/deadbolt/app/pair#tok", "http://127.0.0.1:8080/deadbolt", "tok"},
		{" https://x.example/app/pair#tk \n", "https://x.example", "tk"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			server, token, err := deviceclient.ParsePairingURL(tc.in)
			if err != nil || server != tc.server || token != tc.token {
				t.Errorf("ParsePairingURL(%q) = %q, %q, %v, want %q, %q, nil", tc.in, server, token, err, tc.server, tc.token)
			}
		})
	}
}

func FuzzParsePairingURL(f *testing.F) {
	f.Add("https://mfa.example.com/app/pair#AbC")
	f.Add("http://h/app/pair#")
	f.Fuzz(func(t *testing.T, s string) {
		server, token, err := deviceclient.ParsePairingURL(s)
		if err != nil {
			return
		}
		if token == "" || !strings.HasPrefix(server, "http") {
			t.Errorf("ParsePairingURL(%q) = %q, %q, nil: accepted an empty token or bad server", s, server, token)
		}
		if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
			t.Errorf("ParsePairingURL(%q) token %q is not base64url", s, token)
		}
	})
}

// newState pairs a device against a real server, for tests needing a key.
func newState(t *testing.T) *deviceclient.State {
	t.Helper()
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	r := s.Do(t, "POST", "/api/v1/me/device/pairing", s.AdminToken(t), map[string]any{})
	st, err := deviceclient.Pair(context.Background(), s.Client, r.JSON(t)["url"].(string), "t")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSignVerifies(t *testing.T) {
	st := newState(t)
	pub, err := st.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ id, decision, number string }{
		{"req1", "approve", "42"},
		{"req2", "deny", ""},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			sig, err := st.Sign(tc.id, tc.decision, tc.number)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := base64.RawURLEncoding.DecodeString(sig)
			if err != nil || len(raw) != 64 {
				t.Fatalf("Sign = %q: not 64 bytes of base64url (%v)", sig, err)
			}
			h := sha256.Sum256([]byte("deadbolt-push-v1\n" + tc.id + "\n" + tc.decision + "\n" + tc.number))
			r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
			if !ecdsa.Verify(pub, h[:], r, s) {
				t.Errorf("Sign(%q, %q, %q) does not verify", tc.id, tc.decision, tc.number)
			}
			other := sha256.Sum256([]byte("deadbolt-push-v1\n" + tc.id + "\nother\n" + tc.number))
			if ecdsa.Verify(pub, other[:], r, s) {
				t.Errorf("Sign(%q, %q, %q) verifies for another decision", tc.id, tc.decision, tc.number)
			}
		})
	}
}

func TestStateSaveLoad(t *testing.T) {
	st := newState(t)
	path := filepath.Join(t.TempDir(), "device.json")
	if err := st.Save(path); err != nil {
		t.Fatalf("Save = %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("Save: mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := deviceclient.Load(path)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if got.Server != st.Server || got.DeviceID != st.DeviceID || got.DeviceToken != st.DeviceToken ||
		got.TOTPSecret != st.TOTPSecret || got.Account != st.Account || string(got.PrivateKeyPKCS8) != string(st.PrivateKeyPKCS8) {
		t.Errorf("Load = %+v, want %+v", got, st)
	}
	now := time.Unix(1_700_000_000, 0)
	a, _ := st.Code(now)
	b, _ := got.Code(now)
	secret, _ := totp.DecodeSecret(st.TOTPSecret)
	if a != b || a != totp.Code(secret, now) {
		t.Errorf("Code after Load = %q, want %q", b, a)
	}
	// Saving again replaces the file.
	if err := got.Save(path); err != nil {
		t.Errorf("second Save = %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := deviceclient.Load(path); err == nil {
		t.Errorf("Load of a 0644 file = nil error, want an error")
	}
	if _, err := deviceclient.Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("Load of a missing file = nil error, want an error")
	}
}

func TestRequestParseNumber(t *testing.T) {
	tests := []struct {
		digits int
		typed  string
		want   int
		ok     bool
	}{
		{6, "482913", 482913, true},
		{6, " 482 913 ", 482913, true},
		{0, "482913", 482913, true}, // no digits field: six
		{6, "48291", 0, false},
		{6, "4829130", 0, false},
		{6, "082913", 0, false},
		{6, "48291a", 0, false},
		{6, "-48291", 0, false},
		{6, "", 0, false},
		{8, "4829 1357", 48291357, true},
		{8, "482913", 0, false},
		{9, "482913", 482913, true}, // out of range: six
	}
	for _, tt := range tests {
		r := deviceclient.Request{Digits: tt.digits}
		n, ok := r.ParseNumber(tt.typed)
		if n != tt.want || ok != tt.ok {
			t.Errorf("Request{Digits: %d}.ParseNumber(%q) = %d, %v; want %d, %v", tt.digits, tt.typed, n, ok, tt.want, tt.ok)
		}
	}
}
