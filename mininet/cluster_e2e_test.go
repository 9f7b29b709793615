package mininet

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
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
//   - c's whole-network matrix holds a's flows, and c serves a flow of a's in detail
//     from its owner;
//   - kill -9 of b under ping and iperf3 traffic (killUnderTraffic): s3 and s4 get a
//     new master within 5 s (lease TTL 2 s), no established flow loses a packet or
//     stalls, the other instances' API shows the whole network throughout, and every
//     flow's byte total goes on from the switches' counters.
func TestE2ECluster(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	cem, h, _ := startLinearCluster(t, ctx)
	time.Sleep(2 * time.Second) // links discovered and shared
	res, err := h.PingAll(2 * time.Second)
	require.NoError(t, err)
	require.Empty(t, res.Lost, "pingall: %+v", res)

	// One view from any instance: c's matrix holds cells of a's flows, merged from
	// every instance; c's own does not.
	start := time.Now()
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
	require.NoError(t, cem["a"].Get("/api/v1/stats/flows?state=active&scope=local", &aFlows))
	require.NotEmpty(t, aFlows)
	var fromC api.FlowStats
	hdr = getWithHeader(t, cem["c"], fmt.Sprintf("/api/v1/stats/flows/%d", aFlows[0].ID), &fromC)
	require.NotNil(t, hdr)
	assert.Equal(t, "a", hdr.Get("X-Cemon-Owner"))
	assert.Equal(t, aFlows[0].ID, fromC.ID)
	t.Logf("whole-network matrix and a's flow detail from c (%v)", time.Since(start).Round(time.Millisecond))

	// kill -9 of b under traffic (killUnderTraffic): a ping every 100 ms from h1 to
	// h6 (a's flow over b's switches), iperf3 UDP at 2 Mbit/s from h3 to h6 and TCP
	// at 10 Mbit/s from h4 to h1 (b's flows: their first switch is b's).
	killUnderTraffic(t, h, cem, "b", []string{"a", "c"}, []string{"0000000000000003", "0000000000000004"})
	res, err = h.PingAll(2 * time.Second)
	require.NoError(t, err)
	assert.Empty(t, res.Lost, "pingall after the kill: %+v", res)
}

