package ofemu

import (
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// exactMods are flowMods with exact matches, as a reactive controller installs them.
func exactMods(n int) []*ofproto.FlowMod {
	fms := flowMods(n)
	for _, fm := range fms {
		fm.Match.Wildcards = 0
	}
	return fms
}

// benchSwitch is a switch with n exact entries carrying traffic, not connected.
func benchSwitch(b *testing.B, n int) *Switch {
	net, err := New(Config{Controller: "127.0.0.1:1", Switches: 1, Traffic: ConstantTraffic(1e6, 1000)})
	if err != nil {
		b.Fatal(err)
	}
	s := net.Switches()[0]
	now := time.Now()
	for _, fm := range exactMods(n) {
		if err := s.flowMod(fm, now); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkFlowStats measures the reply to a whole-table flow statistics request
// (a poll-all) and to one flow's (a poll-single, an exact match found without a
// walk) on a table of 5,000 exact entries, encoded as the switch sends it: what an
// emulated switch spends per request of a polling round. The ref runs build the
// same bytes the plain way (refFlowStats: FlowStats values, then one marshal per
// message).
func BenchmarkFlowStats(b *testing.B) {
	s := benchSwitch(b, 5000)
	now := time.Now()
	all := &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}
	single := &ofproto.FlowStatsRequest{Match: exactMods(2500)[2499].Match, TableID: 0xff, OutPort: ofproto.PortNone}
	for _, tc := range []struct {
		name string
		req  *ofproto.FlowStatsRequest
		msgs int // reply messages
		n    int // entries, of 96 bytes each
	}{
		{"all", all, 8, 5001}, // and the ARP entry of flowMods
		{"single", single, 1, 1},
	} {
		want := tc.msgs*12 + tc.n*(ofproto.FlowStatsLen+8)
		b.Run(tc.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				s.mu.Lock()
				buf, err = s.appendFlowStats(buf[:0], 1, tc.req, now)
				s.mu.Unlock()
				if err != nil || len(buf) != want {
					b.Fatalf("%d bytes, %v", len(buf), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tc.n), "ns/entry")
		})
		b.Run(tc.name+"/fresh", func(b *testing.B) {
			// Each reply into a new buffer, as when the pool's buffer is a small one.
			b.ReportAllocs()
			for b.Loop() {
				s.mu.Lock()
				buf, err := s.appendFlowStats(nil, 1, tc.req, now)
				s.mu.Unlock()
				if err != nil || len(buf) != want {
					b.Fatalf("%d bytes, %v", len(buf), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tc.n), "ns/entry")
		})
		b.Run(tc.name+"/ref", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.mu.Lock()
				out, err := refFlowStats(s, 1, tc.req, now)
				s.mu.Unlock()
				if err != nil || len(out) != want {
					b.Fatalf("%d bytes, %v", len(out), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tc.n), "ns/entry")
		})
	}
}
