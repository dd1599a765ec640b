package faultproxy_test

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"deadbolt/internal/faultproxy"
)

// echo is a TCP echo server counting the bytes it received.
type echo struct {
	addr     string
	received atomic.Int64
}

func startEcho(t *testing.T) *echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					e.received.Add(int64(n))
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return e
}

func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dial the proxy in mode %v: %v", p.Mode(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back within a bound that only a hang
// exceeds.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo of %q = %q, %v", msg, got, err)
	}
	c.SetReadDeadline(time.Time{})
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantBroken checks that c was reset or closed by the proxy.
func wantBroken(t *testing.T, what string, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: read = %v, want the connection reset or closed", what, err)
	}
}

func TestProxyModes(t *testing.T) {
	e := startEcho(t)
	p := faultproxy.Start(t, e.addr)

	busy := dial(t, p)
	roundTrip(t, busy, "hello")
	idle := dial(t, p)
	roundTrip(t, idle, "idle")
	before := e.received.Load()

	p.BlackHole()
	if _, err := busy.Write([]byte("lost")); err != nil {
		t.Fatalf("write into the black hole: %v", err)
	}
	fresh := dial(t, p) // accepted, but goes nowhere
	fresh.Write([]byte("gone"))
	waitFor(t, "8 bytes dropped", func() bool { return p.Dropped() >= 8 })
	if got := e.received.Load(); got != before {
		t.Errorf("the target received %d bytes during the black hole, want 0", got-before)
	}

	p.Restore()
	wantBroken(t, "connection that lost bytes, after Restore", busy)
	wantBroken(t, "connection opened in the black hole, after Restore", fresh)
	roundTrip(t, idle, "still here")
	roundTrip(t, dial(t, p), "new")

	p.Refuse()
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.Close()
		t.Error("dial while refusing succeeded")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial while refusing = %v, want connection refused", err)
	}
	wantBroken(t, "open connection after Refuse", idle)

	p.Restore()
	c := dial(t, p)
	roundTrip(t, c, "back")
}
