// Package faultproxy is a loopback TCP proxy for tests that put network
// faults between a server and its database. It forwards bytes both ways
// until told to fail:
//
//   - Refuse stops accepting (new connections are refused) and resets the
//     connections in progress, as a database that went down.
//   - BlackHole keeps every connection open, accepts new ones, and reads
//     and drops the bytes of both directions, as a network that stopped
//     delivering: nothing arrives, nothing fails.
//   - Restore forwards again. Connections whose bytes were dropped are
//     reset (their streams lost data, as TCP never would); the others,
//     idle meanwhile, carry on.
//
// A Proxy is safe for concurrent use.
package faultproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Mode is what the proxy does with connections.
type Mode int

// The modes.
const (
	Pass Mode = iota
	Refuse
	BlackHole
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case BlackHole:
		return "black hole"
	}
	return "unknown"
}

// Proxy forwards connections on a loopback address to a target.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	mode  Mode
	ln    net.Listener
	links map[*link]struct{}
	wg    sync.WaitGroup

	accepted atomic.Int64
	dropped  atomic.Int64
}

// link is one proxied connection: the client side and, once dialled, the
// target side.
type link struct {
	client, server net.Conn
	black          atomic.Bool // dropping bytes
	lost           atomic.Bool // dropped some, or a side closed while black
}

// Start listens on a free loopback port and forwards to target
// (host:port); the proxy closes when t ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, links: map[*link]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: listen: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Accepted counts the connections accepted so far.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Dropped counts the bytes black-holed so far, both directions together.
func (p *Proxy) Dropped() int64 { return p.dropped.Load() }

func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			p.open(c)
		}
	}()
}

// open starts forwarding a new client connection.
func (p *Proxy) open(c net.Conn) {
	l := &link{client: c}
	p.mu.Lock()
	mode := p.mode
	if mode == Refuse || p.links == nil {
		p.mu.Unlock()
		reset(c)
		return
	}
	p.links[l] = struct{}{}
	l.black.Store(mode == BlackHole)
	p.mu.Unlock()
	if mode == Pass {
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.drop(l)
			return
		}
		l.server = s
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.pump(l, l.client, func() net.Conn { return l.server })
	}()
	if l.server != nil {
		p.pumpBack(l)
	}
}

func (p *Proxy) pumpBack(l *link) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.pump(l, l.server, func() net.Conn { return l.client })
	}()
}

// pump copies src to dst, or drops what it reads while the link is black.
func (p *Proxy) pump(l *link, src net.Conn, dst func() net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if l.black.Load() || dst() == nil {
				l.lost.Store(true)
				p.dropped.Add(int64(n))
			} else if _, werr := dst().Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if l.black.Load() {
				// Nothing propagates through a black hole; Restore
				// resets what is left of the link.
				l.lost.Store(true)
				return
			}
			p.drop(l)
			return
		}
	}
}

// drop closes both sides of a link and forgets it.
func (p *Proxy) drop(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
	reset(l.client)
	if l.server != nil {
		reset(l.server)
	}
}

// Refuse closes the listener, so that new connections are refused, and
// resets every open connection.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	p.mode = Refuse
	ln := p.ln
	p.ln = nil
	links := p.takeLinks()
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, l := range links {
		p.drop(l)
	}
}

// BlackHole starts dropping every byte, both ways, on open and new
// connections alike.
func (p *Proxy) BlackHole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Refuse {
		p.relisten()
	}
	p.mode = BlackHole
	for l := range p.links {
		l.black.Store(true)
	}
}

// Restore forwards again: it listens again after Refuse, resets the
// connections that lost bytes in a black hole, and lets the others carry
// on.
func (p *Proxy) Restore() {
	p.mu.Lock()
	if p.mode == Refuse {
		p.relisten()
	}
	p.mode = Pass
	var lost []*link
	for l := range p.links {
		if l.lost.Load() || l.server == nil {
			lost = append(lost, l)
		} else {
			l.black.Store(false)
		}
	}
	p.mu.Unlock()
	for _, l := range lost {
		p.drop(l)
	}
}

// relisten listens on the proxy's address again; p.mu is held.
func (p *Proxy) relisten() {
	if p.ln != nil || p.links == nil {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		panic("faultproxy: listen again on " + p.addr + ": " + err.Error())
	}
	p.serve(ln)
}

// takeLinks empties the link set and returns it; p.mu is held.
func (p *Proxy) takeLinks() []*link {
	out := make([]*link, 0, len(p.links))
	for l := range p.links {
		out = append(out, l)
	}
	clear(p.links)
	return out
}

// Close stops the proxy and resets every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	links := p.takeLinks()
	p.links = nil
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, l := range links {
		reset(l.client)
		if l.server != nil {
			reset(l.server)
		}
	}
	p.wg.Wait()
}

// reset closes c abortively (RST), as a peer that vanished.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
