package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"deadbolt/internal/deviceclient"
)

// codesPerUser is how many recovery codes the server issues at a time.
const codesPerUser = 10

// pendingSignIn is a sign-in waiting for its second factor, with the
// request that completes it.
type pendingSignIn struct {
	token   string    // of the pending session
	body    []byte    // the second-factor request, with an unused code
	created time.Time // when the password step answered
}

// secondFactorRun is the prepared second-factor scenario.
type secondFactorRun struct {
	cl       *client
	cfg      config
	users    []loadUser
	signins  []pendingSignIn
	next     atomic.Int64 // index of the next sign-in to complete
	oldest   atomic.Int64 // greatest age of a pending sign-in when used, in ns
	enrolled time.Duration
	opened   time.Duration
}

// expect turns an answer other than want into an error naming what.
func expect(what string, status, want int, body []byte) error {
	if status == want {
		return nil
	}
	return fmt.Errorf("%s: HTTP %d %s", what, status, bytes.TrimSpace(body))
}

// serverClock returns the server's clock: the development clock when the
// server runs in development mode (which may be moved), else this
// machine's.
func (cl *client) serverClock(ctx context.Context) (func() time.Time, error) {
	status, b, err := cl.do(ctx, "GET", "/api/v1/dev/clock", "", nil)
	if err != nil {
		return nil, fmt.Errorf("read the server clock: %w", err)
	}
	var m struct {
		Now string `json:"now"`
	}
	if status != http.StatusOK || json.Unmarshal(b, &m) != nil {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339Nano, m.Now)
	if err != nil {
		return time.Now, nil
	}
	offset := time.Until(t)
	return func() time.Time { return time.Now().Add(offset) }, nil
}

// enrol turns on the second factor of u the way an employee does: sign
// in, pair a device from the pairing URL, confirm it with the device's
// current code, generate recovery codes; then sign out. It returns the
// recovery codes.
func (cl *client) enrol(ctx context.Context, u loadUser, now func() time.Time) ([]string, error) {
	state, tok, err := cl.passwordStep(ctx, u.login, u.password)
	if err != nil {
		return nil, err
	}
	if state != "authenticated" && state != "setup_required" {
		return nil, fmt.Errorf("sign in as %s: state %q, want authenticated or setup_required", u.login, state)
	}
	status, b, err := cl.do(ctx, "POST", "/api/v1/me/device/pairing", tok, nil)
	if err == nil {
		err = expect("start pairing for "+u.login, status, http.StatusCreated, b)
	}
	if err != nil {
		return nil, err
	}
	var offer struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal(b, &offer); err != nil || offer.ID == "" {
		return nil, fmt.Errorf("start pairing for %s: no offer in %s", u.login, b)
	}
	// Only the token is taken from the pairing URL: the device talks to
	// -url, whatever public address the server announces.
	_, pairToken, err := deviceclient.ParsePairingURL(offer.URL)
	if err != nil {
		return nil, fmt.Errorf("pairing URL for %s: %w", u.login, err)
	}
	dev, err := deviceclient.Pair(ctx, cl.http, cl.base+"/app/pair#"+pairToken, "deadbolt-load")
	if err != nil {
		return nil, fmt.Errorf("pair a device for %s: %w", u.login, err)
	}
	code, err := dev.Code(now())
	if err != nil {
		return nil, fmt.Errorf("device code for %s: %w", u.login, err)
	}
	body, _ := json.Marshal(map[string]string{"code": code})
	status, b, err = cl.do(ctx, "POST", "/api/v1/me/device/pairing/"+url.PathEscape(offer.ID)+"/confirm", tok, body)
	if err == nil {
		err = expect("confirm the device of "+u.login, status, http.StatusOK, b)
	}
	if err != nil {
		return nil, err
	}
	status, b, err = cl.do(ctx, "POST", "/api/v1/me/recovery-codes", tok, nil)
	if err == nil {
		err = expect("recovery codes for "+u.login, status, http.StatusOK, b)
	}
	if err != nil {
		return nil, err
	}
	var rc struct {
		Codes []string `json:"codes"`
	}
	if err := json.Unmarshal(b, &rc); err != nil || len(rc.Codes) != codesPerUser {
		return nil, fmt.Errorf("recovery codes for %s: want %d codes in %s", u.login, codesPerUser, b)
	}
	status, b, err = cl.do(ctx, "POST", "/api/v1/logout", tok, nil)
	if err == nil {
		err = expect("sign out "+u.login, status, http.StatusOK, b)
	}
	if err != nil {
		return nil, err
	}
	return rc.Codes, nil
}

