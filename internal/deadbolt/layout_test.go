package deadbolt_test

import (
	"errors"
	"go/build"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The house rules of dependencies (ARCHITECTURE.md): security decisions
// live in packages that know nothing of HTTP or SQL; stores persist and
// know only the domain; only the assembly (internal/app, cmd) wires stores
// in. Every package under internal/ and cmd/ has a rule here — a new
// package without one fails TestLayout, so that nobody forgets to decide.
//
// A rule lists, for a package and (never) every package it depends on,
// directly or not (tests excluded):
//   - only: when set, the project packages it may import directly; an
//     entry ending in "/" stands for a whole subtree;
//   - never: packages none of its dependencies may be, "/" likewise.

type rule struct {
	only  []string
	never []string
}

const mod = "deadbolt/"

var (
	// Packages that talk to nothing: no store, no web, no assembly, and
	// neither HTTP nor SQL.
	pure = rule{never: []string{mod + "internal/store/", mod + "internal/web", mod + "internal/app", mod + "cmd/", "net/http", "database/sql"}}
	// Security packages that call outside services over HTTP (SMS
	// providers, hosted CAPTCHAs, Web Push services): no store, no web,
	// no SQL.
	client = rule{never: []string{mod + "internal/store/", mod + "internal/web", mod + "internal/app", mod + "cmd/", "database/sql"}}
	// A store knows the domain and its own subpackages, nothing else of
	// the project.
	store = func(name string) rule {
		return rule{only: []string{mod + "internal/deadbolt", mod + "internal/store/" + name + "/"}}
	}
	// Test helpers that must stay leaves.
	leaf = rule{only: []string{}}
	// Code outside the server proper (the load generator, the device
	// client): it speaks HTTP to a server and never opens its database.
	outside = rule{never: []string{mod + "internal/store/", mod + "internal/web", mod + "internal/app", "database/sql"}}
	// No production package may depend on a test helper.
	testHelpers = []string{mod + "internal/deadbolttest", mod + "internal/browsertest", mod + "internal/store/storetest",
		mod + "internal/store/postgres/pgtest", mod + "internal/webpush/webpushtest", mod + "internal/proxytest",
		mod + "internal/faultproxy", mod + "internal/passkey/passkeytest"}
	production = rule{never: testHelpers}
)

var rules = map[string]rule{
	"internal/deadbolt": {only: []string{}, never: []string{"net/http", "database/sql"}},
	// The catalogue knows the domain's Words and nothing else of the
	// project.
	"internal/i18n": {only: []string{mod + "internal/deadbolt"}, never: pure.never},

	"internal/accounts":           pure,
	"internal/accounts/csvimport": pure,
	"internal/apps":               pure,
	"internal/audit":              pure,
	"internal/authz":              pure,
	"internal/device":             pure,
	"internal/password":           pure,
	// The WebAuthn library it wraps reads JSON, never a request.
	"internal/passkey":    pure,
	"internal/phone":      pure,
	"internal/policy":     pure,
	"internal/recovery":   pure,
	"internal/seal":       pure,
	"internal/signin":     pure,
	"internal/totp":       pure,
	"internal/workgroups": pure,

	"internal/captcha": client,
	"internal/sms":     client,
	"internal/smscode": client,
	"internal/webpush": client,
	"internal/oidc":    client,

	"internal/store/sqlite":   store("sqlite"),
	"internal/store/postgres": store("postgres"),

	// HTTP in front of the services, never a store.
	"internal/web": {never: append([]string{mod + "internal/store/", mod + "internal/app", mod + "cmd/", "database/sql"}, testHelpers...)},
	// The composition roots: anything but a test helper.
	"internal/app":          production,
	"cmd/deadbolt":          production,
	"internal/deviceclient": outside,
	"cmd/deadbolt-load":     outside,

	// Test helpers.
	"internal/store/storetest":       {only: []string{mod + "internal/deadbolt"}},
	"internal/store/postgres/pgtest": leaf,
	"internal/webpush/webpushtest":   leaf,
	// Real reverse proxies (nginx, Caddy) for forward-auth tests.
	"internal/proxytest": leaf,
	// A TCP proxy that injects network faults (store and server tests).
	"internal/faultproxy":          leaf,
	"internal/passkey/passkeytest": leaf,
	// The harnesses start real servers through the composition root.
	"internal/deadbolttest": {only: []string{mod + "internal/app", mod + "internal/deadbolt", mod + "internal/captcha",
		mod + "internal/password", mod + "internal/deviceclient", mod + "internal/store/postgres/pgtest"}},
	"internal/browsertest": {only: []string{mod + "internal/deadbolttest", mod + "internal/deadbolt", mod + "internal/deviceclient", mod + "internal/totp"}},
}

// matches reports whether pkg is pattern, or lies in its subtree when
// pattern ends in "/".
func matches(pkg, pattern string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(pkg, pattern) || pkg == strings.TrimSuffix(pattern, "/")
	}
	return pkg == pattern
}

