package collector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// fakeNet answers statistics requests like a set of OpenFlow 1.0 switches: each
// switch holds entries with counters, filters them by the request's match as a
// switch does (all-wildcard or exact), and splits long replies into parts of at most
// perPart entries with OFPSF_REPLY_MORE set on all but the last.
type fakeNet struct {
	mu      sync.Mutex
	entries map[uint64][]ofproto.FlowStats
	ports   map[uint64][]ofproto.PortStats
	fail    map[uint64]error         // dpid -> error every request returns
	stall   map[uint64]bool          // dpid -> requests hang until their context ends
	delay   map[uint64]time.Duration // dpid -> replies come this much later (counters read first)
	perPart int
	seen    []seenReq
}

type seenReq struct {
	dpid uint64
	body ofproto.StatsBody
}

func newFakeNet() *fakeNet {
	return &fakeNet{entries: map[uint64][]ofproto.FlowStats{}, ports: map[uint64][]ofproto.PortStats{},
		fail: map[uint64]error{}, stall: map[uint64]bool{}, delay: map[uint64]time.Duration{}, perPart: 1000}
}

func (n *fakeNet) install(dpid uint64, m ofproto.Match, cookie uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.entries[dpid] = append(n.entries[dpid], ofproto.FlowStats{TableID: 0, Match: m, Cookie: cookie, Priority: 100,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: 1}}})
}

// count adds traffic to every entry with cookie, as each switch on the path sees it.
func (n *fakeNet) count(cookie, bytes, packets uint64, sec uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, es := range n.entries {
		for i := range es {
			if es[i].Cookie == cookie {
				es[i].ByteCount += bytes
				es[i].PacketCount += packets
				es[i].DurationSec += sec
			}
		}
	}
}

func (n *fakeNet) remove(cookie uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for d, es := range n.entries {
		out := es[:0]
		for _, e := range es {
			if e.Cookie != cookie {
				out = append(out, e)
			}
		}
		n.entries[d] = out
	}
}

func (n *fakeNet) requests() []seenReq {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seenReq(nil), n.seen...)
}

func (n *fakeNet) Request(ctx context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	msgs, err := n.answer(ctx, dpid, msg)
	n.mu.Lock()
	d := n.delay[dpid]
	n.mu.Unlock()
	if d > 0 && err == nil {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return msgs, err
}

func (n *fakeNet) answer(ctx context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	sr, ok := msg.(*ofproto.StatsRequest)
	if !ok {
		return nil, fmt.Errorf("fake: %T is not a stats request", msg)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = append(n.seen, seenReq{dpid, sr.Body})
	if n.stall[dpid] {
		n.mu.Unlock()
		<-ctx.Done()
		n.mu.Lock()
		return nil, ctx.Err()
	}
	if err := n.fail[dpid]; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch b := sr.Body.(type) {
	case *ofproto.FlowStatsRequest:
		var sel []ofproto.FlowStats
		for _, e := range n.entries[dpid] {
			if b.Match.Wildcards == ofproto.WildAll || e.Match == b.Match {
				e.Actions = append([]ofproto.Action(nil), e.Actions...)
				sel = append(sel, e)
			}
		}
		var out []ofproto.Message
		for len(sel) > n.perPart {
			out = append(out, &ofproto.StatsReply{Xid: sr.Xid, Flags: ofproto.StatsReplyMore, Body: &ofproto.FlowStatsReply{Entries: sel[:n.perPart]}})
			sel = sel[n.perPart:]
		}
		return append(out, &ofproto.StatsReply{Xid: sr.Xid, Body: &ofproto.FlowStatsReply{Entries: sel}}), nil
	case *ofproto.PortStatsRequest:
		return []ofproto.Message{&ofproto.StatsReply{Xid: sr.Xid, Body: &ofproto.PortStatsReply{Entries: append([]ofproto.PortStats(nil), n.ports[dpid]...)}}}, nil
	}
	return nil, fmt.Errorf("fake: unsupported body %T", sr.Body)
}
