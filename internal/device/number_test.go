package device

import (
	"strconv"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// TestNewNumber: every number has exactly the asked digits, and over many
// draws both ends of the range and every leading digit turn up.
func TestNewNumber(t *testing.T) {
	for digits := MinDigits; digits <= MaxDigits; digits++ {
		low, _ := strconv.Atoi("1" + zeros(digits-1))
		high := low*10 - 1
		lead := map[byte]bool{}
		for range 2000 {
			n, err := NewNumber(digits)
			if err != nil {
				t.Fatal(err)
			}
			if n < low || n > high {
				t.Fatalf("NewNumber(%d) = %d, want %d–%d", digits, n, low, high)
			}
			if p := (&deadbolt.PushRequest{Number: n}); p.Digits() != digits {
				t.Fatalf("PushRequest{Number: %d}.Digits() = %d, want %d", n, p.Digits(), digits)
			}
			lead[strconv.Itoa(n)[0]] = true
		}
		if len(lead) != 9 {
			t.Errorf("NewNumber(%d): leading digits seen %d of 9 in 2000 draws", digits, len(lead))
		}
	}
	for _, bad := range []int{0, 2, 5, 9} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewNumber(%d) did not panic", bad)
				}
			}()
			NewNumber(bad)
		}()
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func TestNumberMatches(t *testing.T) {
	n := func(v int) *int { return &v }
	tests := []struct {
		typed *int
		want  int
		ok    bool
	}{
		{n(482913), 482913, true},
		{n(482914), 482913, false},
		{n(48291), 482913, false},   // too short
		{n(4829130), 482913, false}, // too long
		{n(-482913), 482913, false}, // negative
		{nil, 482913, false},        // missing
		{n(1<<62 + 482913), 482913, false},
		{n(12345678), 12345678, true},
	}
	for _, tt := range tests {
		typed := "nil"
		if tt.typed != nil {
			typed = strconv.Itoa(*tt.typed)
		}
		if got := NumberMatches(tt.typed, tt.want); got != tt.ok {
			t.Errorf("NumberMatches(%s, %d) = %v, want %v", typed, tt.want, got, tt.ok)
		}
	}
}

func TestPushConfigValidate(t *testing.T) {
	for digits := 0; digits <= 10; digits++ {
		c := DefaultPushConfig()
		c.Digits = digits
		err := c.Validate()
		if ok := digits >= MinDigits && digits <= MaxDigits; (err == nil) != ok {
			t.Errorf("PushConfig{Digits: %d}.Validate() = %v, want ok %v", digits, err, ok)
		}
	}
	c := DefaultPushConfig()
	c.Lifetime = -time.Second
	if c.Validate() == nil {
		t.Error("a negative lifetime validated")
	}
	if d := DefaultPushConfig().Digits; d != 6 {
		t.Errorf("default digits = %d, want 6", d)
	}
}
