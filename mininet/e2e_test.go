package mininet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/api"
)

// idleTimeout is the idle timeout cemon gives its entries in the end-to-end tests.
const idleTimeout = 3 * time.Second

// pingTimeout bounds each ping of a pingall. A ping answered takes milliseconds; the
// bound only matters on a loaded machine, where the first packet of a pair (ARP through
// the controller, then the path's FLOW_MODs) may take longer than usual.
const pingTimeout = 5 * time.Second

func skipUnlessE2E(t *testing.T) {
	t.Helper()
	if os.Getenv("CEMON_E2E") != "1" {
		t.Skip("end-to-end test: set CEMON_E2E=1 (make e2e) to run it against Open vSwitch and Mininet")
	}
	if why := canRunMininet(); why != "" {
		t.Skip("end-to-end test needs Mininet and Open vSwitch: " + why)
	}
}

// cemonBin returns $CEMON_BIN, or builds cemon into a temporary directory.
func cemonBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CEMON_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "cemon")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/cemon-sdn/cemon/cmd/cemon").CombinedOutput()
	if err != nil {
		t.Fatalf("building cemon: %v\n%s", err, out)
	}
	return bin
}

// logFile creates a file in the test's temporary directory whose tail is logged if
// the test fails.
func logFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer f.Close()
		if !t.Failed() {
			return
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		t.Logf("last lines of %s:\n%s", name, strings.Join(lines, "\n"))
	})
	return f
}

// env is one running cemon and its Mininet network.
type env struct {
	c    *Cemon
	h    *Harness
	hlog *os.File // the harness's standard error, where the test also notes its steps
}

