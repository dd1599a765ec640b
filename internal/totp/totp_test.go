package totp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// rfcSecret is the ASCII secret of the RFC 4226 and RFC 6238 (SHA-1) test
// vectors.
var rfcSecret = []byte("12345678901234567890")

// TestHOTPRFC4226 checks the vectors of RFC 4226, Appendix D.
func TestHOTPRFC4226(t *testing.T) {
	want := []string{
		"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489",
	}
	for counter, w := range want {
		if got := HOTP(rfcSecret, uint64(counter), 6); got != w {
			t.Errorf("HOTP(rfcSecret, %d, 6) = %q, want %q", counter, got, w)
		}
	}
}

// TestTOTPRFC6238 checks the SHA-1 vectors of RFC 6238, Appendix B: the time
// steps, the 8-digit codes and, since reducing modulo 10^6 keeps the last six
// digits, the 6-digit codes Code returns.
func TestTOTPRFC6238(t *testing.T) {
	tests := []struct {
		unix int64
		step int64
		code string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	}
	for _, tt := range tests {
		now := time.Unix(tt.unix, 0)
		if got := Step(now); got != tt.step {
			t.Errorf("Step(%d) = %#x, want %#x", tt.unix, got, tt.step)
		}
		if got := HOTP(rfcSecret, uint64(Step(now)), 8); got != tt.code {
			t.Errorf("HOTP(rfcSecret, Step(%d), 8) = %q, want %q", tt.unix, got, tt.code)
		}
		if got, want := Code(rfcSecret, now), tt.code[2:]; got != want {
			t.Errorf("Code(rfcSecret, %d) = %q, want %q", tt.unix, got, want)
		}
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0},
		{29, 0},
		{30, 1},
		{59, 1},
		{60, 2},
		{-1, -1},
		{-30, -1},
		{-31, -2},
	}
	for _, tt := range tests {
		if got := Step(time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("Step(%d) = %d, want %d", tt.unix, got, tt.want)
		}
	}
	// Sub-second parts and time zones do not move the step.
	at := time.Unix(89, 999999999).In(time.FixedZone("X", 5*3600))
	if got := Step(at); got != 2 {
		t.Errorf("Step(%v) = %d, want 2", at, got)
	}
}

func TestHOTPPadsWithZeros(t *testing.T) {
	// Step 0x23523EC of the RFC 6238 vectors gives 07081804 at 8 digits:
	// the leading zero must be kept. Every length must be exact.
	if got := HOTP(rfcSecret, 0x23523EC, 8); len(got) != 8 || got[0] != '0' {
		t.Errorf("HOTP(rfcSecret, 0x23523EC, 8) = %q, want 8 digits with a leading zero", got)
	}
	for counter := range uint64(50) {
		for _, digits := range []int{1, 6, 8, 10} {
			if got := HOTP(rfcSecret, counter, digits); len(got) != digits || !allDigits(got) {
				t.Errorf("HOTP(rfcSecret, %d, %d) = %q, want %d digits", counter, digits, got, digits)
			}
		}
	}
}

func TestHOTPPanicsOnBadDigits(t *testing.T) {
	for _, digits := range []int{-1, 0, 11} {
		t.Run("", func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("HOTP(rfcSecret, 0, %d) did not panic", digits)
				}
			}()
			HOTP(rfcSecret, 0, digits)
		})
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func TestGenerateSecret(t *testing.T) {
	src := bytes.NewReader(bytes.Repeat([]byte{0xA5}, SecretSize))
	got, err := GenerateSecret(src)
	if err != nil {
		t.Fatalf("GenerateSecret() error = %v", err)
	}
	if want := bytes.Repeat([]byte{0xA5}, SecretSize); !bytes.Equal(got, want) {
		t.Errorf("GenerateSecret() = %x, want %x", got, want)
	}

	a, err := GenerateSecret(nil)
	if err != nil {
		t.Fatalf("GenerateSecret(nil) error = %v", err)
	}
	b, err := GenerateSecret(nil)
	if err != nil {
		t.Fatalf("GenerateSecret(nil) error = %v", err)
	}
	if len(a) != SecretSize || bytes.Equal(a, b) {
		t.Errorf("GenerateSecret(nil) twice = %x, %x, want two different %d-byte secrets", a, b, SecretSize)
	}

	short := bytes.NewReader(make([]byte, SecretSize-1))
	if _, err := GenerateSecret(short); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("GenerateSecret(short reader) error = %v, want %v", err, io.ErrUnexpectedEOF)
	}
	boom := errors.New("boom")
	if _, err := GenerateSecret(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("GenerateSecret(failing reader) error = %v, want %v", err, boom)
	}
}

