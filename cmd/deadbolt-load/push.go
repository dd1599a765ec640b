package main

// The push scenario: sign-ins approved on a paired device, timed from the
// password to the browser's full session, with many sign-ins waiting at
// once; and the server's memory per waiting sign-in.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"deadbolt/internal/deviceclient"
)

// Bounds and fixed settings of the push scenario.
const (
	maxPending = 2000
	maxProbes  = 1000
	// pushesPerUser is how many push requests the server sends an
	// employee per 15 minutes (SPEC §4): each employee takes part in at
	// most this many sign-ins of one run.
	pushesPerUser = 5
	// maxRounds leaves every pending employee one push for the hold phase.
	maxRounds = pushesPerUser - 1
	// longPoll is the wait the browser and the device ask the server for.
	longPoll = 25 * time.Second
	// maxHold bounds the hold phase, well inside a request's 2 minutes.
	maxHold = 90 * time.Second
	// signInTimeout bounds one sign-in, from the password to the session,
	// a hold included.
	signInTimeout = maxHold + 15*time.Second
	// settle lets the server park its waiters before memory is read.
	settle = 2 * time.Second
)

// pushUser is a load employee with a paired device.
type pushUser struct {
	loadUser
	dev   *deviceclient.State
	phone *phone
}

// newPushClient returns the HTTP side of the push scenario: without an
// overall timeout, since long polls and event streams last, so every call
// carries a deadline of its own.
func newPushClient(c config) *client {
	conns := 4*c.pending + c.clients + 64
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: c.base.String(), http: &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// callJSON sends one JSON request within timeout and decodes a 2xx answer into
// out; another status is an error naming it and the error code.
func (cl *client) callJSON(ctx context.Context, timeout time.Duration, method, path, token string, body, out any, want int) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	status, ans, err := cl.do(ctx, method, path, token, b)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		var env struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal(ans, &env)
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, status, env.Error.Code)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ans, out); err != nil {
		return fmt.Errorf("%s %s: answer is not JSON: %w", method, path, err)
	}
	return nil
}

// pairUser signs the new employee in, pairs a device with it through the
// API and confirms the pairing, which turns two-factor on.
func (cl *client) pairUser(ctx context.Context, c config, u *pushUser, now func() time.Time) error {
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	token, err := cl.signIn(sctx, u.login, u.password)
	cancel()
	if err != nil {
		return err
	}
	defer cl.callJSON(context.WithoutCancel(ctx), c.timeout, "POST", "/api/v1/logout", token, nil, nil, http.StatusOK)
	var offer struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if err := cl.callJSON(ctx, c.timeout, "POST", "/api/v1/me/device/pairing", token, nil, &offer, http.StatusCreated); err != nil {
		return fmt.Errorf("%s: %w", u.login, err)
	}
	// The server's public URL may differ from the address loaded; the
	// pairing URL is built on the latter.
	pctx, cancel := context.WithTimeout(ctx, c.timeout)
	dev, err := deviceclient.Pair(pctx, cl.http, cl.base+"/app/pair#"+offer.Token, "Load test device")
	cancel()
	if err != nil {
		return fmt.Errorf("%s: pair: %w", u.login, err)
	}
	code, err := dev.Code(now())
	if err != nil {
		return err
	}
	if err := cl.callJSON(ctx, c.timeout, "POST", "/api/v1/me/device/pairing/"+url.PathEscape(offer.ID)+"/confirm", token,
		map[string]string{"code": code}, nil, http.StatusOK); err != nil {
		return fmt.Errorf("%s: %w", u.login, err)
	}
	u.dev = dev
	return nil
}

// setupPushUsers creates n employees, each with a paired device, with
// setupWorkers(c) requests at a time. On error it also returns the
// employees created so far, for cleanup.
func (cl *client) setupPushUsers(ctx context.Context, c config, admin string, n int, progress io.Writer) ([]*pushUser, []loadUser, error) {
	created, err := cl.createUsers(ctx, admin, n, setupWorkers(c), progress)
	if err != nil {
		return nil, created, err
	}
	now, err := cl.serverClock(ctx)
	if err != nil {
		return nil, created, err
	}
	start := time.Now()
	users := make([]*pushUser, len(created))
	err = forEach(ctx, len(created), setupWorkers(c), func(i int) error {
		users[i] = &pushUser{loadUser: created[i]}
		return cl.pairUser(ctx, c, users[i], now)
	})
	if err != nil {
		return nil, created, err
	}
	fmt.Fprintf(progress, "paired a device with each in %v\n", time.Since(start).Round(time.Millisecond))
	return users, created, nil
}

