package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

// newEnvTracker is newEnv with the tracker's configuration given.
func newEnvTracker(t *testing.T, cfg Config, tcfg flowtracker.Config) *env {
	t.Helper()
	tr, err := flowtracker.New(tcfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.New(stats.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{tr: tr, net: newFakeNet(), store: st, now: t0}
	var req Requester = e.net
	if usePipeNet {
		p := &pipeNet{fakeNet: e.net, maxOut: map[uint64]int{}}
		currentPipe.Store(p)
		req = p
	}
	e.c, err = New(cfg, Deps{Requester: req, Tracker: tr, Store: st,
		Switches: func() []uint64 { return []uint64{1, 2, 3, 4} },
		Hops:     func() map[uint64]int { return map[uint64]int{1: 1, 2: 2, 3: 3, 4: 4} },
		Clock:    func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.c.Close)
	return e
}

// TestArrivalOfAGoneFlowKeepsPorts checks that a flow the tracker no longer
// holds when its arrival is handled (it expired and was not retained) is
// registered with the ports of its path, taken from the event: links are
// keyed by ports, and a path without them would invent links (port 0) that
// no topology has.
func TestArrivalOfAGoneFlowKeepsPorts(t *testing.T) {
	e := newEnvTracker(t, Config{}, flowtracker.Config{RetainExpired: -1})
	h := e.addFlow(t, 0, 1, 3)
	e.now = t0.Add(time.Second)
	if !e.tr.Remove(h.ID, e.now) {
		t.Fatal("tracker did not expire the flow")
	}
	if _, ok := e.tr.Get(h.ID); ok {
		t.Fatal("tracker still holds the flow; the test needs it gone")
	}
	if n := e.c.Drain(); n != 2 {
		t.Fatalf("drained %d events, want 2", n)
	}
	want := map[stats.Link]bool{
		{SrcDPID: 1, SrcPort: 2, DstDPID: 2, DstPort: 1}: true,
		{SrcDPID: 2, SrcPort: 2, DstDPID: 3, DstPort: 1}: true,
	}
	for _, ll := range e.store.LinkLoads() {
		if !want[ll.Link] {
			t.Errorf("link %v is not on the flow's path", ll.Link)
		}
		if ll.Flows != 0 || ll.RateBps != 0 {
			t.Errorf("link %v keeps the expired flow: %+v", ll.Link, ll)
		}
	}
	f, ok := e.store.Flow(h.ID)
	if !ok || f.Active || len(f.Path) != 3 || f.Path[0].InPort != 3 || f.Path[2].OutPort != 3 {
		t.Errorf("flow = %+v, %v", f, ok)
	}
	e.now = t0.Add(2 * time.Second)
	if res := e.c.Round(context.Background()); res.Requests != 0 {
		t.Errorf("round sent %d requests for no active flow", res.Requests)
	}
}

// TestRandomChurn drives the collector with random arrivals, expiries (with
// and without final counters), strategy switches at run time and rounds, on a
// fake network whose switches all count a flow's packets alike, and checks
// after every round: every active flow was read (DAPR and ARI keep the scheme
// a cover whatever the strategy), the Store's totals are the true counters
// (none counted twice, none lost), expired flows no longer load links, the
// matrix or hosts, and the link, matrix and host sums agree with the flows.
func TestRandomChurn(t *testing.T) {
	strategies := []Strategy{StrategyMCPS, StrategyPerFlowRandom, StrategyPerFlowMin, StrategyPollAll, StrategyOff}
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			e := newEnv(t, Config{Theta: 0.5})
			type live struct {
				h    flowtracker.Handle
				a, b uint64
			}
			var active []live
			truth := map[uint64]uint64{} // flow id -> bytes every entry counted
			next := 100
			strategy := StrategyMCPS
			for step := 0; step < 120; step++ {
				e.now = e.now.Add(time.Second)
				switch op := rng.IntN(10); {
				case op < 4 || len(active) == 0:
					a := uint64(1 + rng.IntN(4))
					b := a + uint64(rng.IntN(int(5-a)))
					h := e.addFlow(t, next, a, b)
					next++
					active = append(active, live{h, a, b})
					truth[h.ID] = 0
				case op < 6:
					i := rng.IntN(len(active))
					f := active[i]
					active = append(active[:i], active[i+1:]...)
					if rng.IntN(2) == 0 {
						e.tr.Remove(f.h.ID, e.now)
						truth[f.h.ID] = math.MaxUint64 // known only up to the last poll
					} else {
						fin := flowtracker.Counters{Bytes: truth[f.h.ID], Packets: truth[f.h.ID] / 100, DurationSec: uint32(step)}
						at := e.now
						if rng.IntN(2) == 0 {
							// stamped before the last round's replies, as a
							// FLOW_REMOVED handled late can be
							at = at.Add(-1500 * time.Millisecond)
						}
						for d := f.a; d <= f.b; d++ {
							if _, err := e.tr.EntryRemoved(d, f.h.Cookie, fin, flowtracker.ReasonIdleTimeout, at); err != nil {
								t.Fatal(err)
							}
						}
					}
					e.net.remove(f.h.Cookie)
				case op < 7:
					strategy = strategies[rng.IntN(len(strategies))]
					if err := e.c.SetStrategy(strategy); err != nil {
						t.Fatal(err)
					}
				}
				for _, f := range active {
					n := uint64(100 * (1 + rng.IntN(50)))
					e.net.count(f.h.Cookie, n, n/100, 1)
					truth[f.h.ID] += n
				}
				e.c.Drain()
				res := e.c.Round(context.Background())
				if strategy != StrategyOff && res.Readings != len(active) {
					t.Fatalf("step %d (%s): %d readings for %d active flows: %+v", step, strategy, res.Readings, len(active), res)
				}
				checkStore(t, e, step, truth, len(active))
			}
		})
	}
}

