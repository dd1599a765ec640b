package recovery

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// wellFormed reports whether s is a display-form code.
func wellFormed(s string) bool {
	if len(s) != Length+1 || s[Length/2] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != Length/2 && strings.IndexByte(Alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

func TestGenerate(t *testing.T) {
	codes, err := Generate(nil)
	if err != nil {
		t.Fatalf("Generate(nil) error = %v", err)
	}
	if len(codes) != Count {
		t.Fatalf("Generate(nil) returned %d codes, want %d", len(codes), Count)
	}
	seen := make(map[string]bool)
	for _, c := range codes {
		if !wellFormed(c) {
			t.Errorf("Generate(nil) code %q is not of the form XXXXX-XXXXX over %q", c, Alphabet)
		}
		if seen[c] {
			t.Errorf("Generate(nil) returned %q twice", c)
		}
		seen[c] = true
		canon, err := Normalize(c)
		if err != nil || canon != strings.ReplaceAll(c, "-", "") {
			t.Errorf("Normalize(%q) = %q, %v, want %q", c, canon, err, strings.ReplaceAll(c, "-", ""))
		}
		if got := Format(canon); got != c {
			t.Errorf("Format(%q) = %q, want %q", canon, got, c)
		}
	}
}

// TestGenerateLooksRandom checks, over many sets, that every symbol shows up
// in every position and that each of the 50 bits is set about half the time.
// With 2,000 codes a symbol missing from a position has probability about
// e^-62, and a bit outside 40–60 % is more than eight standard deviations out.
func TestGenerateLooksRandom(t *testing.T) {
	const sets = 200
	var counts [Length][32]int
	var ones [Bits]int
	for range sets {
		codes, err := Generate(nil)
		if err != nil {
			t.Fatalf("Generate(nil) error = %v", err)
		}
		for _, c := range codes {
			canon := strings.ReplaceAll(c, "-", "")
			var v uint64
			for i := 0; i < Length; i++ {
				sym := strings.IndexByte(Alphabet, canon[i])
				counts[i][sym]++
				v = v<<5 | uint64(sym)
			}
			for b := range Bits {
				ones[b] += int(v >> b & 1)
			}
		}
	}
	for pos := range counts {
		for sym, n := range counts[pos] {
			if n == 0 {
				t.Errorf("symbol %q never appeared at position %d in %d codes", Alphabet[sym], pos, sets*Count)
			}
		}
	}
	total := sets * Count
	for b, n := range ones {
		if n < total*40/100 || n > total*60/100 {
			t.Errorf("bit %d set in %d of %d codes, want 40–60 %%", b, n, total)
		}
	}
}

// sevenByteReader returns the low 56 bits of each value in turn, big-endian.
func sevenByteReader(values ...uint64) io.Reader {
	var b bytes.Buffer
	for _, v := range values {
		for i := 6; i >= 0; i-- {
			b.WriteByte(byte(v >> (8 * i)))
		}
	}
	return &b
}

// crockford writes v as ten base32 digits with strconv and maps them onto
// Alphabet: an encoding independent of the package's own.
func crockford(v uint64) string {
	const digits = "0123456789abcdefghijklmnopqrstuv"
	s := strconv.FormatUint(v&(1<<Bits-1), 32)
	s = strings.Repeat("0", Length-len(s)) + s
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(Alphabet[strings.IndexByte(digits, s[i])])
	}
	return b.String()
}

func TestGenerateEncoding(t *testing.T) {
	values := []uint64{
		1,
		1<<Bits - 1,
		0xFF_FFFF_FFFF_FFFF, // the same 50 bits as the one before: skipped
		32,
		0x0123_4567_89AB_CDEF,
		0x00FE_DCBA_9876_5432,
		1 << 45,
		0,
		0x5555_5555_5555_5555,
		0x2AAA_AAAA_AAAA_AAAA,
		31 << 45,
	}
	codes, err := Generate(sevenByteReader(values...))
	if err != nil {
		t.Fatalf("Generate(fixed) error = %v", err)
	}
	var want []string
	for i, v := range values {
		if i == 2 {
			continue
		}
		want = append(want, Format(crockford(v)))
	}
	if strings.Join(codes, " ") != strings.Join(want, " ") {
		t.Errorf("Generate(fixed) = %q, want %q", codes, want)
	}
	if codes[0] != "00000-00001" || codes[1] != "ZZZZZ-ZZZZZ" || codes[2] != "00000-00010" {
		t.Errorf("Generate(fixed) starts %q, want 00000-00001, ZZZZZ-ZZZZZ, 00000-00010", codes[:3])
	}
}

func TestGenerateErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
		is   error // nil: any error
	}{
		{"failing reader", iotest.ErrReader(boom), boom},
		{"short reader", bytes.NewReader(make([]byte, 7*Count-1)), io.ErrUnexpectedEOF},
		{"constant reader", bytes.NewReader(make([]byte, 7*maxDraws+100)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, err := Generate(tt.r)
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Generate(%s) = %q, %v, want error %v", tt.name, codes, err, tt.is)
			}
			if codes != nil {
				t.Errorf("Generate(%s) = %q, want no codes on error", tt.name, codes)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means ErrMalformed
	}{
		{"ABCDE-FGHJK", "ABCDEFGHJK"},
		{"ABCDEFGHJK", "ABCDEFGHJK"},
		{"abcde-fghjk", "ABCDEFGHJK"},
		{"aBcDe fGhJk", "ABCDEFGHJK"},
		{" ABCDE - FGHJK ", "ABCDEFGHJK"},
		{"A-B-C-D-E-F-G-H-J-K", "ABCDEFGHJK"},
		{"--ABCDEFGHJK--", "ABCDEFGHJK"},
		{"MNPQR-STVWX", "MNPQRSTVWX"},
		{"YZ012-34567", "YZ01234567"},
		{"OoOoO-00000", "0000000000"},
		{"IiLlI-11111", "1111111111"},
		{"o1i2l-3O4I5", "0112130415"},
		{"89ABC-DEFGH", "89ABCDEFGH"},

		{"", ""},
		{"     ", ""},
		{"-----", ""},
		{"ABCDE-FGHJ", ""},
		{"ABCDE-FGHJKM", ""},
		{"ABCDE-FGHJK-ABCDE-FGHJK", ""},
		{"ABCDE-FGHJU", ""},
		{"uBCDE-FGHJK", ""},
		{"ABCDE_FGHJK", ""},
		{"ABCDE.FGHJK", ""},
		{"ABCDE\tFGHJK", ""},
		{"ABCDE\nFGHJK", ""},
		{"ABCDE-FGHJK\n", ""},
		{"ABCDE\x00FGHJK", ""},
		{"ABCDE\x7fFGHJK", ""},
		{"ABCDE\u00a0FGHJK", ""},
		{"ＡBCDE-FGHJK", ""},      // fullwidth A
		{"ABCDE-FGHJ١", ""},      // Arabic-Indic one
		{"ABCDE-FGHJ\u212a", ""}, // Kelvin sign, upper-cases to K elsewhere
		{"ABCDE-FGHJ\xff", ""},
		{strings.Repeat(" ", 100) + "ABCDEFGHJK", ""},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Normalize(%q) = %q, %v, want ErrMalformed", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeErrorHidesInput(t *testing.T) {
	in := "SECRE-TCODEU"
	_, err := Normalize(in)
	if err == nil || strings.Contains(err.Error(), "SECRE") {
		t.Errorf("Normalize(%q) error = %v, want an error without the input", in, err)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABCDEFGHJK", "ABCDE-FGHJK"},
		{"0000000000", "00000-00000"},
		{"", ""},
		{"ABC", "ABC"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewHasher(t *testing.T) {
	for _, n := range []int{0, 1, MinKeySize - 1} {
		if h, err := NewHasher(make([]byte, n)); !errors.Is(err, ErrWeakKey) || h != nil {
			t.Errorf("NewHasher(%d bytes) = %v, %v, want nil, ErrWeakKey", n, h, err)
		}
	}
	for _, n := range []int{MinKeySize, 64} {
		if h, err := NewHasher(make([]byte, n)); err != nil || h == nil {
			t.Errorf("NewHasher(%d bytes) = %v, %v, want a hasher", n, h, err)
		}
	}
}

func TestHash(t *testing.T) {
	keyA := bytes.Repeat([]byte{'a'}, MinKeySize)
	keyB := bytes.Repeat([]byte{'b'}, MinKeySize)
	ha, err := NewHasher(keyA)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := NewHasher(keyB)
	if err != nil {
		t.Fatal(err)
	}
	const code = "ABCDEFGHJK"

	first, second := ha.Hash(code), ha.Hash(code)
	if !bytes.Equal(first, second) {
		t.Errorf("Hash(%q) = %x then %x, want the same", code, first, second)
	}
	if len(first) != sha256.Size {
		t.Errorf("len(Hash(%q)) = %d, want %d", code, len(first), sha256.Size)
	}
	if other := hb.Hash(code); bytes.Equal(first, other) {
		t.Errorf("Hash(%q) under two keys = %x both, want different hashes", code, first)
	}
	if other := ha.Hash("ABCDEFGHJM"); bytes.Equal(first, other) {
		t.Errorf("Hash of two codes = %x both, want different hashes", first)
	}

	// The stored hashes depend on the exact construction; pin it.
	mac := hmac.New(sha256.New, keyA)
	mac.Write([]byte("deadbolt-recovery-v1\n" + code))
	if want := mac.Sum(nil); !bytes.Equal(first, want) {
		t.Errorf("Hash(%q) = %x, want HMAC-SHA-256 with the domain prefix %x", code, first, want)
	}

	// The hasher keeps its own copy of the key.
	keyA[0] = 'z'
	if again := ha.Hash(code); !bytes.Equal(again, first) {
		t.Errorf("Hash(%q) after the caller changed its key slice = %x, want %x", code, again, first)
	}
}

func TestHashConcurrent(t *testing.T) {
	h, err := NewHasher(bytes.Repeat([]byte{7}, MinKeySize))
	if err != nil {
		t.Fatal(err)
	}
	want := h.Hash("0123456789")
	done := make(chan []byte)
	for range 8 {
		go func() { done <- h.Hash("0123456789") }()
	}
	for range 8 {
		if got := <-done; !bytes.Equal(got, want) {
			t.Errorf("concurrent Hash = %x, want %x", got, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK", "abcde fghjk", "OIL01-oil01", "ABCDE-FGHJU", "", "ＡBCDE-FGHJK", "ABCDE\x00FGHJK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Normalize(%q) error = %v, want ErrMalformed", s, err)
			}
			return
		}
		if len(got) != Length {
			t.Fatalf("Normalize(%q) = %q, want %d characters", s, got, Length)
		}
		for i := 0; i < len(got); i++ {
			if strings.IndexByte(Alphabet, got[i]) < 0 {
				t.Fatalf("Normalize(%q) = %q, has %q outside the alphabet", s, got, got[i])
			}
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v, want %q (idempotent)", got, again, err, got)
		}
		if again, err := Normalize(Format(got)); err != nil || again != got {
			t.Fatalf("Normalize(Format(%q)) = %q, %v, want %q", got, again, err, got)
		}
		if again, err := Normalize(strings.ToLower(s)); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v, want %q (case ignored)", strings.ToLower(s), again, err, got)
		}
	})
}
