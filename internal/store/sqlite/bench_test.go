package sqlite_test

import (
	"testing"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
	"path/filepath"
)

func openBench(b *testing.B) deadbolt.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), true)
	if err != nil {
		b.Fatalf("Open = %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkSessionByToken(b *testing.B) { storetest.BenchSessionByToken(b, openBench) }

func BenchmarkHit(b *testing.B) { storetest.BenchHit(b, openBench) }
