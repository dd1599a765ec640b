// Command deadbolt is the Deadbolt two-factor sign-in server and its
// administration tools.
//
//	deadbolt [serve] [flags]       run the server (the default)
//	deadbolt migrate [flags]       apply database migrations and exit
//	deadbolt admin user …          manage employees from the command line
//	deadbolt backup DEST [flags]   copy a live SQLite database
//	deadbolt version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal drains the server; a second one stops it at
		// once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		cmd, rest = rest[0], rest[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout)
	case "admin":
		err = cmdAdmin(ctx, rest, getenv, stdin, stdout, stderr)
	case "device":
		err = cmdDevice(ctx, rest, getenv, stdin, stdout)
	case "backup":
		err = cmdBackup(ctx, rest, getenv, stdout)
	case "version":
		fmt.Fprintln(stdout, "deadbolt", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("unknown command %q (try: deadbolt help)", cmd)
	}
	if err == errUsage {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "deadbolt:", err)
		return 1
	}
	return 0
}

const usage = `Deadbolt — self-hosted two-factor sign-in.

Usage:
  deadbolt [serve] [flags]          run the server (default: 127.0.0.1:8080, SQLite deadbolt.db)
  deadbolt migrate [flags]          apply database migrations and exit
  deadbolt admin user add LOGIN [--name N] [--admin] [--password-stdin]
  deadbolt admin user list
  deadbolt admin user deactivate LOGIN
  deadbolt admin user reset-password LOGIN [--password-stdin]
  deadbolt admin user reset-2fa|unlock|sessions|end-sessions LOGIN
  deadbolt admin user import FILE [--dry-run]
  deadbolt admin user exempt LOGIN --until TIME | --end
  deadbolt admin workgroup add|list|show|add-member|policy …   workgroups and their 2FA policy
  deadbolt admin phone lookup E164        which account holds a phone number
  deadbolt admin phone remove LOGIN       free an employee's phone number
  deadbolt device pair URL [--state FILE] [--name NAME]   pair this terminal as a trusted device
  deadbolt device code|status|watch [--state FILE]
  deadbolt backup DEST [--database PATH]   online copy of a SQLite database
  deadbolt version

Run "deadbolt serve -h" for every setting. Settings also come from
DEADBOLT_… environment variables and from a config file (--config). The
admin commands read the same settings as serve (database, master key, hash
parameters, time zone, …), so give them what the server is given.
`
