package deadbolt_test

import (
	"go/build"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The house rules of dependencies (ARCHITECTURE.md): security decisions
// live in packages that know nothing of HTTP or SQL; only the assembly
// (internal/app, cmd) wires stores in.
var forbidden = map[string][]string{
	"deadbolt/internal/deadbolt":       {"deadbolt/", "net/http", "database/sql"},
	"deadbolt/internal/signin":         {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/totp":           {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/recovery":       {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/password":       {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/device":         {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/policy":         {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/workgroups":     {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/accounts":       {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/apps":           {"deadbolt/internal/store/", "deadbolt/internal/web", "net/http", "database/sql"},
	"deadbolt/internal/smscode":        {"deadbolt/internal/store/", "deadbolt/internal/web", "database/sql"},
	"deadbolt/internal/web":            {"deadbolt/internal/store/", "database/sql"},
	"deadbolt/internal/store/sqlite":   {"deadbolt/internal/web", "deadbolt/internal/signin", "deadbolt/internal/app"},
	"deadbolt/internal/store/postgres": {"deadbolt/internal/web", "deadbolt/internal/signin", "deadbolt/internal/app"},
}

// TestLayout checks every package's transitive imports (tests excluded)
// against the rules.
func TestLayout(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	for pkg, bad := range forbidden {
		deps := map[string]bool{}
		var walk func(string)
		walk = func(p string) {
			dir := filepath.Join(root, strings.TrimPrefix(p, "deadbolt/"))
			bp, err := build.ImportDir(dir, 0)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for _, imp := range bp.Imports {
				if deps[imp] {
					continue
				}
				deps[imp] = true
				if strings.HasPrefix(imp, "deadbolt/") {
					walk(imp)
				}
			}
		}
		walk(pkg)
		for dep := range deps {
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b) && strings.HasSuffix(b, "/") {
					t.Errorf("%s depends on %s, which the layout forbids", pkg, dep)
				}
			}
		}
	}
}
