package main

import (
	"context"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
	"deadbolt/internal/password"
	"deadbolt/internal/store/sqlite"
)

// storedHash reads an employee's password hash from a SQLite database.
func storedHash(t *testing.T, db, login string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByLogin(ctx, login)
	if err != nil {
		t.Fatalf("UserByLogin(%q) = %v", login, err)
	}
	return u.PasswordHash
}

// TestAdminHashSettings: the administration commands hash passwords with
// the parameters the server is configured with — from a config file, the
// environment or flags, as serve reads them — not with built-in defaults.
func TestAdminHashSettings(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	cfg := filepath.Join(dir, "deadbolt.json")
	if err := os.WriteFile(cfg, []byte(`{"hash-memory": 1024, "hash-time": 3, "master-key-file": "`+filepath.Join(dir, "k")+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf("DEADBOLT_DATABASE", db, "DEADBOLT_CONFIG", cfg)
	mustRun := func(env func(string) string, stdin string, args ...string) {
		t.Helper()
		if code, out, errs := runOnce(t, env, stdin, args...); code != 0 {
			t.Fatalf("run(%q) = %d\nstdout: %s\nstderr: %s", args, code, out, errs)
		}
	}
	h := password.New(password.DefaultParams, 1)
	check := func(what, pw, params string) {
		t.Helper()
		hash := storedHash(t, db, "alice")
		if !strings.Contains(hash, "$"+params+"$") {
			t.Errorf("%s: stored hash %q, want parameters %s", what, hash, params)
		}
		if ok, _, err := h.Verify(context.Background(), pw, hash); err != nil || !ok {
			t.Errorf("%s: the stored hash does not verify the password: %v", what, err)
		}
	}

	mustRun(env, "alice-password-1\n", "admin", "user", "add", "alice", "--password-stdin")
	check("add, config file", "alice-password-1", "m=1024,t=3,p=1")

	// The environment beats the file, a flag beats both.
	env = envOf("DEADBOLT_DATABASE", db, "DEADBOLT_CONFIG", cfg, "DEADBOLT_HASH_MEMORY", "2048")
	mustRun(env, "alice-password-2\n", "admin", "user", "reset-password", "alice", "--password-stdin")
	check("reset-password, environment", "alice-password-2", "m=2048,t=3,p=1")
	mustRun(env, "alice-password-3\n", "admin", "user", "reset-password", "--hash-time", "1", "alice", "--password-stdin")
	check("reset-password, flag", "alice-password-3", "m=2048,t=1,p=1")

	// A setting serve would refuse is refused here too, and changes nothing.
	code, _, errs := runOnce(t, env, "alice-password-4\n", "admin", "user", "reset-password", "alice", "--password-stdin", "--hash-threads", "0")
	if code != 1 || !strings.Contains(errs, "hash-threads") {
		t.Errorf("reset-password with --hash-threads 0 = %d, stderr %q; want 1 naming hash-threads", code, errs)
	}
	check("after a refused reset", "alice-password-3", "m=2048,t=1,p=1")
}

// TestAdminMasterKey: a command given a master key that does not open the
// database's secrets fails with a clear error, and leaves no key file of
// its own behind; with the server's key it works.
func TestAdminMasterKey(t *testing.T) {
	dir := t.TempDir()
	db, serverKey := filepath.Join(dir, "x.db"), filepath.Join(dir, "server.key")
	s := startServe(t, "--listen", "127.0.0.1:0", "--database", db, "--master-key-file", serverKey)
	s.stop()

	stray := filepath.Join(dir, "elsewhere", "deadbolt.key")
	code, _, errs := runOnce(t, envOf("DEADBOLT_DATABASE", db, "DEADBOLT_MASTER_KEY_FILE", stray), "", "admin", "user", "list")
	if code != 1 || !strings.Contains(errs, "master key") || !strings.Contains(errs, stray) {
		t.Errorf("admin user list with another key = %d, stderr %q; want 1 and advice naming the master key and %s", code, errs, stray)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("the refused command left a key file behind: %v", err)
	}
	code, out, errs := runOnce(t, envOf("DEADBOLT_DATABASE", db, "DEADBOLT_MASTER_KEY_FILE", serverKey), "", "admin", "user", "list")
	if code != 0 || !strings.Contains(out, "admin") {
		t.Errorf("admin user list with the server's key = %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

// TestAdminActsLikeTheServer: deactivating an employee, or resetting their
// second factor, from the command line ends their sessions and disconnects
// their device as the console does; on PostgreSQL the command's
// notification reaches the server, whose waiting device learns it at once.
func TestAdminActsLikeTheServer(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		key := hex.EncodeToString([]byte(strings.Repeat("\x07", 32))) // the test server's master key
		env := envOf("DEADBOLT_DATABASE", s.Database, "DEADBOLT_MASTER_KEY", key)
		admin := s.AdminToken(t)

		paired := func(login string) (session string, dev *deviceclient.State) {
			t.Helper()
			s.CreateUser(t, admin, login, login+"-password")
			tok, _ := s.Login(t, login, login+"-password")
			offer := s.Do(t, "POST", "/api/v1/me/device/pairing", tok, nil).JSON(t)
			dev, err := deviceclient.Pair(context.Background(), s.Client, offer["url"].(string), "phone")
			if err != nil {
				t.Fatal(err)
			}
			code, _ := dev.Code(s.Clock().Now())
			if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", tok, map[string]string{"code": code}); r.Status != http.StatusOK {
				t.Fatalf("confirm: %d %s", r.Status, r.Body)
			}
			return tok, dev
		}
		gone := func(what string, r *deadbolttest.Response, status int, code string) {
			t.Helper()
			if r.Status != status || r.ErrorCode() != code {
				t.Errorf("%s = %d %s, want %d %s", what, r.Status, r.Body, status, code)
			}
		}

		for _, tc := range []struct {
			login, verb string
		}{
			{"erin", "deactivate"},
			{"fred", "reset-2fa"},
		} {
			tok, dev := paired(tc.login)
			var polled chan *deadbolttest.Response
			if store == deadbolttest.Postgres {
				// A device waiting on the server: only a notification
				// from the command can end its wait early.
				polled = make(chan *deadbolttest.Response, 1)
				go func() { polled <- s.Do(t, "GET", "/api/v1/device/requests?wait=25", dev.DeviceToken, nil) }()
				time.Sleep(100 * time.Millisecond)
			}
			if code, out, errs := runOnce(t, env, "", "admin", "user", tc.verb, tc.login); code != 0 {
				t.Fatalf("admin user %s %s = %d\nstdout: %s\nstderr: %s", tc.verb, tc.login, code, out, errs)
			}
			gone(tc.verb+": the session", s.Do(t, "GET", "/api/v1/me", tok, nil), http.StatusUnauthorized, "unauthorized")
			gone(tc.verb+": the device", s.Do(t, "GET", "/api/v1/device/requests", dev.DeviceToken, nil), http.StatusUnauthorized, "device_disconnected")
			if polled != nil {
				select {
				case r := <-polled:
					gone(tc.verb+": the waiting device", r, http.StatusUnauthorized, "device_disconnected")
				case <-time.After(10 * time.Second):
					t.Errorf("%s: the device waiting on the server was not woken by the command", tc.verb)
				}
			}
		}
		// fred's second factor is off: the password alone signs him in.
		if _, ans := s.Login(t, "fred", "fred-password"); ans["state"] != "authenticated" {
			t.Errorf("fred's sign-in after the reset = %v, want authenticated", ans)
		}
		events := s.Do(t, "GET", "/api/v1/admin/audit?type=admin.two_factor_reset", admin, nil).JSON(t)["events"].([]any)
		if len(events) != 1 || events[0].(map[string]any)["ip"] != "cli" {
			t.Errorf("admin.two_factor_reset events = %v, want one from the command line", events)
		}
	})
}
