package sqlite_test

import (
	"context"
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
