package totp

import (
	"bytes"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestURI(t *testing.T) {
	tests := []struct {
		issuer, account string
		want            string
	}{
		{"Deadbolt", "alice",
			"otpauth://totp/Deadbolt:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Deadbolt&algorithm=SHA1&digits=6&period=30"},
		{"ACME Co", "alice@example.com",
			"otpauth://totp/ACME%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"},
		{"a:b&c=d+e/f?g#h", "x:y",
			"otpauth://totp/a%3Ab%26c%3Dd%2Be%2Ff%3Fg%23h:x%3Ay?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=a%3Ab%26c%3Dd%2Be%2Ff%3Fg%23h&algorithm=SHA1&digits=6&period=30"},
		{"Zürich", "bob",
			"otpauth://totp/Z%C3%BCrich:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Z%C3%BCrich&algorithm=SHA1&digits=6&period=30"},
		{"", "carol",
			"otpauth://totp/carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"},
	}
	for _, tt := range tests {
		got := URI(tt.issuer, tt.account, rfcSecret)
		if got != tt.want {
			t.Errorf("URI(%q, %q, rfcSecret) = %q, want %q", tt.issuer, tt.account, got, tt.want)
		}
		// The standard library must read the same URI the same way.
		u, err := url.Parse(got)
		if err != nil {
			t.Errorf("url.Parse(%q) error = %v", got, err)
			continue
		}
		q := u.Query()
		if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("issuer") != tt.issuer || q.Get("secret") != EncodeSecret(rfcSecret) {
			t.Errorf("url.Parse(%q) = scheme %q host %q issuer %q secret %q, want otpauth, totp, %q, %q",
				got, u.Scheme, u.Host, q.Get("issuer"), q.Get("secret"), tt.issuer, EncodeSecret(rfcSecret))
		}
		if wantPath := "/" + tt.account; tt.issuer != "" {
			if wantPath = "/" + tt.issuer + ":" + tt.account; u.Path != wantPath {
				t.Errorf("url.Parse(%q).Path = %q, want %q", got, u.Path, wantPath)
			}
		} else if u.Path != wantPath {
			t.Errorf("url.Parse(%q).Path = %q, want %q", got, u.Path, wantPath)
		}
	}
}

func TestURIRoundTrip(t *testing.T) {
	secret := bytes.Repeat([]byte{0x5a}, SecretSize)
	tests := []struct{ issuer, account string }{
		{"Deadbolt", "alice"},
		{"ACME Co", "alice@example.com"},
		{"a:b", "c:d"},
		{"x&y=z", "p+q r"},
		{"100%", "%41"},
		{"Zürich ☃", "名前"},
		{"", "only-account"},
		{"", "acc:with:colons"},
		{" spaced ", " out "},
	}
	for _, tt := range tests {
		uri := URI(tt.issuer, tt.account, secret)
		got, err := ParseURI(uri)
		want := Key{Issuer: tt.issuer, Account: tt.account, Secret: secret, Digits: Digits, Period: Period}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseURI(%q) = %+v, %v, want %+v", uri, got, err, want)
		}
	}
}

