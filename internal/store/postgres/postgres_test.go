package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/storetest"
)

func openStore(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), true)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	pgtest.AdminDSN(t)
	storetest.Run(t, func(t *testing.T) deadbolt.Store { return openStore(t) })
}

func TestOpenBadDSN(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
	}{
		{"unparsable", "postgres://%zz"},
		{"bad pool size", "postgres://127.0.0.1/x?pool_max_conns=zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := postgres.Open(context.Background(), tc.dsn, false); err == nil {
				s.Close()
				t.Errorf("Open(%q) = nil error, want one", tc.dsn)
			}
		})
	}
}

func TestMigrateConcurrently(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	const nodes = 4
	stores := make([]*postgres.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, dsn, true) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d = %v", i, err)
		}
		defer stores[i].Close()
	}
	// Migrating an up-to-date database again is a no-op.
	again, err := postgres.Open(ctx, dsn, true)
	if err != nil {
		t.Fatalf("Open(migrated) = %v", err)
	}
	defer again.Close()
	storetest.NewUser(t, stores[0], "alice")
	for i, s := range append(stores, again) {
		if n, err := s.CountUsers(ctx); n != 1 || err != nil {
			t.Errorf("store #%d: CountUsers = %d, %v; want 1", i, n, err)
		}
	}
}

func TestPool(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, dsn, true)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer s.Close()
	var db string
	if err := s.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil || db != cfg.ConnConfig.Database {
		t.Errorf("Pool() is on database %q (%v), want %q", db, err, cfg.ConnConfig.Database)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	s.Close()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close = nil, want an error")
	}
}

func TestTimesRoundTrip(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	// A zone far from UTC and nanoseconds the database cannot keep.
	zone := time.FixedZone("UTC+13", 13*3600)
	at := time.Date(2026, 7, 1, 23, 30, 15, 123456789, zone)
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: "zoe", Active: true, PasswordHash: "x",
		CreatedAt: at, UpdatedAt: at, TwoFactorSince: at, ExemptUntil: at}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Microsecond)
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"CreatedAt", got.CreatedAt},
		{"UpdatedAt", got.UpdatedAt},
		{"TwoFactorSince", got.TwoFactorSince},
		{"ExemptUntil", got.ExemptUntil},
	} {
		if !tc.t.Equal(want) || tc.t.Location() != time.UTC {
			t.Errorf("%s = %v, want %v in UTC", tc.name, tc.t, want.UTC())
		}
	}
	if !got.LastConfirmedAt.IsZero() || !got.DeviceDisconnectedAt.IsZero() {
		t.Errorf("unset times = %v, %v; want zero", got.LastConfirmedAt, got.DeviceDisconnectedAt)
	}
}

func TestPhoneUnique(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	tests := []struct {
		login, phone string
		want         deadbolt.Code
	}{
		{"a", "", ""},
		{"b", "", ""}, // no phone many times over
		{"c", "+33612345678", ""},
		{"d", "+33612345678", deadbolt.CodePhoneInUse},
		{"c", "+33699999999", deadbolt.CodeLoginTaken},
	}
	for _, tc := range tests {
		u := &deadbolt.User{ID: deadbolt.NewID(), Login: tc.login, Phone: tc.phone, Active: true,
			PasswordHash: "x", CreatedAt: storetest.T0, UpdatedAt: storetest.T0}
		if got := deadbolt.ErrorCode(s.CreateUser(ctx, u)); got != tc.want {
			t.Errorf("CreateUser(%q, %q) = %q, want %q", tc.login, tc.phone, got, tc.want)
		}
	}
}

func TestEventsCursor(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	e := &deadbolt.Event{Type: "logout", At: storetest.T0}
	if err := s.AppendEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, deadbolt.EventFilter{})
	if err != nil || len(got) != 1 || got[0].Detail == nil || len(got[0].Detail) != 0 {
		t.Fatalf("Events = %+v, %v; want one event with empty detail", got, err)
	}
	for _, cursor := range []string{"x", "1.5", "99999999999999999999"} {
		_, err := s.Events(ctx, deadbolt.EventFilter{BeforeID: cursor})
		if got := deadbolt.ErrorCode(err); got != deadbolt.CodeInvalidInput {
			t.Errorf("Events(BeforeID %q) = %q, want %q", cursor, got, deadbolt.CodeInvalidInput)
		}
	}
}
