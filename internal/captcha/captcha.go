// Package captcha provides the CAPTCHA checks that guard recovery-code
// sign-in after repeated failures.
//
// Two kinds of check satisfy [Verifier]:
//
//   - [Builtin], a self-hosted digit CAPTCHA drawn as a PNG image with a WAV
//     audio alternative. Rendering uses github.com/dchest/captcha; the digits
//     themselves are generated here and kept in a [Store], so that any node of
//     a cluster can render and check a challenge created on another node.
//   - [Hosted], which checks tokens from Cloudflare Turnstile or hCaptcha with
//     the provider's siteverify endpoint.
//
// The package knows nothing of HTTP routing or SQL: the web layer turns
// requests into calls, and the database stores implement [Store].
package captcha

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	dchest "github.com/dchest/captcha"
)

// ErrNotFound is returned by a [Store], and by the [Builtin] methods that
// read one, when a challenge does not exist, has expired or has been used.
var ErrNotFound = errors.New("captcha: not found")

// Image and audio properties of the built-in CAPTCHA.
const (
	// ImageWidth and ImageHeight are the pixel size of the PNG written by
	// [Builtin.WriteImage].
	ImageWidth  = 240
	ImageHeight = 80
	// ImageContentType is the media type of [Builtin.WriteImage] output.
	ImageContentType = "image/png"
	// AudioContentType is the media type of [Builtin.WriteAudio] output.
	AudioContentType = "audio/wav"
)

// Defaults and bounds of [NewBuiltin].
const (
	DefaultTTL    = 10 * time.Minute
	DefaultLength = 6
	// MinLength and MaxLength bound the number of digits: fewer is too easy
	// to guess, more is too long to listen to.
	MinLength = 4
	MaxLength = 10
)

// maxStoredDigits bounds what a challenge read back from a store may hold
// before it is rendered or compared; anything longer is treated as corrupt.
const maxStoredDigits = 32

// idBytes is the number of random bytes in a challenge id (128 bits).
const idBytes = 16

// Challenge is one built-in CAPTCHA: its id, its answer as digit values 0-9
// (not ASCII), and its lifetime. A challenge is valid while now is before
// ExpiresAt.
//
// Digits is the answer: it is left out of JSON, [Challenge.String] and
// [Challenge.LogValue] so that it does not leak into a response or a log by
// accident.
type Challenge struct {
	ID        string
	Digits    []byte `json:"-"`
	CreatedAt time.Time
	ExpiresAt time.Time
}

// String describes the challenge without its answer.
func (c Challenge) String() string {
	return fmt.Sprintf("captcha.Challenge{ID:%s ExpiresAt:%s}", c.ID, c.ExpiresAt.UTC().Format(time.RFC3339))
}

// LogValue describes the challenge for log/slog without its answer.
func (c Challenge) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", c.ID),
		slog.Time("expires_at", c.ExpiresAt),
	)
}

// expired reports whether the challenge can no longer be used at now.
func (c Challenge) expired(now time.Time) bool {
	return !now.Before(c.ExpiresAt)
}

// Store persists built-in challenges. Production uses the SQLite and
// PostgreSQL stores so that every node sees the same challenges;
// [NewMemoryStore] serves tests and single-process tools.
//
// Implementations must be safe for concurrent use.
type Store interface {
	// SaveChallenge stores a new challenge. It returns an error if the
	// challenge cannot be stored, including when its id already exists.
	SaveChallenge(ctx context.Context, c Challenge) error
	// Challenge returns the challenge with the given id if it is unused and
	// unexpired at now (now before ExpiresAt). It returns ErrNotFound
	// otherwise and does not change the challenge. Rendering uses it, and
	// may call it any number of times.
	Challenge(ctx context.Context, id string, now time.Time) (Challenge, error)
	// ConsumeChallenge marks the challenge used and returns it, only if it
	// was unused and unexpired at now; otherwise it returns ErrNotFound.
	// The check and the marking are one atomic step (one statement in the
	// database stores), so a challenge is consumed at most once however
	// many callers race for it.
	ConsumeChallenge(ctx context.Context, id string, now time.Time) (Challenge, error)
}

