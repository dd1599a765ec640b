package web

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"deadbolt/internal/browsertest"
	"deadbolt/internal/device"
	"deadbolt/internal/totp"
)

func get(t *testing.T, base, p string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", base+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestPWAServed: every page and file of the companion app comes with its
// content type, the page headers and revalidation; nothing else is served.
func TestPWAServed(t *testing.T) {
	srv := httptest.NewServer(NewServer(Deps{}))
	defer srv.Close()
	tests := []struct {
		path  string
		ctype string
	}{
		{"/app/", "text/html; charset=utf-8"},
		{"/app/pair", "text/html; charset=utf-8"},
		{"/app/manifest.webmanifest", "application/manifest+json"},
		{"/app/sw.js", "text/javascript; charset=utf-8"},
		{"/app/app.js", "text/javascript; charset=utf-8"},
		{"/app/totp.js", "text/javascript; charset=utf-8"},
		{"/app/sse.js", "text/javascript; charset=utf-8"},
		{"/app/codec.js", "text/javascript; charset=utf-8"},
		{"/app/db.js", "text/javascript; charset=utf-8"},
		{"/app/number.js", "text/javascript; charset=utf-8"},
		{"/app/scan.js", "text/javascript; charset=utf-8"},
		{"/app/vendor/qr/decode.js", "text/javascript; charset=utf-8"},
		{"/app/vendor/qr/index.js", "text/javascript; charset=utf-8"},
		{"/app/app.css", "text/css; charset=utf-8"},
		{"/app/icon-192.png", "image/png"},
		{"/app/icon-512.png", "image/png"},
	}
	shell := ""
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv.URL, tt.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", tt.path, resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("GET %s Content-Type = %q, want %q", tt.path, got, tt.ctype)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("GET %s Content-Security-Policy = %q, want it to hold %q", tt.path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("GET %s Content-Security-Policy = %q, want no unsafe sources", tt.path, csp)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s X-Content-Type-Options = %q, want nosniff", tt.path, got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("GET %s Cache-Control = %q, want no-cache", tt.path, got)
			}
			if len(body) == 0 {
				t.Errorf("GET %s body is empty", tt.path)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatalf("GET %s has no ETag", tt.path)
			}
			again, body2 := get(t, srv.URL, tt.path, http.Header{"If-None-Match": {etag}})
			if again.StatusCode != http.StatusNotModified || len(body2) != 0 {
				t.Errorf("GET %s with If-None-Match = %d (%d bytes), want 304 and no body", tt.path, again.StatusCode, len(body2))
			}
			if tt.ctype == "text/html; charset=utf-8" {
				if shell == "" {
					shell = string(body)
				} else if string(body) != shell {
					t.Errorf("GET %s is not the same page as /app/", tt.path)
				}
			}
		})
	}

	resp, _ := get(t, srv.URL, "/app/sw.js", nil)
	if got := resp.Header.Get("Service-Worker-Allowed"); got != "/app/" {
		t.Errorf("GET /app/sw.js Service-Worker-Allowed = %q, want /app/", got)
	}
	resp, _ = get(t, srv.URL, "/app", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "app/" {
		t.Errorf("GET /app = %d Location %q, want 301 to app/", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/app/index.html", "/app/nothing.js", "/app/x/app.js", "/app/pair/extra", "/app/.%2e/pages.go",
		"/app/vendor/qr/LICENSE-MIT", "/app/vendor/qr/SOURCE", "/app/vendor/qr/nothing.js", "/app/vendor/app.js", "/app/vendor/qr/%2e%2e/app.js"} {
		if resp, _ := get(t, srv.URL, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv.URL, "/app/pair", http.Header{"Authorization": {"Bearer x"}}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /app/pair with a token = %d, want 200 (the page needs no session)", resp.StatusCode)
	}
}

// TestPWAScope: behind a public URL with a path, the service worker may
// control that path's /app/.
func TestPWAScope(t *testing.T) {
	tests := []struct {
		public string
		want   string
	}{
		{"", "/app/"},
		{"https://mfa.example.com", "/app/"},
		{"https://mfa.example.com/", "/app/"},
		{"https://example.com/deadbolt", "/deadbolt/app/"},
		{"https://example.com/a/b/", "/a/b/app/"},
	}
	for _, tt := range tests {
		t.Run(tt.public, func(t *testing.T) {
			var u *url.URL
			if tt.public != "" {
				var err error
				if u, err = url.Parse(tt.public); err != nil {
					t.Fatal(err)
				}
			}
			if got := newPWA(u, "en").scope; got != tt.want {
				t.Errorf("newPWA(%q).scope = %q, want %q", tt.public, got, tt.want)
			}
		})
	}
}

var (
	tagRE        = regexp.MustCompile(`(?is)<([a-z][a-z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>`)
	inlineAttrRE = regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`)
	scriptRE     = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
)

// TestPWAShellHasNoInlineCode: the Content-Security-Policy allows no inline
// script or style, so the page has none: every script is a file, and no
// element carries an event handler or a style attribute.
func TestPWAShellHasNoInlineCode(t *testing.T) {
	page := readAppFile(t, "index.html")
	for _, m := range scriptRE.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("index.html has an inline script: %s", m[0])
		}
	}
	if strings.Count(page, "<script") != len(scriptRE.FindAllString(page, -1)) || len(scriptRE.FindAllString(page, -1)) == 0 {
		t.Errorf("index.html: %d <script> tags, %d with src and no body; want every one (and at least one) loaded from a file",
			strings.Count(page, "<script"), len(scriptRE.FindAllString(page, -1)))
	}
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		if a := inlineAttrRE.FindString(m[2]); a != "" {
			t.Errorf("index.html: <%s> has the inline attribute %q", m[1], strings.TrimSpace(a))
		}
		if strings.EqualFold(m[1], "style") {
			t.Errorf("index.html has a <style> element")
		}
	}
	if strings.Contains(strings.ToLower(page), "javascript:") {
		t.Errorf("index.html holds a javascript: URL")
	}
	// The elements the browser tests drive.
	for _, id := range []string{"pair-status", "account", "totp-code", "requests", "disconnected"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("index.html has no element #%s", id)
		}
	}
	for _, class := range []string{`"request card"`, `"number"`, `"approve"`, `"deny secondary"`, `"report link"`, `"confirm-report danger"`} {
		if !strings.Contains(page, `class=`+class) {
			t.Errorf("index.html: the request template has no class=%s", class)
		}
	}
	// Server text reaches the page only as text.
	for _, name := range appFiles(t, ".js") {
		src := readAppFile(t, name)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

// TestPWAOfflineShell: the service worker caches every file the app loads,
// so that it starts offline, and every embedded file is served.
func TestPWAOfflineShell(t *testing.T) {
	sw := readAppFile(t, "sw.js")
	m := regexp.MustCompile(`(?s)const SHELL = \[(.*?)\]`).FindStringSubmatch(sw)
	if m == nil {
		t.Fatal("sw.js has no SHELL list")
	}
	var cached []string
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		cached = append(cached, q[1])
	}
	var want []string
	page := readAppFile(t, "index.html")
	for _, h := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		want = append(want, h[1])
	}
	for _, name := range allAppFiles(t, ".js") {
		dir := path.Dir(name)
		for _, imp := range regexp.MustCompile(`(?:from |import\()["']\./([^"']+)["']`).FindAllStringSubmatch(readAppFile(t, name), -1) {
			want = append(want, path.Join(dir, imp[1]))
		}
	}
	want = append(want, "./")
	var manifest struct {
		Icons []struct{ Src string } `json:"icons"`
	}
	if err := json.Unmarshal([]byte(readAppFile(t, "manifest.webmanifest")), &manifest); err != nil {
		t.Fatal(err)
	}
	for _, ic := range manifest.Icons {
		want = append(want, ic.Src)
	}
	for _, w := range want {
		if !slices.Contains(cached, w) {
			t.Errorf("sw.js SHELL = %q, lacks %q which the app loads", cached, w)
		}
	}
	p := newPWA(nil, "en")
	for _, name := range appFiles(t, "") {
		if _, ok := p.files[name]; !ok {
			t.Errorf("ui/app/%s is embedded but not served (unknown extension?)", name)
		}
	}
	for _, name := range allAppFiles(t, ".js") {
		if !slices.Contains(cached, name) && name != "sw.js" {
			t.Errorf("sw.js SHELL = %q, lacks the script %q", cached, name)
		}
	}
}

// allAppFiles lists every embedded file of the app with the extension,
// in subdirectories too, by path under ui/app.
func allAppFiles(t *testing.T, ext string) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(pwaFS, "ui/app", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(name) == ext {
			names = append(names, strings.TrimPrefix(name, "ui/app/"))
		}
		return err
	})
	if err != nil || len(names) == 0 {
		t.Fatalf("ui/app has no %q files: %v", ext, err)
	}
	return names
}

// TestPWAManifest: the manifest makes the app installable: name, start URL
// and scope /app/, standalone display, PNG icons of 192 and 512 pixels.
func TestPWAManifest(t *testing.T) {
	var m struct {
		Name     string `json:"name"`
		StartURL string `json:"start_url"`
		Scope    string `json:"scope"`
		Display  string `json:"display"`
		Icons    []struct {
			Src, Sizes, Type, Purpose string
		} `json:"icons"`
	}
	if err := json.Unmarshal([]byte(readAppFile(t, "manifest.webmanifest")), &m); err != nil {
		t.Fatalf("manifest.webmanifest: %v", err)
	}
	base, _ := url.Parse("https://mfa.example.com/app/manifest.webmanifest")
	resolve := func(s string) string {
		u, err := base.Parse(s)
		if err != nil {
			return "bad URL " + s
		}
		return u.Path
	}
	if m.Name != "Deadbolt" || m.Display != "standalone" || resolve(m.StartURL) != "/app/" || resolve(m.Scope) != "/app/" {
		t.Errorf("manifest = name %q display %q start_url %q scope %q, want Deadbolt, standalone, /app/, /app/",
			m.Name, m.Display, resolve(m.StartURL), resolve(m.Scope))
	}
	sizes := map[string]bool{}
	for _, ic := range m.Icons {
		if ic.Type != "image/png" {
			t.Errorf("icon %s type = %q, want image/png", ic.Src, ic.Type)
			continue
		}
		cfg, err := png.DecodeConfig(strings.NewReader(readAppFile(t, ic.Src)))
		if err != nil {
			t.Errorf("icon %s: %v", ic.Src, err)
			continue
		}
		if got := fmt.Sprintf("%dx%d", cfg.Width, cfg.Height); got != ic.Sizes {
			t.Errorf("icon %s is %s, manifest says %s", ic.Src, got, ic.Sizes)
		}
		if ic.Purpose == "any" || ic.Purpose == "" {
			sizes[ic.Sizes] = true
		}
	}
	for _, s := range []string{"192x192", "512x512"} {
		if !sizes[s] {
			t.Errorf("manifest has no %s icon for any purpose", s)
		}
	}
}

func readAppFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(pwaFS, path.Join("ui/app", name))
	if err != nil {
		t.Fatalf("read ui/app/%s: %v", name, err)
	}
	return string(b)
}

func appFiles(t *testing.T, ext string) []string {
	t.Helper()
	entries, err := fs.ReadDir(pwaFS, "ui/app")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (ext == "" || path.Ext(e.Name()) == ext) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("ui/app has no %q files", ext)
	}
	return names
}

// TestPWAScripts runs the app's modules in Chromium: TOTP against the RFC
// 6238 vectors and the server's own implementation, base32 and base64url
// against Go, the SSE parser on every split of a stream, and a decision
// signature that Go's ECDSA verifies over the documented text.
func TestPWAScripts(t *testing.T) {
	tab := browsertest.Start(t).NewTab("pwa")
	srv := httptest.NewServer(NewServer(Deps{}))
	defer srv.Close()
	tab.Do("open app", chromedp.Navigate(srv.URL+"/app/"), chromedp.WaitVisible(chromedp.ID("welcome")))

	eval := func(step, js string, out any) {
		t.Helper()
		raw := browsertest.Run(tab, step, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v in %s", step, err, raw)
		}
	}

	// rfc6238
	{
		seeds := map[string]string{
			"SHA1":   "12345678901234567890",
			"SHA256": "12345678901234567890123456789012",
			"SHA512": "1234567890123456789012345678901234567890123456789012345678901234",
		}
		// RFC 6238, appendix B.
		vectors := []struct {
			alg  string
			t    int64
			want string
		}{
			{"SHA1", 59, "94287082"}, {"SHA256", 59, "46119246"}, {"SHA512", 59, "90693936"},
			{"SHA1", 1111111109, "07081804"}, {"SHA256", 1111111109, "68084774"}, {"SHA512", 1111111109, "25091201"},
			{"SHA1", 1111111111, "14050471"}, {"SHA256", 1111111111, "67062674"}, {"SHA512", 1111111111, "99943326"},
			{"SHA1", 1234567890, "89005924"}, {"SHA256", 1234567890, "91819424"}, {"SHA512", 1234567890, "93441116"},
			{"SHA1", 2000000000, "69279037"}, {"SHA256", 2000000000, "90698825"}, {"SHA512", 2000000000, "38618901"},
			{"SHA1", 20000000000, "65353130"}, {"SHA256", 20000000000, "77737706"}, {"SHA512", 20000000000, "47863826"},
		}
		for _, v := range vectors {
			var got string
			eval("rfc6238", fmt.Sprintf(`(async () => {
				const m = await import("./totp.js");
				const key = await m.importSecret(new TextEncoder().encode(%q), %q);
				return m.hotp(key, m.timeStep(%d * 1000), 8);
			})()`, seeds[v.alg], v.alg, v.t), &got)
			if got != v.want {
				t.Errorf("totp.js %s at %d = %q, want %q", v.alg, v.t, got, v.want)
			}
		}
	}

	// server totp
	{
		for i := range 8 {
			secret := make([]byte, 20)
			rand.Read(secret)
			counters := []uint64{0, 1, 56666666, 1<<32 - 1, 1 << 32, 1<<32 + 7, 1<<40 + 12345, uint64(i) * 1000003}
			var got []string
			eval("server totp", fmt.Sprintf(`(async () => {
				const m = await import("./totp.js");
				const key = await m.importSecret(m.base32Decode(%q));
				const out = [];
				for (const c of %s) out.push(await m.hotp(key, c, 6));
				return out;
			})()`, totp.EncodeSecret(secret), jsonText(t, counters)), &got)
			for j, c := range counters {
				if want := totp.HOTP(secret, c, 6); j >= len(got) || got[j] != want {
					t.Errorf("totp.js hotp(%x, %d) = %v, want %q", secret, c, got, want)
				}
			}
		}
		var left []int
		eval("seconds left", `import("./totp.js").then(m => [m.secondsLeft(0), m.secondsLeft(29999), m.secondsLeft(30000), m.secondsLeft(59000)])`, &left)
		if !slices.Equal(left, []int{30, 1, 30, 1}) {
			t.Errorf("secondsLeft(0, 29999, 30000, 59000) = %v, want [30 1 30 1]", left)
		}
	}

	// base32 and base64url
	{
		for n := range 12 {
			b := make([]byte, n)
			rand.Read(b)
			var got struct {
				Base32 []int  `json:"b32"`
				Enc    string `json:"enc"`
				Dec    []int  `json:"dec"`
			}
			enc := base64.RawURLEncoding.EncodeToString(b)
			eval("codecs", fmt.Sprintf(`(async () => {
				const t = await import("./totp.js");
				const c = await import("./codec.js");
				const b = Uint8Array.from(%s);
				return {b32: Array.from(t.base32Decode(%q)), enc: c.b64url(b), dec: Array.from(c.b64urlDecode(%q))};
			})()`, jsonText(t, ints(b)), strings.ToLower(totp.EncodeSecret(b)), enc), &got)
			if !slices.Equal(got.Base32, ints(b)) || got.Enc != enc || !slices.Equal(got.Dec, ints(b)) {
				t.Errorf("codecs of %x: base32 %x, b64url %q decoded %x; want %x, %q, %x", b, got.Base32, got.Enc, got.Dec, b, enc, b)
			}
		}
	}

	// sse
	{
		stream := ": hello\r\nretry: 10\r\nevent: request\r\ndata: {\"id\":\"a\"}\r\n\r\n" +
			"data: line1\r\ndata:line2\n\nevent: empty\n\n" +
			"id: 7\rdata: cr\r\r" +
			"event: request\ndata: tail-without-end"
		want := []map[string]string{
			{"type": "request", "data": `{"id":"a"}`, "id": ""},
			{"type": "message", "data": "line1\nline2", "id": ""},
			{"type": "message", "data": "cr", "id": "7"},
		}
		var got struct {
			Whole  []map[string]string   `json:"whole"`
			Splits [][]map[string]string `json:"splits"`
			Chars  []map[string]string   `json:"chars"`
		}
		eval("sse", fmt.Sprintf(`(async () => {
			const { SSEParser } = await import("./sse.js");
			const run = (chunks) => { const p = new SSEParser(); const out = []; for (const c of chunks) out.push(...p.push(c)); return out; };
			const s = %s;
			const splits = [];
			for (let i = 1; i < s.length; i++) splits.push(run([s.slice(0, i), s.slice(i)]));
			return { whole: run([s]), splits, chars: run([...s]) };
		})()`, jsonText(t, stream)), &got)
		same := func(a []map[string]string) bool {
			return slices.EqualFunc(a, want, func(x, y map[string]string) bool {
				return x["type"] == y["type"] && x["data"] == y["data"] && x["id"] == y["id"]
			})
		}
		if !same(got.Whole) {
			t.Errorf("SSEParser(whole stream) = %v, want %v", got.Whole, want)
		}
		if !same(got.Chars) {
			t.Errorf("SSEParser(one character at a time) = %v, want %v", got.Chars, want)
		}
		for i, s := range got.Splits {
			if !same(s) {
				t.Errorf("SSEParser(split at %d) = %v, want %v", i+1, s, want)
			}
		}
	}

	// number
	{
		var got struct {
			Groups  []string `json:"groups"`
			Parsed  []any    `json:"parsed"`
			Scanned []any    `json:"scanned"`
			Digits  []int    `json:"digits"`
			Typed   []string `json:"typed"`
		}
		eval("number", `(async () => {
			const m = await import("./number.js");
			const input = document.createElement("input");
			document.body.append(input);
			const typed = [];
			for (const [text, length] of [["4829", 6], ["482913", 6], ["48 29 13 7", 6], ["a4b8c2", 6], ["4829135", 7], ["48291357", 8]]) {
				input.value = text;
				input.setSelectionRange(text.length, text.length);
				m.formatInput(input, length);
				typed.push(input.value);
			}
			input.remove();
			return {
				groups: [m.groupDigits("482913", 6), m.groupDigits("48", 6), m.groupDigits("4829135", 7), m.groupDigits("48291357", 8)],
				parsed: [m.parseNumber("482 913", 6), m.parseNumber("482913", 6), m.parseNumber("48291", 6), m.parseNumber("4829130", 6),
					m.parseNumber("082913", 6), m.parseNumber("48291a", 6), m.parseNumber("48291357", 8), m.parseNumber("-48291", 6)],
				scanned: [m.scannedNumber("482913", 6), m.scannedNumber(" 482913\n", 6), m.scannedNumber("482 913", 6),
					m.scannedNumber("https://example.com/482913", 6), m.scannedNumber("4829135", 6)],
				digits: [m.requestDigits({digits: 6}), m.requestDigits({digits: 8}), m.requestDigits({}), m.requestDigits({digits: 2}),
					m.requestDigits({digits: "7"}), m.requestDigits(null)],
				typed,
			};
		})()`, &got)
		if want := []string{"482 913", "48", "4829 135", "4829 1357"}; !slices.Equal(got.Groups, want) {
			t.Errorf("groupDigits = %q, want %q", got.Groups, want)
		}
		if want := []any{482913.0, 482913.0, nil, nil, nil, nil, 48291357.0, nil}; !slices.Equal(got.Parsed, want) {
			t.Errorf("parseNumber = %v, want %v", got.Parsed, want)
		}
		if want := []any{482913.0, 482913.0, nil, nil, nil}; !slices.Equal(got.Scanned, want) {
			t.Errorf("scannedNumber = %v, want %v", got.Scanned, want)
		}
		if want := []int{6, 8, 6, 6, 6, 6}; !slices.Equal(got.Digits, want) {
			t.Errorf("requestDigits = %v, want %v", got.Digits, want)
		}
		if want := []string{"482 9", "482 913", "482 913", "482", "4829 135", "4829 1357"}; !slices.Equal(got.Typed, want) {
			t.Errorf("formatInput as typed = %q, want %q", got.Typed, want)
		}
	}

	// the vendored QR decoder reads the sign-in page's QR code
	for _, text := range []string{"482913", "9137264", "10000000"} {
		png, err := device.QRCode(text, numberQRSize)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		eval("decode QR", fmt.Sprintf(`(async () => {
			const s = await import("./scan.js");
			const img = new Image();
			img.src = %q;
			await img.decode();
			const c = document.createElement("canvas");
			c.width = img.width + 40; c.height = img.height + 40;
			const ctx = c.getContext("2d");
			ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
			ctx.drawImage(img, 20, 20);
			return s.decodeImage(ctx.getImageData(0, 0, c.width, c.height));
		})()`, pngDataURL(png)), &got)
		if got != text {
			t.Errorf("decodeImage(QR of %q) = %q", text, got)
		}
	}

	// signature
	{
		for _, tt := range []struct {
			decision, number, want string
		}{
			{"approve", "47", "deadbolt-push-v1\nreq-1\napprove\n47"},
			{"deny", "undefined", "deadbolt-push-v1\nreq-1\ndeny\n"},
		} {
			var got struct {
				Key, Sig, Msg string
			}
			eval("sign", fmt.Sprintf(`(async () => {
				const c = await import("./codec.js");
				const k = await crypto.subtle.generateKey({name: "ECDSA", namedCurve: "P-256"}, false, ["sign", "verify"]);
				const sig = await c.signDecision(k.privateKey, "req-1", %q, %s);
				return {Key: c.b64url(await crypto.subtle.exportKey("spki", k.publicKey)), Sig: sig,
					Msg: new TextDecoder().decode(c.signedMessage("req-1", %q, %s))};
			})()`, tt.decision, tt.number, tt.decision, tt.number), &got)
			if got.Msg != tt.want {
				t.Errorf("signedMessage(req-1, %s, %s) = %q, want %q", tt.decision, tt.number, got.Msg, tt.want)
			}
			der, err := base64.RawURLEncoding.DecodeString(got.Key)
			if err != nil {
				t.Fatalf("public key %q: %v", got.Key, err)
			}
			pub, err := x509.ParsePKIXPublicKey(der)
			if err != nil {
				t.Fatalf("public key: %v", err)
			}
			sig, err := base64.RawURLEncoding.DecodeString(got.Sig)
			if err != nil || len(sig) != 64 {
				t.Fatalf("signature %q: %v, %d bytes; want 64 raw bytes", got.Sig, err, len(sig))
			}
			h := sha256.Sum256([]byte(tt.want))
			ec, ok := pub.(*ecdsa.PublicKey)
			if !ok || !ecdsa.Verify(ec, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				t.Errorf("signDecision(%s, %s) does not verify over %q", tt.decision, tt.number, tt.want)
			}
			other := sha256.Sum256([]byte(tt.want + "0"))
			if ok && ecdsa.Verify(ec, other[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				t.Errorf("signDecision(%s, %s) also verifies over another text", tt.decision, tt.number)
			}
		}
	}
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ints(b []byte) []int {
	out := make([]int, len(b))
	for i, v := range b {
		out[i] = int(v)
	}
	return out
}
