package controller

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// downNet is a fat-tree network whose tracker holds flows flows between random host
// pairs (hosts on port 1 of every switch), entered in the tracker directly.
type downNet struct {
	*fakeNet
	g     *topology.Graph
	flows int
}

func newDownNet(b *testing.B, k, flows int) *downNet {
	g := topology.FatTree(k)
	n := benchNet(b, g)
	rng := rand.New(rand.NewPCG(1, 2))
	sw := uint64(g.NumNodes())
	paths := map[[2]uint64][]flowtracker.Hop{}
	for i := 0; n.c.tracker.Len() < flows; i++ {
		a, z := 1+rng.Uint64N(sw), 1+rng.Uint64N(sw)
		p, ok := paths[[2]uint64{a, z}]
		if !ok {
			tp, ok := n.c.topo.Path(a, z)
			if !ok {
				b.Fatalf("no path %d-%d", a, z)
			}
			p = make([]flowtracker.Hop, len(tp))
			for j, h := range tp {
				p[j] = flowtracker.Hop{DPID: h.DPID, InPort: h.InPort, OutPort: h.OutPort}
			}
			p[0].InPort, p[len(p)-1].OutPort = 1, 1
			paths[[2]uint64{a, z}] = p
		}
		if _, _, err := n.c.tracker.Add(downKey(i), p, n.now); err != nil {
			b.Fatal(err)
		}
	}
	return &downNet{fakeNet: n, g: g, flows: flows}
}

func downKey(i int) flowtracker.Key {
	return flowtracker.Key{DLSrc: [6]byte{2, 0, 0, 0, 0, 1}, DLDst: [6]byte{2, 0, 0, 0, 0, 2},
		NWSrc: [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, NWDst: [4]byte{10, 255, 0, 1},
		DLVLAN: 0xffff, DLType: 0x0800, NWProto: 17, TPSrc: uint16(i), TPDst: 9}
}

type saved struct {
	key  flowtracker.Key
	path []flowtracker.Hop
}

// through lists the flows with a live entry on dpid (their keys and paths).
func (d *downNet) through(sel func(fn func(flowtracker.Flow) bool)) []saved {
	var out []saved
	sel(func(f flowtracker.Flow) bool {
		out = append(out, saved{f.Key, f.Path()})
		return true
	})
	return out
}

// restore puts the flows back in the tracker, active on their whole path (superseding
// what is left of them).
func (d *downNet) restore(b *testing.B, fs []saved) {
	for _, f := range fs {
		if _, _, err := d.c.tracker.Add(f.key, f.path, d.now); err != nil {
			b.Fatal(err)
		}
	}
	if d.c.tracker.Len() != d.flows {
		b.Fatalf("tracker holds %d flows after restoring, want %d", d.c.tracker.Len(), d.flows)
	}
}

// BenchmarkSwitchDown measures the controller core's handling of a switch whose
// connection ended (core.closed: the session's teardown, Discovery forgetting its
// links, Routing building the deletes of every flow through it for the other switches
// and the tracker dropping its entries) with 256,000 flows in the tracker, on a k=12
// fat tree (180 switches). "edge" downs an edge switch, "core" a core switch.
// Reported: the flows through the switch, and the process's CPU time per handling
// (cpu-ns/op: on a loaded machine wall time also counts waiting for a core; the CPU
// time includes the garbage collector's). The messages are built, not encoded or
// written (the writer's work). The core handles the first teardownBatch flows at once
// (cpu-ns/op) and the rest in later steps under separate holds of the lock
// (rest-cpu-ns/op over rest-steps/op steps; max-step-cpu-ns is the longest).
func BenchmarkSwitchDown(b *testing.B) {
	d := newDownNet(b, 12, 256_000)
	// FatTree numbers core switches first, then per pod aggregation and edge switches.
	for _, tc := range []struct {
		name string
		dpid uint64
	}{{"core", 1}, {"edge", uint64(d.g.NumNodes())}} {
		b.Run(fmt.Sprintf("flows=%d/%s", d.flows, tc.name), func(b *testing.B) {
			through := 0
			var cpu, drainCPU, maxStep time.Duration
			steps := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				fs := d.through(func(fn func(flowtracker.Flow) bool) { d.c.tracker.RangeSwitch(tc.dpid, fn) })
				through = len(fs)
				sw := d.sw[tc.dpid]
				c0 := cpuTime()
				b.StartTimer()
				fx := d.c.closed(sw.s, nil, d.now)
				b.StopTimer()
				cpu += cpuTime() - c0
				if fx.events[0].Kind != SwitchDown {
					b.Fatalf("events %v", fx.events)
				}
				sent := len(fx.out)
				// The rest of the teardown, a batch per step, as the Controller runs
				// it after releasing its lock.
				for more := d.c.tearingDown(); more; {
					c0 := cpuTime()
					fx, more = d.c.teardownStep(d.now)
					step := cpuTime() - c0
					drainCPU += step
					maxStep = max(maxStep, step)
					steps++
					sent += len(fx.out)
				}
				if sent < len(fs) || d.c.tracker.OnSwitch(tc.dpid) != 0 {
					b.Fatalf("%d messages for %d flows; %d flows left on the switch", sent, len(fs), d.c.tracker.OnSwitch(tc.dpid))
				}
				delete(d.bySess, sw.s)
				sw.s = nil
				d.toSwitch, d.events = d.toSwitch[:0], d.events[:0]
				d.connect(tc.dpid)
				d.advance(time.Second) // its links again
				d.restore(b, fs)
				b.StartTimer()
			}
			b.ReportMetric(float64(through), "flows-through")
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(drainCPU)/float64(b.N), "rest-cpu-ns/op")
			b.ReportMetric(float64(steps)/float64(b.N), "rest-steps/op")
			b.ReportMetric(float64(maxStep), "max-step-cpu-ns")
		})
	}
}

