package password

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fast are cheap parameters so that most tests run quickly.
var fast = Params{Memory: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, p := range []Params{DefaultParams, fast} {
		h := New(p, 1)
		for _, pw := range []string{"correct horse battery staple", "", "пароль-密码-🔑", strings.Repeat("x", MaxBytes)} {
			phc, err := h.Hash(ctx, pw)
			if err != nil {
				t.Fatalf("Hash(%q) error = %v", pw, err)
			}
			ok, rehash, err := h.Verify(ctx, pw, phc)
			if !ok || rehash || err != nil {
				t.Errorf("Verify(%q, Hash(%q)) = %v, %v, %v, want true, false, nil", pw, pw, ok, rehash, err)
			}
			ok, rehash, err = h.Verify(ctx, pw+"!", phc)
			if ok || rehash || err != nil {
				t.Errorf("Verify(%q, Hash(%q)) = %v, %v, %v, want false, false, nil", pw+"!", pw, ok, rehash, err)
			}
		}
	}
}

func TestHashFormat(t *testing.T) {
	h := New(DefaultParams, 1)
	phc, err := h.Hash(context.Background(), "secret password")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(phc, prefix) {
		t.Fatalf("Hash() = %q, want prefix %q", phc, prefix)
	}
	fields := strings.Split(strings.TrimPrefix(phc, prefix), "$")
	if len(fields) != 2 {
		t.Fatalf("Hash() = %q, want salt and hash after the parameters", phc)
	}
	for i, want := range []int{16, 32} {
		b, err := base64.RawStdEncoding.DecodeString(fields[i])
		if err != nil || len(b) != want {
			t.Errorf("Hash() field %d = %q: %d bytes, %v, want %d bytes of unpadded base64", i, fields[i], len(b), err, want)
		}
	}
	if strings.Contains(phc, "secret") {
		t.Errorf("Hash() = %q, contains the password", phc)
	}

	again, err := h.Hash(context.Background(), "secret password")
	if err != nil {
		t.Fatal(err)
	}
	if again == phc {
		t.Errorf("Hash() twice = %q both, want different salts", phc)
	}
}

// TestVerifyReferenceVectors checks hashes made by the argon2 reference
// implementation (its argon2id test vectors for "password" and "somesalt").
func TestVerifyReferenceVectors(t *testing.T) {
	h := New(fast, 1)
	for _, phc := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		ok, rehash, err := h.Verify(context.Background(), "password", phc)
		if !ok || !rehash || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, %v, want true, true, nil", "password", phc, ok, rehash, err)
		}
		ok, _, err = h.Verify(context.Background(), "Password", phc)
		if ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, want false, nil", "Password", phc, ok, err)
		}
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	ctx := context.Background()
	base := fast
	variants := map[string]Params{
		"same":     base,
		"memory":   {Memory: 512, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"time":     {Memory: 256, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"threads":  {Memory: 256, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"salt len": {Memory: 256, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32},
		"key len":  {Memory: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16},
	}
	current := New(base, 1)
	for name, p := range variants {
		t.Run(name, func(t *testing.T) {
			phc, err := New(p, 1).Hash(ctx, "pw")
			if err != nil {
				t.Fatal(err)
			}
			want := name != "same"
			ok, rehash, err := current.Verify(ctx, "pw", phc)
			if !ok || rehash != want || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v, want true, %v, nil", "pw", phc, ok, rehash, err, want)
			}
			// A wrong password never asks for a rehash.
			ok, rehash, err = current.Verify(ctx, "wrong", phc)
			if ok || rehash || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v, want false, false, nil", "wrong", phc, ok, rehash, err)
			}
		})
	}
}

