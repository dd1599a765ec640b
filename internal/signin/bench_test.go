package signin_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
	"deadbolt/internal/signin"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/sqlite"
)

// The benchmarks measure the sign-in service on real stores with the
// production argon2id parameters, beside the bare hashing they are built
// on, so the cost of everything around the hash shows.

// benchStores lists the stores a benchmark runs on; PostgreSQL only when
// DEADBOLT_TEST_POSTGRES names a server.
var benchStores = []struct {
	name string
	open func(b *testing.B) deadbolt.Store
}{
	{"sqlite", func(b *testing.B) deadbolt.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), true)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(b *testing.B) deadbolt.Store {
		dsn := pgtest.NewDatabase(b)
		st, err := postgres.Open(context.Background(), dsn, true)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
}

// benchService builds a sign-in service over st with the default hash
// parameters and hashes run at once up to GOMAXPROCS.
func benchService(st deadbolt.Store) (*signin.Service, *password.Hasher) {
	log := slog.New(slog.DiscardHandler)
	clock := deadbolt.SystemClock{}
	h := password.New(password.DefaultParams, 0)
	return signin.New(st, h, audit.New(st, clock, log), clock, signin.DefaultConfig(), nil, log), h
}

// benchUsers creates n employees bench-0 … bench-(n-1) with password pw.
func benchUsers(b *testing.B, st deadbolt.Store, h *password.Hasher, n int, pw string) {
	b.Helper()
	ctx := context.Background()
	hash, err := h.Hash(ctx, pw)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range n {
		u := &deadbolt.User{ID: deadbolt.NewID(), Login: fmt.Sprintf("bench-%d", i), Name: "Bench", Active: true,
			PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin is a full password sign-in: limits, user lookup, argon2id
// verification, counter reset, session and audit event. Each goroutine
// signs in as its own employee.
func BenchmarkLogin(b *testing.B) {
	const pw = "bench-password-1"
	for _, sc := range benchStores {
		b.Run(sc.name, func(b *testing.B) {
			st := sc.open(b)
			svc, h := benchService(st)
			// RunParallel starts GOMAXPROCS goroutines; give each its own
			// login so no account streak is shared.
			n := runtime.GOMAXPROCS(0)
			benchUsers(b, st, h, n, pw)
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				login := fmt.Sprintf("bench-%d", (next.Add(1)-1)%int64(n))
				c := signin.Client{IP: "192.0.2.1", UserAgent: "bench"}
				ctx := context.Background()
				for pb.Next() {
					res, err := svc.Login(ctx, login, pw, c)
					if err != nil {
						b.Error(err)
						return
					}
					if res.State != signin.StateAuthenticated {
						b.Errorf("Login(%q) state = %q, want %q", login, res.State, signin.StateAuthenticated)
						return
					}
				}
			})
		})
	}
}

// BenchmarkBareHash is one Hasher.Hash and one Hasher.Verify with the
// default (OWASP) parameters, through the same bounded hasher as the
// service.
func BenchmarkBareHash(b *testing.B) {
	h := password.New(password.DefaultParams, 0)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			phc, err := h.Hash(ctx, "bench-password-1")
			if err != nil {
				b.Error(err)
				return
			}
			ok, _, err := h.Verify(ctx, "bench-password-1", phc)
			if err != nil || !ok {
				b.Errorf("Verify(own hash) = %v, %v; want true", ok, err)
				return
			}
		}
	})
}

// BenchmarkBareVerify is one Hasher.Verify: the hashing work of a sign-in.
func BenchmarkBareVerify(b *testing.B) {
	h := password.New(password.DefaultParams, 0)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "bench-password-1")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ok, _, err := h.Verify(ctx, "bench-password-1", phc)
			if err != nil || !ok {
				b.Errorf("Verify(own hash) = %v, %v; want true", ok, err)
				return
			}
		}
	})
}

// BenchmarkAuthenticate checks a session token: hash, store lookup,
// lifetime rules (activity is recorded at most once a minute).
func BenchmarkAuthenticate(b *testing.B) {
	const pw = "bench-password-1"
	for _, sc := range benchStores {
		b.Run(sc.name, func(b *testing.B) {
			st := sc.open(b)
			svc, h := benchService(st)
			benchUsers(b, st, h, 1, pw)
			res, err := svc.Login(context.Background(), "bench-0", pw, signin.Client{IP: "192.0.2.1"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					a, err := svc.Authenticate(ctx, res.Token)
					if err != nil {
						b.Error(err)
						return
					}
					if a.Session.ID != res.Session.ID {
						b.Errorf("Authenticate = session %s, want %s", a.Session.ID, res.Session.ID)
						return
					}
				}
			})
		})
	}
}
