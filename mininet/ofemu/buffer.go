package ofemu

import (
	"sync"

	"github.com/cemon-sdn/cemon/ofproto"
)

// NumBufferIDs is how many packet buffers an emulated switch keeps in cbench mode, and
// the cycle of its buffer ids, as cbench's fakeswitch (NUM_BUFFER_IDS).
const NumBufferIDs = 100000

// buffered is one packet a switch holds for its PACKET_IN.
type buffered struct {
	data   []byte
	inPort ofproto.PortNo
}

// pktBuffers are the packets a switch buffered for its PACKET_INs. Ids cycle through
// len(slots): an id used again names the new packet, and the one it named before is
// gone (a switch's buffers are few and short-lived; the controller answers long
// before the cycle comes round). A buffer is released by the first FLOW_MOD or
// PACKET_OUT that names it.
type pktBuffers struct {
	mu    sync.Mutex
	next  uint32
	slots []buffered // data nil: free
}

func newPktBuffers(n int) *pktBuffers {
	return &pktBuffers{slots: make([]buffered, n)}
}

// put buffers a packet that came in on inPort and returns its buffer id.
func (b *pktBuffers) put(data []byte, inPort ofproto.PortNo) uint32 {
	b.mu.Lock()
	id := b.next
	b.next = (b.next + 1) % uint32(len(b.slots))
	b.slots[id] = buffered{data: data, inPort: inPort}
	b.mu.Unlock()
	return id
}

// take releases buffer id and returns its packet; on failure, the OFPBRC code the
// switch answers with: BUFFER_UNKNOWN for an id it never gives, BUFFER_EMPTY for one
// released already.
func (b *pktBuffers) take(id uint32) (buffered, uint16, bool) {
	if b == nil || id >= uint32(len(b.slots)) {
		return buffered{}, ofproto.BadRequestBufferUnknown, false
	}
	b.mu.Lock()
	p := b.slots[id]
	b.slots[id] = buffered{}
	b.mu.Unlock()
	if p.data == nil {
		return buffered{}, ofproto.BadRequestBufferEmpty, false
	}
	return p, 0, true
}

// release applies a FLOW_MOD's or PACKET_OUT's actions to the packet in buffer id,
// as a switch does: out of the actions' ports, counted on them. (An entry's counters
// follow the traffic model alone, so the packet is not counted on a new entry.) An
// id the switch does not hold is answered with an ERROR carrying the request's first
// 64 bytes.
func (s *Switch) release(id, xid uint32, req ofproto.Message, actions []ofproto.Action) error {
	p, code, ok := s.buffers.take(id)
	if !ok {
		s.bufferErrors.Add(1)
		data, _ := req.MarshalBinary()
		return s.send(&ofproto.ErrorMsg{Xid: xid, ErrType: ofproto.ErrTypeBadRequest, Code: code,
			Data: data[:min(len(data), 64)]})
	}
	s.released.Add(1)
	po := &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: p.inPort, Actions: actions, Data: p.data}
	s.packetOut(po)
	s.net.observePacketOut(po)
	return nil
}
