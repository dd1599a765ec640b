package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
)

// twoProcesses opens two stores on one file, as the server and a
// "deadbolt admin" command would.
func twoProcesses(t *testing.T) (server, cli *sqlite.Store, path string) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "feed.db")
	server, err := sqlite.Open(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	cli, err = sqlite.Open(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return server, cli, path
}

func watchStore(t *testing.T, s *sqlite.Store) *storetest.Recorder {
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

// TestChangeFeedOtherProcess: a deactivation made by another process on
// the same file reaches the server's listener.
func TestChangeFeedOtherProcess(t *testing.T) {
	ctx := context.Background()
	server, cli, _ := twoProcesses(t)
	r := watchStore(t, server)
	u := storetest.NewUser(t, cli, "alice")
	storetest.NewSession(t, cli, u, deadbolt.SessionFull)
	if err := cli.SetActive(ctx, u.ID, false, deadbolt.EndDeactivation, nil, storetest.T0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server hears of the deactivation made by the other process", func() bool { return r.Changed(u.ID) > 0 })
	_, downs, _ := r.Up()
	if downs != 0 {
		t.Errorf("feed went down %d times, want 0", downs)
	}
}

// TestChangeFeedGap: rows pruned before the server read them make it
// forget everything.
func TestChangeFeedGap(t *testing.T) {
	ctx := context.Background()
	server, cli, path := twoProcesses(t)
	r := watchStore(t, server)
	u := storetest.NewUser(t, cli, "alice")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A change whose row disappears before anyone reads it…
	if _, err := tx.ExecContext(ctx, `UPDATE users SET name = 'A' WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM changes`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// …then one that is read: the gap before it shows.
	other := storetest.NewUser(t, cli, "bob")
	if err := cli.SetActive(ctx, other.ID, false, deadbolt.EndDeactivation, nil, storetest.T0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server hears of bob", func() bool { return r.Changed(other.ID) > 0 })
	if _, downs, _ := r.Up(); downs == 0 {
		t.Error("rows pruned unread did not make the feed forget everything")
	}
}
