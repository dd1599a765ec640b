package sms

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// provider is a loopback HTTP server standing in for an SMS provider. It
// counts the requests it receives and answers each with respond.
type provider struct {
	srv      *httptest.Server
	requests atomic.Int32
	release  chan struct{}
}

func newProvider(t *testing.T, respond http.HandlerFunc) *provider {
	t.Helper()
	p := &provider{release: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		respond(w, r)
	}))
	t.Cleanup(p.srv.Close)
	// Cleanups run last-registered first: let hanging handlers go before
	// the server waits for them.
	t.Cleanup(func() { close(p.release) })
	return p
}

// hang answers nothing until the client gives up or the test ends.
func (p *provider) hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.release:
	}
}

// reset reads the whole request, then drops the connection without a
// response, as a crashing provider or a broken middlebox would.
func reset(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // send RST rather than FIN
	}
	conn.Close()
}

// checkSendError checks that err matches want and no other class of Send
// error, and that its text holds none of the secrets.
func checkSendError(t *testing.T, err, want error, secrets ...string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("Send() = %v, want an error matching %v", err, want)
	}
	for _, other := range []error{ErrUnavailable, ErrAmbiguous, ErrInvalidMessage} {
		if other != want && errors.Is(err, other) {
			t.Errorf("Send() = %v, also matches %v", err, other)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("Send() error %q contains secret %q", err, s)
		}
	}
}
