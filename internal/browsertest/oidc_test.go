package browsertest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"deadbolt/internal/deadbolttest"
)

// relyingParty is a small web app on a loopback port that signs its users
// in with Deadbolt through OpenID Connect, with an independent client
// library (go-oidc, x/oauth2): the authorization code flow with PKCE,
// state and nonce kept server-side, the ID token verified.
type relyingParty struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs map[string][2]string // state → verifier, nonce
	who  map[string]string    // app session → preferred_username
	conf *oauth2.Config
	ver  *gooidc.IDTokenVerifier
	errs []string
}

func randomString() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newRelyingParty(t *testing.T) *relyingParty {
	rp := &relyingParty{reqs: map[string][2]string{}, who: map[string]string{}}
	rp.srv = httptest.NewServer(http.HandlerFunc(rp.serve))
	t.Cleanup(rp.srv.Close)
	return rp
}

// configure points the app at Deadbolt's discovery document.
func (rp *relyingParty) configure(t *testing.T, issuer, clientID, secret string) {
	p, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp.conf = &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: rp.srv.URL + "/callback", Scopes: []string{gooidc.ScopeOpenID, "profile"}}
	rp.ver = p.Verifier(&gooidc.Config{ClientID: clientID})
}

func (rp *relyingParty) fail(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	rp.mu.Lock()
	rp.errs = append(rp.errs, msg)
	rp.mu.Unlock()
	http.Error(w, msg, http.StatusBadRequest)
}

func (rp *relyingParty) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		if c, err := r.Cookie("wiki_session"); err == nil {
			rp.mu.Lock()
			name := rp.who[c.Value]
			rp.mu.Unlock()
			if name != "" {
				fmt.Fprintf(w, `<!doctype html><title>Team Wiki</title><p id="app-user">Signed in to Team Wiki as %s</p>`, html.EscapeString(name))
				return
			}
		}
		state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.reqs[state] = [2]string{verifier, nonce}
		rp.mu.Unlock()
		http.Redirect(w, r, rp.conf.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
	case "/callback":
		q := r.URL.Query()
		rp.mu.Lock()
		req, ok := rp.reqs[q.Get("state")]
		delete(rp.reqs, q.Get("state"))
		rp.mu.Unlock()
		if !ok || q.Get("error") != "" {
			rp.fail(w, "callback: state %q known %v, error %q", q.Get("state"), ok, q.Get("error"))
			return
		}
		tok, err := rp.conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(req[0]))
		if err != nil {
			rp.fail(w, "exchange: %v", err)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.ver.Verify(r.Context(), raw)
		if err != nil || idt.Nonce != req[1] {
			rp.fail(w, "ID token: %v (nonce %q)", err, idt)
			return
		}
		var claims struct {
			Login string   `json:"preferred_username"`
			AMR   []string `json:"amr"`
		}
		idt.Claims(&claims)
		if !strings.Contains(strings.Join(claims.AMR, " "), "swk") {
			rp.fail(w, "amr %v, want the push (swk)", claims.AMR)
			return
		}
		sess := randomString()
		rp.mu.Lock()
		rp.who[sess] = claims.Login
		rp.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "wiki_session", Value: sess, Path: "/", HttpOnly: true})
		http.Redirect(w, r, "/", http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// TestOIDCSignInWithPushThroughBrowser: an app on a loopback port sends
// the browser to Deadbolt; the sign-in page names the app; the employee
// signs in with the password and a push approved in the companion app (a
// second browser context playing the phone); the browser lands back at the
// app, signed in.
func TestOIDCSignInWithPushThroughBrowser(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	rp := newRelyingParty(t)
	r := s.Do(t, "POST", "/api/v1/admin/apps", admin, map[string]any{"name": "Team Wiki", "kind": "oidc",
		"redirect_uris": []string{rp.srv.URL + "/callback"}, "require_2fa": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("register the app: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	rp.configure(t, s.URL, m["client_id"].(string), m["client_secret"].(string))

	b := Start(t)
	computer := b.NewTab("computer")
	phone := b.NewTab("phone")
	pairCompanion(t, s, computer, phone, "erin", "erin-password")
	computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(computer)

	computer.Do("open the app",
		chromedp.Navigate(rp.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	if named := Run(computer, "the sign-in page names the app", chromedp.Text(chromedp.ID("signing-into"))); !strings.Contains(named, "Team Wiki") {
		computer.Fatalf("the sign-in page names the app", "it says %q", named)
	}
	computer.Axe("sign-in page for an app")
	computer.Do("sign in with the password",
		chromedp.SendKeys(chromedp.ID("login"), "erin"),
		chromedp.SendKeys(chromedp.ID("password"), "erin-password"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("push-number")),
	)
	if named := Run(computer, "the second-factor page names the app", chromedp.Text(chromedp.ID("signing-into"))); !strings.Contains(named, "Team Wiki") {
		computer.Fatalf("the second-factor page names the app", "it says %q", named)
	}
	computer.Axe("second step for an app")
	id := Run(computer, "read the push request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	digits := strings.Join(Run(computer, "read the number", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#push-number .group"), g => g.textContent)`)), "")
	if _, err := strconv.Atoi(digits); err != nil || len(digits) != 6 {
		computer.Fatalf("read the number", "the page shows %q", digits)
	}
	card := `.request[data-id="` + id + `"]`
	phone.Do("approve on the phone",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.SendKeys(chromedp.CSS(card+" input.number"), digits),
		chromedp.SendKeys(chromedp.CSS(card+" input.number"), kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
	)
	computer.Do("back at the app, signed in", chromedp.WaitVisible(chromedp.ID("app-user")))
	if who := Run(computer, "read who", chromedp.Text(chromedp.ID("app-user"))); who != "Signed in to Team Wiki as erin" {
		computer.Fatalf("read who", "the app says %q", who)
	}
	if loc := Run(computer, "the address", chromedp.Location()); !strings.HasPrefix(loc, rp.srv.URL+"/") {
		computer.Fatalf("the address", "the browser is at %q, want the app", loc)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if len(rp.errs) > 0 {
		t.Errorf("the app saw errors: %v", rp.errs)
	}
}
