package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// DefaultTimeout bounds one provider request, from connecting to
	// reading the answer, when the configuration gives none.
	DefaultTimeout = 10 * time.Second

	maxResponseBytes = 64 << 10
	maxSnippetBytes  = 200
)

// Progress of one request, as seen through httptrace.
const (
	stageNone        int32 = iota // no connection yet
	stageConnected                // connection obtained, nothing written
	stageHeaders                  // headers written: the provider may act
	stageWriteFailed              // the request could not be written whole
	stageWritten                  // the whole request was written
)

// response is a provider's answer: status and at most maxResponseBytes of
// body.
type response struct {
	status int
	body   []byte
}

// roundTrip sends the request built by build once, within timeout, and
// classifies failures: ErrUnavailable when the request cannot have reached
// the provider, ErrAmbiguous when it may have. Errors never contain the
// request URL (it may hold credentials).
func roundTrip(ctx context.Context, client *http.Client, provider string, timeout time.Duration, build func(context.Context) (*http.Request, error)) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var stage atomic.Int32
	trace := &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { stage.Store(stageConnected) },
		WroteHeaders: func() { stage.Store(stageHeaders) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err != nil {
				stage.Store(stageWriteFailed)
			} else {
				stage.Store(stageWritten)
			}
		},
	}
	req, err := build(httptrace.WithClientTrace(ctx, trace))
	if err != nil {
		return response{}, fmt.Errorf("sms: %s: build request: %w", provider, withoutURL(err))
	}
	resp, err := client.Do(req)
	if err != nil {
		cause := withoutURL(err)
		switch stage.Load() {
		case stageHeaders, stageWritten:
			return response{}, fmt.Errorf("sms: %s: %w: %w", provider, ErrAmbiguous, cause)
		default:
			return response{}, fmt.Errorf("sms: %s: %w: %w", provider, ErrUnavailable, cause)
		}
	}
	defer resp.Body.Close()
	// A failure while reading the body changes nothing: the status decided.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	return response{status: resp.StatusCode, body: body}, nil
}

// withoutURL returns the error inside a *url.Error, whose text would
// repeat the URL.
func withoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// noRedirects returns a copy of client (or of a zero client) that does not
// follow redirects: a provider answering with a redirect is misconfigured,
// and following it could send the message and the credentials elsewhere.
func noRedirects(client *http.Client) *http.Client {
	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return c
}

// checkURL parses raw as an absolute http or https URL without user
// information. Its errors do not repeat raw.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("URL scheme must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("URL has no host")
	}
	if u.User != nil {
		return nil, errors.New("URL must not contain credentials")
	}
	return u, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sanitize turns a provider's answer into a short printable snippet with
// every secret in it replaced by "[redacted]". Secrets shorter than four
// bytes are ignored.
func sanitize(body []byte, secrets ...string) string {
	var b strings.Builder
	space := false
	for _, r := range string(body) {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = b.Len() > 0
		case r > 0x20 && r < 0x7f:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
		if b.Len() > maxResponseBytes {
			break
		}
	}
	s := b.String()
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	if len(s) > maxSnippetBytes {
		s = s[:maxSnippetBytes] + "..."
	}
	return s
}

// checkTimeout returns the timeout to use for t.
func checkTimeout(t time.Duration) (time.Duration, error) {
	switch {
	case t < 0:
		return 0, errors.New("negative timeout")
	case t == 0:
		return DefaultTimeout, nil
	}
	return t, nil
}
