// Package deadbolttest starts real Deadbolt servers for tests: on port 0,
// on a fresh SQLite file or a fresh PostgreSQL database, in development
// mode so tests can move the clock, with an administrator ready to use.
package deadbolttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/app"
	"deadbolt/internal/captcha"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
	"deadbolt/internal/store/postgres/pgtest"
)

// AdminPassword is the password of the administrator "admin" of every test
// server.
const AdminPassword = "admin-test-password"

// Store names the kinds of database a test server can run on.
type Store string

// The stores.
const (
	SQLite   Store = "sqlite"
	Postgres Store = "postgres"
)

// Stores lists both stores, for tests that run on each.
var Stores = []Store{SQLite, Postgres}

// Options configure a test server.
type Options struct {
	Store Store
	// Database, when set, is used instead of a fresh one (to run several
	// nodes on one database).
	Database string
	// Dev enables development mode (default true through StartServer).
	NoDev bool
	// Logs receives the server's log; nil discards it.
	Logs io.Writer
	// Captcha configures a hosted CAPTCHA instead of the built-in one.
	Captcha *captcha.HostedConfig
	// PushDigits is the length of the push number (0: the default 6).
	PushDigits int
	// PublicURL, when set, is the server's public URL instead of its
	// listening address (which stays Server.URL), e.g. behind a proxy.
	PublicURL string
	// TrustedProxies are the networks whose forwarded headers the server
	// believes.
	TrustedProxies []netip.Prefix
	// CookieDomain sets the session cookie's domain (forward-auth).
	CookieDomain string
	// SessionIdle, when set, is the idle timeout of sessions.
	SessionIdle time.Duration
	// ShutdownTimeout bounds the drain when the server stops; zero means
	// the server's default.
	ShutdownTimeout time.Duration
	// OneTimeAdmin starts an empty server as an operator who set no
	// administrator password does: "admin" gets a one-time password, in
	// App.BootstrapPassword, to be replaced at the first sign-in.
	OneTimeAdmin bool
	// PublicHost, when set, is the host name of the listening address
	// (Server.URL, and the public URL unless PublicURL is set) instead of
	// 127.0.0.1: "localhost" gives passkeys a relying party (WebAuthn
	// needs a domain name).
	PublicHost string
	// OrgLocation, when set, is the organisation's time zone instead of
	// UTC.
	OrgLocation *time.Location
}

// Server is a running test server.
type Server struct {
	URL      string
	Database string
	App      *app.App
	Client   *http.Client

	stop     context.CancelFunc
	served   chan error
	stopOnce sync.Once
	err      error
}

// fastHash keeps tests quick: a cheap argon2id setting.
var fastHash = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// StartServer starts a server and stops it when the test ends.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Store == "" {
		opts.Store = SQLite
	}
	db := opts.Database
	if db == "" {
		switch opts.Store {
		case SQLite:
			db = filepath.Join(t.TempDir(), "deadbolt.db")
		case Postgres:
			db = pgtest.NewDatabase(t)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("http://" + ln.Addr().String())
	if opts.PublicHost != "" {
		pub.Host = net.JoinHostPort(opts.PublicHost, pub.Port())
	}
	listenURL := pub.String()
	if opts.PublicURL != "" {
		if pub, err = url.Parse(opts.PublicURL); err != nil {
			t.Fatal(err)
		}
	}
	logs := opts.Logs
	if logs == nil {
		logs = io.Discard
	}
	key := bytes.Repeat([]byte{7}, 32)
	adminPassword := AdminPassword
	if opts.OneTimeAdmin {
		adminPassword = ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Config{
		Database: db, PublicURL: pub, Dev: !opts.NoDev, AdminPassword: adminPassword,
		MasterKey: key, Hash: fastHash, HashConcurrency: 4, Captcha: opts.Captcha, PushDigits: opts.PushDigits,
		TrustedProxies: opts.TrustedProxies, CookieDomain: opts.CookieDomain, SessionIdle: opts.SessionIdle,
		Logger:          slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ShutdownTimeout: opts.ShutdownTimeout, OrgLocation: opts.OrgLocation,
	})
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	s := &Server{URL: listenURL, Database: db, App: a, Client: &http.Client{Timeout: 30 * time.Second},
		stop: cancel, served: done}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	s.waitHealthy(t)
	return s
}

// Stop ends the server as SIGTERM ends the command: it drains, and Stop
// returns once Serve did, with Serve's error. Later calls wait for the
// first and return the same. It is safe for concurrent use.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stop()
		s.err = <-s.served
	})
	return s.err
}

func (s *Server) waitHealthy(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := s.Client.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("server did not become healthy")
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.Status, err, r.Body)
	}
	return m
}

// ErrorCode returns error.code of an error envelope, "" if none.
func (r *Response) ErrorCode() string {
	var m struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(r.Body, &m)
	return m.Error.Code
}

// Do sends an API request. body may be nil, a string (sent as is) or a
// value marshalled to JSON. token, if set, goes in Authorization.
func (s *Server) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Login signs in with a password and returns the session token; it fails
// the test unless the answer is 200.
func (s *Server) Login(t testing.TB, login, pw string) (token string, answer map[string]any) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": login, "password": pw})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", login, r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["session_token"].(string), m
}

// AdminToken signs in as the administrator.
func (s *Server) AdminToken(t testing.TB) string {
	t.Helper()
	tok, _ := s.Login(t, "admin", AdminPassword)
	return tok
}

// CreateUser creates an employee through the admin API and returns its id.
func (s *Server) CreateUser(t testing.TB, adminToken, login, pw string) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/admin/users", adminToken, map[string]any{"login": login, "name": "Test " + login, "password": pw})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user %s: %d %s", login, r.Status, r.Body)
	}
	return r.JSON(t)["id"].(string)
}

// Advance moves the server's development clock.
func (s *Server) Advance(t testing.TB, d time.Duration) time.Time {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/dev/clock", "", map[string]string{"advance": d.String()})
	if r.Status != http.StatusOK {
		t.Fatalf("advance clock: %d %s", r.Status, r.Body)
	}
	now, _ := time.Parse(time.RFC3339Nano, r.JSON(t)["now"].(string))
	return now
}

// Clock returns the clock the server's rules read.
func (s *Server) Clock() deadbolt.Clock { return s.App.DevClock }

// Name is a readable label for subtests.
func (st Store) String() string { return string(st) }

// ForEachStore runs f as a subtest on SQLite and on PostgreSQL.
func ForEachStore(t *testing.T, f func(t *testing.T, st Store)) {
	for _, st := range Stores {
		t.Run(st.String(), func(t *testing.T) { f(t, st) })
	}
}

// Env reads an environment variable (indirection for documentation).
func Env(name string) string { return os.Getenv(name) }

var _ = fmt.Sprintf
