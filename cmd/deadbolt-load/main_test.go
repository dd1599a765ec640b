package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
)

func TestParseFlags(t *testing.T) {
	ok := []string{"-password", "x"}
	cases := []struct {
		name string
		args []string
		want string // substring of the error, "" for none
	}{
		{"defaults", ok, ""},
		{"localhost", append([]string{"-url", "http://localhost:1"}, ok...), ""},
		{"ipv6 loopback", append([]string{"-url", "http://[::1]:8080"}, ok...), ""},
		{"127.1.2.3", append([]string{"-url", "http://127.1.2.3:8080"}, ok...), ""},
		{"remote address", append([]string{"-url", "http://10.0.0.1:8080"}, ok...), "loopback"},
		{"remote name", append([]string{"-url", "https://example.com"}, ok...), "loopback"},
		{"name that starts like localhost", append([]string{"-url", "http://localhost.example.com"}, ok...), "loopback"},
		{"unspecified", append([]string{"-url", "http://0.0.0.0:8080"}, ok...), "loopback"},
		{"scheme", append([]string{"-url", "ftp://127.0.0.1"}, ok...), "http"},
		{"no password", nil, "-password"},
		{"scenario", append([]string{"-scenario", "crash"}, ok...), "scenario"},
		{"zero clients", append([]string{"-clients", "0"}, ok...), "clients"},
		{"too many clients", append([]string{"-clients", "5000"}, ok...), "clients"},
		{"long duration", append([]string{"-duration", "2h"}, ok...), "duration"},
		{"negative duration", append([]string{"-duration", "-1s"}, ok...), "duration"},
		{"too many users", append([]string{"-users", "20000"}, ok...), "users"},
		{"too many requests", append([]string{"-requests", "100000000"}, ok...), "requests"},
		{"stray argument", append(ok, "extra"), "extra"},
		{"healthz needs no password", []string{"-scenario", "healthz"}, ""},
		{"forward-auth needs a password", []string{"-scenario", "forward-auth"}, "-password"},
		{"peer cookie needs no password", []string{"-scenario", "forward-auth", "-cookie", "s=v", "-forward-url", "https://app.example.com/"}, ""},
		{"peer cookie without the URL", []string{"-scenario", "forward-auth", "-cookie", "s=v"}, "-forward-url"},
		{"peer cookie shape", []string{"-scenario", "forward-auth", "-cookie", "novalue", "-forward-url", "https://a.example.com/"}, "NAME=VALUE"},
		{"forward URL", append([]string{"-scenario", "forward-auth", "-forward-url", "ftp://x"}, ok...), "-forward-url"},
		{"check path", append([]string{"-scenario", "forward-auth", "-check-path", "api"}, ok...), "-check-path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			_, err := parseFlags(c.args, &out)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("parseFlags(%q) = %v, want no error", c.args, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("parseFlags(%q) = %v, want an error about %q", c.args, err, c.want)
			}
		})
	}
	c, err := parseFlags([]string{"-password", "x", "-clients", "7"}, &strings.Builder{})
	if err != nil || c.users != 7 {
		t.Errorf("parseFlags without -users: users = %d, %v; want the client count 7", c.users, err)
	}
}

// TestSecondFactorSizing checks how many employees and sign-ins the
// second-factor scenario prepares.
func TestSecondFactorSizing(t *testing.T) {
	base := []string{"-password", "x", "-scenario", "second-factor"}
	cases := []struct {
		args    []string
		users   int
		signins int64
		err     string
	}{
		{[]string{"-rate", "100", "-duration", "5s"}, 50, 500, ""},
		{[]string{"-rate", "33", "-duration", "1s"}, 4, 33, ""},
		{[]string{"-rate", "100", "-duration", "5s", "-requests", "35"}, 4, 35, ""},
		{[]string{"-rate", "100", "-duration", "5s", "-users", "3"}, 3, 30, ""},
		{[]string{"-users", "3", "-requests", "7"}, 3, 7, ""},
		{[]string{"-rate", "100000", "-duration", "2m"}, 0, 0, "-rate"},
		{[]string{"-rate", "0"}, 0, 0, "-rate"},
		{[]string{"-rate", "200000"}, 0, 0, "-rate"},
	}
	for _, c := range cases {
		args := append(append([]string{}, base...), c.args...)
		got, err := parseFlags(args, &strings.Builder{})
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseFlags(%q) = %v, want an error about %q", args, err, c.err)
			}
		case err != nil:
			t.Errorf("parseFlags(%q) = %v, want no error", args, err)
		case got.users != c.users || got.signins != c.signins:
			t.Errorf("parseFlags(%q): %d employees, %d sign-ins; want %d and %d", args, got.users, got.signins, c.users, c.signins)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	cases := []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, .5, 0},
		{ms(7), .5, 7 * time.Millisecond},
		{ms(7), 1, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), .5, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), .9, 4 * time.Millisecond},
		{ms(hundred...), .5, 50 * time.Millisecond},
		{ms(hundred...), .9, 90 * time.Millisecond},
		{ms(hundred...), .99, 99 * time.Millisecond},
		{ms(hundred...), 1, 100 * time.Millisecond},
	}
	for _, c := range cases {
		if got := percentile(c.in, c.q); got != c.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(c.in), c.q, got, c.want)
		}
	}
}