// phone is a device waiting for sign-in requests, as the companion app
// does: on a long poll, or on the event stream. Each new request's id goes
// to inbox once.
type phone struct {
	dev   *deviceclient.State
	inbox chan string
	kick  chan struct{} // after a decision: the long poll may look again
	seen  map[string]bool
}

func newPhone(dev *deviceclient.State) *phone {
	return &phone{dev: dev, inbox: make(chan string, 16), kick: make(chan struct{}, 1), seen: map[string]bool{}}
}

// deliver passes on the requests not seen before and reports whether there
// were any.
func (p *phone) deliver(ctx context.Context, ids []string) bool {
	fresh := false
	for _, id := range ids {
		if p.seen[id] {
			continue
		}
		p.seen[id] = true
		fresh = true
		select {
		case p.inbox <- id:
		case <-ctx.Done():
			return fresh
		}
	}
	return fresh
}

// run receives requests until ctx ends. Failures are retried after a pause
// and counted in fails.
func (p *phone) run(ctx context.Context, cl *client, mode string, fails *pushFailures) {
	for ctx.Err() == nil {
		var err error
		if mode == "sse" {
			err = p.stream(ctx, cl)
		} else {
			err = p.poll(ctx, cl)
		}
		if err != nil && ctx.Err() == nil {
			fails.add("device", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// poll is one long poll. The server answers at once while a request is
// pending, so when nothing is new it waits for this phone's next decision
// instead of asking again.
func (p *phone) poll(ctx context.Context, cl *client) error {
	pctx, cancel := context.WithTimeout(ctx, longPoll+10*time.Second)
	list, err := p.dev.Requests(pctx, cl.http, longPoll)
	cancel()
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(list))
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if !p.deliver(ctx, ids) && len(ids) > 0 {
		select {
		case <-p.kick:
		case <-ctx.Done():
		}
	}
	return nil
}

// stream reads the device's event stream until it ends.
func (p *phone) stream(ctx context.Context, cl *client) error {
	req, err := http.NewRequestWithContext(ctx, "GET", cl.base+"/api/v1/device/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+p.dev.DeviceToken)
	resp, err := cl.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/device/events: HTTP %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "request" {
				var r struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal([]byte(data), &r); err != nil || r.ID == "" {
					return fmt.Errorf("event stream: bad request event %q", data)
				}
				p.deliver(ctx, []string{r.ID})
			}
			if event == "disconnected" {
				return errors.New("event stream: device disconnected")
			}
			event, data = "", ""
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// pushFailures counts errors by stage and keeps the first of each.
type pushFailures struct {
	mu    sync.Mutex
	n     map[string]int
	first map[string]string
}

func (f *pushFailures) add(stage string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n, f.first = map[string]int{}, map[string]string{}
	}
	f.n[stage]++
	if _, ok := f.first[stage]; !ok {
		f.first[stage] = err.Error()
	}
}

func (f *pushFailures) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range f.n {
		n += k
	}
	return n
}

// pushTrip is the timeline of one sign-in.
type pushTrip struct {
	sent     time.Time // POST /login sent
	accepted time.Time // its answer: password accepted, number shown
	received time.Time // the device has the request
	decide   time.Time // the device sends its approval
	session  time.Time // the browser has its full session
}

// pushSignIn signs u in with a push approval. The browser waits on the long
// poll; the device approves as soon as the request arrives, or, when
// release is not nil, once release is closed. onReceived, if set, is
// called when the device has the request.
func (cl *client) pushSignIn(ctx context.Context, u *pushUser, release <-chan struct{}, onReceived func()) (pushTrip, error) {
	var t pushTrip
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	var login struct {
		State string `json:"state"`
		Token string `json:"session_token"`
		Push  *struct {
			ID     string `json:"id"`
			Number int    `json:"number"`
			Digits int    `json:"digits"`
		} `json:"push"`
		Unavailable string `json:"push_unavailable"`
	}
	t.sent = time.Now()
	if err := cl.callJSON(ctx, signInTimeout, "POST", "/api/v1/login", "", map[string]string{"login": u.login, "password": u.password}, &login, http.StatusOK); err != nil {
		return t, err
	}
	t.accepted = time.Now()
	if login.State != "second_factor" || login.Push == nil {
		return t, fmt.Errorf("sign in as %s: state %q, no push request (push_unavailable %q)", u.login, login.State, login.Unavailable)
	}
	id, number := login.Push.ID, login.Push.Number
	if login.Push.Digits < 6 || len(strconv.Itoa(number)) != login.Push.Digits {
		return t, fmt.Errorf("sign in as %s: push number %d does not have the %d digits announced (at least 6)", u.login, number, login.Push.Digits)
	}

	// The browser waits for the approval.
	type outcome struct {
		at  time.Time
		err error
	}
	browser := make(chan outcome, 1)
	go func() {
		for {
			var st struct {
				Status string `json:"status"`
				Token  string `json:"session_token"`
			}
			err := cl.callJSON(ctx, longPoll+10*time.Second, "GET", "/api/v1/login/push/"+url.PathEscape(id)+"?wait="+strconv.Itoa(int(longPoll/time.Second)), login.Token, nil, &st, http.StatusOK)
			switch {
			case err != nil:
				browser <- outcome{err: err}
			case st.Status == "pending":
				continue
			case st.Status != "approved" || st.Token == "":
				browser <- outcome{err: fmt.Errorf("push %s ended %q", id, st.Status)}
			default:
				browser <- outcome{at: time.Now()}
			}
			return
		}
	}()

	// The device receives it and approves with the number.
	for got := ""; got != id; {
		select {
		case got = <-u.phone.inbox:
		case o := <-browser:
			if o.err == nil {
				o.err = errors.New("the browser finished before the device saw the request")
			}
			return t, o.err
		case <-ctx.Done():
			return t, fmt.Errorf("push %s: the device did not receive the request: %w", id, ctx.Err())
		}
	}
	t.received = time.Now()
	if onReceived != nil {
		onReceived()
	}
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return t, ctx.Err()
		}
	}
	t.decide = time.Now()
	status, err := u.dev.Decide(ctx, cl.http, id, "approve", &number, false)
	select {
	case u.phone.kick <- struct{}{}:
	default:
	}
	if err != nil {
		return t, fmt.Errorf("approve %s: %w", id, err)
	}
	if status != "approved" {
		return t, fmt.Errorf("approve %s: status %q", id, status)
	}
	o := <-browser
	if o.err != nil {
		return t, o.err
	}
	t.session = o.at
	return t, nil
}

// serverMemory is what the server's process uses at one moment; a field is 0
// when it could not be read.
type serverMemory struct {
	rss        int64 // bytes, from /proc/<pid>/status
	heap       int64 // bytes, go_memstats_heap_inuse_bytes from /metrics
	goroutines int64 // go_goroutines from /metrics
}

// readRSS reads VmRSS of a process from /proc.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// parseVmRSS finds "VmRSS: <n> kB" in the text of /proc/<pid>/status and
// returns it in bytes.
func parseVmRSS(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			break
		}
		return n * 1024, nil
	}
	return 0, errors.New("no VmRSS line in kB")
}

