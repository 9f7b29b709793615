package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/cluster/etcdtest"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

func forwardSamples() []ofproto.Message {
	return []ofproto.Message{
		&ofproto.FlowMod{Xid: 7, Match: ofproto.MatchAll(), Command: ofproto.FlowAdd, Cookie: 5<<40 | 9, IdleTimeout: 10,
			Priority: 100, BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: 2}}},
		&ofproto.PacketOut{Xid: 8, BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: 1}}, Data: bytes.Repeat([]byte{0xab}, 60)},
	}
}

func TestForwardFrames(t *testing.T) {
	var b []byte
	var err error
	for i, m := range forwardSamples() {
		b, err = appendForward(b, uint64(i+1), m)
		require.NoError(t, err)
	}
	rest := b
	for i, want := range forwardSamples() {
		var d uint64
		var m ofproto.Message
		d, m, rest, err = decodeForward(rest)
		require.NoError(t, err)
		assert.Equal(t, uint64(i+1), d)
		assert.Equal(t, want, m)
	}
	assert.Empty(t, rest)
	// The stream reader agrees, and tells a cut frame from a clean end.
	r := bufio.NewReader(bytes.NewReader(b))
	for range forwardSamples() {
		_, _, err := readForward(r)
		require.NoError(t, err)
	}
	_, _, err = readForward(r)
	assert.ErrorIs(t, err, io.EOF)
	_, _, err = readForward(bufio.NewReader(bytes.NewReader(b[:len(b)-1])))
	require.NoError(t, err, "the first frame is whole")
	r = bufio.NewReader(bytes.NewReader(b[:30]))
	_, _, err = readForward(r)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)

	for _, tc := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"short", b[:10], io.ErrUnexpectedEOF},
		{"bad version", append(append([]byte{}, b[:8]...), 0x04, 0, 0, 8, 0, 0, 0, 0), ErrForwardFrame},
		{"length below the header", append(append([]byte{}, b[:8]...), 0x01, 0, 0, 4, 0, 0, 0, 0), ErrForwardFrame},
		{"undecodable body", append(append([]byte{}, b[:8]...), 0x01, 14, 0, 9, 0, 0, 0, 0, 0), ErrForwardFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := decodeForward(tc.in)
			assert.True(t, errors.Is(err, tc.err), "%v", err)
		})
	}
}

// FuzzDecodeForward: never panics; what decodes re-encodes to the same frame.
func FuzzDecodeForward(f *testing.F) {
	for i, m := range forwardSamples() {
		b, err := appendForward(nil, uint64(i), m)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, m, rest, err := decodeForward(b)
		if err != nil {
			return
		}
		out, err := appendForward(nil, d, m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		d2, m2, _, err := decodeForward(out)
		if err != nil || d2 != d || m2.Len() != m.Len() {
			t.Fatalf("round trip: %v", err)
		}
		if len(rest) > len(b) {
			t.Fatal("rest grew")
		}
	})
}

// TestForwardToMasterAndShareTopology: writes an instance cannot send (it is a
// slave) reach the switch's master, which sends them; LLDP probes are not forwarded;
// each instance learns the links and hosts the others discovered at their switches.
func TestForwardToMasterAndShareTopology(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	all := []uint64{1, 2}
	actl, bctl := newFakeCtl(all...), newFakeCtl(all...)
	// a masters 1 and learned the link 2->1 and a host on 1; b masters 2.
	actl.links = []topology.Link{{SrcDPID: 2, SrcPort: 2, DstDPID: 1, DstPort: 2}, {SrcDPID: 1, SrcPort: 2, DstDPID: 2, DstPort: 2}}
	actl.hosts = []topology.Host{{MAC: [6]byte{0, 0, 0, 0, 0, 1}, DPID: 1, Port: 1}, {MAC: [6]byte{0, 0, 0, 0, 0, 2}, DPID: 2, Port: 1}}
	a := startInstance(t, etcd.Endpoints(), "a", hopsNear(all, 1), actl)
	b := startInstance(t, etcd.Endpoints(), "b", hopsNear(all, 2), bctl)
	require.Eventually(t, func() bool {
		return slices.Equal(actl.mastered(), []uint64{1}) && slices.Equal(bctl.mastered(), []uint64{2})
	}, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		bctl.mu.Lock()
		defer bctl.mu.Unlock()
		return len(bctl.remoteL) == 1 && len(bctl.remoteH) == 1
	}, 5*time.Second, 20*time.Millisecond)
	bctl.mu.Lock()
	assert.Equal(t, uint64(1), bctl.remoteL[0].DstDPID, "only what a saw first-hand: the link into its switch")
	assert.Equal(t, uint64(1), bctl.remoteH[0].DPID)
	bctl.mu.Unlock()

	lldp := &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: 1}}, Data: topology.BuildLLDP(2, 1, [6]byte{2, 0, 0, 0, 0, 1})}
	a.node.Forward(2, lldp)
	for _, m := range forwardSamples() {
		a.node.Forward(2, m)
	}
	a.node.Forward(1, forwardSamples()[0]) // its own switch: nothing to forward
	require.Eventually(t, func() bool {
		bctl.mu.Lock()
		defer bctl.mu.Unlock()
		return len(bctl.sent) == 2
	}, 5*time.Second, 20*time.Millisecond)
	bctl.mu.Lock()
	assert.Equal(t, []string{"2 OFPT_FLOW_MOD", "2 OFPT_PACKET_OUT"}, bctl.sent)
	bctl.mu.Unlock()
	assert.Equal(t, uint64(2), a.node.ForwardStats().Sent)
	assert.Equal(t, uint64(1), a.node.ForwardStats().Dropped)
	assert.Equal(t, uint64(2), b.node.ForwardStats().Received)
}
