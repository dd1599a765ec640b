package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"deadbolt/internal/store/sqlite"
)

// TestAdminAppCLI: "deadbolt admin app …" and "admin oidc rotate-key"
// act on the database through the server's services: the secret is shown
// once and kept hashed, refusals come with their code.
func TestAdminAppCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "deadbolt.db")
	env := envOf("DEADBOLT_DATABASE", db, "DEADBOLT_PUBLIC_URL", "https://sso.example.com")
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := runOnce(t, env, "", args...)
		if code != 0 {
			t.Fatalf("%s = %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	ok("admin", "workgroup", "add", "Engineering")
	out := ok("admin", "app", "add", "Wiki", "--kind", "oidc", "--redirect-uri", "https://wiki.example.com/cb",
		"--redirect-uri", "http://127.0.0.1:8765/cb", "--workgroup", "Engineering", "--require-2fa",
		"--backchannel-logout-uri", "https://wiki.example.com/bcl")
	secret := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
	clientID := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
	if secret == nil || clientID == nil || !strings.Contains(out, "issuer: https://sso.example.com (discovery: https://sso.example.com/.well-known/openid-configuration)") {
		t.Fatalf("app add printed %q", out)
	}
	ok("admin", "app", "add", "Grafana", "--kind", "proxy", "--domain", "grafana.example.com")
	list := ok("admin", "app", "list")
	if !strings.Contains(list, "Wiki") || !strings.Contains(list, "Grafana") || strings.Contains(list, secret[1]) {
		t.Errorf("app list printed %q", list)
	}
	show := ok("admin", "app", "show", "wiki")
	if !strings.Contains(show, clientID[1]) || !strings.Contains(show, "https://wiki.example.com/bcl") || strings.Contains(show, secret[1]) {
		t.Errorf("app show printed %q", show)
	}
	rot := ok("admin", "app", "rotate-secret", "Wiki")
	secret2 := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(rot)
	if secret2 == nil || secret2[1] == secret[1] {
		t.Errorf("rotate-secret printed %q", rot)
	}
	// The database keeps a hash, never the secret.
	st, err := sqlite.Open(context.Background(), db, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.ApplicationByClientID(context.Background(), clientID[1])
	st.Close()
	if err != nil || a.SecretHash == nil || strings.Contains(string(a.SecretHash), secret2[1]) {
		t.Errorf("stored app = %+v, %v", a, err)
	}
	if out := ok("admin", "oidc", "rotate-key"); !strings.Contains(out, "new signing key") {
		t.Errorf("rotate-key printed %q", out)
	}
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"taken name", []string{"admin", "app", "add", "WIKI", "--kind", "proxy", "--domain", "x.example.com"}, "conflict"},
		{"plain http redirect", []string{"admin", "app", "add", "X", "--kind", "oidc", "--redirect-uri", "http://x.example.com/cb"}, "invalid_input"},
		{"no kind", []string{"admin", "app", "add", "X", "--domain", "x.example.com"}, "invalid_input"},
		{"unknown app", []string{"admin", "app", "show", "Nope"}, "not_found"},
		{"proxy secret", []string{"admin", "app", "rotate-secret", "Grafana"}, "invalid_input"},
	}
	for _, tc := range bad {
		code, _, errs := runOnce(t, env, "", tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %s", tc.name, code, errs, tc.want)
		}
	}
	if out := ok("admin", "app", "delete", "Grafana"); !strings.Contains(out, "deleted Grafana") {
		t.Errorf("delete printed %q", out)
	}
	if code, _, _ := runOnce(t, env, "", "admin", "app", "frobnicate"); code != 2 {
		t.Errorf("unknown verb exit %d, want 2 (usage)", code)
	}
}
