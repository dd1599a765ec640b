package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/store/postgres/pgtest"
)

// TestOIDCRPInitiatedLogout: end_session with id_token_hint and a
// registered post_logout_redirect_uri asks for confirmation (a GET ends
// nothing), then ends the session and returns with state; unregistered
// addresses and foreign hints are refused on a page.
func TestOIDCRPInitiatedLogout(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password-1")
		bcl := newBCLReceiver(t, s.URL, s.Client)
		app := newRPApp(t, s, admin, "Wiki", false, map[string]any{"post_logout_redirect_uris": []string{"https://wiki.example.com/bye"},
			"backchannel_logout_uri": bcl.URL()})
		rp := newRP(t, s, app)
		b := newRPBrowser(t, s)
		tok, _, _ := rp.signIn(b, "erin", "erin-password-1")
		hint := tok.Extra("id_token").(string)
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://wiki.example.com/bye"}, "state": {"bye-1"}}
		p := b.get(s.URL + "/oidc/logout?" + q.Encode())
		if p.Status != 200 || p.Location != "" || !strings.Contains(p.Body, "Wiki") || !strings.Contains(p.Body, "logout-confirm") {
			t.Fatalf("end_session = %d %s, want a confirmation page naming Wiki", p.Status, p.Location)
		}
		if status, _ := rp.userinfo(tok.AccessToken); status != 200 {
			t.Fatalf("the GET ended the session (userinfo %d)", status)
		}
		bad := []url.Values{
			{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example.com/"}},
			{"post_logout_redirect_uri": {"https://wiki.example.com/bye"}}, // names no client
			{"id_token_hint": {hint[:len(hint)-4] + "AAAA"}},
			{"id_token_hint": {hint}, "client_id": {strings.Repeat("b", 26)}},
		}
		for _, q := range bad {
			if p := b.get(s.URL + "/oidc/logout?" + q.Encode()); p.Status != 400 || p.Location != "" {
				t.Errorf("end_session %v = %d %q, want a 400 page", q, p.Status, p.Location)
			}
		}
		form := url.Values{}
		for k, v := range q {
			form[k] = v
		}
		p = b.post("/oidc/logout", form)
		if p.Location != "https://wiki.example.com/bye?state=bye-1" {
			t.Fatalf("confirmed logout = %d %q, want the registered address with state", p.Status, p.Location)
		}
		if status, _ := rp.userinfo(tok.AccessToken); status != 401 {
			t.Errorf("userinfo after logout = %d, want 401", status)
		}
		if lt := bcl.wait(t, bclWait, "RP-initiated logout"); lt["aud"] != app.ClientID {
			t.Errorf("logout token = %v", lt)
		}
		// Signed out already: straight back.
		if p := b.get(s.URL + "/oidc/logout?" + q.Encode()); p.Location != "https://wiki.example.com/bye?state=bye-1" {
			t.Errorf("end_session without a session = %d %q", p.Status, p.Location)
		}
	})
}

