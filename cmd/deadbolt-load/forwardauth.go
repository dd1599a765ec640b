package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// signsIn reports whether the scenario signs in to Deadbolt first.
func signsIn(c config) bool {
	switch {
	case c.scenario == "healthz":
		return false
	case c.scenario == "forward-auth" && c.peerCookie != nil:
		return false
	}
	return true
}

func forwardFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.checkPath, "check-path", "/api/v1/authz/forward-auth", "forward-auth: path of the check")
	fs.StringVar(&c.rawForwardURL, "forward-url", "", "forward-auth: the original request's URL the check asks about (default: a page of the app the run registers)")
	fs.StringVar(&c.sessionCookie, "session-cookie", "", "forward-auth: send the session token as this cookie instead of a bearer token (e.g. deadbolt_session)")
	fs.StringVar(&c.rawPeerCookie, "cookie", "", "forward-auth: NAME=VALUE, a session cookie of another forward-auth service to load with the same client; nothing is set up (needs -forward-url)")
}

// checkForwardFlags checks and parses the forward-auth flags.
func checkForwardFlags(c *config) error {
	if !strings.HasPrefix(c.checkPath, "/") || strings.ContainsAny(c.checkPath, " \r\n") {
		return fmt.Errorf("-check-path %q is not a path", c.checkPath)
	}
	if c.rawForwardURL != "" {
		u, err := url.Parse(c.rawForwardURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-forward-url %q is not an http(s) URL", c.rawForwardURL)
		}
		c.forwardURL = u
	}
	if c.sessionCookie != "" && strings.ContainsAny(c.sessionCookie, "=; ") {
		return fmt.Errorf("-session-cookie %q is not a cookie name", c.sessionCookie)
	}
	if c.rawPeerCookie != "" {
		name, value, ok := strings.Cut(c.rawPeerCookie, "=")
		if !ok || name == "" || value == "" || strings.ContainsAny(c.rawPeerCookie, "; \r\n") {
			return fmt.Errorf("-cookie wants NAME=VALUE")
		}
		if c.forwardURL == nil {
			return errors.New("-cookie needs -forward-url: the run sets nothing up on another service")
		}
		c.peerCookie = &http.Cookie{Name: name, Value: value}
	}
	return nil
}

// forwardAuth is a prepared forward-auth run.
type forwardAuth struct {
	cl      *client
	c       config
	token   string
	appID   string
	header  http.Header // the forwarded headers of every check
	cleanup func(ctx context.Context) error
}

// prepareForwardAuth registers an app for a made-up host (unless loading
// a peer) and builds the headers every check sends.
func prepareForwardAuth(ctx context.Context, cl *client, c config, token string, progress io.Writer) (*forwardAuth, error) {
	fa := &forwardAuth{cl: cl, c: c, token: token, cleanup: func(context.Context) error { return nil }}
	target := c.forwardURL
	if c.peerCookie == nil {
		var tag [4]byte
		rand.Read(tag[:])
		host := "load-" + hex.EncodeToString(tag[:]) + ".example.invalid"
		body, _ := json.Marshal(map[string]any{"name": "Load test " + hex.EncodeToString(tag[:]), "kind": "proxy",
			"domains": []string{host}})
		status, b, err := cl.do(ctx, "POST", "/api/v1/admin/apps", token, body)
		if err != nil {
			return nil, fmt.Errorf("register the app: %w", err)
		}
		if status != http.StatusCreated {
			return nil, fmt.Errorf("register the app: HTTP %d %s (is -login an administrator?)", status, strings.TrimSpace(string(b)))
		}
		var m struct {
			ID string `json:"id"`
		}
		json.Unmarshal(b, &m)
		fa.appID = m.ID
		fmt.Fprintf(progress, "registered the proxy app %s for %s\n", m.ID, host)
		fa.cleanup = func(ctx context.Context) error {
			var errs []error
			if status, _, err := cl.do(ctx, "DELETE", "/api/v1/admin/apps/"+fa.appID, token, nil); err != nil || status >= 300 {
				errs = append(errs, fmt.Errorf("delete the app: HTTP %d %v", status, err))
			}
			if status, _, err := cl.do(ctx, "POST", "/api/v1/logout", token, nil); err != nil || status >= 300 {
				errs = append(errs, fmt.Errorf("logout: HTTP %d %v", status, err))
			}
			return errors.Join(errs...)
		}
		if target == nil {
			target = &url.URL{Scheme: "https", Host: host, Path: "/dashboard", RawQuery: "panel=1"}
		}
	}
	fa.header = http.Header{
		"X-Forwarded-Method": {"GET"},
		"X-Forwarded-Proto":  {target.Scheme},
		"X-Forwarded-Host":   {target.Host},
		"X-Forwarded-Uri":    {target.RequestURI()},
		"Accept":             {"text/html,application/xhtml+xml"},
		"User-Agent":         {"deadbolt-load"},
	}
	switch {
	case c.peerCookie != nil:
		fa.header.Set("Cookie", c.peerCookie.String())
	case c.sessionCookie != "":
		fa.header.Set("Cookie", (&http.Cookie{Name: c.sessionCookie, Value: token}).String())
	default:
		fa.header.Set("Authorization", "Bearer "+token)
	}
	// One check before the run says whether the server lets this machine
	// ask at all.
	if status, err := fa.step(ctx, 0, 0); err != nil || status != http.StatusOK {
		fa.cleanup(ctx)
		hint := ""
		if status == http.StatusForbidden {
			hint = " (does the server trust this machine's address, --trusted-proxies 127.0.0.1?)"
		}
		return nil, fmt.Errorf("first check: HTTP %d %v%s", status, err, hint)
	}
	return fa, nil
}

// step sends one check and reads the answer.
func (fa *forwardAuth) step(ctx context.Context, _, _ int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", fa.cl.base+fa.c.checkPath, nil)
	if err != nil {
		return 0, err
	}
	req.Header = fa.header.Clone()
	resp, err := fa.cl.http.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}
