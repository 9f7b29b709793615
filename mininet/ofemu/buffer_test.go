package ofemu

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// TestBufferRelease: a FLOW_MOD naming a buffer installs its entry and sends the
// packet through it (counted on its output port); a PACKET_OUT naming
// a buffer sends that packet; a buffer released already is answered with
// BUFFER_EMPTY, an id the switch never gives with BUFFER_UNKNOWN; ids cycle.
func TestBufferRelease(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	emu, err := New(Config{Controller: ln.Addr().String(), Switches: 1, HostPorts: 2})
	require.NoError(t, err)
	sw := emu.Switches()[0]
	sw.buffers = newPktBuffers(3)
	go func() { _ = emu.Start(context.Background()) }()
	cc := accept(t, ln)
	defer emu.Close()
	require.Equal(t, uint32(3), cc.recvFeatures().NBuffers)

	pkt := frame(make([]byte, 64), sw.DPID, 0, 10, 0)
	id := sw.buffers.put(append([]byte(nil), pkt...), 1)
	fm := flowMods(1)[0]
	fm.BufferID = id
	cc.send(fm)
	cc.barrier()
	st := sw.Stats()
	require.Equal(t, uint64(1), st.BuffersReleased)
	require.Zero(t, st.BufferErrors)
	require.Len(t, sw.Entries(), 1)
	ps := cc.stats(&ofproto.PortStatsRequest{PortNo: 1})[0].Body.(*ofproto.PortStatsReply).Entries[0]
	require.Equal(t, uint64(1), ps.TxPackets, "the buffered packet left by the entry's output port")

	errOf := func(m ofproto.Message) *ofproto.ErrorMsg {
		xid := cc.send(m)
		return cc.recv(func(m ofproto.Message) bool { e, ok := m.(*ofproto.ErrorMsg); return ok && e.Xid == xid }).(*ofproto.ErrorMsg)
	}
	out := []ofproto.Action{&ofproto.OutputAction{Port: 2}}
	e := errOf(&ofproto.PacketOut{BufferID: id, InPort: 1, Actions: out})
	require.Equal(t, ofproto.ErrTypeBadRequest, e.ErrType)
	require.Equal(t, ofproto.BadRequestBufferEmpty, e.Code)
	e = errOf(&ofproto.PacketOut{BufferID: 7, InPort: 1, Actions: out})
	require.Equal(t, ofproto.BadRequestBufferUnknown, e.Code)

	ids := []uint32{sw.buffers.put(pkt, 1), sw.buffers.put(pkt, 1), sw.buffers.put(pkt, 1)}
	require.Equal(t, []uint32{1, 2, 0}, ids, "ids cycle through the buffers")
	cc.send(&ofproto.PacketOut{BufferID: 2, InPort: 1, Actions: out})
	cc.barrier()
	st = sw.Stats()
	require.Equal(t, uint64(2), st.BuffersReleased)
	require.Equal(t, uint64(2), st.BufferErrors)
	ps = cc.stats(&ofproto.PortStatsRequest{PortNo: 2})[0].Body.(*ofproto.PortStatsReply).Entries[0]
	require.Equal(t, uint64(1), ps.TxPackets, "the PACKET_OUT's buffered packet left by port 2")
}

// TestLatencyOnePerResponse: in latency mode the first response to the outstanding
// PACKET_IN frees its slot; a second response to the same one (a PACKET_OUT after
// the FLOW_MOD) frees nothing, so the switch never has two outstanding.
func TestLatencyOnePerResponse(t *testing.T) {
	for _, buffered := range []bool{true, false} {
		b := &benchState{slots: make(chan struct{}, 1), buffered: buffered}
		free := func() bool {
			select {
			case <-b.slots:
				return true
			default:
				return false
			}
		}
		var fm *ofproto.FlowMod
		var po *ofproto.PacketOut
		var data []byte
		tag := uint32(5)
		if buffered {
			fm = &ofproto.FlowMod{Command: ofproto.FlowAdd, BufferID: 5, Match: ofproto.MatchAll()}
			po = &ofproto.PacketOut{BufferID: 5}
		} else {
			data = frame(make([]byte, 64), 1, 5, 10, 0)
			m := ofproto.Match{Wildcards: ofproto.WildAll &^ ofproto.WildDLSrc}
			copy(m.DLSrc[:], data[6:12])
			fm = &ofproto.FlowMod{Command: ofproto.FlowAdd, BufferID: ofproto.BufferNone, Match: m}
			po = &ofproto.PacketOut{BufferID: ofproto.BufferNone, Data: data}
		}
		b.sentOne(tag)
		b.response(nil, fm)
		require.True(t, free(), "buffered %v: the FLOW_MOD answers the PACKET_IN", buffered)
		b.sentOne(tag + 1)
		b.response(nil, po)
		require.False(t, free(), "buffered %v: the PACKET_OUT of the answered one frees no slot", buffered)
		b.response(nil, &ofproto.FlowMod{Command: ofproto.FlowAdd, BufferID: ofproto.BufferNone, Match: ofproto.MatchAll()})
		require.True(t, free(), "buffered %v: a response naming none answers the oldest", buffered)
		require.Equal(t, uint64(3), b.responses.Load())
	}
}

// TestCbenchBuffered: against a learning switch that answers each buffered
// PACKET_IN with one FLOW_MOD naming its buffer, every PACKET_IN is answered, every
// buffer released, one response each.
func TestCbenchBuffered(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	bufErrs := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fr := ofproto.NewFramer(c, 0)
				for _, m := range []ofproto.Message{&ofproto.Hello{Xid: 1}, &ofproto.FeaturesRequest{Xid: 2}} {
					b, _ := m.MarshalBinary()
					c.Write(b)
				}
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				for {
					b, err := fr.Next()
					if err != nil {
						return
					}
					m, err := ofproto.Decode(b)
					if err != nil {
						continue
					}
					switch m := m.(type) {
					case *ofproto.ErrorMsg:
						select {
						case bufErrs <- struct{}{}:
						default:
						}
					case *ofproto.PacketIn:
						if m.BufferID == ofproto.BufferNone {
							continue // the learning phase's ARP replies
						}
						match := ofproto.MatchAll()
						copy(match.DLSrc[:], m.Data[6:12])
						match.Wildcards &^= ofproto.WildDLSrc
						out, _ := (&ofproto.FlowMod{Match: match, Command: ofproto.FlowAdd, BufferID: m.BufferID,
							OutPort: ofproto.PortNone, Actions: []ofproto.Action{&ofproto.OutputAction{Port: 1}}}).MarshalBinary()
						if _, err := c.Write(out); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	for _, outstanding := range []int{1, 0} {
		res, err := Cbench(context.Background(), CbenchConfig{Controller: ln.Addr().String(), Switches: 2, MACs: 8,
			Outstanding: outstanding, Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond})
		require.NoError(t, err)
		require.Zero(t, res.Disconnected)
		require.True(t, res.AnswerCounted)
		require.Positive(t, res.Responses)
		require.InDelta(t, float64(res.Responses), float64(res.Answered), float64(res.Responses)/20+2,
			"outstanding %d: one response per PACKET_IN, each releasing its buffer", outstanding)
		if outstanding == 1 {
			require.InDelta(t, float64(res.PacketIns), float64(res.Answered), 2)
		}
	}
	select {
	case <-bufErrs:
		t.Fatal("the emulator refused a buffer the controller named")
	default:
	}
}
