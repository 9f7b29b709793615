package controller

import (
	"bytes"
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
	k := budgetKey{sw.DPID(), m.InPort, f.dlSrc}
	bk := b.charge(k, now)
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
		b.hosts = x.c.topo.NumHosts()
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

// charge counts one PACKET_IN of source k at now in its bucket (refilled and its rate
// decayed to now first) and returns the bucket.
func (b *PacketInBudget) charge(k budgetKey, now time.Time) *bucket {
	if b.buckets == nil {
		b.buckets = make(map[budgetKey]*bucket)
	}
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
	return bk
}

// sourceOf is the budget's key of a PACKET_IN from dpid: its in_port and the frame's
// Ethernet source; false for a frame too short to have one.
func sourceOf(dpid uint64, m *ofproto.PacketIn) (budgetKey, bool) {
	if len(m.Data) < 14 {
		return budgetKey{}, false
	}
	return budgetKey{dpid: dpid, port: m.InPort, mac: ofproto.MAC(m.Data[6:12])}, true
}

// heavy reports whether source k is, as of now, heavy: its rate above the budget and
// above Relative times the others' median, but not blocked. It changes nothing.
func (b *PacketInBudget) heavy(k budgetKey, now time.Time) bool {
	if b.Rate <= 0 {
		return false
	}
	bk := b.buckets[k]
	if bk == nil || now.Before(bk.blockedUntil) {
		return false
	}
	rate := bk.rate * math.Exp(-float64(max(now.Sub(bk.last), 0))/float64(budgetTau))
	return rate > b.Rate && rate > b.relative()*b.others
}

// maxDeferred bounds the PACKET_INs of heavy sources a connection holds back.
const maxDeferred = 256

// The reader's part of the budget: a PACKET_IN of a source the budget marks heavy
// (see PacketInBudget.heavy) waits in its connection's deferred queue, at most
// maxDeferred of them, and is handled only when the connection has no other message
// buffered, so that the other sources' PACKET_INs read with it are handled first. A
// PACKET_IN that finds the queue full is dropped and counted (the switch sends the
// flow's next packet again); it is still charged to its source.

// packetInBudget returns the first PacketInBudget among the applications, nil if none.
func (c *core) packetInBudget() *PacketInBudget {
	for _, a := range c.apps {
		if b, ok := a.(*PacketInBudget); ok {
			return b
		}
	}
	return nil
}

// deferPacketIn holds m back in cn's deferred queue, or drops it if the queue is full,
// when it is a PACKET_IN of a heavy source; it reports whether it did (the caller
// then does not handle m). b is m's encoding, copied when kept. Called with c.mu held.
func (c *Controller) deferPacketIn(cn *conn, m ofproto.Message, b []byte) bool {
	pi, ok := m.(*ofproto.PacketIn)
	if !ok {
		return false
	}
	bud := c.core.packetInBudget()
	if bud == nil {
		return false
	}
	k, ok := sourceOf(cn.s.dpid, pi)
	if !ok {
		return false
	}
	now := c.now()
	if !bud.heavy(k, now) {
		return false
	}
	if len(cn.deferred) >= maxDeferred {
		if bk := bud.charge(k, now); bk.tokens >= 1 {
			bk.tokens--
		}
		c.core.stats.BudgetDeferDrops++
		return true
	}
	cn.deferred = append(cn.deferred, bytes.Clone(b))
	c.core.stats.BudgetDeferred++
	return true
}

// serveDeferred handles up to lockBatch of cn's deferred PACKET_INs, oldest first.
func (c *Controller) serveDeferred(cn *conn, d *decoder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(cn.deferred), lockBatch)
	for _, b := range cn.deferred[:n] {
		m, _, err := d.decode(b)
		if err != nil {
			continue // it decoded when it was read
		}
		c.applyFrom(c.core.receive(cn.s, m, c.now()), cn)
	}
	clear(cn.deferred[:n])
	cn.deferred = cn.deferred[n:]
	if len(cn.deferred) == 0 {
		cn.deferred = nil
	}
}
