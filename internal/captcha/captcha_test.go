package captcha

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fakeStore is a Store whose behaviour is set per test.
type fakeStore struct {
	save      func(context.Context, Challenge) error
	challenge func(context.Context, string, time.Time) (Challenge, error)
	consume   func(context.Context, string, time.Time) (Challenge, error)
}

func (f fakeStore) SaveChallenge(ctx context.Context, c Challenge) error { return f.save(ctx, c) }
func (f fakeStore) Challenge(ctx context.Context, id string, now time.Time) (Challenge, error) {
	return f.challenge(ctx, id, now)
}
func (f fakeStore) ConsumeChallenge(ctx context.Context, id string, now time.Time) (Challenge, error) {
	return f.consume(ctx, id, now)
}

func newTestBuiltin(t *testing.T) (*Builtin, *MemoryStore) {
	t.Helper()
	s := NewMemoryStore()
	return NewBuiltin(s, nil, 0, 0), s
}

func mustNew(t *testing.T, b *Builtin, now time.Time) Challenge {
	t.Helper()
	c, err := b.New(context.Background(), now)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return c
}

// wrongAnswer returns an answer of the right length that differs from
// digits in its first position.
func wrongAnswer(digits []byte) string {
	w := bytes.Clone(digits)
	w[0] = (w[0] + 1) % 10
	return formatDigits(w)
}

func TestNewChallengeShape(t *testing.T) {
	b, s := newTestBuiltin(t)
	c := mustNew(t, b, t0)
	if !validID(c.ID) {
		t.Errorf("New().ID = %q, not a 128-bit base64url id", c.ID)
	}
	if len(c.ID) != 22 {
		t.Errorf("len(New().ID) = %d, want 22", len(c.ID))
	}
	if len(c.Digits) != DefaultLength {
		t.Errorf("len(New().Digits) = %d, want %d", len(c.Digits), DefaultLength)
	}
	if !validDigits(c.Digits) {
		t.Errorf("New().Digits = %v, want values 0-9", c.Digits)
	}
	if !c.CreatedAt.Equal(t0) {
		t.Errorf("New().CreatedAt = %v, want %v", c.CreatedAt, t0)
	}
	if got := c.ExpiresAt.Sub(c.CreatedAt); got != DefaultTTL {
		t.Errorf("New() lifetime = %v, want %v", got, DefaultTTL)
	}
	stored, err := s.Challenge(context.Background(), c.ID, t0)
	if err != nil {
		t.Fatalf("store.Challenge(%q) error = %v", c.ID, err)
	}
	if !bytes.Equal(stored.Digits, c.Digits) {
		t.Errorf("stored digits = %v, want %v", stored.Digits, c.Digits)
	}
}

