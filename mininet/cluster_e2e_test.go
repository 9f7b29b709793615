package mininet

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/cluster"
	"github.com/cemon-sdn/cemon/cluster/etcdtest"
)

// ovsRoles returns, for each switch, the controller targets Open vSwitch holds it
// in the master role for (its own record of the Nicira role requests).
func ovsRoles(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("ovs-vsctl", "--timeout=10", "--format=json", "--columns=name,controller", "list", "Bridge").Output()
	require.NoError(t, err)
	var br struct{ Data [][]json.RawMessage }
	require.NoError(t, json.Unmarshal(out, &br))
	out, err = exec.Command("ovs-vsctl", "--timeout=10", "--format=json", "--columns=_uuid,target,role", "list", "Controller").Output()
	require.NoError(t, err)
	var cs struct{ Data [][]json.RawMessage }
	require.NoError(t, json.Unmarshal(out, &cs))
	type ctl struct{ target, role string }
	byUUID := map[string]ctl{}
	for _, row := range cs.Data {
		var u []string
		_ = json.Unmarshal(row[0], &u)
		var target, role string
		_ = json.Unmarshal(row[1], &target)
		if json.Unmarshal(row[2], &role) != nil {
			role = "" // ["set",[]]: not connected
		}
		if len(u) == 2 {
			byUUID[u[1]] = ctl{target, role}
		}
	}
	res := map[string][]string{}
	for _, row := range br.Data {
		var name string
		_ = json.Unmarshal(row[0], &name)
		var ref []json.RawMessage
		_ = json.Unmarshal(row[1], &ref)
		var uuids []string
		if len(ref) == 2 {
			var kind string
			_ = json.Unmarshal(ref[0], &kind)
			if kind == "uuid" {
				var u string
				_ = json.Unmarshal(ref[1], &u)
				uuids = append(uuids, u)
			} else {
				var set [][]string
				_ = json.Unmarshal(ref[1], &set)
				for _, s := range set {
					uuids = append(uuids, s[1])
				}
			}
		}
		res[name] = nil
		for _, u := range uuids {
			if c := byUUID[u]; c.role == "master" || c.role == "primary" {
				res[name] = append(res[name], c.target)
			}
		}
	}
	return res
}