func TestParseHash(t *testing.T) {
	const (
		salt = "c29tZXNhbHQ"                                 // "somesalt"
		key  = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4" // 32 bytes
	)
	good := "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key
	if x, err := parseHash(good); err != nil || x.memory != 256 || x.time != 2 || x.threads != 1 ||
		string(x.salt) != "somesalt" || len(x.key) != 32 {
		t.Fatalf("parseHash(%q) = %+v, %v, want m=256 t=2 p=1, salt somesalt, 32-byte key", good, x, err)
	}
	if x, _ := parseHash(good); x.String() != good {
		t.Errorf("parseHash(%q).String() = %q, want the input", good, x.String())
	}

	bad := []struct{ name, in string }{
		{"empty", ""},
		{"garbage", "hello"},
		{"bcrypt", "$2b$10$abcdefghijklmnopqrstuuSomeBcryptHashValueThatIsLong12"},
		{"argon2i", "$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=256,t=2,p=1$" + salt + "$" + key},
		{"upper-case id", "$ARGON2ID$v=19$m=256,t=2,p=1$" + salt + "$" + key},
		{"no leading dollar", "argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + key},
		{"version missing", "$argon2id$m=256,t=2,p=1$" + salt + "$" + key},
		{"version 019", "$argon2id$v=019$m=256,t=2,p=1$" + salt + "$" + key},
		{"missing hash", "$argon2id$v=19$m=256,t=2,p=1$" + salt},
		{"missing salt and hash", "$argon2id$v=19$m=256,t=2,p=1"},
		{"empty hash", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$"},
		{"empty salt", "$argon2id$v=19$m=256,t=2,p=1$$" + key},
		{"extra field", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key + "$x"},
		{"trailing dollar", good + "$"},
		{"missing parameter", "$argon2id$v=19$m=256,t=2$" + salt + "$" + key},
		{"extra parameter", "$argon2id$v=19$m=256,t=2,p=1,keyid=x$" + salt + "$" + key},
		{"parameters out of order", "$argon2id$v=19$t=2,m=256,p=1$" + salt + "$" + key},
		{"empty parameter", "$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + key},
		{"signed parameter", "$argon2id$v=19$m=+256,t=2,p=1$" + salt + "$" + key},
		{"negative parameter", "$argon2id$v=19$m=256,t=-2,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=0256,t=2,p=1$" + salt + "$" + key},
		{"hex parameter", "$argon2id$v=19$m=0x100,t=2,p=1$" + salt + "$" + key},
		{"space in parameters", "$argon2id$v=19$m=256, t=2,p=1$" + salt + "$" + key},
		{"memory over 1 GiB", "$argon2id$v=19$m=1048577,t=2,p=1$" + salt + "$" + key},
		{"memory overflows uint32", "$argon2id$v=19$m=4294967552,t=2,p=1$" + salt + "$" + key},
		{"memory too many digits", "$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + key},
		{"memory below 8 per thread", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{"time zero", "$argon2id$v=19$m=256,t=0,p=1$" + salt + "$" + key},
		{"time over 100", "$argon2id$v=19$m=256,t=101,p=1$" + salt + "$" + key},
		{"threads zero", "$argon2id$v=19$m=256,t=2,p=0$" + salt + "$" + key},
		{"threads over 64", "$argon2id$v=19$m=1024,t=2,p=65$" + salt + "$" + key},
		{"threads over 255", "$argon2id$v=19$m=4096,t=2,p=257$" + salt + "$" + key},
		{"padded salt", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$" + key},
		{"url-safe base64", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$nf65EOgLrQMR_uIPnA4rEsF5h7TKyQwu9U1bMCHGi_4"},
		{"bad base64", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$!!!!"},
		{"non-canonical base64", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$" + key},
		{"line break in hash", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key[:20] + "\n" + key[20:]},
		{"salt too short", "$argon2id$v=19$m=256,t=2,p=1$c2FsdA$" + key},
		{"salt too long", "$argon2id$v=19$m=256,t=2,p=1$" + base64.RawStdEncoding.EncodeToString(make([]byte, MaxSaltLen+1)) + "$" + key},
		{"key too short", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, MinKeyLen-1))},
		{"key too long", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, MaxKeyLen+1))},
		{"too long", good + strings.Repeat("A", maxHashText)},
	}
	h := New(fast, 1)
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if x, err := parseHash(tt.in); !errors.Is(err, ErrMalformedHash) {
				t.Errorf("parseHash(%q) = %+v, %v, want ErrMalformedHash", tt.in, x, err)
			}
			ok, rehash, err := h.Verify(context.Background(), "password", tt.in)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q, %q) = %v, %v, %v, want false, false, ErrMalformedHash", "password", tt.in, ok, rehash, err)
			}
		})
	}
}

