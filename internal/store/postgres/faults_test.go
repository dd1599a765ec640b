package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/faultproxy"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/storetest"
)

// The bounds of SPEC §12 "Under faults".
const (
	answerWithin  = 10 * time.Second
	recoverWithin = 5 * time.Second
)

// faultStores opens a fresh database twice: through a fault proxy (the
// store under test) and directly (to look at what really committed).
func faultStores(t *testing.T) (through, direct *postgres.Store, p *faultproxy.Proxy) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	_, target, err := pgtest.Through(dsn, "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	p = faultproxy.Start(t, target)
	proxied, _, err := pgtest.Through(dsn, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if direct, err = postgres.Open(ctx, dsn, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	if through, err = postgres.Open(ctx, proxied, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { through.Close() })
	return through, direct, p
}

// within runs f and fails the test unless it returns before d — the
// contract's bound, never a speed measurement.
func within[T any](t *testing.T, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s: no answer within %v", what, d)
		panic("unreachable")
	}
}

// wantUnavailable checks that err is CodeUnavailable with a RetryAfter.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var e *deadbolt.Error
	if !errors.As(err, &e) || e.Code != deadbolt.CodeUnavailable || e.RetryAfter <= 0 {
		t.Errorf("%s = %v, want %s with a RetryAfter", what, err, deadbolt.CodeUnavailable)
	}
}

// waitRecovered polls Ping until it succeeds, failing after the
// contract's bound.
func waitRecovered(t *testing.T, s *postgres.Store) {
	t.Helper()
	end := time.Now().Add(recoverWithin)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.Ping(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the store did not recover within %v: %v", recoverWithin, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tokenHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func TestRefusedConnections(t *testing.T) {
	s, _, p := faultStores(t)
	ctx := context.Background()
	u := storetest.NewUser(t, s, "alice")
	p.Refuse()
	wantUnavailable(t, "Ping while refused", within(t, answerWithin, "Ping", func() error { return s.Ping(ctx) }))
	wantUnavailable(t, "UserByID while refused", within(t, answerWithin, "UserByID", func() error {
		_, err := s.UserByID(ctx, u.ID)
		return err
	}))
	wantUnavailable(t, "Hit while refused", within(t, answerWithin, "Hit", func() error {
		_, err := s.Hit(ctx, "sf:"+u.ID, storetest.T0, 0)
		return err
	}))
	p.Restore()
	waitRecovered(t, s)
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.ID != u.ID {
		t.Errorf("UserByID after restore = %v, %v", got, err)
	}
}

func TestBlackHole(t *testing.T) {
	s, direct, p := faultStores(t)
	ctx := context.Background()
	u := storetest.NewUser(t, s, "alice")
	// 50 sign-ins completing at once: more than the pool has connections.
	const racers = 50
	var codes [][]byte
	var comps []*deadbolt.Completion
	for i := range racers {
		codes = append(codes, tokenHash(fmt.Sprint("code", i)))
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, codes, storetest.T0); err != nil {
		t.Fatal(err)
	}
	for i := range racers {
		pending, _ := storetest.NewSession(t, s, u, deadbolt.SessionPending)
		full := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull,
			CreatedAt: storetest.T0, LastSeenAt: storetest.T0, ExpiresAt: storetest.T0.Add(time.Hour), AuthAt: storetest.T0}
		comps = append(comps, &deadbolt.Completion{UserID: u.ID, Now: storetest.T0, RecoveryHash: codes[i],
			OldSessionID: pending.ID, NewSession: full, TokenHash: tokenHash(fmt.Sprint("full", i))})
	}
	sessions, err := direct.ListSessions(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}

	p.BlackHole()
	errs := within(t, answerWithin, "50 CompleteSecondFactor", func() []error {
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { _, errs[i] = s.CompleteSecondFactor(ctx, comps[i]) })
		}
		wg.Wait()
		return errs
	})
	for i, err := range errs {
		wantUnavailable(t, fmt.Sprintf("CompleteSecondFactor #%d in a black hole", i), err)
	}
	wantUnavailable(t, "Ping in a black hole", within(t, answerWithin, "Ping", func() error { return s.Ping(ctx) }))
	p.Restore()
	waitRecovered(t, s)

	// Nothing answered "unavailable" committed.
	if n, err := direct.CountRecoveryCodes(ctx, u.ID); n != racers || err != nil {
		t.Errorf("codes left after the black hole = %d, %v; want %d", n, err, racers)
	}
	if after, err := direct.ListSessions(ctx, u.ID); err != nil || len(after) != len(sessions) {
		t.Errorf("sessions after the black hole = %d, %v; want the %d pending ones", len(after), err, len(sessions))
	}
	for i, c := range comps {
		if _, _, err := direct.SessionByToken(ctx, c.TokenHash); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			t.Errorf("the full session of unanswered completion #%d: %v, want not found", i, err)
		}
	}
	comp := comps[0]
	// And the store works again, on the same data.
	if ok, err := s.CompleteSecondFactor(ctx, comp); !ok || err != nil {
		t.Errorf("CompleteSecondFactor after restore = %v, %v", ok, err)
	}
}

