package phone

import (
	"errors"
	"strings"
	"testing"

	"deadbolt/internal/deadbolt"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		region string
		want   string
	}{
		// United States: mobile and landline numbers share ranges, so
		// libphonenumber reports FIXED_LINE_OR_MOBILE.
		{"us international", "+1 201 555 0123", "US", "+12015550123"},
		{"us international no region", "+12015550123", "", "+12015550123"},
		{"us parentheses", "(201) 555-0123", "US", "+12015550123"},
		{"us dots", "201.555.0123", "US", "+12015550123"},
		{"us trunk prefix", "1-201-555-0123", "US", "+12015550123"},
		{"us surrounding spaces", "   +1 (201) 555-0123   ", "US", "+12015550123"},
		{"lower-case region", "(201) 555-0123", "us", "+12015550123"},
		{"us idd 011", "011 44 7400 123456", "US", "+447400123456"},
		{"00 prefix from us", "00 44 7400 123456", "US", "+447400123456"},
		{"00 prefix from de", "0049 1512 3456789", "DE", "+4915123456789"},
		{"00 prefix without region", "00447400123456", "", "+447400123456"},
		{"au idd 0011", "0011 44 7400 123456", "AU", "+447400123456"},
		{"00 prefix from au", "0044 7400 123456", "AU", "+447400123456"},
		{"kr idd 001", "001 1 201 555 0123", "KR", "+12015550123"},
		{"kr idd 002", "002 44 7400 123456", "KR", "+447400123456"},
		{"jp idd 010", "010 44 7400 123456", "JP", "+447400123456"},
		{"fullwidth digits", "＋４４ ７４００ １２３４５６", "", "+447400123456"},
		{"fullwidth national", "０７４００ １２３４５６", "GB", "+447400123456"},
		{"gb national", "07400 123456", "GB", "+447400123456"},
		{"gb bracketed trunk zero", "+44 (0)7400 123456", "US", "+447400123456"},
		{"de national", "01512 3456789", "DE", "+4915123456789"},
		{"de international", "+49 1512 3456789", "FR", "+4915123456789"},
		{"fr national", "06 12 34 56 78", "FR", "+33612345678"},
		{"fr dotted", "06.12.34.56.78", "FR", "+33612345678"},
		{"ru international", "+7 912 345-67-89", "US", "+79123456789"},
		{"ru national 8 prefix", "8 (912) 345-67-89", "RU", "+79123456789"},
		{"jp national", "090-1234-5678", "JP", "+819012345678"},
		{"br national", "(11) 96123-4567", "BR", "+5511961234567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.input, tt.region)
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q, %q) = %q, %v, want %q, nil", tt.input, tt.region, got, err, tt.want)
			}
			again, err := Parse(got, "")
			if err != nil || again != got {
				t.Errorf("Parse(%q, \"\") = %q, %v, want %q, nil", got, again, err, got)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		region string
		code   string
	}{
		{"empty", "", "US", CodeInvalid},
		{"spaces only", "     ", "US", CodeInvalid},
		{"separators only", "( ) - .", "US", CodeInvalid},
		{"plus only", "+", "US", CodeInvalid},
		{"40 digits", strings.Repeat("1234567890", 4), "US", CodeInvalid},
		{"21 digits", "+" + strings.Repeat("1", 21), "", CodeInvalid},
		{"input over 64 bytes", "+1 201 555 0123" + strings.Repeat(" ", 60), "US", CodeInvalid},
		{"vanity letters", "1-800-FLOWERS", "US", CodeInvalid},
		{"letters only", "phone", "US", CodeInvalid},
		{"extension", "+1 201 555 0123 ext. 5", "US", CodeInvalid},
		{"hash extension", "+1 201 555 0123 #5", "US", CodeInvalid},
		{"tel uri", "tel:+12015550123", "US", CodeInvalid},
		{"trailing lf", "+12015550123\n", "US", CodeInvalid},
		{"crlf injection", "+12015550123\r\nBcc: +447400123456", "US", CodeInvalid},
		{"nul byte", "+1201\x005550123", "US", CodeInvalid},
		{"tab", "\t+12015550123", "US", CodeInvalid},
		{"invalid utf-8", "+1201555\xff0123", "US", CodeInvalid},
		{"right-to-left override", "\u202e+12015550123", "US", CodeInvalid},
		{"zero-width space", "+1201\u200b5550123", "US", CodeInvalid},
		{"arabic-indic digits", "٠٧٤٠٠١٢٣٤٥٦", "GB", CodeInvalid},
		{"two plus signs", "++12015550123", "US", CodeInvalid},
		{"plus inside", "1+2015550123", "US", CodeInvalid},
		{"national without region", "07400 123456", "", CodeInvalid},
		{"national with unknown region", "07400 123456", "ZZ", CodeInvalid},
		{"us area code starting 1", "+1 123 456 7890", "US", CodeInvalid},
		{"unassigned country code", "+999 1234567", "US", CodeInvalid},
		{"too short", "+44 74", "", CodeInvalid},
		{"wrong national form", "0 201 555 0123", "US", CodeInvalid},
		{"us premium rate", "+1 900 234 5678", "US", CodePremium},
		{"gb premium rate", "0901 234 5678", "GB", CodePremium},
		{"de shared cost", "+49 180 1 2345", "", CodePremium},
		{"fr premium rate", "0 891 12 34 56", "FR", CodePremium},
		{"us toll free", "1-800-234-5678", "US", CodeNotMobile},
		{"gb toll free", "0800 123 4567", "GB", CodeNotMobile},
		{"gb fixed line", "+44 121 234 5678", "US", CodeNotMobile},
		{"de fixed line", "030 123456", "DE", CodeNotMobile},
		{"fr fixed line", "01 23 45 67 89", "FR", CodeNotMobile},
		{"gb voip", "+44 56 1234 5678", "", CodeNotMobile},
		{"fr voip", "09 12 34 56 78", "FR", CodeNotMobile},
		{"gb pager", "+44 76 4012 3456", "", CodeNotMobile},
		{"gb uan", "+44 55 1234 5678", "", CodeNotMobile},
		{"gb personal number", "+44 70 1234 5678", "", CodeNotMobile},
		{"de voicemail", "+49 177 99 1234567", "", CodeNotMobile},
		{"us short code", "22395", "US", CodeNotMobile},
		{"us emergency", "911", "US", CodeNotMobile},
		{"us emergency with country code", "+1 911", "US", CodeNotMobile},
		{"de emergency", "112", "DE", CodeNotMobile},
		{"gb emergency", "999", "GB", CodeNotMobile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.input, tt.region)
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q, %q) = %q, %v, want *Error with code %q", tt.input, tt.region, got, err, tt.code)
			}
			if got != "" {
				t.Errorf("Parse(%q, %q) returned %q alongside an error, want \"\"", tt.input, tt.region, got)
			}
			if perr.Code != tt.code {
				t.Errorf("Parse(%q, %q) code = %q, want %q (message %q)", tt.input, tt.region, perr.Code, tt.code, perr.Message)
			}
			if perr.Message == "" {
				t.Errorf("Parse(%q, %q) message is empty", tt.input, tt.region)
			}
			if d := digitsOf(tt.input); len(d) >= 3 && strings.Contains(perr.Error(), d) {
				t.Errorf("Parse(%q, %q) error %q repeats the input", tt.input, tt.region, perr.Error())
			}
		})
	}
}

