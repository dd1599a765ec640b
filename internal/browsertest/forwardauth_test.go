package browsertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/proxytest"
)

// selfSigned writes a certificate (and its key) for *.example.test into
// dir, for nginx to serve; the browser is told to accept it.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.test"},
		DNSNames: []string{"example.test", "*.example.test"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestForwardAuthThroughNginx: an employee opens an app behind nginx (the
// README's recipe, served over TLS with Deadbolt beside it on
// sso.example.test), is sent to Deadbolt, signs in with a push approval on
// the companion app (a second browser context), and lands on the app,
// which knows who they are.
func TestForwardAuthThroughNginx(t *testing.T) {
	proxytest.Binary(t, "nginx")
	port := proxytest.FreePort(t)
	sso := fmt.Sprintf("https://sso.example.test:%d", port)
	appURL := fmt.Sprintf("https://app.example.test:%d/dashboard?panel=1", port)
	s := deadbolttest.StartServer(t, deadbolttest.Options{PublicURL: sso, CookieDomain: "example.test",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	if r := s.Do(t, "POST", "/api/v1/admin/apps", admin, map[string]any{"name": "Dashboard", "kind": "proxy",
		"domains": []string{"app.example.test"}}); r.Status != 201 {
		t.Fatalf("create app: %d %s", r.Status, r.Body)
	}
	upstream := proxytest.StartUpstream(t)
	deadbolt := strings.TrimPrefix(s.URL, "http://")

	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	tls := fmt.Sprintf("listen 127.0.0.1:%d ssl;\n    ssl_certificate %s;\n    ssl_certificate_key %s;", port, cert, key)
	recipe := proxytest.Recipe(t, "nginx")
	recipe = strings.ReplaceAll(recipe, "listen 80;", tls)
	recipe = strings.ReplaceAll(recipe, "app.example.com", "app.example.test")
	recipe = strings.ReplaceAll(recipe, "127.0.0.1:9091", deadbolt)
	recipe = strings.ReplaceAll(recipe, "127.0.0.1:3000", "127.0.0.1:"+strconv.Itoa(upstream.Port()))
	ssoBlock := fmt.Sprintf(`server {
    %s
    server_name sso.example.test;
    location / {
        proxy_pass http://%s;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        proxy_buffering off;
        proxy_read_timeout 120s;
    }
}
`, tls, deadbolt)
	proxytest.StartNginx(t, port, ssoBlock+recipe)

	b := Start(t,
		chromedp.Flag("host-resolver-rules", "MAP *.example.test 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors", true),
	)
	computer := b.NewTab("computer")
	phone := b.NewTab("phone")

	// Pair the companion app first: the computer through nginx, the
	// phone straight at Deadbolt's own address (as on the office network).
	denyNotifications(phone)
	signInTo(computer, sso, "erin", "erin-password", "#welcome")
	computer.Do("open the wizard",
		chromedp.Navigate(sso+"/security/2fa/setup"),
		chromedp.WaitVisible(chromedp.ID("pairing-qr")),
	)
	pairURL := decodeQR(t, Run(computer, "capture the QR code", qrShot("pairing-qr")))
	if !strings.HasPrefix(pairURL, sso+"/app/pair#") {
		computer.Fatalf("read the QR code", "QR holds %q, want a pairing URL of %s", pairURL, sso)
	}
	phone.Do("open the pairing URL",
		chromedp.Navigate(s.URL+strings.TrimPrefix(pairURL, sso)),
		chromedp.WaitVisible(chromedp.CSS(`#totp-code[data-code]`)),
	)
	code := Run(phone, "read the code", chromedp.AttributeValue(chromedp.ID("totp-code"), "data-code")).Value
	computer.Do("confirm the device",
		chromedp.SendKeys(chromedp.ID("pairing-code"), code),
		chromedp.Click(chromedp.ID("confirm-device")),
		chromedp.WaitVisible(chromedp.ID("codes")),
		chromedp.Navigate(sso+"/"),
		chromedp.WaitVisible(chromedp.ID("logout")),
	)
	logOut(computer)

	// Open the app: nginx sends the browser to Deadbolt's sign-in page.
	computer.Do("open the app",
		chromedp.Navigate(appURL),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	loc := Run(computer, "on the sign-in page", chromedp.Location())
	if want := sso + "/login?rd=" + url.QueryEscape(appURL); loc != want {
		computer.Fatalf("on the sign-in page", "the browser is at %q, want %q", loc, want)
	}
	if n := len(upstream.Requests()); n != 0 {
		t.Fatalf("the app was reached %d times before the sign-in", n)
	}
	computer.Axe("sign-in page for an app behind a proxy")
	computer.Do("sign in",
		chromedp.SendKeys(chromedp.ID("login"), "erin"),
		chromedp.SendKeys(chromedp.ID("password"), "erin-password"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("push-number")),
	)
	id := Run(computer, "read the push request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	number := Run(computer, "read the number", chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll("#push-number .group"), g => g.textContent).join("")`))
	card := `.request[data-id="` + id + `"]`
	phone.Do("approve on the phone",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.SendKeys(chromedp.CSS(card+" input.number"), number),
		chromedp.Click(chromedp.CSS(card+" button.approve")),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
	)

	// Signed in, the browser lands on the app, which knows who it is.
	landed := false
	for deadline := time.Now().Add(StepTimeout); !landed && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// Navigations are under way (verify page → home → app): a page
		// being replaced answers with an error, which is retried.
		ctx, cancel := context.WithTimeout(computer.Context(), time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.body && document.body.innerText.includes("upstream for erin")`))
		cancel()
		landed = err == nil && ok
	}
	if !landed {
		computer.Fatalf("land on the app", "the browser did not reach the app's page for erin")
	}
	if loc := Run(computer, "at the app", chromedp.Location()); loc != appURL {
		computer.Fatalf("at the app", "the browser is at %q, want %q", loc, appURL)
	}
	var seen []string
	found := false
	for _, r := range upstream.Requests() {
		seen = append(seen, r.URL.RequestURI()+" as "+r.Header.Get("Remote-User"))
		found = found || (r.URL.RequestURI() == "/dashboard?panel=1" && r.Header.Get("Remote-User") == "erin")
	}
	if !found {
		t.Errorf("the app got %q; want /dashboard?panel=1 as erin", seen)
	}
}