// note writes a timestamped step of the test into the harness's log, so that a
// failure's log tail shows what the test was doing next to what the harness and
// cemon (whose log lines carry times too) were doing.
func (e env) note(format string, args ...any) {
	fmt.Fprintf(e.hlog, "%s test: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func startEnv(t *testing.T, ctx context.Context, topo string) env {
	t.Helper()
	c, err := StartCemon(ctx, CemonOptions{
		Bin:    cemonBin(t),
		Args:   []string{"--idle-timeout", idleTimeout.String()},
		Stdout: logFile(t, "cemon.stdout"),
		Stderr: logFile(t, "cemon.stderr"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("cemon did not shut down cleanly: %v", err)
		}
	})
	hlog := logFile(t, "harness.stderr")
	h, err := StartHarness(ctx, HarnessOptions{Topo: topo, Controller: c.OFAddr, Stderr: hlog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	})
	t.Logf("%s up in %.2fs: %d switches, %d directed links, %d hosts; cemon OpenFlow %s, API %s",
		topo, h.Info.StartupSeconds, len(h.Info.Switches), len(h.Info.Links), len(h.Info.Hosts), c.OFAddr, c.APIAddr)
	e := env{c: c, h: h, hlog: hlog}
	e.note("%s up; cemon OpenFlow %s, API %s", topo, c.OFAddr, c.APIAddr)
	return e
}

// waitTopology waits until every switch is connected and cemon knows every link.
func (e env) waitTopology(t *testing.T, info Info) {
	t.Helper()
	if err := e.h.WaitConnected(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if why := poll(30*time.Second, func() string { return checkTopology(e.c, info, "", false) }); why != "" {
		t.Fatal(why)
	}
}

// locateHosts makes sure cemon has located every host, with a pingall if it has not.
func (e env) locateHosts(t *testing.T, info Info) {
	t.Helper()
	if checkTopology(e.c, info, "", true) == "" {
		return
	}
	if _, err := e.h.PingAll(pingTimeout); err != nil {
		t.Fatal(err)
	}
	if why := poll(10*time.Second, func() string { return checkTopology(e.c, info, "", true) }); why != "" {
		t.Fatal(why)
	}
}

// poll calls check until it returns "" or the deadline passes; it returns the last
// complaint ("" on success).
func poll(timeout time.Duration, check func() string) string {
	deadline := time.Now().Add(timeout)
	for {
		why := check()
		if why == "" || time.Now().After(deadline) {
			return why
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// graph is the switch graph of the ground truth, for shortest paths.
type graph struct {
	adj  map[string]map[string]api.Link // src dpid -> dst dpid -> link
	host map[string]HostInfo            // by IP
	mac  map[string]HostInfo            // by MAC
}

func newGraph(info Info) graph {
	g := graph{adj: map[string]map[string]api.Link{}, host: map[string]HostInfo{}, mac: map[string]HostInfo{}}
	for _, s := range info.Switches {
		g.adj[s.DPID] = map[string]api.Link{}
	}
	for _, l := range info.Links {
		g.adj[l.SrcDPID][l.DstDPID] = l
	}
	for _, h := range info.Hosts {
		g.host[h.IP] = h
		g.mac[h.MAC] = h
	}
	return g
}

// dist is the hop count between two switches (-1 when unreachable).
func (g graph) dist(a, b string) int {
	d := map[string]int{a: 0}
	q := []string{a}
	for len(q) > 0 {
		u := q[0]
		q = q[1:]
		if u == b {
			return d[u]
		}
		for v := range g.adj[u] {
			if _, seen := d[v]; !seen {
				d[v] = d[u] + 1
				q = append(q, v)
			}
		}
	}
	return -1
}

// checkPath says what is wrong with a flow's path and entries, or "".
func (g graph) checkPath(f api.Flow) string {
	if len(f.Path) == 0 {
		return "empty path"
	}
	for _, d := range f.Path {
		if _, ok := g.adj[d]; !ok {
			return fmt.Sprintf("path names unknown switch %s", d)
		}
	}
	src, dst := f.Path[0], f.Path[len(f.Path)-1]
	if want := g.dist(src, dst); len(f.Path)-1 != want {
		return fmt.Sprintf("path %v has %d hops; the shortest from %s to %s has %d", f.Path, len(f.Path)-1, src, dst, want)
	}
	if h, ok := g.host[f.Match.NwSrc]; ok && h.DPID != src {
		return fmt.Sprintf("path starts at %s but nw_src %s is at %s", src, f.Match.NwSrc, h.DPID)
	}
	if h, ok := g.host[f.Match.NwDst]; ok && h.DPID != dst {
		return fmt.Sprintf("path ends at %s but nw_dst %s is at %s", dst, f.Match.NwDst, h.DPID)
	}
	if len(f.Entries) != len(f.Path) {
		return fmt.Sprintf("%d entries for a path of %d switches", len(f.Entries), len(f.Path))
	}
	for i, e := range f.Entries {
		if e.DPID != f.Path[i] {
			return fmt.Sprintf("entry %d is on %s, path has %s there", i, e.DPID, f.Path[i])
		}
		if i+1 < len(f.Path) {
			l := g.adj[f.Path[i]][f.Path[i+1]]
			if e.OutPort != l.SrcPort {
				return fmt.Sprintf("entry on %s outputs to port %d; the link to %s is port %d", e.DPID, e.OutPort, f.Path[i+1], l.SrcPort)
			}
			if f.Entries[i+1].InPort != l.DstPort {
				return fmt.Sprintf("entry on %s has in_port %d; the link from %s arrives on port %d", f.Path[i+1], f.Entries[i+1].InPort, e.DPID, l.DstPort)
			}
		}
	}
	if h, ok := g.host[f.Match.NwSrc]; ok && f.Entries[0].InPort != h.Port {
		return fmt.Sprintf("ingress entry has in_port %d; host %s is on port %d", f.Entries[0].InPort, h.Name, h.Port)
	}
	if h, ok := g.host[f.Match.NwDst]; ok && f.Entries[len(f.Entries)-1].OutPort != h.Port {
		return fmt.Sprintf("egress entry outputs to %d; host %s is on port %d", f.Entries[len(f.Entries)-1].OutPort, h.Name, h.Port)
	}
	return ""
}

func dpidsOf(sw []api.Switch) []string {
	var d []string
	for _, s := range sw {
		d = append(d, s.DPID)
	}
	slices.Sort(d)
	return d
}

func sortedLinks(ls []api.Link) []string {
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s:%d->%s:%d", l.SrcDPID, l.SrcPort, l.DstDPID, l.DstPort))
	}
	slices.Sort(out)
	return out
}

func hostKeys(hs []api.Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s/%s@%s:%d", h.MAC, h.IP, h.DPID, h.Port))
	}
	slices.Sort(out)
	return out
}

func truthHosts(info Info, skipDPID string) []string {
	var hs []api.Host
	for _, h := range info.Hosts {
		if h.DPID != skipDPID {
			hs = append(hs, api.Host{MAC: h.MAC, IP: h.IP, DPID: h.DPID, Port: h.Port})
		}
	}
	return hostKeys(hs)
}

func truthLinks(info Info, skipDPID string) []string {
	var ls []api.Link
	for _, l := range info.Links {
		if l.SrcDPID != skipDPID && l.DstDPID != skipDPID {
			ls = append(ls, l)
		}
	}
	return sortedLinks(ls)
}

func truthDPIDs(info Info, skipDPID string) []string {
	var d []string
	for _, s := range info.Switches {
		if s.DPID != skipDPID {
			d = append(d, s.DPID)
		}
	}
	slices.Sort(d)
	return d
}

// checkTopology compares cemon's switches, links and hosts with the truth, leaving
// out the switch skip ("" for none) and whatever it carries.
func checkTopology(c *Cemon, info Info, skip string, withHosts bool) string {
	var sw []api.Switch
	if err := c.Get("/api/v1/switches", &sw); err != nil {
		return err.Error()
	}
	if got, want := dpidsOf(sw), truthDPIDs(info, skip); !slices.Equal(got, want) {
		return fmt.Sprintf("switches %v, want %v", got, want)
	}
	var ls []api.Link
	if err := c.Get("/api/v1/links", &ls); err != nil {
		return err.Error()
	}
	if got, want := sortedLinks(ls), truthLinks(info, skip); !slices.Equal(got, want) {
		return fmt.Sprintf("links (%d)\n %v\nwant (%d)\n %v", len(got), got, len(want), want)
	}
	if !withHosts {
		return ""
	}
	var hs []api.Host
	if err := c.Get("/api/v1/hosts", &hs); err != nil {
		return err.Error()
	}
	if got, want := hostKeys(hs), truthHosts(info, skip); !slices.Equal(got, want) {
		return fmt.Sprintf("hosts\n %v\nwant\n %v", got, want)
	}
	return ""
}

func dpidOfName(info Info, name string) string {
	for _, s := range info.Switches {
		if s.Name == name {
			return s.DPID
		}
	}
	return ""
}

// entryKey identifies one installed entry: switch, cookie, in_port, out_port.
type entryKey struct {
	dpid    string
	cookie  uint64
	in, out uint16
}

func parseCookie(s string) (uint64, error) {
	return strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
}

// TestE2EAbilene runs cemon against Abilene in Mininet: discovery, forwarding,
// flow tracking checked against Open vSwitch's own tables, expiry with final
// counters, and a switch losing and regaining its controller connection.
func TestE2EAbilene(t *testing.T) {
	skipUnlessE2E(t)
	// Cancelled last, after the cleanups have stopped cemon and the harness.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // includes waiting for the Mininet lock
	t.Cleanup(cancel)
	e := startEnv(t, ctx, "abilene")
	c, h, info := e.c, e.h, e.h.Info
	g := newGraph(info)
	if len(info.Switches) != 11 || len(info.Links) != 28 || len(info.Hosts) != 11 {
		t.Fatalf("Abilene came up with %d switches, %d directed links, %d hosts; want 11, 28, 11",
			len(info.Switches), len(info.Links), len(info.Hosts))
	}

	if !t.Run("switches connect and links are discovered", func(t *testing.T) {
		if err := h.WaitConnected(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if why := poll(30*time.Second, func() string { return checkTopology(c, info, "", false) }); why != "" {
			t.Fatal(why)
		}
		var sw []api.Switch
		if err := c.Get("/api/v1/switches", &sw); err != nil {
			t.Fatal(err)
		}
		for _, s := range sw {
			var truth SwitchInfo
			for _, ts := range info.Switches {
				if ts.DPID == s.DPID {
					truth = ts
				}
			}
			if s.Address == "" || s.ConnectedSince.IsZero() {
				t.Errorf("switch %s: address %q, connected_since %v", s.DPID, s.Address, s.ConnectedSince)
			}
			for _, tp := range truth.Ports {
				if !slices.ContainsFunc(s.Ports, func(p api.Port) bool { return p.PortNo == tp.PortNo && p.Name == tp.Name }) {
					t.Errorf("switch %s (%s): port %d %s missing from %+v", s.DPID, truth.Name, tp.PortNo, tp.Name, s.Ports)
				}
			}
		}
	}) {
		t.FailNow()
	}
	// What follows needs every switch connected and every link known, whether or not
	// the subtest above ran (go test -run may select a later subtest alone).
	e.waitTopology(t, info)

	t.Run("pingall loses nothing and hosts are located", func(t *testing.T) {
		e.note("pingall")
		res, err := h.PingAll(pingTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 110 || res.Received != res.Sent {
			t.Errorf("pingall: %d of %d received; lost %v", res.Received, res.Sent, res.Lost)
		}
		if why := poll(10*time.Second, func() string { return checkTopology(c, info, "", true) }); why != "" {
			t.Error(why)
		}
	})

	// Let the pings' flows expire so the tables hold the transfers' flows only: with no
	// traffic, every flow must be gone from cemon (and its entries from the switches)
	// soon after the idle timeout.
	e.note("waiting for every flow to expire")
	if why := poll(idleTimeout+10*time.Second, func() string {
		var fs []api.Flow
		if err := c.Get("/api/v1/flows?state=active,draining", &fs); err != nil {
			return err.Error()
		}
		if len(fs) > 0 {
			return fmt.Sprintf("%d flows still active or draining, the first %+v", len(fs), fs[0])
		}
		return ""
	}); why != "" {
		t.Fatalf("%v after the last ping: %s", idleTimeout+10*time.Second, why)
	}

	transfers := []Transfer{
		{Src: "h1", Dst: "h4", Duration: 6, Bandwidth: "8M", Port: 5201, CPort: 40001},             // New York -> Seattle
		{Src: "h6", Dst: "h3", Duration: 6, UDP: true, Bandwidth: "4M", Port: 5202, CPort: 40002},  // Los Angeles -> Washington
		{Src: "h9", Dst: "h2", Duration: 6, Bandwidth: "8M", Port: 5203, CPort: 40003},             // Houston -> Chicago
		{Src: "h5", Dst: "h11", Duration: 6, UDP: true, Bandwidth: "4M", Port: 5204, CPort: 40004}, // Sunnyvale -> Indianapolis
	}
	hostByName := map[string]HostInfo{}
	for _, hi := range info.Hosts {
		hostByName[hi.Name] = hi
	}
	// Record what the switches tell cemon, FLOW_REMOVED messages above all. Every flow
	// that starts from now on has all its FLOW_REMOVED messages recorded.
	if err := h.SnoopStart(); err != nil {
		t.Fatal(err)
	}
	snoopedSince := time.Now()
	e.note("snoop started; starting %d iperf3 transfers", len(transfers))
	iperfID, err := h.IperfStart(transfers)
	if err != nil {
		t.Fatal(err)
	}
	iperfDone := false
	defer func() {
		if !iperfDone {
			_, _ = h.IperfWait(iperfID, 30*time.Second)
		}
	}()

	// dataFlow finds the flow of a transfer's data, client to server.
	dataFlow := func(fs []api.Flow, tr Transfer) (api.Flow, bool) {
		proto := uint8(6)
		if tr.UDP {
			proto = 17
		}
		for _, f := range fs {
			m := f.Match
			if m.NwSrc == hostByName[tr.Src].IP && m.NwDst == hostByName[tr.Dst].IP && m.NwProto == proto &&
				m.TpSrc == uint16(tr.CPort) && m.TpDst == uint16(tr.Port) {
				return f, true
			}
		}
		return api.Flow{}, false
	}

	t.Run("flows take shortest paths and match the switches' tables", func(t *testing.T) {
		var before, after []api.Flow
		if why := poll(15*time.Second, func() string {
			if err := c.Get("/api/v1/flows?state=active", &before); err != nil {
				return err.Error()
			}
			for _, tr := range transfers {
				f, ok := dataFlow(before, tr)
				if !ok {
					return fmt.Sprintf("no active flow for the transfer %s -> %s port %d", tr.Src, tr.Dst, tr.Port)
				}
				// Give the transfers' entries time to reach every switch.
				if time.Since(f.Start) < 1500*time.Millisecond {
					return fmt.Sprintf("the transfer %s -> %s has just started", tr.Src, tr.Dst)
				}
			}
			return ""
		}); why != "" {
			t.Fatal(why)
		}
		if err := c.Get("/api/v1/flows", &before); err != nil {
			t.Fatal(err)
		}
		e.note("dump-flows of every switch, between two GET /api/v1/flows")
		dumpedAt := time.Now()
		dumps, err := h.DumpFlows()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Get("/api/v1/flows", &after); err != nil {
			t.Fatal(err)
		}

		// Every flow cemon lists has a shortest path and consistent entries.
		for _, f := range append(slices.Clone(before), after...) {
			if why := g.checkPath(f); why != "" {
				t.Errorf("flow %d (%s, %+v): %s", f.ID, f.Cookie, f.Match, why)
			}
		}
		for _, tr := range transfers {
			f, ok := dataFlow(after, tr)
			if !ok {
				t.Errorf("transfer %s -> %s: flow gone from cemon during the transfer", tr.Src, tr.Dst)
				continue
			}
			if f.Path[0] != hostByName[tr.Src].DPID || f.Path[len(f.Path)-1] != hostByName[tr.Dst].DPID {
				t.Errorf("transfer %s -> %s: path %v does not join %s to %s", tr.Src, tr.Dst, f.Path,
					hostByName[tr.Src].DPID, hostByName[tr.Dst].DPID)
			}
		}

		// Cookie for cookie: what cemon says it installed is what the switches hold.
		installed := map[entryKey]api.Flow{} // non-removed entries in either snapshot
		stable := map[entryKey]api.Flow{}    // entries of flows active and unchanged in both
		byID := map[uint64]api.Flow{}
		for _, f := range before {
			byID[f.ID] = f
		}
		for _, snap := range [][]api.Flow{before, after} {
			for _, f := range snap {
				ck, err := parseCookie(f.Cookie)
				if err != nil {
					t.Errorf("flow %d: cookie %q: %v", f.ID, f.Cookie, err)
					continue
				}
				for _, en := range f.Entries {
					if !en.Removed {
						installed[entryKey{en.DPID, ck, en.InPort, en.OutPort}] = f
					}
				}
			}
		}
		for _, f := range after {
			b, ok := byID[f.ID]
			// Entries of a flow set up just before the dump may still be in flight.
			if !ok || f.State != api.StateActive || b.State != api.StateActive || !slices.Equal(b.Entries, f.Entries) ||
				dumpedAt.Sub(f.Start) < time.Second {
				continue
			}
			ck, _ := parseCookie(f.Cookie)
			for _, en := range f.Entries {
				if !en.Removed {
					stable[entryKey{en.DPID, ck, en.InPort, en.OutPort}] = f
				}
			}
		}
		nameOf := map[string]string{}
		for _, s := range info.Switches {
			nameOf[s.DPID] = s.Name
		}
		onSwitch := map[entryKey]FlowDump{}
		for _, s := range info.Switches {
			seen := map[uint64]bool{}
			for _, d := range dumps[s.Name] {
				if d.Cookie == 0 {
					t.Logf("%s holds an entry without a cookie (not a tracked flow): %v actions=%s", s.Name, d.Match, d.Actions)
					continue
				}
				if seen[d.Cookie] {
					t.Errorf("%s holds two entries with cookie %#x", s.Name, d.Cookie)
				}
				seen[d.Cookie] = true
				if d.InPort == nil || len(d.Outputs) != 1 {
					t.Errorf("%s: entry %#x is not one in_port to one output: %v actions=%s", s.Name, d.Cookie, d.Match, d.Actions)
					continue
				}
				k := entryKey{s.DPID, d.Cookie, *d.InPort, d.Outputs[0]}
				onSwitch[k] = d
				f, ok := installed[k]
				if !ok {
					t.Errorf("%s holds entry cookie %#x in_port %d -> %d that cemon does not list as installed",
						s.Name, d.Cookie, k.in, k.out)
					continue
				}
				if why := matchAgrees(f.Match, d.Match); why != "" {
					t.Errorf("%s entry %#x: %s", s.Name, d.Cookie, why)
				}
				if d.IdleTimeout != int(idleTimeout.Seconds()) {
					t.Errorf("%s entry %#x: idle_timeout %d, cemon runs with %v", s.Name, d.Cookie, d.IdleTimeout, idleTimeout)
				}
			}
		}
		for k, f := range stable {
			if _, ok := onSwitch[k]; !ok {
				t.Errorf("flow %d (%s): cemon lists an entry on %s (%s) in_port %d -> %d that the switch does not hold",
					f.ID, f.Cookie, k.dpid, nameOf[k.dpid], k.in, k.out)
			}
		}
		for _, tr := range transfers {
			f, _ := dataFlow(after, tr)
			ck, _ := parseCookie(f.Cookie)
			for _, en := range f.Entries {
				if _, ok := stable[entryKey{en.DPID, ck, en.InPort, en.OutPort}]; !ok {
					t.Errorf("transfer %s -> %s: flow %d's entry on %s was not stable across the dump: nothing compared",
						tr.Src, tr.Dst, f.ID, en.DPID)
				}
			}
		}
		t.Logf("%d entries on the switches, %d stable flow entries in cemon, %d flows listed", len(onSwitch), len(stable), len(after))
	})

	t.Run("expired flows carry the ingress switch's last counters", func(t *testing.T) {
		e.note("waiting for the transfers to end")
		res, err := h.IperfWait(iperfID, 60*time.Second)
		iperfDone = true
		e.note("transfers ended; watching the flows expire")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Error != "" || r.BytesSent == 0 {
				t.Errorf("iperf3 %s -> %s: %d bytes sent, error %q", r.Src, r.Dst, r.BytesSent, r.Error)
			}
		}
		// Every flow not expired yet: active ones, and draining ones (some entries
		// already gone, on the ingress switch too, perhaps).
		var active []api.Flow
		if err := c.Get("/api/v1/flows?state=active,draining", &active); err != nil {
			t.Fatal(err)
		}
		// What the ingress switch last reported is its FLOW_REMOVED (seen on the
		// control channel with ovs-ofctl snoop); the last dump-flows before the entry
		// went away can only be lower or equal. The snoop saw the FLOW_REMOVED of every
		// ingress entry that was still there when the flows were listed, and of every
		// flow that started after it did; for the others (a draining flow whose ingress
		// entry went before the snoop started) there is nothing to compare with.
		type watch struct {
			f       api.Flow
			cookie  uint64
			sw      string
			must    bool // the snoop must have seen its ingress FLOW_REMOVED
			last    *FlowDump
			removed *FlowRemoved
			gone    bool
		}
		var ws []*watch
		ingress := map[string]bool{}
		for _, f := range active {
			ck, err := parseCookie(f.Cookie)
			if err != nil || len(f.Path) == 0 || len(f.Entries) == 0 {
				t.Errorf("flow %d: cookie %q, path %v, %d entries", f.ID, f.Cookie, f.Path, len(f.Entries))
				continue
			}
			sw := ""
			for _, s := range info.Switches {
				if s.DPID == f.Path[0] {
					sw = s.Name
				}
			}
			must := !f.Entries[0].Removed || f.Start.After(snoopedSince)
			ws = append(ws, &watch{f: f, cookie: ck, sw: sw, must: must})
			ingress[sw] = true
		}
		var names []string
		for n := range ingress {
			names = append(names, n)
		}
		if why := poll(idleTimeout+15*time.Second, func() string {
			dumps, err := h.DumpFlows(names...)
			if err != nil {
				return err.Error()
			}
			left := 0
			for _, w := range ws {
				if w.gone {
					continue
				}
				i := slices.IndexFunc(dumps[w.sw], func(d FlowDump) bool { return d.Cookie == w.cookie })
				if i < 0 {
					w.gone = true
					continue
				}
				d := dumps[w.sw][i]
				w.last = &d
				left++
			}
			if left > 0 {
				return fmt.Sprintf("%d ingress entries still on the switches", left)
			}
			return ""
		}); why != "" {
			t.Fatal(why)
		}
		if why := poll(10*time.Second, func() string {
			frs, err := h.FlowRemoved(names...)
			if err != nil {
				return err.Error()
			}
			var missing []string
			for _, w := range ws {
				for i := range frs[w.sw] {
					if frs[w.sw][i].Cookie == w.cookie {
						w.removed = &frs[w.sw][i] // the last one with this cookie
					}
				}
				if w.removed == nil && w.must {
					missing = append(missing, fmt.Sprintf("flow %d (%s, %s, ingress %s)", w.f.ID, w.f.Cookie, w.f.State, w.sw))
				}
			}
			if len(missing) > 0 {
				return fmt.Sprintf("%d ingress FLOW_REMOVED messages not seen: %s", len(missing), strings.Join(missing, ", "))
			}
			return ""
		}); why != "" {
			t.Error(why)
		}
		// Every flow listed expires once its entries are gone from every switch.
		final := map[uint64]api.Flow{}
		if why := poll(idleTimeout+10*time.Second, func() string {
			for _, w := range ws {
				if _, done := final[w.f.ID]; done {
					continue
				}
				var f api.Flow
				code, err := c.GetStatus("/api/v1/flows/"+strconv.FormatUint(w.f.ID, 10), &f)
				if err != nil {
					return fmt.Sprintf("flow %d (%s): status %d: %v", w.f.ID, w.f.Cookie, code, err)
				}
				if f.State != api.StateExpired {
					return fmt.Sprintf("flow %d (%s) is still %s: %+v", f.ID, f.Cookie, f.State, f.Entries)
				}
				final[f.ID] = f
			}
			return ""
		}); why != "" {
			t.Errorf("not expired after the idle timeout: %s", why)
		}
		checked := 0
		for _, w := range ws {
			f, ok := final[w.f.ID]
			if !ok {
				continue
			}
			if f.End == nil || f.End.Before(f.Start) {
				t.Errorf("flow %d: end %v before start %v", f.ID, f.End, f.Start)
			}
			if w.removed == nil {
				if !w.must {
					t.Logf("flow %d (%s): its ingress entry went before the snoop started; not compared", w.f.ID, w.f.Cookie)
				}
				continue
			}
			checked++
			switch {
			case f.FinalByteCount == nil || f.FinalPacketCount == nil:
				t.Errorf("flow %d (%s, ingress %s): expired without final counters: %+v", f.ID, f.Cookie, w.sw, f.Entries)
			case *f.FinalByteCount != w.removed.Bytes || *f.FinalPacketCount != w.removed.Packets:
				t.Errorf("flow %d (%s, ingress %s): final %d bytes %d packets; the switch's FLOW_REMOVED said %d bytes %d packets",
					f.ID, f.Cookie, w.sw, *f.FinalByteCount, *f.FinalPacketCount, w.removed.Bytes, w.removed.Packets)
			case w.last != nil && (*f.FinalByteCount < w.last.NBytes || *f.FinalPacketCount < w.last.NPackets):
				t.Errorf("flow %d (%s, ingress %s): final %d bytes %d packets, below the last dump's %d bytes %d packets",
					f.ID, f.Cookie, w.sw, *f.FinalByteCount, *f.FinalPacketCount, w.last.NBytes, w.last.NPackets)
			}
		}
		for _, tr := range transfers {
			f, ok := dataFlow(active, tr)
			if !ok {
				t.Errorf("transfer %s -> %s: no active flow when it ended", tr.Src, tr.Dst)
				continue
			}
			if !slices.ContainsFunc(ws, func(w *watch) bool { return w.f.ID == f.ID && w.removed != nil }) {
				t.Errorf("transfer %s -> %s: no FLOW_REMOVED from its ingress switch to compare with", tr.Src, tr.Dst)
			}
		}
		for i, tr := range transfers {
			if f, ok := dataFlow(active, tr); ok && i < len(res) {
				var fin api.Flow
				if err := c.Get("/api/v1/flows/"+strconv.FormatUint(f.ID, 10), &fin); err == nil && fin.FinalByteCount != nil {
					t.Logf("transfer %s -> %s (%s): iperf3 sent %d bytes (%d packets); cemon's final count %d bytes, %d packets",
						tr.Src, tr.Dst, res[i].Protocol, res[i].BytesSent, res[i].PacketsSent, *fin.FinalByteCount, *fin.FinalPacketCount)
				}
			}
		}
		t.Logf("%d expired flows checked against their ingress switches' FLOW_REMOVED", checked)
	})

	// The next subtest compares the hosts cemon knows with the truth: every host must
	// be located first (it is, unless -run left the pingall subtest out).
	e.locateHosts(t, info)

	t.Run("a switch losing its controller leaves the others alone", func(t *testing.T) {
		const victim = "s7" // Denver: links to Seattle, Sunnyvale and Kansas City
		vd := dpidOfName(info, victim)
		var before []api.Switch
		if err := c.Get("/api/v1/switches", &before); err != nil {
			t.Fatal(err)
		}
		since := map[string]time.Time{}
		for _, s := range before {
			since[s.DPID] = s.ConnectedSince
		}
		undisturbed := func() string {
			var now []api.Switch
			if err := c.Get("/api/v1/switches", &now); err != nil {
				return err.Error()
			}
			for _, s := range now {
				if s.DPID != vd && !s.ConnectedSince.Equal(since[s.DPID]) {
					return fmt.Sprintf("switch %s reconnected (since %v, was %v)", s.DPID, s.ConnectedSince, since[s.DPID])
				}
			}
			return ""
		}
		e.note("del-controller %s", victim)
		if err := h.DelController(victim); err != nil {
			t.Fatal(err)
		}
		if why := poll(15*time.Second, func() string { return checkTopology(c, info, vd, true) }); why != "" {
			t.Errorf("after del-controller %s: %s", victim, why)
		}
		if why := undisturbed(); why != "" {
			t.Error(why)
		}
		e.note("set-controller %s", victim)
		if err := h.SetController(victim); err != nil {
			t.Fatal(err)
		}
		if err := h.WaitConnected(20*time.Second, victim); err != nil {
			t.Fatal(err)
		}
		if why := poll(30*time.Second, func() string { return checkTopology(c, info, "", false) }); why != "" {
			t.Errorf("after set-controller %s: %s", victim, why)
		}
		// The host behind the switch reappears once it talks.
		if why := poll(20*time.Second, func() string {
			out, err := h.HostCmd("h7", "ping -c1 -W2 10.0.0.1", 10*time.Second)
			if err != nil || !strings.Contains(out, " 0% packet loss") {
				return fmt.Sprintf("%v\n%s", err, out)
			}
			return ""
		}); why != "" {
			t.Errorf("h7 -> h1 after reconnect: %s", why)
		}
		if why := poll(10*time.Second, func() string { return checkTopology(c, info, "", true) }); why != "" {
			t.Errorf("after set-controller %s: %s", victim, why)
		}
		if why := undisturbed(); why != "" {
			t.Error(why)
		}
	})
}

// matchAgrees compares a cemon match with the fields ovs-ofctl printed for the
// entry; fields cemon leaves zero are not compared.
func matchAgrees(m api.Match, d map[string]string) string {
	type field struct {
		name, want string
	}
	var fs []field
	if m.DlSrc != "" {
		fs = append(fs, field{"dl_src", m.DlSrc})
	}
	if m.DlDst != "" {
		fs = append(fs, field{"dl_dst", m.DlDst})
	}
	if m.NwSrc != "" {
		fs = append(fs, field{"nw_src", m.NwSrc})
	}
	if m.NwDst != "" {
		fs = append(fs, field{"nw_dst", m.NwDst})
	}
	if m.NwProto == 6 || m.NwProto == 17 {
		fs = append(fs, field{"tp_src", strconv.Itoa(int(m.TpSrc))}, field{"tp_dst", strconv.Itoa(int(m.TpDst))})
	}
	for _, f := range fs {
		if got, ok := d[f.name]; !ok || !strings.EqualFold(got, f.want) {
			return fmt.Sprintf("switch has %s=%q, cemon says %q", f.name, got, f.want)
		}
	}
	return ""
}

// TestE2EFatTree runs cemon against the k=4 fat-tree (20 switches, 32 links, 16
// hosts): discovery, pingall over a topology rich in equal-cost paths and loops,
// and every flow on a shortest path.
func TestE2EFatTree(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // includes waiting for the Mininet lock
	t.Cleanup(cancel)
	e := startEnv(t, ctx, "fattree,4")
	c, h, info := e.c, e.h, e.h.Info
	if len(info.Switches) != 20 || len(info.Links) != 64 || len(info.Hosts) != 16 {
		t.Fatalf("fat-tree came up with %d switches, %d directed links, %d hosts; want 20, 64, 16",
			len(info.Switches), len(info.Links), len(info.Hosts))
	}
	e.waitTopology(t, info)
	e.note("pingall")
	start := time.Now()
	res, err := h.PingAll(pingTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 240 || res.Received != res.Sent {
		t.Errorf("pingall: %d of %d received; lost %v", res.Received, res.Sent, res.Lost)
	}
	if why := poll(10*time.Second, func() string { return checkTopology(c, info, "", true) }); why != "" {
		t.Error(why)
	}
	var fs []api.Flow
	if err := c.Get("/api/v1/flows", &fs); err != nil {
		t.Fatal(err)
	}
	g := newGraph(info)
	for _, f := range fs {
		if why := g.checkPath(f); why != "" {
			t.Errorf("flow %d (%s, %+v): %s", f.ID, f.Cookie, f.Match, why)
		}
	}
	if len(fs) < res.Received {
		t.Errorf("cemon lists %d flows after %d answered pings", len(fs), res.Received)
	}
	t.Logf("%d pings answered in %.1fs, %d flows listed", res.Received, time.Since(start).Seconds(), len(fs))
}