func TestEncodeSecret(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		// RFC 4648 section 10 vectors, without padding.
		{[]byte("f"), "MY"},
		{[]byte("fo"), "MZXQ"},
		{[]byte("foo"), "MZXW6"},
		{[]byte("foob"), "MZXW6YQ"},
		{[]byte("fooba"), "MZXW6YTB"},
		{[]byte("foobar"), "MZXW6YTBOI"},
		{rfcSecret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
	}
	for _, tt := range tests {
		if got := EncodeSecret(tt.in); got != tt.want {
			t.Errorf("EncodeSecret(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeSecret(t *testing.T) {
	ten := []byte("0123456789")     // 16 base32 characters, no padding needed
	eleven := []byte("0123456789a") // 18 base32 characters, 6 of padding
	tests := []struct {
		name string
		in   string
		want []byte // nil means ErrMalformed
	}{
		{"canonical", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", rfcSecret},
		{"lower case", "gezdgnbvgy3tqojqgezdgnbvgy3tqojq", rfcSecret},
		{"mixed case", "GezdGNBVgy3tqojqGEZDGNBVGY3TQOJQ", rfcSecret},
		{"groups of four", "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", rfcSecret},
		{"leading and trailing spaces", "  GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ ", rfcSecret},
		{"ten bytes", EncodeSecret(ten), ten},
		{"unpadded", EncodeSecret(eleven), eleven},
		{"padded", EncodeSecret(eleven) + "======", eleven},
		{"max size", EncodeSecret(bytes.Repeat([]byte{1}, MaxSecretSize)), bytes.Repeat([]byte{1}, MaxSecretSize)},

		{"empty", "", nil},
		{"only spaces", "    ", nil},
		{"only padding", "========", nil},
		{"too short", EncodeSecret([]byte("012345678")), nil},
		{"too long", EncodeSecret(bytes.Repeat([]byte{1}, MaxSecretSize+1)), nil},
		{"very long text", strings.Repeat("A", 10000), nil},
		{"digit 1", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", nil},
		{"digit 8", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ8", nil},
		{"digit 0", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ0", nil},
		{"hyphen", "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ", nil},
		{"newline", "GEZDGNBVGY3TQOJQ\nGEZDGNBVGY3TQOJQ", nil},
		{"carriage return", "GEZDGNBVGY3TQOJQ\rGEZDGNBVGY3TQOJQ", nil},
		{"tab", "GEZDGNBVGY3TQOJQ\tGEZDGNBVGY3TQOJQ", nil},
		{"NUL", "GEZDGNBVGY3TQOJQ\x00GEZDGNBVGY3TQOJQ", nil},
		{"fullwidth letter", "ＧEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", nil},
		{"short padding", EncodeSecret(eleven) + "==", nil},
		{"padding in the middle", "GEZDGNBV=GY3TQOJQGEZDGNBVGY3TQOJQ", nil},
		{"impossible length", "GEZDGNBVGY3TQOJQG", nil},
		{"non-zero trailing bits", "GAYTEMZUGU3DOOBZMF", nil}, // canonical form ends in ...ME
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSecret(tt.in)
			if tt.want == nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("DecodeSecret(%q) = %x, %v, want ErrMalformed", tt.in, got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("DecodeSecret(%q) = %x, %v, want %x", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDecodeSecretCanonicalTrailingBits(t *testing.T) {
	// The "non-zero trailing bits" case above relies on "0123456789a"
	// encoding to "GAYTEMZUGU3DOOBZME" and on its altered last character
	// changing only bits after the last byte: a lenient decoder reads the
	// same bytes from both, DecodeSecret only from the canonical one.
	in := []byte("0123456789a")
	if got, want := EncodeSecret(in), "GAYTEMZUGU3DOOBZME"; got != want {
		t.Fatalf("EncodeSecret(%q) = %q, want %q", in, got, want)
	}
	lenient, err := rawBase32.DecodeString("GAYTEMZUGU3DOOBZMF")
	if err != nil || !bytes.Equal(lenient, in) {
		t.Fatalf("rawBase32.DecodeString(%q) = %q, %v, want %q", "GAYTEMZUGU3DOOBZMF", lenient, err, in)
	}
}

func TestSecretRoundTrip(t *testing.T) {
	for n := MinSecretSize; n <= MaxSecretSize; n++ {
		secret := make([]byte, n)
		for i := range secret {
			secret[i] = byte(i*37 + n)
		}
		got, err := DecodeSecret(EncodeSecret(secret))
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("DecodeSecret(EncodeSecret(%x)) = %x, %v, want the input", secret, got, err)
		}
	}
}

func TestParseCode(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means ErrMalformed
	}{
		{"123456", "123456"},
		{"000000", "000000"},
		{"123 456", "123456"},
		{" 123456 ", "123456"},
		{"1 2 3 4 5 6", "123456"},
		{"123456\n", "123456"},
		{"123456\r\n", "123456"},
		{"\t123\t456", "123456"},

		{"", ""},
		{"      ", ""},
		{"12345", ""},
		{"1234567", ""},
		{"123-456", ""},
		{"12345a", ""},
		{"+12345", ""},
		{"-12345", ""},
		{"12345\x00", ""},
		{"123\x00456", ""},
		{"１２３４５６", ""},       // fullwidth digits
		{"١٢٣٤٥٦", ""},       // Arabic-Indic digits
		{"123456\u00a0", ""}, // no-break space
		{"123\u2009456", ""}, // thin space
		{"12345６", ""},       // one fullwidth digit
		{strings.Repeat(" ", 100) + "123456", ""},
	}
	for _, tt := range tests {
		got, err := ParseCode(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseCode(%q) = %q, %v, want ErrMalformed", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCode(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseCodeErrorHidesInput(t *testing.T) {
	_, err := ParseCode("98765x")
	if err == nil || strings.Contains(err.Error(), "98765") {
		t.Errorf("ParseCode(%q) error = %v, want an error that does not repeat the input", "98765x", err)
	}
}

func TestMatch(t *testing.T) {
	secret := rfcSecret
	now := time.Unix(1111111111, 0) // step 0x23523ED
	cur := Step(now)
	codeAt := func(step int64) string { return HOTP(secret, uint64(step), Digits) }

	tests := []struct {
		name     string
		code     string
		lastUsed int64
		want     int64 // 0 means no match
	}{
		{"current step", codeAt(cur), -1, cur},
		{"previous step", codeAt(cur - 1), -1, cur - 1},
		{"next step", codeAt(cur + 1), -1, cur + 1},
		{"two steps back", codeAt(cur - 2), -1, 0},
		{"two steps ahead", codeAt(cur + 2), -1, 0},
		{"replay of the last used step", codeAt(cur), cur, 0},
		{"older than the last used step", codeAt(cur - 1), cur, 0},
		{"next step after the last used one", codeAt(cur + 1), cur, cur + 1},
		{"current step after the previous was used", codeAt(cur), cur - 1, cur},
		{"last used far in the future", codeAt(cur), cur + 100, 0},
		{"wrong code", wrongCode(secret, cur), -1, 0},
		{"empty code", "", -1, 0},
		{"short code", codeAt(cur)[:5], -1, 0},
		{"code with a space", codeAt(cur)[:3] + " " + codeAt(cur)[3:], -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Match(secret, tt.code, now, tt.lastUsed)
			if wantOK := tt.want != 0; ok != wantOK || got != tt.want {
				t.Errorf("Match(secret, %q, %d, %d) = %d, %v, want %d, %v", tt.code, now.Unix(), tt.lastUsed, got, ok, tt.want, wantOK)
			}
		})
	}
}

// wrongCode returns a code that matches none of the steps Match looks at.
func wrongCode(secret []byte, cur int64) string {
	for n := 0; ; n++ {
		c := HOTP([]byte("another secret!!"), uint64(n), Digits)
		if c != HOTP(secret, uint64(cur-1), Digits) &&
			c != HOTP(secret, uint64(cur), Digits) &&
			c != HOTP(secret, uint64(cur+1), Digits) {
			return c
		}
	}
}

func TestMatchWithinStep(t *testing.T) {
	// Every second of the window around a step boundary accepts the code of
	// that step, and the boundary itself moves the window.
	secret := rfcSecret
	base := int64(1234567890) / Period * Period // start of a step
	step := base / Period
	code := HOTP(secret, uint64(step), Digits)
	for off := -Period; off < 2*Period; off++ {
		now := time.Unix(base+int64(off), 0)
		if got, ok := Match(secret, code, now, -1); !ok || got != step {
			t.Errorf("Match(secret, code of step %d, %d, -1) = %d, %v, want %d, true", step, now.Unix(), got, ok, step)
		}
	}
	for _, off := range []int64{-Period - 1, 2 * Period} {
		now := time.Unix(base+off, 0)
		if got, ok := Match(secret, code, now, -1); ok {
			t.Errorf("Match(secret, code of step %d, %d, -1) = %d, %v, want 0, false", step, now.Unix(), got, ok)
		}
	}
}

func TestMatchRefusesShortSecret(t *testing.T) {
	now := time.Unix(1234567890, 0)
	for _, secret := range [][]byte{nil, {}, []byte("123456789")} {
		code := Code(secret, now)
		if got, ok := Match(secret, code, now, -1); ok {
			t.Errorf("Match(%q, %q, %d, -1) = %d, %v, want 0, false", secret, code, now.Unix(), got, ok)
		}
	}
}

func TestMatchConsumeSequence(t *testing.T) {
	// A caller that stores each matched step can never use a code twice,
	// and codes of later steps keep working.
	secret := rfcSecret
	start := time.Unix(2000000000, 0)
	last := int64(-1)
	for i := range 5 {
		now := start.Add(time.Duration(i*Period) * time.Second)
		code := Code(secret, now)
		step, ok := Match(secret, code, now, last)
		if !ok || step != Step(now) {
			t.Fatalf("Match(secret, %q, %d, %d) = %d, %v, want %d, true", code, now.Unix(), last, step, ok, Step(now))
		}
		last = step
		if again, ok := Match(secret, code, now, last); ok {
			t.Fatalf("Match(secret, %q, %d, %d) replay = %d, %v, want 0, false", code, now.Unix(), last, again, ok)
		}
	}
}
