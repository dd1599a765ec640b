package app_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/faultproxy"
	"deadbolt/internal/store/postgres/pgtest"
)

// The bounds of SPEC §12 "Under faults".
const (
	faultAnswerWithin  = 10 * time.Second
	faultRecoverWithin = 5 * time.Second
)

// faultWant503 checks an answer under a database fault: 503 unavailable
// with a Retry-After header and the same retry_after in the envelope.
func faultWant503(t *testing.T, what string, r *deadbolttest.Response, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v (no answer within %v?)", what, err, faultAnswerWithin)
		return
	}
	e2eWantError(t, what, r, http.StatusServiceUnavailable, "unavailable")
	var env struct {
		Error struct {
			RetryAfter *json.Number `json:"retry_after"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil || env.Error.RetryAfter == nil {
		t.Errorf("%s: no error.retry_after in %s", what, r.Body)
		return
	}
	n, err := strconv.Atoi(env.Error.RetryAfter.String())
	if err != nil || n < 1 || r.Header.Get("Retry-After") != strconv.Itoa(n) {
		t.Errorf("%s: retry_after %s, Retry-After header %q; want equal whole seconds ≥ 1", what, env.Error.RetryAfter, r.Header.Get("Retry-After"))
	}
}

// faultHealth checks /readyz and /healthz during a fault.
func faultHealth(t *testing.T, s *deadbolttest.Server, when string) {
	t.Helper()
	r, err := e2eSend(s, "GET", "/readyz", "", nil)
	if err != nil || r.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz %s = %v %v, want 503", when, r, err)
	}
	r, err = e2eSend(s, "GET", "/healthz", "", nil)
	if err != nil || r.Status != http.StatusOK {
		t.Errorf("GET /healthz %s = %v %v, want 200", when, r, err)
	}
}

// faultWaitServing polls an API call that needs the database until it
// succeeds, failing after the contract's recovery bound.
func faultWaitServing(t *testing.T, s *deadbolttest.Server, token, when string) {
	t.Helper()
	end := time.Now().Add(faultRecoverWithin)
	for {
		r, err := e2eSend(s, "GET", "/api/v1/me", token, nil)
		if err == nil && r.Status == http.StatusOK {
			if ready, err := e2eSend(s, "GET", "/readyz", "", nil); err != nil || ready.Status != http.StatusOK {
				t.Errorf("GET /readyz %s = %v %v, want 200", when, ready, err)
			}
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: GET /me still fails %v after: %v %v", when, faultRecoverWithin, r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDatabaseFaults runs a PostgreSQL server through a fault proxy:
// refused connections and a black hole answer 503 unavailable in time,
// nothing answered 503 committed, and the server recovers by itself.
func TestDatabaseFaults(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	_, target, err := pgtest.Through(dsn, "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.Start(t, target)
	proxied, _, err := pgtest.Through(dsn, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	s := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres, Database: proxied})
	s.Client.Timeout = faultAnswerWithin // a hang fails the request
	admin := s.AdminToken(t)
	aliceID := s.CreateUser(t, admin, "alice", "alice-password")
	tok, _ := s.Login(t, "alice", "alice-password")
	pairDevice(t, s, tok)
	r := e2eStatus(t, "recovery codes", e2eCall(t, s, "POST", "/api/v1/me/recovery-codes", tok, nil), http.StatusOK)
	code := r["codes"].([]any)[0].(string)
	pending, ans := s.Login(t, "alice", "alice-password")
	if ans["state"] != "second_factor" {
		t.Fatalf("login = %v, want second_factor", ans)
	}
	sessionsPath := "/api/v1/admin/users/" + aliceID + "/sessions"
	before := len(e2eSessions(t, s, sessionsPath, admin))

	t.Run("refused", func(t *testing.T) {
		p.Refuse()
		r, err := e2eSend(s, "POST", "/api/v1/login", "", map[string]string{"login": "alice", "password": "alice-password"})
		faultWant503(t, "login while refused", r, err)
		r, err = e2eSend(s, "GET", "/api/v1/me", admin, nil)
		faultWant503(t, "GET /me while refused", r, err)
		r, err = e2eSend(s, "POST", "/api/v1/login/second-factor", pending, map[string]string{"method": "recovery", "code": code})
		faultWant503(t, "recovery code while refused", r, err)
		faultHealth(t, s, "while refused")
		p.Restore()
		faultWaitServing(t, s, admin, "after refusal")
	})

	t.Run("black hole", func(t *testing.T) {
		p.BlackHole()
		r, err := e2eSend(s, "POST", "/api/v1/login/second-factor", pending, map[string]string{"method": "recovery", "code": code})
		faultWant503(t, "recovery code in a black hole", r, err)
		r, err = e2eSend(s, "POST", "/api/v1/login", "", map[string]string{"login": "alice", "password": "alice-password"})
		faultWant503(t, "login in a black hole", r, err)
		faultHealth(t, s, "in a black hole")
		p.Restore()
		faultWaitServing(t, s, admin, "after the black hole")
	})

	// Nothing answered 503 committed: no session appeared, and the
	// recovery code and the pending sign-in are still good.
	if after := len(e2eSessions(t, s, sessionsPath, admin)); after != before {
		t.Errorf("alice has %d sessions after the faults, want %d", after, before)
	}
	r = e2eStatus(t, "recovery code after the faults",
		e2eCall(t, s, "POST", "/api/v1/login/second-factor", pending, map[string]string{"method": "recovery", "code": code}), http.StatusOK)
	if r["state"] != "authenticated" {
		t.Errorf("recovery code after the faults = %v, want authenticated", r)
	}
	if after := len(e2eSessions(t, s, sessionsPath, admin)); after != before {
		t.Errorf("alice has %d sessions after signing in, want %d (the pending one replaced)", after, before)
	}
}

// TestDatabaseLocked locks a server's SQLite database from another
// connection (as a command in another process can): requests that write
// answer 503 unavailable, leave nothing behind, and work again once the
// lock is gone.
func TestDatabaseLocked(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.SQLite})
	s.Client.Timeout = faultAnswerWithin
	admin := s.AdminToken(t)
	aliceID := s.CreateUser(t, admin, "alice", "alice-password")
	sessionsPath := "/api/v1/admin/users/" + aliceID + "/sessions"

	other, err := sql.Open("sqlite", "file:"+s.Database+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec(`UPDATE settings SET value = value WHERE key = 'none'`); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	r, err := e2eSend(s, "POST", "/api/v1/login", "", map[string]string{"login": "alice", "password": "alice-password"})
	faultWant503(t, "login while locked", r, err)
	faultHealth(t, s, "while locked")
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	faultWaitServing(t, s, admin, "after the lock")
	if n := len(e2eSessions(t, s, sessionsPath, admin)); n != 0 {
		t.Errorf("alice has %d sessions after a login answered 503, want 0", n)
	}
	e2eLogin(t, s, "alice", "alice-password")
}

// inFlight reads the server's in-flight request gauge.
func inFlight(t *testing.T, s *deadbolttest.Server) int {
	t.Helper()
	r := e2eCall(t, s, "GET", "/metrics", "", nil)
	for _, line := range strings.Split(string(r.Body), "\n") {
		if v, ok := strings.CutPrefix(line, "deadbolt_http_requests_in_flight "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("in-flight gauge %q", line)
			}
			return int(n)
		}
	}
	t.Fatal("no deadbolt_http_requests_in_flight in /metrics")
	return 0
}

// TestDrain stops a server with long polls and an event stream open: each
// long poll answers at once with its current state, the stream ends
// cleanly, and Serve returns nil.
func TestDrain(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "alice", "alice-password")
		s.CreateUser(t, admin, "bob", "bob-password")
		aliceTok, _ := s.Login(t, "alice", "alice-password")
		pairCLI(t, s, aliceTok)
		bobTok, _ := s.Login(t, "bob", "bob-password")
		bob := pairCLI(t, s, bobTok)
		pending, ans := s.Login(t, "alice", "alice-password")
		push, ok := ans["push"].(map[string]any)
		if !ok {
			t.Fatalf("login = %v, want a push", ans)
		}
		base := inFlight(t, s) - 1 // the /metrics request itself

		type answer struct {
			r   *deadbolttest.Response
			err error
		}
		var wg sync.WaitGroup
		pushPoll, devicePoll := make(chan answer, 1), make(chan answer, 1)
		wg.Go(func() {
			r, err := e2eSend(s, "GET", "/api/v1/login/push/"+push["id"].(string)+"?wait=30", pending, nil)
			pushPoll <- answer{r, err}
		})
		wg.Go(func() {
			r, err := e2eSend(s, "GET", "/api/v1/device/requests?wait=30", bob.DeviceToken, nil)
			devicePoll <- answer{r, err}
		})
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/device/events", nil)
		req.Header.Set("Authorization", "Bearer "+bob.DeviceToken)
		stream, err := (&http.Client{}).Do(req)
		if err != nil || stream.StatusCode != http.StatusOK {
			t.Fatalf("GET /device/events = %v, %v", stream, err)
		}
		defer stream.Body.Close()
		streamEnd := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, bufio.NewReader(stream.Body))
			streamEnd <- err
		}()
		for end := time.Now().Add(10 * time.Second); inFlight(t, s)-1-base < 3; {
			if time.Now().After(end) {
				t.Fatalf("the long polls and the stream never were all in flight (%d)", inFlight(t, s)-1-base)
			}
			time.Sleep(10 * time.Millisecond)
		}

		// Both long polls asked to wait 30 s: an answer within 10 s is the
		// drain's doing.
		stopped := make(chan error, 1)
		go func() { stopped <- s.Stop() }()
		for name, ch := range map[string]chan answer{"push status": pushPoll, "device requests": devicePoll} {
			select {
			case a := <-ch:
				if a.err != nil {
					t.Errorf("%s long poll during the drain: %v", name, a.err)
					continue
				}
				m := e2eStatus(t, name+" long poll during the drain", a.r, http.StatusOK)
				switch name {
				case "push status":
					if m["status"] != "pending" {
						t.Errorf("push status during the drain = %v, want pending", m)
					}
				default:
					if l, ok := m["requests"].([]any); !ok || len(l) != 0 {
						t.Errorf("device requests during the drain = %v, want an empty list", m)
					}
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s long poll: no answer within 10 s of the drain", name)
			}
		}
		select {
		case err := <-streamEnd:
			if err != nil {
				t.Errorf("event stream ended with %v, want a clean end", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("event stream still open 10 s into the drain")
		}
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("Serve after the drain = %v, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return within 20 s of the drain")
		}
		wg.Wait()
		if r, err := e2eSend(s, "GET", "/healthz", "", nil); err == nil {
			t.Errorf("a new request after the drain got %d, want no connection", r.Status)
		}
	})
}