// TestOIDCRevocationIntrospection: RFC 7009 and RFC 7662 for confidential
// clients, about their own tokens.
func TestOIDCRevocationIntrospection(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		erinID := s.CreateUser(t, admin, "erin", "erin-password-1")
		app := newRPApp(t, s, admin, "Wiki", false, nil)
		other := newRPApp(t, s, admin, "Chat", false, nil)
		cli := newRPApp(t, s, admin, "CLI", true, nil)
		rp := newRP(t, s, app, "openid", "offline_access")
		b := newRPBrowser(t, s)
		tok, _, claims := rp.signIn(b, "erin", "erin-password-1")
		introspect := func(id, secret, token string) (int, map[string]any) {
			status, m, _ := tokenRequest(t, s, "/oidc/introspect", id, secret, url.Values{"token": {token}})
			return status, m
		}
		status, m := introspect(app.ClientID, app.Secret, tok.AccessToken)
		if status != 200 || m["active"] != true || m["sub"] != erinID || m["client_id"] != app.ClientID || m["username"] != "erin" ||
			m["sid"] != claims["sid"] || m["exp"] == nil || m["scope"] != "openid offline_access" {
			t.Errorf("introspect(access) = %d %v", status, m)
		}
		if status, m := introspect(app.ClientID, app.Secret, tok.RefreshToken); status != 200 || m["active"] != true || m["token_use"] != "refresh_token" {
			t.Errorf("introspect(refresh) = %d %v", status, m)
		}
		if status, m := introspect(other.ClientID, other.Secret, tok.AccessToken); status != 200 || m["active"] != false || len(m) != 1 {
			t.Errorf("introspect by another client = %d %v, want only active false", status, m)
		}
		if status, m := introspect(app.ClientID, app.Secret, "junk"); status != 200 || m["active"] != false {
			t.Errorf("introspect(junk) = %d %v", status, m)
		}
		if status, m := introspect(app.ClientID, "wrong", tok.AccessToken); status != 401 || m["error"] != "invalid_client" {
			t.Errorf("introspect with a wrong secret = %d %v", status, m)
		}
		pub := url.Values{"token": {tok.AccessToken}, "client_id": {cli.ClientID}}
		if status, m, _ := tokenRequest(t, s, "/oidc/introspect", "", "", pub); status != 401 || m["error"] != "invalid_client" {
			t.Errorf("introspect by a public client = %d %v", status, m)
		}
		// Revocation: another client's revocation does nothing; the owner's
		// revocation of the refresh token kills the whole chain.
		revoke := func(id, secret, token string) int {
			status, _, _ := tokenRequest(t, s, "/oidc/revoke", id, secret, url.Values{"token": {token}, "token_type_hint": {"refresh_token"}})
			return status
		}
		if status := revoke(other.ClientID, other.Secret, tok.RefreshToken); status != 200 {
			t.Errorf("revoke by another client = %d, want 200 (and nothing done)", status)
		}
		if status, m := introspect(app.ClientID, app.Secret, tok.RefreshToken); m["active"] != true {
			t.Errorf("another client revoked the token: %d %v", status, m)
		}
		if status := revoke(app.ClientID, app.Secret, "junk"); status != 200 {
			t.Errorf("revoke(unknown) = %d, want 200", status)
		}
		if status := revoke(app.ClientID, app.Secret, tok.RefreshToken); status != 200 {
			t.Errorf("revoke = %d", status)
		}
		for _, x := range []string{tok.AccessToken, tok.RefreshToken} {
			if _, m := introspect(app.ClientID, app.Secret, x); m["active"] != false {
				t.Errorf("a token of a revoked chain is active: %v", m)
			}
		}
		// Revoking an access token revokes that token.
		tok2, _, _ := rp.signIn(b, "erin", "erin-password-1")
		status, _, _ = tokenRequest(t, s, "/oidc/revoke", app.ClientID, app.Secret, url.Values{"token": {tok2.AccessToken}})
		if status != 200 {
			t.Errorf("revoke(access) = %d", status)
		}
		if st, _ := rp.userinfo(tok2.AccessToken); st != 401 {
			t.Errorf("userinfo with a revoked access token = %d", st)
		}
		if _, m := introspect(app.ClientID, app.Secret, tok2.RefreshToken); m["active"] != true {
			t.Errorf("revoking the access token revoked the refresh token: %v", m)
		}
	})
}

