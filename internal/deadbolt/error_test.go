package deadbolt_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"deadbolt/internal/deadbolt"
)

// codes lists every Code constant declared in error.go, read from the
// source so that a new code cannot be forgotten here.
func codes(t *testing.T) []deadbolt.Code {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []deadbolt.Code
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				s, err := strconv.Unquote(v.(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, deadbolt.Code(s))
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("found only %d codes in error.go", len(out))
	}
	return out
}

// TestEveryCodeHasASentence: an error without words of its own still
// reaches a person as a sentence.
func TestEveryCodeHasASentence(t *testing.T) {
	for _, c := range codes(t) {
		s := deadbolt.Sentence(c)
		if s == "" || !strings.HasSuffix(s, ".") || strings.ToUpper(s[:1]) != s[:1] {
			t.Errorf("Sentence(%q) = %q, want a sentence", c, s)
		}
		if got := deadbolt.ErrorMessage(deadbolt.StoreError(c, "store: detail %d", 42)); got != s {
			t.Errorf("ErrorMessage(StoreError(%q)) = %q, want %q", c, got, s)
		}
	}
}

func TestStoreErrorWording(t *testing.T) {
	stored := deadbolt.StoreError(deadbolt.CodeNotFound, "sqlite: user %s not found", "abc")
	if stored.Message != "" || !strings.Contains(stored.Error(), "sqlite: user abc not found") {
		t.Fatalf("StoreError = %#v (%q), want no message and the detail as cause", stored, stored.Error())
	}
	wrapped := fmt.Errorf("accounts: %w", stored)

	worded := deadbolt.WithMessage(wrapped, deadbolt.CodeNotFound, "Employee not found.")
	if deadbolt.ErrorCode(worded) != deadbolt.CodeNotFound || deadbolt.ErrorMessage(worded) != "Employee not found." {
		t.Errorf("WithMessage = %v (%q), want not_found with the words", worded, deadbolt.ErrorMessage(worded))
	}
	if !errors.Is(worded, stored) {
		t.Error("WithMessage lost the store's error as its cause")
	}
	// Words already there stay; other codes and other errors pass through.
	if again := deadbolt.WithMessage(worded, deadbolt.CodeNotFound, "Other words."); deadbolt.ErrorMessage(again) != "Employee not found." {
		t.Errorf("WithMessage over words = %q, want the first words kept", deadbolt.ErrorMessage(again))
	}
	if other := deadbolt.WithMessage(wrapped, deadbolt.CodeConflict, "Conflict."); other != wrapped {
		t.Errorf("WithMessage(other code) = %v, want the error unchanged", other)
	}
	plain := errors.New("disk on fire")
	if got := deadbolt.WithMessage(plain, deadbolt.CodeNotFound, "x"); got != plain || deadbolt.ErrorMessage(got) != "An internal error occurred." {
		t.Errorf("WithMessage(plain error) = %v, %q", got, deadbolt.ErrorMessage(got))
	}
	if deadbolt.WithMessage(nil, deadbolt.CodeNotFound, "x") != nil {
		t.Error("WithMessage(nil) is not nil")
	}
}
