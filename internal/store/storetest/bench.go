package storetest

import (
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// BenchSessionByToken measures the session check on the store open opens.
func BenchSessionByToken(b *testing.B, open func(b *testing.B) deadbolt.Store) {
	s := open(b)
	ctx := b.Context()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: "alice", Active: true, PasswordHash: "x",
		CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	sess := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull,
		CreatedAt: T0, LastSeenAt: T0, ExpiresAt: T0.Add(time.Hour), AuthAt: T0}
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

// BenchHit measures counter hits, on one shared key and on a key per
// goroutine.
func BenchHit(b *testing.B, open func(b *testing.B) deadbolt.Store) {
	for _, shared := range []bool{true, false} {
		name := "KeyPerGoroutine"
		if shared {
			name = "OneKey"
		}
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			var goroutines atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := "bench"
				if !shared {
					key = fmt.Sprint("bench", goroutines.Add(1))
				}
				for pb.Next() {
					if c, err := s.Hit(ctx, key, T0, time.Minute); err != nil || c.N < 1 {
						b.Errorf("Hit(%q) = %+v, %v", key, c, err)
						return
					}
				}
			})
		})
	}
}
