package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"deadbolt/internal/accounts"
	"deadbolt/internal/deadbolt"
)

const adminUsage = `usage:
  deadbolt admin user add LOGIN [--name NAME] [--admin] [--password-stdin]
  deadbolt admin user list
  deadbolt admin user deactivate LOGIN
  deadbolt admin user activate LOGIN
  deadbolt admin user reset-password LOGIN [--password-stdin]
  deadbolt admin user reset-2fa LOGIN      (second factor off, every session ended, device disconnected)
  deadbolt admin user unlock LOGIN         (clear the second-factor lock, delays and CAPTCHA streak)
  deadbolt admin user sessions LOGIN
  deadbolt admin user end-sessions LOGIN
  deadbolt admin user import FILE [--dry-run]   (CSV: login,name,email,password,admin; FILE "-" is standard input)
  deadbolt admin user exempt LOGIN --until TIME | --end
  deadbolt admin workgroup add|list|show|rename|delete|add-member|remove-member|policy … (see "deadbolt admin workgroup")
  deadbolt admin phone lookup E164
  deadbolt admin phone remove LOGIN
  deadbolt admin app add|list|show|rotate-secret|delete … (see "deadbolt admin app")
  deadbolt admin oidc rotate-key
Every command reads the server's settings as "deadbolt serve" does (flags,
DEADBOLT_… variables, --config): --database PATH|postgres://…, the master
key (--master-key or --master-key-file), the hash parameters, the
organisation time zone, the phone region, …`

// cmdAdmin runs administrative commands against the database directly, as
// the server operator, through the services the server runs with.
func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	// Workgroups, their policy and exemptions (workgroup.go).
	if len(args) > 0 && args[0] == "workgroup" {
		return cmdAdminWorkgroup(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 1 && args[0] == "user" && args[1] == "exempt" {
		return cmdAdminExempt(ctx, args[2:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "phone" {
		return cmdAdminPhone(ctx, args[1:], getenv, stdout, stderr)
	}
	// Applications and the OpenID Connect provider's keys (admin_apps.go).
	if len(args) > 0 && args[0] == "app" {
		return cmdAdminApp(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "oidc" {
		return cmdAdminOIDC(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) < 2 || args[0] != "user" {
		fmt.Fprintln(stdout, adminUsage)
		return errUsage
	}
	verb, rest := args[1], args[2:]
	fs, settings := newAdminFlags("admin", getenv, stdout, stderr)
	name := fs.String("name", "", "full name")
	isAdmin := fs.Bool("admin", false, "make an administrator")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	dryRun := fs.Bool("dry-run", false, "import: check every row, create nothing")
	// LOGIN may come before or after the flags.
	positional, err := settings.parse(rest)
	if err != nil {
		return errUsage
	}
	want := map[string]int{"add": 1, "list": 0, "import": 1, "deactivate": 1, "activate": 1,
		"reset-password": 1, "reset-2fa": 1, "unlock": 1, "sessions": 1, "end-sessions": 1}
	if n, ok := want[verb]; !ok || len(positional) != n {
		fmt.Fprintln(stdout, adminUsage)
		return errUsage
	}
	a, err := settings.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Accounts
	op := accounts.Actor{IP: "cli"}

	readPassword := func() (string, bool, error) {
		if !*pwStdin {
			return accounts.GeneratePassword(), true, nil
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	switch verb {
	case "add":
		pw, generated, err := readPassword()
		if err != nil {
			return err
		}
		u, err := svc.Create(ctx, op, accounts.NewUser{Login: positional[0], Name: *name, Password: pw, Admin: *isAdmin})
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "created %s (id %s)\n", u.Login, u.ID)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
	case "list":
		users, err := svc.List(ctx, op)
		if err != nil {
			return cliError(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLOGIN\tNAME\tADMIN\tACTIVE\t2FA")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%v\n", u.ID, u.Login, u.Name, u.Admin, u.Active, u.TwoFactorEnabled())
		}
		return tw.Flush()
	case "deactivate", "activate":
		u, err := svc.SetActive(ctx, op, positional[0], verb == "activate")
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "%sd %s\n", verb, u.Login)
	case "import":
		return cmdAdminImport(ctx, svc, op, positional[0], *dryRun, stdin, stdout)
	case "reset-password":
		pw, generated, err := readPassword()
		if err != nil {
			return err
		}
		if err := svc.ResetPassword(ctx, op, positional[0], pw); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "password reset for %s; their sessions ended\n", positional[0])
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
	case "reset-2fa":
		if err := svc.ResetTwoFactor(ctx, op, positional[0]); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "two-factor authentication reset for %s; their sessions ended and their device is disconnected\n", positional[0])
	case "unlock":
		if err := svc.Unlock(ctx, op, positional[0]); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "unlocked the second factor of %s\n", positional[0])
	case "sessions":
		list, err := svc.Sessions(ctx, op, positional[0])
		if err != nil {
			return cliError(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tCREATED\tLAST SEEN\tIP\tBROWSER")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, orDash(s.CreatedAt), orDash(s.LastSeenAt), s.IP, s.UserAgent)
		}
		return tw.Flush()
	case "end-sessions":
		if err := svc.EndSessions(ctx, op, positional[0]); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "ended every session of %s\n", positional[0])
	}
	return nil
}

// cliError shows a service error's public message.
func cliError(err error) error {
	if c := deadbolt.ErrorCode(err); c != deadbolt.CodeInternal {
		return fmt.Errorf("%s (%s)", deadbolt.ErrorMessage(err), c)
	}
	return err
}