func TestParamsValidate(t *testing.T) {
	good := []Params{DefaultParams, fast,
		{Memory: MaxMemory, Time: MaxTime, Threads: MaxThreads, SaltLen: MaxSaltLen, KeyLen: MaxKeyLen},
		{Memory: 8, Time: 1, Threads: 1, SaltLen: MinSaltLen, KeyLen: MinKeyLen},
	}
	for _, p := range good {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", p, err)
		}
	}
	mod := func(f func(*Params)) Params { p := DefaultParams; f(&p); return p }
	bad := []Params{
		{},
		mod(func(p *Params) { p.Memory = MaxMemory + 1 }),
		mod(func(p *Params) { p.Memory = 7 }),
		mod(func(p *Params) { p.Memory, p.Threads = 31, 4 }),
		mod(func(p *Params) { p.Time = 0 }),
		mod(func(p *Params) { p.Time = MaxTime + 1 }),
		mod(func(p *Params) { p.Threads = 0 }),
		mod(func(p *Params) { p.Threads = MaxThreads + 1 }),
		mod(func(p *Params) { p.SaltLen = MinSaltLen - 1 }),
		mod(func(p *Params) { p.SaltLen = MaxSaltLen + 1 }),
		mod(func(p *Params) { p.KeyLen = MinKeyLen - 1 }),
		mod(func(p *Params) { p.KeyLen = MaxKeyLen + 1 }),
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, ErrBadParams) {
			t.Errorf("%+v.Validate() = %v, want ErrBadParams", p, err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v, 1) did not panic", p)
				}
			}()
			New(p, 1)
		}()
	}
}

func TestNewDefaultConcurrency(t *testing.T) {
	for _, n := range []int{0, -3} {
		if got, want := cap(New(fast, n).sem), runtime.GOMAXPROCS(0); got != want {
			t.Errorf("New(fast, %d) allows %d at once, want GOMAXPROCS = %d", n, got, want)
		}
	}
	if got := cap(New(fast, 5).sem); got != 5 {
		t.Errorf("New(fast, 5) allows %d at once, want 5", got)
	}
}

// gate is an enter hook that reports each hash that starts and holds it until
// released.
type gate struct {
	entered chan int64
	release chan struct{}
	mu      sync.Mutex
	max     int64
}

func newGate() *gate {
	return &gate{entered: make(chan int64, 100), release: make(chan struct{})}
}

func (g *gate) enter(n int64) {
	g.mu.Lock()
	g.max = max(g.max, n)
	g.mu.Unlock()
	g.entered <- n
	<-g.release
}

func TestConcurrencyBound(t *testing.T) {
	const limit, callers = 2, 7
	h := New(fast, limit)
	g := newGate()
	h.enter = g.enter

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = h.Hash(ctx, "pw")
			case 1:
				_, _, err = h.Verify(ctx, "pw", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
			case 2:
				h.Dummy(ctx, "pw")
			}
			errs <- err
		})
	}
	for range limit {
		select {
		case <-g.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("fewer than %d hashes started", limit)
		}
	}
	// With the slots full, nobody else may start.
	select {
	case n := <-g.entered:
		t.Fatalf("hash number %d started while %d were running, want at most %d at once", n, limit, limit)
	case <-time.After(100 * time.Millisecond):
	}
	if got := h.InFlight(); got != limit {
		t.Errorf("InFlight() = %d with the slots full, want %d", got, limit)
	}
	close(g.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("hash error = %v, want nil", err)
		}
	}
	if g.max != limit {
		t.Errorf("at most %d hashes ran at once, want exactly %d", g.max, limit)
	}
	if got := h.InFlight(); got != 0 {
		t.Errorf("InFlight() = %d after all finished, want 0", got)
	}
	if got := len(g.entered); got != callers-limit {
		t.Errorf("%d more hashes started after the release, want %d", got, callers-limit)
	}
}

func TestContextCancelWhileWaiting(t *testing.T) {
	h := New(fast, 1)
	g := newGate()
	h.enter = g.enter
	ctx := context.Background()

	// Occupy the only slot.
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Hash(ctx, "holder")
	}()
	<-g.entered

	calls := map[string]func(context.Context) error{
		"Hash": func(ctx context.Context) error {
			phc, err := h.Hash(ctx, "pw")
			if phc != "" {
				return fmt.Errorf("Hash returned %q", phc)
			}
			return err
		},
		"Verify": func(ctx context.Context) error {
			ok, rehash, err := h.Verify(ctx, "pw", h.dummy)
			if ok || rehash {
				return fmt.Errorf("Verify returned %v, %v", ok, rehash)
			}
			return err
		},
		"Dummy": func(ctx context.Context) error {
			h.Dummy(ctx, "pw")
			return ctx.Err()
		},
	}
	for name, call := range calls {
		t.Run(name+"/cancelled while waiting", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			res := make(chan error, 1)
			go func() { res <- call(ctx) }()
			time.Sleep(20 * time.Millisecond)
			cancel()
			select {
			case err := <-res:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("%s(cancelled ctx) error = %v, want %v", name, err, context.Canceled)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s did not return after its context was cancelled", name)
			}
		})
		t.Run(name+"/deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			if err := call(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s(expiring ctx) error = %v, want %v", name, err, context.DeadlineExceeded)
			}
		})
	}
	if len(g.entered) != 0 {
		t.Errorf("%d hashes started while the slot was taken, want 0", len(g.entered))
	}

	close(g.release)
	<-done

	// A context already cancelled is refused even with a free slot.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(cancelled, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled ctx) error = %v, want %v", err, context.Canceled)
	}
	if len(g.entered) != 0 {
		t.Errorf("a hash started with a cancelled context")
	}
}

