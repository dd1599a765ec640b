package sqlite_test

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
)

func openBench(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), true)
	if err != nil {
		b.Fatalf("Open = %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkSessionByToken(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: "alice", Active: true, PasswordHash: "x",
		CreatedAt: storetest.T0, UpdatedAt: storetest.T0}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	sess := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull,
		CreatedAt: storetest.T0, LastSeenAt: storetest.T0, ExpiresAt: storetest.T0.Add(time.Hour), AuthAt: storetest.T0}
	h := sha256.Sum256([]byte(sess.ID))
	if err := s.CreateSession(ctx, sess, h[:]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if got, _, err := s.SessionByToken(ctx, h[:]); err != nil || got.ID != sess.ID {
				b.Errorf("SessionByToken = %v, %v; want session %s", got, err, sess.ID)
				return
			}
		}
	})
}

func BenchmarkHit(b *testing.B) {
	for _, shared := range []bool{true, false} {
		name := "KeyPerGoroutine"
		if shared {
			name = "OneKey"
		}
		b.Run(name, func(b *testing.B) {
			s := openBench(b)
			ctx := b.Context()
			var goroutines atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := "bench"
				if !shared {
					key = fmt.Sprint("bench", goroutines.Add(1))
				}
				for pb.Next() {
					if c, err := s.Hit(ctx, key, storetest.T0, time.Minute); err != nil || c.N < 1 {
						b.Errorf("Hit(%q) = %+v, %v", key, c, err)
						return
					}
				}
			})
		})
	}
}
