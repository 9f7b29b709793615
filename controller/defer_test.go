package controller

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// order records the last byte of the Ethernet source of every PACKET_IN it sees, in
// the order the controller handled them.
type order struct {
	BaseApp
	mu   sync.Mutex
	srcs []byte
}

func (o *order) Name() string { return "order" }

func (o *order) PacketIn(_ *Context, _ Switch, m *ofproto.PacketIn, _ time.Time) Verdict {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.srcs = append(o.srcs, m.Data[11])
	return Continue
}

func (o *order) seen() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]byte(nil), o.srcs...)
}

// packetInFrom is a PACKET_IN on port 1 of a new UDP flow from source i.
func packetInFrom(i byte, seq int) *ofproto.PacketIn {
	src := ofproto.MAC{0x02, 0, 0, 0, 1, i}
	data := udpFrame(src, ofproto.MAC{0x02, 0, 0, 0, 2, 1}, netip.AddrFrom4([4]byte{10, 1, 0, i}),
		netip.AddrFrom4([4]byte{10, 2, 0, 1}), uint16(1000+seq), 4000, 0, 10)
	return &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(data)), InPort: 1,
		Reason: ofproto.ReasonNoMatch, Data: data}
}

func encodeAll(t *testing.T, ms ...ofproto.Message) []byte {
	var out []byte
	for _, m := range ms {
		b, err := m.MarshalBinary()
		require.NoError(t, err)
		out = append(out, b...)
	}
	return out
}

// TestDeferredPacketIns: over a real connection, the PACKET_INs of a source the budget
// marks heavy, read in one batch interleaved with another source's, are handled after
// the other's; and they are handled (not lost) once nothing else waits.
func TestDeferredPacketIns(t *testing.T) {
	// A budget that never blocks (a huge bucket), so that the heavy source stays heavy.
	budget := &PacketInBudget{Rate: 10, Burst: 1e6, Relative: 2}
	rec := &order{}
	c, addr := serve(t, Config{Apps: []App{budget, rec}})
	w := dialSwitch(t, addr, 1, 1)
	require.Eventually(t, func() bool { return len(c.Switches()) == 1 }, 5*time.Second, 5*time.Millisecond)

	// Source 1 alone, 100 new flows at once: heavy after its first ten.
	var first []ofproto.Message
	for i := range 100 {
		first = append(first, packetInFrom(1, i))
	}
	w.mu.Lock()
	_, err := w.conn.Write(encodeAll(t, first...))
	w.mu.Unlock()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rec.seen()) == 100 }, 5*time.Second, 5*time.Millisecond,
		"deferred PACKET_INs are handled once the connection is idle")
	require.Positive(t, c.NetStats().BudgetDeferred)

	// Source 1 and source 2 interleaved in one write: source 2's first.
	var mixed []ofproto.Message
	for i := range 10 {
		mixed = append(mixed, packetInFrom(1, 100+i), packetInFrom(2, i))
	}
	w.mu.Lock()
	_, err = w.conn.Write(encodeAll(t, mixed...))
	w.mu.Unlock()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rec.seen()) == 120 }, 5*time.Second, 5*time.Millisecond)
	got := rec.seen()[100:]
	assert.Equal(t, []byte{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, got,
		"the other source's PACKET_INs first")
	assert.Zero(t, c.NetStats().BudgetDeferDrops)
}

// TestDeferPacketInBound: a connection holds back at most maxDeferred PACKET_INs of
// heavy sources; past it they are dropped and counted, still charged to the source.
// Other sources' PACKET_INs and other messages are not held back.
func TestDeferPacketInBound(t *testing.T) {
	budget := &PacketInBudget{Rate: 10, Burst: 1e6}
	c := New(Config{Apps: []App{Discovery, budget, Routing}}, nil)
	now := time.Now()
	c.now = func() time.Time { return now }
	cn := &conn{s: &session{dpid: 1}}
	heavy, _ := sourceOf(1, packetInFrom(1, 0))
	budget.charge(heavy, now).rate = 1000

	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range maxDeferred + 44 {
		pi := packetInFrom(1, i)
		require.True(t, c.deferPacketIn(cn, pi, encodeAll(t, pi)), "PACKET_IN %d", i)
	}
	require.Len(t, cn.deferred, maxDeferred)
	require.EqualValues(t, maxDeferred, c.core.stats.BudgetDeferred)
	require.EqualValues(t, 44, c.core.stats.BudgetDeferDrops)
	require.Greater(t, budget.buckets[heavy].rate, 1000.0, "dropped ones are charged")

	other := packetInFrom(2, 0)
	require.False(t, c.deferPacketIn(cn, other, encodeAll(t, other)), "a light source")
	require.False(t, c.deferPacketIn(cn, &ofproto.EchoRequest{}, nil), "not a PACKET_IN")
	short := &ofproto.PacketIn{InPort: 1, Data: []byte{1, 2, 3}}
	require.False(t, c.deferPacketIn(cn, short, encodeAll(t, short)), "no Ethernet header")

	// A blocked source is not held back: the budget stops it at once.
	budget.buckets[heavy].blockedUntil = now.Add(time.Second)
	pi := packetInFrom(1, 0)
	require.False(t, c.deferPacketIn(cn, pi, encodeAll(t, pi)))
	// Nor is anything without a budget.
	budget.buckets[heavy].blockedUntil = time.Time{}
	budget.Rate = 0
	require.False(t, c.deferPacketIn(cn, pi, encodeAll(t, pi)))
}

// BenchmarkDeferPacketIn: the reader's check of a PACKET_IN from a light source (the
// common case: it is handled at once).
func BenchmarkDeferPacketIn(b *testing.B) {
	budget := &PacketInBudget{Rate: 10, Burst: 1e6}
	c := New(Config{Apps: []App{Discovery, budget, Routing}}, nil)
	cn := &conn{s: &session{dpid: 1}}
	pi := packetInFrom(2, 0)
	raw, _ := pi.MarshalBinary()
	budget.charge(budgetKey{dpid: 1, port: 1, mac: ofproto.MAC{0x02, 0, 0, 0, 1, 2}}, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if c.deferPacketIn(cn, pi, raw) {
			b.Fatal("deferred")
		}
	}
}
