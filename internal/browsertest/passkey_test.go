package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
)

// virtualAuthenticator gives the tab Chromium's virtual authenticator: a
// platform authenticator (CTAP2, internal transport) holding resident keys
// and verifying the user, answering at once. It returns its id.
func virtualAuthenticator(tab *Tab) webauthn.AuthenticatorID {
	return virtualAuthenticatorWith(tab, false)
}

// virtualAuthenticatorWith is virtualAuthenticator, also supporting the
// CMTG extension when cmtg: the protocol library sends a field of it with
// every credential added, which Chromium refuses otherwise.
func virtualAuthenticatorWith(tab *Tab, cmtg bool) webauthn.AuthenticatorID {
	tab.t.Helper()
	var id webauthn.AuthenticatorID
	tab.Do("add a virtual authenticator", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
				HasCmtgKey: cmtg,
			},
		})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

// noAutofill makes the tab a browser without passkey autofill
// (conditional mediation): the virtual authenticator would answer an
// autofill request at once, before the test could type a password or
// press the button.
func noAutofill(tab *Tab) {
	tab.t.Helper()
	tab.Do("turn passkey autofill off", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); }; }`,
		})
		return err
	}))
}

// TestPasskeyPages: an employee adds a passkey on the Security page (with
// Chromium's virtual authenticator), signs in with it and no login, signs
// in with the password and the passkey, and removes it.
func TestPasskeyPages(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{PublicHost: "localhost"})
	admin := s.AdminToken(t)
	uid := s.CreateUser(t, admin, "vera", "vera-password")
	browser := Start(t)
	tab := browser.NewTab("employee")
	noAutofill(tab)
	authID := virtualAuthenticator(tab)

	signInTo(tab, s.URL, "vera", "vera-password", "#welcome")
	tab.Do("add a passkey on the Security page",
		chromedp.Navigate(s.URL+"/security"),
		chromedp.WaitVisible(chromedp.ID("passkey-add-form")),
	)
	tab.Axe("Security page without 2FA")
	tab.Do("add a passkey",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop"),
		chromedp.Click(chromedp.ID("passkey-add")),
		// The passkey turned 2FA on: the recovery codes come first.
		chromedp.WaitVisible(chromedp.ID("codes")),
		chromedp.Click(chromedp.ID("codes-done")),
		chromedp.WaitVisible(chromedp.ID("passkey-list")),
	)
	names := Run(tab, "read the passkey's name", chromedp.Value(chromedp.CSS("#passkey-list input.passkey-name")))
	if names != "Laptop" {
		tab.Fatalf("read the passkey's name", "name = %q, want Laptop", names)
	}
	if st := Run(tab, "status", chromedp.Text(chromedp.ID("two-factor-status"))); !strings.HasPrefix(st, "On") {
		tab.Fatalf("status", "2FA status = %q", st)
	}
	tab.Axe("Security page with a passkey")

	// Without a login: the button on the sign-in page.
	tab.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(tab)
	tab.Do("sign in with a passkey",
		chromedp.WaitVisible(chromedp.ID("passkey-signin")),
		chromedp.Click(chromedp.ID("passkey-signin")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)

	// The password, then the passkey (the first method of an employee
	// without a trusted device).
	logOut(tab)
	signInTo(tab, s.URL, "vera", "vera-password", "#passkey-verify")
	tab.Do("confirm with the passkey",
		chromedp.Click(chromedp.ID("passkey-verify")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)

	// Autofill: another browser holding the same passkey signs in as soon
	// as the sign-in page offers it.
	creds := Run(tab, "read the authenticator", chromedp.Action[[]*webauthn.Credential](func(ctx context.Context, _ *chromedp.Target) ([]*webauthn.Credential, error) {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authID})
		return res.Credentials, err
	}))
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		tab.Fatalf("read the authenticator", "credentials = %+v, want one resident credential for localhost", creds)
	}
	other := browser.NewTab("autofill")
	otherID := virtualAuthenticatorWith(other, true)
	other.Do("copy the passkey", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		c := creds[0]
		copied := &webauthn.Credential{CredentialID: c.CredentialID, IsResidentCredential: true, RpID: c.RpID,
			PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: c.SignCount, UserName: c.UserName}
		_, err := chromedp.Call(ctx, webauthn.AddCredential, webauthn.AddCredentialParams{AuthenticatorID: otherID, Credential: copied})
		return err
	}))
	other.Do("sign in by autofill",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)

	// Remove it (the sign-in just now is the fresh proof).
	tab.Do("remove the passkey",
		chromedp.Navigate(s.URL+"/security"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-list .passkey-remove")),
		chromedp.Click(chromedp.CSS("#passkey-list .passkey-remove")),
		chromedp.WaitVisible(chromedp.ID("passkeys-none")),
	)
	if f := Run(tab, "flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(f, "passkey was removed") {
		tab.Fatalf("flash", "flash = %q", f)
	}
	tab.Axe("passkey removed")
	if keys, err := s.App.Store.Passkeys(context.Background(), uid); err != nil || len(keys) != 0 {
		t.Errorf("passkeys after removal: %v, %v", keys, err)
	}
	// And it signs in no more.
	tab.Do("go home again", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(tab)
	tab.Do("the removed passkey is refused",
		chromedp.WaitVisible(chromedp.ID("passkey-signin")),
		chromedp.Click(chromedp.ID("passkey-signin")),
		chromedp.WaitVisible(chromedp.ID("passkey-signin-error")),
	)
	tab.Axe("passkey refused")
}

// TestPasskeyRequired: past the deadline of a workgroup demanding
// phishing-resistant sign-in, an employee without a second factor is sent
// from the password straight to setup, where the wizard asks for a
// passkey first; once added (and the recovery codes saved), they sign in
// with it.
func TestPasskeyRequired(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{PublicHost: "localhost"})
	admin := s.AdminToken(t)
	uid := s.CreateUser(t, admin, "wes", "wes-password")
	wg := s.Do(t, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Treasury"}).JSON(t)["id"].(string)
	s.Do(t, "POST", "/api/v1/admin/workgroups/"+wg+"/members", admin, map[string]string{"user_id": uid})
	past := s.Clock().Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if r := s.Do(t, "PUT", "/api/v1/admin/workgroups/"+wg+"/policy", admin,
		map[string]any{"required": true, "deadline": past, "min_method": "phishing_resistant"}); r.Status != 200 {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	tab := Start(t).NewTab("employee")
	noAutofill(tab)
	virtualAuthenticator(tab)
	signInTo(tab, s.URL, "wes", "wes-password", "#setup-passkey")
	if h := Run(tab, "read the wizard", chromedp.Text(chromedp.CSS("#setup-passkey h2"))); !strings.Contains(h, "requires a passkey") {
		tab.Fatalf("read the wizard", "heading = %q", h)
	}
	tab.Axe("setup wizard asking for a passkey")
	tab.Do("add a passkey in the wizard",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop"),
		chromedp.Click(chromedp.ID("passkey-add")),
		chromedp.WaitVisible(chromedp.ID("codes")),
		// The session was for setup only: Continue leads to signing in again.
		chromedp.Click(chromedp.ID("codes-continue")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	tab.Do("sign in with the passkey",
		chromedp.Click(chromedp.ID("passkey-signin")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)
}
