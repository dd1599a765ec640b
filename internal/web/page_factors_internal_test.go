package web

import (
	"slices"
	"testing"
)

func TestGroupDigits(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"482913", []string{"482", "913"}},
		{"4829135", []string{"4829", "135"}},
		{"48291357", []string{"4829", "1357"}},
		{"48", []string{"48"}},
	}
	for _, tt := range tests {
		if got := groupDigits(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("groupDigits(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