func root(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// packages lists the project's packages under internal/ and cmd/, as
// paths relative to the module root.
func packages(t *testing.T, root string) []string {
	var out []string
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
				return filepath.SkipDir
			}
			_, err = build.ImportDir(path, 0)
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				return nil
			}
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// imports returns the non-test imports of the package in dir.
func imports(t *testing.T, root, pkg string) []string {
	bp, err := build.ImportDir(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(pkg, mod))), 0)
	if err != nil {
		t.Fatalf("%s: %v", pkg, err)
	}
	return bp.Imports
}

// TestLayout checks every package's imports against its rule, and that
// every package has one.
func TestLayout(t *testing.T) {
	root := root(t)
	pkgs := packages(t, root)
	if len(pkgs) < 25 {
		t.Fatalf("found only %d packages under internal/ and cmd/: %v", len(pkgs), pkgs)
	}
	for _, rel := range pkgs {
		r, ok := rules[rel]
		if !ok {
			t.Errorf("package %s has no layout rule: add one to internal/deadbolt/layout_test.go", rel)
			continue
		}
		pkg := mod + rel
		if r.only != nil {
			for _, imp := range imports(t, root, pkg) {
				if !strings.HasPrefix(imp, mod) || imp == pkg {
					continue
				}
				if !slices.ContainsFunc(r.only, func(p string) bool { return matches(imp, p) }) {
					t.Errorf("%s imports %s, which its layout rule does not allow", pkg, imp)
				}
			}
		}
		deps := map[string]bool{}
		var walk func(string)
		walk = func(p string) {
			for _, imp := range imports(t, root, p) {
				if deps[imp] {
					continue
				}
				deps[imp] = true
				if strings.HasPrefix(imp, mod) {
					walk(imp)
				}
			}
		}
		walk(pkg)
		for dep := range deps {
			for _, bad := range r.never {
				if matches(dep, bad) {
					t.Errorf("%s depends on %s, which the layout forbids", pkg, dep)
				}
			}
		}
	}
	for rel := range rules {
		if !slices.Contains(pkgs, rel) {
			t.Errorf("layout rule for %s, a package that does not exist", rel)
		}
	}
}

// TestLayoutCatchesBreaches checks the checker: each rule kind refuses
// what it should.
func TestLayoutCatchesBreaches(t *testing.T) {
	cases := []struct {
		rule rule
		dep  string
		bad  bool
	}{
		{pure, mod + "internal/store/sqlite", true},
		{pure, mod + "internal/web", true},
		{pure, "net/http", true},
		{pure, mod + "internal/deadbolt", false},
		{client, "net/http", false},
		{client, mod + "internal/store/postgres/pgtest", true},
		{production, mod + "internal/deadbolttest", true},
		{production, mod + "internal/store/sqlite", false},
	}
	for _, c := range cases {
		got := slices.ContainsFunc(c.rule.never, func(p string) bool { return matches(c.dep, p) })
		if got != c.bad {
			t.Errorf("rule %v refuses %s = %v, want %v", c.rule.never, c.dep, got, c.bad)
		}
	}
	sqliteOnly := store("sqlite").only
	for dep, ok := range map[string]bool{
		mod + "internal/deadbolt":           true,
		mod + "internal/store/sqlite/inner": true,
		mod + "internal/store/postgres":     false,
		mod + "internal/deadbolttest":       false,
	} {
		if got := slices.ContainsFunc(sqliteOnly, func(p string) bool { return matches(dep, p) }); got != ok {
			t.Errorf("the sqlite store may import %s = %v, want %v", dep, got, ok)
		}
	}
}
