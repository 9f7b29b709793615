package poll

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

func flowReply(entries ...ofproto.FlowStats) *ofproto.StatsReply {
	return &ofproto.StatsReply{Body: &ofproto.FlowStatsReply{Entries: entries}}
}

// TestIngest: entries map to flows by the resolver; a flow returned by several
// switches keeps the reading nearest its ingress (the first on a tie); entries of
// no flow are counted; other messages are ignored; readings carry the reply's time
// and source and the entry's counters and age.
func TestIngest(t *testing.T) {
	// Flow 7 crosses switches 1, 2, 3; flow 8 crosses 3 only. Cookies are flow ids.
	paths := map[uint64][]uint64{7: {1, 2, 3}, 8: {3}}
	resolve := func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
		for i, d := range paths[e.Cookie] {
			if d == dpid {
				return e.Cookie, i, true
			}
		}
		return 0, 0, false
	}
	at1, at2 := t0, t0.Add(time.Millisecond)
	replies := []Reply{
		{DPID: 3, Source: stats.SourcePollAll, At: at1, Msgs: []ofproto.Message{
			flowReply(ofproto.FlowStats{Cookie: 7, ByteCount: 300, PacketCount: 3, DurationSec: 2, DurationNsec: 5},
				ofproto.FlowStats{Cookie: 8, ByteCount: 80, PacketCount: 1},
				ofproto.FlowStats{Cookie: 99, ByteCount: 1}), // no such flow
			&ofproto.StatsReply{Body: &ofproto.PortStatsReply{}}, // not flow statistics
			&ofproto.EchoReply{},
		}},
		{DPID: 2, Source: stats.SourcePollAll, At: at2, Msgs: []ofproto.Message{
			flowReply(ofproto.FlowStats{Cookie: 7, ByteCount: 310, PacketCount: 4},
				ofproto.FlowStats{Cookie: 8, ByteCount: 1}), // 8 is not on switch 2
		}},
		{DPID: 2, Source: stats.SourcePollSingle, At: at2, Msgs: []ofproto.Message{
			flowReply(ofproto.FlowStats{Cookie: 7, ByteCount: 999}), // same hop: the first stays
		}},
	}
	got, unmatched := Ingest(nil, replies, resolve)
	assert.Equal(t, 2, unmatched)
	require.Len(t, got, 2)
	assert.Equal(t, stats.Reading{Flow: 7, DPID: 2, Bytes: 310, Packets: 4, At: at2, Source: stats.SourcePollAll}, got[0])
	assert.Equal(t, stats.Reading{Flow: 8, DPID: 3, Bytes: 80, Packets: 1, At: at1, Source: stats.SourcePollAll}, got[1])

	// dst is appended to.
	pre := []stats.Reading{{Flow: 1}}
	got, _ = Ingest(pre, replies[:1], resolve)
	require.Len(t, got, 3)
	assert.Equal(t, uint64(1), got[0].Flow)
	assert.Equal(t, 2*time.Second+5, got[1].Duration)

	got, unmatched = Ingest(nil, nil, resolve)
	assert.Empty(t, got)
	assert.Zero(t, unmatched)
}

// TestIngestWarm: with Warm set, every entry is warmed before it is resolved, at
// most one run ahead, once a pass and each pass over the whole run before the
// next, and the readings are those of Ingest without it, over several runs and a
// partial last one.
func TestIngestWarm(t *testing.T) {
	var replies []Reply
	for s := uint64(1); s <= 7; s++ {
		var es []ofproto.FlowStats
		for f := s; f <= 2000; f += 3 {
			es = append(es, ofproto.FlowStats{Cookie: f, ByteCount: f * s})
		}
		replies = append(replies, Reply{DPID: s, At: t0, Msgs: []ofproto.Message{flowReply(es[:len(es)/2]...), flowReply(es[len(es)/2:]...)}})
	}
	type key struct {
		dpid uint64
		e    *ofproto.FlowStats
	}
	const passes = 3
	warmed := map[key]int{}     // the entry's first warm, in order of first warms
	passesOf := map[key][]int{} // the passes each entry was warmed in
	var seq []int               // the pass of every warm, in order
	resolved, warms := 0, 0
	resolve := func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
		w, ok := warmed[key{dpid, e}]
		require.True(t, ok, "entry resolved before it was warmed")
		require.Equal(t, []int{0, 1, 2}, passesOf[key{dpid, e}], "passes before resolve")
		assert.Less(t, resolved-w, warmRun, "warmed more than a run ahead")
		resolved++
		return e.Cookie, int((dpid + e.Cookie) % 5), e.Cookie%11 != 0
	}
	g := Ingester{WarmPasses: passes, Warm: func(pass int, dpid uint64, e *ofproto.FlowStats) {
		k := key{dpid, e}
		if pass == 0 {
			warmed[k] = warms
			warms++
		}
		passesOf[k] = append(passesOf[k], pass)
		seq = append(seq, pass)
	}}
	got, unmatched := g.Ingest(nil, replies, resolve)
	want, wantUnmatched := Ingest(nil, replies, func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
		return e.Cookie, int((dpid + e.Cookie) % 5), e.Cookie%11 != 0
	})
	assert.Equal(t, want, got)
	assert.Equal(t, wantUnmatched, unmatched)
	assert.Equal(t, warms, resolved)
	// The warms come run by run: n of pass 0, then n of pass 1, n of pass 2.
	for rest := seq; len(rest) > 0; {
		n := slices.Index(rest, 1)
		require.Positive(t, n)
		require.LessOrEqual(t, n, warmRun)
		for p := range passes {
			for _, got := range rest[p*n : (p+1)*n] {
				require.Equal(t, p, got)
			}
		}
		rest = rest[passes*n:]
	}
	// The working memory is kept, and emptied.
	clear(warmed)
	clear(passesOf)
	resolved, warms = 0, 0
	got, _ = g.Ingest(got[:0], replies[:1], resolve)
	assert.NotEmpty(t, got)
	assert.Empty(t, g.run)
}

