package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/store/postgres/pgtest"
)

// eventually polls cond until it holds and returns how long that took; it
// fails t after a generous bound (for failing, not a measure of speed).
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return time.Since(start)
		}
	}
	t.Fatalf("timed out: %s", what)
	return 0
}

func waitTrusted(t *testing.T, s *deadbolttest.Server) {
	t.Helper()
	eventually(t, "the node's session cache trusts its change feed", func() bool { return s.App.Cache.Trusted() })
}

// TestRevocation: each way of ending a session, done on node A, refuses
// the session on A's very next check although A had it in memory; on
// PostgreSQL a second node B on the same database, which had it in memory
// too, refuses it shortly after.
func TestRevocation(t *testing.T) {
	deadbolttest.ForEachStore(t, testRevocation)
}

func testRevocation(t *testing.T, store deadbolttest.Store) {
	a := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
	b := a // SQLite: one node
	if store == deadbolttest.Postgres {
		b = deadbolttest.StartServer(t, deadbolttest.Options{Store: store, Database: a.Database})
	}
	waitTrusted(t, a)
	waitTrusted(t, b)
	admin := a.AdminToken(t)
	ends := []struct {
		name string
		// end ends the session victim of employee id, acting with the
		// employee's other session actor or as an administrator.
		end func(t *testing.T, id, victim, actor string) *deadbolttest.Response
	}{
		{"logout", func(t *testing.T, _, victim, _ string) *deadbolttest.Response {
			return a.Do(t, "POST", "/api/v1/logout", victim, nil)
		}},
		{"log out of all devices", func(t *testing.T, _, _, actor string) *deadbolttest.Response {
			return a.Do(t, "POST", "/api/v1/logout/all", actor, nil)
		}},
		{"password change", func(t *testing.T, _, _, actor string) *deadbolttest.Response {
			return a.Do(t, "POST", "/api/v1/me/password", actor, map[string]string{"current": "pw-alice-long-enough", "new": "another-long-password"})
		}},
		{"ending one's other session", func(t *testing.T, _, _, actor string) *deadbolttest.Response {
			list := a.Do(t, "GET", "/api/v1/me/sessions", actor, nil).JSON(t)["sessions"].([]any)
			for _, s := range list {
				if m := s.(map[string]any); m["current"] == false {
					return a.Do(t, "DELETE", "/api/v1/me/sessions/"+m["id"].(string), actor, nil)
				}
			}
			t.Fatal("no other session listed")
			return nil
		}},
		{"deactivation", func(t *testing.T, id, _, _ string) *deadbolttest.Response {
			return a.Do(t, "POST", "/api/v1/admin/users/"+id+"/deactivate", admin, nil)
		}},
		{"administrator's 2FA reset", func(t *testing.T, id, _, _ string) *deadbolttest.Response {
			return a.Do(t, "POST", "/api/v1/admin/users/"+id+"/reset-2fa", admin, nil)
		}},
		{"administrator ends the sessions", func(t *testing.T, id, _, _ string) *deadbolttest.Response {
			return a.Do(t, "DELETE", "/api/v1/admin/users/"+id+"/sessions", admin, nil)
		}},
		{"administrator resets the password", func(t *testing.T, id, _, _ string) *deadbolttest.Response {
			return a.Do(t, "POST", "/api/v1/admin/users/"+id+"/reset-password", admin, map[string]string{"password": "reset-long-password"})
		}},
	}
	for i, end := range ends {
		t.Run(end.name, func(t *testing.T) {
			login := "alice" + string(rune('a'+i))
			id := a.CreateUser(t, admin, login, "pw-alice-long-enough")
			tok, _ := a.Login(t, login, "pw-alice-long-enough")
			actor, _ := a.Login(t, login, "pw-alice-long-enough")
			for _, n := range []*deadbolttest.Server{a, b, a, b} {
				if r := n.Do(t, "GET", "/api/v1/me", tok, nil); r.Status != http.StatusOK {
					t.Fatalf("GET /me before: %d %s", r.Status, r.Body)
				}
			}
			if r := end.end(t, id, tok, actor); r.Status >= 300 {
				t.Fatalf("%s: %d %s", end.name, r.Status, r.Body)
			}
			if r := a.Do(t, "GET", "/api/v1/me", tok, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("node A, next check after %s: %d, want 401", end.name, r.Status)
			}
			if b == a {
				return
			}
			took := eventually(t, "node B refuses the session", func() bool {
				return b.Do(t, "GET", "/api/v1/me", tok, nil).Status == http.StatusUnauthorized
			})
			t.Logf("node B refused the session %v after node A answered", took)
		})
	}
}

