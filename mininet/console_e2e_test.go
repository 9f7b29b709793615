package mininet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/internal/browsertest"
)

// TestE2EConsole opens the operator console in headless Chromium against cemon on a
// running Abilene network: the page draws every switch and link, a link's colour
// changes when iperf3 loads it, selecting a flow highlights its path, the strategy
// switch changes the scheme shown, and the browser console shows no error. A
// screenshot under load goes to $CEMON_TEST_OUT (default: the test's temporary
// folder).
func TestE2EConsole(t *testing.T) {
	skipUnlessE2E(t)
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	c, err := StartCemon(ctx, CemonOptions{
		Bin: cemonBin(t),
		Args: []string{"--idle-timeout", "5s", "--poll-interval", "1s", "--polling", "mcps",
			"--link-capacity", "20Mbit/s", "--layout-gml", filepath.Join(sourceDir(), "..", "topology", "testdata", "Abilene.gml")},
		Stdout: logFile(t, "cemon.stdout"),
		Stderr: logFile(t, "cemon.stderr"),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("cemon did not shut down cleanly: %v", err)
		}
	})
	h, err := StartHarness(ctx, HarnessOptions{Topo: "abilene", Controller: c.OFAddr, Stderr: logFile(t, "harness.stderr")})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	})
	require.NoError(t, h.WaitConnected(30*time.Second))
	require.Empty(t, poll(30*time.Second, func() string {
		var ls []api.Link
		if err := c.Get("/api/v1/links", &ls); err != nil {
			return err.Error()
		}
		if len(ls) != 28 {
			return fmt.Sprintf("%d directed links of 28", len(ls))
		}
		return ""
	}), "links discovered")
	_, err = h.PingAll(time.Second)
	require.NoError(t, err)

	b.Run(t, 30*time.Second, chromedp.Navigate("http://"+c.APIAddr+"/"))
	b.WaitRefreshes(t, 2, 30*time.Second)
	require.Empty(t, poll(20*time.Second, func() string {
		var nsw, nln int
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		defer cancel()
		if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#topo .sw").length`, &nsw),
			chromedp.Evaluate(`document.querySelectorAll("#topo .ln").length`, &nln)); err != nil {
			return err.Error()
		}
		if nsw != 11 || nln != 28 {
			return fmt.Sprintf("page shows %d switches and %d directed links; want 11 and 28", nsw, nln)
		}
		return ""
	}), "the page draws the topology")

	// The switches stand where the Topology Zoo file puts them: east of each other in
	// the drawing as in longitude, north as in latitude.
	var lay map[string]api.Point
	require.NoError(t, c.Get("/api/v1/topology/layout", &lay))
	var drawn map[string]api.Point
	b.Run(t, 5*time.Second, chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll("#topo .sw")].map(g => {
		const m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute("transform"));
		return [g.dataset.dpid, {x: +m[1], y: -m[2]}];
	}))`, &drawn))
	require.Len(t, drawn, 11)
	for a, pa := range lay {
		for c, pc := range lay {
			if pa.X > pc.X+3 {
				require.Greater(t, drawn[a].X, drawn[c].X, "%s lies east of %s", a, c)
			}
			if pa.Y > pc.Y+3 {
				require.Greater(t, drawn[a].Y, drawn[c].Y, "%s lies north of %s", a, c)
			}
		}
	}

	// Every link is idle before the load.
	var before map[string]string
	b.Run(t, 5*time.Second, chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll("#topo .ln")].map(l => [l.dataset.link, l.getAttribute("stroke")]))`, &before))

	// Load h1 -> h2 at 10 Mbit/s (half of the configured 20 Mbit/s capacity).
	id, err := h.IperfStart([]Transfer{{Src: "h1", Dst: "h2", UDP: true, Duration: 30, Bandwidth: "10M"}})
	require.NoError(t, err)
	var loaded []string
	require.Empty(t, poll(35*time.Second, func() string {
		var now map[string]string
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		defer cancel()
		if err := chromedp.Run(ctx, chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll("#topo .ln")].map(l => [l.dataset.link, l.getAttribute("stroke")]))`, &now)); err != nil {
			return err.Error()
		}
		var util map[string]float64
		if err := chromedp.Run(ctx, chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll("#topo .ln")].map(l => [l.dataset.link, +l.dataset.util]))`, &util)); err != nil {
			return err.Error()
		}
		loaded = loaded[:0]
		for k, v := range now {
			if v != before[k] && util[k] >= 0.05 {
				loaded = append(loaded, fmt.Sprintf("%s %s %.0f%%", k, v, util[k]*100))
			}
		}
		if len(loaded) == 0 {
			return "no link changed colour to 5 % or more under load"
		}
		return ""
	}), "a loaded link changes colour")
	t.Logf("links recoloured under load: %v", loaded)

	// Select the iperf3 flow (filter by h1's address): its path is highlighted.
	b.Run(t, 10*time.Second, chromedp.SendKeys(`#hostfilter`, "10.0.0.1", chromedp.ByID),
		chromedp.Poll(`document.querySelectorAll("#flows tbody tr").length > 0`, nil),
		chromedp.Click(`#flows tbody tr`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll("#topo .ln.onpath").length > 0`, nil))
	var sel int
	var onpath []string
	b.Run(t, 5*time.Second, chromedp.Evaluate(`window.cemon.selected`, &sel),
		chromedp.Evaluate(`[...document.querySelectorAll("#topo .ln.onpath")].map(l => l.dataset.link)`, &onpath))
	var f api.Flow
	require.NoError(t, c.Get(fmt.Sprintf("/api/v1/flows/%d", sel), &f))
	require.Len(t, onpath, len(f.Path)-1, "highlighted links of flow %d (path %v)", sel, f.Path)

	b.Screenshot(t, "console-abilene-load.png")

	// The strategy switch changes the scheme shown.
	b.Run(t, 20*time.Second, chromedp.SetValue(`#strategy`, "poll-all", chromedp.ByID), chromedp.Click(`#apply`, chromedp.ByID),
		chromedp.Poll(`document.getElementById("pollinfo").textContent.startsWith("poll-all")`, nil))
	var p api.Polling
	require.NoError(t, c.Get("/api/v1/polling", &p))
	require.Equal(t, "poll-all", p.Strategy)

	_, err = h.IperfWait(id, 60*time.Second)
	require.NoError(t, err)
	require.Empty(t, b.ConsoleErrors(), "browser console")
}