func TestParseURI(t *testing.T) {
	const sec = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	key := func(issuer, account string) Key {
		return Key{Issuer: issuer, Account: account, Secret: rfcSecret, Digits: Digits, Period: Period}
	}
	ok := []struct {
		name string
		in   string
		want Key
	}{
		{"full", "otpauth://totp/Deadbolt:alice?secret=" + sec + "&issuer=Deadbolt&algorithm=SHA1&digits=6&period=30", key("Deadbolt", "alice")},
		{"minimal", "otpauth://totp/alice?secret=" + sec, key("", "alice")},
		{"issuer only in label", "otpauth://totp/Deadbolt:alice?secret=" + sec, key("Deadbolt", "alice")},
		{"issuer only as parameter", "otpauth://totp/alice?secret=" + sec + "&issuer=Deadbolt", key("Deadbolt", "alice")},
		{"parameters in another order", "otpauth://totp/D:a?period=30&digits=6&issuer=D&algorithm=SHA1&secret=" + sec, key("D", "a")},
		{"lower-case secret", "otpauth://totp/a?secret=" + strings.ToLower(sec), key("", "a")},
		{"escaped secret spaces", "otpauth://totp/a?secret=GEZD%20GNBV%20GY3T%20QOJQ+GEZD+GNBV+GY3T+QOJQ", key("", "a")},
		{"upper-case scheme and type", "OTPAUTH://TOTP/a?secret=" + sec, key("", "a")},
		{"plus in issuer parameter", "otpauth://totp/ACME%20Co:a?secret=" + sec + "&issuer=ACME+Co", key("ACME Co", "a")},
		{"escaped colon in account", "otpauth://totp/a%3Ab?secret=" + sec, key("", "a:b")},
		{"space after colon", "otpauth://totp/D:%20a?secret=" + sec, key("D", " a")},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.in)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseURI(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
		})
	}

	bad := []struct{ name, in string }{
		{"empty", ""},
		{"not a URI", "hello"},
		{"http scheme", "https://totp/a?secret=" + sec},
		{"hotp", "otpauth://hotp/a?secret=" + sec + "&counter=0"},
		{"no type", "otpauth:///a?secret=" + sec},
		{"no label", "otpauth://totp?secret=" + sec},
		{"empty label", "otpauth://totp/?secret=" + sec},
		{"empty account", "otpauth://totp/D:?secret=" + sec},
		{"empty issuer in label", "otpauth://totp/:a?secret=" + sec},
		{"two colons", "otpauth://totp/D:a:b?secret=" + sec},
		{"no query", "otpauth://totp/a"},
		{"empty query", "otpauth://totp/a?"},
		{"no secret", "otpauth://totp/a?issuer=D"},
		{"empty secret", "otpauth://totp/a?secret="},
		{"short secret", "otpauth://totp/a?secret=" + EncodeSecret([]byte("short"))},
		{"invalid secret", "otpauth://totp/a?secret=GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ"},
		{"repeated secret", "otpauth://totp/a?secret=" + sec + "&secret=" + sec},
		{"repeated issuer", "otpauth://totp/a?secret=" + sec + "&issuer=D&issuer=D"},
		{"issuer mismatch", "otpauth://totp/D:a?secret=" + sec + "&issuer=E"},
		{"empty issuer parameter", "otpauth://totp/a?secret=" + sec + "&issuer="},
		{"SHA256", "otpauth://totp/a?secret=" + sec + "&algorithm=SHA256"},
		{"lower-case sha1", "otpauth://totp/a?secret=" + sec + "&algorithm=sha1"},
		{"8 digits", "otpauth://totp/a?secret=" + sec + "&digits=8"},
		{"digits 06", "otpauth://totp/a?secret=" + sec + "&digits=06"},
		{"period 60", "otpauth://totp/a?secret=" + sec + "&period=60"},
		{"unknown parameter", "otpauth://totp/a?secret=" + sec + "&image=x"},
		{"parameter without value", "otpauth://totp/a?secret=" + sec + "&digits"},
		{"trailing ampersand", "otpauth://totp/a?secret=" + sec + "&"},
		{"fragment", "otpauth://totp/a?secret=" + sec + "#x"},
		{"bad escape in label", "otpauth://totp/a%zz?secret=" + sec},
		{"bad escape in issuer", "otpauth://totp/a?secret=" + sec + "&issuer=%"},
		{"bad escape in secret", "otpauth://totp/a?secret=%G" + sec},
		{"control character in account", "otpauth://totp/a%0Ab?secret=" + sec},
		{"NUL in issuer", "otpauth://totp/a?secret=" + sec + "&issuer=D%00"},
		{"invalid UTF-8", "otpauth://totp/a%FF?secret=" + sec},
		{"account too long", "otpauth://totp/" + strings.Repeat("a", maxNameText+1) + "?secret=" + sec},
		{"URI too long", "otpauth://totp/a?secret=" + sec + "&issuer=" + strings.Repeat("D", maxURIText)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseURI(%q) = %+v, %v, want ErrMalformed", tt.in, got, err)
			}
		})
	}
}

func TestParseURIErrorHidesSecret(t *testing.T) {
	in := "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8"
	_, err := ParseURI(in)
	if err == nil || strings.Contains(err.Error(), "GEZDGNBV") {
		t.Errorf("ParseURI(%q) error = %v, want an error without the secret", in, err)
	}
}
