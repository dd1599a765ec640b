// Command deadbolt-load puts a running Deadbolt server on this machine
// under load and reports throughput, latency percentiles and errors.
//
//	deadbolt-load -url http://127.0.0.1:8080 -login admin -password X \
//	    -scenario me|login|second-factor|forward-auth|healthz -clients 32 -duration 10s \
//	    [-users N] [-requests N] [-rate N]
//
// Scenario "me" signs in once and then has every client fetch
// GET /api/v1/me with the bearer token in a loop. Scenario "login" first
// creates -users employees through the administration API (so no single
// account takes every attempt), then has every client sign in with
// POST /api/v1/login in a loop; the employees are deactivated at the end,
// which also ends the sessions the run created.
//
// Scenario "forward-auth" measures the check a reverse proxy sends before
// every request to a protected app. It registers a proxy app for a made-up
// host (load-TAG.example.invalid, open to every employee; -login must be an
// administrator), then has every client send GET /api/v1/authz/forward-auth
// with the X-Forwarded-Method, -Proto, -Host and -Uri of a request for that
// host and the session token as a bearer token (-session-cookie NAME sends
// it as that cookie instead); the app is deleted and the session ended at
// the end. The server must trust this machine as a proxy
// (--trusted-proxies 127.0.0.1), or every check answers 403. To load
// another forward-auth service with the same client, give -cookie
// NAME=VALUE (a session of that service), -check-path and -forward-url:
// then nothing is set up and no password is needed.
//
// Scenario "healthz" sends GET /healthz in a loop: the floor of what any
// request costs, for comparison.
//
// Scenario "second-factor" measures the second step of a sign-in with its
// durable single-use write. It first enrols employees through the API
// (create, sign in, pair a device, confirm it with the device's code,
// generate 10 recovery codes) and opens one pending sign-in (a correct
// password) per code it will use; then every client sends
// POST /api/v1/login/second-factor with a recovery code, each request on a
// pending sign-in of its own with an unused code, so each one consumes a
// code and replaces the pending session with a full one. The password step
// is not measured; run the server with cheap hashing (--hash-memory 64
// --hash-time 1) to keep the setup short. Unless -users is given, the run
// prepares -rate × -duration sign-ins (at most -requests), 10 per
// employee; when they are used up before -duration ends, the run stops
// there. The employees are deactivated at the end.
//
//	deadbolt-load -url http://127.0.0.1:8080 -login admin -password X \
//	    -scenario push -pending 1000 [-rounds 1] [-probes 100] \
//	    [-device poll|sse] [-server-pid PID]
//
// Scenario "push" times sign-ins approved on a paired device, from the
// password to the browser holding its full session. It creates -pending
// employees (and one more per five -probes), pairs a device with each
// through the API and connects every device the way the companion app
// does (-device poll: GET /api/v1/device/requests?wait=25; sse:
// GET /api/v1/device/events). Then, -rounds times, all -pending employees
// sign in at once: POST /api/v1/login, the browser waits on
// GET /api/v1/login/push/{id}?wait=25, the device receives the request and
// approves it with the number, and the browser gets the session. Then they
// all sign in once more but the devices hold their answers: while those
// sign-ins wait, the server's memory is read (VmRSS of -server-pid from
// /proc, the Go heap and goroutines from /metrics when it answers) and
// -probes sign-ins are timed one at a time; at last every waiting sign-in
// is approved at once. The server sends an employee at most 5 push
// requests per 15 minutes, which bounds -rounds to 4. Run the server with
// cheap password hashing (--hash-memory 64 --hash-time 1) so that the
// figures are those of the push path, not of argon2id. The employees are
// deactivated at the end.
//
// Scenarios "oidc-signin" (whole authorization-code sign-ins, end to end)
// and "oidc-token" (refresh-token grants at the token endpoint) are
// described in oidc.go.
//
// The run is bounded: by -duration, by -requests, and by the limits on
// -clients and -users. Only loopback targets are accepted. Every answer
// other than 2xx counts as an error and is reported, with its status; the
// exit status is 1 when there were any.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Bounds on the settings.
const (
	maxClients  = 1024
	maxUsers    = 10000
	maxDuration = 10 * time.Minute
	maxRequests = 10_000_000
	maxRate     = 100_000
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is a validated set of flags.
type config struct {
	base     *url.URL
	login    string
	password string
	scenario string
	clients  int
	duration time.Duration
	users    int
	requests int64
	timeout  time.Duration
	// rate is the expected number of second-factor verifications per
	// second; it sizes what -scenario second-factor prepares.
	rate int
	// signins is how many pending sign-ins -scenario second-factor
	// prepares (and so the most requests it sends).
	signins int64

	// Scenario forward-auth: the check's path, the original request it
	// asks about, how the session is sent, and a peer's cookie (no setup).
	checkPath     string
	forwardURL    *url.URL
	sessionCookie string
	peerCookie    *http.Cookie
	rawForwardURL string
	rawPeerCookie string

	// Scenario push: sign-ins pending at once, rounds of them approved at
	// once, sign-ins timed one at a time while they wait, how devices wait
	// ("poll" or "sse"), and the server's process id (0: none).
	pending   int
	rounds    int
	probes    int
	device    string
	serverPID int
}

// parseFlags reads and checks the flags; it refuses targets off this
// machine and settings beyond the bounds.
func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("deadbolt-load", flag.ContinueOnError)
	fs.SetOutput(out)
	rawURL := fs.String("url", "http://127.0.0.1:8080", "address of the server (loopback only)")
	fs.StringVar(&c.login, "login", "admin", "login to sign in with (an administrator for -scenario login)")
	fs.StringVar(&c.password, "password", "", "password of -login")
	fs.StringVar(&c.scenario, "scenario", "me", "me, login, second-factor, push, forward-auth, healthz, oidc-signin or oidc-token")
	fs.IntVar(&c.clients, "clients", 32, fmt.Sprintf("concurrent clients, 1 to %d", maxClients))
	fs.DurationVar(&c.duration, "duration", 10*time.Second, fmt.Sprintf("length of the run, up to %v", maxDuration))
	fs.IntVar(&c.users, "users", 0, fmt.Sprintf("employees to create for -scenario login or second-factor, 1 to %d (default: -clients for login; for second-factor enough for -rate × -duration at %d codes each)", maxUsers, codesPerUser))
	fs.Int64Var(&c.requests, "requests", 1_000_000, fmt.Sprintf("stop after this many requests, up to %d", maxRequests))
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.IntVar(&c.rate, "rate", 1500, fmt.Sprintf("expected verifications per second, 1 to %d: sizes what -scenario second-factor prepares", maxRate))
	pushFlags(fs, &c)
	forwardFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("-url %q is not an http(s) address", *rawURL)
	}
	if !loopback(u.Hostname()) {
		return c, fmt.Errorf("-url %q: only loopback hosts (127.0.0.0/8, ::1, localhost) may be loaded", *rawURL)
	}
	u.Path, u.RawQuery, u.Fragment = strings.TrimSuffix(u.Path, "/"), "", ""
	c.base = u
	// Before the checks below: whether the run signs in depends on them.
	if err := checkForwardFlags(&c); err != nil {
		return c, err
	}
	switch {
	case c.scenario != "me" && c.scenario != "login" && c.scenario != "second-factor" && c.scenario != "push" &&
		c.scenario != "forward-auth" && c.scenario != "healthz" && c.scenario != "oidc-signin" && c.scenario != "oidc-token":
		return c, fmt.Errorf("-scenario %q is not me, login, second-factor, push, forward-auth, healthz, oidc-signin or oidc-token", c.scenario)
	case c.password == "" && signsIn(c):
		return c, errors.New("-password is required")
	case c.clients < 1 || c.clients > maxClients:
		return c, fmt.Errorf("-clients %d is not between 1 and %d", c.clients, maxClients)
	case c.duration <= 0 || c.duration > maxDuration:
		return c, fmt.Errorf("-duration %v is not between 0 and %v", c.duration, maxDuration)
	case c.requests < 1 || c.requests > maxRequests:
		return c, fmt.Errorf("-requests %d is not between 1 and %d", c.requests, maxRequests)
	case c.timeout <= 0 || c.timeout > time.Minute:
		return c, fmt.Errorf("-timeout %v is not between 0 and 1m", c.timeout)
	case c.rate < 1 || c.rate > maxRate:
		return c, fmt.Errorf("-rate %d is not between 1 and %d", c.rate, maxRate)
	}
	if err := checkPushFlags(c); err != nil {
		return c, err
	}
	want := c.requests // second-factor sign-ins to prepare, at most
	switch {
	case c.users != 0:
	case c.scenario == "second-factor":
		want = min(c.requests, int64(math.Ceil(float64(c.rate)*c.duration.Seconds())))
		n := (want + codesPerUser - 1) / codesPerUser
		if n > maxUsers {
			return c, fmt.Errorf("-rate %d for %v needs %d employees (%d sign-ins each), more than %d: lower -rate, -duration or -requests",
				c.rate, c.duration, n, codesPerUser, maxUsers)
		}
		c.users = int(n)
	default:
		c.users = c.clients
	}
	if c.users < 1 || c.users > maxUsers {
		return c, fmt.Errorf("-users %d is not between 1 and %d", c.users, maxUsers)
	}
	if c.scenario == "second-factor" {
		c.signins = min(want, int64(c.users)*codesPerUser)
	}
	return c, nil
}

