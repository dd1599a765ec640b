package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/store/sqlite"
)

func TestAdminWorkgroupCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "deadbolt.db")
	env := envOf("DEADBOLT_DATABASE", db)
	ok := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errs := runOnce(t, env, stdin, args...)
		if code != 0 {
			t.Fatalf("%s = %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	ok("alice-password-1\n", "admin", "user", "add", "alice", "--password-stdin")
	if out := ok("", "admin", "workgroup", "add", "Engineering"); !strings.Contains(out, "created workgroup Engineering") {
		t.Errorf("workgroup add printed %q", out)
	}
	if out := ok("", "admin", "workgroup", "add-member", "engineering", "ALICE"); !strings.Contains(out, "added alice") {
		t.Errorf("add-member printed %q", out)
	}
	if out := ok("", "admin", "workgroup", "add-member", "Engineering", "alice"); !strings.Contains(out, "already") {
		t.Errorf("add-member again printed %q", out)
	}
	out := ok("", "admin", "workgroup", "policy", "Engineering", "--required", "--deadline", "2026-12-01T00:00:00Z", "--after-deadline", "block")
	if !strings.Contains(out, "2FA required, deadline 2026-12-01T00:00:00Z, then sign-in leads to setup") {
		t.Errorf("policy printed %q", out)
	}
	out = ok("", "admin", "workgroup", "policy", "Engineering", "--required", "--deadline", "2026-12-01T00:00:00Z", "--after-deadline", "block",
		"--min-method", "no_sms")
	if !strings.Contains(out, "SMS codes no longer count after the deadline") {
		t.Errorf("policy --min-method no_sms printed %q", out)
	}
	if out := ok("", "admin", "workgroup", "list"); !strings.Contains(out, "Engineering") || !strings.Contains(out, "deadline 2026-12-01") {
		t.Errorf("workgroup list printed %q", out)
	}
	if out := ok("", "admin", "workgroup", "show", "Engineering"); !strings.Contains(out, "alice") {
		t.Errorf("workgroup show printed %q", out)
	}
	if out := ok("", "admin", "user", "exempt", "alice", "--until", "2999-01-31"); !strings.Contains(out, "until 2999-01-31T00:00:00Z") {
		t.Errorf("user exempt printed %q", out)
	}
	// The existing verbs still work.
	if out := ok("", "admin", "user", "list"); !strings.Contains(out, "alice") {
		t.Errorf("user list printed %q", out)
	}

	bad := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"bad deadline", []string{"admin", "workgroup", "policy", "Engineering", "--required", "--deadline", "soon"}, 1, "invalid_input"},
		{"bad after-deadline", []string{"admin", "workgroup", "policy", "Engineering", "--required", "--after-deadline", "lock"}, 1, "invalid_input"},
		{"bad min-method", []string{"admin", "workgroup", "policy", "Engineering", "--required", "--min-method", "passkey"}, 1, "invalid_input"},
		{"unknown workgroup", []string{"admin", "workgroup", "add-member", "Sales", "alice"}, 1, "not_found"},
		{"unknown login", []string{"admin", "workgroup", "add-member", "Engineering", "nobody"}, 1, "not_found"},
		{"taken name", []string{"admin", "workgroup", "add", "ENGINEERING"}, 1, "conflict"},
		{"exempt in the past", []string{"admin", "user", "exempt", "alice", "--until", "2001-01-01"}, 1, "invalid_input"},
		{"exempt without until", []string{"admin", "user", "exempt", "alice"}, 2, ""},
		{"policy flag elsewhere", []string{"admin", "workgroup", "add", "Ops", "--required"}, 2, ""},
		{"missing name", []string{"admin", "workgroup", "add"}, 2, ""},
		{"unknown verb", []string{"admin", "workgroup", "frobnicate"}, 2, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runOnce(t, env, "", tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("%s = %d, stderr %q; want %d with %q\nstdout: %s", strings.Join(tt.args, " "), code, errs, tt.code, tt.want, out)
			}
		})
	}

	// What the commands stored.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.WorkgroupByName(ctx, "engineering")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if !w.Policy.Required || !w.Policy.Deadline.Equal(want) || w.Policy.AfterDeadline != "block" || w.Members != 1 {
		t.Errorf("stored workgroup = %+v", w)
	}
	u, _ := st.UserByLogin(ctx, "alice")
	if !u.ExemptUntil.Equal(time.Date(2999, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ExemptUntil = %v", u.ExemptUntil)
	}
	ok("", "admin", "user", "exempt", "alice", "--end")
	if u, _ := st.UserByLogin(ctx, "alice"); !u.ExemptUntil.IsZero() {
		t.Errorf("after --end ExemptUntil = %v", u.ExemptUntil)
	}
	ok("", "admin", "workgroup", "delete", "Engineering")
	if list, _ := st.ListWorkgroups(ctx); len(list) != 0 {
		t.Errorf("after delete: %v", list)
	}
}

func TestPolicySettings(t *testing.T) {
	tests := []struct {
		zone, every string
		ok          bool
	}{
		{"UTC", "4320h", true},
		{"Europe/Paris", "720h", true},
		{"Local", "4320h", false},
		{"", "4320h", false},
		{"Mars/Olympus", "4320h", false},
		{"UTC", "180d", false},
		{"UTC", "-1h", false},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.every, func(t *testing.T) {
			loc, every, err := policySettings(values{"org-timezone": tt.zone, "check-every": tt.every})
			if (err == nil) != tt.ok {
				t.Fatalf("policySettings(%q, %q) = %v, %v, %v; want ok %v", tt.zone, tt.every, loc, every, err, tt.ok)
			}
			if tt.ok && (loc.String() != tt.zone || every <= 0) {
				t.Errorf("policySettings(%q, %q) = %v, %v", tt.zone, tt.every, loc, every)
			}
		})
	}
}