func checkStore(t *testing.T, e *env, step int, truth map[uint64]uint64, nActive int) {
	t.Helper()
	snap := e.store.Snapshot()
	flows := snap.Flows
	linkRate, linkFlows := map[stats.Link]float64{}, map[stats.Link]int{}
	var matrixBytes, flowBytes uint64
	active := 0
	for _, f := range flows {
		flowBytes += f.Bytes
		if w := truth[f.ID]; w != math.MaxUint64 && (f.LastPolled.Equal(e.now) || !f.Active) && f.Bytes != w {
			t.Fatalf("step %d: flow %d has %d bytes, its entries counted %d", step, f.ID, f.Bytes, w)
		}
		if f.RateBps < 0 || math.IsNaN(f.RateBps) || math.IsInf(f.RateBps, 0) {
			t.Fatalf("step %d: flow %d rate %v", step, f.ID, f.RateBps)
		}
		if !f.Active {
			continue
		}
		active++
		for _, l := range stats.LinksOf(f.Path) {
			linkRate[l] += f.CurrentBps() // 0 once its reading is stale (strategy off)
			linkFlows[l]++
		}
	}
	if active != nActive {
		t.Fatalf("step %d: store has %d active flows, want %d", step, active, nActive)
	}
	for _, ll := range snap.Links {
		if ll.Flows != linkFlows[ll.Link] || math.Abs(ll.RateBps-linkRate[ll.Link]) > 1e-6*(1+linkRate[ll.Link]) {
			t.Fatalf("step %d: link %v: %d flows %v bps, flows say %d, %v", step, ll.Link, ll.Flows, ll.RateBps, linkFlows[ll.Link], linkRate[ll.Link])
		}
		if ll.Link.SrcPort == 0 || ll.Link.DstPort == 0 {
			t.Fatalf("step %d: link %v has no port", step, ll.Link)
		}
	}
	for _, m := range snap.Matrix {
		matrixBytes += m.Bytes
	}
	if matrixBytes != flowBytes {
		t.Fatalf("step %d: matrix holds %d bytes, flows %d", step, matrixBytes, flowBytes)
	}
}

