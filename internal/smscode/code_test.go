package smscode

import (
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{" 123 456 ", "123456", true},
		{"123-456", "123456", true},
		{"000000", "000000", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"１２３４５６", "", false},
		{"", "", false},
		{"123456\n", "", false},
	}
	for _, tc := range tests {
		got, ok := normalize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("normalize(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"123456", " 12-34 56", "", "abc", "1234567", "١٢٣٤٥٦"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := normalize(in)
		if !ok {
			if got != "" {
				t.Errorf("normalize(%q) = %q with ok false", in, got)
			}
			return
		}
		if len(got) != CodeDigits || !utf8.ValidString(got) {
			t.Fatalf("normalize(%q) = %q", in, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("normalize(%q) = %q holds a non-digit", in, got)
			}
		}
		if again, ok := normalize(got); !ok || again != got {
			t.Errorf("normalize(normalize(%q)) = %q, %v; want %q", in, again, ok, got)
		}
	})
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	first := map[byte]bool{}
	for range 2000 {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := normalize(c); !ok || got != c {
			t.Fatalf("newCode() = %q, not 6 digits", c)
		}
		seen[c] = true
		first[c[0]] = true
	}
	// 2000 draws from a million collide a few times at most, and every
	// leading digit (zero included) shows up.
	if len(seen) < 1990 || len(first) != 10 {
		t.Errorf("newCode gave %d distinct codes and %d leading digits in 2000 draws", len(seen), len(first))
	}
}
