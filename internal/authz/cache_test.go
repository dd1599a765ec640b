package authz_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/authz"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
)

// forEachStore runs f on a fresh SQLite store and a fresh PostgreSQL one.
func forEachStore(t *testing.T, f func(t *testing.T, s deadbolt.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
}

// startCache starts a cache on st and waits until it trusts its feed.
func startCache(t *testing.T, st authz.CacheStore, cfg authz.CacheConfig) *authz.Cache {
	t.Helper()
	c := authz.NewCache(st, cfg, nil)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for deadline := time.Now().Add(20 * time.Second); !c.Trusted(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cache never trusted its feed")
		}
	}
	return c
}

func session(t *testing.T, s deadbolt.Store, login string) (*deadbolt.User, *deadbolt.Session, []byte) {
	t.Helper()
	u := storetest.NewUser(t, s, login)
	sess, h := storetest.NewSession(t, s, u, deadbolt.SessionFull)
	return u, sess, h
}

// TestCacheRevokedAtOnce: a second lookup is answered from memory, and
// after each way of ending a session the very next lookup refuses it.
func TestCacheRevokedAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s deadbolt.Store) {
		ctx := context.Background()
		c := startCache(t, s, authz.CacheConfig{})
		ends := []struct {
			name string
			end  func(u *deadbolt.User, sess *deadbolt.Session) error
		}{
			{"logout", func(u *deadbolt.User, sess *deadbolt.Session) error { return s.DeleteSession(ctx, u.ID, sess.ID) }},
			{"log out of all devices", func(u *deadbolt.User, sess *deadbolt.Session) error {
				_, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, storetest.T0)
				return err
			}},
			{"administrator ends the sessions", func(u *deadbolt.User, sess *deadbolt.Session) error {
				_, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndByAdministrator, storetest.T0)
				return err
			}},
			{"password change", func(u *deadbolt.User, sess *deadbolt.Session) error {
				_, err := s.SetPassword(ctx, u.ID, "$argon2id$new", "", deadbolt.EndPasswordChange, storetest.T0)
				return err
			}},
			{"deactivation", func(u *deadbolt.User, sess *deadbolt.Session) error {
				return s.SetActive(ctx, u.ID, false, deadbolt.EndDeactivation, nil, storetest.T0)
			}},
			{"2FA reset", func(u *deadbolt.User, sess *deadbolt.Session) error {
				_, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: storetest.T0,
					TwoFactor: deadbolt.TwoFactorOff, Disconnect: deadbolt.DisconnectAll, DeleteRecoveryCodes: true, EndSessions: true})
				return err
			}},
			{"sweeper", func(u *deadbolt.User, sess *deadbolt.Session) error {
				_, err := s.DeleteExpiredSessions(ctx, storetest.T0.Add(48*time.Hour), storetest.T0)
				return err
			}},
		}
		for i, end := range ends {
			u, sess, h := session(t, s, fmt.Sprintf("user%d", i))
			before := c.Stats()
			for range 3 {
				if _, _, err := c.SessionByToken(ctx, h); err != nil {
					t.Fatalf("%s: SessionByToken = %v", end.name, err)
				}
			}
			if st := c.Stats(); st.Misses-before.Misses != 1 || st.Hits-before.Hits != 2 {
				t.Errorf("%s: %d misses and %d hits for 3 lookups, want 1 and 2", end.name, st.Misses-before.Misses, st.Hits-before.Hits)
			}
			if err := end.end(u, sess); err != nil {
				t.Fatalf("%s: %v", end.name, err)
			}
			if _, _, err := c.SessionByToken(ctx, h); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
				t.Errorf("%s: SessionByToken right after = %v, want not_found", end.name, err)
			}
		}
	})
}

