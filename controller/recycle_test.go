package controller

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/internal/gcload"
	"github.com/cemon-sdn/cemon/ofproto"
)

// flowStatsReply encodes a flow statistics reply of n entries, each with an output
// action, their counters numbered from base.
func flowStatsReply(t testing.TB, n int, base uint64) []byte {
	t.Helper()
	es := make([]ofproto.FlowStats, n)
	for i := range es {
		es[i] = ofproto.FlowStats{Cookie: base + uint64(i), PacketCount: base + uint64(i), ByteCount: 100 * (base + uint64(i)),
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: ofproto.PortNo(i%4 + 1)}}}
	}
	b, err := ofproto.AppendMarshal(nil, &ofproto.StatsReply{Xid: 7, Body: &ofproto.FlowStatsReply{Entries: es}})
	require.NoError(t, err)
	return b
}

// A reply given back with Recycle lends its entry array to the next reply decoded,
// which decodes whole, and keeps nothing of the first one's entries.
func TestRecycleReusesEntries(t *testing.T) {
	var d decoder
	c := New(Config{}, nil)
	for range 20 { // other tests share the pools: one reuse in 20 will do
		m, _, err := d.decode(flowStatsReply(t, 100, 1))
		require.NoError(t, err)
		first := m.(*ofproto.StatsReply).Body.(*ofproto.FlowStatsReply)
		arr := &first.Entries[:1][0]
		kept := first.Entries
		c.Recycle([]ofproto.Message{m, &ofproto.EchoReply{}})
		require.Nil(t, first.Entries, "the recycled reply still names its entries")
		require.Nil(t, kept[0].Actions, "a pooled entry keeps its actions alive")

		m2, _, err := d.decode(flowStatsReply(t, 95, 1000)) // the same size class (95 to 118)
		require.NoError(t, err)
		got := m2.(*ofproto.StatsReply).Body.(*ofproto.FlowStatsReply).Entries
		require.Len(t, got, 95)
		for i, e := range got {
			require.Equal(t, uint64(1000+i), e.Cookie)
			require.Equal(t, 100*uint64(1000+i), e.ByteCount)
			require.Len(t, e.Actions, 1)
		}
		if &got[0] == arr {
			return
		}
	}
	t.Fatal("no decoded reply reused a recycled array in 20 tries")
}

// The pools together keep at most their budget of entries' worth of arrays,
// however many come back, and what they keep is handed out again.
func TestRecyclePoolsBounded(t *testing.T) {
	k := len(entryClasses) - 20 // a class of hundreds of entries: no other test's replies
	size := entryClasses[k]
	before := pooled.Load()
	budget := before + int64(5*size+size/2) // room for five more arrays of the class
	poolBudget.Store(budget)
	defer poolBudget.Store(0)
	for range 8 {
		a := make([]ofproto.FlowStats, 3, size)
		a[0].Cookie = 1
		putEntries(a)
		require.LessOrEqual(t, pooled.Load(), budget)
	}
	require.Equal(t, before+int64(5*size), pooled.Load(), "five arrays kept")
	for range 5 {
		a := getEntries(size - 1) // the same class
		require.Empty(t, a)
		require.Equal(t, size, cap(a))
		require.Zero(t, a[:3][0].Cookie, "a pooled array is cleared")
	}
	require.Equal(t, before, pooled.Load())
}

func TestRecycleLeavesOtherMessages(t *testing.T) {
	ports := &ofproto.PortStatsReply{Entries: []ofproto.PortStats{{PortNo: 1}}}
	msgs := []ofproto.Message{&ofproto.StatsReply{Body: ports}, nil}
	New(Config{}, nil).Recycle(msgs)
	require.Len(t, ports.Entries, 1)
	require.Equal(t, []ofproto.Message{nil, nil}, msgs)
}

// BenchmarkDecodeFlowStats decodes a flow statistics reply of n entries as the
// reader does, with its memory freshly allocated or recycled from the last one.
func BenchmarkDecodeFlowStats(b *testing.B) {
	for _, n := range []int{1, 100, 500} {
		for _, recycle := range []bool{false, true} {
			b.Run(fmt.Sprintf("entries=%d/recycle=%v", n, recycle), func(b *testing.B) {
				decodeFlowStats(b, n, recycle)
			})
		}
		b.Run(fmt.Sprintf("entries=%d/recycle=true,gc", n), func(b *testing.B) {
			defer gcload.MarkThroughout(1 << 20)() // a million small objects to mark
			decodeFlowStats(b, n, true)
		})
	}
}

func decodeFlowStats(b *testing.B, n int, recycle bool) {
	var d decoder
	c := New(Config{}, nil)
	msg := flowStatsReply(b, n, 1)
	msgs := make([]ofproto.Message, 1)
	b.ReportAllocs()
	for b.Loop() {
		m, _, err := d.decode(msg)
		if err != nil {
			b.Fatal(err)
		}
		if recycle {
			msgs[0] = m
			c.Recycle(msgs)
		}
	}
}
