package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"deadbolt/internal/deadbolttest"
)

func TestPushFlags(t *testing.T) {
	ok := []string{"-password", "x", "-scenario", "push"}
	cases := []struct {
		name string
		args []string
		want string // substring of the error, "" for none
	}{
		{"defaults", ok, ""},
		{"all set", append([]string{"-pending", "1000", "-rounds", "4", "-probes", "0", "-device", "sse", "-server-pid", "1"}, ok...), ""},
		{"no rounds", append([]string{"-rounds", "0"}, ok...), ""},
		{"zero pending", append([]string{"-pending", "0"}, ok...), "-pending"},
		{"too many pending", append([]string{"-pending", "2001"}, ok...), "-pending"},
		{"too many rounds", append([]string{"-rounds", "5"}, ok...), "-rounds"},
		{"negative rounds", append([]string{"-rounds", "-1"}, ok...), "-rounds"},
		{"too many probes", append([]string{"-probes", "1001"}, ok...), "-probes"},
		{"device", append([]string{"-device", "carrier-pigeon"}, ok...), "-device"},
		{"negative pid", append([]string{"-server-pid", "-3"}, ok...), "-server-pid"},
		{"remote", append([]string{"-url", "http://192.0.2.1:8080"}, ok...), "loopback"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseFlags(c.args, &strings.Builder{})
			switch {
			case c.want == "" && err != nil:
				t.Errorf("parseFlags(%q) = %v, want no error", c.args, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("parseFlags(%q) = %v, want an error about %q", c.args, err, c.want)
			}
		})
	}
	c, err := parseFlags(append([]string{"-pending", "7", "-device", "sse"}, ok...), &strings.Builder{})
	if err != nil || c.pending != 7 || c.device != "sse" || c.rounds != 1 {
		t.Errorf("parseFlags: pending %d, device %q, rounds %d, %v; want 7, sse, 1", c.pending, c.device, c.rounds, err)
	}
}

func TestParseVmRSS(t *testing.T) {
	cases := []struct {
		in   string
		want int64 // -1 for an error
	}{
		{"Name:\tdeadbolt\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n", 12345 * 1024},
		{"VmRSS: 1 kB", 1024},
		{"VmRSS:\t0 kB\n", 0},
		{"Name:\tdeadbolt\n", -1},
		{"VmRSS:\t12 MB\n", -1},
		{"VmRSS:\t-5 kB\n", -1},
		{"VmRSS:\tlots kB\n", -1},
		{"VmRSS:\n", -1},
		{"", -1},
	}
	for _, c := range cases {
		got, err := parseVmRSS([]byte(c.in))
		switch {
		case c.want < 0 && err == nil:
			t.Errorf("parseVmRSS(%q) = %d, want an error", c.in, got)
		case c.want >= 0 && (err != nil || got != c.want):
			t.Errorf("parseVmRSS(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	rss, err := readRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("readRSS(own pid) = %d, %v; want a positive size", rss, err)
	}
}

func TestParseMetric(t *testing.T) {
	text := []byte("# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 42\n" +
		"go_memstats_heap_inuse_bytes 1.2345e+07\ngo_goroutines_total{x=\"y\"} 9\n")
	cases := []struct {
		name string
		want int64
		ok   bool
	}{
		{"go_goroutines", 42, true},
		{"go_memstats_heap_inuse_bytes", 12345000, true},
		{"go_gc_duration_seconds", 0, false},
		{"go_goroutines_total", 0, false},
	}
	for _, c := range cases {
		if got, ok := parseMetric(text, c.name); got != c.want || ok != c.ok {
			t.Errorf("parseMetric(%q) = %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// pushFigure reads a count from the push scenario's output.
func pushFigure(t *testing.T, out, pattern string) int {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output lacks %q:\n%s", pattern, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestPushScenario runs the push scenario against a real server with each
// way for devices to wait, and checks every sign-in completed, the memory
// was read and the employees were deactivated.
func TestPushScenario(t *testing.T) {
	runs := []struct {
		store  deadbolttest.Store
		device string
	}{
		{deadbolttest.SQLite, "poll"},
		{deadbolttest.SQLite, "sse"},
		{deadbolttest.Postgres, "poll"},
	}
	for _, r := range runs {
		t.Run(r.store.String()+"/"+r.device, func(t *testing.T) {
			s := deadbolttest.StartServer(t, deadbolttest.Options{Store: r.store})
			args := []string{"-url", s.URL, "-password", deadbolttest.AdminPassword, "-scenario", "push",
				"-pending", "3", "-rounds", "2", "-probes", "6", "-device", r.device,
				// The test server runs in this process.
				"-server-pid", strconv.Itoa(os.Getpid())}
			var out, errs strings.Builder
			if code := run(context.Background(), args, &out, &errs); code != 0 {
				t.Fatalf("run(%q) = %d\n%s%s", args, code, out.String(), errs.String())
			}
			o := out.String()
			if n := pushFigure(t, o, `burst +(\d+) sign-ins`); n != 6 {
				t.Errorf("burst completed %d sign-ins, want 2 rounds of 3:\n%s", n, o)
			}
			if n := pushFigure(t, o, `pending +(\d+) probe sign-ins`); n != 6 {
				t.Errorf("%d probe sign-ins completed, want 6:\n%s", n, o)
			}
			if n := pushFigure(t, o, `release +(\d+) waiting`); n != 3 {
				t.Errorf("%d waiting sign-ins released, want 3:\n%s", n, o)
			}
			if n := pushFigure(t, o, `errors +(\d+)`); n != 0 {
				t.Errorf("%d errors, want none:\n%s", n, o)
			}
			for _, want := range []string{"round trip   p50 ", "rss       idle ", "heap      idle ", "per waiting sign-in"} {
				if !strings.Contains(o, want) {
					t.Errorf("output lacks %q:\n%s", want, o)
				}
			}

			// 3 pending employees and 2 for the probes, all deactivated.
			resp := s.Do(t, "GET", "/api/v1/admin/users", s.AdminToken(t), nil)
			var list struct {
				Users []struct {
					Login  string `json:"login"`
					Active bool   `json:"active"`
				} `json:"users"`
			}
			if err := json.Unmarshal(resp.Body, &list); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, u := range list.Users {
				if strings.HasPrefix(u.Login, "load-") {
					n++
					if u.Active {
						t.Errorf("load employee %s is still active", u.Login)
					}
				}
			}
			if n != 5 {
				t.Errorf("found %d load employees, want 5", n)
			}
		})
	}
}
