package oidc

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/accounts"
	"deadbolt/internal/apps"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
	"deadbolt/internal/seal"
	"deadbolt/internal/signin"
	"deadbolt/internal/store/sqlite"
)

// testProvider is a provider over a real SQLite store.
type testProvider struct {
	p     *Provider
	store *sqlite.Store
	app   *deadbolt.Application
	user  *deadbolt.User
}

func newTestProvider(tb testing.TB) *testProvider {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "oidc.db"), true)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	clock := deadbolt.NewFixedClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	box, _ := seal.New(bytes.Repeat([]byte{7}, 32))
	log := slog.New(slog.DiscardHandler)
	auditLog := audit.New(st, clock, log)
	secrets, _ := apps.NewSecrets(box.Subkey("test"))
	appSvc := apps.New(st, secrets, auditLog, clock)
	hasher := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1)
	si := signin.New(st, hasher, auditLog, clock, signin.DefaultConfig(), nil, log)
	keys := NewKeyRing(st, box, clock)
	if err := keys.Ensure(ctx); err != nil {
		tb.Fatal(err)
	}
	p, err := New(Config{Issuer: "https://sso.example.com", Store: st, Keys: keys, Apps: appSvc, Signin: si, Clock: clock, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	name, kind := "Wiki", deadbolt.AppOIDC
	redirects := []string{"https://wiki.example.com/cb"}
	app, _, err := appSvc.Create(ctx, accounts.Actor{}, apps.Settings{Name: &name, Kind: &kind, RedirectURIs: &redirects})
	if err != nil {
		tb.Fatal(err)
	}
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: "erin", Name: "Erin", Email: "erin@example.com", Active: true,
		PasswordHash: "x", CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	if err := st.CreateUser(ctx, u); err != nil {
		tb.Fatal(err)
	}
	return &testProvider{p: p, store: st, app: app, user: u}
}

func TestNewRefusesBadIssuers(t *testing.T) {
	for _, iss := range []string{"", "sso.example.com", "ftp://sso.example.com", "https://sso.example.com/?x=1", "https://sso.example.com/#f"} {
		if _, err := New(Config{Issuer: iss}); err == nil {
			t.Errorf("New(issuer %q) = nil error", iss)
		}
	}
}

func TestIDTokenVerifies(t *testing.T) {
	tp := newTestProvider(t)
	ctx := context.Background()
	now := tp.p.Clock.Now()
	tok, err := tp.p.idToken(ctx, tp.app, tp.user, "sid-1", []string{ScopeOpenID, ScopeProfile, ScopeEmail}, "n-1", now,
		[]string{"pwd", "swk", "mfa"}, "access", now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tp.p.verifyIDToken(ctx, tok)
	if err != nil || c.Subject != tp.user.ID || c.SessionID != "sid-1" || c.Audience[0] != tp.app.ClientID {
		t.Fatalf("verifyIDToken = %+v, %v", c, err)
	}
	var all map[string]any
	tp.p.Keys.Verify(ctx, tok, &all)
	if all["acr"] != "mfa" || all["nonce"] != "n-1" || all["email"] != "erin@example.com" || all["preferred_username"] != "erin" || all["at_hash"] == nil {
		t.Errorf("claims = %v", all)
	}
	// Tampering with any part breaks it.
	parts := strings.Split(tok, ".")
	for i := range parts {
		bad := append([]string(nil), parts...)
		bad[i] = strings.ToUpper(bad[i][:4]) + bad[i][4:]
		if bad[i] == parts[i] {
			bad[i] = "A" + bad[i][1:]
		}
		if _, err := tp.p.verifyIDToken(ctx, strings.Join(bad, ".")); err == nil {
			t.Errorf("a token with part %d changed verifies", i)
		}
	}
	// A token signed by another provider's key does not verify.
	other := newTestProvider(t)
	foreign, _ := other.p.idToken(ctx, tp.app, tp.user, "sid-1", []string{ScopeOpenID}, "", now, nil, "", now)
	if _, err := tp.p.verifyIDToken(ctx, foreign); err == nil {
		t.Error("a token of another key ring verifies")
	}
}

func FuzzVerifyIDToken(f *testing.F) {
	tp := newTestProvider(f)
	ctx := context.Background()
	now := tp.p.Clock.Now()
	good, err := tp.p.idToken(ctx, tp.app, tp.user, "sid", []string{ScopeOpenID}, "", now, nil, "", now)
	if err != nil {
		f.Fatal(err)
	}
	payload := strings.Split(good, ".")[1]
	f.Add(good)
	f.Add(good + "x")
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add(`eyJhbGciOiJub25lIn0.` + payload + `.`)
	f.Add(`eyJhbGciOiJIUzI1NiJ9.` + payload + `.c2ln`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tp.p.verifyIDToken(ctx, s)
		if err != nil {
			return
		}
		// Only what this provider signed verifies: the payload it signed.
		parts := strings.Split(s, ".")
		if len(parts) != 3 || parts[1] != payload || c.Subject != tp.user.ID {
			t.Fatalf("verifyIDToken(%q) accepted a token this provider did not sign", s)
		}
	})
}

func FuzzToken(f *testing.F) {
	tp := newTestProvider(f)
	ctx := context.Background()
	id := tp.app.ClientID
	for _, s := range []string{
		"grant_type=authorization_code&code=" + strings.Repeat("a", 43) + "&redirect_uri=https%3A%2F%2Fwiki.example.com%2Fcb&code_verifier=" + strings.Repeat("b", 43),
		"grant_type=refresh_token&refresh_token=" + strings.Repeat("r", 43),
		"grant_type=password&username=erin&password=x",
		"client_id=" + id + "&grant_type=authorization_code&code=x",
		"client_id=" + id + "&client_secret=s&grant_type=refresh_token&refresh_token=%00",
		"grant_type=authorization_code&grant_type=refresh_token",
	} {
		f.Add(s, id, "secret", true)
		f.Add(s, "", "", false)
	}
	f.Fuzz(func(t *testing.T, body, basicID, basicSecret string, basic bool) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		cred := ClientCredentials{}
		if basic {
			cred = ClientCredentials{Basic: true, BasicID: basicID, BasicSecret: basicSecret}
		}
		resp, e := tp.p.Token(ctx, cred, form)
		if e == nil {
			t.Fatalf("Token(%q) = %+v without a valid client secret or code", body, resp)
		}
		if e.Code == "" || e.Description == "" || e.Status < 400 || e.Status > 599 {
			t.Fatalf("Token(%q) = malformed error %+v", body, e)
		}
		if e.Status >= 500 {
			t.Fatalf("Token(%q) = server error %v", body, e)
		}
	})
}

// BenchmarkSignIDToken measures the signing cost of one ID token (ES256
// over the claims of the profile and email scopes).
func BenchmarkSignIDToken(b *testing.B) {
	tp := newTestProvider(b)
	ctx := context.Background()
	now := tp.p.Clock.Now()
	scopes := []string{ScopeOpenID, ScopeProfile, ScopeEmail}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.p.idToken(ctx, tp.app, tp.user, "sid", scopes, "nonce", now, []string{"pwd", "swk", "mfa"}, "access-token", now); err != nil {
			b.Fatal(err)
		}
	}
}
