package controller

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/store"
	"github.com/cemon-sdn/cemon/topology"
)

// saveState is what Persist would have written for the core's current state.
func saveState(c *core) ([]topology.Host, []SavedFlow) {
	var fs []SavedFlow
	c.tracker.Range(func(f flowtracker.Flow) bool {
		if f.State != flowtracker.StateExpired {
			fs = append(fs, SavedFlow{ID: f.ID, Cookie: f.Cookie, Key: f.Key, Path: f.Path(), Start: f.Start})
		}
		return true
	})
	return c.topo.Hosts(), fs
}

// crash replaces the controller by a new one that restores hosts and flows: the
// switches keep their tables and connect again.
func (n *fakeNet) crash(hosts []topology.Host, flows []SavedFlow, high uint64) {
	n.c = newCore(n.c.cfg, slog.New(slog.DiscardHandler))
	n.c.restore(hosts, flows, high)
	n.bySess = map[*session]*fakeSwitch{}
	n.toSwitch, n.toCtl, n.toClose = nil, nil, nil
	for _, sw := range n.sw {
		sw.s = nil
	}
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
}

func packetCounts(sw *fakeSwitch) map[uint64]uint64 {
	out := map[uint64]uint64{}
	for _, e := range sw.table {
		out[e.cookie] += e.packets
	}
	return out
}

func TestRestartAdoptsEntries(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second) // links discovered
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	for range 3 {
		require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	}
	hosts, flows := saveState(n.c)
	require.Len(t, flows, 2, "echo request and echo reply")
	before := map[uint64]map[uint64]uint64{}
	for d, sw := range n.sw {
		before[d] = packetCounts(sw)
	}
	// An entry nobody can account for: another controller's, or one installed after
	// the last save.
	n.sw[2].table = append(n.sw[2].table, &fakeEntry{match: ofproto.MatchAll(), cookie: 0xdead, priority: 5,
		out: []ofproto.PortNo{1}, installed: n.now, hit: n.now})

	n.crash(hosts, flows, 0)

	st := n.c.adopt.stats
	assert.Equal(t, uint64(2), st.FlowsAdopted)
	assert.Equal(t, uint64(6), st.EntriesAdopted, "two flows over three switches")
	assert.Equal(t, uint64(1), st.EntriesDeleted)
	assert.Equal(t, uint64(len(hosts)), st.HostsRestored)
	assert.Len(t, hosts, 2, "h1 and h3")
	for _, f := range flows {
		got, ok := n.c.tracker.ByCookie(f.Cookie)
		require.True(t, ok, "flow %d tracked again", f.ID)
		assert.Equal(t, f.ID, got.ID)
		assert.Equal(t, f.Path, got.Path())
		assert.Equal(t, f.Start, got.Start)
	}
	for d, sw := range n.sw {
		assert.Equal(t, before[d], packetCounts(sw), "s%d: entries kept with their counters, the stranger gone", d)
	}
	// Traffic goes on over the same entries: no PACKET_IN, nothing installed.
	pis := n.c.stats.PacketIns
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	assert.Equal(t, pis, n.c.stats.PacketIns)
	assert.Zero(t, n.c.stats.FlowsInstalled)
	for _, e := range n.sw[1].table {
		assert.Greater(t, e.packets, before[1][e.cookie]-1, "counters continue")
	}
	// A new flow never reuses an adopted cookie.
	h2 := n.hosts["h2"]
	require.Equal(t, "h2 -> h3: ok", n.ping(h2, h3))
	n.c.tracker.Range(func(f flowtracker.Flow) bool {
		if !slices.ContainsFunc(flows, func(s SavedFlow) bool { return s.ID == f.ID }) {
			assert.Greater(t, f.ID, flows[0].ID)
			assert.Greater(t, f.ID, flows[1].ID)
		}
		return true
	})
	// The window closes quietly: nothing left to abandon.
	n.advance(AdoptWindow + time.Second)
	assert.True(t, n.c.adopt.done)
	assert.Zero(t, n.c.adopt.stats.FlowsAbandoned)
}

func TestRestartAbandonsBrokenFlows(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	hosts, flows := saveState(n.c)
	// s3 lost its entries while the controller was away (it restarted, say).
	n.sw[3].table = nil

	n.crash(hosts, flows, 0)
	assert.Zero(t, n.c.adopt.stats.FlowsAdopted)
	assert.Equal(t, 2, len(n.sw[1].table), "kept while the window is open")
	n.advance(AdoptWindow + time.Second)
	assert.Equal(t, uint64(2), n.c.adopt.stats.FlowsAbandoned)
	for _, d := range []uint64{1, 2, 3} {
		assert.Empty(t, n.sw[d].table, "s%d: the abandoned flows' entries are deleted", d)
	}
	assert.Zero(t, n.c.tracker.Len())
	// The next ping installs new flows.
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	assert.Equal(t, 2, n.c.tracker.Len())
}

// TestRestartKeepsTheWrongPathOut: an entry with a saved cookie but another out port
// is not the flow's, and a flow missing one of its entries is not adopted.
func TestRestartRefusesMismatchedEntry(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.linear(2)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	require.Equal(t, "h1 -> h2: ok", n.ping(n.hosts["h1"], n.hosts["h2"]))
	hosts, flows := saveState(n.c)
	n.sw[2].table[0].out = []ofproto.PortNo{3}
	n.crash(hosts, flows, 0)
	assert.Equal(t, uint64(1), n.c.adopt.stats.EntriesDeleted)
	assert.Equal(t, uint64(3), n.c.adopt.stats.EntriesAdopted)
	assert.Equal(t, uint64(1), n.c.adopt.stats.FlowsAdopted)
}