// killUnderTraffic kills instance victim with -9 four seconds into 14 s of traffic
// on linear,6 (ping h1 -> h6 at 10/s, iperf3 UDP h3 -> h6 at 2 Mbit/s, iperf3 TCP
// h4 -> h1 at 10 Mbit/s reported every 0.5 s) and shows that:
//   - the victim's switches are granted to live instances within 5 s;
//   - the ping loses nothing, the UDP receiver counts no lost datagram, and the TCP
//     transfer moves data in every half second;
//   - the live instances' API shows the whole network throughout (six switches, ten
//     directed links, six hosts and a master for every switch, polled every 250 ms);
//     the victim's UDP and TCP flows never leave the last live instance's federated
//     flow list (served from the cluster's record, marked, until their new masters
//     adopt them; how long is reported);
//   - after the traffic, every active flow's byte total (the federated
//     /api/v1/stats/flows of a live instance) is within one poll interval's traffic
//     of its entry's n_bytes on the switch of its last reading (ovs-ofctl
//     dump-flows).
func killUnderTraffic(t *testing.T, h *Harness, cem map[string]*Cemon, victim string, live, victims []string) {
	t.Helper()
	hostIP := map[string]string{}
	for _, hi := range h.Info.Hosts {
		hostIP[hi.Name] = hi.IP
	}
	work := t.TempDir()
	pingOut, udpOut, tcpOut := filepath.Join(work, "ping.txt"), filepath.Join(work, "udp.json"), filepath.Join(work, "tcp.json")
	cmd := func(host, c string) {
		_, err := h.HostCmd(host, c, 20*time.Second)
		require.NoError(t, err, "%s: %s", host, c)
	}
	cmd("h6", "iperf3 -s -1 -p 5401 -D")
	cmd("h1", "iperf3 -s -1 -p 5402 -D")
	time.Sleep(500 * time.Millisecond)
	cmd("h1", fmt.Sprintf("ping -i 0.1 -c 140 -W 1 %s > %s 2>&1 &", hostIP["h6"], pingOut))
	cmd("h3", fmt.Sprintf("iperf3 -c %s -p 5401 -u -b 2M -l 1000 -t 14 -i 0.5 -J > %s 2>&1 &", hostIP["h6"], udpOut))
	cmd("h4", fmt.Sprintf("iperf3 -c %s -p 5402 -b 10M -t 14 -i 0.5 -J > %s 2>&1 &", hostIP["h1"], tcpOut))
	trafficStart := time.Now()

	// The live instances' API, every 250 ms from before the kill to the end of the
	// traffic: the whole network, and the victim's UDP and TCP flows in the federated
	// list (served live, or from the cluster's record while the victim is silent).
	udpFlow := func(f api.Flow) bool {
		return f.State == "active" && f.Match.NwProto == 17 && f.Match.NwSrc == hostIP["h3"] && f.Match.NwDst == hostIP["h6"]
	}
	tcpFlow := func(f api.Flow) bool {
		return f.State == "active" && f.Match.NwProto == 6 && f.Match.NwSrc == hostIP["h4"] && f.Match.NwDst == hostIP["h1"]
	}
	type view struct {
		at      time.Duration
		id, why string
	}
	// flowView is one sample of the federated flow list of the last live instance.
	type flowView struct {
		at                time.Duration // since the traffic's start
		answered          bool
		udp, tcp          bool // listed
		udpRec, tcpRec    bool // listed from the cluster's record
		recorded, partial string
		maxAge            float64
	}
	var bad []view
	var flowViews []flowView
	polls := 0
	stopPoll := make(chan struct{})
	pollDone := make(chan struct{})
	var killedAt time.Time
	go func() {
		defer close(pollDone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-tick.C:
			}
			at := time.Since(trafficStart)
			for _, id := range live {
				c := cem[id]
				var sws []api.Switch
				var links []api.Link
				var hosts []api.Host
				var st api.ClusterStatus
				var why string
				switch {
				case c.Get("/api/v1/switches", &sws) != nil || len(sws) != 6:
					why = fmt.Sprintf("%d switches", len(sws))
				case c.Get("/api/v1/links", &links) != nil || len(links) != 10:
					why = fmt.Sprintf("%d links", len(links))
				case c.Get("/api/v1/hosts", &hosts) != nil || len(hosts) < 6:
					why = fmt.Sprintf("%d hosts", len(hosts))
				case c.Get("/api/v1/cluster", &st) != nil || len(st.Masters) != 6:
					why = fmt.Sprintf("masters %v", st.Masters)
				}
				polls++
				if why != "" {
					bad = append(bad, view{at, id, why})
				}
			}
			var fs []api.Flow
			at = time.Since(trafficStart)
			hdr := getWithHeader(t, cem[live[len(live)-1]], "/api/v1/flows?state=active", &fs)
			fv := flowView{at: at, answered: hdr != nil}
			if hdr != nil {
				fv.recorded, fv.partial = hdr.Get("X-Cemon-Recorded"), hdr.Get("X-Cemon-Partial")
			}
			for _, f := range fs {
				rec := f.Record != nil && f.Record.Source == api.RecordSource && f.Record.Owner == victim
				if rec && f.Record.AgeSeconds != nil {
					fv.maxAge = max(fv.maxAge, *f.Record.AgeSeconds)
				}
				switch {
				case udpFlow(f):
					fv.udp, fv.udpRec = true, fv.udpRec || rec
				case tcpFlow(f):
					fv.tcp, fv.tcpRec = true, fv.tcpRec || rec
				}
			}
			flowViews = append(flowViews, fv)
		}
	}()

	time.Sleep(4 * time.Second)
	var owned []api.Flow
	require.NoError(t, cem[victim].Get("/api/v1/flows?state=active&scope=local", &owned))
	require.True(t, slices.ContainsFunc(owned, udpFlow), "%s tracks the UDP flow h3 -> h6", victim)
	killedAt = time.Now()
	require.NoError(t, cem[victim].Kill())
	granted := func() map[string]string {
		out := map[string]string{}
		for _, id := range live {
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
	var took time.Duration
	require.Eventually(t, func() bool {
		g := granted()
		for _, d := range victims {
			if g[d] == "" {
				return false
			}
		}
		took = time.Since(killedAt)
		return true
	}, 15*time.Second, 50*time.Millisecond, "%s's switches re-mastered: %v", victim, granted())
	t.Logf("%s's switches re-mastered %v after kill -9 under traffic (granted by the switches; lease TTL 2 s, cluster interval 250 ms, "+
		"etcd heartbeat 100 ms, election 1 s): %v", victim, took.Round(time.Millisecond), granted())
	assert.Less(t, took, 5*time.Second)

	// The traffic's end.
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(pingOut)
		u, _ := os.ReadFile(udpOut)
		c, _ := os.ReadFile(tcpOut)
		return pingSummary.Match(b) && json.Valid(u) && json.Valid(c)
	}, 40*time.Second, 250*time.Millisecond, "ping and iperf3 done")
	close(stopPoll)
	<-pollDone

	b, _ := os.ReadFile(pingOut)
	m := pingSummary.FindSubmatch(b)
	t.Logf("ping h1 -> h6 at 10/s across the kill: %s transmitted, %s received", m[1], m[2])
	assert.Equal(t, "140", string(m[1]))
	assert.Equal(t, string(m[1]), string(m[2]), "no ping lost")
	var udp struct {
		End struct {
			SumSent     struct{ Packets uint64 } `json:"sum_sent"`
			SumReceived struct {
				Packets     uint64 `json:"packets"`
				LostPackets uint64 `json:"lost_packets"`
				Bytes       uint64 `json:"bytes"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	u, _ := os.ReadFile(udpOut)
	require.NoError(t, json.Unmarshal(u, &udp))
	require.Empty(t, udp.Error)
	t.Logf("iperf3 UDP h3 -> h6 at 2 Mbit/s across the kill: %d datagrams sent, the receiver counted %d, %d lost",
		udp.End.SumSent.Packets, udp.End.SumReceived.Packets, udp.End.SumReceived.LostPackets)
	assert.Positive(t, udp.End.SumReceived.Packets)
	assert.Zero(t, udp.End.SumReceived.LostPackets, "no datagram of the established UDP flow lost")
	var tcp struct {
		Intervals []struct {
			Sum struct {
				Start float64 `json:"start"`
				Bytes uint64  `json:"bytes"`
			} `json:"sum"`
		} `json:"intervals"`
		End struct {
			SumReceived struct{ Bytes uint64 } `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	c, _ := os.ReadFile(tcpOut)
	require.NoError(t, json.Unmarshal(c, &tcp))
	require.Empty(t, tcp.Error)
	stalled := 0
	for _, iv := range tcp.Intervals {
		if iv.Sum.Bytes == 0 {
			stalled++
			t.Errorf("TCP h4 -> h1: nothing sent in the 0.5 s from %.1f s", iv.Sum.Start)
		}
	}
	t.Logf("iperf3 TCP h4 -> h1 at 10 Mbit/s across the kill: %d half-second intervals, %d stalled, %d bytes received",
		len(tcp.Intervals), stalled, tcp.End.SumReceived.Bytes)
	assert.GreaterOrEqual(t, len(tcp.Intervals), 26)

	t.Logf("live instances' API polled %d times every 250 ms during the traffic: %d answers short of the whole network %v",
		polls, len(bad), bad)
	assert.Empty(t, bad, "the live instances show the whole network throughout")
	// The victim's flows in the last live instance's federated flow list, from the
	// kill to the end of the traffic: never missing; served from the cluster's
	// record (marked) until their new masters adopt them.
	kill := killedAt.Sub(trafficStart)
	var after, missing, fromRecord int
	var firstRec, lastRec time.Duration = -1, -1
	var maxAge float64
	var recHdr []string
	var trace strings.Builder // per poll after the kill: U/T live, u/t from the record, - missing
	for _, fv := range flowViews {
		if fv.at < kill {
			continue
		}
		after++
		for _, x := range []struct {
			listed, rec bool
			c           string
		}{{fv.udp, fv.udpRec, "U"}, {fv.tcp, fv.tcpRec, "T"}} {
			switch {
			case !x.listed:
				trace.WriteString("-")
			case x.rec:
				trace.WriteString(strings.ToLower(x.c))
			default:
				trace.WriteString(x.c)
			}
		}
		trace.WriteString(" ")
		if !fv.answered || !fv.udp || !fv.tcp {
			missing++
			t.Errorf("%.2f s after the kill: %s's federated flow list answered %v, UDP flow listed %v, TCP flow listed %v (X-Cemon-Partial %q)",
				(fv.at - kill).Seconds(), live[len(live)-1], fv.answered, fv.udp, fv.tcp, fv.partial)
		}
		if fv.udpRec || fv.tcpRec {
			fromRecord++
			if firstRec < 0 {
				firstRec = fv.at - kill
			}
			lastRec = fv.at - kill
			maxAge = max(maxAge, fv.maxAge)
			if fv.recorded != "" && !slices.Contains(recHdr, fv.recorded) {
				recHdr = append(recHdr, fv.recorded)
			}
		}
	}
	t.Logf("%s's UDP and TCP flows in %s's federated flow list in %d polls after the kill: missing in %d; served from the cluster's "+
		"record in %d (%.2f-%.2f s after the kill, record age up to %.2f s, X-Cemon-Recorded %v), live otherwise; "+
		"by poll (U/T live, u/t from the record, - missing): %s",
		victim, live[len(live)-1], after, missing, fromRecord, firstRec.Seconds(), lastRec.Seconds(), maxAge, recHdr, trace.String())
	assert.Positive(t, after)
	assert.Zero(t, missing, "the victim's flows never disappear from the federated flow list")

	// Byte totals against the switches' counters, after a reading past the traffic.
	time.Sleep(2500 * time.Millisecond)
	dumps, err := h.DumpFlows()
	require.NoError(t, err)
	byDPID := map[string]string{}
	for _, s := range h.Info.Switches {
		byDPID[s.DPID] = s.Name
	}
	var flows []api.Flow
	var stats []api.FlowStats
	require.NotNil(t, getWithHeader(t, cem[live[0]], "/api/v1/flows?state=active", &flows))
	require.NotNil(t, getWithHeader(t, cem[live[0]], "/api/v1/stats/flows?state=active", &stats))
	cookie := map[uint64]string{}
	for _, f := range flows {
		cookie[f.ID] = f.Cookie
	}
	checked, traffic := 0, 0
	for _, fs := range stats {
		var n *FlowDump
		for i, d := range dumps[byDPID[fs.DPID]] {
			if fmt.Sprintf("0x%016x", d.Cookie) == cookie[fs.ID] {
				n = &dumps[byDPID[fs.DPID]][i]
			}
		}
		if n == nil || fs.Readings == 0 {
			continue // its entries idled out, or never read
		}
		checked++
		// One poll interval's (1 s) traffic at the flow's average rate, at least a
		// full-size frame.
		tol := int64(1514)
		if n.Duration > 0 {
			tol = max(tol, int64(float64(n.NBytes)/n.Duration))
		}
		diff := int64(fs.Bytes) - int64(n.NBytes)
		if n.NBytes > 100_000 {
			traffic++
			t.Logf("flow %d %s -> %s: %d B by the statistics (%d readings, last at %s), %d B on the entry (tolerance %d B)",
				fs.ID, fs.Src, fs.Dst, fs.Bytes, fs.Readings, fs.DPID, n.NBytes, tol)
		}
		assert.LessOrEqual(t, max(diff, -diff), tol, "flow %d %s -> %s: %d B by the statistics, %d B on %s's entry",
			fs.ID, fs.Src, fs.Dst, fs.Bytes, n.NBytes, fs.DPID)
	}
	t.Logf("byte totals of %d active flows checked against the switches' counters (%d carrying the iperf3 traffic)", checked, traffic)
	assert.GreaterOrEqual(t, traffic, 2, "the UDP and TCP transfers' flows are among them")
}

// startLinearCluster starts three cemon instances on a three-member embedded etcd
// and linear,6 with every switch connected to all three (a at s1-s2, b at s3-s4, c
// at s5-s6), and waits until Open vSwitch holds each switch in the master role for
// its nearest instance.
func startLinearCluster(t *testing.T, ctx context.Context) (map[string]*Cemon, *Harness, *etcdtest.Cluster) {
	t.Helper()
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
	return cem, h, etcd
}

// clusterHops is instance id's distance to switch d of linear,6 (a at s1-s2, b at
// s3-s4, c at s5-s6), as -cluster-hops gives it.
func clusterHops(id string, d int) int {
	near := map[string]int{"a": 1, "b": 3, "c": 5}[id]
	return max(0, near-d, d-near-1) + 1
}

// costNet is a polling-cost comparison's network: the topology, each instance's
// distance in hops to every switch (one instance sits where the first does), and
// the ping pairs (source host, destination IP).
type costNet struct {
	topo  string
	hops  func(h *Harness, ids []string) map[string]map[uint64]int
	pairs func(h *Harness) [][2]string
}

// linearCost is linear,6 with a at s1-s2, b at s3-s4, c at s5-s6.
var linearCost = costNet{topo: "linear,6",
	hops: func(_ *Harness, ids []string) map[string]map[uint64]int {
		out := map[string]map[uint64]int{}
		for _, id := range ids {
			out[id] = map[uint64]int{}
			for d := 1; d <= 6; d++ {
				out[id][uint64(d)] = clusterHops(id, d)
			}
		}
		return out
	},
	pairs: func(*Harness) [][2]string {
		return [][2]string{{"h1", "10.0.0.6"}, {"h2", "10.0.0.5"}, {"h3", "10.0.0.4"}, {"h6", "10.0.0.1"}, {"h5", "10.0.0.2"}, {"h4", "10.0.0.1"}}
	}}

// abileneCost is Abilene with the instances spread out (spreadInstances) and six
// pings between hosts half the host list apart.
var abileneCost = costNet{topo: "abilene",
	hops: func(h *Harness, ids []string) map[string]map[uint64]int {
		_, _, hops := spreadInstances(h, []string{"a", "b", "c"})
		out := map[string]map[uint64]int{}
		for _, id := range ids {
			out[id] = hops[id]
		}
		return out
	},
	pairs: func(h *Harness) [][2]string {
		hs := slices.Clone(h.Info.Hosts)
		slices.SortFunc(hs, func(x, y HostInfo) int { return strings.Compare(x.Name, y.Name) })
		var out [][2]string
		for i := range 6 {
			out = append(out, [2]string{hs[i].Name, hs[(i+len(hs)/2)%len(hs)].IP})
		}
		return out
	}}

// pollingPhase runs the same ping traffic on n's network under the given instances
// and returns the flow-statistics bytes on the wire (tshark), weighted by the hops
// between each switch and the instance that polled it, and unweighted. In a cluster,
// extra are more flags of every instance, and each instance must poll by the scheme
// -cluster-scheme names (global: the leader's, by default) during the capture.
func pollingPhase(t *testing.T, ctx context.Context, bin string, n costNet, ids []string, eps string, extra ...string) (weighted, raw int64) {
	t.Helper()
	ofAddr := map[string]string{}
	var ports []string
	for _, id := range ids {
		p, err := FreePort()
		require.NoError(t, err)
		ofAddr[id] = fmt.Sprintf("127.0.0.1:%d", p)
		ports = append(ports, fmt.Sprint(p))
	}
	h, err := StartHarness(ctx, HarnessOptions{Topo: n.topo, Controller: ofAddr[ids[0]], Stderr: logFile(t, "harness-cost.stderr")})
	require.NoError(t, err)
	defer func() {
		start := time.Now()
		_ = h.Close()
		t.Logf("network torn down in %v", time.Since(start).Round(time.Millisecond))
	}()
	hops := n.hops(h, ids)
	cem := map[string]*Cemon{}
	defer func() {
		start := time.Now()
		for id, c := range cem {
			assert.NoError(t, c.Stop(), "instance %s", id)
		}
		t.Logf("instances stopped in %v", time.Since(start).Round(time.Millisecond))
	}()
	for _, id := range ids {
		args := []string{"--idle-timeout", "10s", "--deployment", "in-band", "--poll-interval", "1s"}
		if eps != "" {
			args = append(args, "--cluster-endpoints", eps, "--instance-id", id, "--cluster-hops", hopsArg(hops[id]))
			args = append(args, extra...)
		} else {
			// A single instance sits where the first does.
			var at uint64
			for d, n := range hops[id] {
				if n == 1 && (at == 0 || d < at) {
					at = d
				}
			}
			args = append(args, "--controller-dpid", fmt.Sprintf("%x", at))
		}
		c, err := StartCemon(ctx, CemonOptions{Bin: bin, OFAddr: ofAddr[id], Args: args,
			Stdout: logFile(t, id+"-cost.stdout"), Stderr: logFile(t, id+"-cost.stderr")})
		require.NoError(t, err)
		cem[id] = c
	}
	if len(ids) > 1 {
		for _, s := range h.Info.Switches {
			targets := []string{"set-controller", s.Name}
			for _, id := range ids {
				targets = append(targets, "tcp:"+ofAddr[id])
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
	// In the background: the harness runs one command at a time.
	for _, p := range n.pairs(h) {
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
		dpid uint64
	}{}
	for id, c := range cem {
		var sws []api.Switch
		require.NoError(t, c.Get("/api/v1/switches", &sws))
		_, cport, _ := strings.Cut(c.OFAddr, ":")
		for _, s := range sws {
			_, sport, _ := strings.Cut(s.Address, ":")
			var d uint64
			fmt.Sscanf(s.DPID, "%x", &d)
			conn[cport+"/"+sport] = struct {
				id   string
				dpid uint64
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
		var b int64
		fmt.Sscanf(f[2], "%d", &b)
		k, ok := conn[f[0]+"/"+f[1]]
		if !ok {
			k, ok = conn[f[1]+"/"+f[0]]
		}
		if !ok {
			continue
		}
		weighted += b * int64(hops[k.id][k.dpid])
		raw += b
		perSwitch[fmt.Sprintf("%s/s%d", k.id, k.dpid)] += b
	}
	t.Logf("%s, %d instance(s): statistics bytes by instance/switch over 10 s: %v", n.topo, len(ids), perSwitch)
	return weighted, raw
}

// TestE2EClusterPollingCost: the same ping traffic polled by one instance and by
// three, each switch connected to all three, first on linear,6 (one instance at s1;
// three at s1-s2, s3-s4, s5-s6), then on Abilene (three spread out, spreadInstances;
// one where the first of them is): the statistics bytes captured on the control
// channels, weighted by the configured hops between each switch and the instance
// that polled it, are lower with three, each polling the switches it masters.
func TestE2EClusterPollingCost(t *testing.T) {
	skipUnlessE2E(t)
	if m := missingTools("tshark"); len(m) > 0 {
		t.Skip("needs tshark")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	bin := cemonBin(t)
	for _, n := range []costNet{linearCost, abileneCost} {
		single, singleRaw := pollingPhase(t, ctx, bin, n, []string{"a"}, "")
		// A new etcd for each network: nothing of the other's flows and masters.
		etcd := etcdtest.Start(t, 3)
		three, threeRaw := pollingPhase(t, ctx, bin, n, []string{"a", "b", "c"}, strings.Join(etcd.Endpoints(), ","))
		t.Logf("%s: flow statistics on the wire over 10 s, weighted by hops (unweighted): one instance %d B (%d B), three instances %d B (%d B): %.1f %% less",
			n.topo, single, singleRaw, three, threeRaw, 100*(1-float64(three)/float64(single)))
		require.Positive(t, single)
		require.Positive(t, three)
		assert.Less(t, three, single, n.topo)
		etcd.Close()
	}
}

// spreadInstances places instances on the harness's network far apart: the first
// at the lowest dpid, each next at the switch farthest from those placed. It returns
// the dpids in order, each instance's switch, and each instance's distance to every
// switch in hops as -cluster-hops counts them (the switch it sits at is 1).
func spreadInstances(h *Harness, ids []string) ([]uint64, map[string]uint64, map[string]map[uint64]int) {
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
	at := map[string]uint64{}
	var placed []uint64
	for i, id := range ids {
		best, bestD := all[0], -1
		for _, d := range all {
			if i == 0 {
				break
			}
			m := 1 << 30
			for _, f := range placed {
				m = min(m, bfs(f)[d])
			}
			if m > bestD {
				best, bestD = d, m
			}
		}
		at[id] = best
		placed = append(placed, best)
	}
	hops := map[string]map[uint64]int{}
	for _, id := range ids {
		dist := bfs(at[id])
		hops[id] = map[uint64]int{}
		for _, d := range all {
			hops[id][d] = dist[d] + 1
		}
	}
	return all, at, hops
}

// hopsArg is the -cluster-hops flag for distances by dpid.
func hopsArg(hops map[uint64]int) string {
	var flag []string
	for _, d := range slices.Sorted(maps.Keys(hops)) {
		flag = append(flag, fmt.Sprintf("%x=%d", d, hops[d]))
	}
	return strings.Join(flag, ",")
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
	all, at, hops := spreadInstances(h, ids)
	var cands []cluster.Candidate
	cem := map[string]*Cemon{}
	for _, id := range ids {
		cands = append(cands, cluster.Candidate{ID: id, Hops: hops[id]})
		c, err := StartCemon(ctx, CemonOptions{Bin: bin, OFAddr: ofAddr[id], Args: []string{"--idle-timeout", "10s",
			"--cluster-endpoints", strings.Join(etcd.Endpoints(), ","), "--instance-id", id,
			"--cluster-hops", hopsArg(hops[id])},
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
		if c.Get("/api/v1/flows?limit=1000&scope=local", &fs) != nil {
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

// transfer opens a fresh TCP connection from src to dst and sends 200 KB over it
// (iperf3): new flows each way, which their owners must route (writes for other
// masters' switches forwarded to them). It returns the bytes iperf3 sent (all of
// them were acknowledged: TCP), or why the transfer failed.
func transfer(h *Harness, src, dst string, port int) (uint64, error) {
	ip := ""
	for _, hi := range h.Info.Hosts {
		if hi.Name == dst {
			ip = hi.IP
		}
	}
	if _, err := h.HostCmd(dst, fmt.Sprintf("iperf3 -s -1 -p %d -D", port), 10*time.Second); err != nil {
		return 0, err
	}
	time.Sleep(300 * time.Millisecond)
	out, err := h.HostCmd(src, fmt.Sprintf("timeout 15 iperf3 -c %s -p %d -n 200K --connect-timeout 3000 -J", ip, port), 20*time.Second)
	if err != nil {
		return 0, err
	}
	var r struct {
		End struct {
			SumSent struct{ Bytes uint64 } `json:"sum_sent"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return 0, fmt.Errorf("%s -> %s: %v: %.300s", src, dst, err, out)
	}
	if r.Error != "" {
		return 0, fmt.Errorf("%s -> %s: %s", src, dst, r.Error)
	}
	return r.End.SumSent.Bytes, nil
}

// clusterView is what every instance's /api/v1/cluster says: connected, members,
// the published masters and the switches granted to it.
type clusterView map[string]api.ClusterStatus

func viewOf(cem map[string]*Cemon) clusterView {
	v := clusterView{}
	for id, c := range cem {
		var st api.ClusterStatus
		if c.Get("/api/v1/cluster", &st) == nil {
			v[id] = st
		}
	}
	return v
}

// granted maps each switch to the instance it granted the master role, "several"
// when more than one holds it.
func (v clusterView) granted() map[string]string {
	out := map[string]string{}
	for id, st := range v {
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

// TestE2EClusterEtcdOutage: three instances on linear,6 and a three-member embedded
// etcd (member heartbeat 100 ms, election 1 s; lease TTL 2 s):
//   - one etcd member stopped, then restarted with its data: masters stay as they
//     were (same assignment revision, same grants), new flows crossing masters are
//     routed (a fresh TCP transfer h1 -> h6 while the member is down, h6 -> h2 after
//     its return), pingall passes;
//   - all of etcd stopped for 6 s (three lease TTLs): every instance reports itself
//     disconnected and keeps serving its switches alone: the grants do not change,
//     pingall passes and new flows crossing masters are routed; etcd restarted: every
//     instance joins again (connected, three members), each switch has exactly one
//     master, the nearest, and pingall and a new transfer pass.
func TestE2EClusterEtcdOutage(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	cem, h, etcd := startLinearCluster(t, ctx)
	want := map[string]string{"0000000000000001": "a", "0000000000000002": "a", "0000000000000003": "b",
		"0000000000000004": "b", "0000000000000005": "c", "0000000000000006": "c"}
	require.Eventually(t, func() bool { return maps.Equal(viewOf(cem).granted(), want) }, 15*time.Second, 100*time.Millisecond)
	time.Sleep(2 * time.Second) // links discovered and shared
	res, err := h.PingAll(2 * time.Second)
	require.NoError(t, err)
	require.Empty(t, res.Lost, "pingall: %+v", res)
	before := viewOf(cem)
	rev := before["a"].Revision

	// One member down.
	start := time.Now()
	etcd.Stop(0)
	t.Logf("etcd member m0 stopped in %v", time.Since(start).Round(time.Millisecond))
	n, err := transfer(h, "h1", "h6", 5601)
	require.NoError(t, err, "a new flow h1 -> h6 with one etcd member down")
	assert.GreaterOrEqual(t, n, uint64(200<<10))
	time.Sleep(3 * time.Second) // past a lease TTL
	during := viewOf(cem)
	etcd.Restart(0)
	t.Logf("etcd member m0 stopped for %v, restarted", time.Since(start).Round(time.Millisecond))
	n, err = transfer(h, "h6", "h2", 5602)
	require.NoError(t, err, "a new flow h6 -> h2 after the member's return")
	assert.GreaterOrEqual(t, n, uint64(200<<10))
	after := viewOf(cem)
	for _, v := range []clusterView{during, after} {
		assert.Equal(t, want, v.granted(), "grants unchanged")
		for id, st := range v {
			assert.True(t, st.Connected, "%s connected", id)
			assert.Len(t, st.Members, 3, "%s's members", id)
			assert.Equal(t, rev, st.Revision, "%s: the assignment's revision unchanged", id)
		}
	}
	res, err = h.PingAll(2 * time.Second)
	require.NoError(t, err)
	require.Empty(t, res.Lost, "pingall after the member's return: %+v", res)

	// All of etcd down.
	start = time.Now()
	etcd.Close()
	t.Logf("etcd's three members stopped in %v", time.Since(start).Round(time.Millisecond))
	stopped := time.Now()
	require.Eventually(t, func() bool {
		v := viewOf(cem)
		for _, id := range []string{"a", "b", "c"} {
			if v[id].Connected {
				return false
			}
		}
		return true
	}, 15*time.Second, 100*time.Millisecond, "every instance sees its lease lost")
	t.Logf("every instance disconnected %v after etcd stopped", time.Since(stopped).Round(time.Millisecond))
	res, err = h.PingAll(2 * time.Second)
	require.NoError(t, err)
	assert.Empty(t, res.Lost, "pingall without etcd: %+v", res)
	n, err = transfer(h, "h2", "h5", 5603)
	assert.NoError(t, err, "a new flow h2 -> h5 without etcd")
	assert.GreaterOrEqual(t, n, uint64(200<<10))
	time.Sleep(time.Until(stopped.Add(6 * time.Second)))
	alone := viewOf(cem)
	assert.Equal(t, want, alone.granted(), "each instance keeps its switches without etcd")
	t.Logf("etcd down for %v; grants without etcd %v", time.Since(start).Round(time.Millisecond), alone.granted())

	start = time.Now()
	etcd.RestartAll()
	var back clusterView
	require.Eventually(t, func() bool {
		back = viewOf(cem)
		for _, id := range []string{"a", "b", "c"} {
			if !back[id].Connected || len(back[id].Members) != 3 || len(back[id].Masters) != 6 {
				return false
			}
		}
		return maps.Equal(back.granted(), want)
	}, 30*time.Second, 100*time.Millisecond, "every instance joins again, one master per switch: %v", viewOf(cem).granted())
	t.Logf("every instance joined again %v after etcd's return (leader %s, revision %d)", time.Since(start).Round(time.Millisecond),
		back["a"].Leader, back["a"].Revision)
	res, err = h.PingAll(2 * time.Second)
	require.NoError(t, err)
	assert.Empty(t, res.Lost, "pingall after etcd's return: %+v", res)
	n, err = transfer(h, "h5", "h1", 5604)
	require.NoError(t, err, "a new flow h5 -> h1 after etcd's return")
	assert.GreaterOrEqual(t, n, uint64(200<<10))
}
