package controller

import (
	"math"
	"slices"
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

// PacketInBudget is an application that keeps one source of PACKET_INs (a switch port
// and an Ethernet source address) that creates new flows far faster than the others
// from crowding them out. Every source has a token bucket of Rate PACKET_INs a second
// with room for Burst (the budget), and a rate estimate (an exponentially decaying
// count, time constant one second). A source past its budget is an offender only when
// it is also far faster than the rest: its rate is above Relative times the median
// rate of the other sources seen within the last budgetMemory, the known hosts that
// sent none counting at rate 0 (the heaviest source left out of the median, which is
// taken once a second). An offender gets its
// PACKET_INs stopped before Routing, and one drop entry on its switch (match in_port
// and dl_src, no actions, priority Priority, hard timeout Block) so that its frames
// stop reaching the controller for a while; the block is logged and counted
// (NetStats.BudgetBlocks, BudgetDrops). A source past its budget while the others are
// as busy (a surge of many hosts, a benchmark spread over many MACs) is served as
// usual. Put it after Discovery and before Routing:
//
//	Apps: []controller.App{controller.Discovery, controller.NewPacketInBudget(1000), controller.Routing}
//
// A Rate of zero or less lets everything through.
type PacketInBudget struct {
	BaseApp
	Rate     float64       // PACKET_INs a second per source below which nothing is stopped
	Burst    float64       // bucket size; NewPacketInBudget sets 2×Rate
	Relative float64       // how many times the others' median rate an offender exceeds; default 10
	Block    time.Duration // hard timeout of the drop entry, whole seconds; default 5 s
	Priority uint16        // priority of the drop entry; default 0xf000

	buckets   map[budgetKey]*bucket
	lastSweep time.Time
	others    float64   // the others' median rate, as of lastSweep
	hosts     int       // hosts known to the controller, as of lastSweep
	rates     []float64 // scratch for the median
}

type budgetKey struct {
	dpid uint64
	port ofproto.PortNo
	mac  ofproto.MAC
}

type bucket struct {
	tokens       float64
	last         time.Time
	rate         float64 // PACKET_INs a second, decaying with budgetTau, as of last
	blockedUntil time.Time
}

// budgetTau is the time constant of a source's rate estimate, and budgetMemory how
// long a quiet source still counts among the others.
const (
	budgetTau             = time.Second
	budgetMemory          = 10 * time.Second
	DefaultBudgetRelative = 10
)

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
			b.sweep(now, true)
		}
		bk = &bucket{tokens: b.burst(), last: now}
		b.buckets[k] = bk
	} else if now.After(bk.last) {
		dt := now.Sub(bk.last)
		bk.tokens = min(b.burst(), bk.tokens+dt.Seconds()*b.Rate)
		bk.rate *= math.Exp(-float64(dt) / float64(budgetTau))
		bk.last = now
	}
	bk.rate += 1 / budgetTau.Seconds()
	if now.Before(bk.blockedUntil) {
		x.c.stats.BudgetDrops++
		return Stop // its drop entry is on the way
	}
	if bk.tokens >= 1 {
		bk.tokens--
		return Continue
	}
	if bk.rate <= b.Rate || bk.rate <= b.relative()*b.others {
		return Continue // past its budget, but not far faster than the rest
	}
	x.c.stats.BudgetDrops++
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
		"in_port", uint16(m.InPort), "mac", f.dlSrc.String(), "source_rate", math.Round(bk.rate),
		"others_median_rate", b.others, "budget", b.Rate, "burst", b.burst(), "relative", b.relative(), "block", block)
	return Stop
}

func (b *PacketInBudget) relative() float64 {
	if b.Relative <= 0 {
		return DefaultBudgetRelative
	}
	return b.Relative
}

// Tick, once a second, forgets the sources quiet for budgetMemory and takes the
// others' median rate.
func (b *PacketInBudget) Tick(x *Context, now time.Time) {
	if now.Sub(b.lastSweep) >= time.Second {
		b.lastSweep = now
		b.hosts = len(x.c.topo.Hosts())
		b.sweep(now, false)
	}
}

// sweep forgets the sources whose bucket is full and that were quiet for
// budgetMemory (every source with a full bucket when full is true: the table is at
// its bound), and takes the median rate of the sources left, the heaviest left out.
func (b *PacketInBudget) sweep(now time.Time, full bool) {
	b.rates = b.rates[:0]
	for k, bk := range b.buckets {
		if now.Before(bk.blockedUntil) {
			continue
		}
		quiet := now.Sub(bk.last)
		if bk.tokens+quiet.Seconds()*b.Rate >= b.burst() && (full || quiet >= budgetMemory) {
			delete(b.buckets, k)
			continue
		}
		b.rates = append(b.rates, bk.rate*math.Exp(-float64(max(quiet, 0))/float64(budgetTau)))
	}
	// The hosts the controller knows that sent no PACKET_IN lately count at rate 0:
	// with a flood's victim answering every probe as fast as it comes, the attacker
	// and the victim alone would make each other's median.
	for range b.hosts - len(b.rates) {
		b.rates = append(b.rates, 0)
	}
	b.others = othersMedian(b.rates)
}

// othersMedian returns the median of rates without its largest (the lower median
// when the rest is even), 0 for fewer than two. It reorders rates.
func othersMedian(rates []float64) float64 {
	if len(rates) < 2 {
		return 0
	}
	slices.Sort(rates)
	return rates[(len(rates)-2)/2]
}