// prepareSecondFactor creates and enrols c.users employees and opens
// c.signins pending sign-ins, each paired with an unused recovery code.
// Consecutive sign-ins belong to different employees (code k of every
// employee before code k+1 of any), so clients running together mostly
// work on different employees, as real sign-ins do. On error the returned
// run still lists the employees created, for cleanup.
func prepareSecondFactor(ctx context.Context, cl *client, c config, admin string, progress io.Writer) (*secondFactorRun, error) {
	sf := &secondFactorRun{cl: cl, cfg: c}
	now, err := cl.serverClock(ctx)
	if err != nil {
		return sf, err
	}
	workers := setupWorkers(c)
	start := time.Now()
	sf.users, err = cl.createUsers(ctx, admin, c.users, workers, progress)
	if err != nil {
		return sf, err
	}
	codes := make([][]string, len(sf.users))
	err = forEach(ctx, len(sf.users), workers, func(i int) error {
		var err error
		codes[i], err = cl.enrol(ctx, sf.users[i], now)
		return err
	})
	if err != nil {
		return sf, err
	}
	sf.enrolled = time.Since(start)
	fmt.Fprintf(progress, "enrolled them (paired device, %d recovery codes each) in %v\n", codesPerUser, sf.enrolled.Round(time.Millisecond))

	start = time.Now()
	n := len(sf.users)
	sf.signins = make([]pendingSignIn, c.signins)
	err = forEach(ctx, len(sf.signins), workers, func(k int) error {
		u := sf.users[k%n]
		state, tok, err := cl.passwordStep(ctx, u.login, u.password)
		if err != nil {
			return err
		}
		if state != "second_factor" {
			return fmt.Errorf("sign in as %s: state %q, want second_factor", u.login, state)
		}
		body, _ := json.Marshal(map[string]string{"method": "recovery", "code": codes[k%n][k/n]})
		sf.signins[k] = pendingSignIn{token: tok, body: body, created: time.Now()}
		return nil
	})
	if err != nil {
		return sf, err
	}
	sf.opened = time.Since(start)
	fmt.Fprintf(progress, "opened %d pending sign-ins in %v\n", len(sf.signins), sf.opened.Round(time.Millisecond))
	return sf, nil
}

// step completes the next prepared sign-in. runClients calls it at most
// len(sf.signins) times.
func (sf *secondFactorRun) step(ctx context.Context, _, _ int) (int, error) {
	p := &sf.signins[sf.next.Add(1)-1]
	age := int64(time.Since(p.created))
	for old := sf.oldest.Load(); age > old && !sf.oldest.CompareAndSwap(old, age); old = sf.oldest.Load() {
	}
	status, _, err := sf.cl.do(ctx, "POST", "/api/v1/login/second-factor", p.token, p.body)
	return status, err
}

// finish adds what the figures mean to res.
func (sf *secondFactorRun) finish(res *result) {
	res.notes = append(res.notes,
		`measured POST /api/v1/login/second-factor {"method":"recovery"}, each request on a pending sign-in `+
			`of its own with an unused code: one single-use consumption and one session replacement each`,
		"the password step is not measured: it ran during setup (start the server with --hash-memory 64 --hash-time 1 to keep setup short)",
		fmt.Sprintf("setup: %d employees enrolled in %v, %d pending sign-ins opened in %v",
			len(sf.users), sf.enrolled.Round(time.Millisecond), len(sf.signins), sf.opened.Round(time.Millisecond)))
	oldest := time.Duration(sf.oldest.Load())
	line := fmt.Sprintf("oldest pending sign-in when used: %v", oldest.Round(time.Millisecond))
	if oldest >= time.Minute {
		line += " (over a minute: the server also records activity on such sessions, one more write each)"
	}
	res.notes = append(res.notes, line)
	if res.requests() >= int64(len(sf.signins)) && res.elapsed < sf.cfg.duration {
		res.notes = append(res.notes, fmt.Sprintf("all %d prepared sign-ins were used before -duration ended: raise -rate or -users for a full run",
			len(sf.signins)))
	}
}