// figures reads the printed request and error counts.
func figures(t *testing.T, out string) (requests, errors int) {
	t.Helper()
	r := regexp.MustCompile(`requests  (\d+) \(`).FindStringSubmatch(out)
	e := regexp.MustCompile(`errors    (\d+) `).FindStringSubmatch(out)
	if r == nil || e == nil || !strings.Contains(out, "p99") {
		t.Fatalf("output lacks the figures:\n%s", out)
	}
	requests, _ = strconv.Atoi(r[1])
	errors, _ = strconv.Atoi(e[1])
	return requests, errors
}

func TestScenarios(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	for _, args := range [][]string{
		{"-scenario", "me", "-clients", "4", "-duration", "500ms"},
		{"-scenario", "login", "-clients", "3", "-users", "5", "-duration", "500ms"},
		{"-scenario", "me", "-clients", "2", "-duration", "10s", "-requests", "25"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errs strings.Builder
			full := append([]string{"-url", s.URL, "-login", "admin", "-password", deadbolttest.AdminPassword}, args...)
			start := time.Now()
			code := run(context.Background(), full, &out, &errs)
			if code != 0 {
				t.Fatalf("run(%q) = %d\n%s%s", full, code, out.String(), errs.String())
			}
			n, e := figures(t, out.String())
			if n == 0 || e != 0 {
				t.Errorf("run(%q): %d requests, %d errors; want some requests and no errors\n%s", full, n, e, out.String())
			}
			if args[len(args)-2] == "-requests" && (n != 25 || time.Since(start) > 8*time.Second) {
				t.Errorf("run(%q) made %d requests in %v, want exactly 25, well before the duration", full, n, time.Since(start))
			}
		})
	}
	// The login scenario leaves its employees deactivated and none of
	// their sessions alive.
	admin := s.AdminToken(t)
	r := s.Do(t, "GET", "/api/v1/admin/users", admin, nil)
	var list struct {
		Users []struct {
			Login  string `json:"login"`
			Active bool   `json:"active"`
		} `json:"users"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatal(err)
	}
	loadUsers := 0
	for _, u := range list.Users {
		if strings.HasPrefix(u.Login, "load-") {
			loadUsers++
			if u.Active {
				t.Errorf("load employee %s is still active", u.Login)
			}
		}
	}
	if loadUsers != 5 {
		t.Errorf("found %d load employees, want the 5 created", loadUsers)
	}
}

// TestErrorsReported runs against a server that fails every third request:
// the failures must show in the figures and the exit status.
func TestErrorsReported(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/login":
			w.Write([]byte(`{"state":"authenticated","session_token":"t"}`))
		case "/api/v1/me":
			if n.Add(1)%3 == 0 {
				http.Error(w, `{"error":{"code":"internal"}}`, http.StatusInternalServerError)
				return
			}
			w.Write([]byte(`{}`))
		default:
			w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	var out, errs strings.Builder
	code := run(context.Background(), []string{"-url", srv.URL, "-password", "x", "-clients", "2", "-requests", "30"}, &out, &errs)
	if code != 1 {
		t.Errorf("run with failing requests = %d, want 1\n%s", code, out.String())
	}
	reqs, e := figures(t, out.String())
	if reqs != 30 || e != 10 || !strings.Contains(out.String(), "500×10") {
		t.Errorf("figures: %d requests, %d errors, want 30 and 10:\n%s", reqs, e, out.String())
	}

	// A refused sign-in stops the run before it starts.
	out.Reset()
	errs.Reset()
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	if code := run(context.Background(), []string{"-url", s.URL, "-password", "wrong-password"}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "401") {
		t.Errorf("run with a wrong password = %d, stderr %q; want 1 and the 401", code, errs.String())
	}
}

// TestSecondFactorScenario completes every prepared sign-in once, each
// with a code of its own, on each store; the server's development clock is
// moved first, so the devices' codes must follow it.
func TestSecondFactorScenario(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		s.Advance(t, 3*time.Hour)
		for _, c := range []struct {
			args     []string
			requests int
			left     int // unused recovery codes afterwards, over all the run's employees
		}{
			{[]string{"-clients", "3", "-users", "2", "-duration", "30s"}, 20, 0},
			{[]string{"-clients", "4", "-users", "3", "-requests", "7", "-duration", "30s"}, 7, 23},
		} {
			t.Run(strings.Join(c.args, " "), func(t *testing.T) {
				admin := s.AdminToken(t)
				before := loadUserIDs(t, s, admin)
				var out, errs strings.Builder
				full := append([]string{"-url", s.URL, "-password", deadbolttest.AdminPassword, "-scenario", "second-factor"}, c.args...)
				start := time.Now()
				if code := run(context.Background(), full, &out, &errs); code != 0 {
					t.Fatalf("run(%q) = %d\n%s%s", full, code, out.String(), errs.String())
				}
				n, e := figures(t, out.String())
				if n != c.requests || e != 0 || !strings.Contains(out.String(), fmt.Sprintf("200×%d", c.requests)) {
					t.Errorf("run(%q): %d requests, %d errors; want %d answered 200\n%s", full, n, e, c.requests, out.String())
				}
				if time.Since(start) > 25*time.Second {
					t.Errorf("run(%q) took %v: it should stop once the prepared sign-ins are used", full, time.Since(start))
				}
				for _, want := range []string{"password step is not measured", "prepared sign-ins were used before -duration ended"} {
					if !strings.Contains(out.String(), want) {
						t.Errorf("run(%q) output lacks %q:\n%s", full, want, out.String())
					}
				}
				left := 0
				for id := range loadUserIDs(t, s, admin) {
					if before[id] {
						continue
					}
					k, err := s.App.Store.CountRecoveryCodes(context.Background(), id)
					if err != nil {
						t.Fatal(err)
					}
					left += k
				}
				if left != c.left {
					t.Errorf("run(%q) left %d unused recovery codes, want %d", full, left, c.left)
				}
			})
		}
	})
}

// loadUserIDs returns the ids of the employees load runs created, and
// checks that none of them is still active.
func loadUserIDs(t *testing.T, s *deadbolttest.Server, admin string) map[string]bool {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/admin/users", admin, nil)
	var list struct {
		Users []struct {
			ID     string `json:"id"`
			Login  string `json:"login"`
			Active bool   `json:"active"`
		} `json:"users"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, u := range list.Users {
		if strings.HasPrefix(u.Login, "load-") {
			ids[u.ID] = true
			if u.Active {
				t.Errorf("load employee %s is still active", u.Login)
			}
		}
	}
	return ids
}

