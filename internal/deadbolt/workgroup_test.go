package deadbolt

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFoldName(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"Engineering", "engineering", true},
		{"ENGINEERING", "engineering", true},
		{"  Ops ", "ops", true},
		{"Équipe", "éQUIPE", true},
		{"Straße", "STRASSE", false},    // no multi-rune folding
		{"Kelvin", "\u212Aelvin", true}, // KELVIN SIGN folds with K and k
		{"ΣΊΣΥΦΟΣ", "σίσυφος", true},
		{"Σ", "ς", true},
		{"ops", "op s", false},
		{"Sales", "Sales2", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := FoldName(tt.a) == FoldName(tt.b); got != tt.same {
				t.Errorf("FoldName(%q) == FoldName(%q) is %v, want %v (%q, %q)", tt.a, tt.b, got, tt.same, FoldName(tt.a), FoldName(tt.b))
			}
		})
	}
}

// FuzzFoldName checks that two names have the same key exactly when
// strings.EqualFold holds for them once trimmed, and that folding is
// idempotent.
func FuzzFoldName(f *testing.F) {
	f.Add("Engineering", "ENGINEERING")
	f.Add("Équipe", "équipe")
	f.Add("\u212A", "k")
	f.Add("ſ", "S")
	f.Add(" a", "b ")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			t.Skip()
		}
		ka, kb := FoldName(a), FoldName(b)
		want := strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
		if (ka == kb) != want {
			t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q; EqualFold = %v", a, ka, b, kb, want)
		}
		if again := FoldName(ka); again != ka {
			t.Errorf("FoldName(FoldName(%q)) = %q, want %q", a, again, ka)
		}
	})
}
