package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/password"
	"deadbolt/internal/store/sqlite"
)

// lockedBuffer collects a command's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// envOf is a getenv over name/value pairs; the test process's own
// environment never leaks in.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// runOnce runs a command that ends by itself.
func runOnce(t *testing.T, getenv func(string) string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if getenv == nil {
		getenv = envOf()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb lockedBuffer
	code = run(ctx, append([]string{"deadbolt"}, args...), getenv, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// serveProc is a "deadbolt serve" running in the test.
type serveProc struct {
	url, password string
	stdout        *lockedBuffer
	stderr        *lockedBuffer
	stop          func() int
}

var (
	listeningRe = regexp.MustCompile(`Deadbolt is listening on (http://[0-9.:\[\]]+)\n`)
	oneTimeRe   = regexp.MustCompile(`one-time password (\S+)\n`)
)

// startServe runs serve with args until stop is called, waiting for it to
// print its address and answer /healthz.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serveProc{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"deadbolt", "serve"}, args...), envOf(), strings.NewReader(""), s.stdout, s.stderr)
	}()
	stopped := false
	var code int
	s.stop = func() int {
		if stopped {
			return code
		}
		stopped = true
		cancel()
		select {
		case code = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop within 20 s of its context ending")
		}
		return code
	}
	t.Cleanup(func() { s.stop() })

	deadline := time.Now().Add(30 * time.Second)
	for s.url == "" {
		if m := listeningRe.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			break
		}
		select {
		case code := <-done:
			stopped = true
			t.Fatalf("serve exited with %d before listening\nstdout: %s\nstderr: %s", code, s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no address\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
		}
	}
	if m := oneTimeRe.FindStringSubmatch(s.stdout.String()); m != nil {
		s.password = m[1]
	}
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/healthz never answered 200: %v", s.url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// postSignIn posts a password sign-in and returns the status and body.
func postSignIn(t *testing.T, base, login, pw string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"login": login, "password": pw})
	resp, err := http.Post(base+"/api/v1/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("sign in: %d, body not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	db, keyFile := filepath.Join(dir, "x.db"), filepath.Join(dir, "k")
	s := startServe(t, "--listen", "127.0.0.1:0", "--database", db, "--master-key-file", keyFile)
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") || strings.HasSuffix(s.url, ":0") {
		t.Errorf("listening on %q, want the real loopback port", s.url)
	}
	if len(s.password) < 16 {
		t.Fatalf("one-time admin password = %q, want a generated one\nstdout: %s", s.password, s.stdout)
	}
	// The default public URL is a name (passkeys need one), on the real port.
	if _, port, _ := strings.Cut(strings.TrimPrefix(s.url, "http://"), ":"); !strings.Contains(s.stdout.String(), "Open http://localhost:"+port+"/login") {
		t.Errorf("stdout does not say to open http://localhost:%s/login:\n%s", port, s.stdout)
	}
	// A phone cannot reach localhost: the start says so, and what to set.
	if out := s.stdout.String(); !strings.Contains(out, "Phones cannot reach http://localhost:") || !strings.Contains(out, "--public-url") {
		t.Errorf("stdout does not say that a phone needs --public-url set to an address it can reach:\n%s", out)
	}
	status, m := postSignIn(t, s.url, "admin", s.password)
	// The printed password signs in once, to choose a new one.
	if status != http.StatusOK || m["state"] != "password_change_required" || m["session_token"] == "" {
		t.Fatalf("sign in with the printed password = %d %v, want 200 password_change_required", status, m)
	}
	if status, _ := postSignIn(t, s.url, "admin", s.password+"x"); status != http.StatusUnauthorized {
		t.Errorf("sign in with a wrong password = %d, want 401", status)
	}
	resp, err := http.Get(s.url + "/api/v1/dev/clock")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/v1/dev/clock without --dev = %d, want 404", resp.StatusCode)
	}

	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("master key file: %v", err)
	}
	if k, err := hex.DecodeString(strings.TrimSpace(string(key))); err != nil || len(k) != 32 {
		t.Errorf("master key file holds %q, want 64 hex characters", key)
	}
	if fi, err := os.Stat(keyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("master key file mode = %v, want no access for group and others", fi.Mode().Perm())
	}

	if code := s.stop(); code != 0 {
		t.Errorf("run after its context ended = %d, want 0\nstderr: %s", code, s.stderr)
	}
	if resp, err := http.Get(s.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the server still answers after run returned")
	}
	if strings.Contains(s.stderr.String(), s.password) {
		t.Error("the log holds the one-time password")
	}

	// A second start on the same database creates no administrator and
	// keeps the first password working.
	s2 := startServe(t, "--listen", "127.0.0.1:0", "--database", db, "--master-key-file", keyFile)
	if s2.password != "" || strings.Contains(s2.stdout.String(), "one-time") {
		t.Errorf("second start printed a one-time password:\n%s", s2.stdout)
	}
	if status, _ := postSignIn(t, s2.url, "admin", s.password); status != http.StatusOK {
		t.Errorf("sign in after restart = %d, want 200", status)
	}
	if code := s2.stop(); code != 0 {
		t.Errorf("second run = %d, want 0", code)
	}
}

