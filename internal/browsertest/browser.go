// Package browsertest drives headless Chromium from Go tests (over the DevTools
// protocol, with chromedp): the console's page tests in package api and the
// end-to-end tests in package mininet share it.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Browser drives headless Chromium over the DevTools protocol against a page served
// by this machine. It records every console error and uncaught exception.
type Browser struct {
	Ctx    context.Context
	cancel func()
	mu     sync.Mutex
	Errors []string
}

// New starts headless Chromium, or skips the test when it is not installed
// (make test installs it through scripts/setup.sh).
func New(t *testing.T) *Browser {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Skip("no Chromium on PATH: install Debian's chromium package (make setup does) to run the browser tests")
	}
	// The profile is removed after the browser has gone (t.TempDir's own clean-up can
	// race with Chromium's last writes).
	profile, err := os.MkdirTemp("", "cemon-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1000), chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(profile))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{Ctx: ctx, cancel: func() { cancel(); acancel() }}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value))
				}
				b.mu.Lock()
				b.Errors = append(b.Errors, "console.error: "+strings.Join(parts, " "))
				b.mu.Unlock()
			}
		case *runtime.EventExceptionThrown:
			b.mu.Lock()
			b.Errors = append(b.Errors, "exception: "+e.ExceptionDetails.Error())
			b.mu.Unlock()
		}
	})
	// Start the browser now so that its start-up does not count against a step's timeout.
	// (The first Run must get the browser's own context: a timeout on it would stop
	// the browser when it fires.)
	if err := chromedp.Run(ctx); err != nil {
		b.cancel()
		_ = os.RemoveAll(profile)
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		b.cancel()
		for i := 0; i < 20; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return b
}

// Run runs actions with a timeout.
func (b *Browser) Run(t *testing.T, d time.Duration, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, d)
	defer cancel()
	require.NoError(t, chromedp.Run(ctx, actions...))
}

// Screenshot writes a PNG of the whole page to name under the test output folder:
// $CEMON_TEST_OUT when set, else the test's temporary folder.
func (b *Browser) Screenshot(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("CEMON_TEST_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var png []byte
	b.Run(t, 30*time.Second, chromedp.FullScreenshot(&png, 100))
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, png, 0o644))
	t.Logf("screenshot %s", p)
	return p
}

// ConsoleErrors returns what the page reported as errors so far.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.Errors...)
}

// WaitRefreshes waits until the console has completed n refreshes in all.
func (b *Browser) WaitRefreshes(t *testing.T, n int, d time.Duration) {
	t.Helper()
	b.Run(t, d, chromedp.Poll(fmt.Sprintf("window.cemon && window.cemon.refreshes >= %d", n), nil, chromedp.WithPollingInterval(50*time.Millisecond)))
}
