package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// Writes for a switch go through its master: an instance that is a slave of a switch
// (it routed a flow over it, or flooded a frame out of its ports) hands the FLOW_MOD
// or PACKET_OUT to the master, which sends it. Instances exchange them over a TCP
// connection each way, as frames of an 8-byte datapath id (big-endian) followed by one
// OpenFlow message, whose header gives its length.

// ErrForwardFrame is wrapped by every error of decodeForward.
var ErrForwardFrame = errors.New("cluster: bad forwarded frame")

const forwardHeader = 8 + ofproto.HeaderLen

// appendForward appends one frame to dst.
func appendForward(dst []byte, dpid uint64, m ofproto.Message) ([]byte, error) {
	dst = binary.BigEndian.AppendUint64(dst, dpid)
	out, err := ofproto.AppendMarshal(dst, m)
	if err != nil {
		return dst[:len(dst)-8], err
	}
	return out, nil
}

// decodeForward decodes the first frame of b and returns the rest. The message copies
// what it keeps. io.ErrUnexpectedEOF means b holds part of a frame.
func decodeForward(b []byte) (uint64, ofproto.Message, []byte, error) {
	if len(b) < forwardHeader {
		return 0, nil, b, io.ErrUnexpectedEOF
	}
	h, err := ofproto.ParseHeader(b[8:])
	if err != nil {
		return 0, nil, b, fmt.Errorf("%w: %w", ErrForwardFrame, err)
	}
	if err := h.CheckHeader(0); err != nil {
		return 0, nil, b, fmt.Errorf("%w: %w", ErrForwardFrame, err)
	}
	n := 8 + int(h.Length)
	if len(b) < n {
		return 0, nil, b, io.ErrUnexpectedEOF
	}
	m, err := ofproto.Decode(b[8:n])
	if err != nil {
		return 0, nil, b, fmt.Errorf("%w: %w", ErrForwardFrame, err)
	}
	return binary.BigEndian.Uint64(b), m, b[n:], nil
}

// readForward reads one frame from r.
func readForward(r *bufio.Reader) (uint64, ofproto.Message, error) {
	hdr, err := r.Peek(forwardHeader)
	if err != nil {
		if errors.Is(err, io.EOF) && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	h, _ := ofproto.ParseHeader(hdr[8:])
	if err := h.CheckHeader(0); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrForwardFrame, err)
	}
	buf := make([]byte, 8+int(h.Length))
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	dpid, m, _, err := decodeForward(buf)
	return dpid, m, err
}

// ForwardStats counts the writes handed between instances.
type ForwardStats struct {
	Sent     uint64 // writes handed to a peer's connection
	Dropped  uint64 // writes with no known master, a full queue or a broken connection
	Received uint64 // writes from peers sent to a switch this instance masters
	Refused  uint64 // writes from peers for a switch this instance does not master
	// HandedOut and HandedIn count the flow statistics replies handed to the flows'
	// owners (HandOver) and taken from peers.
	HandedOut, HandedIn uint64
}

type forwardCounters struct {
	sent, dropped, received, refused atomic.Uint64
	handedOut, handedIn              atomic.Uint64
}

// peer is the connection to one instance's forward listener.
type peer struct {
	addr string
	q    chan []byte
}

const peerQueue = 4096

// Forward hands a write for switch dpid to its master (controller.Config.Forward).
// It never blocks: the frame is queued for the master's connection, or dropped.
// LLDP probes are dropped: each master probes its own switches.
func (n *Node) Forward(dpid uint64, m ofproto.Message) {
	if po, ok := m.(*ofproto.PacketOut); ok && len(po.Data) >= 14 && po.Data[12] == 0x88 && po.Data[13] == 0xcc {
		return
	}
	n.mu.Lock()
	id := n.masters.Masters[dpidKey(dpid)]
	addr := n.forwardAddr[id]
	ctx := n.runCtx
	n.mu.Unlock()
	if id == "" || id == n.cfg.ID || addr == "" || ctx == nil {
		n.fwd.dropped.Add(1)
		return
	}
	if n.queue(ctx, addr, dpid, m) {
		n.fwd.sent.Add(1)
	}
}

// queue queues one frame for the peer at addr; false (counted dropped) if it could
// not.
func (n *Node) queue(ctx context.Context, addr string, dpid uint64, m ofproto.Message) bool {
	b, err := appendForward(nil, dpid, m)
	if err != nil {
		n.fwd.dropped.Add(1)
		return false
	}
	p := n.peer(ctx, addr)
	if p == nil {
		n.fwd.dropped.Add(1)
		return false
	}
	select {
	case p.q <- b:
		return true
	default:
		n.fwd.dropped.Add(1)
		return false
	}
}

// handOverBatch is the most entries one handed-over reply carries (a flow statistics
// entry is 88 bytes and its actions; an OpenFlow message at most 65,535 bytes).
const handOverBatch = 256

