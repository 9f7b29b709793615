package mininet

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/api"
)

// tableLimit is the flow table size every Abilene switch gets in TestE2ETableLimits.
const tableLimit = 60

// TestE2ETableLimits limits every Abilene switch's table to 60 entries (Open vSwitch
// refuses additions past it) and runs 300 UDP flows (ten host pairs, 30 streams
// each): no flow cemon lists claims an entry a switch does not hold (checked against
// ovs-ofctl dump-flows), every host pair keeps connectivity, the matrix's host-pair
// bytes stay within 5 % of the iperf3 senders' totals, and PACKET_INs per second stay
// bounded once the host-pair entries are in.
func TestE2ETableLimits(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel)
	e := startEnv(t, ctx, "abilene")
	c, h, info := e.c, e.h, e.h.Info
	names := map[string]string{}
	for _, s := range info.Switches {
		names[s.DPID] = s.Name
		out, err := exec.Command("ovs-vsctl", "--", "--id=@ft", "create", "Flow_Table",
			fmt.Sprintf("flow_limit=%d", tableLimit), "overflow_policy=refuse", "--", "set", "Bridge", s.Name,
			"flow_tables=0=@ft").CombinedOutput()
		if err != nil {
			t.Fatalf("limiting %s's table: %v\n%s", s.Name, err, out)
		}
	}
	e.waitTopology(t, info)

	t.Run("every host pair keeps connectivity", func(t *testing.T) {
		e.note("pingall with tables of %d entries", tableLimit)
		res, err := h.PingAll(pingTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if res.Received != res.Sent || res.Sent != 110 {
			t.Errorf("pingall: %d of %d received; lost %v", res.Received, res.Sent, res.Lost)
		}
	})
	// PACKET_INs with no data traffic: LLDP probes mostly, one per link direction a
	// second.
	time.Sleep(idleTimeout + time.Second) // the pings' flows go
	b0, bt0 := packetIns(t, c), time.Now()
	time.Sleep(3 * time.Second)
	base := (packetIns(t, c) - b0) / time.Since(bt0).Seconds()
	before := matrixBytes(t, c)

	pairs := [][2]string{{"h1", "h4"}, {"h6", "h3"}, {"h9", "h2"}, {"h5", "h11"}, {"h2", "h7"},
		{"h3", "h10"}, {"h4", "h8"}, {"h7", "h1"}, {"h8", "h5"}, {"h10", "h6"}}
	var transfers []Transfer
	for i, p := range pairs {
		transfers = append(transfers, Transfer{Src: p[0], Dst: p[1], UDP: true, Duration: 20, Bandwidth: "100K",
			Length: "1000", Parallel: 30, Port: 5301 + i})
	}
	e.note("starting %d UDP flows", 30*len(transfers))
	id, err := h.IperfStart(transfers)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()

	// Once the fallback's entries are in (a few seconds), PACKET_INs stay few.
	time.Sleep(8 * time.Second)
	p0, t0 := packetIns(t, c), time.Now()
	time.Sleep(6 * time.Second)
	p1, t1 := packetIns(t, c), time.Now()
	pinRate := (p1 - p0) / t1.Sub(t0).Seconds()

	// No flow claims an entry its switch does not hold: entries cemon lists as
	// present both before and after the dump must be in it, with the flow's cookie.
	var fsBefore, fsAfter []api.Flow
	if err := c.Get("/api/v1/flows?state=active,draining", &fsBefore); err != nil {
		t.Fatal(err)
	}
	dumps, err := h.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Get("/api/v1/flows?state=active,draining", &fsAfter); err != nil {
		t.Fatal(err)
	}
	var sws []api.Switch
	if err := c.Get("/api/v1/switches", &sws); err != nil {
		t.Fatal(err)
	}
	results, err := h.IperfWait(id, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("transfers took %.1fs", time.Since(started).Seconds())

	present := func(fs []api.Flow) map[[2]string]bool { // cookie, dpid
		out := map[[2]string]bool{}
		for _, f := range fs {
			for _, en := range f.Entries {
				if !en.Removed {
					out[[2]string{f.Cookie, en.DPID}] = true
				}
			}
		}
		return out
	}
	held := map[[2]string]bool{}
	for dpid, name := range names {
		for _, d := range dumps[name] {
			held[[2]string{api.FormatCookie(d.Cookie), dpid}] = true
		}
	}
	pb, pa := present(fsBefore), present(fsAfter)
	claimed, missing := 0, 0
	for k := range pb {
		if !pa[k] {
			continue
		}
		claimed++
		if !held[k] {
			missing++
			if missing <= 5 {
				t.Errorf("flow %s claims an entry on %s that dump-flows does not show", k[0], names[k[1]])
			}
		}
	}
	var exact, aggregate, refused int
	for _, f := range fsAfter {
		if f.Measured == api.MeasuredInAggregate {
			aggregate++
		} else {
			exact++
		}
		for _, en := range f.Entries {
			if en.Refused {
				refused++
			}
		}
	}
	fallback, maxEntries := 0, 0
	for _, s := range sws {
		if s.Table == nil {
			continue
		}
		if s.Table.Fallback {
			fallback++
		}
		maxEntries = max(maxEntries, s.Table.Entries)
		if s.Table.Limit <= 0 || s.Table.Limit > tableLimit {
			t.Errorf("%s: table limit %d, want %d (max_entries %d)", s.DPID, s.Table.Limit, tableLimit, s.Table.MaxEntries)
		}
	}
	t.Logf("%d entries claimed, %d missing from dump-flows; flows listed: %d measured individually, %d host-pair aggregates, "+
		"%d refused entries; %d switches in fallback, fullest table %d entries", claimed, missing, exact, aggregate, refused,
		fallback, maxEntries)
	if aggregate == 0 {
		t.Error("no host-pair aggregate: the fallback never began")
	}
	// 300 flows of 100 kbit/s in 1,042-byte frames: 3,600 packets/s. Once the
	// aggregates are in, the PACKET_INs above the idle rate stay under 1 % of that.
	const pktRate = 300 * 100e3 / 8 / 1042
	t.Logf("PACKET_INs: %.1f/s idle, %.1f/s once the fallback entries are in (data packets %.0f/s)", base, pinRate, pktRate)
	if pinRate-base > 0.01*pktRate {
		t.Errorf("PACKET_INs %.1f/s with the host-pair entries in, %.1f/s idle: more than 1 %% of the %.0f data packets/s",
			pinRate, base, pktRate)
	}

	// Host-pair traffic from the matrix against the senders' totals.
	// The last counters come with the FLOW_REMOVEDs of the entries' idle timeout.
	if why := poll(idleTimeout+15*time.Second, func() string {
		var fs []api.Flow
		if err := c.Get("/api/v1/flows?state=active,draining", &fs); err != nil {
			return err.Error()
		}
		if len(fs) > 0 {
			return fmt.Sprintf("%d flows still active or draining", len(fs))
		}
		return ""
	}); why != "" {
		t.Logf("after the transfers: %s", why)
	}
	after := matrixBytes(t, c)
	t.Logf("FLOW_MODs refused %.0f, host-pair aggregates installed %.0f, exact flows evicted for them %.0f, packets delivered past full tables %.0f, "+
		"flows installed mid-path and replaced %.0f",
		metricValue(t, c, "cemon_flow_mods_refused_all_total"), metricValue(t, c, "cemon_host_pair_flows_installed_total"),
		metricValue(t, c, "cemon_flows_evicted_total"), metricValue(t, c, "cemon_table_full_deliveries_total"),
		metricValue(t, c, "cemon_flows_mid_path_total"))
	ip := map[string]string{}
	for _, hi := range info.Hosts {
		ip[hi.Name] = hi.IP
	}
	for i, r := range results {
		if r.Error != "" {
			t.Errorf("transfer %d: %s", i, r.Error)
			continue
		}
		k := [2]string{ip[pairs[i][0]], ip[pairs[i][1]]}
		got := float64(after[k] - before[k])
		// The matrix counts Ethernet frames; iperf3 counts UDP payload: add the
		// 42 bytes of headers per datagram.
		want := float64(r.BytesSent + 42*r.PacketsSent)
		rel := (got - want) / want
		t.Logf("%s -> %s: matrix %.0f B, iperf3 %.0f B (%+.1f %%)", pairs[i][0], pairs[i][1], got, want, rel*100)
		if rel > 0.05 || rel < -0.05 {
			t.Errorf("%s -> %s: matrix %.0f B, iperf3 senders %.0f B: off by %.1f %%", pairs[i][0], pairs[i][1], got, want, rel*100)
		}
	}
}

// packetIns reads cemon_packet_ins_total from /metrics.
func packetIns(t *testing.T, c *Cemon) float64 {
	t.Helper()
	return metricValue(t, c, "cemon_packet_ins_total")
}

// metricValue reads an unlabelled metric from /metrics.
func metricValue(t *testing.T, c *Cemon, name string) float64 {
	t.Helper()
	res, err := http.Get("http://" + c.APIAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
