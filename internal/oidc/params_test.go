package oidc

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestVerifyPKCE(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !VerifyPKCE(challenge, verifier) {
		t.Error("VerifyPKCE(RFC 7636 vector) = false")
	}
	bad := []struct{ challenge, verifier string }{
		{challenge, verifier[:42] + "l"},
		{challenge, verifier[:42]},            // 42 characters: too short
		{challenge, strings.Repeat("a", 129)}, // too long
		{challenge, verifier[:40] + "+/="},    // outside the alphabet
		{verifier, verifier},                  // "plain": the challenge is the verifier
		{challenge[:42], verifier},            // malformed challenge
		{"", ""},
	}
	for _, tc := range bad {
		if VerifyPKCE(tc.challenge, tc.verifier) {
			t.Errorf("VerifyPKCE(%q, %q) = true", tc.challenge, tc.verifier)
		}
	}
}

func authQuery(kv ...string) url.Values {
	q := url.Values{"client_id": {"c"}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"}, "scope": {"openid"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "\x00delete" {
			delete(q, kv[i])
			continue
		}
		q.Set(kv[i], kv[i+1])
	}
	return q
}

func TestParseAuthorize(t *testing.T) {
	const ch = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	tests := []struct {
		name   string
		q      url.Values
		public bool
		err    string // "" for success
		check  func(*AuthParams) bool
	}{
		{"minimal", authQuery(), false, "", func(p *AuthParams) bool { return slices.Equal(p.Scopes, []string{"openid"}) && p.MaxAge == -1 }},
		{"scopes filtered and deduplicated", authQuery("scope", "openid profile openid bogus email"), false, "",
			func(p *AuthParams) bool { return slices.Equal(p.Scopes, []string{"openid", "profile", "email"}) }},
		{"S256", authQuery("code_challenge", ch, "code_challenge_method", "S256"), true, "", func(p *AuthParams) bool { return p.CodeChallenge == ch }},
		{"public without PKCE", authQuery(), true, ErrInvalidRequest, nil},
		{"plain", authQuery("code_challenge", ch, "code_challenge_method", "plain"), false, ErrInvalidRequest, nil},
		{"implicit plain", authQuery("code_challenge", ch), false, ErrInvalidRequest, nil},
		{"method alone", authQuery("code_challenge_method", "S256"), false, ErrInvalidRequest, nil},
		{"lower-case s256", authQuery("code_challenge", ch, "code_challenge_method", "s256"), false, ErrInvalidRequest, nil},
		{"token flow", authQuery("response_type", "token"), false, ErrUnsupportedResponseType, nil},
		{"no response_type", authQuery("response_type", "\x00delete"), false, ErrInvalidRequest, nil},
		{"no openid", authQuery("scope", "profile email"), false, ErrInvalidScope, nil},
		{"request object", authQuery("request", "x"), false, ErrRequestNotSupported, nil},
		{"request_uri", authQuery("request_uri", "x"), false, ErrRequestURINotSupported, nil},
		{"fragment mode", authQuery("response_mode", "fragment"), false, ErrInvalidRequest, nil},
		{"query mode", authQuery("response_mode", "query"), false, "", nil},
		{"prompt none login", authQuery("prompt", "none login"), false, ErrInvalidRequest, nil},
		{"prompt unknown", authQuery("prompt", "maybe"), false, ErrInvalidRequest, nil},
		{"prompt login consent", authQuery("prompt", "login consent"), false, "", func(p *AuthParams) bool { return p.HasPrompt("login") && p.HasPrompt("consent") }},
		{"max_age", authQuery("max_age", "0"), false, "", func(p *AuthParams) bool { return p.MaxAge == 0 }},
		{"max_age negative", authQuery("max_age", "-5"), false, ErrInvalidRequest, nil},
		{"max_age text", authQuery("max_age", "1h"), false, ErrInvalidRequest, nil},
		{"acr_values", authQuery("acr_values", "urn:x mfa pwd mfa"), false, "", func(p *AuthParams) bool { return slices.Equal(p.ACRValues, []string{"mfa", "pwd"}) }},
		{"empty nonce", authQuery("nonce", ""), false, ErrInvalidRequest, nil},
		{"long nonce", authQuery("nonce", strings.Repeat("n", 513)), false, ErrInvalidRequest, nil},
		{"long state", authQuery("state", strings.Repeat("s", 2049)), false, ErrInvalidRequest, nil},
		{"invalid UTF-8", authQuery("state", "\xff"), false, ErrInvalidRequest, nil},
		{"NUL", authQuery("nonce", "a\x00b"), false, ErrInvalidRequest, nil},
		{"repeated", func() url.Values { q := authQuery(); q.Add("scope", "openid"); return q }(), false, ErrInvalidRequest, nil},
	}
	for _, tc := range tests {
		p, err := ParseAuthorize(tc.q, tc.public)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: ParseAuthorize = %v, want success", tc.name, err)
		case tc.err != "" && (err == nil || err.Code != tc.err):
			t.Errorf("%s: ParseAuthorize = %v, %v; want %s", tc.name, p, err, tc.err)
		case tc.err == "" && tc.check != nil && !tc.check(p):
			t.Errorf("%s: ParseAuthorize = %+v", tc.name, p)
		}
	}
}