// HandOver hands the entries of other instances' flows that a poll-all of switch
// dpid returned (ids[i] is entries[i]'s flow) to their owners, as flow statistics
// replies over the forward connections: the instance whose slot of flow IDs holds
// the flow, or, when that one has left (its flows adopted by others), every live
// instance (each takes the flows it has). It never blocks.
func (n *Node) HandOver(dpid uint64, entries []ofproto.FlowStats, ids []uint64) {
	n.mu.Lock()
	ctx := n.runCtx
	bySlot := map[uint64]string{}
	var all []string
	for _, m := range n.status.Members {
		if m.ID == n.cfg.ID || m.Forward == "" {
			continue
		}
		bySlot[uint64(m.Slot)] = m.Forward
		all = append(all, m.Forward)
	}
	n.mu.Unlock()
	if ctx == nil || len(all) == 0 {
		return
	}
	out := map[string][]ofproto.FlowStats{}
	for i := range entries {
		if i >= len(ids) {
			break
		}
		if addr, ok := bySlot[ids[i]>>SlotShift]; ok {
			out[addr] = append(out[addr], entries[i])
			continue
		}
		for _, addr := range all {
			out[addr] = append(out[addr], entries[i])
		}
	}
	for addr, es := range out {
		for len(es) > 0 {
			k := min(len(es), handOverBatch)
			if n.queue(ctx, addr, dpid, &ofproto.StatsReply{Body: &ofproto.FlowStatsReply{Entries: es[:k]}}) {
				n.fwd.handedOut.Add(1)
			}
			es = es[k:]
		}
	}
}

// SetReplySink sets where the flow statistics replies peers hand over (HandOver)
// go: this instance's poller, which takes the entries of its own flows.
func (n *Node) SetReplySink(f func(dpid uint64, r *ofproto.StatsReply)) {
	n.mu.Lock()
	n.replySink = f
	n.mu.Unlock()
}

// ForwardStats returns the forwarding counters.
func (n *Node) ForwardStats() ForwardStats {
	return ForwardStats{Sent: n.fwd.sent.Load(), Dropped: n.fwd.dropped.Load(),
		Received: n.fwd.received.Load(), Refused: n.fwd.refused.Load(),
		HandedOut: n.fwd.handedOut.Load(), HandedIn: n.fwd.handedIn.Load()}
}

// peer returns the sender to addr, starting it on first use.
func (n *Node) peer(ctx context.Context, addr string) *peer {
	n.peerMu.Lock()
	defer n.peerMu.Unlock()
	if p, ok := n.peers[addr]; ok {
		return p
	}
	if ctx.Err() != nil {
		return nil // Run is ending
	}
	p := &peer{addr: addr, q: make(chan []byte, peerQueue)}
	n.peers[addr] = p
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.send(ctx, p)
	}()
	return p
}

// send writes a peer's queue to its connection, dialling again after an error; the
// frames queued meanwhile are dropped rather than sent late.
func (n *Node) send(ctx context.Context, p *peer) {
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-p.q:
			buf = append(buf[:0], b...)
		}
		for more := true; more && len(buf) < 64<<10; {
			select {
			case b := <-p.q:
				buf = append(buf, b...)
			default:
				more = false
			}
		}
		if conn == nil {
			d := net.Dialer{Timeout: n.cfg.DialTimeout}
			c, err := d.DialContext(ctx, "tcp", p.addr)
			if err != nil {
				n.fwd.dropped.Add(1)
				n.log.Debug("forward: dial", "peer", p.addr, "err", err)
				continue
			}
			conn = c
		}
		conn.SetWriteDeadline(time.Now().Add(n.cfg.DialTimeout))
		if _, err := conn.Write(buf); err != nil {
			n.fwd.dropped.Add(1)
			n.log.Debug("forward: write", "peer", p.addr, "err", err)
			conn.Close()
			conn = nil
		}
	}
}

// serveForward accepts peers' connections on ln and sends the writes they carry to
// the switches this instance masters, until ctx ends.
func (n *Node) serveForward(ctx context.Context, ln net.Listener) {
	var conns sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	go func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	}()
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			return
		}
		open[c] = true
		mu.Unlock()
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer func() {
				mu.Lock()
				delete(open, c)
				mu.Unlock()
				c.Close()
			}()
			r := bufio.NewReaderSize(c, 64<<10)
			for {
				dpid, m, err := readForward(r)
				if err != nil {
					if !errors.Is(err, io.EOF) && ctx.Err() == nil {
						n.log.Debug("forward: read", "peer", c.RemoteAddr().String(), "err", err)
					}
					return
				}
				if r, ok := m.(*ofproto.StatsReply); ok {
					// Entries of this instance's flows a peer's poll-all read
					// (HandOver): statistics, not a write.
					n.mu.Lock()
					sink := n.replySink
					n.mu.Unlock()
					n.fwd.handedIn.Add(1)
					if sink != nil {
						sink(dpid, r)
					}
					continue
				}
				if err := n.ctl.SendMaster(dpid, m); err != nil {
					n.fwd.refused.Add(1)
					continue
				}
				n.fwd.received.Add(1)
			}
		}()
	}
}
