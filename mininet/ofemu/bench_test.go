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

// BenchmarkFlowStats measures the reply bodies of a whole-table flow statistics
// request (a poll-all) and of one flow's (a poll-single, an exact match found
// without a walk) on a table of 5,000 exact entries: what an emulated switch spends per request of a polling round.
func BenchmarkFlowStats(b *testing.B) {
	s := benchSwitch(b, 5000)
	now := time.Now()
	b.Run("all", func(b *testing.B) {
		req := &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s.mu.Lock()
			out := s.flowStats(req, now)
			s.mu.Unlock()
			if len(out) != 8 {
				b.Fatalf("%d reply messages", len(out))
			}
		}
	})
	b.Run("single", func(b *testing.B) {
		fm := exactMods(2500)[2499]
		req := &ofproto.FlowStatsRequest{Match: fm.Match, TableID: 0xff, OutPort: ofproto.PortNone}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s.mu.Lock()
			out := s.flowStats(req, now)
			s.mu.Unlock()
			if n := len(out[0].(*ofproto.FlowStatsReply).Entries); n != 1 {
				b.Fatalf("%d entries", n)
			}
		}
	})
}
