package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"deadbolt/internal/app"
	"deadbolt/internal/store/sqlite"
)

// cmdBackup copies a live SQLite database to a new file.
func cmdBackup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var dest []string
	var flags []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--database" || args[i] == "-database" {
			if i+1 < len(args) {
				flags = append(flags, args[i], args[i+1])
				i++
			}
			continue
		}
		if len(args[i]) > 0 && args[i][0] == '-' {
			flags = append(flags, args[i])
			continue
		}
		dest = append(dest, args[i])
	}
	v, _, err := parseSettings("backup", []setting{serveSettings[1]}, flags, getenv, stdout)
	if err != nil {
		return err
	}
	if len(dest) != 1 {
		fmt.Fprintln(stdout, "usage: deadbolt backup DEST [--database PATH]")
		return errUsage
	}
	if app.IsPostgres(v["database"]) {
		return errors.New("backup copies SQLite databases; for PostgreSQL use pg_dump")
	}
	if _, err := os.Stat(dest[0]); err == nil {
		return fmt.Errorf("%s already exists", dest[0])
	}
	if _, err := os.Stat(v["database"]); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	st, err := sqlite.Open(ctx, v["database"], false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, dest[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", dest[0])
	return nil
}
