package postgres_test

import (
	"testing"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/storetest"
)

func openBench(b *testing.B) deadbolt.Store {
	b.Helper()
	s, err := postgres.Open(b.Context(), pgtest.NewDatabase(b), true)
	if err != nil {
		b.Fatalf("Open = %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkSessionByToken(b *testing.B) { storetest.BenchSessionByToken(b, openBench) }

func BenchmarkHit(b *testing.B) { storetest.BenchHit(b, openBench) }
