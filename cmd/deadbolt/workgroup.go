package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // the organisation time zone must work on hosts without a zone database

	"deadbolt/internal/accounts"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/policy"
	"deadbolt/internal/workgroups"
)

const workgroupUsage = `usage:
  deadbolt admin workgroup add NAME
  deadbolt admin workgroup list
  deadbolt admin workgroup show WORKGROUP
  deadbolt admin workgroup rename WORKGROUP NAME
  deadbolt admin workgroup delete WORKGROUP
  deadbolt admin workgroup add-member WORKGROUP LOGIN
  deadbolt admin workgroup remove-member WORKGROUP LOGIN
  deadbolt admin workgroup policy WORKGROUP [--required] [--deadline TIME] [--paused-until TIME] [--paused] [--after-deadline banner|block] [--min-method any|no_sms|phishing_resistant]
  deadbolt admin user exempt LOGIN --until TIME | --end
WORKGROUP is a workgroup's id or name. TIME is RFC 3339 (2026-12-01T00:00:00Z)
or a date (2026-12-01, meaning its midnight UTC). policy replaces the whole
policy: a later --deadline extends it, --paused-until turns it off until then,
--required=false turns it off.
Every command reads the server's settings as "deadbolt serve" does:
--database PATH|postgres://… (env DEADBOLT_DATABASE), the master key, the
organisation time zone, …`

// policySettings reads the organisation's time zone and the period of the
// login parameters check.
func policySettings(v values) (*time.Location, time.Duration, error) {
	name := v["org-timezone"]
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, 0, settingError("org-timezone", fmt.Errorf("%q is not an IANA time zone such as UTC or Europe/Paris", name))
	}
	every, err := v.duration("check-every")
	if err != nil {
		return nil, 0, err
	}
	return loc, every, nil
}

// cliTime parses a time given on the command line: RFC 3339, or a bare date
// meaning its midnight UTC.
func cliTime(field, s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return workgroups.ParseTime(field, d.Format(time.RFC3339))
	}
	return workgroups.ParseTime(field, s)
}

// cmdAdminWorkgroup runs "deadbolt admin workgroup …".
func cmdAdminWorkgroup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stdout, workgroupUsage)
		return errUsage
	}
	verb := args[0]
	fs, settings := newAdminFlags("admin workgroup", getenv, stdout, stderr)
	required := fs.Bool("required", false, "require two-factor authentication")
	deadline := fs.String("deadline", "", "setup deadline")
	pausedUntil := fs.String("paused-until", "", "turn the requirement off until then")
	paused := fs.Bool("paused", false, "turn the requirement off until turned on again")
	after := fs.String("after-deadline", "banner", "banner or block")
	minMethod := fs.String("min-method", "any", "second factors that still count after the deadline: any, no_sms or phishing_resistant (passkeys only)")
	pos, err := settings.parse(args[1:])
	if err != nil {
		return errUsage
	}
	need := func(n int) error {
		if len(pos) != n {
			fmt.Fprintln(stdout, workgroupUsage)
			return errUsage
		}
		return nil
	}
	policyFlags := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "required", "deadline", "paused-until", "paused", "after-deadline", "min-method":
			policyFlags = true
		}
	})
	if policyFlags && verb != "policy" {
		fmt.Fprintln(stdout, workgroupUsage)
		return errUsage
	}
	switch verb {
	case "add", "list", "show", "rename", "delete", "add-member", "remove-member", "policy":
	default:
		fmt.Fprintln(stdout, workgroupUsage)
		return errUsage
	}
	want := map[string]int{"add": 1, "list": 0, "show": 1, "rename": 2, "delete": 1,
		"add-member": 2, "remove-member": 2, "policy": 1}
	if err := need(want[verb]); err != nil {
		return err
	}
	a, err := settings.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Workgroups
	op := accounts.Actor{IP: "cli"}

	switch verb {
	case "add":
		w, err := svc.Create(ctx, op, pos[0])
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "created workgroup %s (id %s)\n", w.Name, w.ID)
	case "list":
		list, err := svc.List(ctx, op)
		if err != nil {
			return cliError(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tMEMBERS\tPOLICY")
		for _, w := range list {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", w.ID, w.Name, w.Members, describePolicy(w.Policy))
		}
		return tw.Flush()
	case "show":
		w, err := svc.Get(ctx, op, pos[0])
		if err != nil {
			return cliError(err)
		}
		members, err := svc.Members(ctx, op, w.ID)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "%s (id %s)\npolicy: %s\n", w.Name, w.ID, describePolicy(w.Policy))
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tNAME\t2FA\tEXEMPT UNTIL")
		for _, u := range members {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", u.Login, u.Name, u.TwoFactorEnabled(), orDash(u.ExemptUntil))
		}
		return tw.Flush()
	case "rename":
		w, err := svc.Rename(ctx, op, pos[0], pos[1])
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "renamed workgroup %s to %s\n", w.ID, w.Name)
	case "delete":
		if err := svc.Delete(ctx, op, pos[0]); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "deleted workgroup %s\n", pos[0])
	case "add-member":
		added, u, err := svc.AddMember(ctx, op, pos[0], pos[1])
		if err != nil {
			return cliError(err)
		}
		if added {
			fmt.Fprintf(stdout, "added %s to %s\n", u.Login, pos[0])
		} else {
			fmt.Fprintf(stdout, "%s is already in %s\n", u.Login, pos[0])
		}
	case "remove-member":
		if err := svc.RemoveMember(ctx, op, pos[0], pos[1]); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", pos[1], pos[0])
	case "policy":
		p := policy.Policy{Required: *required, Paused: *paused, AfterDeadline: policy.AfterDeadline(*after),
			MinMethod: policy.MinMethod(*minMethod)}
		if p.Deadline, err = cliTime("deadline", *deadline); err != nil {
			return cliError(err)
		}
		if p.PausedUntil, err = cliTime("paused_until", *pausedUntil); err != nil {
			return cliError(err)
		}
		w, err := svc.SetPolicy(ctx, op, pos[0], p)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "policy of %s: %s\n", w.Name, describePolicy(w.Policy))
	}
	return nil
}