// TestCacheKeepsWhatChanged: a fresh proof (reauth) or a new workgroup is
// seen at once, not the old copy.
func TestCacheKeepsWhatChanged(t *testing.T) {
	forEachStore(t, func(t *testing.T, s deadbolt.Store) {
		ctx := context.Background()
		c := startCache(t, s, authz.CacheConfig{})
		u, sess, h := session(t, s, "alice")
		c.SessionByToken(ctx, h)
		at := storetest.T0.Add(5 * time.Minute)
		if err := s.SetSessionAuth(ctx, sess.ID, at, []string{"pwd"}); err != nil {
			t.Fatal(err)
		}
		if got, _, err := c.SessionByToken(ctx, h); err != nil || !got.AuthAt.Equal(at) {
			t.Errorf("AuthAt after reauth = %v (%v), want %v", got.AuthAt, err, at)
		}
		g, err := c.UserGroups(ctx, u.ID)
		if err != nil || len(g.Names) != 0 {
			t.Fatalf("UserGroups = %+v, %v; want none", g, err)
		}
		ops := storetest.NewWorkgroup(t, s, "Ops")
		dev := storetest.NewWorkgroup(t, s, "Dev")
		s.AddWorkgroupMember(ctx, ops.ID, u.ID, storetest.T0)
		s.AddWorkgroupMember(ctx, dev.ID, u.ID, storetest.T0)
		if g, err := c.UserGroups(ctx, u.ID); err != nil || g.Header != "Dev,Ops" {
			t.Errorf("UserGroups after joining = %+v, %v; want Dev,Ops", g, err)
		}
		s.RenameWorkgroup(ctx, ops.ID, "Operations")
		if g, err := c.UserGroups(ctx, u.ID); err != nil || g.Header != "Dev,Operations" {
			t.Errorf("UserGroups after a rename = %+v, %v; want Dev,Operations", g, err)
		}
		s.RemoveWorkgroupMember(ctx, dev.ID, u.ID)
		if g, err := c.UserGroups(ctx, u.ID); err != nil || g.Header != "Operations" {
			t.Errorf("UserGroups after leaving = %+v, %v; want Operations", g, err)
		}
	})
}

// pausing wraps a real store and, when armed, holds a session read after it
// returned from the database until released: a read racing a revocation.
type pausing struct {
	deadbolt.Store
	armed   atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (p *pausing) SessionByToken(ctx context.Context, h []byte) (*deadbolt.Session, *deadbolt.User, error) {
	sess, u, err := p.Store.SessionByToken(ctx, h)
	if p.armed.CompareAndSwap(true, false) {
		p.read <- struct{}{}
		<-p.release
	}
	return sess, u, err
}

// TestCacheReadRacingRevocation: a read that began before a revocation and
// returns after it answers its own request but is not kept.
func TestCacheReadRacingRevocation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s deadbolt.Store) {
		ctx := context.Background()
		p := &pausing{Store: s, read: make(chan struct{}), release: make(chan struct{})}
		c := startCache(t, p, authz.CacheConfig{})
		u, _, h := session(t, s, "alice")
		p.armed.Store(true)
		done := make(chan error)
		go func() { _, _, err := c.SessionByToken(ctx, h); done <- err }()
		<-p.read
		if _, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, storetest.T0); err != nil {
			t.Fatal(err)
		}
		close(p.release)
		if err := <-done; err != nil {
			t.Fatalf("the racing read = %v, want its (stale) answer", err)
		}
		if _, _, err := c.SessionByToken(ctx, h); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			t.Errorf("after the revocation SessionByToken = %v, want not_found: the racing read was kept", err)
		}
	})
}

