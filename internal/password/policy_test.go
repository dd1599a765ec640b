package password

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		rule string // "" means accepted
	}{
		{"eight ASCII", "abcdefgh", ""},
		{"long passphrase", "correct horse battery staple", ""},
		{"eight runes of 3 bytes", "密码密码密码密码", ""},
		{"emoji", "🔑🔑🔑🔑🔑🔑🔑🔑", ""},
		{"inner spaces", "a b c d e", ""},
		{"exactly MaxBytes", strings.Repeat("a", MaxBytes), ""},
		{"MaxBytes in 4-byte runes", strings.Repeat("🔑", MaxBytes/4), ""},

		{"empty", "", RuleTooShort},
		{"seven ASCII", "abcdefg", RuleTooShort},
		{"seven runes, many bytes", "密码密码密码密", RuleTooShort},
		{"one byte over", strings.Repeat("a", MaxBytes+1), RuleTooLong},
		{"over in multi-byte runes", strings.Repeat("é", MaxBytes/2+1), RuleTooLong},
		{"invalid UTF-8", "abcdefgh\xff", RuleInvalidUTF8},
		{"truncated rune", "abcdefgh\xe5\xaf", RuleInvalidUTF8},
		{"surrogate half", "abcdefgh\xed\xa0\x80", RuleInvalidUTF8},
		{"NUL", "abcd\x00efgh", RuleControl},
		{"tab", "abcd\tefgh", RuleControl},
		{"newline", "abcdefgh\n", RuleControl},
		{"carriage return", "abcdefgh\r", RuleControl},
		{"escape", "abcd\x1befgh", RuleControl},
		{"DEL", "abcd\x7fefgh", RuleControl},
		{"C1 control", "abcd\u0085efgh", RuleControl},
		{"short and control", "a\x00", RuleControl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.in)
			if tt.rule == "" {
				if err != nil {
					t.Errorf("Validate(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Rule != tt.rule {
				t.Fatalf("Validate(%q) = %#v, want *PolicyError with rule %q", tt.in, err, tt.rule)
			}
			if pe.Message == "" || pe.Error() != pe.Message {
				t.Errorf("Validate(%q) message = %q, Error() = %q, want the same non-empty text", tt.in, pe.Message, pe.Error())
			}
			if len(tt.in) >= 4 && strings.Contains(pe.Message, tt.in[:4]) {
				t.Errorf("Validate(%q) message = %q, quotes the password", tt.in, pe.Message)
			}
		})
	}
}