// cmdAdminExempt runs "deadbolt admin user exempt LOGIN --until TIME|--end".
func cmdAdminExempt(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, settings := newAdminFlags("admin user exempt", getenv, stdout, stderr)
	until := fs.String("until", "", "end of the exemption")
	end := fs.Bool("end", false, "end the exemption now")
	pos, err := settings.parse(args)
	if err != nil || len(pos) != 1 || (*until == "") == !*end {
		fmt.Fprintln(stdout, workgroupUsage)
		return errUsage
	}
	a, err := settings.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Workgroups
	op := accounts.Actor{IP: "cli"}
	if *end {
		u, err := svc.EndExemption(ctx, op, pos[0])
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "%s is no longer exempt\n", u.Login)
		return nil
	}
	t, err := cliTime("until", *until)
	if err != nil {
		return cliError(err)
	}
	u, err := svc.Exempt(ctx, op, pos[0], t)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "%s is exempt from the two-factor requirement until %s\n", u.Login, u.ExemptUntil.Format(time.RFC3339))
	return nil
}

func orDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// describePolicy renders a policy on one line.
func describePolicy(p deadbolt.WorkgroupPolicy) string {
	var parts []string
	switch {
	case p.Paused:
		parts = append(parts, "off until turned on again")
	case !p.PausedUntil.IsZero():
		parts = append(parts, "off until "+orDash(p.PausedUntil))
	case p.Required:
		parts = append(parts, "2FA required")
	default:
		return "2FA not required"
	}
	if !p.Deadline.IsZero() {
		parts = append(parts, "deadline "+orDash(p.Deadline))
	}
	if p.AfterDeadline == string(policy.AfterDeadlineBlock) {
		parts = append(parts, "then sign-in leads to setup")
	}
	switch policy.MinMethod(p.MinMethod) {
	case policy.MinNoSMS:
		parts = append(parts, "SMS codes no longer count after the deadline")
	case policy.MinPhishingResistant:
		parts = append(parts, "only passkeys count after the deadline")
	}
	return strings.Join(parts, ", ")
}
