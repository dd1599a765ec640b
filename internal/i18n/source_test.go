package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The messages of errors are written in English where the errors are made;
// this file finds every one of them in the source, so that a test can fail
// when one has no translation. A message is the constant format passed to
//
//   - deadbolt.Errorf, deadbolt.RateLimited, deadbolt.WithMessage,
//     deadbolt.WithMessagef or deadbolt.Phrase (a sentence that becomes
//     part of a message), or
//   - a function or method of the same package whose parameters end in
//     (format string, args ...any) and which passes them on (a helper
//     such as formError),
//
// plus the general sentences of the codes (deadbolt/error.go). A format
// that is a parameter named format, forwarded, is the caller's; "%s" and
// "%v" alone only pass other words on. Anything else where a message goes
// (a variable, a call) is reported, since nobody could translate it.

// sourceMessage is one message found in the source.
type sourceMessage struct {
	format string
	pos    string
}

// moduleRoot is the repository's root, two levels above this file.
func moduleRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// messageFuncs are the deadbolt functions that take a message, with the
// index of the message argument.
var messageFuncs = map[string]int{"Errorf": 1, "RateLimited": 1, "WithMessage": 2, "WithMessagef": 2, "Phrase": 0}

// scanMessages returns every message of the production Go files under
// internal/ (test helpers and the outside clients excluded), and the
// places where a message is not a constant.
func scanMessages(t *testing.T) (msgs []sourceMessage, bad []string) {
	t.Helper()
	root := moduleRoot(t)
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{}
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "deadbolttest", "browsertest", "storetest", "pgtest", "webpushtest", "deviceclient":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rel := func(p token.Pos) string {
		pos := fset.Position(p)
		r, _ := filepath.Rel(root, pos.Filename)
		return fmt.Sprintf("%s:%d", filepath.ToSlash(r), pos.Line)
	}
	for dir, files := range pkgs {
		inDeadbolt := filepath.Base(dir) == "deadbolt"
		// The helpers of this package: name → index of the format.
		helpers := map[string]int{}
		for _, f := range files {
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok {
					continue
				}
				if i := formatParam(fd.Type); i >= 0 && !(inDeadbolt && messageFuncs[fd.Name.Name] == i) {
					helpers[fd.Name.Name] = i
				}
			}
		}
		for _, f := range files {
			if inDeadbolt && strings.HasSuffix(fset.Position(f.Pos()).Filename, "error.go") {
				msgs = append(msgs, sentences(t, f, rel)...)
			}
			var stack []ast.Node
			ast.Inspect(f, func(n ast.Node) bool {
				if n == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				stack = append(stack, n)
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				idx := -1
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := fn.X.(*ast.Ident); ok && x.Name == "deadbolt" {
						if i, ok := messageFuncs[fn.Sel.Name]; ok {
							idx = i
						}
					} else if i, ok := helpers[fn.Sel.Name]; ok {
						idx = i
					}
				case *ast.Ident:
					if i, ok := messageFuncs[fn.Name]; ok && inDeadbolt {
						idx = i
					} else if i, ok := helpers[fn.Name]; ok {
						idx = i
					}
				}
				if idx < 0 || idx >= len(call.Args) {
					return true
				}
				arg := call.Args[idx]
				if s, ok := constString(arg); ok {
					if s != "%s" && s != "%v" && s != "" {
						msgs = append(msgs, sourceMessage{format: s, pos: rel(arg.Pos())})
					}
					return true
				}
				if id, ok := arg.(*ast.Ident); ok && id.Name == "format" && enclosingHasFormat(stack) {
					return true
				}
				bad = append(bad, rel(arg.Pos()))
				return true
			})
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].pos < msgs[j].pos })
	return msgs, bad
}