func TestClientAndRedirect(t *testing.T) {
	if _, _, err := ClientAndRedirect(url.Values{"client_id": {"a", "b"}, "redirect_uri": {"x"}}); err == nil {
		t.Error("two client_ids accepted")
	}
	if _, _, err := ClientAndRedirect(url.Values{"client_id": {"a"}}); err == nil {
		t.Error("no redirect_uri accepted")
	}
	if c, r, err := ClientAndRedirect(url.Values{"client_id": {"a"}, "redirect_uri": {"x"}}); err != nil || c != "a" || r != "x" {
		t.Errorf("ClientAndRedirect = %q %q %v", c, r, err)
	}
}

func TestRedirectWith(t *testing.T) {
	tests := []struct {
		uri  string
		add  url.Values
		want string
	}{
		{"https://app.example.com/cb", url.Values{"code": {"c"}, "state": {"s"}}, "https://app.example.com/cb?code=c&state=s"},
		{"https://app.example.com/cb?tenant=a", url.Values{"code": {"c"}}, "https://app.example.com/cb?code=c&tenant=a"},
		{"https://app.example.com/cb", url.Values{"code": {"c"}, "state": {""}}, "https://app.example.com/cb?code=c"},
		{"com.example.app:/cb", url.Values{"code": {"c"}}, "com.example.app:/cb?code=c"},
		{"http://127.0.0.1:8765/cb", url.Values{"error": {"access_denied"}, "iss": {"https://sso.example.com"}},
			"http://127.0.0.1:8765/cb?error=access_denied&iss=https%3A%2F%2Fsso.example.com"},
	}
	for _, tc := range tests {
		if got := RedirectWith(tc.uri, tc.add); got != tc.want {
			t.Errorf("RedirectWith(%q, %v) = %q, want %q", tc.uri, tc.add, got, tc.want)
		}
	}
}

func FuzzParseAuthorize(f *testing.F) {
	for _, s := range []string{
		"client_id=c&redirect_uri=https%3A%2F%2Fa.example%2Fcb&response_type=code&scope=openid",
		"response_type=code&scope=openid+profile&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"scope=openid&response_type=code&prompt=none&max_age=0&acr_values=mfa",
		"scope=openid&response_type=code&code_challenge=abc",
		"a=%ff&scope=openid&response_type=code",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, public bool) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, perr := ParseAuthorize(q, public)
		if perr != nil {
			if perr.Code == "" || perr.Description == "" {
				t.Fatalf("ParseAuthorize(%q) = error without code or description", raw)
			}
			return
		}
		if !p.HasScope(ScopeOpenID) {
			t.Fatalf("ParseAuthorize(%q) accepted a request without openid", raw)
		}
		if public && p.CodeChallenge == "" {
			t.Fatalf("ParseAuthorize(%q) accepted a public client without PKCE", raw)
		}
		if p.CodeChallenge != "" && q.Get("code_challenge_method") != "S256" {
			t.Fatalf("ParseAuthorize(%q) accepted a challenge without S256", raw)
		}
		if q.Get("response_type") != "code" || len(p.State) > maxStateLen || p.HasPrompt("none") && len(p.Prompt) > 1 {
			t.Fatalf("ParseAuthorize(%q) = %+v", raw, p)
		}
	})
}
