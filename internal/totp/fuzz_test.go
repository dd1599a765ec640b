package totp

import (
	"bytes"
	"reflect"
	"testing"
)

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", " 000000\n", "12345", "1234567", "１２３４５６", "12a456", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCode(s)
		if err != nil {
			return
		}
		if !isCode(got) {
			t.Fatalf("ParseCode(%q) = %q, want %d ASCII digits", s, got, Digits)
		}
		if again, err := ParseCode(got); err != nil || again != got {
			t.Fatalf("ParseCode(%q) = %q, %v, want %q (idempotent)", got, again, err, got)
		}
	})
}

func FuzzDecodeSecret(f *testing.F) {
	for _, s := range []string{
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
		"GAYTEMZUGU3DOOBZME======",
		"GAYTEMZUGU3DOOBZMF",
		"", "====", "MZXW6YQ=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodeSecret(s)
		if err != nil {
			return
		}
		if len(got) < MinSecretSize || len(got) > MaxSecretSize {
			t.Fatalf("DecodeSecret(%q) = %d bytes, want %d..%d", s, len(got), MinSecretSize, MaxSecretSize)
		}
		enc := EncodeSecret(got)
		again, err := DecodeSecret(enc)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("DecodeSecret(EncodeSecret(%x)) = %x, %v, want the input", got, again, err)
		}
	})
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		URI("Deadbolt", "alice", rfcSecret),
		URI("", "bob", rfcSecret),
		URI("a:b&c", "x y", rfcSecret),
		"otpauth://totp/D:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=E",
		"otpauth://totp/a%3Ab?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq&issuer=ACME+Co",
		"otpauth://hotp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ#x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseURI(s)
		if err != nil {
			return
		}
		if k.Account == "" || k.Digits != Digits || k.Period != Period || len(k.Secret) < MinSecretSize {
			t.Fatalf("ParseURI(%q) = %+v, want a complete key", s, k)
		}
		uri := URI(k.Issuer, k.Account, k.Secret)
		again, err := ParseURI(uri)
		if err != nil || !reflect.DeepEqual(again, k) {
			t.Fatalf("ParseURI(URI(%+v)) = %+v, %v, want the key back", k, again, err)
		}
	})
}
