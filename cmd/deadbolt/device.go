package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"deadbolt/internal/deviceclient"
	"deadbolt/internal/totp"
)

const deviceUsage = `usage:
  deadbolt device pair URL [--state FILE] [--name NAME] [--force]
  deadbolt device code [--state FILE]
  deadbolt device status [--state FILE]
  deadbolt device watch [--state FILE]     answer sign-in requests in this terminal

The state file defaults to $DEADBOLT_DEVICE_STATE or ~/.config/deadbolt/device.json.
`

// cmdDevice runs the terminal companion.
func cmdDevice(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, deviceUsage)
		return errUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("device "+sub, flag.ContinueOnError)
	fs.SetOutput(stdout)
	statePath := fs.String("state", "", "device state file")
	var name *string
	var force *bool
	if sub == "pair" {
		host, _ := os.Hostname()
		if host == "" {
			host = "terminal"
		}
		name = fs.String("name", host, "device name shown on the Security page")
		force = fs.Bool("force", false, "replace an existing state file")
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		fmt.Fprint(stdout, deviceUsage)
		return errUsage
	}
	if !((sub == "pair" && len(pos) == 1) || ((sub == "code" || sub == "status" || sub == "watch") && len(pos) == 0)) {
		fmt.Fprint(stdout, deviceUsage)
		return errUsage
	}
	path := *statePath
	if path == "" {
		path = defaultStatePath(getenv)
	}
	if path == "" {
		return errors.New("no state file: set --state or $DEADBOLT_DEVICE_STATE")
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	switch {
	case sub == "pair" && len(pos) == 1:
		return devicePair(ctx, hc, pos[0], *name, path, *force, stdout)
	case sub == "code" && len(pos) == 0:
		st, err := deviceclient.Load(path)
		if err != nil {
			return err
		}
		return printCode(st, time.Now(), stdout)
	case sub == "watch":
		st, err := deviceclient.Load(path)
		if err != nil {
			return err
		}
		return deviceWatch(ctx, st, stdin, stdout)
	case sub == "status" && len(pos) == 0:
		st, err := deviceclient.Load(path)
		if err != nil {
			return err
		}
		err = st.Check(ctx, hc)
		var ae *deviceclient.APIError
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "connected to %s as %s\n", st.Server, accountLabel(st.Account))
			return nil
		case errors.As(err, &ae) && ae.Code == "device_disconnected":
			fmt.Fprintf(stdout, "disconnected from %s: scan a new QR code on the Security page and run \"deadbolt device pair URL --force\"\n", st.Server)
			return errors.New("device is disconnected")
		default:
			return err
		}
	}
	fmt.Fprint(stdout, deviceUsage)
	return errUsage
}

// parseInterleaved parses flags that may come before or after positional
// arguments and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func defaultStatePath(getenv func(string) string) string {
	if p := getenv("DEADBOLT_DEVICE_STATE"); p != "" {
		return p
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "deadbolt", "device.json")
	}
	return ""
}

func devicePair(ctx context.Context, hc *http.Client, pairURL, name, path string, force bool, stdout io.Writer) error {
	if _, err := os.Stat(path); err == nil && !force {
		return fmt.Errorf("%s already exists; use --force to replace it", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	st, err := deviceclient.Pair(ctx, hc, pairURL, name)
	if err != nil {
		return err
	}
	if err := st.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Paired with %s as %s (state in %s).\n", st.Server, accountLabel(st.Account), path)
	fmt.Fprintln(stdout, "Type this code into the browser that showed the QR code to finish pairing:")
	return printCode(st, time.Now(), stdout)
}

func printCode(st *deviceclient.State, now time.Time, stdout io.Writer) error {
	code, err := st.Code(now)
	if err != nil {
		return err
	}
	left := totp.Period - now.Unix()%totp.Period
	if left <= 0 {
		left += totp.Period
	}
	fmt.Fprintf(stdout, "%s  (%d seconds left)\n", code, left)
	return nil
}

func accountLabel(a deviceclient.Account) string {
	if a.Name != "" && a.Name != a.Login {
		return fmt.Sprintf("%s (%s)", a.Login, a.Name)
	}
	return a.Login
}

// askDecision asks what to do with a request until the answer is the
// number shown on the sign-in screen (exactly as many digits as the
// request says; Enter approves), "d" to deny or "r" to report. ok is false
// when the input ends.
func askDecision(in *bufio.Scanner, stdout io.Writer, r deviceclient.Request) (decision string, number *int, report, ok bool) {
	length := r.NumberLength()
	for {
		fmt.Fprintf(stdout, "Type the %d-digit number shown on the sign-in screen and press Enter to approve, \"d\" to deny, or \"r\" if this wasn't you: ", length)
		if !in.Scan() {
			return "", nil, false, false
		}
		answer := strings.TrimSpace(in.Text())
		switch strings.ToLower(answer) {
		case "d", "deny":
			return "deny", nil, false, true
		case "r", "report":
			return "deny", nil, true, true
		}
		if n, valid := r.ParseNumber(answer); valid {
			return "approve", &n, false, true
		}
		fmt.Fprintf(stdout, "That is not a %d-digit number.\n", length)
	}
}

// deviceWatch answers sign-in requests in the terminal: it waits for each
// request (long poll), shows where it comes from, and asks for the number
// shown on the sign-in screen.
func deviceWatch(ctx context.Context, st *deviceclient.State, stdin io.Reader, stdout io.Writer) error {
	hc := &http.Client{Timeout: 60 * time.Second}
	in := bufio.NewScanner(stdin)
	fmt.Fprintf(stdout, "Waiting for sign-in requests for %s (Ctrl+C to stop).\n", accountLabel(st.Account))
	seen := map[string]bool{}
	for ctx.Err() == nil {
		reqs, err := st.Requests(ctx, hc, 25*time.Second)
		var ae *deviceclient.APIError
		switch {
		case errors.As(err, &ae) && ae.Code == "device_disconnected":
			fmt.Fprintln(stdout, "This device was disconnected: scan a new QR code on the Security page and pair again.")
			return errors.New("device is disconnected")
		case ctx.Err() != nil:
			return nil
		case err != nil:
			fmt.Fprintf(stdout, "connection problem: %v; retrying\n", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(2 * time.Second):
			}
			continue
		}
		for _, r := range reqs {
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			c := r.Context
			if r.Purpose == "reauth" {
				fmt.Fprintf(stdout, "\nConfirm it is you, to change sign-in settings on %s, from %s on %s, IP %s, at %s\n", c["app"], c["browser"], c["os"], c["ip"], c["time"])
			} else {
				fmt.Fprintf(stdout, "\nSign-in to %s from %s on %s, IP %s, at %s\n", c["app"], c["browser"], c["os"], c["ip"], c["time"])
			}
			decision, number, report, ok := askDecision(in, stdout, r)
			if !ok {
				return nil
			}
			status, err := st.Decide(ctx, hc, r.ID, decision, number, report)
			if err != nil {
				fmt.Fprintf(stdout, "Could not answer: %v\n", err)
				continue
			}
			fmt.Fprintf(stdout, "Request %s.\n", status)
		}
	}
	return nil
}