// parseMetric returns the value of an unlabelled sample in Prometheus
// text format.
func parseMetric(text []byte, name string) (int64, bool) {
	for line := range bytes.Lines(text) {
		rest, ok := bytes.CutPrefix(line, []byte(name+" "))
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(rest)), 64)
		if err != nil {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// measure reads the server's memory: RSS when pid is set, heap and
// goroutines when /metrics answers.
func (cl *client) measure(ctx context.Context, pid int) (serverMemory, error) {
	var m serverMemory
	var errs []error
	if pid > 0 {
		rss, err := readRSS(pid)
		if err != nil {
			errs = append(errs, fmt.Errorf("-server-pid %d: %w", pid, err))
		}
		m.rss = rss
	}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if status, b, err := cl.do(mctx, "GET", "/metrics", "", nil); err == nil && status == http.StatusOK {
		m.heap, _ = parseMetric(b, "go_memstats_heap_inuse_bytes")
		m.goroutines, _ = parseMetric(b, "go_goroutines")
	}
	return m, errors.Join(errs...)
}

// pushResult is what the push scenario measured.
type pushResult struct {
	pending, rounds, probes int
	device                  string
	setup                   time.Duration

	burst   []pushTrip // every pending employee at once, approving at once
	probe   []pushTrip // one at a time while the pending sign-ins wait
	release []pushTrip // the waiting sign-ins, approved at once

	idle, connected, waiting serverMemory
	fails                    pushFailures
}

// loadPush runs the push scenario: set up, bursts, hold, probes, release.
func loadPush(ctx context.Context, c config, progress io.Writer) (*pushResult, error) {
	cl := newPushClient(c)
	defer cl.http.CloseIdleConnections()
	res := &pushResult{pending: c.pending, rounds: c.rounds, probes: c.probes, device: c.device}

	setup, cancelSetup := context.WithTimeout(ctx, 10*time.Minute)
	defer cancelSetup()
	admin, err := cl.signIn(setup, c.login, c.password)
	if err != nil {
		return nil, err
	}
	probeUsers := (c.probes + pushesPerUser - 1) / pushesPerUser
	start := time.Now()
	users, created, err := cl.setupPushUsers(setup, c, admin, c.pending+probeUsers, progress)
	res.setup = time.Since(start)
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer cancel()
		if err := cl.deactivateUsers(cctx, admin, created, setupWorkers(c)); err != nil {
			fmt.Fprintln(progress, "deadbolt-load: cleanup:", err)
		}
		cl.callJSON(cctx, c.timeout, "POST", "/api/v1/logout", admin, nil, nil, http.StatusOK)
	}()
	if err != nil {
		return nil, err
	}
	pending, probes := users[:c.pending], users[c.pending:]

	// Memory with no phone connected and no sign-in.
	time.Sleep(settle)
	if res.idle, err = cl.measure(ctx, c.serverPID); err != nil {
		return nil, err
	}

	// Every phone connects and waits.
	phones, stopPhones := context.WithCancel(ctx)
	var phonesDone sync.WaitGroup
	defer func() {
		stopPhones()
		phonesDone.Wait()
	}()
	for _, u := range users {
		u.phone = newPhone(u.dev)
		phonesDone.Go(func() { u.phone.run(phones, cl, c.device, &res.fails) })
	}
	time.Sleep(settle)
	if res.connected, err = cl.measure(ctx, c.serverPID); err != nil {
		return nil, err
	}

	// Bursts: every pending employee signs in at once; each device approves
	// as soon as its request arrives.
	for r := range c.rounds {
		trips := cl.signInAll(ctx, pending, nil, nil, &res.fails)
		res.burst = append(res.burst, trips...)
		fmt.Fprintf(progress, "round %d: %d of %d sign-ins approved\n", r+1, len(trips), len(pending))
		if ctx.Err() != nil {
			return res, nil
		}
	}

	// Hold: every pending employee signs in; the devices receive the
	// requests but do not answer; the browsers wait on their long polls.
	release := make(chan struct{})
	var received sync.WaitGroup
	received.Add(len(pending))
	holdStart := time.Now()
	held := make(chan []pushTrip, 1)
	go func() { held <- cl.signInAll(ctx, pending, release, received.Done, &res.fails) }()
	waited := make(chan struct{})
	go func() { received.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(maxHold / 2):
		fmt.Fprintln(progress, "deadbolt-load: not every device received its request; measuring anyway")
	case <-ctx.Done():
	}
	time.Sleep(settle)
	if res.waiting, err = cl.measure(ctx, c.serverPID); err != nil {
		close(release)
		<-held
		return nil, err
	}

	// Probes: one sign-in at a time, while the others wait.
	fmt.Fprintf(progress, "%d sign-ins waiting; timing %d sign-ins one at a time\n", len(pending), c.probes)
	for i := range c.probes {
		if ctx.Err() != nil || time.Since(holdStart) > maxHold {
			fmt.Fprintf(progress, "deadbolt-load: stopped the probes after %d to stay within the requests' lifetime\n", i)
			break
		}
		t, err := cl.pushSignIn(ctx, probes[i/pushesPerUser], nil, nil)
		if err != nil {
			res.fails.add("probe", err)
			continue
		}
		res.probe = append(res.probe, t)
	}

	// Release: every waiting sign-in is approved at once.
	close(release)
	res.release = <-held
	return res, nil
}