func TestBadSettings(t *testing.T) {
	dir := t.TempDir()
	writeConfig := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownKey := writeConfig("unknown.json", `{"listen":"127.0.0.1:0","sesion-idle":"1h"}`)
	badValue := writeConfig("bad.json", `{"session-lifetime":"forever"}`)
	fewDigits := writeConfig("digits.json", `{"push-digits":4}`)
	notJSON := writeConfig("broken.json", `listen = "127.0.0.1:0"`)

	cases := []struct {
		name string
		args []string
		env  []string
		code int
		want []string
		bug  string // a known bug keeps the case from passing yet
	}{
		{"listen not host:port", []string{"--listen", "nope"}, nil, 1, []string{"listen", `"nope"`}, ""},
		{"listen port", []string{"--listen", "127.0.0.1:99999"}, nil, 1, []string{"listen"}, ""},
		{"session-idle zero", []string{"--session-idle", "0"}, nil, 1, []string{"session-idle"}, ""},
		{"session-lifetime", []string{"--session-lifetime", "forever"}, nil, 1, []string{"session-lifetime"}, ""},
		{"dev off loopback", []string{"--dev", "--listen", "0.0.0.0:0"}, nil, 1, []string{"listen", "loopback"}, ""},
		{"dev value", []string{"--dev=maybe"}, nil, 1, []string{"dev"}, ""},
		{"log-format", []string{"--log-format", "xml"}, nil, 1, []string{"log-format", "xml"}, ""},
		{"log-level", []string{"--log-level", "loud"}, nil, 1, []string{"log-level"}, ""},
		{"public-url", []string{"--public-url", "ftp://example.com"}, nil, 1, []string{"public-url"}, ""},
		{"master-key", []string{"--master-key", "abcd"}, nil, 1, []string{"master-key"}, ""},
		{"hash-memory", []string{"--hash-memory", "lots"}, nil, 1, []string{"hash-memory"}, ""},
		{"hash-threads", []string{"--hash-threads", "0"}, nil, 1, []string{"hash-threads"}, ""},
		{"hash-time", []string{"--hash-time", "0"}, nil, 1, []string{"hash-time"}, ""},
		{"admin-password", []string{"--admin-password", "short"}, nil, 1, []string{"admin-password"}, ""},
		{"trusted-proxies", []string{"--trusted-proxies", "10.0.0.0/8,not-a-net"}, nil, 1, []string{"trusted-proxies", "not-a-net"}, ""},
		{"cookie-domain outside the public URL", []string{"--cookie-domain", "example.com", "--public-url", "https://sso.example.org"}, nil, 1, []string{"cookie-domain", "example.org"}, ""},
		{"cookie-domain over http", []string{"--cookie-domain", "example.com", "--public-url", "http://sso.example.com"}, nil, 1, []string{"cookie-domain", "https"}, ""},
		{"cookie-domain not a domain", []string{"--cookie-domain", "com", "--public-url", "https://sso.example.com"}, nil, 1, []string{"cookie-domain"}, ""},
		{"push-digits too few", []string{"--push-digits", "5"}, nil, 1, []string{"push-digits", `"5"`, "6 to 8"}, ""},
		{"push-digits too many", []string{"--push-digits", "9"}, nil, 1, []string{"push-digits", "6 to 8"}, ""},
		{"push-digits two", nil, []string{"DEADBOLT_PUSH_DIGITS", "2"}, 1, []string{"DEADBOLT_PUSH_DIGITS", "6 to 8"}, ""},
		{"push-digits not a number", []string{"--push-digits", "six"}, nil, 1, []string{"push-digits"}, ""},
		{"env listen", nil, []string{"DEADBOLT_LISTEN", "nope"}, 1, []string{"DEADBOLT_LISTEN"}, ""},
		{"env session-idle", nil, []string{"DEADBOLT_SESSION_IDLE", "-1h"}, 1, []string{"DEADBOLT_SESSION_IDLE"}, ""},
		{"shutdown-timeout", []string{"--shutdown-timeout", "soon"}, nil, 1, []string{"shutdown-timeout", `"soon"`}, ""},
		{"shutdown-timeout zero", []string{"--shutdown-timeout", "0s"}, nil, 1, []string{"shutdown-timeout"}, ""},
		{"env shutdown-timeout", nil, []string{"DEADBOLT_SHUTDOWN_TIMEOUT", "-5s"}, 1, []string{"DEADBOLT_SHUTDOWN_TIMEOUT"}, ""},
		{"config unknown key", []string{"--config", unknownKey}, nil, 1, []string{"sesion-idle", "unknown.json"}, ""},
		{"config unknown key by env", nil, []string{"DEADBOLT_CONFIG", unknownKey}, 1, []string{"sesion-idle"}, ""},
		{"config bad value", []string{"--config", badValue}, nil, 1, []string{"session-lifetime"}, ""},
		{"config push-digits", []string{"--config", fewDigits}, nil, 1, []string{"push-digits", `"4"`}, ""},
		{"config not JSON", []string{"--config", notJSON}, nil, 1, []string{"broken.json"}, ""},
		{"config missing", []string{"--config", filepath.Join(dir, "absent.json")}, nil, 1, []string{"config"}, ""},
		{"unknown flag", []string{"--lissen", "127.0.0.1:0"}, nil, 2, []string{"lissen"}, ""},
		{"stray argument", []string{"extra"}, nil, 1, []string{"extra"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.bug != "" {
				t.Skip("known bug: " + c.bug)
			}
			db := filepath.Join(t.TempDir(), "x.db")
			args := append([]string{"serve", "--database", db, "--master-key-file", filepath.Join(t.TempDir(), "k")}, c.args...)
			code, stdout, stderr := runOnce(t, envOf(c.env...), "", args...)
			if code != c.code {
				t.Errorf("run(%q) = %d, want %d\nstdout: %s\nstderr: %s", args, code, c.code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("run(%q): stderr %q does not name %q", args, stderr, w)
				}
			}
			if strings.Contains(stdout, "listening") {
				t.Errorf("run(%q) started listening: %s", args, stdout)
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("run(%q) created the database despite bad settings", args)
			}
		})
	}
}

