package collector

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

// nullNet answers every statistics request with an empty reply, so that a round plans
// and sends without the switches' tables taking memory in the process measured.
type nullNet struct{}

func (nullNet) Request(_ context.Context, _ uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	sr := msg.(*ofproto.StatsRequest)
	return []ofproto.Message{&ofproto.StatsReply{Xid: sr.Xid, Body: &ofproto.FlowStatsReply{}}}, nil
}

// memFlows is the number of flows TestMemoryPerFlow measures: CEMON_MEMFLOWS, else
// 100,000 (20,000 with -short).
func memFlows(t testing.TB) int {
	if s := os.Getenv("CEMON_MEMFLOWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			t.Fatalf("CEMON_MEMFLOWS=%q: want an integer of at least 1000", s)
		}
		return n
	}
	if testing.Short() {
		return 20_000
	}
	return 100_000
}

// rss returns the process's resident set (VmRSS) in bytes, 0 where /proc is absent.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memSetup is what TestMemoryPerFlow keeps alive while it measures.
type memSetup struct {
	tr *flowtracker.Tracker
	st *stats.Store
	c  *Collector
}

// buildMemSetup puts n flows through the real components with their defaults (but
// for stats.Config sc): n flows on 1,000 switches (paths of 1 to 5 hops along a line)
// between random pairs of 4,000 hosts, added to the tracker, then taken by the
// collector (MCPS) from the tracker's snapshot, its scheme
// built by a round, and then `readings` readings per flow (one per second, as every
// MCPS round reads every flow) fed to the statistics store, filling the histories.
func buildMemSetup(t testing.TB, n, readings int, sc stats.Config, stage func(name string)) memSetup {
	tr, err := flowtracker.New(flowtracker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	const switches = 1000
	dpids := make([]uint64, switches)
	for i := range dpids {
		dpids[i] = uint64(i + 1)
	}
	now := t0
	// 4 hosts behind every switch; flow i goes from a random host to another (so
	// nearly every flow is a traffic-matrix cell of its own, as with random pairs).
	rng := rand.New(rand.NewPCG(7, 7))
	hosts := 4 * switches
	host := func(h int) ([6]byte, [4]byte) {
		return [6]byte{2, 0, 0, 0, byte(h >> 8), byte(h)}, [4]byte{10, 0, byte(h >> 8), byte(h)}
	}
	ids := make([]uint64, n)
	hops := make([]flowtracker.Hop, 0, 5)
	for i := range n {
		src, dst := rng.IntN(hosts), rng.IntN(hosts-1)
		if dst >= src {
			dst++
		}
		a := uint64(1 + i%(switches-5))
		hops = hops[:0]
		for d := a; d < a+uint64(1+i%5); d++ {
			hops = append(hops, flowtracker.Hop{DPID: d, InPort: 1, OutPort: 2})
		}
		hops[0].InPort = 3
		k := flowtracker.Key{DLVLAN: 0xffff, DLType: 0x0800, NWProto: 17, TPSrc: uint16(1024 + i%60000), TPDst: uint16(5000 + i/60000)}
		k.DLSrc, k.NWSrc = host(src)
		k.DLDst, k.NWDst = host(dst)
		h, _, err := tr.Add(k, hops, now)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = h.ID
	}
	stage("tracker")
	c, err := New(Config{}, Deps{Requester: nullNet{}, Tracker: tr, Store: st,
		Switches: func() []uint64 { return dpids }, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c.Drain()
	stage("collector+store flows")
	if got := c.Counters().ActiveFlows; got != n {
		t.Fatalf("collector holds %d flows, want %d", got, n)
	}
	now = now.Add(time.Second)
	c.Round(context.Background())
	stage("mcps scheme")
	for r := 1; r <= readings; r++ {
		now = now.Add(time.Second)
		for i, id := range ids {
			b := uint64(r) * uint64(1000+i%1000)
			if _, err := st.Observe(stats.Reading{Flow: id, DPID: uint64(1 + i%(switches-5)), Bytes: b, Packets: b / 100,
				Duration: time.Duration(r) * time.Second, At: now, Source: stats.SourcePollAll, Interval: time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		st.Tick(now)
	}
	stage("histories")
	return memSetup{tr, st, c}
}

// maxBytesPerFlow bounds TestMemoryPerFlow's live heap per flow, beyond
// memFixedBytes that the setup holds whatever the number of flows (the 4,000 hosts'
// 64-sample histories, 4 MB, the tracker's subscription buffer, the tick ring). Before
// the switch index, the compact histories and the lazy task monitor it was about
// 9,500 bytes (64 samples per flow and per traffic-matrix cell, 40 bytes each, a copy
// of every flow in the tasks' monitor); about 1,870 before the compact records; about
// 1,520 before the shared records (a flow's statistics in 224 bytes, the collector's
// record in 48, the tracker's in 80 with switch index references of 8, a traffic-matrix
// cell in 80, Planned's paths kept once for the flows that take them); about 1,275 now.
// The target, 1 KB of resident memory per flow for the whole process, is not
// met: see BENCHMARKS.md.
const (
	maxBytesPerFlow = 1320
	memFixedBytes   = 6 << 20
)

// TestMemoryPerFlow measures the live heap per active flow of the components a
// running cemon keeps per flow: the flow tracker, the collector and its MCPS
// scheduler, and the statistics store with each flow's history full (twice as many
// readings as the default per-flow history keeps). It also logs the process's
// resident set growth per flow (VmRSS; it includes the garbage collector's headroom).
// CEMON_MEMFLOWS sets the number of flows.
func TestMemoryPerFlow(t *testing.T) {
	n := memFlows(t)
	readings := 2 * stats.DefaultFlowHistory
	before, rss0 := liveHeap(), rss()
	prev := before
	m := buildMemSetup(t, n, readings, stats.Config{}, func(name string) {
		h := liveHeap()
		t.Logf("  %-22s %+6.0f bytes per flow", name, float64(int64(h)-int64(prev))/float64(n))
		prev = h
	})
	after, rss1 := liveHeap(), rss()
	if path := os.Getenv("CEMON_MEMPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	per := float64(after-before) / float64(n)
	perRSS := float64(int64(rss1)-int64(rss0)) / float64(n)
	t.Logf("%d flows, %d readings each: live heap %.1f MB, %.0f bytes per flow; resident set %+.1f MB, %.0f bytes per flow (tracker %d active)",
		n, readings, float64(after-before)/1e6, per, float64(int64(rss1)-int64(rss0))/1e6, perRSS, m.tr.Len())
	if limit := maxBytesPerFlow + float64(memFixedBytes)/float64(n); per > limit {
		t.Errorf("%.0f bytes of live heap per flow, want at most %.0f (%d per flow and %d MB in all)", per, limit, maxBytesPerFlow, memFixedBytes>>20)
	}
	runtime.KeepAlive(m)
}

// BenchmarkMemoryPerFlow reports the live heap per active flow (heap-B/flow) of the
// same setup as TestMemoryPerFlow (CEMON_MEMFLOWS flows, 100,000 by default), built
// b.N times.
func BenchmarkMemoryPerFlow(b *testing.B) {
	n := memFlows(b)
	var per float64
	for range b.N {
		before := liveHeap()
		m := buildMemSetup(b, n, 2*stats.DefaultFlowHistory, stats.Config{}, func(string) {})
		per = float64(liveHeap()-before) / float64(n)
		runtime.KeepAlive(m)
		m.c.Close()
	}
	b.ReportMetric(per, "heap-B/flow")
}
