package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"deadbolt/internal/deadbolt"
)

// TestAbortResets checks that an abandoned connection is reset, not shut
// down in order: the peer sees ECONNRESET (after an orderly close it would
// read what is queued and then EOF).
func TestAbortResets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var cfg pgconn.Config
	harden(&cfg)
	if cfg.ConnectTimeout != connectTimeout {
		t.Errorf("ConnectTimeout = %v, want %v", cfg.ConnectTimeout, connectTimeout)
	}
	nc, err := cfg.DialFunc(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c := abortable(nc)
	if c == nil {
		t.Fatalf("DialFunc returned %T, want an abortable connection", nc)
	}
	// Queue more than the peer's receive buffer holds so that some stays
	// on our side, unsent, when we abort.
	big := make([]byte, 32<<20)
	go nc.Write(big)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	got, err := peer.Read(buf) // the write is under way
	if err != nil {
		t.Fatal(err)
	}
	c.abort()
	if !c.aborted.Load() {
		t.Error("aborted flag not set")
	}
	for {
		n, err := peer.Read(buf)
		got += n
		if err != nil {
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("peer read after abort = %v, want connection reset", err)
			}
			break
		}
	}
	if got >= len(big) {
		t.Errorf("peer received all %d bytes before the reset", got)
	}
}

func TestClassify(t *testing.T) {
	bg := context.Background()
	expired, cancel := context.WithTimeout(bg, -time.Second)
	defer cancel()
	gone, cancelGone := context.WithCancel(bg)
	cancelGone()
	// A real connection failure: nothing listens on this port.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, refused := pgconn.Connect(bg, "postgres://u@"+addr+"/x?sslmode=disable&connect_timeout=2")
	if refused == nil {
		t.Fatal("connecting to a closed port succeeded")
	}
	tests := []struct {
		name         string
		parent, call context.Context
		err          error
		want         deadbolt.Code
		isCtx        error
	}{
		{"nil", bg, bg, nil, "", nil},
		{"no rows", bg, bg, pgx.ErrNoRows, deadbolt.CodeInternal, nil},
		{"unique violation", bg, bg, &pgconn.PgError{Code: "23505"}, deadbolt.CodeInternal, nil},
		{"product error", bg, bg, deadbolt.Errorf(deadbolt.CodeNotFound, "x"), deadbolt.CodeNotFound, nil},
		{"our deadline", bg, expired, errors.New("read: use of closed network connection"), deadbolt.CodeUnavailable, nil},
		{"refused", bg, bg, refused, deadbolt.CodeUnavailable, nil},
		{"too many connections", bg, bg, &pgconn.PgError{Code: "53300"}, deadbolt.CodeUnavailable, nil},
		{"shutting down", bg, bg, &pgconn.PgError{Code: "57P01"}, deadbolt.CodeUnavailable, nil},
		{"statement timeout", bg, bg, &pgconn.PgError{Code: "57014"}, deadbolt.CodeUnavailable, nil},
		{"connection reset", bg, bg, fmt.Errorf("read: %w", syscall.ECONNRESET), deadbolt.CodeUnavailable, nil},
		{"client went away", gone, gone, errors.New("read: use of closed network connection"), deadbolt.CodeInternal, context.Canceled},
		{"client went away, refused", gone, gone, refused, deadbolt.CodeInternal, context.Canceled},
	}
	for _, tc := range tests {
		got := classify(tc.parent, tc.call, tc.err)
		if code := deadbolt.ErrorCode(got); code != tc.want {
			t.Errorf("classify(%s) = %v (code %q), want code %q", tc.name, got, code, tc.want)
		}
		if tc.err != nil && !errors.Is(got, tc.err) {
			t.Errorf("classify(%s) = %v, which no longer wraps the cause", tc.name, got)
		}
		if tc.isCtx != nil && !errors.Is(got, tc.isCtx) {
			t.Errorf("classify(%s) = %v, want it to match %v", tc.name, got, tc.isCtx)
		}
		var e *deadbolt.Error
		if tc.want == deadbolt.CodeUnavailable && (!errors.As(got, &e) || e.RetryAfter <= 0) {
			t.Errorf("classify(%s) = %v, want a RetryAfter", tc.name, got)
		}
	}
}

func TestServerBackstops(t *testing.T) {
	cfg, err := pgconn.ParseConfig("postgres://u@db.example/x?statement_timeout=60000")
	if err != nil {
		t.Fatal(err)
	}
	serverBackstops(cfg)
	if got := cfg.RuntimeParams["statement_timeout"]; got != "60000" {
		t.Errorf("statement_timeout = %q, want the DSN's 60000 kept", got)
	}
	if got := cfg.RuntimeParams["idle_in_transaction_session_timeout"]; got != "3000" {
		t.Errorf("idle_in_transaction_session_timeout = %q, want 3000", got)
	}
}
