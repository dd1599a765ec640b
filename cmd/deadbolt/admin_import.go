package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"deadbolt/internal/accounts"
	"deadbolt/internal/accounts/csvimport"
)

// cmdAdminImport creates employees from a CSV file ("-" reads standard
// input), all or nothing; with dryRun it only checks the rows. Every bad
// row is printed with its line number; any makes the command fail.
func cmdAdminImport(ctx context.Context, svc *accounts.Service, op accounts.Actor, path string, dryRun bool, stdin io.Reader, stdout io.Writer) error {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, csvimport.MaxBytes+1))
	if err != nil {
		return err
	}
	rep, err := csvimport.Import(ctx, svc, op, data, dryRun)
	if err != nil {
		return cliError(err)
	}
	for _, p := range rep.Problems {
		login := p.Login
		if login == "" {
			login = "-"
		}
		fmt.Fprintf(stdout, "line %d: %s: %s: %s\n", p.Line, login, p.Reason, p.Message)
	}
	if rep.Truncated {
		fmt.Fprintf(stdout, "(only the first %d problems are listed)\n", len(rep.Problems))
	}
	for _, c := range rep.Created {
		fmt.Fprintf(stdout, "created %s (id %s)", c.Login, c.ID)
		if c.Password != "" {
			fmt.Fprintf(stdout, " password: %s", c.Password)
		}
		fmt.Fprintln(stdout)
	}
	switch {
	case dryRun && rep.OK():
		fmt.Fprintf(stdout, "dry run: all %d rows are valid; nothing created\n", rep.Total)
	case dryRun:
		return fmt.Errorf("dry run: %d of %d rows have problems; nothing created", len(rep.Problems), rep.Total)
	case len(rep.Created) > 0 && !rep.OK():
		return fmt.Errorf("import stopped after creating %d of %d employees", len(rep.Created), len(rep.Rows))
	case !rep.OK():
		return fmt.Errorf("%d of %d rows have problems; nothing created", len(rep.Problems), rep.Total)
	default:
		fmt.Fprintf(stdout, "imported %d employees\n", len(rep.Created))
	}
	return nil
}
