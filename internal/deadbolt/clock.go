package deadbolt

import (
	"sync/atomic"
	"time"
)

// Clock tells the time. Every time rule of the product (session lifetimes,
// code windows, delays, banners) reads the time through one Clock so that
// development mode can move it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// DevClock is real time plus an offset that development mode can move. Each
// process keeps its own offset. It is safe for concurrent use.
type DevClock struct {
	offset atomic.Int64 // nanoseconds
}

// Now returns real time plus the offset, in UTC.
func (c *DevClock) Now() time.Time {
	return time.Now().UTC().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward (or back, for a negative d) and returns
// the new time.
func (c *DevClock) Advance(d time.Duration) time.Time {
	c.offset.Add(int64(d))
	return c.Now()
}

// Set moves the clock so that Now returns t (plus the time that passes).
func (c *DevClock) Set(t time.Time) time.Time {
	c.offset.Store(int64(time.Until(t)))
	return c.Now()
}

// FixedClock is a clock that only moves when told; tests use it. It is safe
// for concurrent use.
type FixedClock struct {
	t atomic.Int64 // unix nanoseconds
}

// NewFixedClock returns a FixedClock reading t.
func NewFixedClock(t time.Time) *FixedClock {
	c := &FixedClock{}
	c.t.Store(t.UnixNano())
	return c
}

// Now returns the clock's time in UTC.
func (c *FixedClock) Now() time.Time { return time.Unix(0, c.t.Load()).UTC() }

// Advance moves the clock by d.
func (c *FixedClock) Advance(d time.Duration) time.Time {
	return time.Unix(0, c.t.Add(int64(d))).UTC()
}

// Set moves the clock to t.
func (c *FixedClock) Set(t time.Time) { c.t.Store(t.UnixNano()) }
