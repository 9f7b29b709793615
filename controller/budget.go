package controller

import (
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// Defaults of PacketInBudget.
const (
	DefaultBudgetBlock    = 5 * time.Second
	DefaultBudgetPriority = 0xf000
	// maxBudgetSources bounds the sources a PacketInBudget tracks; past it, the
	// sources whose bucket is full are forgotten at once.
	maxBudgetSources = 1 << 16
)

// PacketInBudget is an application that gives every source of PACKET_INs (a switch
// port and an Ethernet source address) a token bucket of Rate PACKET_INs a second
// with room for Burst. A source past its budget (a scan, a flood with a new flow per
// packet) gets its PACKET_INs stopped before Routing, and one drop entry on its
// switch (match in_port and dl_src, no actions, priority Priority, hard timeout
// Block) so that its frames stop reaching the controller for a while; the block is
// logged and counted (NetStats.BudgetBlocks, BudgetDrops). Other sources are not
// touched. Put it after Discovery and before Routing:
//
//	Apps: []controller.App{controller.Discovery, controller.NewPacketInBudget(1000), controller.Routing}
//
// A Rate of zero or less lets everything through.
type PacketInBudget struct {
	BaseApp
	Rate     float64       // PACKET_INs a second per source
	Burst    float64       // bucket size; NewPacketInBudget sets 2×Rate
	Block    time.Duration // hard timeout of the drop entry, whole seconds; default 5 s
	Priority uint16        // priority of the drop entry; default 0xf000

	buckets   map[budgetKey]*bucket
	lastSweep time.Time
}

type budgetKey struct {
	dpid uint64
	port ofproto.PortNo
	mac  ofproto.MAC
}

type bucket struct {
	tokens       float64
	last         time.Time
	blockedUntil time.Time
}

// NewPacketInBudget returns a budget of rate PACKET_INs a second per source, a burst
// of twice that, and the default block.
func NewPacketInBudget(rate float64) *PacketInBudget {
	return &PacketInBudget{Rate: rate, Burst: 2 * rate}
}

// Name implements App.
func (b *PacketInBudget) Name() string { return "packet-in-budget" }

func (b *PacketInBudget) burst() float64 { return max(b.Burst, 1, b.Rate) }

func (b *PacketInBudget) block() time.Duration {
	if b.Block < time.Second {
		return DefaultBudgetBlock
	}
	return b.Block.Truncate(time.Second)
}

// PacketIn charges the packet's source and stops it past the budget.
func (b *PacketInBudget) PacketIn(x *Context, sw Switch, m *ofproto.PacketIn, now time.Time) Verdict {
	if b.Rate <= 0 {
		return Continue
	}
	f, err := x.c.frameOf(m)
	if err != nil {
		return Continue
	}
	if b.buckets == nil {
		b.buckets = make(map[budgetKey]*bucket)
	}
	k := budgetKey{sw.DPID(), m.InPort, f.dlSrc}
	bk := b.buckets[k]
	if bk == nil {
		if len(b.buckets) >= maxBudgetSources {
			b.sweep(now)
		}
		bk = &bucket{tokens: b.burst(), last: now}
		b.buckets[k] = bk
	} else if now.After(bk.last) {
		bk.tokens = min(b.burst(), bk.tokens+now.Sub(bk.last).Seconds()*b.Rate)
		bk.last = now
	}
	if bk.tokens >= 1 {
		bk.tokens--
		return Continue
	}
	x.c.stats.BudgetDrops++
	if now.Before(bk.blockedUntil) {
		return Stop // its drop entry is on the way
	}
	block := b.block()
	bk.blockedUntil = now.Add(block)
	x.c.stats.BudgetBlocks++
	prio := b.Priority
	if prio == 0 {
		prio = DefaultBudgetPriority
	}
	x.Send(sw, &ofproto.FlowMod{
		Match: ofproto.Match{Wildcards: ofproto.WildAll &^ (ofproto.WildInPort | ofproto.WildDLSrc),
			InPort: m.InPort, DLSrc: f.dlSrc},
		Command: ofproto.FlowAdd, HardTimeout: uint16(block / time.Second), Priority: prio,
		BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone,
	})
	x.Logger().Warn("PACKET_IN budget exceeded: dropping the source's frames", "dpid", dpidString(sw.DPID()),
		"in_port", uint16(m.InPort), "mac", f.dlSrc.String(), "rate", b.Rate, "burst", b.burst(), "block", block)
	return Stop
}

// Tick forgets, once a second, the sources whose bucket is full again.
func (b *PacketInBudget) Tick(_ *Context, now time.Time) {
	if now.Sub(b.lastSweep) >= time.Second {
		b.lastSweep = now
		b.sweep(now)
	}
}

func (b *PacketInBudget) sweep(now time.Time) {
	for k, bk := range b.buckets {
		if now.Before(bk.blockedUntil) {
			continue
		}
		if bk.tokens+now.Sub(bk.last).Seconds()*b.Rate >= b.burst() {
			delete(b.buckets, k)
		}
	}
}