func TestNewIDsAreUnique(t *testing.T) {
	b, _ := newTestBuiltin(t)
	seen := make(map[string]bool)
	for range 500 {
		c := mustNew(t, b, t0)
		if seen[c.ID] {
			t.Fatalf("New() repeated id %q", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestNewBuiltinSettings(t *testing.T) {
	tests := []struct {
		name       string
		ttl        time.Duration
		length     int
		wantTTL    time.Duration
		wantLength int
	}{
		{"defaults", 0, 0, DefaultTTL, DefaultLength},
		{"negative", -time.Minute, -3, DefaultTTL, DefaultLength},
		{"custom", 2 * time.Minute, 8, 2 * time.Minute, 8},
		{"too short", time.Minute, 1, time.Minute, MinLength},
		{"too long", time.Minute, 40, time.Minute, MaxLength},
		{"minimum", time.Minute, MinLength, time.Minute, MinLength},
		{"maximum", time.Minute, MaxLength, time.Minute, MaxLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuiltin(NewMemoryStore(), nil, tt.ttl, tt.length)
			c := mustNew(t, b, t0)
			if len(c.Digits) != tt.wantLength {
				t.Errorf("NewBuiltin(length %d): len(Digits) = %d, want %d", tt.length, len(c.Digits), tt.wantLength)
			}
			if got := c.ExpiresAt.Sub(c.CreatedAt); got != tt.wantTTL {
				t.Errorf("NewBuiltin(ttl %v): lifetime = %v, want %v", tt.ttl, got, tt.wantTTL)
			}
		})
	}
}

func TestRandomDigitsRejectsBiasedBytes(t *testing.T) {
	// Bytes of 250 and above would favour 0-5; they must be skipped.
	src := []byte{250, 17, 255, 249, 3, 251, 0, 128, 99, 252, 200, 45, 1, 2, 3, 4}
	var want []byte
	for _, v := range src {
		if v < 250 {
			want = append(want, v%10)
		}
	}
	const n = 6
	got, err := randomDigits(bytes.NewReader(bytes.Repeat(src, 4)), n)
	if err != nil {
		t.Fatalf("randomDigits() error = %v", err)
	}
	if !bytes.Equal(got, want[:n]) {
		t.Errorf("randomDigits() = %v, want %v", got, want[:n])
	}
}

func TestRandomDigitsBrokenSource(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"error", iotest.ErrReader(errors.New("no entropy"))},
		{"only unusable bytes", repeatReader(255)},
		{"short", bytes.NewReader([]byte{1, 2})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := randomDigits(tt.r, 6); err == nil {
				t.Errorf("randomDigits() = %v, nil; want an error", got)
			}
		})
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestNewErrors(t *testing.T) {
	storeErr := errors.New("disk full")
	tests := []struct {
		name  string
		store Store
		rand  io.Reader
	}{
		{"random source fails", NewMemoryStore(), iotest.ErrReader(errors.New("no entropy"))},
		{"store fails", fakeStore{save: func(context.Context, Challenge) error { return storeErr }}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuiltin(tt.store, tt.rand, 0, 0)
			if c, err := b.New(context.Background(), t0); err == nil {
				t.Errorf("New() = %v, nil; want an error", c)
			}
		})
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		format func(digits string) string
	}{
		{"plain", func(d string) string { return d }},
		{"spaced", func(d string) string { return strings.Join(strings.Split(d, ""), " ") }},
		{"padded", func(d string) string { return " \t" + d + "\n" }},
		{"grouped", func(d string) string { return d[:3] + "  " + d[3:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newTestBuiltin(t)
			c := mustNew(t, b, t0)
			answer := tt.format(formatDigits(c.Digits))
			ok, err := b.Verify(context.Background(), c.ID, answer, t0.Add(time.Minute))
			if err != nil || !ok {
				t.Fatalf("Verify(%q) = %v, %v; want true, nil", answer, ok, err)
			}
			ok, err = b.Verify(context.Background(), c.ID, answer, t0.Add(time.Minute))
			if err != nil || ok {
				t.Errorf("second Verify(%q) = %v, %v; want false, nil", answer, ok, err)
			}
		})
	}
}

func TestVerifyWrongAnswerUsesChallenge(t *testing.T) {
	tests := []struct {
		name  string
		wrong func(digits []byte) string
	}{
		{"wrong digit", wrongAnswer},
		{"too short", func(d []byte) string { return formatDigits(d[:len(d)-1]) }},
		{"too long", func(d []byte) string { return formatDigits(d) + "0" }},
		{"letters", func(d []byte) string { return "abc" }},
		{"digit with letter", func(d []byte) string { return formatDigits(d) + "x" }},
		{"hyphen", func(d []byte) string { s := formatDigits(d); return s[:3] + "-" + s[3:] }},
		{"empty", func(d []byte) string { return "" }},
		{"only spaces", func(d []byte) string { return "   " }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newTestBuiltin(t)
			c := mustNew(t, b, t0)
			wrong := tt.wrong(c.Digits)
			ok, err := b.Verify(context.Background(), c.ID, wrong, t0)
			if err != nil || ok {
				t.Fatalf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
			}
			right := formatDigits(c.Digits)
			ok, err = b.Verify(context.Background(), c.ID, right, t0)
			if err != nil || ok {
				t.Errorf("Verify(%q) after a wrong answer = %v, %v; want false, nil", right, ok, err)
			}
		})
	}
}

func TestVerifyExpiry(t *testing.T) {
	const ttl = 5 * time.Minute
	tests := []struct {
		name  string
		after time.Duration
		want  bool
	}{
		{"fresh", 0, true},
		{"last moment", ttl - time.Nanosecond, true},
		{"at expiry", ttl, false},
		{"long after", 3 * ttl, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuiltin(NewMemoryStore(), nil, ttl, 0)
			c := mustNew(t, b, t0)
			ok, err := b.Verify(context.Background(), c.ID, formatDigits(c.Digits), t0.Add(tt.after))
			if err != nil || ok != tt.want {
				t.Errorf("Verify(right answer, +%v) = %v, %v; want %v, nil", tt.after, ok, err, tt.want)
			}
		})
	}
}

func TestVerifyUnknownID(t *testing.T) {
	b, _ := newTestBuiltin(t)
	c := mustNew(t, b, t0)
	answer := formatDigits(c.Digits)
	tests := []string{
		"",
		"AAAAAAAAAAAAAAAAAAAAAA", // well formed, never issued
		c.ID + "A",
		c.ID[:21],
		strings.ToUpper(c.ID) + "!",
		"../../etc/passwd",
	}
	for _, id := range tests {
		t.Run(id, func(t *testing.T) {
			ok, err := b.Verify(context.Background(), id, answer, t0)
			if err != nil || ok {
				t.Errorf("Verify(%q) = %v, %v; want false, nil", id, ok, err)
			}
		})
	}
	// The real challenge was not touched by the attempts above.
	if ok, err := b.Verify(context.Background(), c.ID, answer, t0); err != nil || !ok {
		t.Errorf("Verify(%q) = %v, %v; want true, nil", c.ID, ok, err)
	}
}

