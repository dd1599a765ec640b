package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"deadbolt/internal/store/postgres/pgtest"
)

// signIns is how many password sign-ins are in flight when the server is
// told to stop.
const signIns = 40

// inFlightOf reads the server's in-flight request gauge (the /metrics
// request included).
func inFlightOf(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "deadbolt_http_requests_in_flight "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("in-flight gauge %q", sc.Text())
			}
			return int(n)
		}
	}
	t.Fatal("no deadbolt_http_requests_in_flight in /metrics")
	return 0
}

// TestServeDrains stops "deadbolt serve" — its context ends, as on
// SIGTERM — with 40 password sign-ins in flight (real argon2id hashing,
// one hash at a time, so they queue): every sign-in finishes 200, no new connection is
// accepted once the drain began, /readyz answers 503 on a connection
// opened before, and the command exits 0.
func TestServeDrains(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			// Real argon2id, one hash at a time, light enough that the 40
			// finish well within the drain on a loaded machine.
			args := []string{"--listen", "127.0.0.1:0", "--hash-concurrency", "1", "--hash-memory", "4096",
				"--hash-time", "1", "--shutdown-timeout", "60s"}
			if store == "sqlite" {
				args = append(args, "--database", filepath.Join(dir, "x.db"), "--master-key-file", filepath.Join(dir, "k"))
			} else {
				args = append(args, "--database", pgtest.NewDatabase(t), "--master-key", strings.Repeat("ab", 32))
			}
			s := startServe(t, args...)
			if s.password == "" {
				t.Fatal("no one-time administrator password printed")
			}
			body, _ := json.Marshal(map[string]string{"login": "admin", "password": s.password})
			client := &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: signIns}}

			var wg sync.WaitGroup
			var done atomic.Int64
			status := make([]int, signIns)
			states := make([]string, signIns)
			errs := make([]error, signIns)
			for i := range signIns {
				wg.Go(func() {
					defer done.Add(1)
					resp, err := client.Post(s.url+"/api/v1/login", "application/json", bytes.NewReader(body))
					if err != nil {
						errs[i] = err
						return
					}
					defer resp.Body.Close()
					var m map[string]any
					errs[i] = json.NewDecoder(resp.Body).Decode(&m)
					status[i], states[i] = resp.StatusCode, fmtFirst(m["state"])
				})
			}
			for end := time.Now().Add(30 * time.Second); inFlightOf(t, s.url)-1 < signIns*3/4; {
				if time.Now().After(end) {
					t.Fatalf("sign-ins never in flight together (%d)", inFlightOf(t, s.url)-1)
				}
				time.Sleep(5 * time.Millisecond)
			}

			// A connection opened before the drain, its request finished
			// during it. The server accepts connections in order: once a
			// later one is answered, this one is being served.
			probe, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer probe.Close()
			if _, err := io.WriteString(probe, "GET /readyz HTTP/1.1\r\nHost: deadbolt\r\n"); err != nil {
				t.Fatal(err)
			}
			if r, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(s.url + "/healthz"); err != nil {
				t.Fatal(err)
			} else {
				r.Body.Close()
			}

			exit := make(chan int, 1)
			go func() { exit <- s.stop() }()
			// The drain closes the listener: a new connection is refused,
			// while sign-ins are still being served.
			for end := time.Now().Add(10 * time.Second); ; {
				c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
				if err != nil {
					// Refused, or reset when the listener closed with the
					// connection still queued: either way not accepted.
					if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
						t.Errorf("dial during the drain = %v, want connection refused", err)
					}
					break
				}
				c.Close()
				if time.Now().After(end) {
					t.Fatal("the listener still accepts 10 s after the drain began")
				}
				time.Sleep(time.Millisecond)
			}
			if n := done.Load(); n == signIns {
				t.Errorf("all %d sign-ins had finished when the drain began: the test proves nothing", n)
			}
			if _, err := io.WriteString(probe, "\r\n"); err != nil {
				t.Fatalf("finish the /readyz request: %v", err)
			}
			probe.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(probe), nil)
			if err != nil {
				t.Errorf("GET /readyz during the drain: %v", err)
			} else if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("GET /readyz during the drain = %d, want 503", resp.StatusCode)
			}

			wg.Wait()
			for i := range signIns {
				// The printed password is a one-time one: the sign-in
				// asks for a new password.
				if errs[i] != nil || status[i] != http.StatusOK || states[i] != "password_change_required" {
					t.Errorf("sign-in #%d during the drain = %d %q, %v; want 200 password_change_required", i, status[i], states[i], errs[i])
				}
			}
			select {
			case code := <-exit:
				if code != 0 {
					t.Errorf("serve after the drain exited %d, want 0\nstderr: %s", code, s.stderr)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not exit")
			}
		})
	}
}

// fmtFirst returns v as a string, "" if it is not one.
func fmtFirst(v any) string {
	s, _ := v.(string)
	return s
}

// TestServeShutdownTimeout gives the drain less time than 40 queued
// sign-ins need: the ones left when it runs out are cut off, and the
// command still exits 0.
func TestServeShutdownTimeout(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "--listen", "127.0.0.1:0", "--hash-concurrency", "1", "--shutdown-timeout", "200ms",
		"--database", filepath.Join(dir, "x.db"), "--master-key-file", filepath.Join(dir, "k"))
	body, _ := json.Marshal(map[string]string{"login": "admin", "password": s.password})
	client := &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: signIns}}
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range signIns {
		wg.Go(func() {
			resp, err := client.Post(s.url+"/api/v1/login", "application/json", bytes.NewReader(body))
			if err == nil {
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				}
				resp.Body.Close()
			}
		})
	}
	for end := time.Now().Add(30 * time.Second); inFlightOf(t, s.url)-1 < signIns*3/4; {
		if time.Now().After(end) {
			t.Fatalf("sign-ins never in flight together (%d)", inFlightOf(t, s.url)-1)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("serve after a timed-out drain exited %d, want 0\nstderr: %s", code, s.stderr)
	}
	wg.Wait()
	if n := ok.Load(); n == signIns {
		t.Errorf("all %d sign-ins finished within a 200ms drain of one hash at a time: the timeout was not applied", n)
	}
	if !strings.Contains(s.stderr.String(), "drain timed out") {
		t.Errorf("no log line about the timed-out drain in:\n%s", s.stderr)
	}
}