// Verifier checks a solved CAPTCHA. The sign-in logic depends on this
// interface only; [Builtin] and [Hosted] implement it.
//
// Verify reports whether answer solves the CAPTCHA identified by id (hosted
// CAPTCHAs ignore id). A wrong, malformed, unknown, expired or already used
// answer is (false, nil); a non-nil error means the check itself could not
// be made (store or network failure) and must be treated as a failure.
type Verifier interface {
	Verify(ctx context.Context, id, answer string, now time.Time) (bool, error)
}

var (
	_ Verifier = (*Builtin)(nil)
	_ Verifier = (*Hosted)(nil)
)

// Builtin is the self-hosted digit CAPTCHA. It keeps no state of its own
// besides its settings: challenges live in the [Store].
//
// A Builtin is safe for concurrent use.
type Builtin struct {
	store  Store
	ttl    time.Duration
	length int

	randMu sync.Mutex // guards rand, which need not be safe for concurrent use
	rand   io.Reader
}

// NewBuiltin returns a built-in CAPTCHA keeping its challenges in store,
// which must not be nil.
//
// rand is the source of ids and digits; nil means crypto/rand.Reader. A
// challenge lives ttl (DefaultTTL when ttl <= 0). length is the number of
// digits: DefaultLength when length <= 0, otherwise clamped to
// [MinLength, MaxLength].
func NewBuiltin(store Store, rand io.Reader, ttl time.Duration, length int) *Builtin {
	if store == nil {
		panic("captcha: NewBuiltin with nil store")
	}
	if rand == nil {
		rand = cryptoRand{}
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	switch {
	case length <= 0:
		length = DefaultLength
	case length < MinLength:
		length = MinLength
	case length > MaxLength:
		length = MaxLength
	}
	return &Builtin{store: store, ttl: ttl, length: length, rand: rand}
}

// cryptoRand reads from crypto/rand.
type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return rand.Read(p) }

// New creates and stores a challenge valid from now for the configured TTL.
// Its id is 128 random bits, base64url without padding.
//
// It returns an error if the random source or the store fails. The returned
// challenge carries the answer: show the id only.
func (b *Builtin) New(ctx context.Context, now time.Time) (Challenge, error) {
	id, digits, err := b.random()
	if err != nil {
		return Challenge{}, err
	}
	c := Challenge{
		ID:        id,
		Digits:    digits,
		CreatedAt: now,
		ExpiresAt: now.Add(b.ttl),
	}
	if err := b.store.SaveChallenge(ctx, c); err != nil {
		return Challenge{}, fmt.Errorf("captcha: save challenge: %w", err)
	}
	return c, nil
}

// random draws a fresh id and answer.
func (b *Builtin) random() (string, []byte, error) {
	b.randMu.Lock()
	defer b.randMu.Unlock()
	raw := make([]byte, idBytes)
	if _, err := io.ReadFull(b.rand, raw); err != nil {
		return "", nil, fmt.Errorf("captcha: read random id: %w", err)
	}
	digits, err := randomDigits(b.rand, b.length)
	if err != nil {
		return "", nil, err
	}
	return base64.RawURLEncoding.EncodeToString(raw), digits, nil
}

// randomDigits returns n uniformly random digit values 0-9 read from r,
// rejecting bytes at or above 250 to avoid modulo bias.
func randomDigits(r io.Reader, n int) ([]byte, error) {
	digits := make([]byte, 0, n)
	buf := make([]byte, n+n/2+2)
	// A working source almost never needs a second round; a broken one that
	// keeps returning rejected bytes must not loop for ever.
	for range 64 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("captcha: read random digits: %w", err)
		}
		for _, v := range buf {
			if v >= 250 {
				continue
			}
			digits = append(digits, v%10)
			if len(digits) == n {
				return digits, nil
			}
		}
	}
	return nil, errors.New("captcha: random source keeps returning unusable bytes")
}

