package store

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/stats"
)

var (
	tt0    = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	hostA  = stats.HostID{MAC: [6]byte{5: 1}, IP: netip.MustParseAddr("10.0.0.1")}
	hostB  = stats.HostID{MAC: [6]byte{5: 2}, IP: netip.MustParseAddr("2001:db8::2")}
	hostC  = stats.HostID{MAC: [6]byte{5: 3}} // no IP
	path2  = []stats.Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 3, OutPort: 1}}
	flowAB = stats.FlowTotal{ID: 42, Src: hostA, Dst: hostB, Path: path2, Start: tt0, Bytes: 1000, Packets: 10,
		MarkBytes: 600, MarkPackets: 6, Resets: 1}
)

func TestFlowTotalRecord(t *testing.T) {
	for _, f := range []stats.FlowTotal{flowAB, {ID: 1, Src: hostC, Dst: hostC, Start: tt0, End: tt0.Add(time.Second)}} {
		got, err := DecodeFlowTotal(AppendFlowTotal(nil, &f))
		require.NoError(t, err)
		if len(f.Path) == 0 {
			f.Path = []stats.Hop{}
		}
		assert.Equal(t, f, got)
	}
	b := AppendFlowTotal(nil, &flowAB)
	for n := 0; n < len(b); n++ {
		_, err := DecodeFlowTotal(b[:n])
		assert.ErrorIs(t, err, ErrBadRecord, "truncated at %d", n)
	}
}

func FuzzFlowTotalRecord(f *testing.F) {
	f.Add(AppendFlowTotal(nil, &flowAB))
	f.Add([]byte{totalsVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		ft, err := DecodeFlowTotal(b)
		if err != nil {
			return
		}
		again, err := DecodeFlowTotal(AppendFlowTotal(nil, &ft))
		require.NoError(t, err)
		require.Equal(t, ft, again)
	})
}

// TestTotalsAcrossReopen saves totals whole, then a change on top, reopens the file
// and reads them back; a whole write drops what is no longer given.
func TestTotalsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	require.NoError(t, err)
	lnk := stats.Link{SrcDPID: 1, SrcPort: 2, DstDPID: 2, DstPort: 3}
	tot := stats.Totals{At: tt0, Flows: []stats.FlowTotal{flowAB},
		Links: []stats.LinkTotal{{Link: lnk, Bytes: 1000}},
		Pairs: []stats.PairTotal{{Pair: stats.Pair{Src: hostA, Dst: hostB}, Bytes: 1000, Touched: tt0}},
		Hosts: []stats.HostTotal{{Host: hostA, SentBytes: 1000, Touched: tt0}, {Host: hostB, ReceivedBytes: 1000, Touched: tt0}}}
	require.NoError(t, st.SaveTotals(tot, true))
	more := flowAB
	more.Bytes = 2000
	require.NoError(t, st.SaveTotals(stats.Totals{At: tt0.Add(time.Second), Flows: []stats.FlowTotal{more},
		Hosts: []stats.HostTotal{{Host: hostA, SentBytes: 2000, Touched: tt0.Add(time.Second)}}}, false))
	require.NoError(t, st.Close())

	st, err = Open(dir)
	require.NoError(t, err)
	defer st.Close()
	got, bad, err := st.LoadTotals()
	require.NoError(t, err)
	assert.Zero(t, bad)
	assert.Equal(t, tt0.Add(time.Second), got.At)
	require.Len(t, got.Flows, 1)
	assert.EqualValues(t, 2000, got.Flows[0].Bytes)
	assert.Equal(t, tot.Links, got.Links)
	assert.Equal(t, tot.Pairs, got.Pairs)
	assert.ElementsMatch(t, []stats.HostTotal{{Host: hostA, SentBytes: 2000, Touched: tt0.Add(time.Second)},
		{Host: hostB, ReceivedBytes: 1000, Touched: tt0}}, got.Hosts)

	ended := more
	ended.End = tt0.Add(2 * time.Second)
	require.NoError(t, st.SaveTotals(stats.Totals{At: tt0.Add(2 * time.Second), Flows: []stats.FlowTotal{ended}}, false))
	got, _, err = st.LoadTotals()
	require.NoError(t, err)
	assert.Empty(t, got.Flows, "an ended flow is dropped: its bytes are in its cells and hosts")
	assert.Len(t, got.Hosts, 2)

	require.NoError(t, st.SaveTotals(stats.Totals{At: tt0}, true))
	got, _, err = st.LoadTotals()
	require.NoError(t, err)
	assert.Empty(t, got.Flows)
	assert.Empty(t, got.Hosts)
}

// TestPersistTotals runs the writer on a live statistics store: a restart (a new
// store restored from the file) continues the host totals.
func TestPersistTotals(t *testing.T) {
	st, err := Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	src, err := stats.New(stats.Config{})
	require.NoError(t, err)
	require.NoError(t, src.AddFlow(stats.FlowInfo{ID: 1, Src: hostA, Dst: hostB, Path: path2, Start: tt0}))
	_, err = src.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: 500, Packets: 5, At: tt0.Add(time.Second), Source: stats.SourcePollAll})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := st.PersistTotals(ctx, src, 10*time.Millisecond, 0, func(err error) { t.Error(err) })
	time.Sleep(50 * time.Millisecond)
	_, err = src.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: 800, Packets: 8, At: tt0.Add(2 * time.Second), Source: stats.SourcePollAll})
	require.NoError(t, err)
	cancel()
	<-done
	tot, _, err := st.LoadTotals()
	require.NoError(t, err)
	again, err := stats.New(stats.Config{})
	require.NoError(t, err)
	require.NoError(t, again.RestoreTotals(tot, tt0.Add(3*time.Second)))
	h, ok := again.HostTraffic(hostA)
	require.True(t, ok)
	assert.EqualValues(t, 800, h.SentBytes)
}
