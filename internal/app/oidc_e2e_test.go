package app_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/signin"
)

// TestOIDCCodeFlow: discovery, the authorization code flow with PKCE
// through the sign-in page, the ID token (claims, signature, at_hash,
// nonce), userinfo, and a code used twice revoking what it issued — with
// an independent relying-party library, on both stores.
func TestOIDCCodeFlow(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		wg := e2eStatus(t, "workgroup", e2eCall(t, s, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Engineering"}), 201)
		r := e2eCall(t, s, "POST", "/api/v1/admin/users", admin, map[string]any{"login": "erin", "name": "Erin Example",
			"email": "erin@example.com", "password": "erin-password-1"})
		erinID := e2eStatus(t, "create erin", r, 201)["id"].(string)
		e2eStatus(t, "add member", e2eCall(t, s, "POST", "/api/v1/admin/workgroups/"+wg["id"].(string)+"/members", admin,
			map[string]string{"user_id": erinID}), 201)
		app := newRPApp(t, s, admin, "Wiki", false, nil)
		rp := newRP(t, s, app)

		var disc map[string]any
		e2eStatus(t, "discovery", e2eCall(t, s, "GET", "/.well-known/openid-configuration", "", nil), 200)
		disc = e2eCall(t, s, "GET", "/.well-known/openid-configuration", "", nil).JSON(t)
		if disc["issuer"] != s.URL || disc["authorization_response_iss_parameter_supported"] != true ||
			disc["backchannel_logout_supported"] != true || !slices.Contains(anyStrings(disc["code_challenge_methods_supported"]), "S256") ||
			slices.Contains(anyStrings(disc["code_challenge_methods_supported"]), "plain") {
			t.Errorf("discovery = %v", disc)
		}

		b := newBrowser(t, s)
		a := rp.start()
		p := b.get(a.URL)
		if p.Location != "" || p.URL.Path != "/login" || !strings.Contains(p.Body, "Wiki") {
			t.Fatalf("an unsigned browser ended at %s (%d), want the sign-in page naming Wiki", p.URL, p.Status)
		}
		p = b.login("erin", "erin-password-1")
		code := rp.callback(p, a)
		tok, idt, claims := rp.exchange(code, a)
		if idt.Subject != erinID || idt.Issuer != s.URL || !slices.Equal(idt.Audience, []string{app.ClientID}) {
			t.Errorf("ID token iss %s sub %s aud %v", idt.Issuer, idt.Subject, idt.Audience)
		}
		sessID := e2eMeSessionID(t, s, b.sessionToken())
		if claims["sid"] != sessID || claims["acr"] != "pwd" || !slices.Equal(anyStrings(claims["amr"]), []string{"pwd"}) ||
			claims["auth_time"] == nil || claims["preferred_username"] != "erin" || claims["name"] != "Erin Example" ||
			claims["email"] != "erin@example.com" || !slices.Equal(anyStrings(claims["groups"]), []string{"Engineering"}) {
			t.Errorf("ID token claims = %v (session %s)", claims, sessID)
		}
		if tok.RefreshToken != "" {
			t.Error("a refresh token without offline_access")
		}
		if tok.Expiry.Sub(time.Now()) > 11*time.Minute || tok.Expiry.Sub(time.Now()) < 9*time.Minute {
			t.Errorf("access token expires %v, want in 10 minutes", tok.Expiry)
		}
		ui, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != erinID || ui.Email != "erin@example.com" {
			t.Fatalf("userinfo = %+v, %v", ui, err)
		}

		// The code works once; its second use is refused and revokes the
		// tokens of the first.
		if _, err := rp.conf.Exchange(rp.ctx, code, oauth2.VerifierOption(a.Verifier)); !isOAuthError(err, "invalid_grant") {
			t.Errorf("second exchange = %v, want invalid_grant", err)
		}
		if status, _ := rp.userinfo(tok.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("userinfo after the code's reuse = %d, want 401", status)
		}

		// Signed in already: the next request comes straight back.
		a2 := rp.start()
		tok2, _, _ := rp.exchange(rp.callback(b.get(a2.URL), a2), a2)
		if status, m := rp.userinfo(tok2.AccessToken); status != 200 || m["sub"] != erinID {
			t.Errorf("userinfo = %d %v", status, m)
		}
		// Every grant is an audit event.
		events := e2eEvents(t, s, "/api/v1/admin/audit?type=app.access_granted", admin)
		if len(events) != 2 || events[0]["user_id"] != erinID || events[0]["detail"].(map[string]any)["app"] != "Wiki" {
			t.Errorf("access_granted events = %v", events)
		}
	})
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	if err == nil {
		return false
	}
	if e, ok := err.(*oauth2.RetrieveError); ok {
		re = e
	}
	return re != nil && re.ErrorCode == code
}

var (
	_ = context.Background
	_ = url.Values{}
	_ sync.Mutex
	_ atomic.Int32
	_ = signin.AMR
)
