package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"deadbolt/internal/accounts"
	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/oidc"
)

const appUsage = `usage:
  deadbolt admin app add NAME --kind oidc|proxy [options]
      --redirect-uri URI               (oidc; repeat for several; matched exactly)
      --public                         (oidc client that cannot keep a secret: PKCE only)
      --backchannel-logout-uri URI     (oidc)
      --post-logout-redirect-uri URI   (oidc; repeat for several)
      --domain DOMAIN                  (proxy: host, host/path-prefix or *.example.com; repeat)
      --workgroup NAME|ID              (only members may enter; repeat; none: every active employee)
      --require-2fa                    (only sessions proven with a second factor)
  deadbolt admin app list
  deadbolt admin app show NAME|ID
  deadbolt admin app rotate-secret NAME|ID
  deadbolt admin app delete NAME|ID
  deadbolt admin oidc rotate-key       (new signing key; the old one stays published until its tokens expire)
The server's settings are read as "deadbolt serve" reads them (--database, the master key, --public-url, …).`

// listFlag is a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// cmdAdminApp runs "admin app …" through the services the server runs
// with (package app).
func cmdAdminApp(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stdout, appUsage)
		return errUsage
	}
	verb := args[0]
	fs, settings := newAdminFlags("admin app", getenv, stdout, stderr)
	kind := fs.String("kind", "", "oidc or proxy")
	public := fs.Bool("public", false, "a public OpenID Connect client (PKCE, no secret)")
	bcl := fs.String("backchannel-logout-uri", "", "back-channel logout URI")
	require2FA := fs.Bool("require-2fa", false, "admit only sessions proven with a second factor")
	var redirects, postLogout, domains, wgs listFlag
	fs.Var(&redirects, "redirect-uri", "redirect URI (repeat)")
	fs.Var(&postLogout, "post-logout-redirect-uri", "post-logout redirect URI (repeat)")
	fs.Var(&domains, "domain", "proxy domain (repeat)")
	fs.Var(&wgs, "workgroup", "workgroup whose members may enter (repeat)")
	positional, err := settings.parse(args[1:])
	if err != nil {
		return errUsage
	}
	want := map[string]int{"add": 1, "list": 0, "show": 1, "rotate-secret": 1, "delete": 1}
	if n, ok := want[verb]; !ok || len(positional) != n {
		fmt.Fprintln(stdout, appUsage)
		return errUsage
	}
	a, err := settings.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Apps
	op := accounts.Actor{IP: "cli"}
	switch verb {
	case "add":
		set := apps.Settings{Name: &positional[0], Kind: kind, Public: public, Require2FA: require2FA,
			RedirectURIs: (*[]string)(&redirects), PostLogoutRedirectURIs: (*[]string)(&postLogout),
			Domains: (*[]string)(&domains), Workgroups: (*[]string)(&wgs), BackchannelLogoutURI: bcl}
		if *kind == "" {
			set.Kind = nil
		}
		app, secret, err := svc.Create(ctx, op, set)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "registered %s (id %s)\n", app.Name, app.ID)
		if app.Kind == deadbolt.AppOIDC {
			fmt.Fprintf(stdout, "client_id: %s\n", app.ClientID)
			if secret != "" {
				fmt.Fprintf(stdout, "client_secret: %s\n(shown this once: copy it into the application now)\n", secret)
			}
			fmt.Fprintf(stdout, "issuer: %s (discovery: %s%s)\n", a.OIDC.Issuer, a.OIDC.Issuer, oidc.PathDiscovery)
		}
	case "list":
		list, err := svc.List(ctx, op)
		if err != nil {
			return cliError(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tCLIENT ID\tREQUIRE 2FA\tWORKGROUPS\tREDIRECT URIS / DOMAINS")
		for _, app := range list {
			target := strings.Join(app.Domains, " ")
			if app.Kind == deadbolt.AppOIDC {
				target = strings.Join(app.RedirectURIs, " ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d\t%s\n", app.ID, app.Name, app.Kind, dashIfEmpty(app.ClientID), app.Require2FA, len(app.Workgroups), target)
		}
		return tw.Flush()
	case "show":
		app, err := svc.Get(ctx, op, positional[0])
		if err != nil {
			return cliError(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
		row("id", app.ID)
		row("name", app.Name)
		row("kind", app.Kind)
		if app.Kind == deadbolt.AppOIDC {
			row("client_id", app.ClientID)
			row("public", fmt.Sprint(app.Public))
			row("has secret", fmt.Sprint(app.SecretHash != nil))
			row("redirect uris", strings.Join(app.RedirectURIs, " "))
			row("post-logout uris", dashIfEmpty(strings.Join(app.PostLogoutRedirectURIs, " ")))
			row("back-channel logout", dashIfEmpty(app.BackchannelLogoutURI))
			row("issuer", a.OIDC.Issuer)
			row("discovery", a.OIDC.Issuer+oidc.PathDiscovery)
		} else {
			row("domains", strings.Join(app.Domains, " "))
		}
		row("workgroups", dashIfEmpty(strings.Join(app.Workgroups, " ")))
		row("require 2fa", fmt.Sprint(app.Require2FA))
		if err := tw.Flush(); err != nil {
			return err
		}
		fails, err := a.OIDC.LogoutFailures(ctx, app.ID)
		if err != nil {
			return cliError(err)
		}
		for _, g := range fails {
			state := "retrying"
			if g.LogoutFailed {
				state = "given up"
			}
			fmt.Fprintf(stdout, "back-channel logout failed for user %s (%d attempts, %s): %s\n", g.UserID, g.LogoutAttempts, state, g.LogoutError)
		}
	case "rotate-secret":
		app, secret, err := svc.RotateSecret(ctx, op, positional[0])
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "new client secret for %s (the old one no longer works):\nclient_secret: %s\n", app.Name, secret)
	case "delete":
		if err := svc.Delete(ctx, op, positional[0]); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "deleted %s; its tokens no longer work\n", positional[0])
	}
	return nil
}

// cmdAdminOIDC runs "admin oidc rotate-key".
func cmdAdminOIDC(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	_, settings := newAdminFlags("admin oidc", getenv, stdout, stderr)
	positional, err := settings.parse(args)
	if err != nil {
		return errUsage
	}
	if len(positional) != 1 || positional[0] != "rotate-key" {
		fmt.Fprintln(stdout, appUsage)
		return errUsage
	}
	a, err := settings.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	kid, err := a.OIDCKeys.Rotate(ctx)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "new signing key %s; servers sign with it within a minute, and the previous key stays in the JWKS for a day\n", kid)
	return nil
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
