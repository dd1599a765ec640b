package main

import (
	"context"
	"fmt"
	"io"

	"deadbolt/internal/accounts"
)

// cmdAdminPhone runs "admin phone lookup E164" and "admin phone remove
// LOGIN" against the database directly, as the server operator. Flags may
// come before, between or after the arguments.
func cmdAdminPhone(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	_, settings := newAdminFlags("admin phone", getenv, stdout, stderr)
	positional, err := settings.parse(args)
	if err != nil {
		return errUsage
	}
	if len(positional) != 2 || (positional[0] != "lookup" && positional[0] != "remove") {
		fmt.Fprintln(stdout, adminUsage)
		return errUsage
	}
	a, err := settings.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	svc, acc := a.SMS, a.Accounts
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