// signInAll signs every user in at once and returns the completed
// sign-ins' timelines; failures go to fails.
func (cl *client) signInAll(ctx context.Context, users []*pushUser, release <-chan struct{}, onReceived func(), fails *pushFailures) []pushTrip {
	var (
		mu    sync.Mutex
		trips = make([]pushTrip, 0, len(users))
		wg    sync.WaitGroup
	)
	for _, u := range users {
		wg.Go(func() {
			var once sync.Once
			received := func() {
				if onReceived != nil {
					once.Do(onReceived)
				}
			}
			t, err := cl.pushSignIn(ctx, u, release, received)
			if err != nil {
				received() // nothing more to wait for
				fails.add("sign-in", err)
				return
			}
			mu.Lock()
			trips = append(trips, t)
			mu.Unlock()
		})
	}
	wg.Wait()
	return trips
}

// tripDurations applies f to each trip and sorts the results.
func tripDurations(trips []pushTrip, f func(pushTrip) time.Duration) []time.Duration {
	out := make([]time.Duration, 0, len(trips))
	for _, t := range trips {
		out = append(out, max(f(t), 0))
	}
	slices.Sort(out)
	return out
}

func roundTrip(t pushTrip) time.Duration     { return t.session.Sub(t.sent) }
func afterPassword(t pushTrip) time.Duration { return t.session.Sub(t.accepted) }
func loginCall(t pushTrip) time.Duration     { return t.accepted.Sub(t.sent) }
func delivery(t pushTrip) time.Duration      { return t.received.Sub(t.sent) }
func approval(t pushTrip) time.Duration      { return t.session.Sub(t.decide) }

