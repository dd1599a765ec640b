package signin_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/password"
	"deadbolt/internal/recovery"
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

// benchPending is a sign-in waiting for its second factor, and the unused
// recovery code that completes it.
type benchPending struct {
	auth *signin.Auth
	code string
}

// benchPendingSignIns prepares n pending sign-ins directly through the
// store: ceil(n/10) employees, each with a trusted device and 10 recovery
// codes, and one pending session per code. Consecutive entries belong to
// different employees, so goroutines running together mostly work on
// different employees. tag keeps the logins of successive calls apart.
func benchPendingSignIns(b *testing.B, st deadbolt.Store, rh *recovery.Hasher, n int, tag string) []benchPending {
	b.Helper()
	ctx := context.Background()
	cheap := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	hash, err := cheap.Hash(ctx, "bench-password-1")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	users := (n + 9) / 10
	codes := make([][]string, users)
	auths := make([]*deadbolt.User, users)
	out := make([]benchPending, n)
	// Several at once: PostgreSQL commits concurrent writes together.
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	work := func(count int, fn func(i int) error) {
		next.Store(0)
		for range 8 {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < count; i = int(next.Add(1) - 1) {
					if err := fn(i); err != nil {
						fail(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	work(users, func(i int) error {
		u := &deadbolt.User{ID: deadbolt.NewID(), Login: fmt.Sprintf("sf-%s-%d", tag, i), Name: "Bench", Active: true,
			PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			return err
		}
		d := &deadbolt.Device{ID: deadbolt.NewID(), UserID: u.ID, PairingID: deadbolt.NewID(), Name: "bench", Platform: "cli",
			PublicKey: []byte("bench-key"), TOTPSecretSealed: []byte("bench-secret"), CreatedAt: now}
		if err := st.CreateDevice(ctx, d, randomBytes(32)); err != nil {
			return err
		}
		if r, err := st.ChangeFactors(ctx, device.Confirmation(u.ID, d.ID, 0, now)); err != nil || !r.Applied {
			return fmt.Errorf("confirm device: %+v, %v", r, err)
		}
		set, err := recovery.Generate(rand.Reader)
		if err != nil {
			return err
		}
		hashes := make([][]byte, len(set))
		for k, c := range set {
			canon, err := recovery.Normalize(c)
			if err != nil {
				return err
			}
			hashes[k] = rh.Hash(canon)
		}
		if err := st.ReplaceRecoveryCodes(ctx, u.ID, hashes, now); err != nil {
			return err
		}
		if auths[i], err = st.UserByID(ctx, u.ID); err != nil {
			return err
		}
		codes[i] = set
		return nil
	})
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	work(n, func(k int) error {
		u := auths[k%users]
		if !u.TwoFactorEnabled() || len(codes[k%users]) != 10 {
			return fmt.Errorf("employee %s: second factor on = %v with %d codes, want on with 10", u.Login, u.TwoFactorEnabled(), len(codes[k%users]))
		}
		tok := base64.RawURLEncoding.EncodeToString(randomBytes(32))
		h, ok := signin.HashToken(tok)
		if !ok {
			return fmt.Errorf("HashToken(%q) refused a well-formed token", tok)
		}
		sess := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionPending, Epoch: u.SessionEpoch,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(10 * time.Minute), AuthAt: now,
			Method: "password", IP: "192.0.2.1", UserAgent: "bench"}
		if err := st.CreateSession(ctx, sess, h); err != nil {
			return err
		}
		out[k] = benchPending{auth: &signin.Auth{Session: sess, User: u}, code: codes[k%users][k/users]}
		return nil
	})
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// BenchmarkSecondFactor completes a pending sign-in with a recovery code:
// the failure counters, the method list, the single-use consumption of the
// code, the counter resets, the replacement of the pending session by a
// full one and the audit event, each write durable before the call
// returns. Every iteration uses a pending sign-in and a code of its own.
// The sub-benchmarks run 1, 4 and 16 goroutines per GOMAXPROCS (named by
// the goroutine count: 2, 8 and 32 on two cores).
func BenchmarkSecondFactor(b *testing.B) {
	for _, sc := range benchStores {
		b.Run(sc.name, func(b *testing.B) {
			st := sc.open(b)
			log := slog.New(slog.DiscardHandler)
			clock := deadbolt.SystemClock{}
			rh, err := recovery.NewHasher(randomBytes(32))
			if err != nil {
				b.Fatal(err)
			}
			svc := signin.New(st, password.New(password.DefaultParams, 0), audit.New(st, clock, log), clock,
				signin.DefaultConfig(), &signin.Factors{Recovery: rh}, log)
			var round atomic.Int64
			for _, par := range []int{1, 4, 16} {
				b.Run(fmt.Sprintf("goroutines=%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
					pending := benchPendingSignIns(b, st, rh, b.N, fmt.Sprint(round.Add(1)))
					var next atomic.Int64
					b.SetParallelism(par)
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := processCPU()
					b.RunParallel(func(pb *testing.PB) {
						ctx := context.Background()
						c := signin.Client{IP: "192.0.2.1", UserAgent: "bench"}
						for pb.Next() {
							p := pending[next.Add(1)-1]
							res, err := svc.SecondFactor(ctx, p.auth, signin.MethodRecovery, p.code, nil, c)
							if err != nil {
								b.Errorf("SecondFactor(recovery) = %v, want a full session", err)
								return
							}
							if res.State != signin.StateAuthenticated || res.Session.State != deadbolt.SessionFull {
								b.Errorf("SecondFactor(recovery) = state %q, session %q; want %q, %q",
									res.State, res.Session.State, signin.StateAuthenticated, deadbolt.SessionFull)
								return
							}
						}
					})
					cpu := processCPU() - cpu0
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
					b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
				})
			}
		})
	}
}