// challenge reads a challenge for rendering.
func (b *Builtin) challenge(ctx context.Context, id string, now time.Time) (Challenge, error) {
	if !validID(id) {
		return Challenge{}, ErrNotFound
	}
	c, err := b.store.Challenge(ctx, id, now)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Challenge{}, ErrNotFound
		}
		return Challenge{}, fmt.Errorf("captcha: read challenge: %w", err)
	}
	if !validDigits(c.Digits) {
		return Challenge{}, errors.New("captcha: stored challenge has malformed digits")
	}
	return c, nil
}

// WriteImage writes the challenge with the given id as a PNG image of
// ImageWidth × ImageHeight pixels. The same node draws the same picture for
// the same challenge; other nodes draw the same digits differently.
//
// It returns ErrNotFound for an unknown, malformed, expired or used id (and
// then writes nothing), a wrapped error if the store fails, and the error of
// w if writing fails.
func (b *Builtin) WriteImage(ctx context.Context, w io.Writer, id string, now time.Time) error {
	c, err := b.challenge(ctx, id, now)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := dchest.NewImage(c.ID, c.Digits, ImageWidth, ImageHeight).WriteTo(&buf); err != nil {
		return fmt.Errorf("captcha: encode image: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("captcha: write image: %w", err)
	}
	return nil
}

// AudioLanguage returns the language [Builtin.WriteAudio] speaks for the
// requested one: its primary subtag ("pt-BR" → "pt") when digits are
// recorded in it, otherwise "en".
func AudioLanguage(lang string) string {
	primary, _, _ := strings.Cut(lang, "-")
	primary, _, _ = strings.Cut(primary, "_")
	primary = strings.ToLower(strings.TrimSpace(primary))
	switch primary {
	case "en", "ja", "pt", "ru", "zh": // the languages with recorded digits
		return primary
	}
	return "en"
}

// WriteAudio writes the challenge with the given id as spoken digits in a
// WAV file (8 kHz, 8-bit mono). lang picks the voice as [AudioLanguage]
// describes; English when empty or unknown.
//
// It returns ErrNotFound for an unknown, malformed, expired or used id (and
// then writes nothing), a wrapped error if the store fails, and the error of
// w if writing fails.
func (b *Builtin) WriteAudio(ctx context.Context, w io.Writer, id string, lang string, now time.Time) error {
	c, err := b.challenge(ctx, id, now)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := dchest.NewAudio(c.ID, c.Digits, AudioLanguage(lang)).WriteTo(&buf); err != nil {
		return fmt.Errorf("captcha: encode audio: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("captcha: write audio: %w", err)
	}
	return nil
}

// Verify consumes the challenge with the given id and reports whether
// answer matches its digits. The challenge is used up by the first call,
// whether the answer is right, wrong or malformed, so each challenge
// answers at most once across every node sharing the store.
//
// The answer may contain spaces (and other white space) between digits;
// any other non-digit character makes it wrong. The comparison takes
// constant time.
//
// An unknown, malformed, expired or used id gives (false, nil); the error
// is non-nil only when the store fails.
func (b *Builtin) Verify(ctx context.Context, id, answer string, now time.Time) (bool, error) {
	if !validID(id) {
		return false, nil
	}
	c, err := b.store.ConsumeChallenge(ctx, id, now)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("captcha: consume challenge: %w", err)
	}
	if !validDigits(c.Digits) {
		return false, errors.New("captcha: stored challenge has malformed digits")
	}
	got, ok := normaliseAnswer(answer)
	if !ok {
		return false, nil
	}
	return subtle.ConstantTimeCompare(got, c.Digits) == 1, nil
}

// Answer returns the answer of an unused, unexpired challenge as a string
// of ASCII digits, without consuming it. It exists for development mode
// (GET /api/v1/dev/captcha/{id}) and must not be reachable otherwise.
//
// It returns ErrNotFound for an unknown, malformed, expired or used id and
// a wrapped error if the store fails.
func (b *Builtin) Answer(ctx context.Context, id string, now time.Time) (string, error) {
	c, err := b.challenge(ctx, id, now)
	if err != nil {
		return "", err
	}
	return formatDigits(c.Digits), nil
}
