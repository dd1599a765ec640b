// Package proxytest starts real reverse proxies for tests — Debian's nginx
// (with auth_request) and Caddy — on loopback, each with its own
// configuration in a temporary directory and no system service, and a small
// upstream application that records what reaches it.
//
// A proxy that is not installed skips the test, or fails it when the
// environment variable CI is "true" (continuous integration installs
// both, so a missing one must not pass silently).
package proxytest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of a proxy's program, skipping t (or failing it
// under CI=true) when it is not installed.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (apt-get install -y nginx-light caddy)", name)
		}
		t.Skipf("%s is not installed; skipping", name)
	}
	return p
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Upstream is an application behind a proxy: it answers every request
// with 200 "upstream", followed by " for " and the Remote-User header when
// there is one, and remembers each request's headers.
type Upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

// StartUpstream starts an upstream application, stopped when t ends.
func StartUpstream(t testing.TB) *Upstream {
	t.Helper()
	u := &Upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Clone(r.Context()))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "upstream")
		if u := r.Header.Get("Remote-User"); u != "" {
			fmt.Fprint(w, " for "+u)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// Requests returns the requests that reached the upstream so far.
func (u *Upstream) Requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.seen...)
}

// Port is the upstream's port.
func (u *Upstream) Port() int { return u.Listener.Addr().(*net.TCPAddr).Port }

// Proxy is a running proxy.
type Proxy struct {
	Port int
	Dir  string
	cmd  *exec.Cmd
	out  *syncWriter
}

// Logs returns what the proxy wrote to its standard output and error.
func (p *Proxy) Logs() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.w.String()
}

// StartNginx runs nginx in the foreground with the http block body (server
// blocks) given, in a directory of its own, listening on port; it stops
// nginx when t ends.
func StartNginx(t testing.TB, port int, httpBody string) *Proxy {
	t.Helper()
	bin := Binary(t, "nginx")
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers keep access to the temporary directory
	}
	conf := fmt.Sprintf(`%sdaemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[3]s
}
`, user, dir, httpBody)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, port, dir, exec.Command(bin, "-e", "stderr", "-p", dir, "-c", path))
}

// StartCaddy runs Caddy with the Caddyfile site blocks given (after a
// global block that turns off its admin endpoint and automatic HTTPS), its
// data kept in a directory of its own; it stops Caddy when t ends.
func StartCaddy(t testing.TB, port int, sites string) *Proxy {
	t.Helper()
	bin := Binary(t, "caddy")
	dir := t.TempDir()
	caddyfile := fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %s/data
}
%s
`, dir, sites)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	return start(t, port, dir, cmd)
}

// start runs cmd, waits until port accepts connections and stops the
// process (only this one, by its own id) when t ends.
func start(t testing.TB, port int, dir string, cmd *exec.Cmd) *Proxy {
	t.Helper()
	p := &Proxy{Port: port, Dir: dir, cmd: cmd, out: &syncWriter{w: &bytes.Buffer{}}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited at start (%v):\n%s", filepath.Base(cmd.Path), err, p.Logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s:\n%s", filepath.Base(cmd.Path), addr, p.Logs())
		}
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// Recipe returns the configuration the README gives for a proxy: the
// fenced block after the line "<!-- recipe: name -->". Tests run exactly
// what the README tells people to write.
func Recipe(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("proxytest: no go.mod above the working directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	marker := "<!-- recipe: " + name + " -->\n```"
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		t.Fatalf("README.md has no recipe %q", name)
	}
	rest := b[i+len(marker):]
	start := bytes.IndexByte(rest, '\n') + 1
	end := bytes.Index(rest[start:], []byte("\n```"))
	if start == 0 || end < 0 {
		t.Fatalf("README.md: recipe %q is not a closed code block", name)
	}
	return string(rest[start : start+end+1])
}