// TestUnknownDestinationResolved: a host that only receives is found by ARP the first
// time traffic is sent to it, and the flow's next packet gets a path.
func TestUnknownDestinationResolved(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	h1.arp[h3.ip] = h3.mac                                                           // h1 still knows h3 from before; h3 never spoke since
	n.hostSend(h1, arpFrame(layers.ARPRequest, h1.mac, h1.ip, ofproto.MAC{}, h1.ip)) // h1 is known
	n.run()
	_, known := n.c.topo.Host(h3.mac)
	require.False(t, known)

	n.hostSend(h1, udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 5000, 5001, 0, 100))
	n.run()
	got, known := n.c.topo.Host(h3.mac)
	require.True(t, known, "h3 answered the controller's ARP request")
	assert.Equal(t, PortRef{3, 1}, PortRef{got.DPID, got.Port})
	assert.Equal(t, uint64(1), n.c.stats.ARPResolves)
	assert.True(t, slices.ContainsFunc(h3.got, func(s string) bool { return strings.HasPrefix(s, "udp") || strings.Contains(s, "UDP") }),
		"the frame itself was flooded to h3: %v", h3.got)

	n.hostSend(h1, udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 5000, 5001, 0, 101))
	n.run()
	assert.Equal(t, 1, n.c.tracker.Len(), "the second packet installs the flow")
	assert.Equal(t, uint64(1), n.c.stats.ARPResolves)
}

// TestPersistRoundTrip: what Persist writes, Restore reads back, and adoption takes.
func TestPersistRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	require.NoError(t, err)
	c := New(Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := c.Persist(ctx, st, 10*time.Millisecond)

	// Drive the controller's core by hand: a two-switch network with one flow.
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.c = c.core
	n.linear(2)
	c.mu.Lock()
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	require.Equal(t, "h1 -> h2: ok", n.ping(n.hosts["h1"], n.hosts["h2"]))
	c.mu.Unlock()
	wantHosts, wantFlows := saveState(c.core)
	require.Eventually(t, func() bool {
		nf := 0
		err := st.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket([]byte(BucketFlows)); b != nil {
				nf = b.Stats().KeyN
			}
			return nil
		})
		hs, err2 := store.List[topology.Host](st, BucketHosts)
		return err == nil && err2 == nil && nf == len(wantFlows) && len(hs) == len(wantHosts)
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-done

	c2 := New(Config{}, nil)
	nh, nf, err := c2.Restore(st)
	require.NoError(t, err)
	assert.Equal(t, len(wantHosts), nh)
	assert.Equal(t, len(wantFlows), nf)
	require.NoError(t, st.Close())
	a := c2.core.adopt
	for _, f := range wantFlows {
		got, ok := a.flows[f.Cookie]
		require.True(t, ok)
		assert.Equal(t, f.Key, got.Key)
		assert.Equal(t, f.Path, got.Path)
		assert.True(t, f.Start.Equal(got.Start))
	}
	var restored []topology.Host
	for _, hs := range a.hosts {
		restored = append(restored, hs...)
	}
	assert.Len(t, restored, len(wantHosts))
	// IDs up to the saved high-water mark (plus a margin) are never issued again.
	h, _, err := c2.core.tracker.Add(flowtracker.Key{NWProto: 99}, []flowtracker.Hop{{DPID: 1}}, t0)
	require.NoError(t, err)
	assert.Greater(t, h.ID, uint64(idMargin))
}

func TestSavedFlowRecord(t *testing.T) {
	f := SavedFlow{ID: 42, Cookie: 0x1234<<48 | 42, Start: time.Unix(1700000000, 123456789).UTC(),
		Key: flowtracker.Key{DLSrc: [6]byte{1, 2, 3, 4, 5, 6}, DLDst: [6]byte{6, 5, 4, 3, 2, 1}, NWSrc: [4]byte{10, 0, 0, 1},
			NWDst: [4]byte{10, 0, 0, 2}, DLVLAN: 0xffff, DLType: 0x0800, TPSrc: 5000, TPDst: 5001, DLVLANPCP: 3, NWTos: 0x20, NWProto: 17},
		Path: []flowtracker.Hop{{DPID: 1, InPort: 1, OutPort: 3}, {DPID: 0xffff_0000_0000_0002, InPort: 2, OutPort: 65279}}}
	b := appendSavedFlow(nil, &f)
	assert.Len(t, b, savedFlowFixed+24)
	got, err := decodeSavedFlow(b)
	require.NoError(t, err)
	assert.Equal(t, f, got)
	for _, bad := range [][]byte{nil, b[:savedFlowFixed-1], b[:len(b)-1], append(slices.Clone(b), 0),
		append([]byte{2}, b[1:]...)} {
		_, err := decodeSavedFlow(bad)
		assert.ErrorIs(t, err, errSavedFlow)
	}
}

func FuzzSavedFlowRecord(f *testing.F) {
	f.Add(appendSavedFlow(nil, &SavedFlow{ID: 1, Cookie: 1, Path: []flowtracker.Hop{{DPID: 1, InPort: 1, OutPort: 2}}}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := decodeSavedFlow(b)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes.
		if again := appendSavedFlow(nil, &sf); string(again) != string(b) {
			t.Fatalf("re-encoded %x, read %x", again, b)
		}
	})
}
