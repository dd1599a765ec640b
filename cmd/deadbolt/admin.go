package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"deadbolt/internal/accounts"
	"deadbolt/internal/app"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
)

const adminUsage = `usage:
  deadbolt admin user add LOGIN [--name NAME] [--admin] [--password-stdin]
  deadbolt admin user list
  deadbolt admin user deactivate LOGIN
  deadbolt admin user activate LOGIN
  deadbolt admin user reset-password LOGIN [--password-stdin]
  deadbolt admin user import FILE [--dry-run]   (CSV: login,name,email,password,admin; FILE "-" is standard input)
  deadbolt admin user exempt LOGIN --until TIME | --end
  deadbolt admin workgroup add|list|show|rename|delete|add-member|remove-member|policy … (see "deadbolt admin workgroup")
  deadbolt admin phone lookup E164
  deadbolt admin phone remove LOGIN
Common flags: --database PATH|postgres://… (env DEADBOLT_DATABASE)`

// cmdAdmin runs administrative commands against the database directly, as
// the server operator.
func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	// Workgroups, their policy and exemptions (workgroup.go).
	if len(args) > 0 && args[0] == "workgroup" {
		return cmdAdminWorkgroup(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 1 && args[0] == "user" && args[1] == "exempt" {
		return cmdAdminExempt(ctx, args[2:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "phone" {
		return cmdAdminPhone(ctx, args[1:], getenv, stdout)
	}
	if len(args) < 2 || args[0] != "user" {
		fmt.Fprintln(stdout, adminUsage)
		return errUsage
	}
	verb, rest := args[1], args[2:]
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(stdout)
	db := fs.String("database", "", "database (env DEADBOLT_DATABASE, default deadbolt.db)")
	name := fs.String("name", "", "full name")
	isAdmin := fs.Bool("admin", false, "make an administrator")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	dryRun := fs.Bool("dry-run", false, "import: check every row, create nothing")
	// LOGIN may come before or after the flags.
	positional, err := parseInterleaved(fs, rest)
	if err != nil {
		return errUsage
	}
	database := *db
	if database == "" {
		database = getenv("DEADBOLT_DATABASE")
	}
	if database == "" {
		database = "deadbolt.db"
	}
	st, err := app.OpenStore(ctx, database)
	if err != nil {
		return err
	}
	defer st.Close()
	hasher := password.New(password.DefaultParams, 0)
	svc := accounts.New(st, hasher, audit.New(st, deadbolt.SystemClock{}, slog.New(slog.DiscardHandler)), deadbolt.SystemClock{}, nil)
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
	need := func(n int) error {
		if len(positional) != n {
			fmt.Fprintln(stdout, adminUsage)
			return errUsage
		}
		return nil
	}

	switch verb {
	case "add":
		if err := need(1); err != nil {
			return err
		}
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
		if err := need(0); err != nil {
			return err
		}
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
		if err := need(1); err != nil {
			return err
		}
		u, err := svc.SetActive(ctx, op, positional[0], verb == "activate")
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "%sd %s\n", verb, u.Login)
	case "import":
		if err := need(1); err != nil {
			return err
		}
		return cmdAdminImport(ctx, svc, op, positional[0], *dryRun, stdin, stdout)
	case "reset-password":
		if err := need(1); err != nil {
			return err
		}
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
	default:
		fmt.Fprintln(stdout, adminUsage)
		return errUsage
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
