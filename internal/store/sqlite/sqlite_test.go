package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
)

func open(t *testing.T) deadbolt.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func TestBackup(t *testing.T) {
	ctx := context.Background()
	s := open(t).(*sqlite.Store)
	defer s.Close()
	storetest.NewUser(t, s, "alice")
	dest := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	c, err := sqlite.Open(ctx, dest, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.UserByLogin(ctx, "alice"); err != nil {
		t.Errorf("backup lacks alice: %v", err)
	}
}

// TestAwkwardPaths: a database path is a path, whatever it holds: a
// directory named with '#', '?', '%', '&', '=', ';' or a space opens the
// file at exactly that path (not a name cut at the '?' or the '#', with
// the rest read as settings), in WAL mode, and reopens with its data;
// relative paths too, and a backup beside it.
func TestAwkwardPaths(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{"with#hash", "with?query=1", "100%25 sure", "a&b=c;d", "_pragma=query_only(1)"} {
		t.Run(dir, func(t *testing.T) {
			for _, relative := range []bool{false, true} {
				base := t.TempDir()
				if err := os.Mkdir(filepath.Join(base, dir), 0o700); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(base, dir, "deadbolt.db")
				if relative {
					t.Chdir(base)
					path = filepath.Join(dir, "deadbolt.db")
				}
				s, err := sqlite.Open(ctx, path, true)
				if err != nil {
					t.Fatalf("Open(%q) = %v", path, err)
				}
				storetest.NewUser(t, s, "alice")
				if _, err := os.Stat(path + "-wal"); err != nil {
					t.Errorf("Open(%q): no write-ahead log beside the file: %v", path, err)
				}
				if err := s.Backup(ctx, filepath.Join(filepath.Dir(path), "copy.db")); err != nil {
					t.Errorf("Backup next to %q = %v", path, err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				entries, _ := os.ReadDir(base)
				for _, e := range entries {
					if e.Name() != dir {
						t.Errorf("Open(%q) made %q in %s", path, e.Name(), base)
					}
				}
				for _, p := range []string{path, filepath.Join(filepath.Dir(path), "copy.db")} {
					s, err := sqlite.Open(ctx, p, false)
					if err != nil {
						t.Fatalf("reopen %q = %v", p, err)
					}
					if _, err := s.UserByLogin(ctx, "alice"); err != nil {
						t.Errorf("%q lost alice: %v", p, err)
					}
					s.Close()
				}
			}
		})
	}
}