// TestE2ECluster runs three cemon instances on one three-member etcd (embedded in
// the test) and a linear network of six switches, each connected to all three
// instances; instance a sits at s1-s2, b at s3-s4, c at s5-s6 (-cluster-hops):
//   - every switch has exactly one master, by Open vSwitch's own account, and it is
//     the nearest instance; pingall passes, flows crossing masters included;
//   - kill -9 of b under a ping every 100 ms from h1 to h6 (over b's switches): s3
//     and s4 get a new master within 5 s (lease TTL 2 s), the established flow loses
//     no packet, and the other instances' API lists two members and a master for
//     every switch.
func TestE2ECluster(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	bin := cemonBin(t)
	etcd := etcdtest.Start(t, 3)
	eps := strings.Join(etcd.Endpoints(), ",")
	near := map[string]int{"a": 1, "b": 3, "c": 5} // the first switch of each instance's pair
	cem := map[string]*Cemon{}
	for _, id := range []string{"a", "b", "c"} {
		var hops []string
		for d := 1; d <= 6; d++ {
			// Hops from the instance's pair of switches.
			dist := max(0, near[id]-d, d-near[id]-1)
			hops = append(hops, fmt.Sprintf("%x=%d", d, dist+1))
		}
		c, err := StartCemon(ctx, CemonOptions{Bin: bin, Args: []string{"--idle-timeout", "10s",
			"--cluster-endpoints", eps, "--instance-id", id, "--cluster-hops", strings.Join(hops, ","),
			"--log-level", "debug"},
			Stdout: logFile(t, id+".stdout"), Stderr: logFile(t, id+".stderr")})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Stop() })
		cem[id] = c
	}
	hlog := logFile(t, "harness.stderr")
	h, err := StartHarness(ctx, HarnessOptions{Topo: "linear,6", Controller: cem["a"].OFAddr, Stderr: hlog})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	})
	target := map[string]string{}
	for id, c := range cem {
		target["tcp:"+c.OFAddr] = id
	}
	var sws []string
	for _, s := range h.Info.Switches {
		sws = append(sws, s.Name)
		out, err := exec.Command("ovs-vsctl", "--timeout=10", "set-controller", s.Name,
			"tcp:"+cem["a"].OFAddr, "tcp:"+cem["b"].OFAddr, "tcp:"+cem["c"].OFAddr).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	slices.Sort(sws)
	want := map[string]string{"s1": "a", "s2": "a", "s3": "b", "s4": "b", "s5": "c", "s6": "c"}
	mastersNow := func() map[string]string {
		got := map[string]string{}
		for sw, ts := range ovsRoles(t) {
			if len(ts) == 1 {
				got[sw] = target[ts[0]]
			} else if len(ts) > 1 {
				got[sw] = "several"
			}
		}
		return got
	}
	start := time.Now()
	require.Eventually(t, func() bool { return maps.Equal(mastersNow(), want) }, 30*time.Second, 100*time.Millisecond,
		"one master per switch, the nearest: %v", mastersNow())
	t.Logf("every switch mastered by its nearest instance %v after the controllers were set", time.Since(start).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // links discovered and shared
	res, err := h.PingAll(2 * time.Second)
	require.NoError(t, err)
	require.Empty(t, res.Lost, "pingall: %+v", res)

	// One view from any instance: c's matrix holds cells of a's flows, merged from
	// every instance; c's own does not.
	start = time.Now()
	var hdr http.Header
	var cells []api.MatrixEntry
	// h1 and h2 are on a's switches s1 and s2: a owns the flows they send.
	fromA := func(e api.MatrixEntry) bool { return (e.Src == "10.0.0.1" || e.Src == "10.0.0.2") && e.Flows > 0 }
	seen := assert.Eventually(t, func() bool {
		cells = nil
		hdr = getWithHeader(t, cem["c"], "/api/v1/stats/matrix", &cells)
		return hdr != nil && hdr.Get("X-Cemon-Instances") == "c,a,b" && slices.ContainsFunc(cells, fromA)
	}, 10*time.Second, 200*time.Millisecond, "c's whole-network matrix (from c, a and b) has a cell of a's flows")
	if !seen {
		t.Fatalf("last answer: %v %+v", hdr, cells)
	}
	assert.Empty(t, hdr.Get("X-Cemon-Partial"))
	var local []api.MatrixEntry
	require.NotNil(t, getWithHeader(t, cem["c"], "/api/v1/stats/matrix?scope=local", &local))
	assert.False(t, slices.ContainsFunc(local, fromA), "c owns no flow from h1 or h2: %+v", local)
	// A flow of a's, in detail from c (fetched from its owner).
	var aFlows []api.FlowStats
	require.NoError(t, cem["a"].Get("/api/v1/stats/flows?state=active", &aFlows))
	require.NotEmpty(t, aFlows)
	var fromC api.FlowStats
	hdr = getWithHeader(t, cem["c"], fmt.Sprintf("/api/v1/stats/flows/%d", aFlows[0].ID), &fromC)
	require.NotNil(t, hdr)
	assert.Equal(t, "a", hdr.Get("X-Cemon-Owner"))
	assert.Equal(t, aFlows[0].ID, fromC.ID)
	t.Logf("whole-network matrix and a's flow detail from c (%v)", time.Since(start).Round(time.Millisecond))

	// kill -9 of b under a ping from h1 to h6 every 100 ms.
	pingDone := make(chan string, 1)
	go func() {
		out, _ := h.HostCmd("h1", "ping -i 0.1 -c 100 10.0.0.6", 30*time.Second)
		pingDone <- out
	}()
	time.Sleep(2 * time.Second)
	killed := time.Now()
	require.NoError(t, cem["b"].Kill())
	// Re-mastered when a live instance holds the master role the switch granted it
	// (its NXT_ROLE_REPLY), by the instances' own API.
	granted := func() map[string]string {
		out := map[string]string{}
		for _, id := range []string{"a", "c"} {
			var st api.ClusterStatus
			if err := cem[id].Get("/api/v1/cluster", &st); err != nil {
				continue
			}
			for _, d := range st.Mastered {
				out[d] = id
			}
		}
		return out
	}
	var took, tookOVS time.Duration
	require.Eventually(t, func() bool {
		g := granted()
		if g["0000000000000003"] != "" && g["0000000000000004"] != "" {
			took = time.Since(killed)
			return true
		}
		return false
	}, 15*time.Second, 50*time.Millisecond, "s3 and s4 re-mastered: %v", granted())
	require.Eventually(t, func() bool {
		m := mastersNow()
		ok := m["s3"] != "" && m["s3"] != "b" && m["s3"] != "several" && m["s4"] != "" && m["s4"] != "b" && m["s4"] != "several"
		if ok {
			tookOVS = time.Since(killed)
		}
		return ok
	}, 15*time.Second, 50*time.Millisecond, "s3 and s4 re-mastered in Open vSwitch's records: %v", mastersNow())
	t.Logf("b's switches re-mastered %v after kill -9 (granted by the switches; lease TTL 2 s, cluster interval 250 ms); "+
		"Open vSwitch's database shows it after %v: %v", took.Round(time.Millisecond), tookOVS.Round(time.Millisecond), mastersNow())
	assert.Less(t, took, 5*time.Second)
	var st api.ClusterStatus
	require.NoError(t, cem["a"].Get("/api/v1/cluster", &st))
	assert.Len(t, st.Members, 2)
	assert.Len(t, st.Masters, 6)
	out := <-pingDone
	m := pingSummary.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	t.Logf("ping h1 -> h6 across the kill: %s transmitted, %s received", m[1], m[2])
	assert.Equal(t, m[1], m[2], "no packet of the established flow lost")
	res, err = h.PingAll(2 * time.Second)
	require.NoError(t, err)
	assert.Empty(t, res.Lost, "pingall after the kill: %+v", res)
}

// clusterHops is instance id's distance to switch d of linear,6 (a at s1-s2, b at
// s3-s4, c at s5-s6), as -cluster-hops gives it.
func clusterHops(id string, d int) int {
	near := map[string]int{"a": 1, "b": 3, "c": 5}[id]
	return max(0, near-d, d-near-1) + 1
}

func hopsFlag(id string) string {
	var hops []string
	for d := 1; d <= 6; d++ {
		hops = append(hops, fmt.Sprintf("%x=%d", d, clusterHops(id, d)))
	}
	return strings.Join(hops, ",")
}

// pollingPhase runs the same ping traffic on linear,6 under the given instances and
// returns the flow-statistics bytes on the wire (tshark), weighted by the hops
// between each switch and the instance that polled it, and unweighted. In a cluster,
// extra are more flags of every instance, and each instance must poll by the scheme
// -cluster-scheme names (global: the leader's, by default) during the capture.
func pollingPhase(t *testing.T, ctx context.Context, bin string, ids []string, eps string, extra ...string) (weighted, raw int64) {
	t.Helper()
	cem := map[string]*Cemon{}
	var ports []string
	for _, id := range ids {
		args := []string{"--idle-timeout", "10s", "--deployment", "in-band", "--poll-interval", "1s"}
		if eps != "" {
			args = append(args, "--cluster-endpoints", eps, "--instance-id", id, "--cluster-hops", hopsFlag(id))
			args = append(args, extra...)
		} else {
			args = append(args, "--controller-dpid", "1")
		}
		c, err := StartCemon(ctx, CemonOptions{Bin: bin, Args: args,
			Stdout: logFile(t, id+"-cost.stdout"), Stderr: logFile(t, id+"-cost.stderr")})
		require.NoError(t, err)
		cem[id] = c
		_, port, _ := strings.Cut(c.OFAddr, ":")
		ports = append(ports, port)
	}
	defer func() {
		start := time.Now()
		for id, c := range cem {
			assert.NoError(t, c.Stop(), "instance %s", id)
		}
		t.Logf("instances stopped in %v", time.Since(start).Round(time.Millisecond))
	}()
	h, err := StartHarness(ctx, HarnessOptions{Topo: "linear,6", Controller: cem[ids[0]].OFAddr, Stderr: logFile(t, "harness-cost.stderr")})
	require.NoError(t, err)
	defer func() {
		start := time.Now()
		_ = h.Close()
		t.Logf("network torn down in %v", time.Since(start).Round(time.Millisecond))
	}()
	if len(ids) > 1 {
		for _, s := range h.Info.Switches {
			targets := []string{"set-controller", s.Name}
			for _, id := range ids {
				targets = append(targets, "tcp:"+cem[id].OFAddr)
			}
			out, err := exec.Command("ovs-vsctl", append([]string{"--timeout=10"}, targets...)...).CombinedOutput()
			require.NoError(t, err, "%s", out)
		}
	}
	require.NoError(t, h.WaitConnected(30*time.Second))
	time.Sleep(3 * time.Second) // masters set, links discovered
	res, err := h.PingAll(2 * time.Second)
	require.NoError(t, err)
	require.Empty(t, res.Lost)
	pairs := [][2]string{{"h1", "10.0.0.6"}, {"h2", "10.0.0.5"}, {"h3", "10.0.0.4"}, {"h6", "10.0.0.1"}, {"h5", "10.0.0.2"}, {"h4", "10.0.0.1"}}
	// In the background: the harness runs one command at a time.
	for _, p := range pairs {
		_, err := h.HostCmd(p[0], "ping -q -i 0.2 -c 90 "+p[1]+" >/dev/null 2>&1 &", 10*time.Second)
		require.NoError(t, err)
	}
	time.Sleep(4 * time.Second)
	if eps != "" {
		want := "global"
		if slices.Contains(extra, "local") {
			want = "local"
		}
		require.Eventually(t, func() bool {
			for _, id := range ids {
				var st api.ClusterStatus
				if err := cem[id].Get("/api/v1/cluster", &st); err != nil || st.Polling != want {
					return false
				}
			}
			return true
		}, 15*time.Second, 200*time.Millisecond, "every instance polls by the %s scheme", want)
		var st api.ClusterStatus
		require.NoError(t, cem[ids[0]].Get("/api/v1/cluster", &st))
		t.Logf("polling by the %s scheme: revision %d (published %d, %d B a round by the cost model)", st.Polling,
			st.SchemeRevision, st.PublishedScheme, st.SchemeCost)
	}
	file := filepath.Join(t.TempDir(), "cost.pcap")
	// (startCapture's filter is "tcp port " + its argument: every instance's port.)
	stop := startCapture(t, ctx, strings.Join(ports, " or tcp port "), file)
	time.Sleep(10 * time.Second)
	stop()
	// Each switch connection's address on the instance's side names its switch.
	conn := map[string]struct {
		id   string
		dpid int
	}{}
	for id, c := range cem {
		var sws []api.Switch
		require.NoError(t, c.Get("/api/v1/switches", &sws))
		_, cport, _ := strings.Cut(c.OFAddr, ":")
		for _, s := range sws {
			_, sport, _ := strings.Cut(s.Address, ":")
			var d int
			fmt.Sscanf(s.DPID, "%x", &d)
			conn[cport+"/"+sport] = struct {
				id   string
				dpid int
			}{id, d}
		}
	}
	var decode []string
	for _, p := range ports {
		decode = append(decode, "-d", "tcp.port=="+p+",openflow")
	}
	args := append([]string{"-r", file}, decode...)
	args = append(args, "-Y", "openflow_1_0.type == 16 || openflow_1_0.type == 17", "-T", "fields",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "frame.len")
	out, err := exec.Command("tshark", args...).Output()
	require.NoError(t, err)
	perSwitch := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		var n int64
		fmt.Sscanf(f[2], "%d", &n)
		k, ok := conn[f[0]+"/"+f[1]]
		if !ok {
			k, ok = conn[f[1]+"/"+f[0]]
		}
		if !ok {
			continue
		}
		hop := clusterHops("a", k.dpid) // a single instance sits where a does
		if len(ids) > 1 {
			hop = clusterHops(k.id, k.dpid)
		}
		weighted += n * int64(hop)
		raw += n
		perSwitch[fmt.Sprintf("%s/s%d", k.id, k.dpid)] += n
	}
	t.Logf("%d instance(s): statistics bytes by instance/switch over 10 s: %v", len(ids), perSwitch)
	return weighted, raw
}

