package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"deadbolt/internal/accounts"
	"deadbolt/internal/app"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
	"deadbolt/internal/smscode"
)

// cmdAdminPhone runs "admin phone lookup E164" and "admin phone remove
// LOGIN" against the database directly, as the server operator. Flags may
// come before, between or after the arguments.
func cmdAdminPhone(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin phone", flag.ContinueOnError)
	fs.SetOutput(stdout)
	db := fs.String("database", "", "database (env DEADBOLT_DATABASE, default deadbolt.db)")
	region := fs.String("phone-region", "", "region of numbers typed without a country code (env DEADBOLT_PHONE_REGION, default US)")
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 2 || (positional[0] != "lookup" && positional[0] != "remove") {
		fmt.Fprintln(stdout, adminUsage)
		return errUsage
	}
	database := firstSet(*db, getenv("DEADBOLT_DATABASE"), "deadbolt.db")
	st, err := app.OpenStore(ctx, database)
	if err != nil {
		return err
	}
	defer st.Close()

	cfg := smscode.DefaultConfig()
	cfg.Region = strings.ToUpper(firstSet(*region, getenv("DEADBOLT_PHONE_REGION"), cfg.Region))
	if err := cfg.Validate(); err != nil {
		return settingError("phone-region", fmt.Errorf("%q is not a two-letter region code such as US or GB", cfg.Region))
	}
	clock := deadbolt.SystemClock{}
	quiet := slog.New(slog.DiscardHandler)
	auditLog := audit.New(st, clock, quiet)
	// Looking up and freeing numbers sends nothing: no provider, and a key
	// that only hashes codes this command never makes.
	svc, err := smscode.New(st, nil, bytes.Repeat([]byte{0}, 32), auditLog, clock, cfg, quiet)
	if err != nil {
		return err
	}
	acc := accounts.New(st, password.New(password.DefaultParams, 1), auditLog, clock, nil)
	op := accounts.Actor{IP: "cli"}

	switch positional[0] {
	case "lookup":
		u, err := svc.Holder(ctx, positional[1])
		if err != nil {
			return cliError(err)
		}
		state := "active"
		if !u.Active {
			state = "deactivated"
		}
		fmt.Fprintf(stdout, "%s is linked to %s (id %s, %s)\n", u.Phone, u.Login, u.ID, state)
	case "remove":
		u, err := acc.Get(ctx, op, positional[1])
		if err != nil {
			return cliError(err)
		}
		number := u.Phone
		if err := svc.RemoveByAdmin(ctx, u, "", op.IP); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "removed %s from %s; the number is free\n", number, u.Login)
	}
	return nil
}

// firstSet returns the first non-empty value.
func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