// spreadOf formats p50, p99 and max of sorted durations.
func spreadOf(d []time.Duration) string {
	return fmt.Sprintf("p50 %v  p99 %v  max %v", round(percentile(d, .5)), round(percentile(d, .99)), round(percentile(d, 1)))
}

func (r *pushResult) errors() int64 { return int64(r.fails.total()) }

func (r *pushResult) print(w io.Writer, c config) {
	devices := r.pending + (r.probes+pushesPerUser-1)/pushesPerUser
	fmt.Fprintf(w, "scenario push: %d sign-ins pending at once, devices on %s, against %s\n", r.pending, map[string]string{"poll": "long poll", "sse": "event stream"}[r.device], c.base)
	fmt.Fprintf(w, "setup     %d employees with paired devices in %v\n", devices, round(r.setup))
	if r.rounds > 0 {
		fmt.Fprintf(w, "burst     %d sign-ins in %d round(s) of %d at once\n", len(r.burst), r.rounds, r.pending)
		fmt.Fprintf(w, "  round trip   %s   (/login sent → browser has the session)\n", spreadOf(tripDurations(r.burst, roundTrip)))
		fmt.Fprintf(w, "  after pw     %s   (password accepted → session)\n", spreadOf(tripDurations(r.burst, afterPassword)))
		fmt.Fprintf(w, "  login        %s   (POST /login)\n", spreadOf(tripDurations(r.burst, loginCall)))
		fmt.Fprintf(w, "  delivery     %s   (/login sent → device has the request)\n", spreadOf(tripDurations(r.burst, delivery)))
		fmt.Fprintf(w, "  approval     %s   (approval sent → session)\n", spreadOf(tripDurations(r.burst, approval)))
	}
	fmt.Fprintf(w, "pending   %d probe sign-ins, one at a time, while %d others wait\n", len(r.probe), r.pending)
	fmt.Fprintf(w, "  round trip   %s\n", spreadOf(tripDurations(r.probe, roundTrip)))
	fmt.Fprintf(w, "  after pw     %s\n", spreadOf(tripDurations(r.probe, afterPassword)))
	fmt.Fprintf(w, "release   %d waiting sign-ins approved at once\n", len(r.release))
	fmt.Fprintf(w, "  approval     %s   (approval sent → session)\n", spreadOf(tripDurations(r.release, approval)))
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	per := func(a, b int64, n int) string { return fmt.Sprintf("%.1f KiB", float64(b-a)/float64(n)/1024) }
	if r.idle.rss > 0 {
		fmt.Fprintf(w, "rss       idle %s, %d devices waiting %s, %d sign-ins waiting %s: %s per device, %s per waiting sign-in\n",
			mib(r.idle.rss), devices, mib(r.connected.rss), r.pending, mib(r.waiting.rss),
			per(r.idle.rss, r.connected.rss, devices), per(r.connected.rss, r.waiting.rss, r.pending))
	}
	if r.idle.heap > 0 {
		fmt.Fprintf(w, "heap      idle %s, devices waiting %s, sign-ins waiting %s: %s per device, %s per waiting sign-in\n",
			mib(r.idle.heap), mib(r.connected.heap), mib(r.waiting.heap),
			per(r.idle.heap, r.connected.heap, devices), per(r.connected.heap, r.waiting.heap, r.pending))
		fmt.Fprintf(w, "goroutines idle %d, devices waiting %d, sign-ins waiting %d\n", r.idle.goroutines, r.connected.goroutines, r.waiting.goroutines)
	}
	fmt.Fprintf(w, "errors    %d\n", r.errors())
	r.fails.mu.Lock()
	defer r.fails.mu.Unlock()
	for _, stage := range slices.Sorted(maps.Keys(r.fails.n)) {
		fmt.Fprintf(w, "  %s ×%d, first: %s\n", stage, r.fails.n[stage], r.fails.first[stage])
	}
}