// BenchmarkLinkDown measures the core's handling of a PORT_STATUS that takes down a
// switch-to-switch port (Discovery's LinkDown for both directions, Routing's deletes
// of every flow over the link) with 256,000 flows in the tracker on a k=12 fat tree.
// Reported: the flows over the link, and the CPU time per handling.
func BenchmarkLinkDown(b *testing.B) {
	d := newDownNet(b, 12, 256_000)
	// Edge switch dpid's first uplink (port 2, as benchNet numbers them).
	dpid := uint64(d.g.NumNodes())
	sw := d.sw[dpid]
	var desc ofproto.PhyPort
	for _, p := range sw.ports {
		if p.PortNo == 2 {
			desc = p
		}
	}
	peer, ok := d.wire[PortRef{dpid, 2}]
	if !ok {
		b.Fatal("port 2 has no link")
	}
	b.Run(fmt.Sprintf("flows=%d", d.flows), func(b *testing.B) {
		through := 0
		var cpu time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			fs := d.through(func(fn func(flowtracker.Flow) bool) {
				d.c.tracker.RangeLink(dpid, 2, peer.DPID, peer.Port, fn)
				d.c.tracker.RangeLink(peer.DPID, peer.Port, dpid, 2, fn)
			})
			through = len(fs)
			down := desc
			down.State |= ofproto.PortStateLinkDown
			msg := roundTrip(b, &ofproto.PortStatus{Reason: ofproto.PortModified, Desc: down})
			c0 := cpuTime()
			b.StartTimer()
			fx := d.c.receive(sw.s, msg, d.now)
			b.StopTimer()
			cpu += cpuTime() - c0
			if len(fx.out) < len(fs)/2 {
				b.Fatalf("%d messages for %d flows", len(fx.out), len(fs))
			}
			d.toSwitch, d.events = d.toSwitch[:0], d.events[:0]
			up := roundTrip(b, &ofproto.PortStatus{Reason: ofproto.PortModified, Desc: desc})
			d.take(d.c.receive(sw.s, up, d.now))
			d.run()
			d.advance(time.Second)
			d.restore(b, fs)
			b.StartTimer()
		}
		b.ReportMetric(float64(through), "flows-over-link")
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	})
}
