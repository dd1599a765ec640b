package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"deadbolt/internal/deadbolt"
)

// retryAfter is what an unavailable answer tells clients to wait: about
// the time the store needs to notice that the database is back.
const retryAfter = 3 * time.Second

// unavailable wraps cause as the product's CodeUnavailable error. Its
// message is for people; the cause (driver detail) stays for the log.
func unavailable(cause error) error {
	return &deadbolt.Error{Code: deadbolt.CodeUnavailable,
		Message:    "The database is not answering. Please try again in a few seconds.",
		RetryAfter: retryAfter, Err: cause}
}

// classify is the one place the store decides that a failed call means
// "the database is unavailable": its own deadline (call) ran out while the
// caller (parent) still waited, the database could not be reached or
// dropped the connection, refused it (too many connections, shutting
// down, wrong credentials), or cancelled the statement (statement_timeout).
// Those errors become CodeUnavailable with a RetryAfter; every other error
// comes back unchanged. When the caller itself gave up (a client that went
// away), the caller's context error is what the error matches, never
// CodeUnavailable.
func classify(parent, call context.Context, err error) error {
	if err == nil {
		return nil
	}
	if perr := parent.Err(); perr != nil {
		if errors.Is(err, perr) {
			return err
		}
		return fmt.Errorf("%w: %w", perr, err)
	}
	var de *deadbolt.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(call.Err(), context.DeadlineExceeded) || connectionFault(err) {
		return unavailable(err)
	}
	return err
}

// connectionFault reports whether err means the database could not be
// reached, dropped the connection, or refused to work for now.
func connectionFault(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			"57014",          // query_canceled: statement_timeout
			"40001", "40P01", // serialization_failure, deadlock_detected
			"55P03": // lock_not_available
			return true
		}
		switch pe.Code[:2] {
		case "08", "53": // connection_exception, insufficient_resources (too many connections)
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, puddle.ErrClosedPool)
}