// pushFlags defines the flags of the push scenario.
func pushFlags(fs *flag.FlagSet, c *config) {
	fs.IntVar(&c.pending, "pending", 100, fmt.Sprintf("push: sign-ins pending at once, 1 to %d", maxPending))
	fs.IntVar(&c.rounds, "rounds", 1, fmt.Sprintf("push: rounds of -pending sign-ins approved at once, 0 to %d", maxRounds))
	fs.IntVar(&c.probes, "probes", 100, fmt.Sprintf("push: sign-ins timed one at a time while -pending wait, 0 to %d", maxProbes))
	fs.StringVar(&c.device, "device", "poll", "push: how devices wait for requests, poll or sse")
	fs.IntVar(&c.serverPID, "server-pid", 0, "push: process id of the server on this machine, to read its memory (0: do not)")
}

// checkPushFlags checks the flags of the push scenario.
func checkPushFlags(c config) error {
	switch {
	case c.pending < 1 || c.pending > maxPending:
		return fmt.Errorf("-pending %d is not between 1 and %d", c.pending, maxPending)
	case c.rounds < 0 || c.rounds > maxRounds:
		return fmt.Errorf("-rounds %d is not between 0 and %d (an employee gets %d push requests per 15 minutes)", c.rounds, maxRounds, pushesPerUser)
	case c.probes < 0 || c.probes > maxProbes:
		return fmt.Errorf("-probes %d is not between 0 and %d", c.probes, maxProbes)
	case c.device != "poll" && c.device != "sse":
		return fmt.Errorf("-device %q is not poll or sse", c.device)
	case c.serverPID < 0:
		return fmt.Errorf("-server-pid %d is not a process id", c.serverPID)
	}
	return nil
}

// runPush runs the push scenario and prints its figures; the exit status
// is 1 when anything failed.
func runPush(ctx context.Context, c config, stdout, stderr io.Writer) int {
	res, err := loadPush(ctx, c, stderr)
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
