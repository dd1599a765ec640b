package browsertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAxeFindsViolations serves a page with known faults under a
// Content-Security-Policy that allows no script at all (inline styles only), and checks that
// the injected axe-core runs there and names each fault with its element.
func TestAxeFindsViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/bad":
			w.Write([]byte(`<!doctype html><html><head><title>Bad</title></head><body>
<main><h1>Faults</h1><img id="pic" src="/nothing.png"><input id="nameless" type="text">
<p style="color:#bbb;background:#fff">Pale text</p></main></body></html>`))
		default:
			w.Write([]byte(`<!doctype html><html lang="en"><head><title>Good</title></head><body>
<script>document.documentElement.dataset.ran = "yes"</script>
<main><h1>Fine</h1><label for="n">Name</label> <input id="n" type="text"></main></body></html>`))
		}
	}))
	defer srv.Close()
	tab := Start(t).NewTab("page")

	tab.Do("open the good page", chromedp.Navigate(srv.URL+"/good"), chromedp.WaitVisible(chromedp.ID("n")))
	if v, ok := tab.AxeViolations("good page"); !ok {
		t.Skip("axe-core not installed")
	} else if len(v) != 0 {
		t.Errorf("the good page breaks rules:%s", FormatAxe(v))
	}
	// The page's own script stayed blocked: the policy held while axe-core ran.
	if ran := Run(tab, "the page's script is blocked", chromedp.Evaluate[bool](`document.documentElement.dataset.ran === "yes"`)); ran {
		t.Fatalf("the page's inline script ran; the check must run under a policy that blocks scripts")
	}

	tab.Do("open the bad page", chromedp.Navigate(srv.URL+"/bad"), chromedp.WaitVisible(chromedp.ID("pic")))
	v, _ := tab.AxeViolations("bad page")
	got := map[string]string{}
	for _, r := range v {
		got[r.ID] = strings.Join(r.Nodes[0].Target, " ")
	}
	for id, target := range map[string]string{"image-alt": "#pic", "label": "#nameless", "html-has-lang": "html", "color-contrast": "p"} {
		if got[id] != target {
			t.Errorf("axe found %q at %q, want it at %q; all found:%s", id, got[id], target, FormatAxe(v))
		}
	}
	if text := FormatAxe(v); !strings.Contains(text, "image-alt (critical)") || !strings.Contains(text, `<img id="pic"`) {
		t.Errorf("the report lacks the rule's impact or the element's HTML:%s", text)
	}
}