// TestParseMessages checks that the employee is told why, not only that,
// a number was refused.
func TestParseMessages(t *testing.T) {
	tests := []struct {
		input string
		want  deadbolt.Words
	}{
		{"", msgEmpty},
		{strings.Repeat("9", 30), msgTooLong},
		{"1-800-FLOWERS", msgLetters},
		{"+12015550123\r\n", msgCharacters},
		{"+1 900 234 5678", msgPremium},
		{"+44 56 1234 5678", msgVoIP},
		{"911", msgShort},
		{"+44 121 234 5678", msgNotMobile},
		{"+1 123 456 7890", msgInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			_, err := Parse(tt.input, "US")
			var perr *Error
			if !errors.As(err, &perr) || perr.Message != tt.want.String() || perr.Words.Format != tt.want.Format {
				t.Errorf("Parse(%q, \"US\") = %v, want message %q", tt.input, err, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	err := &Error{Code: CodeNotMobile, Message: "m"}
	if got, want := err.Error(), "phone: phone_not_mobile: m"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestValidRegion(t *testing.T) {
	tests := []struct {
		region string
		want   bool
	}{
		{"US", true},
		{"us", true},
		{"GB", true},
		{"DE", true},
		{"RU", true},
		{"", false},
		{"ZZ", false},
		{"UK", false},
		{"001", false},
		{"USA", false},
		{"U", false},
		{"U\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			if got := ValidRegion(tt.region); got != tt.want {
				t.Errorf("ValidRegion(%q) = %v, want %v", tt.region, got, tt.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"+14155550143", "+1 (•••) •••-0143"},
		{"+447400123456", "+44 •••• ••3456"},
		{"+4915123456789", "+49 •••• •••6789"},
		{"+33612345678", "+33 • •• •• 56 78"},
		{"+79123456789", "+7 ••• •••-67-89"},
		{"+5511961234567", "+55 •• •••••-4567"},
		{"+4930123456", "+49 •• ••3456"},
		{"+498001234567890", "+49 ••• ••••••7890"},
		{"+353123456", "+353 ••3456"},
		{"", "•••"},
		{"+", "•••"},
		{"14155550143", "•••"},
		{"+1 415 555 0143", "•••"},
		{"+1415555014x", "•••"},
		{"+14155550143\n", "•••"},
		{"+01234567890", "•••"},
		{"+99912345678", "•••"},
		{"+35312345", "•••"},
		{"+12345678901234567", "•••"},
		{"+１４１５５５５０１４３", "•••"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestMaskParsed masks what Parse returns and checks that exactly the
// country code and the last four digits survive.
func TestMaskParsed(t *testing.T) {
	for _, in := range []string{"+12015550123", "+447400123456", "+4915123456789", "+33612345678", "+79123456789", "+819012345678"} {
		e164, err := Parse(in, "")
		if err != nil {
			t.Fatalf("Parse(%q, \"\") = %v, want nil", in, err)
		}
		got := Mask(e164)
		cc := countryCode(e164[1:])
		want := "+" + cc + " "
		if !strings.HasPrefix(got, want) {
			t.Errorf("Mask(%q) = %q, want prefix %q", e164, got, want)
		}
		if d, want := digitsOf(got), cc+e164[len(e164)-4:]; d != want {
			t.Errorf("Mask(%q) = %q shows digits %q, want %q", e164, got, d, want)
		}
		if stars, want := strings.Count(got, Hidden), len(e164)-1-len(cc)-4; stars != want {
			t.Errorf("Mask(%q) = %q has %d stars, want %d", e164, got, stars, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds := []struct{ input, region string }{
		{"+1 201 555 0123", "US"},
		{"(201) 555-0123", "US"},
		{"00 44 7400 123456", "US"},
		{"011 44 7400 123456", "US"},
		{"07400 123456", "GB"},
		{"01512 3456789", "DE"},
		{"06 12 34 56 78", "FR"},
		{"8 (912) 345-67-89", "RU"},
		{"＋４４ ７４００ １２３４５６", ""},
		{"+44 (0)7400 123456", ""},
		{"1-800-FLOWERS", "US"},
		{"+12015550123\r\n", "US"},
		{"911", "US"},
		{"112", "DE"},
		{"22395", "US"},
		{"+1 900 234 5678", "US"},
		{strings.Repeat("9", 40), "US"},
		{"", ""},
		{"+", "zz"},
		{"0", "IT"},
		{"+39 06 1234 5678", "IT"},
	}
	for _, s := range seeds {
		f.Add(s.input, s.region)
	}
	f.Fuzz(func(t *testing.T, input, region string) {
		got, err := Parse(input, region)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q, %q) error %v is not *Error", input, region, err)
			}
			switch perr.Code {
			case CodeInvalid, CodeNotMobile, CodePremium:
			default:
				t.Fatalf("Parse(%q, %q) code = %q, want a known code", input, region, perr.Code)
			}
			if got != "" {
				t.Fatalf("Parse(%q, %q) = %q with error %v, want \"\"", input, region, got, err)
			}
			return
		}
		if !strings.HasPrefix(got, "+") || len(got) > 16 || digitsOf(got) != got[1:] {
			t.Fatalf("Parse(%q, %q) = %q, not an E.164 number", input, region, got)
		}
		for _, r := range []string{"", region, "US", "GB"} {
			again, err := Parse(got, r)
			if err != nil || again != got {
				t.Fatalf("Parse(%q, %q) = %q, %v, want %q, nil (from Parse(%q, %q))", got, r, again, err, got, input, region)
			}
		}
		if m := Mask(got); m == "•••" {
			t.Fatalf("Mask(%q) = %q, want a masked number", got, m)
		}
	})
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"+14155550143", "+447400123456", "+35312345", "+", "", "+0", "+1\n2", "+１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := Mask(in)
		if got == "•••" {
			return
		}
		if !strings.HasPrefix(in, "+") {
			t.Fatalf("Mask(%q) = %q, want \"•••\" for input without +", in, got)
		}
		cc := countryCode(in[1:])
		if cc == "" {
			t.Fatalf("Mask(%q) = %q, want \"•••\" for unknown country code", in, got)
		}
		if d, want := digitsOf(got), cc+in[len(in)-4:]; d != want {
			t.Fatalf("Mask(%q) = %q shows digits %q, want %q", in, got, d, want)
		}
	})
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