// formatParam returns the index of a parameter "format string" directly
// followed by a final "args ...any", or -1.
func formatParam(ft *ast.FuncType) int {
	var names []string
	var types []string
	for _, p := range ft.Params.List {
		typ := exprString(p.Type)
		if len(p.Names) == 0 {
			names, types = append(names, ""), append(types, typ)
		}
		for _, n := range p.Names {
			names, types = append(names, n.Name), append(types, typ)
		}
	}
	n := len(names)
	if n < 2 || types[n-1] != "...any" || names[n-2] != "format" || types[n-2] != "string" {
		return -1
	}
	return n - 2
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.Ellipsis:
		return "..." + exprString(x.Elt)
	case *ast.InterfaceType:
		if len(x.Methods.List) == 0 {
			return "any"
		}
	}
	return fmt.Sprintf("%T", e)
}

// enclosingHasFormat reports whether the innermost function around the
// node has a parameter named format.
func enclosingHasFormat(stack []ast.Node) bool {
	for i := len(stack) - 1; i >= 0; i-- {
		var ft *ast.FuncType
		switch f := stack[i].(type) {
		case *ast.FuncDecl:
			ft = f.Type
		case *ast.FuncLit:
			ft = f.Type
		default:
			continue
		}
		for _, p := range ft.Params.List {
			for _, n := range p.Names {
				if n.Name == "format" {
					return true
				}
			}
		}
		return false
	}
	return false
}

// constString returns the value of a string literal, or of literals joined
// with +.
func constString(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		a, ok1 := constString(x.X)
		b, ok2 := constString(x.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return constString(x.X)
	}
	return "", false
}

// sentences returns the values of the sentences map of deadbolt/error.go.
func sentences(t *testing.T, f *ast.File, rel func(token.Pos) string) []sourceMessage {
	var out []sourceMessage
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "sentences" || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		for _, el := range lit.Elts {
			kv := el.(*ast.KeyValueExpr)
			if s, ok := constString(kv.Value); ok {
				out = append(out, sourceMessage{format: s, pos: rel(kv.Value.Pos())})
			}
		}
		return false
	})
	if len(out) < 20 {
		t.Fatalf("found only %d general sentences in deadbolt/error.go", len(out))
	}
	return out
}

// TestErrorMessagesTranslated: every error message of the source has a
// translation in every language but English, and no language keeps a
// translation of a message the source no longer has. A message that is
// not a constant is a failure too.
func TestErrorMessagesTranslated(t *testing.T) {
	msgs, bad := scanMessages(t)
	if len(msgs) < 150 {
		t.Fatalf("found only %d error messages in the source; is the scan broken?", len(msgs))
	}
	for _, p := range bad {
		t.Errorf("%s: the message is not a constant string, so it cannot be translated (use a literal, or deadbolt.Phrase where it is made)", p)
	}
	formats := map[string]bool{}
	for _, m := range msgs {
		formats[m.format] = true
	}
	for _, l := range Languages() {
		if l.code == Default {
			if len(l.errors) > 0 {
				t.Errorf("en.json has an errors section; English messages are written in the source")
			}
			continue
		}
		var missing []string
		seen := map[string]bool{}
		for _, m := range msgs {
			if _, ok := l.errors[m.format]; !ok && !seen[m.format] {
				seen[m.format] = true
				missing = append(missing, fmt.Sprintf("%s: %q", m.pos, m.format))
			}
		}
		for _, m := range missing {
			t.Errorf("%s.json lacks the translation of the error message at %s", l.code, m)
		}
		var stale []string
		for f := range l.errors {
			if !formats[f] {
				stale = append(stale, f)
			}
		}
		slices.Sort(stale)
		for _, f := range stale {
			t.Errorf("%s.json translates %q, which no error of the source says any more", l.code, f)
		}
	}
	if os.Getenv("I18N_LIST_MISSING") != "" {
		for _, m := range msgs {
			if !Get("ru").Translated(m.format) {
				fmt.Printf("%q\n", m.format)
			}
		}
	}
}