// TestFlowBeforeItsSwitches: a flow whose path crosses switches the
// collector has not been told about yet is still planned and read, before
// and after they become known (DAPR patching, then a rebuild for the new
// switches), and never twice in one round.
func TestFlowBeforeItsSwitches(t *testing.T) {
	tr, err := flowtracker.New(flowtracker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.New(stats.Config{})
	if err != nil {
		t.Fatal(err)
	}
	known := []uint64{1}
	e := &env{tr: tr, net: newFakeNet(), store: st, now: t0}
	e.c, err = New(Config{}, Deps{Requester: e.net, Tracker: tr, Store: st,
		Switches: func() []uint64 { return known }, Clock: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.c.Close)
	e.addFlow(t, 0, 1, 1)
	e.c.Drain()
	e.c.Round(context.Background()) // the planner exists, over switch 1 only
	steps := []struct {
		name  string
		do    func()
		flows int
	}{
		{"flow over unknown switches 2 and 3", func() { e.addFlow(t, 1, 1, 3) }, 2},
		{"flow on unknown switch 4 alone", func() { e.addFlow(t, 2, 4, 4) }, 3},
		{"switches become known", func() { known = []uint64{1, 2, 3, 4} }, 3},
		{"one more flow, now by DAPR", func() { e.addFlow(t, 3, 2, 4) }, 4},
	}
	for i, s := range steps {
		s.do()
		e.c.Drain()
		e.now = t0.Add(time.Duration(i+1) * time.Second)
		for _, h := range e.flows {
			e.net.count(h.Cookie, 1000, 10, 1)
		}
		res := e.c.Round(context.Background())
		if res.Readings != s.flows || res.Failed != 0 {
			t.Errorf("%s: %+v, want %d readings", s.name, res, s.flows)
		}
		for _, h := range e.flows {
			if f, ok := e.store.Flow(h.ID); !ok || !f.LastPolled.Equal(e.now) {
				t.Errorf("%s: flow %d not read this round: %+v", s.name, h.ID, f)
			}
		}
	}
}

// TestPortRoundForgetsGonePorts: a port that its switch no longer lists, and
// the ports of a switch no longer connected, lose their rate (no link keeps a
// stale cross-check); a switch that does not answer keeps its ports.
func TestPortRoundForgetsGonePorts(t *testing.T) {
	tr, err := flowtracker.New(flowtracker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.New(stats.Config{})
	if err != nil {
		t.Fatal(err)
	}
	known := []uint64{1, 2, 3}
	e := &env{tr: tr, net: newFakeNet(), store: st, now: t0}
	e.c, err = New(Config{}, Deps{Requester: e.net, Tracker: tr, Store: st,
		Switches: func() []uint64 { return known }, Clock: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.c.Close)
	ports := func(tx uint64) {
		for _, d := range []uint64{1, 2, 3} {
			e.net.ports[d] = []ofproto.PortStats{{PortNo: 1, TxBytes: tx}, {PortNo: 2, TxBytes: tx}}
		}
	}
	for i, tx := range []uint64{1000, 2000} {
		ports(tx)
		e.now = t0.Add(time.Duration(i) * time.Second)
		e.c.PortRound(context.Background())
	}
	e.net.ports[1] = e.net.ports[1][:1]          // port 1:2 deleted
	known = []uint64{1, 3}                       // switch 2 gone
	e.net.fail[3] = errors.New("fake: no reply") // switch 3 silent
	e.now = t0.Add(2 * time.Second)
	e.c.PortRound(context.Background())
	want := map[stats.PortKey]bool{{DPID: 1, Port: 1}: true, {DPID: 1, Port: 2}: false,
		{DPID: 2, Port: 1}: false, {DPID: 2, Port: 2}: false, {DPID: 3, Port: 1}: true, {DPID: 3, Port: 2}: true}
	for k, w := range want {
		if _, ok := e.store.PortRate(k); ok != w {
			t.Errorf("port %v has a rate: %v, want %v", k, ok, w)
		}
	}
}
