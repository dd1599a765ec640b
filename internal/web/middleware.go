package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// quietRoutes are logged at debug level unless they fail.
var quietRoutes = map[string]bool{
	"GET /api/v1/authz/forward-auth": true,
	"GET /api/v1/authz/auth-request": true,
}

// The values of the headers every response carries, built once: a
// handler may replace one (Set), never change it in place.
var (
	hdrNosniff   = []string{"nosniff"}
	hdrNoReferer = []string{"no-referrer"}
	hdrDeny      = []string{"DENY"}
	hdrCSP       = []string{"default-src 'self'; img-src 'self' data:; media-src 'self'; " +
		"style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action 'self'; frame-ancestors 'none'"}
	hdrCOOP = []string{"same-origin"}
	hdrHSTS = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeaders sets the headers every response carries.
func (s *server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNosniff
		if strings.HasPrefix(r.URL.Path, "/api/v1/authz/") {
			// A reverse proxy's check, answered with a status and headers
			// for the proxy (a page it shows sets its own policy): the
			// page headers would only lengthen the hottest answer.
			next.ServeHTTP(w, r)
			return
		}
		h["Referrer-Policy"] = hdrNoReferer
		h["X-Frame-Options"] = hdrDeny
		h["Content-Security-Policy"] = hdrCSP
		h["Cross-Origin-Opener-Policy"] = hdrCOOP
		if s.hsts {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		next.ServeHTTP(w, r)
	})
}

// devHosts keeps a development server to the names of this machine: in
// development mode (which serves the SMS outbox and CAPTCHA answers
// without a session) a request whose Host is not a loopback name or
// address, or the public URL's host, is refused with 421 — the JSON
// envelope on API paths — so a web page that rebinds its own DNS name to
// 127.0.0.1 cannot read this server. Out of development mode it does
// nothing: production servers sit behind real names and proxies.
func (s *server) devHosts(next http.Handler) http.Handler {
	if s.DevClock == nil {
		return next
	}
	public := ""
	if s.PublicURL != nil {
		public = normalHost(s.PublicURL.Hostname())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := hostName(r.Host); host != "" && (host == public || namesThisMachine(host)) {
			next.ServeHTTP(w, r)
			return
		}
		err := deadbolt.Errorf(deadbolt.CodeMisdirected, "This development server answers only for localhost and %s.", cmpOr(public, "127.0.0.1"))
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.writeError(w, r, err)
			return
		}
		http.Error(w, errorText(tr(r), err), http.StatusMisdirectedRequest)
	})
}

// hostName is the name or address of a Host header without its port or
// IPv6 brackets, normalised; "" when there is none.
func hostName(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return normalHost(host)
}

func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// namesThisMachine reports whether a normalised host names this machine:
// localhost, a name under .localhost (RFC 6761), or a loopback address.
func namesThisMachine(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// strictForms reads the urlencoded form of every page POST (at most
// maxBody) and refuses it — before any handler sees it — when a name or
// value is not valid UTF-8 or holds U+0000: such text would be changed on
// the way (strings.ToLower turns invalid bytes into U+FFFD) or refused by
// the database. The API's JSON bodies are checked by decodeJSON instead,
// multipart forms by their handlers, and the forms of the OAuth endpoints
// (token, userinfo, revocation, introspection: machine clients answered in
// OAuth's format) by oauthForm and package oidc.
func (s *server) strictForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || strings.HasPrefix(r.URL.Path, "/api/") || oauthEndpoint(r.URL.Path) || !isURLEncodedForm(r) {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
				s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeTooLarge, "The form is larger than %d KiB.", maxBody>>10))
				return
			}
			s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeBadRequest, "The form could not be read."))
			return
		}
		for k, vs := range r.Form {
			if !validFormText(k) {
				s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeBadRequest, "The form holds text that is not valid UTF-8, or the character U+0000."))
				return
			}
			for _, v := range vs {
				if !validFormText(v) {
					s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeBadRequest, "The form holds text that is not valid UTF-8, or the character U+0000."))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isURLEncodedForm(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}

// validFormText reports whether a form name or value is valid UTF-8
// without U+0000.
func validFormText(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsRune(v, 0)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streaming handlers (long poll, SSE) flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logRequests logs one line per request — method, path (never the query,
// which may carry a token), status, duration — and feeds the metrics.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		s.metrics.observe(pattern, sw.status, d)
		level := levelFor(sw.status)
		if level < slog.LevelError && quietRoutes[pattern] {
			// A reverse proxy asks for every request it serves: its own
			// log has them.
			level = slog.LevelDebug
		}
		if s.log.Enabled(r.Context(), level) {
			s.log.LogAttrs(r.Context(), level, "request",
				slogStr("method", r.Method), slogStr("path", r.URL.Path), slogInt("status", sw.status),
				slogDur("duration", d), slogStr("ip", s.clientIP(r)))
		}
	})
}

