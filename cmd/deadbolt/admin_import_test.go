package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestAdminImportCLI(t *testing.T) {
	dir := t.TempDir()
	env := envOf("DEADBOLT_DATABASE", filepath.Join(dir, "deadbolt.db"))
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return runOnce(t, env, stdin, append([]string{"admin", "user"}, args...)...)
	}
	if code, out, errs := run("alice-password-1\n", "add", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("add alice = %d %s %s", code, out, errs)
	}

	bad := write("bad.csv", "login,name,password,admin\nann,Ann,,no\nALICE,Taken,,\nbob,Bob,short,\nann,Again,,\n")
	for _, args := range [][]string{{"import", bad, "--dry-run"}, {"import", "--dry-run", bad}, {"import", bad}} {
		code, out, errs := run("", args...)
		if code != 1 {
			t.Errorf("%v = %d, want 1\n%s%s", args, code, out, errs)
		}
		for _, want := range []string{"line 3: alice: login_taken", "line 4: bob: bad_password", "line 5: ann: duplicate_login"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v printed %q, want %q", args, out, want)
			}
		}
		if !strings.Contains(errs, "3 of 4 rows have problems; nothing created") {
			t.Errorf("%v stderr %q", args, errs)
		}
	}

	good := write("good.csv", "login,name,password,admin\nann,Ann,,no\nbob,Bob,bob-password-1,yes\n")
	if code, out, errs := run("", "import", good, "--dry-run"); code != 0 || !strings.Contains(out, "all 2 rows are valid; nothing created") {
		t.Errorf("dry run of a good file = %d %q %q", code, out, errs)
	}
	if _, out, _ := run("", "list"); strings.Contains(out, "ann") {
		t.Fatalf("a dry run created ann:\n%s", out)
	}
	code, out, errs := run("", "import", good)
	if code != 0 || !strings.Contains(out, "imported 2 employees") {
		t.Fatalf("import = %d %q %q", code, out, errs)
	}
	if !regexp.MustCompile(`created ann \(id \S+\) password: \S{20}\n`).MatchString(out) ||
		!regexp.MustCompile(`created bob \(id \S+\)\n`).MatchString(out) {
		t.Errorf("import printed %q, want ann with a generated password and bob without", out)
	}
	if _, out, _ := run("", "list"); !strings.Contains(out, "ann") || !strings.Contains(out, "bob") {
		t.Errorf("after the import the list is\n%s", out)
	}

	// Standard input, and refused files.
	if code, out, _ := run("login\ncarl\n", "import", "-", "--dry-run"); code != 0 || !strings.Contains(out, "all 1 rows are valid") {
		t.Errorf("import - = %d %q", code, out)
	}
	if code, _, errs := run("", "import", write("empty.csv", "")); code != 1 || !strings.Contains(errs, "invalid_input") {
		t.Errorf("empty file = %d %q", code, errs)
	}
	if code, _, _ := run("", "import", filepath.Join(dir, "missing.csv")); code != 1 {
		t.Errorf("missing file = %d, want 1", code)
	}
	if code, _, _ := run("", "import"); code != 2 {
		t.Errorf("import without a file = %d, want 2 (usage)", code)
	}
}