// TestForwardAuthScenario loads the forward-auth check of a server that
// trusts this machine as a proxy, with a bearer token and with the session
// cookie; the app it registers is gone at the end. A server that does not
// trust it is reported at once.
func TestForwardAuthScenario(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st,
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		for _, extra := range [][]string{nil, {"-session-cookie", "__Host-deadbolt_session"}} {
			var out, errs strings.Builder
			args := append([]string{"-url", s.URL, "-password", deadbolttest.AdminPassword, "-scenario", "forward-auth",
				"-clients", "3", "-requests", "60"}, extra...)
			if code := run(context.Background(), args, &out, &errs); code != 0 {
				t.Fatalf("run(%q) = %d\n%s%s", args, code, out.String(), errs.String())
			}
			if n, e := figures(t, out.String()); n != 60 || e != 0 || !strings.Contains(out.String(), "200×60") {
				t.Errorf("run(%q): %d requests, %d errors; want 60 answered 200\n%s", args, n, e, out.String())
			}
		}
		admin := s.AdminToken(t)
		if apps := s.Do(t, "GET", "/api/v1/admin/apps", admin, nil).JSON(t)["apps"].([]any); len(apps) != 0 {
			t.Errorf("the run left %d apps registered", len(apps))
		}
	})
	untrusting := deadbolttest.StartServer(t, deadbolttest.Options{})
	var out, errs strings.Builder
	args := []string{"-url", untrusting.URL, "-password", deadbolttest.AdminPassword, "-scenario", "forward-auth", "-requests", "10"}
	if code := run(context.Background(), args, &out, &errs); code != 1 || !strings.Contains(errs.String(), "--trusted-proxies") {
		t.Errorf("run against a server that does not trust this machine = %d, %q; want 1 and a hint", code, errs.String())
	}
}

// TestHealthzScenario needs no password.
func TestHealthzScenario(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	var out, errs strings.Builder
	args := []string{"-url", s.URL, "-scenario", "healthz", "-clients", "2", "-requests", "40"}
	if code := run(context.Background(), args, &out, &errs); code != 0 {
		t.Fatalf("run(%q) = %d\n%s%s", args, code, out.String(), errs.String())
	}
	if n, e := figures(t, out.String()); n != 40 || e != 0 {
		t.Errorf("run(%q): %d requests, %d errors\n%s", args, n, e, out.String())
	}
}

// TestOIDCScenarios runs the OpenID Connect scenarios briefly: whole
// sign-ins and refresh grants, without errors, and the application is
// gone afterwards.
func TestOIDCScenarios(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	for _, args := range [][]string{
		{"-scenario", "oidc-signin", "-clients", "3", "-duration", "700ms"},
		{"-scenario", "oidc-token", "-clients", "3", "-duration", "700ms"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errs strings.Builder
			full := append([]string{"-url", s.URL, "-login", "admin", "-password", deadbolttest.AdminPassword}, args...)
			if code := run(context.Background(), full, &out, &errs); code != 0 {
				t.Fatalf("run(%q) = %d\n%s%s", full, code, out.String(), errs.String())
			}
			if n, e := figures(t, out.String()); n == 0 || e != 0 {
				t.Errorf("run(%q): %d requests, %d errors\n%s", full, n, e, out.String())
			}
		})
	}
	r := s.Do(t, "GET", "/api/v1/admin/apps", s.AdminToken(t), nil)
	if !strings.Contains(string(r.Body), `"apps":[]`) {
		t.Errorf("after the runs the applications are %s, want none", r.Body)
	}
}