func TestDummy(t *testing.T) {
	h := New(fast, 1)
	var starts int
	h.enter = func(int64) { starts++ }
	h.Dummy(context.Background(), "anything")
	if starts != 1 {
		t.Errorf("Dummy() ran %d hashes, want 1", starts)
	}
	// The internal hash has h's parameters, so Dummy costs what Verify of a
	// current hash costs.
	x, err := parseHash(h.dummy)
	if err != nil {
		t.Fatalf("parseHash(dummy) error = %v", err)
	}
	got := Params{Memory: x.memory, Time: x.time, Threads: x.threads, SaltLen: uint32(len(x.salt)), KeyLen: uint32(len(x.key))}
	if got != fast {
		t.Errorf("dummy hash parameters = %+v, want %+v", got, fast)
	}
	if ok, _, err := h.Verify(context.Background(), "anything", h.dummy); ok || err != nil {
		t.Errorf("Verify(%q, dummy) = %v, %v, want false, nil", "anything", ok, err)
	}
	if other := New(fast, 1); other.dummy == h.dummy {
		t.Errorf("two hashers share the dummy hash %q, want each its own", h.dummy)
	}
}

// TestVerifyCounted: the count runs inside a slot, before the hash; a
// count that refuses means nothing is hashed; an empty hash is the dummy,
// which never matches.
func TestVerifyCounted(t *testing.T) {
	ctx := context.Background()
	h := New(fast, 2)
	var starts int
	h.enter = func(int64) { starts++ }
	phc, err := h.Hash(ctx, "right")
	if err != nil {
		t.Fatal(err)
	}
	starts = 0
	var inSlot []int
	count := func() error { inSlot = append(inSlot, h.InFlight()); return nil }
	if ok, _, err := h.VerifyCounted(ctx, "right", phc, count); !ok || err != nil {
		t.Errorf("VerifyCounted(right) = %v, %v; want true", ok, err)
	}
	if ok, _, err := h.VerifyCounted(ctx, "wrong", phc, count); ok || err != nil {
		t.Errorf("VerifyCounted(wrong) = %v, %v; want false", ok, err)
	}
	if ok, rehash, err := h.VerifyCounted(ctx, "anything", "", count); ok || rehash || err != nil {
		t.Errorf("VerifyCounted(dummy) = %v, %v, %v; want false", ok, rehash, err)
	}
	if fmt.Sprint(inSlot) != "[1 1 1]" || starts != 3 {
		t.Errorf("count ran with %v hashes in flight and %d hashes started, want [1 1 1] and 3", inSlot, starts)
	}
	refused := errors.New("refused")
	if ok, _, err := h.VerifyCounted(ctx, "right", phc, func() error { return refused }); ok || err != refused {
		t.Errorf("VerifyCounted(refused) = %v, %v; want false, the count's error", ok, err)
	}
	if starts != 4 || h.InFlight() != 0 {
		t.Errorf("a refused count: %d slots taken (want 4 in all), %d still held", starts, h.InFlight())
	}
}

func BenchmarkHash(b *testing.B) {
	h := New(DefaultParams, 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := New(DefaultParams, 1)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", phc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=0256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$x",
		"$argon2id$v=19$m=4294967552,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"", "$", "$$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := parseHash(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("parseHash(%q) error = %v, want ErrMalformedHash", s, err)
			}
			return
		}
		p := Params{Memory: x.memory, Time: x.time, Threads: x.threads, SaltLen: uint32(len(x.salt)), KeyLen: uint32(len(x.key))}
		if err := p.Validate(); err != nil {
			t.Fatalf("parseHash(%q) accepted parameters %+v: %v", s, p, err)
		}
		// The parser is strict, so an accepted string is canonical.
		if got := x.String(); got != s {
			t.Fatalf("parseHash(%q).String() = %q, want the input", s, got)
		}
	})
}
