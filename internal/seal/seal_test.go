package seal

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal([]byte("secret"), "totp:a")
	if bytes.Contains(s, []byte("secret")) {
		t.Fatal("sealed value holds the plaintext")
	}
	if got, err := b.Open(s, "totp:a"); err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(s, "totp:b"); err != ErrOpen {
		t.Errorf("Open(other context) = %v, want ErrOpen", err)
	}
	s[len(s)-1] ^= 1
	if _, err := b.Open(s, "totp:a"); err != ErrOpen {
		t.Errorf("Open(tampered) = %v, want ErrOpen", err)
	}
	other, _ := New(bytes.Repeat([]byte{2}, 32))
	if _, err := other.Open(b.Seal([]byte("x"), "c"), "c"); err != ErrOpen {
		t.Errorf("Open(other key) = %v, want ErrOpen", err)
	}
	if _, err := b.Open([]byte("short"), "c"); err != ErrOpen {
		t.Errorf("Open(short) = %v", err)
	}
	if bytes.Equal(b.Subkey("a"), b.Subkey("b")) || len(b.Subkey("a")) != 32 {
		t.Error("subkeys not distinct per purpose")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a short key")
	}
}
