package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"

	"deadbolt/internal/app"
)

func cryptoRand(b []byte) (int, error) { return rand.Read(b) }

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	v, rest, err := parseSettings("serve", serveSettings, args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", rest)
	}
	cfg, listen, err := serveConfig(v, stderr)
	if err != nil {
		return err
	}
	cfg.Version = version
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return settingError("listen", err)
	}
	// With port 0 the real address is known only now.
	if cfg.PublicURL.Port() == "0" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.PublicURL.Host = net.JoinHostPort(cfg.PublicURL.Hostname(), port)
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close()
	fmt.Fprintf(stdout, "Deadbolt is listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "Open %s/login to sign in.\n", cfg.PublicURL)
	for _, line := range phoneNote(cfg.PublicURL) {
		fmt.Fprintln(stdout, line)
	}
	if a.BootstrapPassword != "" {
		fmt.Fprintf(stdout, "First start: sign in as \"admin\" with the one-time password %s\n", a.BootstrapPassword)
		fmt.Fprintln(stdout, "(it is shown only now; change it on the Security page after signing in)")
	}
	if cfg.Dev {
		fmt.Fprintln(stdout, "Development mode: /api/v1/dev/clock, /api/v1/dev/sms and /api/v1/dev/captcha are enabled.")
	}
	cfg.Logger.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(), "dev", cfg.Dev, "version", version)
	err = a.Serve(ctx, ln)
	cfg.Logger.Info("stopped")
	return err
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	v, _, err := parseSettings("migrate", []setting{serveSettings[1]}, args, getenv, stdout)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, v["database"])
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return st.Close()
}