// TestIngesterAddInParts: a round's replies added a switch at a time, in any
// grouping, give the readings and unmatched count of Ingest over all of them at
// once; a later, much smaller round lets go of the table the large one grew.
func TestIngesterAddInParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	resolve := func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
		return e.Cookie, int((dpid*7 + e.Cookie) % 4), e.Cookie%13 != 0
	}
	for trial := range 20 {
		var replies []Reply
		for s := uint64(1); s <= uint64(2+rng.IntN(10)); s++ {
			var es []ofproto.FlowStats
			for range rng.IntN(300) {
				f := 1 + rng.Uint64N(500)
				es = append(es, ofproto.FlowStats{Cookie: f, ByteCount: f*100 + s, PacketCount: s})
			}
			replies = append(replies, Reply{DPID: s, At: t0.Add(time.Duration(s) * time.Millisecond), Msgs: []ofproto.Message{flowReply(es...)}})
		}
		want, wantUnmatched := Ingest([]stats.Reading{{Flow: 1}}, replies, resolve)
		var g Ingester
		if trial%2 == 1 {
			g.Warm = func(int, uint64, *ofproto.FlowStats) {}
		}
		g.Begin([]stats.Reading{{Flow: 1}})
		unmatched := 0
		for rest := replies; len(rest) > 0; {
			k := 1 + rng.IntN(min(len(rest), 3))
			unmatched += g.Add(rest[:k], resolve)
			rest = rest[k:]
		}
		got := g.End()
		require.Equal(t, want, got, "trial %d", trial)
		require.Equal(t, wantUnmatched, unmatched, "trial %d", trial)
		require.Zero(t, g.seen.Len(), "the table is emptied for the next round")
	}

	// A round of 10,000 flows, then one of 10: the table is let go of.
	var g Ingester
	var es []ofproto.FlowStats
	for f := uint64(1); f <= 10_000; f++ {
		es = append(es, ofproto.FlowStats{Cookie: f})
	}
	big := []Reply{{DPID: 1, Msgs: []ofproto.Message{flowReply(es...)}}}
	small := []Reply{{DPID: 1, Msgs: []ofproto.Message{flowReply(es[:10]...)}}}
	got, _ := g.Ingest(nil, big, resolve)
	require.Len(t, got, 10_000-10_000/13)
	require.NotZero(t, g.seen.Slots(), "kept for the next round")
	_, _ = g.Ingest(nil, big, resolve)
	require.NotZero(t, g.seen.Slots(), "a round of the same size keeps it")
	got, _ = g.Ingest(nil, small, resolve)
	require.Len(t, got, 10)
	require.Zero(t, g.seen.Slots(), "a round far smaller lets it go")
}

func TestRemoved(t *testing.T) {
	ev := flowtracker.Event{Kind: flowtracker.EventExpired, ID: 5, DPIDs: []uint64{4, 2}, Time: t0, HasFinal: true,
		Final: flowtracker.Counters{Bytes: 1000, Packets: 10, DurationSec: 3, DurationNsec: 7}}
	r, ok := Removed(ev)
	require.True(t, ok)
	assert.Equal(t, stats.Reading{Flow: 5, DPID: 4, Bytes: 1000, Packets: 10, Duration: 3*time.Second + 7,
		At: t0, Source: stats.SourceFlowRemoved}, r)
	for _, bad := range []flowtracker.Event{
		{Kind: flowtracker.EventExpired, ID: 5, DPIDs: []uint64{4}, Time: t0},                 // no final counters
		{Kind: flowtracker.EventExpired, ID: 5, Time: t0, HasFinal: true},                     // no path
		{Kind: flowtracker.EventArrived, ID: 5, DPIDs: []uint64{4}, Time: t0, HasFinal: true}, // not an expiry
	} {
		_, ok := Removed(bad)
		assert.False(t, ok, "%+v", bad)
	}
}