// TestCacheRevocationUnderLoad: 50 goroutines check one session while it is
// revoked; no check that began after the revocation returned admits it.
func TestCacheRevocationUnderLoad(t *testing.T) {
	forEachStore(t, func(t *testing.T, s deadbolt.Store) {
		ctx := context.Background()
		c := startCache(t, s, authz.CacheConfig{})
		users := make([]*deadbolt.User, 5)
		hashes := make([][]byte, 5)
		for i := range users {
			users[i], _, hashes[i] = session(t, s, fmt.Sprintf("load%d", i))
		}
		var revoked [5]atomic.Bool
		var stale atomic.Int64
		var checks atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 50 {
			wg.Go(func() {
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					i := (g + n) % len(users)
					after := revoked[i].Load()
					_, _, err := c.SessionByToken(ctx, hashes[i])
					checks.Add(1)
					if after && err == nil {
						stale.Add(1)
					}
					if !after && err != nil && !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
						t.Errorf("SessionByToken = %v", err)
					}
				}
			})
		}
		for i, u := range users {
			for checks.Load() < int64(200*(i+1)) {
				time.Sleep(time.Millisecond)
			}
			if _, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, storetest.T0); err != nil {
				t.Fatal(err)
			}
			revoked[i].Store(true)
		}
		n := checks.Load()
		for checks.Load() < n+500 {
			time.Sleep(time.Millisecond)
		}
		close(stop)
		wg.Wait()
		if stale.Load() != 0 {
			t.Errorf("%d checks that began after a revocation admitted the session", stale.Load())
		}
		if st := c.Stats(); st.Hits == 0 {
			t.Errorf("no check was answered from memory: %+v", st)
		}
	})
}

// silentFeed is a real store whose change feed hangs: it never delivers
// anything, so only the test tells the cache what the feed does.
type silentFeed struct{ deadbolt.Store }

func (silentFeed) WatchChanges(context.Context, deadbolt.ChangeListener) error { return nil }

// TestCacheFeedDown: before the feed vouches for itself, while it is down,
// or once its lease has run out, nothing is answered from memory or kept;
// once it is up again, copies are kept afresh.
func TestCacheFeedDown(t *testing.T) {
	forEachStore(t, func(t *testing.T, s deadbolt.Store) {
		ctx := context.Background()
		c := authz.NewCache(silentFeed{s}, authz.CacheConfig{}, nil)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _, h := session(t, s, "alice")
		lookups := func(what string, wantHits uint64) {
			t.Helper()
			before := c.Stats()
			for range 3 {
				if _, _, err := c.SessionByToken(ctx, h); err != nil {
					t.Fatal(err)
				}
			}
			if st := c.Stats(); st.Hits-before.Hits != wantHits {
				t.Errorf("%s: %d hits in 3 lookups, want %d (%+v)", what, st.Hits-before.Hits, wantHits, st)
			}
		}
		lookups("before the feed came up", 0)
		c.FeedUp(time.Now().Add(time.Hour))
		lookups("feed up", 2)
		c.FeedDown(fmt.Errorf("test: feed lost"))
		if st := c.Stats(); st.Entries != 0 || st.Trusted {
			t.Errorf("after FeedDown: %+v, want nothing kept and no trust", st)
		}
		lookups("feed down", 0)
		if st := c.Stats(); st.Entries != 0 {
			t.Errorf("while down: %d entries kept, want 0", st.Entries)
		}
		c.FeedUp(time.Now().Add(time.Hour))
		lookups("feed up again", 2)
	})
	// (A subtest name of its own: a repeated name gets "#01", and a "#" in
	// a SQLite file path ends the path of its URI.)
	t.Run("lapsed", func(t *testing.T) { forEachStore(t, testLapsedLease) })
}

func testLapsedLease(t *testing.T, s deadbolt.Store) {
	{
		ctx := context.Background()
		c := authz.NewCache(silentFeed{s}, authz.CacheConfig{}, nil)
		c.Start(ctx)
		defer c.Close()
		_, _, h := session(t, s, "bob")
		c.FeedUp(time.Now().Add(-time.Millisecond)) // up, with a lease already over
		for range 3 {
			c.SessionByToken(ctx, h)
		}
		if st := c.Stats(); st.Hits != 0 || st.Entries != 0 || st.Trusted {
			t.Errorf("with a lapsed lease: %+v, want no hits, nothing kept, no trust", st)
		}
	}
}