// TestBlackHoleMidTransaction cuts the network after a transaction's
// statements reached the server but before its COMMIT: the server must
// roll it back by itself (idle_in_transaction_session_timeout), while the
// network is still down.
func TestBlackHoleMidTransaction(t *testing.T) {
	s, direct, p := faultStores(t)
	ctx := context.Background()
	u := storetest.NewUser(t, s, "alice")
	codes := [][]byte{tokenHash("one")}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, codes, storetest.T0); err != nil {
		t.Fatal(err)
	}
	pending, _ := storetest.NewSession(t, s, u, deadbolt.SessionPending)
	full := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull,
		CreatedAt: storetest.T0, LastSeenAt: storetest.T0, ExpiresAt: storetest.T0.Add(time.Hour), AuthAt: storetest.T0}
	comp := &deadbolt.Completion{UserID: u.ID, Now: storetest.T0, RecoveryHash: codes[0],
		OldSessionID: pending.ID, NewSession: full, TokenHash: tokenHash("full")}

	// Hold the code's row so that the completion's statements wait at the
	// server.
	lock, err := direct.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `SELECT 1 FROM recovery_codes WHERE user_id = $1 FOR UPDATE`, u.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.CompleteSecondFactor(ctx, comp)
		done <- err
	}()
	waitActivity(t, direct, "a statement waiting for the lock", `wait_event_type = 'Lock'`)
	p.BlackHole()
	if err := lock.Rollback(ctx); err != nil { // the completion's statements now run
		t.Fatal(err)
	}
	select {
	case err := <-done:
		wantUnavailable(t, "CompleteSecondFactor cut off before COMMIT", err)
	case <-time.After(answerWithin):
		t.Fatalf("CompleteSecondFactor: no answer within %v", answerWithin)
	}
	// Still in the black hole: the server ends the orphaned transaction.
	waitActivity(t, direct, "no transaction left open", `false`)
	if n, err := direct.CountRecoveryCodes(ctx, u.ID); n != 1 || err != nil {
		t.Errorf("codes left = %d, %v; want 1: the cut-off transaction committed", n, err)
	}
	if _, _, err := direct.SessionByToken(ctx, comp.TokenHash); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("the full session of the cut-off completion: %v, want not found", err)
	}
	p.Restore()
	waitRecovered(t, s)
}

// waitActivity waits until the other sessions of the test database match
// cond — or, for cond "false", until none is left in a transaction.
func waitActivity(t *testing.T, direct *postgres.Store, what, cond string) {
	t.Helper()
	q := fmt.Sprintf(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND pid <> pg_backend_pid() AND (%s)`, cond)
	want := func(n int) bool { return n > 0 }
	if cond == "false" {
		q = `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`
		want = func(n int) bool { return n == 0 }
	}
	end := time.Now().Add(answerWithin)
	for {
		var n int
		if err := direct.Pool().QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want(n) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s", answerWithin, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotifierRecovers checks that the listener notices a black-holed
// connection by itself, wakes its waiters, and after the network is back
// listens again and delivers notifications.
func TestNotifierRecovers(t *testing.T) {
	s, direct, p := faultStores(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := s.Notifier(ctx, slog.New(slog.DiscardHandler))
	wake, stop := n.Subscribe("topic")
	defer stop()
	// Never published: it wakes only when everyone is woken.
	other, stopOther := n.Subscribe("other")
	defer stopOther()

	delivered(t, direct, wake, other, "before the fault")

	p.BlackHole()
	select {
	case <-wake: // the listener found its connection dead and woke everyone
	case <-time.After(answerWithin):
		t.Fatalf("no wake-up within %v of the black hole", answerWithin)
	}
	restored := time.Now()
	p.Restore()
	// Listening again, on a new connection...
	waitActivity(t, direct, "the listener listening again",
		fmt.Sprintf(`query LIKE 'LISTEN %%' AND backend_start > '%s'`, restored.Format(time.RFC3339Nano)))
	// ...and delivering.
	delivered(t, direct, wake, other, "after restore")
}

// delivered publishes on "topic" from another connection until a
// notification (not a wake-up of everyone, which also wakes other)
// reaches wake.
func delivered(t *testing.T, direct *postgres.Store, wake, other <-chan struct{}, when string) {
	t.Helper()
	end := time.After(answerWithin)
	for {
		drain(wake)
		drain(other)
		if _, err := direct.Pool().Exec(context.Background(), `SELECT pg_notify('deadbolt_wake', 'topic')`); err != nil {
			t.Fatalf("notify %s: %v", when, err)
		}
		select {
		case <-wake:
			select {
			case <-other: // everyone was woken: not the notification
			default:
				return
			}
		case <-time.After(time.Second):
		case <-end:
			t.Fatalf("no notification delivered %s", when)
		}
	}
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}
