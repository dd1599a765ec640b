package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// AxeScript is where axe-core's browser build lies, relative to the
// repository root, once `npm ci --prefix internal/browsertest/axe` has
// installed the version pinned in internal/browsertest/axe/package.json.
const AxeScript = "internal/browsertest/axe/node_modules/axe-core/axe.min.js"

// AxeTimeout bounds one accessibility check: injecting axe-core and
// running every rule over the page.
const AxeTimeout = 30 * time.Second

var axeSource = sync.OnceValues(func() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(AxeScript)))
	return string(b), err
})

// AxeViolation is one rule axe-core found broken, with the elements that
// break it.
type AxeViolation struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	Nodes  []AxeNode `json:"nodes"`
}

// AxeNode is one element that breaks a rule: its CSS selectors (one per
// frame or shadow root on the way to it), its HTML and what is wrong.
type AxeNode struct {
	Target  []string `json:"target"`
	HTML    string   `json:"html"`
	Summary string   `json:"summary"`
}

// axeRun runs axe-core over the document and answers its violations only.
// Selectors inside shadow roots or frames are arrays; they are joined.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help,
	nodes: v.nodes.map(n => ({
		target: n.target.map(t => Array.isArray(t) ? t.join(" >>> ") : String(t)),
		html: n.html, summary: n.failureSummary || "",
	})),
})))`

// Axe checks the page the tab shows now with axe-core, the state named by
// step, and fails the test (going on with it) for any violation of any
// impact, listing each rule with its impact and the elements that break
// it, and saving a screenshot as a failed step does.
//
// axe-core is injected through the DevTools protocol, which the page's
// Content-Security-Policy does not govern, so the policy stays as served.
// When axe-core is not installed (see AxeScript) the check is skipped
// with a note in the log, or fails the test if the environment variable
// CI is "true".
func (tab *Tab) Axe(step string) {
	tab.t.Helper()
	violations, ok := tab.AxeViolations(step)
	if !ok || len(violations) == 0 {
		return
	}
	tab.Errorf("accessibility check: "+step, "%d accessibility rule(s) broken at %s:%s",
		len(violations), Run(tab, "read the address", chromedp.Location()), FormatAxe(violations))
}

// AxeViolations runs axe-core over the page the tab shows now and answers
// what it found; ok is false when axe-core is not installed and the check
// was skipped (see Tab.Axe). A failure to run axe-core fails the test.
func (tab *Tab) AxeViolations(step string) (violations []AxeViolation, ok bool) {
	tab.t.Helper()
	src, err := axeSource()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tab.t.Fatalf("accessibility check %q needs axe-core (npm ci --prefix internal/browsertest/axe): %v", step, err)
		}
		tab.t.Logf("axe-core not installed (npm ci --prefix internal/browsertest/axe); skipping the accessibility check %q", step)
		return nil, false
	}
	violations, err = tab.axe(src)
	if err != nil {
		tab.Fatalf("accessibility check: "+step, "axe-core did not run: %v", err)
	}
	return violations, true
}

// FormatAxe lists violations one rule a line, each followed by the
// elements that break it: their selectors, HTML and what is wrong.
func FormatAxe(violations []AxeViolation) string {
	var msg strings.Builder
	for _, v := range violations {
		fmt.Fprintf(&msg, "\n- %s (%s): %s", v.ID, v.Impact, v.Help)
		for _, n := range v.Nodes {
			fmt.Fprintf(&msg, "\n    at %s\n      %s", strings.Join(n.Target, " "), n.HTML)
			for line := range strings.SplitSeq(n.Summary, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					fmt.Fprintf(&msg, "\n      %s", line)
				}
			}
		}
	}
	return msg.String()
}

// axe injects axe-core into the page unless it is there already and
// answers the violations it finds.
func (tab *Tab) axe(src string) ([]AxeViolation, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, AxeTimeout)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object" && typeof window.axe.run === "function"`))
	if err != nil {
		return nil, err
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]AxeViolation](axeRun, chromedp.EvalAwaitPromise))
}