// TestCacheTouches: idle-time updates are seen at once through the cache
// and written in one batch at the next flush.
func TestCacheTouches(t *testing.T) {
	forEachStore(t, func(t *testing.T, s deadbolt.Store) {
		ctx := context.Background()
		c := startCache(t, s, authz.CacheConfig{FlushEvery: time.Hour})
		_, a, ha := session(t, s, "alice")
		_, b, hb := session(t, s, "bob")
		c.SessionByToken(ctx, ha)
		at := storetest.T0.Add(10 * time.Minute)
		c.TouchSession(ctx, a.ID, at)
		c.TouchSession(ctx, b.ID, at) // not cached
		if got, _, _ := c.SessionByToken(ctx, ha); !got.LastSeenAt.Equal(at) {
			t.Errorf("cached LastSeenAt = %v, want %v", got.LastSeenAt, at)
		}
		if got, _, _ := c.SessionByToken(ctx, hb); !got.LastSeenAt.Equal(at) {
			t.Errorf("read LastSeenAt = %v, want the pending %v", got.LastSeenAt, at)
		}
		if got, _, _ := s.SessionByToken(ctx, ha); !got.LastSeenAt.Equal(storetest.T0) {
			t.Errorf("store LastSeenAt before the flush = %v, want %v", got.LastSeenAt, storetest.T0)
		}
		c.Flush(ctx)
		for _, h := range [][]byte{ha, hb} {
			if got, _, _ := s.SessionByToken(ctx, h); !got.LastSeenAt.Equal(at) {
				t.Errorf("store LastSeenAt after the flush = %v, want %v", got.LastSeenAt, at)
			}
		}
		// The batch announced nothing: the copy is still used.
		before := c.Stats()
		c.SessionByToken(ctx, ha)
		if st := c.Stats(); st.Hits != before.Hits+1 {
			t.Errorf("the flush made the cache forget alice: %+v", st)
		}
		_ = b
		_ = sha256.Size
	})
}

// TestCacheSkipsPendingSessions: a pending session is read from the store
// at every lookup, never kept — the change feed does not announce its end
// — so once a sign-in replaces it (or it is deleted), the next lookup
// refuses it on every node.
func TestCacheSkipsPendingSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s deadbolt.Store) {
		ctx := context.Background()
		c := startCache(t, s, authz.CacheConfig{})
		u := storetest.NewUser(t, s, "pending")
		sess, h := storetest.NewSession(t, s, u, deadbolt.SessionPending)
		before := c.Stats()
		for range 3 {
			if got, _, err := c.SessionByToken(ctx, h); err != nil || got.State != deadbolt.SessionPending {
				t.Fatalf("SessionByToken(pending) = %+v, %v", got, err)
			}
		}
		if st := c.Stats(); st.Misses-before.Misses != 3 || st.Hits != before.Hits {
			t.Errorf("3 lookups of a pending session: %d misses, %d hits; want 3 and 0 (never kept)",
				st.Misses-before.Misses, st.Hits-before.Hits)
		}
		full := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull, Epoch: u.SessionEpoch,
			CreatedAt: storetest.T0, LastSeenAt: storetest.T0, ExpiresAt: storetest.T0.Add(time.Hour), AuthAt: storetest.T0, Method: "totp"}
		fh := sha256.Sum256([]byte("full " + full.ID))
		ok, err := s.CompleteSecondFactor(ctx, &deadbolt.Completion{UserID: u.ID, TOTPStep: 5, Now: storetest.T0,
			OldSessionID: sess.ID, NewSession: full, TokenHash: fh[:]})
		if !ok || err != nil {
			t.Fatalf("CompleteSecondFactor = %v, %v", ok, err)
		}
		if _, _, err := c.SessionByToken(ctx, h); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			t.Errorf("the replaced pending session right after = %v, want not_found", err)
		}
		if got, _, err := c.SessionByToken(ctx, fh[:]); err != nil || got.ID != full.ID {
			t.Errorf("the new full session = %+v, %v", got, err)
		}
	})
}
