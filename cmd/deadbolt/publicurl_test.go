package main

import (
	"net/url"
	"strings"
	"testing"
)

// TestPhoneNote: a public URL that names this computer, or is plain http,
// gets a note saying a phone cannot pair through it and naming
// --public-url; an https address elsewhere gets none.
func TestPhoneNote(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want string // a word the note holds, "" for no note
	}{
		{"http://localhost:8080", "names this computer"},
		{"http://LOCALHOST.:8080", "names this computer"},
		{"http://dev.localhost:8080", "names this computer"},
		{"http://127.0.0.1:8080", "names this computer"},
		{"http://127.3.4.5:8080", "names this computer"},
		{"http://[::1]:8080", "names this computer"},
		{"http://[::ffff:127.0.0.1]:8080", "names this computer"},
		{"http://0.0.0.0:8080", "names this computer"},
		{"https://localhost:8443", "names this computer"},
		{"http://192.168.1.10:8080", "only over https"},
		{"http://sso.example.com", "only over https"},
		{"https://sso.example.com", ""},
		{"https://10.1.2.3:8443", ""},
	} {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		note := strings.Join(phoneNote(u), " ")
		if tt.want == "" {
			if note != "" {
				t.Errorf("phoneNote(%q) = %q, want no note", tt.url, note)
			}
			continue
		}
		if !strings.Contains(note, tt.want) || !strings.Contains(note, "--public-url") {
			t.Errorf("phoneNote(%q) = %q, want a note holding %q and naming --public-url", tt.url, note, tt.want)
		}
	}
}
