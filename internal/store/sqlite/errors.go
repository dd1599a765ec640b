package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"deadbolt/internal/deadbolt"
)

// The deadlines of the store (see the package documentation).
const (
	// callTimeout bounds one store call: waiting for a read connection and
	// reading, or waiting in the write queue. An embedded database cannot
	// be cut off, so only overload makes a call wait this long; the bound
	// is generous (a write taken just before it still answers within
	// 10 s) so that a busy server slows down before it refuses.
	callTimeout = 7 * time.Second
	// busyTimeout bounds waiting for another process's lock (an
	// administration command, say): a locked database answers in about
	// this long.
	busyTimeout = 2 * time.Second
	// retryAfter is what an unavailable answer tells clients to wait.
	retryAfter = 2 * time.Second
)

// unavailable wraps cause as the product's CodeUnavailable error; the
// cause stays for the log.
func unavailable(cause error) error {
	return &deadbolt.Error{Code: deadbolt.CodeUnavailable,
		Message:    "The database is busy. Please try again in a few seconds.",
		RetryAfter: retryAfter, Err: cause}
}

// classify is the one place the store decides that a failed call means
// "the database is unavailable": the call's own deadline ran out while the
// caller (parent) still waited, the database stayed locked by another
// process past busyTimeout, or the store is closing. Those become
// CodeUnavailable with a RetryAfter; other errors come back unchanged.
// When the caller itself gave up, the error matches the caller's context
// error instead.
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
	if errors.Is(call.Err(), context.DeadlineExceeded) || busy(err) || errors.Is(err, errClosed) {
		return unavailable(err)
	}
	return err
}

// busy reports whether err is SQLite's "database is locked".
func busy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}
