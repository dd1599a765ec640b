package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		dsn      string
		wantHost string
		wantUser string
	}{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "127.0.0.1", "postgres"},
		{"postgresql://bob:s3cret@db.example/main?application_name=x", "db.example", "bob"},
		{"postgres://bob@db.example", "db.example", "bob"},
		{"host=db.example user=bob dbname=main sslmode=disable", "db.example", "bob"},
		{"host=db.example user=bob", "db.example", "bob"},
	}
	for _, tc := range tests {
		got, err := WithDatabase(tc.dsn, "deadbolt_test_ab12")
		if err != nil {
			t.Errorf("WithDatabase(%q) = %v", tc.dsn, err)
			continue
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("WithDatabase(%q) = %q, which does not parse: %v", tc.dsn, got, err)
			continue
		}
		if cfg.Database != "deadbolt_test_ab12" || cfg.Host != tc.wantHost || cfg.User != tc.wantUser {
			t.Errorf("WithDatabase(%q) = %q: database %q host %q user %q, want deadbolt_test_ab12, %q, %q",
				tc.dsn, got, cfg.Database, cfg.Host, cfg.User, tc.wantHost, tc.wantUser)
		}
	}
}

func TestWithDatabaseErrors(t *testing.T) {
	tests := []struct {
		dsn, name string
	}{
		{"postgres://127.0.0.1/postgres", ""},
		{"postgres://127.0.0.1/postgres", "a-b"},
		{"postgres://127.0.0.1/postgres", "x'; DROP DATABASE postgres; --"},
		{"postgres://127.0.0.1/postgres", strings.Repeat("a", 64)},
		{"postgres://%zz", "ok"},
		{"host='unterminated", "ok"},
		{"host=db.example user=", "ok"}, // an unquoted empty value would swallow the appended dbname
	}
	for _, tc := range tests {
		if got, err := WithDatabase(tc.dsn, tc.name); err == nil {
			t.Errorf("WithDatabase(%q, %q) = %q, nil; want an error", tc.dsn, tc.name, got)
		}
	}
}

func FuzzWithDatabase(f *testing.F) {
	f.Add("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "deadbolt_test_00")
	f.Add("host=localhost dbname=x", "Db_2")
	f.Add("user=a password='p w'", "x")
	f.Add("postgresql://u:p%20w@[::1]:6543/a?sslmode=disable&application_name=z", "y")
	f.Fuzz(func(t *testing.T, dsn, name string) {
		before, err := pgx.ParseConfig(dsn)
		if err != nil {
			return
		}
		got, err := WithDatabase(dsn, name)
		if err != nil {
			return
		}
		after, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatalf("WithDatabase(%q, %q) = %q, which does not parse: %v", dsn, name, got, err)
		}
		if after.Database != name || after.Host != before.Host || after.User != before.User || after.Port != before.Port {
			t.Fatalf("WithDatabase(%q, %q) = %q: database %q host %q user %q port %d, want %q %q %q %d",
				dsn, name, got, after.Database, after.Host, after.User, after.Port,
				name, before.Host, before.User, before.Port)
		}
	})
}

func TestNewDatabase(t *testing.T) {
	var dsn string
	var open *pgx.Conn
	t.Run("create", func(t *testing.T) {
		dsn = NewDatabase(t)
		conn, err := connect(context.Background(), dsn)
		if err != nil {
			t.Fatalf("connect to new database: %v", err)
		}
		// Left open past the drop: it must not keep the database alive.
		open = conn
		var n int
		if err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("new database has %d tables (%v), want 0", n, err)
		}
	})
	if open != nil {
		open.Close(context.Background())
	}
	if dsn == "" {
		return // skipped
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := connect(context.Background(), AdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`,
		cfg.Database).Scan(&exists); err != nil || exists {
		t.Errorf("database %s exists = %v (%v) after cleanup, want false", cfg.Database, exists, err)
	}
}

func TestThrough(t *testing.T) {
	tests := []struct {
		dsn, target string
	}{
		{"postgres://postgres@127.0.0.1:5432/db1?sslmode=disable", "127.0.0.1:5432"},
		{"postgresql://bob:s3cret@db.example/main?application_name=x", "db.example:5432"},
	}
	for _, tc := range tests {
		got, target, err := Through(tc.dsn, "127.0.0.1:6000")
		if err != nil {
			t.Errorf("Through(%q) = %v", tc.dsn, err)
			continue
		}
		before, _ := pgx.ParseConfig(tc.dsn)
		after, err := pgx.ParseConfig(got)
		if err != nil || after.Host != "127.0.0.1" || after.Port != 6000 || target != tc.target ||
			after.Database != before.Database || after.User != before.User || after.Password != before.Password {
			t.Errorf("Through(%q) = %q, %q (%v); want the same DSN on 127.0.0.1:6000, target %q", tc.dsn, got, target, err, tc.target)
		}
	}
	for _, dsn := range []string{"host=db.example user=bob", "postgres:///db?host=/var/run/postgresql"} {
		if got, _, err := Through(dsn, "127.0.0.1:6000"); err == nil {
			t.Errorf("Through(%q) = %q, want an error", dsn, got)
		}
	}
}
