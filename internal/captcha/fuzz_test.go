package captcha

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
)

func TestNormaliseAnswer(t *testing.T) {
	tests := []struct {
		in     string
		want   []byte
		wantOK bool
	}{
		{"123456", []byte{1, 2, 3, 4, 5, 6}, true},
		{" 1 2 3\t4\n5 6 ", []byte{1, 2, 3, 4, 5, 6}, true},
		{"0\u00a09", []byte{0, 9}, true}, // no-break space
		{"", nil, false},
		{"  \t", nil, false},
		{"12a456", nil, false},
		{"123-456", nil, false},
		{"١٢٣", nil, false}, // Arabic-Indic digits are not ASCII digits
		{"１２３", nil, false}, // full-width digits
		{"123\x00", nil, false},
		{"\xff123", nil, false},
		{strings.Repeat("1", maxAnswerLen), bytes.Repeat([]byte{1}, maxAnswerLen), true},
		{strings.Repeat("1", maxAnswerLen+1), nil, false},
	}
	for _, tt := range tests {
		got, ok := normaliseAnswer(tt.in)
		if ok != tt.wantOK || !bytes.Equal(got, tt.want) {
			t.Errorf("normaliseAnswer(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func FuzzNormaliseAnswer(f *testing.F) {
	for _, s := range []string{"123456", " 12 34 56 ", "", "12a", "1\u00a02", "\xff", "１２", strings.Repeat("9", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normaliseAnswer(s)
		// Independent model: drop white space, then everything left must be
		// an ASCII digit.
		var model []byte
		modelOK := len(s) <= maxAnswerLen
		for _, r := range s {
			if unicode.IsSpace(r) {
				continue
			}
			if r < '0' || r > '9' {
				modelOK = false
				break
			}
			model = append(model, byte(r-'0'))
		}
		if len(model) == 0 {
			modelOK = false
		}
		if ok != modelOK {
			t.Fatalf("normaliseAnswer(%q) ok = %v, want %v", s, ok, modelOK)
		}
		if !ok {
			if got != nil {
				t.Fatalf("normaliseAnswer(%q) = %v, false; want nil digits", s, got)
			}
			return
		}
		if !bytes.Equal(got, model) {
			t.Fatalf("normaliseAnswer(%q) = %v, want %v", s, got, model)
		}
		// Formatting and normalising again gives the same digits.
		again, ok := normaliseAnswer(formatDigits(got))
		if !ok || !bytes.Equal(again, got) {
			t.Fatalf("normaliseAnswer(formatDigits(%v)) = %v, %v; want the same digits", got, again, ok)
		}
	})
}

func FuzzValidID(f *testing.F) {
	for _, s := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA==", "-_-_-_-_-_-_-_-_-_-_-w", "++++++++++++++++++++++", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !validID(id) {
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != idBytes {
			t.Fatalf("validID(%q) = true, but it decodes to %d bytes, %v", id, len(raw), err)
		}
		// Exactly one spelling per id.
		if back := base64.RawURLEncoding.EncodeToString(raw); back != id {
			t.Fatalf("validID(%q) = true, but it re-encodes as %q", id, back)
		}
	})
}

func FuzzHostedJudge(f *testing.F) {
	for _, s := range []string{
		`{"success":true}`,
		`{"success":false,"error-codes":["invalid-input-response"]}`,
		`{"success":false,"error-codes":["invalid-input-secret"]}`,
		`{"success":true,"hostname":"login.example.com"}`,
		`{"success":"true"}`,
		`{"Success":true}`,
		`{}`,
		`null`,
		`[]`,
		`{"success":tru`,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "login.example.com")
	}
	f.Fuzz(func(t *testing.T, body []byte, hostname string) {
		h := &Hosted{cfg: HostedConfig{Provider: ProviderTurnstile, Hostname: hostname}}
		ok, err := h.judge(body)
		if ok && err != nil {
			t.Fatalf("judge(%q) = true, %v; must fail closed", body, err)
		}
		if !ok {
			return
		}
		// True only for a JSON object whose success field decodes as true.
		var r struct {
			Success  *bool  `json:"success"`
			Hostname string `json:"hostname"`
		}
		if json.Unmarshal(body, &r) != nil || r.Success == nil || !*r.Success {
			t.Fatalf("judge(%q) = true for an answer without success true", body)
		}
		if hostname != "" && !strings.EqualFold(r.Hostname, hostname) {
			t.Fatalf("judge(%q) = true with hostname %q, want %q", body, r.Hostname, hostname)
		}
	})
}