func TestVerifyConcurrentSingleUse(t *testing.T) {
	b, _ := newTestBuiltin(t)
	c := mustNew(t, b, t0)
	answer := formatDigits(c.Digits)
	const n = 50
	var (
		wins  atomic.Int32
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			ok, err := b.Verify(context.Background(), c.ID, answer, t0)
			if err != nil {
				t.Errorf("Verify() error = %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Errorf("%d concurrent Verify calls succeeded %d times, want 1", n, got)
	}
}

func TestVerifyStoreErrors(t *testing.T) {
	id := "AAAAAAAAAAAAAAAAAAAAAA"
	storeErr := errors.New("connection reset")
	tests := []struct {
		name    string
		consume func(context.Context, string, time.Time) (Challenge, error)
		wantErr bool
	}{
		{"store failure", func(context.Context, string, time.Time) (Challenge, error) {
			return Challenge{}, storeErr
		}, true},
		{"wrapped not found", func(context.Context, string, time.Time) (Challenge, error) {
			return Challenge{}, fmt.Errorf("sqlite: %w", ErrNotFound)
		}, false},
		{"corrupt digits", func(context.Context, string, time.Time) (Challenge, error) {
			return Challenge{ID: id, Digits: []byte{1, 2, 30}, ExpiresAt: t0.Add(time.Hour)}, nil
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuiltin(fakeStore{consume: tt.consume}, nil, 0, 0)
			ok, err := b.Verify(context.Background(), id, "123", t0)
			if ok {
				t.Errorf("Verify() = true, want false")
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("Verify() error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && errors.Is(err, ErrNotFound) {
				t.Errorf("Verify() error = %v, must not be ErrNotFound", err)
			}
		})
	}
}

func TestWriteImage(t *testing.T) {
	b, _ := newTestBuiltin(t)
	c := mustNew(t, b, t0)
	var first bytes.Buffer
	if err := b.WriteImage(context.Background(), &first, c.ID, t0); err != nil {
		t.Fatalf("WriteImage() error = %v", err)
	}
	img, err := png.Decode(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatalf("png.Decode(WriteImage output) error = %v", err)
	}
	if got := img.Bounds().Size(); got.X != ImageWidth || got.Y != ImageHeight {
		t.Errorf("image size = %v, want %dx%d", got, ImageWidth, ImageHeight)
	}
	// Rendering does not use the challenge up, and redraws the same picture.
	var second bytes.Buffer
	if err := b.WriteImage(context.Background(), &second, c.ID, t0.Add(time.Minute)); err != nil {
		t.Fatalf("second WriteImage() error = %v", err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("second WriteImage() drew a different picture")
	}
	if ok, err := b.Verify(context.Background(), c.ID, formatDigits(c.Digits), t0); err != nil || !ok {
		t.Errorf("Verify() after WriteImage = %v, %v; want true, nil", ok, err)
	}
}

func TestWriteAudio(t *testing.T) {
	tests := []string{"", "en", "ru", "pt-BR", "ja", "zh", "xx"}
	b, _ := newTestBuiltin(t)
	c := mustNew(t, b, t0)
	for _, lang := range tests {
		t.Run(lang, func(t *testing.T) {
			var buf bytes.Buffer
			if err := b.WriteAudio(context.Background(), &buf, c.ID, lang, t0); err != nil {
				t.Fatalf("WriteAudio(%q) error = %v", lang, err)
			}
			out := buf.Bytes()
			if len(out) < 44 {
				t.Fatalf("WriteAudio(%q) wrote %d bytes, want a WAV file", lang, len(out))
			}
			if got := string(out[0:4]); got != "RIFF" {
				t.Errorf("WriteAudio(%q) starts with %q, want %q", lang, got, "RIFF")
			}
			if got := string(out[8:12]); got != "WAVE" {
				t.Errorf("WriteAudio(%q) format = %q, want %q", lang, got, "WAVE")
			}
		})
	}
}

func TestAudioLanguage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "en"},
		{"en", "en"},
		{"EN-gb", "en"},
		{"ru", "ru"},
		{"pt-BR", "pt"},
		{"pt_PT", "pt"},
		{"zh-Hans-CN", "zh"},
		{"ja", "ja"},
		{"de", "en"},
		{"../en", "en"},
	}
	for _, tt := range tests {
		if got := AudioLanguage(tt.in); got != tt.want {
			t.Errorf("AudioLanguage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRenderNotFound(t *testing.T) {
	b, _ := newTestBuiltin(t)
	used := mustNew(t, b, t0)
	if _, err := b.Verify(context.Background(), used.ID, "0", t0); err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	expired := mustNew(t, b, t0)
	tests := []struct {
		name string
		id   string
		now  time.Time
	}{
		{"never issued", "AAAAAAAAAAAAAAAAAAAAAA", t0},
		{"malformed", "not an id", t0},
		{"used", used.ID, t0},
		{"expired", expired.ID, t0.Add(DefaultTTL)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := b.WriteImage(context.Background(), &buf, tt.id, tt.now); !errors.Is(err, ErrNotFound) {
				t.Errorf("WriteImage(%q) error = %v, want ErrNotFound", tt.id, err)
			}
			if err := b.WriteAudio(context.Background(), &buf, tt.id, "en", tt.now); !errors.Is(err, ErrNotFound) {
				t.Errorf("WriteAudio(%q) error = %v, want ErrNotFound", tt.id, err)
			}
			if got, err := b.Answer(context.Background(), tt.id, tt.now); !errors.Is(err, ErrNotFound) {
				t.Errorf("Answer(%q) = %q, %v; want ErrNotFound", tt.id, got, err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes for a missing challenge, want 0", buf.Len())
			}
		})
	}
}

func TestRenderCorruptDigits(t *testing.T) {
	id := "AAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name   string
		digits []byte
	}{
		{"empty", nil},
		{"out of range", []byte{1, 2, 10}},
		{"ascii", []byte("123456")},
		{"too long", make([]byte, maxStoredDigits+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuiltin(fakeStore{challenge: func(context.Context, string, time.Time) (Challenge, error) {
				return Challenge{ID: id, Digits: tt.digits, ExpiresAt: t0.Add(time.Hour)}, nil
			}}, nil, 0, 0)
			var buf bytes.Buffer
			if err := b.WriteImage(context.Background(), &buf, id, t0); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("WriteImage(digits %v) error = %v, want a corruption error", tt.digits, err)
			}
			if err := b.WriteAudio(context.Background(), &buf, id, "en", t0); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("WriteAudio(digits %v) error = %v, want a corruption error", tt.digits, err)
			}
		})
	}
}

func TestWriteImageWriterError(t *testing.T) {
	b, _ := newTestBuiltin(t)
	c := mustNew(t, b, t0)
	werr := errors.New("connection closed")
	if err := b.WriteImage(context.Background(), errWriter{werr}, c.ID, t0); !errors.Is(err, werr) {
		t.Errorf("WriteImage(failing writer) error = %v, want %v", err, werr)
	}
	if err := b.WriteAudio(context.Background(), errWriter{werr}, c.ID, "en", t0); !errors.Is(err, werr) {
		t.Errorf("WriteAudio(failing writer) error = %v, want %v", err, werr)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestAnswer(t *testing.T) {
	b, _ := newTestBuiltin(t)
	c := mustNew(t, b, t0)
	got, err := b.Answer(context.Background(), c.ID, t0)
	if err != nil {
		t.Fatalf("Answer(%q) error = %v", c.ID, err)
	}
	if want := formatDigits(c.Digits); got != want {
		t.Errorf("Answer(%q) = %q, want %q", c.ID, got, want)
	}
	// Answer does not consume: the answer it gave still verifies once.
	if ok, err := b.Verify(context.Background(), c.ID, got, t0); err != nil || !ok {
		t.Errorf("Verify(%q) after Answer = %v, %v; want true, nil", got, ok, err)
	}
}

func TestChallengeHidesDigits(t *testing.T) {
	c := Challenge{
		ID:        "AAAAAAAAAAAAAAAAAAAAAA",
		Digits:    []byte{9, 8, 7, 6, 5, 4},
		CreatedAt: t0,
		ExpiresAt: t0.Add(time.Minute),
	}
	secretForms := []string{"987654", "9 8 7 6 5 4", "[9 8 7 6 5 4]", "CQgHBgUE"}

	js, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("issued", "challenge", c)

	outputs := map[string]string{
		"json":   string(js),
		"%v":     fmt.Sprintf("%v", c),
		"%+v":    fmt.Sprintf("%+v", c),
		"String": c.String(),
		"slog":   logBuf.String(),
	}
	for name, out := range outputs {
		if !strings.Contains(out, c.ID) {
			t.Errorf("%s output %q lacks the id", name, out)
		}
		for _, s := range secretForms {
			if strings.Contains(out, s) {
				t.Errorf("%s output %q contains the answer as %q", name, out, s)
			}
		}
	}
}
