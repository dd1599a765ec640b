//go:build pwascratch

package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"deadbolt/internal/browsertest"
	"deadbolt/internal/deadbolttest"
)

var sseReq = `{"id":"req-sse","created_at":"2030-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z","context":{"app":"VPN","browser":"Safari","os":"macOS","ip":"198.51.100.2","time":"2030-01-01T00:00:00Z"}}`

type capture struct {
	mu       sync.Mutex
	pairBody map[string]any
	decision map[string]any
	decPath  string
	gets     int
	mode     string // "fake" to fake requests
	list     string
}

func TestScratchPWA(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "emp", "emp-password-123")
	tok, _ := s.Login(t, "emp", "emp-password-123")
	r := s.Do(t, "POST", "/api/v1/me/device/pairing", tok, nil)
	offer := r.JSON(t)
	pairURL := offer["url"].(string)
	t.Logf("pair url %s", pairURL)

	b := browsertest.Start(t)
	tab := b.NewTab("phone")
	ctx := tab.Context()
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			t.Logf("console %s: %s %s:%d", m.Type, m.Text, m.URL, m.Line)
		}
	}()
	c := &capture{}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/api/v1/device*"}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range chromedp.Events(ctx, fetch.RequestPaused) {
			if err != nil {
				return
			}
			u := ev.Request.URL
			var body []byte
			for _, e := range ev.Request.PostDataEntries {
				body = append(body, e.Bytes...)
			}
			t.Logf("intercept %s %s", ev.Request.Method, u)
			fulfill := func(code int64, b string) {
				chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: code,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(b)})
			}
			c.mu.Lock()
			mode, list := c.mode, c.list
			c.mu.Unlock()
			switch {
			case strings.HasSuffix(u, "/device/pair"):
				var m map[string]any
				json.Unmarshal(body, &m)
				c.mu.Lock()
				c.pairBody = m
				c.mu.Unlock()
				chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			case (mode == "fake" || mode == "sse") && strings.Contains(u, "/device/requests/") && ev.Request.Method == "POST":
				var m map[string]any
				json.Unmarshal(body, &m)
				c.mu.Lock()
				c.decision = m
				c.decPath = u
				c.list = `{"requests":[]}`
				c.mu.Unlock()
				fulfill(200, `{"status":"approved"}`)
			case mode == "sse" && strings.Contains(u, "/device/events"):
				chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/event-stream"}}, Body: []byte(": hello\r\n\r\nevent: other\ndata: x\n\nevent: request\ndata: " + sseReq + "\n\n")})
			case mode == "sse" && strings.Contains(u, "/device/requests"):
				c.mu.Lock()
				c.gets++
				c.mu.Unlock()
				fulfill(200, `{"requests":[]}`)
			case mode == "fake" && strings.Contains(u, "/device/requests"):
				c.mu.Lock()
				c.gets++
				c.mu.Unlock()
				fulfill(200, list)
			case mode == "real" && !strings.Contains(u, "/device/vapid"):
				chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			case strings.Contains(u, "/device/events"), strings.Contains(u, "/device/vapid"), strings.Contains(u, "/device/requests"):
				fulfill(404, `{"error":{"code":"not_found","message":"Not found."}}`)
			default:
				chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}
		}
	}()

	tab.Do("viewport", chromedp.EmulateViewport(360, 740))
	tab.Do("pair", chromedp.Navigate(pairURL), chromedp.WaitVisible(chromedp.ID("totp-code")))
	time.Sleep(1500 * time.Millisecond)
	code := browsertest.Run(tab, "code", chromedp.Text(chromedp.ID("totp-code")))
	loc := browsertest.Run(tab, "loc", chromedp.Location())
	status := browsertest.Run(tab, "status", chromedp.Text(chromedp.ID("pair-status")))
	t.Logf("code=%q loc=%q status=%q", code, loc, status)
	shot(t, tab, "/tmp/pwa/paired.png")
	id := offer["id"].(string)
	cr := s.Do(t, "POST", "/api/v1/me/device/pairing/"+id+"/confirm", tok, map[string]string{"code": code})
	t.Logf("confirm: %d %s", cr.Status, cr.Body)
	c.mu.Lock()
	pb := c.pairBody
	c.mu.Unlock()
	t.Logf("pair body: %v", pb)

	// Real push through the server.
	c.mu.Lock()
	c.mode = "real"
	c.mu.Unlock()
	tab.Do("reload real", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("totp-code")))
	time.Sleep(time.Second)
	lr := s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "emp", "password": "emp-password-123"})
	lm := lr.JSON(t)
	t.Logf("login: %s", lr.Body)
	push, _ := lm["push"].(map[string]any)
	if push == nil {
		t.Fatalf("no push")
	}
	ptok := lm["session_token"].(string)
	pid := push["id"].(string)
	num := fmt.Sprint(push["number"])
	tab.Do("real request", chromedp.WaitVisible(chromedp.CSS(`.request[data-id="`+pid+`"]`)))
	shot(t, tab, "/tmp/pwa/real-request.png")
	tab.Do("real approve", chromedp.SendKeys(chromedp.CSS(`.request input.number`), num), chromedp.Click(chromedp.CSS(`.request button.approve`)), chromedp.WaitNotPresent(chromedp.CSS(`.request`)))
	st := s.Do(t, "GET", "/api/v1/login/push/"+pid+"?wait=5", ptok, nil)
	t.Logf("push status: %d %s", st.Status, st.Body)
	msgText := browsertest.Run(tab, "msg", chromedp.Text(chromedp.ID("message")))
	t.Logf("message: %q", msgText)
	// Wrong number.
	lr = s.Do(t, "POST", "/api/v1/login", "", map[string]string{"login": "emp", "password": "emp-password-123"})
	lm = lr.JSON(t)
	push, _ = lm["push"].(map[string]any)
	if push != nil {
		pid = push["id"].(string)
		wrong := "11"
		if fmt.Sprint(push["number"]) == "11" {
			wrong = "12"
		}
		tab.Do("wrong request", chromedp.WaitVisible(chromedp.CSS(`.request[data-id="`+pid+`"]`)), chromedp.SendKeys(chromedp.CSS(`.request input.number`), wrong), chromedp.Click(chromedp.CSS(`.request button.approve`)), chromedp.WaitNotPresent(chromedp.CSS(`.request`)))
		msgText = browsertest.Run(tab, "msg", chromedp.Text(chromedp.ID("message")))
		t.Logf("wrong number message: %q", msgText)
		st = s.Do(t, "GET", "/api/v1/login/push/"+pid, lm["session_token"].(string), nil)
		t.Logf("push status: %d %s", st.Status, st.Body)
	}

	// Fake a pending request and approve it.
	exp := time.Now().Add(2 * time.Minute).UTC().Format(time.RFC3339)
	c.mu.Lock()
	c.mode = "fake"
	c.list = fmt.Sprintf(`{"requests":[{"id":"req-1","created_at":%q,"expires_at":%q,"context":{"app":"Deadbolt portal","browser":"Firefox 140","os":"Windows 11","ip":"203.0.113.7","time":%q}}]}`,
		time.Now().UTC().Format(time.RFC3339), exp, time.Now().UTC().Format(time.RFC3339))
	c.mu.Unlock()
	tab.Do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.request[data-id="req-1"]`)))
	time.Sleep(3 * time.Second)
	c.mu.Lock()
	t.Logf("GETs after 3s with one pending: %d", c.gets)
	c.mu.Unlock()
	shot(t, tab, "/tmp/pwa/request.png")
	tab.Do("report step", chromedp.Click(chromedp.CSS(`.request button.report`)), chromedp.WaitVisible(chromedp.CSS(`.request button.confirm-report`)))
	shot(t, tab, "/tmp/pwa/report.png")
	tab.Do("cancel report", chromedp.Click(chromedp.CSS(`.request button.cancel-report`)))
	tab.Do("approve without number", chromedp.Click(chromedp.CSS(`.request button.approve`)), chromedp.WaitVisible(chromedp.CSS(`.request .request-error`)))
	tab.Do("approve", chromedp.SendKeys(chromedp.CSS(`.request input.number`), "4a7"), chromedp.Click(chromedp.CSS(`.request button.approve`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.request`)))
	shot(t, tab, "/tmp/pwa/approved.png")
	c.mu.Lock()
	dec, decPath := c.decision, c.decPath
	c.mu.Unlock()
	t.Logf("decision %s %v", decPath, dec)
	// Verify the signature with the public key sent at pairing.
	der, err := base64.RawURLEncoding.DecodeString(pb["public_key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(dec["signature"].(string))
	if err != nil || len(sig) != 64 {
		t.Fatalf("sig %v %d", err, len(sig))
	}
	msg := fmt.Sprintf("deadbolt-push-v1\nreq-1\napprove\n%v", dec["number"])
	h := sha256.Sum256([]byte(msg))
	ok := ecdsa.Verify(pk.(*ecdsa.PublicKey), h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	t.Logf("signature valid: %v (msg %q)", ok, msg)
	if !ok {
		t.Error("bad signature")
	}

	// SSE delivery.
	c.mu.Lock()
	c.mode = "sse"
	c.gets = 0
	c.mu.Unlock()
	tab.Do("sse", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.request[data-id="req-sse"]`)))
	cached := browsertest.Run(tab, "cache", chromedp.Evaluate[[]string](`caches.open("deadbolt-app-v1").then(c => c.keys()).then(k => k.map(r => r.url))`, chromedp.EvalAwaitPromise))
	ctrl := browsertest.Run(tab, "controller", chromedp.Evaluate[bool](`!!navigator.serviceWorker.controller`))
	t.Logf("cached %v controller %v", cached, ctrl)
	tab.Do("deny sse", chromedp.Click(chromedp.CSS(`.request button.report`)), chromedp.Click(chromedp.CSS(`.request button.confirm-report`)), chromedp.WaitNotPresent(chromedp.CSS(`.request`)))
	c.mu.Lock()
	t.Logf("sse decision %v", c.decision)
	c.mu.Unlock()
	time.Sleep(2 * time.Second)
	c.mu.Lock()
	t.Logf("GETs in sse mode: %d", c.gets)
	before := c.gets
	c.mu.Unlock()
	// A push message makes the app read the pending requests.
	regs := make(chan serviceworker.RegistrationID, 10)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	chromedp.Listen(wctx, func(ev any) {
		if e, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range e.Registrations {
				select {
				case regs <- r.RegistrationID:
				default:
				}
			}
		}
	})
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var regID serviceworker.RegistrationID
	select {
	case regID = <-regs:
	case <-wctx.Done():
		t.Fatal("no registration")
	}
	if _, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{Origin: s.URL, RegistrationID: regID, Data: `{"id":"req-9"}`}); err != nil {
		t.Logf("deliver push: %v", err)
	}
	time.Sleep(2 * time.Second)
	c.mu.Lock()
	t.Logf("GETs after push: %d (before %d)", c.gets, before)
	c.mu.Unlock()

	// Disconnect: remove the device, reload the app.
	c.mu.Lock()
	c.mode = ""
	c.mu.Unlock()
	dr := s.Do(t, "DELETE", "/api/v1/me/device", tok, nil)
	t.Logf("remove device: %d %s", dr.Status, dr.Body)
	tab.Do("reload after disconnect", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("disconnected")))
	shot(t, tab, "/tmp/pwa/disconnected.png")
	tab.Do("reload again", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("disconnected")))
	tab2 := b.NewTab("fresh")
	tab2.Do("viewport", chromedp.EmulateViewport(360, 740))
	tab2.Do("welcome", chromedp.Navigate(s.URL+"/app/pair"), chromedp.WaitVisible(chromedp.ID("welcome")))
	shot(t, tab2, "/tmp/pwa/welcome.png")
	tab2.Do("bad token", chromedp.Navigate(s.URL+"/app/pair#nonsense"), chromedp.WaitVisible(chromedp.ID("welcome")))
	st2 := browsertest.Run(tab2, "status", chromedp.Text(chromedp.ID("pair-status")))
	t.Logf("bad token status: %q", st2)
	shot(t, tab2, "/tmp/pwa/badtoken.png")
	_ = context.Background
}

func shot(t *testing.T, tab *browsertest.Tab, path string) {
	png := browsertest.Run(tab, "shot", chromedp.FullScreenshot(100))
	os.WriteFile(path, png, 0o644)
}
