package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"deadbolt/internal/app"
	"deadbolt/internal/webpush"
)

// adminSettings gives an administration command the server's settings —
// as flags, DEADBOLT_ variables and config-file keys, exactly as serve reads
// them — so that it acts through the services the server runs with: the
// same hash parameters, master key, organisation time zone, SMS settings
// and notifier (on PostgreSQL its disconnections wake the devices waiting
// on every node).
type adminSettings struct {
	fs     *flag.FlagSet
	sf     *settingFlags
	getenv func(string) string
	stderr io.Writer
}

// newAdminFlags returns the flag set of an administration command with the
// server's settings registered on it; the caller adds its own flags.
func newAdminFlags(name string, getenv func(string) string, stdout, stderr io.Writer) (*flag.FlagSet, *adminSettings) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	return fs, &adminSettings{fs: fs, sf: addSettings(fs, serveSettings), getenv: getenv, stderr: stderr}
}

// parse parses args, flags and positional arguments in any order, and
// returns the positional ones.
func (as *adminSettings) parse(args []string) ([]string, error) {
	return parseInterleaved(as.fs, expandBoolFlags(args, "dev"))
}

// open resolves the settings, validated as serve validates them, and opens
// the application over the database they name. With SQLite and no key
// file yet, the key file is created as serve would create it — and removed
// again if the database's secrets turn out to be sealed with another key.
func (as *adminSettings) open(ctx context.Context) (*app.App, error) {
	v, err := as.sf.resolve(as.fs, as.getenv)
	if err != nil {
		return nil, err
	}
	keyFile := v["master-key-file"]
	_, statErr := os.Stat(keyFile)
	keyMissing := v["master-key"] == "" && errors.Is(statErr, os.ErrNotExist)
	cfg, _, err := serveConfig(v, as.stderr)
	if err != nil {
		return nil, err
	}
	cfg.Version = version
	a, err := app.Open(ctx, cfg)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, webpush.ErrKeys) {
		return nil, err
	}
	if keyMissing {
		os.Remove(keyFile) // made by this command, and of no use with this database
	}
	return nil, fmt.Errorf("%w: give this command the server's master key (--master-key, or --master-key-file; now %s)", err, keyFile)
}