func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	db, keyFile := filepath.Join(dir, "x.db"), filepath.Join(dir, "k")
	// The commands read the server's settings: the same database and key.
	env := envOf("DEADBOLT_DATABASE", db, "DEADBOLT_MASTER_KEY_FILE", keyFile)

	code, out, errs := runOnce(t, envOf("DEADBOLT_MASTER_KEY_FILE", keyFile), "bob-password-123\n", "admin", "user", "add", "bob", "--name", "Bob Builder", "--password-stdin", "--database="+db)
	if code != 0 || !strings.Contains(out, "created bob") {
		t.Fatalf("admin user add bob = %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if strings.Contains(out, "bob-password-123") {
		t.Error("add printed the password read from standard input")
	}
	code, out, errs = runOnce(t, env, "", "admin", "user", "add", "Carl")
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil || len(m[1]) != 20 {
		t.Fatalf("admin user add carl = %d, want a printed password\nstdout: %s\nstderr: %s", code, out, errs)
	}
	carlPassword := m[1]

	bad := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"taken", "another-password\n", []string{"admin", "user", "add", "BOB", "--password-stdin"}, "login_taken"},
		{"bad login", "another-password\n", []string{"admin", "user", "add", "bad login", "--password-stdin"}, "invalid_input"},
		{"short password", "short\n", []string{"admin", "user", "add", "dan", "--password-stdin"}, "invalid_input"},
		{"deactivate unknown", "", []string{"admin", "user", "deactivate", "nobody"}, "not_found"},
		{"reset unknown", "", []string{"admin", "user", "reset-password", "nobody"}, "not_found"},
	}
	for _, c := range bad {
		code, out, errs := runOnce(t, env, c.stdin, c.args...)
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("run(%q) = %d, stderr %q, want 1 and a message naming %q (stdout %q)", c.args, code, errs, c.want, out)
		}
	}

	listRow := func(login string) []string {
		t.Helper()
		code, out, errs := runOnce(t, env, "", "admin", "user", "list")
		if code != 0 {
			t.Fatalf("admin user list = %d: %s", code, errs)
		}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == login {
				return f
			}
		}
		t.Fatalf("admin user list lacks %s:\n%s", login, out)
		return nil
	}
	row := listRow("bob")
	if !strings.Contains(strings.Join(row, " "), "Bob Builder") || row[len(row)-2] != "true" {
		t.Errorf("bob's row = %q, want the name and active true", row)
	}
	listRow("carl")

	code, out, _ = runOnce(t, env, "", "admin", "user", "deactivate", "bob")
	if code != 0 || !strings.Contains(out, "deactivated bob") {
		t.Errorf("deactivate bob = %d %q", code, out)
	}
	if row := listRow("bob"); row[len(row)-2] != "false" {
		t.Errorf("bob after deactivate = %q, want active false", row)
	}
	code, out, _ = runOnce(t, env, "", "admin", "user", "activate", "bob")
	if row := listRow("bob"); code != 0 || row[len(row)-2] != "true" {
		t.Errorf("activate bob = %d %q; row %q", code, out, row)
	}

	code, out, errs = runOnce(t, env, "", "admin", "user", "reset-password", "bob")
	m = regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil || len(m[1]) != 20 {
		t.Fatalf("reset-password bob = %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	bobPassword := m[1]

	// backup copies the live database into a file the store opens.
	dest := filepath.Join(dir, "backup.db")
	code, out, errs = runOnce(t, nil, "", "backup", dest, "--database", db)
	if code != 0 || !strings.Contains(out, dest) {
		t.Fatalf("backup = %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if code, _, errs := runOnce(t, nil, "", "backup", dest, "--database", db); code == 0 || !strings.Contains(errs, "exists") {
		t.Errorf("backup over an existing file = %d %q, want a refusal", code, errs)
	}
	if code, _, _ := runOnce(t, nil, "", "backup", filepath.Join(dir, "b2.db"), "--database", filepath.Join(dir, "absent.db")); code == 0 {
		t.Error("backup of a missing database succeeded")
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dest, false)
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	users, err := st.ListUsers(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	byLogin := map[string]string{}
	for _, u := range users {
		byLogin[u.Login] = u.PasswordHash
	}
	h := password.New(password.DefaultParams, 1)
	for login, pw := range map[string]string{"bob": bobPassword, "carl": carlPassword} {
		hash, ok := byLogin[login]
		if !ok {
			t.Errorf("the backup lacks %s: %v", login, byLogin)
			continue
		}
		if ok, _, err := h.Verify(ctx, pw, hash); err != nil || !ok {
			t.Errorf("the backup's hash for %s does not match the printed password: %v", login, err)
		}
	}
	if ok, _, _ := h.Verify(ctx, "bob-password-123", byLogin["bob"]); ok {
		t.Error("bob's old password still matches after reset-password")
	}

	// The server on this database signs bob in with the reset password, and
	// creates no administrator of its own.
	s := startServe(t, "--listen", "127.0.0.1:0", "--database", db, "--master-key-file", keyFile)
	if s.password != "" {
		t.Errorf("serve on a database with users printed a one-time password")
	}
	if status, m := postSignIn(t, s.url, "bob", bobPassword); status != http.StatusOK {
		t.Errorf("sign in as bob = %d %v", status, m)
	}
	if status, _ := postSignIn(t, s.url, "admin", "anything-at-all"); status != http.StatusUnauthorized {
		t.Errorf("sign in as a never-created admin = %d, want 401", status)
	}
}

// TestAdminDatabaseFlag gives the admin commands --database as two
// arguments, the form the usage text shows.
func TestAdminDatabaseFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	cases := [][]string{
		{"admin", "user", "add", "bob", "--password-stdin", "--database", db},
		{"admin", "user", "list", "--database", db},
		{"admin", "user", "deactivate", "bob", "--database", db},
	}
	for _, args := range cases {
		code, out, errs := runOnce(t, nil, "bob-password-123\n", args...)
		if code != 0 {
			t.Errorf("run(%q) = %d\nstdout: %s\nstderr: %s", args, code, out, errs)
		}
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database named by --database was not used: %v", err)
	}
}

func TestOtherCommands(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		code      int
		out, errs string
	}{
		{"version", []string{"version"}, 0, "deadbolt " + version + "\n", ""},
		{"help", []string{"help"}, 0, "deadbolt backup", ""},
		{"unknown", []string{"frobnicate"}, 1, "", "unknown command \"frobnicate\""},
		{"admin without verb", []string{"admin"}, 2, "usage", ""},
		{"admin unknown verb", []string{"admin", "user", "promote", "x"}, 2, "usage", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runOnce(t, envOf("DEADBOLT_DATABASE", filepath.Join(t.TempDir(), "x.db")), "", c.args...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errs, c.errs) {
				t.Errorf("run(%q) = %d\nstdout %q (want %q)\nstderr %q (want %q)", c.args, code, out, c.out, errs, c.errs)
			}
		})
	}
}