// TestE2EClusterPollingCost: the same ping traffic on linear,6 polled by one instance
// at s1 and by three instances (a at s1-s2, b at s3-s4, c at s5-s6), each switch
// connected to all three: the statistics bytes captured on the control channels,
// weighted by the hops between each switch and the instance that polled it, are
// lower with three, each polling the switches it masters.
func TestE2EClusterPollingCost(t *testing.T) {
	skipUnlessE2E(t)
	if m := missingTools("tshark"); len(m) > 0 {
		t.Skip("needs tshark")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	bin := cemonBin(t)
	single, singleRaw := pollingPhase(t, ctx, bin, []string{"a"}, "")
	etcd := etcdtest.Start(t, 3)
	three, threeRaw := pollingPhase(t, ctx, bin, []string{"a", "b", "c"}, strings.Join(etcd.Endpoints(), ","))
	t.Logf("flow statistics on the wire over 10 s, weighted by hops (unweighted): one instance %d B (%d B), three instances %d B (%d B): %.1f %% less",
		single, singleRaw, three, threeRaw, 100*(1-float64(three)/float64(single)))
	require.Positive(t, single)
	require.Positive(t, three)
	assert.Less(t, three, single)
}

// TestE2EClusterAbilene: three instances on Abilene (11 switches), placed at three
// switches far apart, each switch connected to all three, distances the hop counts of
// the network: every switch gets exactly the master cluster.Assign computes (the
// nearest instance, balanced), pingall passes, and after kill -9 of one instance its
// switches are re-mastered within 5 s while a ping from a host on one of its switches
// (a flow it owned, adopted by the new master) loses nothing.
func TestE2EClusterAbilene(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	bin := cemonBin(t)
	etcd := etcdtest.Start(t, 3)
	ids := []string{"a", "b", "c"}
	ofAddr := map[string]string{}
	for _, id := range ids {
		p, err := FreePort()
		require.NoError(t, err)
		ofAddr[id] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	h, err := StartHarness(ctx, HarnessOptions{Topo: "abilene", Controller: ofAddr["a"], Stderr: logFile(t, "harness.stderr")})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	})
	// Hop counts between switches, from the network's links.
	adj := map[uint64][]uint64{}
	var all []uint64
	for _, s := range h.Info.Switches {
		var d uint64
		fmt.Sscanf(s.DPID, "%x", &d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, l := range h.Info.Links {
		var a, b uint64
		fmt.Sscanf(l.SrcDPID, "%x", &a)
		fmt.Sscanf(l.DstDPID, "%x", &b)
		adj[a] = append(adj[a], b)
	}
	bfs := func(from uint64) map[uint64]int {
		dist := map[uint64]int{from: 0}
		q := []uint64{from}
		for len(q) > 0 {
			x := q[0]
			q = q[1:]
			for _, y := range adj[x] {
				if _, ok := dist[y]; !ok {
					dist[y] = dist[x] + 1
					q = append(q, y)
				}
			}
		}
		return dist
	}
	// Place a at the first switch, b at the switch farthest from it, c farthest from both.
	at := map[string]uint64{"a": all[0]}
	farthest := func(from ...uint64) uint64 {
		best, bestD := all[0], -1
		for _, d := range all {
			m := 1 << 30
			for _, f := range from {
				m = min(m, bfs(f)[d])
			}
			if m > bestD {
				best, bestD = d, m
			}
		}
		return best
	}
	at["b"] = farthest(at["a"])
	at["c"] = farthest(at["a"], at["b"])
	var cands []cluster.Candidate
	cem := map[string]*Cemon{}
	for _, id := range ids {
		dist := bfs(at[id])
		hops := map[uint64]int{}
		var flag []string
		for _, d := range all {
			hops[d] = dist[d] + 1
			flag = append(flag, fmt.Sprintf("%x=%d", d, dist[d]+1))
		}
		cands = append(cands, cluster.Candidate{ID: id, Hops: hops})
		c, err := StartCemon(ctx, CemonOptions{Bin: bin, OFAddr: ofAddr[id], Args: []string{"--idle-timeout", "10s",
			"--cluster-endpoints", strings.Join(etcd.Endpoints(), ","), "--instance-id", id,
			"--cluster-hops", strings.Join(flag, ",")},
			Stdout: logFile(t, id+".stdout"), Stderr: logFile(t, id+".stderr")})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Stop() })
		cem[id] = c
	}
	// The live assignment is the nearest instance, balanced, with ties kept by the
	// current master: a fixed point of cluster.Assign given itself as the masters.
	settled := func(g map[string]string) bool {
		if len(g) != len(all) {
			return false
		}
		prev := map[uint64]string{}
		for k, id := range g {
			var d uint64
			fmt.Sscanf(k, "%x", &d)
			prev[d] = id
		}
		again := map[string]string{}
		for d, id := range cluster.Assign(cands, prev) {
			again[fmt.Sprintf("%016x", d)] = id
		}
		return maps.Equal(again, g)
	}
	for _, s := range h.Info.Switches {
		out, err := exec.Command("ovs-vsctl", "--timeout=10", "set-controller", s.Name,
			"tcp:"+ofAddr["a"], "tcp:"+ofAddr["b"], "tcp:"+ofAddr["c"]).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	granted := func(from ...string) map[string]string {
		out := map[string]string{}
		for _, id := range from {
			var st api.ClusterStatus
			if err := cem[id].Get("/api/v1/cluster", &st); err != nil {
				continue
			}
			for _, d := range st.Mastered {
				if _, dup := out[d]; dup {
					out[d] = "several"
					continue
				}
				out[d] = id
			}
		}
		return out
	}
	var want map[string]string
	require.Eventually(t, func() bool {
		want = granted(ids...)
		return settled(want)
	}, 40*time.Second, 100*time.Millisecond, "every switch granted to one master, the nearest: %v", granted(ids...))
	t.Logf("instances at %016x, %016x, %016x; masters %v", at["a"], at["b"], at["c"], want)
	time.Sleep(3 * time.Second) // links discovered and shared
	res, err := h.PingAll(2 * time.Second)
	require.NoError(t, err)
	require.Empty(t, res.Lost, "pingall: %+v", res)

	// A ping from a host on one of b's switches to a host on one of c's.
	var src, dst HostInfo
	for _, hi := range h.Info.Hosts {
		switch {
		case want[hi.DPID] == "b" && src.Name == "":
			src = hi
		case want[hi.DPID] == "c" && dst.Name == "":
			dst = hi
		}
	}
	require.NotEmpty(t, src.Name)
	require.NotEmpty(t, dst.Name)
	pingDone := make(chan string, 1)
	go func() {
		out, _ := h.HostCmd(src.Name, "ping -i 0.1 -c 100 "+dst.IP, 30*time.Second)
		pingDone <- out
	}()
	time.Sleep(2 * time.Second)
	// The ping's echo-request flow, b's (its ingress is b's switch).
	findFlow := func(c *Cemon) (api.Flow, bool) {
		var fs []api.Flow
		if c.Get("/api/v1/flows?limit=1000", &fs) != nil {
			return api.Flow{}, false
		}
		for _, f := range fs {
			if f.State == "active" && f.Match.NwSrc == src.IP && f.Match.NwDst == dst.IP && f.Match.NwProto == 1 {
				return f, true
			}
		}
		return api.Flow{}, false
	}
	owned, ok := findFlow(cem["b"])
	require.True(t, ok, "b tracks the ping's flow")
	killed := time.Now()
	require.NoError(t, cem["b"].Kill())
	var took time.Duration
	require.Eventually(t, func() bool {
		g := granted("a", "c")
		for d, id := range want {
			if id == "b" && (g[d] == "" || g[d] == "several") {
				return false
			}
		}
		took = time.Since(killed)
		return true
	}, 15*time.Second, 50*time.Millisecond, "b's switches re-mastered: %v", granted("a", "c"))
	t.Logf("b's switches re-mastered %v after kill -9 (lease TTL 2 s, interval 250 ms): %v", took.Round(time.Millisecond), granted("a", "c"))
	assert.Less(t, took, 5*time.Second)
	out := <-pingDone
	m := pingSummary.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	t.Logf("ping %s -> %s (from b's switch) across the kill: %s transmitted, %s received", src.Name, dst.Name, m[1], m[2])
	assert.Equal(t, m[1], m[2], "no packet of the established flow lost")
	var st api.ClusterStatus
	require.NoError(t, cem["c"].Get("/api/v1/cluster", &st))
	assert.Len(t, st.Members, 2)
	assert.Len(t, st.Masters, len(all))

	// The new master of its first switch adopted the flow under its ID, and its byte
	// total goes on from the switch's counter: after the traffic ended, within one poll
	// interval's traffic (10 pings) of the ingress entry's n_bytes.
	heir := cem[granted("a", "c")[src.DPID]]
	adopted, ok := findFlow(heir)
	require.True(t, ok, "the new master tracks the flow")
	assert.Equal(t, owned.ID, adopted.ID)
	assert.Equal(t, owned.Cookie, adopted.Cookie)
	time.Sleep(3 * time.Second) // a reading after the last ping
	dumps, err := h.DumpFlows(src.Switch)
	require.NoError(t, err)
	var ovsBytes uint64
	for _, d := range dumps[src.Switch] {
		if fmt.Sprintf("0x%016x", d.Cookie) == adopted.Cookie {
			ovsBytes = d.NBytes
		}
	}
	require.NotZero(t, ovsBytes, "the ingress entry is still there")
	var fst struct {
		Bytes    uint64 `json:"bytes"`
		Readings int    `json:"readings"`
	}
	require.NoError(t, heir.Get(fmt.Sprintf("/api/v1/stats/flows/%d", adopted.ID), &fst))
	diff := int64(fst.Bytes) - int64(ovsBytes)
	t.Logf("adopted flow %d: %d B by the new master's statistics (%d readings), %d B on the ingress entry", adopted.ID, fst.Bytes, fst.Readings, ovsBytes)
	assert.LessOrEqual(t, max(diff, -diff), int64(10*98), "within one poll interval's traffic of the switch's counter")
}

// getWithHeader GETs path from c's API into out and returns the answer's header, or
// nil when the request failed or did not answer 200.
func getWithHeader(t *testing.T, c *Cemon, path string, out any) http.Header {
	t.Helper()
	cl := http.Client{Timeout: 5 * time.Second}
	res, err := cl.Get("http://" + c.APIAddr + path)
	if err != nil {
		t.Logf("GET %s: %v", path, err)
		return nil
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Logf("GET %s: %s", path, res.Status)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Logf("GET %s: %v", path, err)
		return nil
	}
	return res.Header
}
