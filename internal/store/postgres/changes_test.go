package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/storetest"
)

// twoNodes opens two stores on one fresh database, as two server nodes
// would, and returns them with the database's DSN.
func twoNodes(t *testing.T) (a, b *postgres.Store, dsn string) {
	t.Helper()
	dsn = pgtest.NewDatabase(t)
	ctx := context.Background()
	a, err := postgres.Open(ctx, dsn, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = postgres.Open(ctx, dsn, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b, dsn
}

func watchStore(t *testing.T, s *postgres.Store) *storetest.Recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := storetest.NewRecorder()
	if err := s.WatchChanges(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.WaitUp(t)
	return r
}

// waitFor polls cond until it holds; it fails t after a generous while
// (a bound for failing, not a measure of speed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting: %s", what)
}

// TestChangeFeedAcrossNodes: a change made on one node reaches the other
// node's listener; an idle-time update does not.
func TestChangeFeedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b, _ := twoNodes(t)
	r := watchStore(t, b)
	u := storetest.NewUser(t, a, "alice")
	sess, _ := storetest.NewSession(t, a, u, deadbolt.SessionFull)
	if err := a.DeleteSession(ctx, u.ID, sess.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node B hears of alice's logout on node A", func() bool { return r.Changed(u.ID) > 0 })

	// Notifications arrive in commit order: once B hears of the marker,
	// it would have heard of the touch first, had there been one.
	idle := storetest.NewUser(t, a, "idle")
	idleSess, _ := storetest.NewSession(t, a, idle, deadbolt.SessionFull)
	if err := a.TouchSessions(ctx, []deadbolt.SessionTouch{{SessionID: idleSess.ID, At: storetest.T0.Add(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	marker := storetest.NewUser(t, a, "marker")
	if err := a.SetActive(ctx, marker.ID, false, deadbolt.EndDeactivation, nil, storetest.T0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node B hears of the marker", func() bool { return r.Changed(marker.ID) > 0 })
	if n := r.Changed(idle.ID); n != 0 {
		t.Errorf("an idle-time update reached node B %d times, want 0", n)
	}
}

// TestChangeFeedHeartbeat: the listener keeps vouching for the feed, each
// time for a little longer.
func TestChangeFeedHeartbeat(t *testing.T) {
	_, b, _ := twoNodes(t)
	r := watchStore(t, b)
	_, _, ups := r.Up()
	waitFor(t, "the lease is renewed", func() bool { _, _, n := r.Up(); return n >= ups+3 })
	if up, downs, _ := r.Up(); !up || downs != 0 {
		t.Errorf("feed up = %v after %d downs, want up and no downs", up, downs)
	}
}

// TestChangeFeedLost kills node B's listening connection while the
// database refuses new connections: B hears FeedDown at once, stays down
// while it cannot listen, and comes back up (FeedUp) when it can.
func TestChangeFeedLost(t *testing.T) {
	ctx := context.Background()
	a, b, dsn := twoNodes(t)
	r := watchStore(t, b)
	admin, err := pgxpool.New(ctx, pgtest.AdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := pgx.Identifier{cfg.Database}.Sanitize()
	allow := func(ok bool) {
		t.Helper()
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS "+map[bool]string{true: "true", false: "false"}[ok]); err != nil {
			t.Fatal(err)
		}
	}
	allow(false)
	t.Cleanup(func() { allow(true) })
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'deadbolt change feed'`, cfg.Database).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners (%v), want 1", killed, err)
	}
	waitFor(t, "node B's feed goes down", func() bool { _, downs, _ := r.Up(); return downs > 0 })
	_, _, upsBefore := r.Up()

	// A change B cannot hear of: B's listener is gone.
	u := storetest.NewUser(t, a, "alice")
	if err := a.SetActive(ctx, u.ID, false, deadbolt.EndDeactivation, nil, storetest.T0); err != nil {
		t.Fatal(err)
	}
	if up, _, ups := r.Up(); up || ups != upsBefore {
		t.Fatalf("feed up = %v (ups %d → %d) while its listener cannot connect", up, upsBefore, ups)
	}
	allow(true)
	waitFor(t, "node B's feed comes back", func() bool { up, _, ups := r.Up(); return up && ups > upsBefore })
}