// recoverPanics turns a panic into a 500 and a log line.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address of the client: the peer, or — when the peer is a
// trusted proxy — the right-most untrusted address of X-Forwarded-For.
func (s *server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	xff := r.Header.Values("X-Forwarded-For")
	parts := strings.Split(strings.Join(xff, ","), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (s *server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *server) client(r *http.Request) signin.Client {
	return signin.Client{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}

// httpMetrics are the request metrics served at /metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	routes   sync.Map // route pattern → *routeMetrics
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deadbolt_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "deadbolt_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

func (m *httpMetrics) observe(route string, status int, d time.Duration) {
	rm, ok := m.routes.Load(route)
	if !ok {
		// Resolving the labels hashes them: do it once per route.
		r := &routeMetrics{duration: m.duration.WithLabelValues(route)}
		for i, class := range statusClasses {
			r.requests[i] = m.requests.WithLabelValues(route, class)
		}
		rm, _ = m.routes.LoadOrStore(route, r)
	}
	r := rm.(*routeMetrics)
	r.requests[statusIndex(status)].Inc()
	r.duration.Observe(d.Seconds())
}

// routeMetrics are one route's metrics, their labels resolved.
type routeMetrics struct {
	requests [5]prometheus.Counter // by status class
	duration prometheus.Observer
}

var statusClasses = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

func statusIndex(code int) int {
	switch {
	case code < 200:
		return 0
	case code < 300:
		return 1
	case code < 400:
		return 2
	case code < 500:
		return 3
	}
	return 4
}

// authenticated extracts the session from the Authorization header or the
// session cookie. It answers CodeUnauthorized when there is none.
func (s *server) authenticate(r *http.Request) (*signin.Auth, error) {
	tok := bearer(r)
	if tok == "" {
		if c, err := r.Cookie(s.cookie.name); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		return nil, deadbolt.Errorf(deadbolt.CodeUnauthorized, "Sign in first.")
	}
	return s.Signin.Authenticate(r.Context(), tok)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// apiHandler is an API handler that returns its error.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

// api wraps an API handler: its error becomes the error envelope. A
// state-changing route that takes no request body (described in apiDocs
// without a Request type) gets an empty body or {} only: anything else is
// CodeBadRequest (CodeTooLarge over 64 KiB) before the handler runs or the
// session is even looked up, so such a request changes nothing.
func (s *server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if takesNoBody(r) {
			err = decodeJSON(w, r, &struct{}{}, true)
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// takesNoBody reports whether r is a state-changing call of an API route
// that takes no request body.
func takesNoBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	d, ok := apiDocs[r.Pattern]
	return ok && d.Request == nil
}

// authHandler is an API handler for an authenticated session.
type authHandler func(w http.ResponseWriter, r *http.Request, a *signin.Auth) error

// Session requirements of a route, declared in routes.go: s.authed(n, h)
// for the API, s.page(n, h) for pages.
type need int

const (
	needFull    need = iota // a full session
	needPending             // a session pending its second factor
	needSetup               // a full session, or one limited to 2FA setup
	needAny                 // any live session
	needAdmin               // a full session of an administrator
	// needSelf: a full session or one limited to 2FA setup, also while its
	// employee must first replace a one-time password (signin.
	// RequireChosenPassword): reading one's account, choosing a language,
	// changing the password.
	needSelf
)

func (s *server) authed(n need, h authHandler) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.authenticate(r)
		if err != nil {
			return err
		}
		r = withUserLanguage(r, a.User)
		switch n {
		case needFull, needAdmin:
			if err := signin.RequireFull(a); err != nil {
				return err
			}
			if n == needAdmin && !a.User.Admin {
				return deadbolt.Errorf(deadbolt.CodeForbidden, "Only administrators can do this.")
			}
		case needPending:
			if a.Session.State != deadbolt.SessionPending {
				return deadbolt.Errorf(deadbolt.CodeBadRequest, "This session is not waiting for a second factor.")
			}
		case needSetup:
			if a.Session.State == deadbolt.SessionPending {
				return signin.RequireFull(a)
			}
			if err := signin.RequireChosenPassword(a); err != nil {
				return err
			}
		case needSelf:
			if a.Session.State == deadbolt.SessionPending {
				return signin.RequireFull(a)
			}
		}
		return h(w, r, a)
	})
}
