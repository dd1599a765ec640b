// Package pgtest gives tests their own throw-away PostgreSQL database on the
// server named by the DEADBOLT_TEST_POSTGRES environment variable, for
// example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
//
// Without the variable, tests that need PostgreSQL are skipped — unless CI
// is "true", where a missing server must not pass silently and the test
// fails instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvDSN is the environment variable naming the test server.
const EnvDSN = "DEADBOLT_TEST_POSTGRES"

// adminTimeout bounds creating and dropping a database.
const adminTimeout = 30 * time.Second

// AdminDSN returns the DSN of the test server. When DEADBOLT_TEST_POSTGRES
// is empty it skips t, or fails it when the environment variable CI is
// "true".
func AdminDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(EnvDSN + " is not set")
		}
		t.Skip(EnvDSN + " is not set; skipping PostgreSQL tests")
	}
	return dsn
}

// NewDatabase creates an empty database with a random name on the test
// server and returns a DSN for it; the database is dropped, with any
// connections still open to it, when t and its subtests finish. Stores
// opened on the DSN should be closed by a cleanup registered after
// NewDatabase returns. It skips or fails t as AdminDSN does, and fails t if
// the database cannot be created. It is safe for concurrent use.
func NewDatabase(t testing.TB) (dsn string) {
	t.Helper()
	admin := AdminDSN(t)
	var b [8]byte
	rand.Read(b[:])
	name := "deadbolt_test_" + hex.EncodeToString(b[:])
	dsn, err := WithDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := exec(admin, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(admin, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// WithDatabase returns dsn, a postgres:// URL or a keyword/value string,
// with the database name replaced by name. Other parameters are kept. The
// name must be 1 to 63 ASCII letters, digits or underscores. It returns an
// error if dsn does not parse or cannot be rewritten faithfully.
func WithDatabase(dsn, name string) (string, error) {
	if !plainName(name) {
		return "", fmt.Errorf("database name %q: want 1 to 63 letters, digits or underscores", name)
	}
	before, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("parse DSN: %w", err)
	}
	var out string
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		out = u.String()
	} else {
		// In keyword/value form the last occurrence of a keyword wins.
		out = strings.TrimSpace(dsn) + " dbname=" + name
	}
	after, err := pgconn.ParseConfig(out)
	if err != nil || after.Database != name || !sameServer(before, after) {
		return "", fmt.Errorf("cannot set the database name in this DSN; write it as a postgres:// URL")
	}
	return out, nil
}

// sameServer reports whether a and b reach the same server as the same
// user with the same parameters.
func sameServer(a, b *pgconn.Config) bool {
	return a.Host == b.Host && a.Port == b.Port && a.User == b.User && a.Password == b.Password &&
		(a.TLSConfig == nil) == (b.TLSConfig == nil) && len(a.Fallbacks) == len(b.Fallbacks) &&
		maps.Equal(a.RuntimeParams, b.RuntimeParams)
}

func plainName(name string) bool {
	if len(name) == 0 || len(name) > 63 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// connect opens one connection to dsn. The DSN is parsed as a pool's, so
// that pool settings meant for the store (pool_max_conns, …) are not sent
// to the server.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// exec runs one statement on a short-lived connection to the admin DSN.
func exec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// Through returns dsn, a postgres:// URL, rewritten to reach the server
// through addr (host:port, a test proxy), and the host:port it named
// before, for the proxy to forward to. Other parameters are kept.
func Through(dsn, addr string) (rewritten, target string, err error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return "", "", fmt.Errorf("a proxied DSN must be a postgres:// URL")
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", "", fmt.Errorf("parse DSN: %w", err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		return "", "", fmt.Errorf("DSN names a socket directory, not a TCP address")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", fmt.Errorf("parse DSN: %w", err)
	}
	u.Host = addr
	return u.String(), net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), nil
}