// loopback reports whether host names this machine: "localhost" or a
// loopback address. Other names are refused rather than resolved.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "deadbolt-load:", err)
		return 2
	}
	if c.scenario == "push" {
		return runPush(ctx, c, stdout, stderr)
	}
	res, err := load(ctx, c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "deadbolt-load:", err)
		return 1
	}
	res.print(stdout, c)
	if res.errors() > 0 {
		return 1
	}
	return 0
}

// client talks to the server.
type client struct {
	base string
	http *http.Client
}

func newClient(c config) *client {
	conns := max(c.clients, setupWorkers(c))
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{base: c.base.String(), http: &http.Client{
		Transport: tr,
		Timeout:   c.timeout,
		// Redirects would hide what the server answered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends one request and reads the whole answer, so the connection is
// reused.
func (cl *client) do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, cl.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", "deadbolt-load")
	resp, err := cl.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, b, nil
}

// passwordStep runs POST /api/v1/login and returns the state it reached
// and the token of the session it opened.
func (cl *client) passwordStep(ctx context.Context, login, pw string) (state, token string, err error) {
	body, _ := json.Marshal(map[string]string{"login": login, "password": pw})
	status, b, err := cl.do(ctx, "POST", "/api/v1/login", "", body)
	if err != nil {
		return "", "", fmt.Errorf("sign in as %s: %w", login, err)
	}
	var m struct {
		State string `json:"state"`
		Token string `json:"session_token"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(b, &m)
	if status != http.StatusOK {
		return "", "", fmt.Errorf("sign in as %s: HTTP %d %s", login, status, m.Error.Code)
	}
	if m.Token == "" {
		return "", "", fmt.Errorf("sign in as %s: no session token in the answer", login)
	}
	return m.State, m.Token, nil
}

// signIn returns the session token of a full sign-in.
func (cl *client) signIn(ctx context.Context, login, pw string) (string, error) {
	state, tok, err := cl.passwordStep(ctx, login, pw)
	if err != nil {
		return "", err
	}
	if state != "authenticated" {
		return "", fmt.Errorf("sign in as %s: state %q; only accounts without a second factor can be used", login, state)
	}
	return tok, nil
}

// loadUser is an employee the login scenario signs in as.
type loadUser struct {
	id, login, password string
}

// setupWorkers is how many requests setup and cleanup send at once.
func setupWorkers(c config) int { return min(max(c.clients, 8), 32) }

// forEach calls fn for 0 … n-1 from up to workers goroutines. It hands out
// no more work after the first error, which it returns, or once ctx ends.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(workers, n) {
		wg.Go(func() {
			for stop.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// createUsers creates n employees with random passwords, workers at a
// time. On error it also returns the employees created so far (those
// with an id).
func (cl *client) createUsers(ctx context.Context, admin string, n, workers int, progress io.Writer) ([]loadUser, error) {
	var tag [4]byte
	rand.Read(tag[:])
	prefix := "load-" + hex.EncodeToString(tag[:])
	users := make([]loadUser, n)
	err := forEach(ctx, n, workers, func(i int) error {
		var pw [12]byte
		rand.Read(pw[:])
		u := loadUser{login: fmt.Sprintf("%s-%d", prefix, i), password: hex.EncodeToString(pw[:])}
		body, _ := json.Marshal(map[string]any{"login": u.login, "name": fmt.Sprintf("Load test %d", i), "password": u.password})
		status, b, err := cl.do(ctx, "POST", "/api/v1/admin/users", admin, body)
		if err != nil {
			return fmt.Errorf("create %s: %w", u.login, err)
		}
		if status != http.StatusCreated {
			return fmt.Errorf("create %s: HTTP %d %s", u.login, status, bytes.TrimSpace(b))
		}
		var m struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &m); err != nil || m.ID == "" {
			return fmt.Errorf("create %s: no id in %s", u.login, b)
		}
		u.id = m.ID
		users[i] = u
		return nil
	})
	if err != nil {
		return users, err
	}
	fmt.Fprintf(progress, "created %d employees %s-0…%d\n", n, prefix, n-1)
	return users, nil
}

// deactivateUsers deactivates the load employees that were created,
// workers at a time, ending their sessions.
func (cl *client) deactivateUsers(ctx context.Context, admin string, users []loadUser, workers int) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	forEach(ctx, len(users), workers, func(i int) error {
		u := users[i]
		if u.id == "" {
			return nil
		}
		status, _, err := cl.do(ctx, "POST", "/api/v1/admin/users/"+u.id+"/deactivate", admin, nil)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("HTTP %d", status)
		}
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("deactivate %s: %w", u.login, err))
			mu.Unlock()
		}
		return nil
	})
	return errors.Join(errs...)
}

// result is what the clients measured.
type result struct {
	elapsed   time.Duration
	latencies []time.Duration // of answered requests, any status
	statuses  map[int]int64
	transport int64 // requests that got no answer
	firstErr  string
	notes     []string // what the scenario wants said beside the figures
}

func (r *result) requests() int64 { return int64(len(r.latencies)) + r.transport }

// errors counts non-2xx answers and requests without an answer.
func (r *result) errors() int64 {
	n := r.transport
	for s, k := range r.statuses {
		if s < 200 || s > 299 {
			n += k
		}
	}
	return n
}

// load runs the scenario.
func load(ctx context.Context, c config, progress io.Writer) (*result, error) {
	cl := newClient(c)
	defer cl.http.CloseIdleConnections()
	setup, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var token string
	if signsIn(c) {
		var err error
		if token, err = cl.signIn(setup, c.login, c.password); err != nil {
			return nil, err
		}
	}

	var step func(ctx context.Context, client, i int) (int, error)
	var cleanup func() error
	var finish func(*result)
	rc := c
	switch c.scenario {
	case "me":
		step = func(ctx context.Context, _, _ int) (int, error) {
			status, _, err := cl.do(ctx, "GET", "/api/v1/me", token, nil)
			return status, err
		}
		cleanup = func() error {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			status, _, err := cl.do(cctx, "POST", "/api/v1/logout", token, nil)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("logout: HTTP %d", status)
			}
			return err
		}
	case "login":
		users, err := cl.createUsers(setup, token, c.users, setupWorkers(c), progress)
		cleanup = func() error {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			return cl.deactivateUsers(cctx, token, users, setupWorkers(c))
		}
		if err != nil {
			if cerr := cleanup(); cerr != nil {
				err = errors.Join(err, cerr)
			}
			return nil, err
		}
		bodies := make([][]byte, len(users))
		for i, u := range users {
			bodies[i], _ = json.Marshal(map[string]string{"login": u.login, "password": u.password})
		}
		step = func(ctx context.Context, client, i int) (int, error) {
			body := bodies[(client+i*c.clients)%len(bodies)]
			status, _, err := cl.do(ctx, "POST", "/api/v1/login", "", body)
			return status, err
		}
	case "healthz":
		step = func(ctx context.Context, _, _ int) (int, error) {
			status, _, err := cl.do(ctx, "GET", "/healthz", "", nil)
			return status, err
		}
	case "forward-auth":
		fa, err := prepareForwardAuth(setup, cl, c, token, progress)
		if err != nil {
			return nil, err
		}
		step, cleanup = fa.step, func() error {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			return fa.cleanup(cctx)
		}
	case "second-factor":
		sf, err := prepareSecondFactor(setup, cl, c, token, progress)
		cleanup = func() error {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			return cl.deactivateUsers(cctx, token, sf.users, setupWorkers(c))
		}
		if err != nil {
			if cerr := cleanup(); cerr != nil {
				err = errors.Join(err, cerr)
			}
			return nil, err
		}
		step, finish = sf.step, sf.finish
		// Each prepared sign-in is used once: they bound the run.
		rc.requests = int64(len(sf.signins))
	case "oidc-signin", "oidc-token":
		or, err := prepareOIDC(setup, cl, c, token, progress)
		cleanup = func() error {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			return or.cleanup(cctx)
		}
		if err != nil {
			if cerr := cleanup(); cerr != nil {
				err = errors.Join(err, cerr)
			}
			return nil, err
		}
		step = or.step
	}

	res := runClients(ctx, rc, step)
	if finish != nil {
		finish(res)
	}
	if cleanup != nil {
		if err := cleanup(); err != nil {
			fmt.Fprintln(progress, "deadbolt-load: cleanup:", err)
		}
	}
	return res, nil
}

// runClients runs c.clients loops of step until the duration ends, the
// request budget is spent or ctx ends. A request in flight at the end is
// let finish (each is bounded by the client timeout) and counted.
func runClients(ctx context.Context, c config, step func(ctx context.Context, client, i int) (int, error)) *result {
	var (
		budget = c.requests
		taken  atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		res    = &result{statuses: map[int]int64{}}
	)
	start := time.Now()
	deadline := start.Add(c.duration)
	reqCtx := context.WithoutCancel(ctx)
	for n := range c.clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			statuses := map[int]int64{}
			var transport int64
			var firstErr string
			for i := 0; ; i++ {
				if ctx.Err() != nil || !time.Now().Before(deadline) || taken.Add(1) > budget {
					break
				}
				t0 := time.Now()
				status, err := step(reqCtx, n, i)
				d := time.Since(t0)
				if err != nil {
					transport++
					if firstErr == "" {
						firstErr = err.Error()
					}
					// A refused connection fails at once; do not spin.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				lat = append(lat, d)
				statuses[status]++
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			for s, k := range statuses {
				res.statuses[s] += k
			}
			res.transport += transport
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

// percentile returns the q-quantile (0 < q ≤ 1) of sorted durations by the
// nearest-rank method, 0 for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r *result) print(w io.Writer, c config) {
	n := r.requests()
	rate := 0.0
	if r.elapsed > 0 {
		rate = float64(n) / r.elapsed.Seconds()
	}
	fmt.Fprintf(w, "scenario %s: %d clients for %v against %s\n", c.scenario, c.clients, r.elapsed.Round(time.Millisecond), c.base)
	for _, n := range r.notes {
		fmt.Fprintf(w, "note      %s\n", n)
	}
	fmt.Fprintf(w, "requests  %d (%.1f/s)\n", n, rate)
	fmt.Fprintf(w, "latency   p50 %v  p90 %v  p99 %v  max %v\n",
		round(percentile(r.latencies, .50)), round(percentile(r.latencies, .90)),
		round(percentile(r.latencies, .99)), round(percentile(r.latencies, 1)))
	var codes []int
	for s := range r.statuses {
		codes = append(codes, s)
	}
	sort.Ints(codes)
	var parts []string
	for _, s := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", s, r.statuses[s]))
	}
	if r.transport > 0 {
		parts = append(parts, fmt.Sprintf("no answer×%d", r.transport))
	}
	fmt.Fprintf(w, "statuses  %s\n", strings.Join(parts, "  "))
	fmt.Fprintf(w, "errors    %d (non-2xx answers and requests without an answer)\n", r.errors())
	if r.firstErr != "" {
		fmt.Fprintf(w, "first transport error: %s\n", r.firstErr)
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