// TestRevocationWhileFeedLost kills the change feed's listening connections
// while the database refuses new connections, so they cannot come back, and
// ends a session on node A meanwhile: node B, which had the session in
// memory and never hears of the change, refuses it anyway, answers other
// sessions from the database without keeping them, and keeps copies again
// once its feed is back.
func TestRevocationWhileFeedLost(t *testing.T) {
	ctx := context.Background()
	a := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres})
	b := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres, Database: a.Database})
	waitTrusted(t, a)
	waitTrusted(t, b)
	admin := a.AdminToken(t)
	a.CreateUser(t, admin, "alice", "pw-alice-long-enough")
	a.CreateUser(t, admin, "bob", "pw-bob-long-enough!")
	alice, _ := a.Login(t, "alice", "pw-alice-long-enough")
	bob, _ := a.Login(t, "bob", "pw-bob-long-enough!")
	for _, tok := range []string{alice, bob, alice, bob} {
		if r := b.Do(t, "GET", "/api/v1/me", tok, nil); r.Status != http.StatusOK {
			t.Fatalf("warm-up on B: %d %s", r.Status, r.Body)
		}
	}

	pg, err := pgxpool.New(ctx, pgtest.AdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	cfg, _ := pgx.ParseConfig(a.Database)
	db := pgx.Identifier{cfg.Database}.Sanitize()
	if _, err := pg.Exec(ctx, "ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	reopen := func() { pg.Exec(ctx, "ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS true") }
	t.Cleanup(reopen)
	var killed int
	if err := pg.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'deadbolt change feed'`, cfg.Database).Scan(&killed); err != nil || killed != 2 {
		t.Fatalf("terminated %d change feed listeners (%v), want 2", killed, err)
	}
	eventually(t, "node B stops trusting its memory", func() bool { return !b.App.Cache.Trusted() })

	// Alice logs out on A; B cannot hear of it.
	if r := a.Do(t, "POST", "/api/v1/logout", alice, nil); r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Fatalf("logout on A: %d %s", r.Status, r.Body)
	}
	if b.App.Cache.Trusted() {
		t.Fatal("node B trusts its memory while its feed cannot connect")
	}
	if r := b.Do(t, "GET", "/api/v1/me", alice, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("node B with its feed lost admitted alice's ended session: %d", r.Status)
	}
	before := b.App.Cache.Stats()
	for range 3 {
		if r := b.Do(t, "GET", "/api/v1/me", bob, nil); r.Status != http.StatusOK {
			t.Errorf("node B with its feed lost refused bob's live session: %d %s", r.Status, r.Body)
		}
	}
	if st := b.App.Cache.Stats(); st.Hits != before.Hits || st.Entries != 0 {
		t.Errorf("node B answered from memory or kept copies while its feed was lost: %+v (before %+v)", st, before)
	}

	reopen()
	waitTrusted(t, b)
	before = b.App.Cache.Stats()
	for range 3 {
		b.Do(t, "GET", "/api/v1/me", bob, nil)
	}
	if st := b.App.Cache.Stats(); st.Hits <= before.Hits {
		t.Errorf("node B does not answer from memory again once its feed is back: %+v", st)
	}
	if r := b.Do(t, "GET", "/api/v1/me", alice, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("node B admitted alice's ended session after its feed came back: %d", r.Status)
	}
}