// TestOIDCKeyRotation: a rotated key signs new tokens while the old key
// stays in the JWKS, so tokens it signed still verify.
func TestOIDCKeyRotation(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.SQLite})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password-1")
	app := newRPApp(t, s, admin, "Wiki", false, nil)
	rp := newRP(t, s, app)
	b := newRPBrowser(t, s)
	tok, _, _ := rp.signIn(b, "erin", "erin-password-1")
	oldKid := kidOf(t, tok.Extra("id_token").(string))
	newKid, err := s.App.OIDCKeys.Rotate(context.Background())
	if err != nil || newKid == oldKid {
		t.Fatalf("Rotate = %q, %v", newKid, err)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(e2eCall(t, s, "GET", "/oidc/jwks", "", nil).Body, &jwks)
	kids := map[string]bool{}
	for _, k := range jwks.Keys {
		kids[k["kid"].(string)] = true
		if k["alg"] != "ES256" || k["crv"] != "P-256" || k["d"] != nil {
			t.Errorf("JWKS key = %v, want a public ES256 P-256 key", k)
		}
	}
	if len(kids) != 2 || !kids[oldKid] || !kids[newKid] {
		t.Fatalf("JWKS kids = %v, want %s and %s", kids, oldKid, newKid)
	}
	if _, err := rp.verifier.Verify(rp.ctx, tok.Extra("id_token").(string)); err != nil {
		t.Errorf("a token of the retired key no longer verifies: %v", err)
	}
	tok2, _, _ := rp.signIn(b, "erin", "erin-password-1")
	if kid := kidOf(t, tok2.Extra("id_token").(string)); kid != newKid {
		t.Errorf("new token signed by %s, want %s", kid, newKid)
	}
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	b, err := decodeSegment(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	kid, _ := m["kid"].(string)
	return kid
}

// TestOIDCTwoNodes: two nodes on one PostgreSQL database — authorize on
// A, exchange and refresh on B, end the session on B: A's userinfo refuses
// the token and the app's back-channel endpoint gets one logout token,
// which it verifies with the JWKS.
func TestOIDCTwoNodes(t *testing.T) {
	pgtest.AdminDSN(t)
	a := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres})
	b := deadbolttest.StartServer(t, deadbolttest.Options{Store: deadbolttest.Postgres, Database: a.Database})
	admin := a.AdminToken(t)
	a.CreateUser(t, admin, "erin", "erin-password-1")
	bcl := newBCLReceiver(t, a.URL, a.Client)
	app := newRPApp(t, a, admin, "Wiki", false, map[string]any{"backchannel_logout_uri": bcl.URL()})
	rpA := newRP(t, a, app, "openid", "offline_access")
	browserA := newRPBrowser(t, a)
	auth := rpA.start()
	browserA.get(auth.URL)
	code := rpA.callback(browserA.login("erin", "erin-password-1"), auth)
	// B has its own issuer (its own public URL): exchange at B's token
	// endpoint by hand, and check the ID token against A's keys — shared.
	status, m, _ := tokenRequest(t, b, "/oidc/token", app.ClientID, app.Secret, url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {app.Redirect}, "code_verifier": {auth.Verifier}})
	if status != 200 || m["id_token"] == nil {
		t.Fatalf("exchange on B = %d %v", status, m)
	}
	if kid := kidOf(t, m["id_token"].(string)); !jwksKids(t, a)[kid] || len(jwksKids(t, b)) != 1 {
		t.Errorf("B signed with key %s; A publishes %v, B %v: want one shared key", kid, jwksKids(t, a), jwksKids(t, b))
	}
	status, m2, _ := tokenRequest(t, b, "/oidc/token", app.ClientID, app.Secret,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}})
	if status != 200 {
		t.Fatalf("refresh on B = %d %v", status, m2)
	}
	if st, _ := rpA.userinfo(m2["access_token"].(string)); st != 200 {
		t.Errorf("A's userinfo with B's token = %d", st)
	}
	// End the session on B.
	tokB := browserA.sessionToken()
	e2eStatus(t, "logout on B", e2eCall(t, b, "POST", "/api/v1/logout", tokB, nil), 200)
	if st, _ := rpA.userinfo(m2["access_token"].(string)); st != http.StatusUnauthorized {
		t.Errorf("A's userinfo after logout on B = %d, want 401", st)
	}
	lt := bcl.wait(t, bclWait, "logout on B")
	if lt["aud"] != app.ClientID {
		t.Errorf("logout token = %v", lt)
	}
	bcl.none(t, 3*time.Second, "a second node delivering the same logout")
}

// jwksKids returns the key ids s publishes.
func jwksKids(t *testing.T, s *deadbolttest.Server) map[string]bool {
	t.Helper()
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(e2eCall(t, s, "GET", "/oidc/jwks", "", nil).Body, &jwks)
	kids := map[string]bool{}
	for _, k := range jwks.Keys {
		kid, _ := k["kid"].(string)
		kids[kid] = true
	}
	return kids
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
