// Package browsertest drives Debian's Chromium (/usr/bin/chromium, never a
// downloaded browser) through the DevTools protocol to check Deadbolt's
// pages the way an employee uses them. Its tests start real servers with
// deadbolttest; this file holds the browser plumbing they share: a headless
// browser per test, tabs in separate browser contexts (separate cookie
// jars), and steps that save a full-page screenshot under
// artifacts/browser/ in the repository when they fail.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is the only browser the tests use.
const ChromiumPath = "/usr/bin/chromium"

// StepTimeout bounds one step of a test.
const StepTimeout = 10 * time.Second

// Browser is a headless Chromium started for one test and closed when the
// test ends. It is not safe for concurrent use; its tabs may be used from
// one goroutine each.
type Browser struct {
	t   testing.TB
	ctx context.Context // the browser's first tab, started without a deadline
}

// Start starts Chromium for t with a fresh profile, with the extra options
// (FakeCamera, say) on top of the defaults. When Chromium is not installed
// it skips t, or fails it if the environment variable CI is "true". Any
// other start failure fails t.
func Start(t testing.TB, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need %s: %v", ChromiumPath, err)
		}
		t.Skipf("%s not installed; skipping browser tests", ChromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	}
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first run starts the browser; it must carry no deadline, or the
	// browser would end with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	return &Browser{t: t, ctx: ctx}
}

// FakeCamera gives the browser a camera that films the Y4M video at path
// (read when a page opens the camera, so the file may be written after
// the browser started) and grants pages the camera without asking.
func FakeCamera(path string) chromedp.ExecAllocatorOption {
	return func(a *chromedp.ExecAllocator) {
		chromedp.Flag("use-fake-device-for-media-stream", true)(a)
		chromedp.Flag("use-fake-ui-for-media-stream", true)(a)
		chromedp.Flag("use-file-for-fake-video-capture", path)(a)
	}
}

// Tab is one browser tab in its own browser context: it shares no cookies
// or storage with other tabs. Use a tab from one goroutine at a time;
// different tabs may run in parallel.
type Tab struct {
	t    testing.TB
	name string
	ctx  context.Context
}

// NewTab opens a tab in a new browser context. name labels its
// screenshots. The tab closes when the test ends; failing to open it fails
// the test.
func (b *Browser) NewTab(name string) *Tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open tab %s: %v", name, err)
	}
	return &Tab{t: b.t, name: name, ctx: ctx}
}

// Context returns the tab's context, for chromedp calls of one's own.
func (tab *Tab) Context() context.Context { return tab.ctx }

// Do runs the actions of one named step, within StepTimeout. If one fails
// it saves a screenshot and fails the test, naming the screenshot's path.
func (tab *Tab) Do(step string, actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tab.Fatalf(step, "%v", err)
	}
}

// Run runs one action that returns a value as the named step, within
// StepTimeout, and returns the value; on failure it saves a screenshot and
// fails the test, as Tab.Do does.
func Run[T any](tab *Tab, step string, action chromedp.Action[T]) T {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tab.Fatalf(step, "%v", err)
	}
	return v
}

// Fatalf saves a full-page screenshot of the tab for step and fails the
// test with the message and the screenshot's path.
func (tab *Tab) Fatalf(step, format string, args ...any) {
	tab.t.Helper()
	msg := fmt.Sprintf(format, args...)
	path, err := tab.screenshot(step)
	if err != nil {
		tab.t.Fatalf("step %q (%s): %s\n(no screenshot: %v)", step, tab.name, msg, err)
	}
	tab.t.Fatalf("step %q (%s): %s\nscreenshot: %s", step, tab.name, msg, path)
}

// Errorf saves a full-page screenshot of the tab for step and marks the
// test failed with the message and the screenshot's path, letting it go
// on.
func (tab *Tab) Errorf(step, format string, args ...any) {
	tab.t.Helper()
	msg := fmt.Sprintf(format, args...)
	path, err := tab.screenshot(step)
	if err != nil {
		tab.t.Errorf("step %q (%s): %s\n(no screenshot: %v)", step, tab.name, msg, err)
		return
	}
	tab.t.Errorf("step %q (%s): %s\nscreenshot: %s", step, tab.name, msg, path)
}

// screenshot writes the tab's full page as a PNG under
// artifacts/browser/ in the repository and returns the file's path.
func (tab *Tab) screenshot(step string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(tab.ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "artifacts", "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, ArtifactName(tab.t.Name()+"-"+tab.name, step))
	return path, os.WriteFile(path, png, 0o644)
}

// ArtifactName returns the file name of a screenshot for a test and step:
// "<test>-<step>.png", with every character but ASCII letters, digits,
// dot, hyphen and underscore replaced by an underscore, so the name never
// holds a path separator. It is safe for concurrent use.
func ArtifactName(test, step string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	return clean(test) + "-" + clean(step) + ".png"
}

// RepoRoot returns the nearest directory at or above the working
// directory that holds go.mod, or an error when there is none or the
// working directory is unknown. It is safe for concurrent use.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("browsertest: no go.mod above the working directory")
		}
		dir = parent
	}
}
