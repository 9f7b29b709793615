package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/cemon-sdn/cemon/internal/idmap"
)

// Errors returned by the Store.
var (
	ErrUnknownFlow   = errors.New("stats: unknown flow")
	ErrDuplicateFlow = errors.New("stats: flow already active")
	ErrNotActive     = errors.New("stats: flow no longer active")
	ErrOutOfOrder    = errors.New("stats: reading older than the flow's last one")
	ErrNoTime        = errors.New("stats: reading without a time")
	ErrBadConfig     = errors.New("stats: invalid config")
	ErrBadSpeed      = errors.New("stats: port speed is not a finite positive number")
	ErrBadInterval   = errors.New("stats: polling interval is negative")
)

// Config sets up a Store. The zero value is usable.
type Config struct {
	// History is the number of samples kept per link and per host series,
	// at most MaxHistory. Default 64.
	History int
	// FlowHistory is the number of samples kept per flow and per traffic
	// matrix cell (host pair), the series there is one of per active flow, at
	// most MaxHistory. 0: History when History is set, else
	// DefaultFlowHistory (8: the last 8 s of a flow read every second). A
	// sample costs 24 bytes.
	FlowHistory int
	// Window is how far back every history reaches: samples older than
	// Window before the newest go. Default 5 minutes. Histories hold at
	// most History samples and at most Window of time, whichever is less.
	Window time.Duration
	// LinkCapacityBps, when set, is the capacity of every link, winning over
	// the ports' advertised speed (Mininet's ports advertise 10 Gbit/s
	// whatever the link's shaping). 0 (the default) takes each link's
	// capacity from the speed of its ports (SetPortSpeeds), and
	// DefaultLinkCapacityBps when neither port's speed is known.
	LinkCapacityBps float64
	// Retain is how long an expired flow, and a matrix cell or host with no
	// active flow, stay visible before Prune drops them. Default 5 minutes.
	Retain time.Duration
	// StaleAfter is how many of its own polling intervals a flow may go
	// without a reading before its rate stops counting in links, matrix
	// cells and hosts. Default 3.
	StaleAfter int
	// Interval is the polling interval assumed for a flow whose own is not
	// known yet (no interval given, fewer than two readings). Default 1 s.
	Interval time.Duration
}

// ReinstallSlack is how much younger than expected an entry read at another
// switch of the path may be and still count as installed with the flow's
// other entries: the entries of one flow are installed together, so an entry
// younger by more than this was re-installed and its counter restarted.
const ReinstallSlack = time.Second

// Defaults of Config.
const (
	DefaultHistory         = 64
	DefaultFlowHistory     = 8
	DefaultWindow          = 5 * time.Minute
	DefaultLinkCapacityBps = 1e9
	DefaultRetain          = 5 * time.Minute
	DefaultStaleAfter      = 3
	DefaultInterval        = time.Second
	// MaxHistory bounds Config.History: every flow, link, matrix cell and
	// host may hold that many samples.
	MaxHistory = 1 << 16
)

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.History < 0 || c.History > MaxHistory {
		errs = append(errs, fmt.Errorf("%w: History %d is not in [0, %d]", ErrBadConfig, c.History, MaxHistory))
	}
	if c.FlowHistory < 0 || c.FlowHistory > MaxHistory {
		errs = append(errs, fmt.Errorf("%w: FlowHistory %d is not in [0, %d]", ErrBadConfig, c.FlowHistory, MaxHistory))
	}
	if c.LinkCapacityBps < 0 || math.IsNaN(c.LinkCapacityBps) || math.IsInf(c.LinkCapacityBps, 0) {
		errs = append(errs, fmt.Errorf("%w: LinkCapacityBps %v is not a finite non-negative number", ErrBadConfig, c.LinkCapacityBps))
	}
	if c.Retain < 0 {
		errs = append(errs, fmt.Errorf("%w: Retain %v is negative", ErrBadConfig, c.Retain))
	}
	if c.Window < 0 {
		errs = append(errs, fmt.Errorf("%w: Window %v is negative", ErrBadConfig, c.Window))
	}
	if c.StaleAfter < 0 {
		errs = append(errs, fmt.Errorf("%w: StaleAfter %d is negative", ErrBadConfig, c.StaleAfter))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("%w: Interval %v is negative", ErrBadConfig, c.Interval))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.FlowHistory == 0 {
		c.FlowHistory = c.History
		if c.History == 0 {
			c.FlowHistory = DefaultFlowHistory
		}
	}
	if c.History == 0 {
		c.History = DefaultHistory
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Retain == 0 {
		c.Retain = DefaultRetain
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	return c
}

// flowState is one flow as the store keeps it: 208 bytes (a size class of
// Go's allocator; its id is the key of Store.flows) plus its history's samples. Times are Unix nanoseconds
// (noTime for none) and come back out in UTC; the endpoints are those of the
// hosts of the matrix cell it counts in (pairSt.src, pairSt.dst), not copies.
type flowState struct {
	path  *Hop // the path's first hop (hops): shared with the caller of AddFlow
	start int64
	// The aggregates the flow counts in, found once when it is added: a
	// reading updates them without a map lookup. Links are never dropped,
	// and Prune drops a cell or host only when no active flow counts in it.
	// (The links themselves follow from path: LinksOf.) linkSt points at the
	// first of linkN (links).
	linkSt  **linkState
	pairSt  *pairState // its hosts are the flow's endpoints
	bytes   uint64
	packets uint64
	rate    float64
	pktRate float64
	// The last reading (lastAt noTime before the first).
	lastAt                 int64
	lastDPID               uint64
	lastBytes, lastPackets uint64
	lastDuration           time.Duration
	// markBytes and markPkts are the highest counters of the current entry
	// epoch (since the last reset) already counted in bytes and packets: a
	// reading adds only what it counts beyond them, so that moving between
	// switches of the path that count slightly differently never counts the
	// same packets twice.
	markBytes, markPkts uint64
	readings            int32
	resets              int32
	pathN, linkN        uint32 // the path's hops, its links
	end                 int64  // noTime while active
	history             series
	contribute          float64 // rate currently added to the aggregates
	// given is the polling interval the scheduler gave (Reading.Interval,
	// SetInterval), learned the spacing of the last two readings.
	given, learned time.Duration
	// gen is the Totals mark of the flow's last change of totals; restored
	// says the flow was put back by RestoreTotals and not added since.
	gen        uint64
	lastSource Source
	active     bool
	// stale is set once the store's clock has reached the time the flow's
	// rate stops counting without a new reading (its slot's validUntil).
	stale    bool
	restored bool
	// slot is the flow's place in the store's slots, by which the deadline
	// queue names it and where its deadlines are kept (0: none yet, before
	// its first reading).
	slot uint32
}

// slotState is a flow's place in the store's slots: the flow and the two times
// the deadline queue works with, kept side by side in one array so that an entry
// of the queue that falls due for a flow read since (the common case: each flow
// once every few intervals) is put back in without a look at the flow's record,
// a cache miss at a million flows.
type slotState struct {
	fs *flowState
	// validUntil is when the flow's rate stops counting without a new reading
	// (noTime before its first).
	validUntil int64
	// queued is the deadline of the flow's newest entry in the queue, noTime
	// if it has none.
	queued int64
}

// noTime is the Unix-nanosecond stand-in for the zero time.Time.
const noTime = math.MinInt64

// nanos returns t in Unix nanoseconds, noTime for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixNano()
}

// timeOf is nanos' inverse, in UTC.
func timeOf(ns int64) time.Time {
	if ns == noTime {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func newFlowState(f FlowInfo, cell *pairState) *flowState {
	fs := &flowState{start: nanos(f.Start), pairSt: cell,
		lastAt: noTime, end: noTime, pathN: uint32(len(f.Path))}
	if len(f.Path) > 0 {
		fs.path = &f.Path[0]
	}
	return fs
}

// hops returns the flow's path (shared: not to be changed).
func (fs *flowState) hops() []Hop {
	if fs.pathN == 0 {
		return nil
	}
	return unsafe.Slice(fs.path, fs.pathN)
}

// links returns the states of the links the flow counts in.
func (fs *flowState) links() []*linkState {
	if fs.linkN == 0 {
		return nil
	}
	return unsafe.Slice(fs.linkSt, fs.linkN)
}

// setLinks finds the states of the flow's links (making those not known yet), adding
// the flow to their counts when count is set.
func (s *Store) setLinks(fs *flowState, count bool) {
	links := LinksOf(fs.hops())
	fs.linkN = uint32(len(links))
	if len(links) == 0 {
		return
	}
	st := make([]*linkState, len(links))
	for i, l := range links {
		st[i] = s.link(l)
		if count {
			st[i].flows++
		}
	}
	fs.linkSt = &st[0]
}

// last returns the last reading of the flow, whose id is id (At zero before the first).
func (fs *flowState) last(id uint64) Reading {
	return Reading{Flow: id, DPID: fs.lastDPID, Bytes: fs.lastBytes, Packets: fs.lastPackets,
		Duration: fs.lastDuration, At: timeOf(fs.lastAt), Source: fs.lastSource, Interval: fs.given}
}

func (fs *flowState) setLast(r Reading) {
	fs.lastAt, fs.lastDPID, fs.lastBytes, fs.lastPackets = nanos(r.At), r.DPID, r.Bytes, r.Packets
	fs.lastDuration, fs.lastSource = r.Duration, r.Source
}

// interval is the polling interval the flow's staleness counts in.
func (fs *flowState) interval(def time.Duration) time.Duration {
	switch {
	case fs.given > 0:
		return fs.given
	case fs.learned > 0:
		return fs.learned
	}
	return def
}

type linkState struct {
	rate    float64
	bytes   uint64
	flows   int
	gen     uint64 // Totals mark of the last change of bytes
	history tickSeries
}

// pairState is a traffic-matrix cell. Cells are keyed by their hosts' states
// (cellKey: 16 bytes, not the 64 of a Pair), which know their HostIDs.
type pairState struct {
	rate  float64
	bytes uint64
	flows int32
	// synced is the store's tick count (tickRing.n, its low 32 bits) up to which
	// history holds the cell's samples. A cell changes only when a reading or a
	// flow's end reaches it, so the ticks since are the cell's present bytes and
	// rate: syncCell writes them in before the cell changes, and a Tick does not
	// walk the cells (one per flow where hosts talk in many pairs).
	synced   uint32
	touched  int64 // Unix nanoseconds, noTime for never
	gen      uint64
	src, dst *hostState
	history  tickSeries
}

// cellKey names a matrix cell by its hosts' states. A host is never dropped
// while a cell names it (hostState.cells), so a cell's key stays that of its
// Pair for as long as the cell lives.
type cellKey struct{ src, dst *hostState }

func (ps *pairState) pair() Pair { return Pair{ps.src.id, ps.dst.id} }

// pending returns the number of ticks since the cell's history was synced.
func (ps *pairState) pending(t *tickRing) int { return int(uint32(t.n) - ps.synced) }

// syncCell writes the samples of the ticks since the cell last changed into its
// history (its bytes and rate, unchanged since), before the cell changes, as a Tick
// that walked every cell would have; the history keeps FlowHistory samples, those
// of the window. Caller holds s.mu for writing.
func (s *Store) syncCell(ps *pairState) {
	n := ps.pending(&s.ticks)
	if n == 0 {
		return
	}
	ps.synced = uint32(s.ticks.n)
	limit := s.cfg.FlowHistory
	v := tickSample{ps.bytes, ps.rate}
	for range min(n, limit) {
		ps.history.push(v, limit)
	}
	ps.history.keep(s.tickKeep)
}

type hostState struct {
	id                   HostID
	cells                int // matrix cells naming the host
	sent, recv           float64
	sentBytes, recvBytes uint64
	out, in              int
	touched              int64 // Unix nanoseconds, noTime for never
	gen                  uint64
	history              tickSeries // Bytes: sent; RateBps: sent
}

type portState struct {
	last  PortReading
	rate  PortRate
	valid bool // last holds a reading
}

// Store is the statistics state. Create it with New.
type Store struct {
	cfg    Config
	mu     sync.RWMutex
	flows  idmap.Map[*flowState]
	links  map[Link]*linkState
	pairs  map[cellKey]*pairState
	hosts  map[HostID]*hostState
	ports  map[PortKey]*portState
	speeds map[PortKey]float64 // advertised port speeds, bits per second
	// now is the store's clock: the latest time any input carried. Every
	// aggregate is valid at now: the rates of flows whose readings went
	// stale by now no longer count.
	now       time.Time
	nowNano   int64       // now in Unix nanoseconds
	due       deadlines   // flows by the time their rate goes stale
	slots     []slotState // by slot, as the deadline queue names flows; 0 unused
	freeSlots []uint32
	lastTick  time.Time // the newest history sample of links, cells, hosts
	ticks     tickRing  // the times of the last ticks (the samples of links, cells, hosts)
	tickKeep  int       // the samples of the window at the last tick (tickRing.since)
	dirty     bool      // figures changed since the last notification
	gen       uint64    // the current Totals mark, stamped on every change of a total
	// batch is ObserveBatch's working memory (a run's flows), kept between
	// calls and cleared after each; warm is where its loads leave their sum.
	batch []*flowState
	warm  uint64

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}
}

// New returns an empty Store.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Store{
		cfg:     cfg,
		ticks:   newTickRing(max(cfg.History, cfg.FlowHistory)),
		links:   make(map[Link]*linkState),
		pairs:   make(map[cellKey]*pairState),
		hosts:   make(map[HostID]*hostState),
		ports:   make(map[PortKey]*portState),
		speeds:  make(map[PortKey]float64),
		subs:    make(map[chan struct{}]struct{}),
		nowNano: math.MinInt64,
		gen:     1,
	}, nil
}

// Config returns the configuration in use, defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// AddFlow registers an active flow. Registering the id of an expired flow
// starts a new flow under that id, except for a flow RestoreTotals put back
// with the same endpoints: that one continues from its restored counters. The
// store keeps f.Path as it is (no copy: a flow's path is shared with the caller,
// which must not change it afterwards).
func (s *Store) AddFlow(f FlowInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cont *flowState
	if old, ok := s.flows.Get(f.ID); ok {
		if old.active {
			return fmt.Errorf("%w: id %d", ErrDuplicateFlow, f.ID)
		}
		if old.restored && old.pairSt.src.id == f.Src && old.pairSt.dst.id == f.Dst {
			cont = old
		}
		s.dropFlow(f.ID, old)
	}
	s.advance(f.Start)
	s.dirty = true
	src, dst := s.host(f.Src), s.host(f.Dst)
	p := s.cell(src, dst)
	fs := newFlowState(f, p)
	fs.active, fs.gen = true, s.gen
	if cont != nil {
		fs.bytes, fs.packets, fs.markBytes, fs.markPkts, fs.resets = cont.bytes, cont.packets, cont.markBytes, cont.markPkts, cont.resets
	}
	s.flows.Put(f.ID, fs)
	s.setLinks(fs, true)
	p.flows++
	touchNano(&p.touched, nanos(f.Start))
	src.out++
	touchNano(&src.touched, nanos(f.Start))
	dst.in++
	touchNano(&dst.touched, nanos(f.Start))
	return nil
}

// AddLinks makes links known (from topology discovery) so that they are
// listed with zero load before any flow crosses them.
func (s *Store) AddLinks(links ...Link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range links {
		s.link(l)
	}
	s.dirty = true
}

func (s *Store) link(l Link) *linkState {
	ls, ok := s.links[l]
	if !ok {
		ls = &linkState{}
		s.links[l] = ls
	}
	return ls
}

// cell returns the matrix cell of two hosts' states, made if new.
func (s *Store) cell(src, dst *hostState) *pairState {
	k := cellKey{src, dst}
	ps, ok := s.pairs[k]
	if !ok {
		ps = &pairState{touched: noTime, src: src, dst: dst, synced: uint32(s.ticks.n)}
		s.pairs[k] = ps
		src.cells++
		dst.cells++
	}
	return ps
}

// findCell returns the matrix cell of p, or nil.
func (s *Store) findCell(p Pair) *pairState {
	src, dst := s.hosts[p.Src], s.hosts[p.Dst]
	if src == nil || dst == nil {
		return nil
	}
	return s.pairs[cellKey{src, dst}]
}

func (s *Store) host(h HostID) *hostState {
	hs, ok := s.hosts[h]
	if !ok {
		hs = &hostState{id: h, touched: noTime}
		s.hosts[h] = hs
	}
	return hs
}

// Observe applies one polled reading to its flow and returns what it made of
// it: the flow's new counters and rate, and until when that rate counts.
func (s *Store) Observe(r Reading) (FlowSample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, err := s.check(r)
	if err != nil {
		return FlowSample{}, err
	}
	s.advance(r.At)
	return s.apply(fs, r), nil
}

// ObserveBatch applies a run of readings, in order, as Observe applies each: it
// keeps in taken (rs's own array, overwritten) the readings it took and appends
// their samples to samples, taken[i]'s at samples[len(samples before)+i]; a
// reading Observe would refuse is left out. It is Observe for a round's
// readings: one hold of the store's lock for the run, and the flows' states
// looked up and brought in from memory for the whole run before any is
// updated, so that the memory waits of a thousand readings overlap instead of
// following one another (a reading of a large store otherwise waits for its
// flow's state, its history, its links' and its cell's and hosts' sums in
// turn).
func (s *Store) ObserveBatch(rs []Reading, samples []FlowSample) (taken []Reading, out []FlowSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fss := s.batch[:0]
	for i := range rs {
		fs, _ := s.flows.Get(rs[i].Flow)
		fss = append(fss, fs)
	}
	// Each pass's loads are independent of one another, so the processor has
	// many of them out at once; the next pass follows the pointers the previous
	// one brought in. The sum only keeps the loads from being left out.
	var w uint64
	for _, fs := range fss {
		if fs != nil {
			w += uint64(fs.start) + uint64(fs.lastAt) + fs.markBytes + uint64(fs.given) + fs.gen
		}
	}
	for _, fs := range fss {
		if fs != nil && fs.active {
			w += fs.pairSt.bytes
			if v := fs.history.slot(); v != nil {
				w += v.bytes
			}
			if fs.linkN > 0 {
				w += uint64(uintptr(unsafe.Pointer(*fs.linkSt)))
			}
		}
	}
	for _, fs := range fss {
		if fs != nil && fs.active {
			w += fs.pairSt.src.sentBytes + fs.pairSt.dst.recvBytes
			for _, ls := range fs.links() {
				w += ls.bytes
			}
		}
	}
	s.warm = w
	taken = rs[:0]
	for i, r := range rs {
		fs := fss[i]
		if !usable(fs, r) {
			continue // refused as Observe would, without formatting its error
		}
		s.advance(r.At)
		samples = append(samples, s.apply(fs, r))
		taken = append(taken, r)
	}
	clear(fss)
	s.batch = fss[:0]
	return taken, samples
}

// SetInterval tells the store the polling interval a flow's scheduler
// expects for it from now on (as Reading.Interval does with a reading); 0
// goes back to the interval learned from its readings.
func (s *Store) SetInterval(id uint64, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: flow %d, %v", ErrBadInterval, id, d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, ok := s.flows.Get(id)
	if !ok {
		return fmt.Errorf("%w: id %d", ErrUnknownFlow, id)
	}
	if !fs.active {
		return fmt.Errorf("%w: id %d", ErrNotActive, id)
	}
	fs.given = d
	if fs.readings > 0 {
		s.schedule(fs)
		s.advance(s.now)
	}
	return nil
}

// Remove applies a flow's final counters (from FLOW_REMOVED, whatever
// r.Source says) and ends the flow: it stops counting towards link, matrix
// and host rates, and stays readable until Prune drops it.
func (s *Store) Remove(r Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Source = SourceFlowRemoved
	end := r.At
	if fs, ok := s.flows.Get(r.Flow); ok && fs.active && fs.readings > 0 && r.At.UnixNano() < fs.lastAt {
		// The final counters were stamped before a poll reply that was applied
		// first (events and replies travel separately). They are still the
		// entry's last word, and the flow must end whatever its order: take
		// them as of the last reading, so that no rate is computed from a
		// negative interval.
		r.At = timeOf(fs.lastAt)
	}
	fs, err := s.check(r)
	if err != nil {
		return err
	}
	s.advance(r.At)
	s.apply(fs, r)
	s.end(fs, end)
	s.advance(end)
	return nil
}

// End ends a flow without final counters (its switch went away, say).
func (s *Store) End(id uint64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, ok := s.flows.Get(id)
	if !ok {
		return fmt.Errorf("%w: id %d", ErrUnknownFlow, id)
	}
	if !fs.active {
		return fmt.Errorf("%w: id %d", ErrNotActive, id)
	}
	s.end(fs, at)
	s.advance(at)
	return nil
}

func (s *Store) check(r Reading) (*flowState, error) {
	fs, _ := s.flows.Get(r.Flow)
	return checkState(fs, r)
}

// usable says whether reading r can be applied to fs: checkState without its
// error. A batch only counts what it refuses, and at a million flows a round's late
// batches can bring hundreds of thousands of readings older than the flows' last,
// each of which used to cost a formatted error.
func usable(fs *flowState, r Reading) bool {
	return !r.At.IsZero() && fs != nil && fs.active && (fs.readings == 0 || r.At.UnixNano() >= fs.lastAt)
}

// checkState is check with the flow's state (nil if it is not known) looked up.
func checkState(fs *flowState, r Reading) (*flowState, error) {
	if r.At.IsZero() {
		return nil, fmt.Errorf("%w: flow %d", ErrNoTime, r.Flow)
	}
	if fs == nil {
		return nil, fmt.Errorf("%w: id %d", ErrUnknownFlow, r.Flow)
	}
	if !fs.active {
		return nil, fmt.Errorf("%w: id %d", ErrNotActive, r.Flow)
	}
	if fs.readings > 0 && r.At.UnixNano() < fs.lastAt {
		return nil, fmt.Errorf("%w: flow %d at %v, last at %v", ErrOutOfOrder, r.Flow, r.At, timeOf(fs.lastAt))
	}
	return fs, nil
}

// apply updates counters and rate from reading r (see the package doc).
func (s *Store) apply(fs *flowState, r Reading) FlowSample {
	var rBytes, rPkts uint64 // counter differences the rate is taken from
	var interval time.Duration
	rateKnown := false
	resets := fs.resets
	p := fs.last(r.Flow)
	if fs.readings > 0 && r.At.After(p.At) {
		fs.learned = r.At.Sub(p.At)
	}
	if r.Interval > 0 {
		fs.given = r.Interval
	}
	switch {
	case fs.readings == 0:
		// The entry counted from zero since it was installed.
		rBytes, rPkts = r.Bytes, r.Packets
		interval = r.Duration
		rateKnown = interval > 0
	case r.DPID == p.DPID && (r.Bytes < p.Bytes || r.Packets < p.Packets ||
		(r.Duration > 0 && p.Duration > 0 && r.Duration < p.Duration)):
		// Counter reset: the entry was re-installed. A new epoch starts.
		fs.resets++
		fs.markBytes, fs.markPkts = 0, 0
		rBytes, rPkts = r.Bytes, r.Packets
		interval = r.Duration
		rateKnown = interval > 0
	case r.DPID == p.DPID:
		rBytes, rPkts = r.Bytes-p.Bytes, r.Packets-p.Packets
		if r.Duration > 0 && p.Duration > 0 {
			interval = r.Duration - p.Duration
		} else {
			interval = r.At.Sub(p.At)
		}
		rateKnown = interval > 0
	case r.Source != SourceFlowRemoved && r.Duration > 0 && p.Duration > 0 &&
		r.Duration+ReinstallSlack < p.Duration+r.At.Sub(p.At):
		// Another switch whose entry is younger than the last one read: it
		// was re-installed. Its counter starts a new epoch, as a reset does.
		// (Not for final counters: their duration stops when their entry
		// went, which may be well before the flow's end that stamps them.)
		fs.resets++
		fs.markBytes, fs.markPkts = 0, 0
		rBytes, rPkts = r.Bytes, r.Packets
		interval = r.Duration
		rateKnown = true
	case r.Bytes >= p.Bytes && r.Packets >= p.Packets:
		// Another switch of the path; same packets, counted elsewhere.
		rBytes, rPkts = r.Bytes-p.Bytes, r.Packets-p.Packets
		interval = r.At.Sub(p.At)
		rateKnown = interval > 0
	default:
		// Another switch that counted less: rebase, keep the rate.
	}
	var dBytes, dPkts uint64 // traffic not counted before
	if r.Bytes > fs.markBytes {
		dBytes = r.Bytes - fs.markBytes
		fs.markBytes = r.Bytes
	}
	if r.Packets > fs.markPkts {
		dPkts = r.Packets - fs.markPkts
		fs.markPkts = r.Packets
	}
	fs.bytes += dBytes
	fs.packets += dPkts
	if rateKnown {
		sec := interval.Seconds()
		fs.rate = float64(rBytes) * 8 / sec
		fs.pktRate = float64(rPkts) / sec
	}
	fs.setLast(r)
	fs.readings++
	fs.gen = s.gen
	fs.history.push(Sample{At: r.At, Bytes: fs.bytes, RateBps: fs.rate}, s.cfg.FlowHistory) // FlowHistory applies the window

	if dBytes > 0 {
		for _, ls := range fs.links() {
			ls.bytes += dBytes
			ls.gen = s.gen
		}
		pr := fs.pairSt
		s.syncCell(pr)
		pr.bytes += dBytes
		pr.gen = s.gen
		at := r.At.UnixNano()
		touchNano(&pr.touched, at)
		src, dst := fs.pairSt.src, fs.pairSt.dst
		src.sentBytes += dBytes
		src.gen = s.gen
		touchNano(&src.touched, at)
		dst.recvBytes += dBytes
		dst.gen = s.gen
		touchNano(&dst.touched, at)
	}
	s.dirty = true
	fs.stale = false
	valid := s.schedule(fs)
	if valid > s.nowNano {
		s.contribute(fs, fs.rate)
	} else {
		// Stale on arrival (a reply that took longer than the flow's
		// staleness limit): its bytes count, its rate does not.
		fs.stale = true
		s.contribute(fs, 0)
	}
	smp := FlowSample{Flow: r.Flow, At: r.At, Bytes: fs.bytes, Packets: fs.packets, NewBytes: dBytes,
		RateBps: fs.rate, PacketRate: fs.pktRate, NewRate: rateKnown, Reset: fs.resets != resets,
		Interval: fs.interval(s.cfg.Interval), ValidUntil: timeOf(valid)}
	if rateKnown {
		smp.Span = interval
	}
	return smp
}

// schedule sets the time flow fs's rate goes stale, from its last reading
// and its interval, and queues it unless an earlier entry of it is queued
// (advance re-queues a flow whose deadline moved on when that entry falls
// due, so a reading costs no queue operation most of the time). It returns
// that time.
func (s *Store) schedule(fs *flowState) int64 {
	v := fs.lastAt + int64(time.Duration(s.cfg.StaleAfter)*fs.interval(s.cfg.Interval))
	slot := s.slotOf(fs) // may grow s.slots: before s.slots is read
	st := &s.slots[slot]
	st.validUntil = v
	if st.queued == noTime || v < st.queued {
		s.due.push(deadline{at: v, slot: slot})
		st.queued = v
	}
	return v
}

// validUntil is when flow fs's rate stops counting without a new reading
// (noTime before its first).
func (s *Store) validUntil(fs *flowState) int64 {
	if fs.slot == 0 {
		return noTime
	}
	return s.slots[fs.slot].validUntil
}

// slotOf returns flow fs's slot, giving it one if it has none. The deadline
// queue names flows by slot rather than by pointer: a million entries
// without pointers are memory the garbage collector neither scans nor has to
// be told about (a write barrier) at each move of an entry.
func (s *Store) slotOf(fs *flowState) uint32 {
	if fs.slot != 0 {
		return fs.slot
	}
	if n := len(s.freeSlots); n > 0 {
		fs.slot = s.freeSlots[n-1]
		s.freeSlots = s.freeSlots[:n-1]
	} else {
		if len(s.slots) == 0 {
			s.slots = append(s.slots, slotState{}) // slot 0 is "none"
		}
		fs.slot = uint32(len(s.slots))
		s.slots = append(s.slots, slotState{})
	}
	s.slots[fs.slot] = slotState{fs: fs, validUntil: noTime, queued: noTime}
	return fs.slot
}

// dropFlow forgets flow id, whose record is fs, and frees its slot. An entry
// of the queue that still names the slot is skipped when it comes out, or, if
// the slot has gone to another flow by then, taken for that flow only when
// it is that flow's own deadline (an entry names a slot and a time, and a flow
// is due at its queued time whichever entry says so).
func (s *Store) dropFlow(id uint64, fs *flowState) {
	s.flows.Delete(id)
	if fs.slot != 0 {
		s.slots[fs.slot] = slotState{}
		s.freeSlots = append(s.freeSlots, fs.slot)
		fs.slot = 0
	}
}

// advance moves the store's clock to t when t is later, and takes out of
// the aggregates the rate of every flow whose reading went stale by then.
func (s *Store) advance(t time.Time) {
	// Times compare by their wall clock (Unix nanoseconds) throughout, as
	// the deadline queue does, so that a monotonic reading never disagrees.
	if n := t.UnixNano(); !t.IsZero() && n > s.nowNano {
		s.now, s.nowNano = t, n
	}
	for len(s.due) > 0 && s.due[0].at <= s.nowNano {
		e := s.due[0]
		st := &s.slots[e.slot]
		if st.fs == nil || st.queued != e.at {
			s.due.pop()
			continue // superseded by an earlier entry of the same flow, or dropped
		}
		if v := st.validUntil; v > s.nowNano {
			// Read again since it was queued (or, for a flow that has ended or
			// gone stale, given a longer interval since): back in at its new
			// deadline, where the flow itself is looked at.
			s.due.replaceTop(deadline{at: v, slot: e.slot})
			st.queued = v
			continue
		}
		s.due.pop()
		st.queued = noTime
		fs := st.fs
		if !fs.active || fs.stale {
			continue
		}
		fs.stale = true
		s.contribute(fs, 0)
		s.dirty = true
	}
}

// contribute sets the rate flow fs adds to the aggregates.
func (s *Store) contribute(fs *flowState, rate float64) {
	d := rate - fs.contribute
	if d == 0 {
		return
	}
	fs.contribute = rate
	for _, ls := range fs.links() {
		ls.rate = settle(ls.rate+d, ls.flows)
	}
	pr := fs.pairSt
	s.syncCell(pr)
	pr.rate = settle(pr.rate+d, int(pr.flows))
	src, dst := fs.pairSt.src, fs.pairSt.dst
	src.sent = settle(src.sent+d, src.out)
	dst.recv = settle(dst.recv+d, dst.in)
}

// touchNano moves a last-touched time (Unix nanoseconds) forward, never back:
// events reach the store a little out of order (final counters stamped before
// the last poll), and a cell or host must stay as long as the latest flow that
// touched it.
func touchNano(t *int64, at int64) {
	if at > *t {
		*t = at
	}
}

// settle clears the rounding residue an incrementally kept sum gathers: with
// no contributing flow it is exactly zero, and it is never negative.
func settle(v float64, flows int) float64 {
	if flows == 0 || v < 0 {
		return 0
	}
	return v
}

func (s *Store) end(fs *flowState, at time.Time) {
	s.dirty = true
	fs.active = false
	fs.end = nanos(at)
	fs.gen = s.gen
	for _, ls := range fs.links() {
		ls.flows--
	}
	pr := fs.pairSt
	s.syncCell(pr)
	pr.flows--
	touchNano(&pr.touched, nanos(at))
	src, dst := fs.pairSt.src, fs.pairSt.dst
	src.out--
	touchNano(&src.touched, nanos(at))
	dst.in--
	touchNano(&dst.touched, nanos(at))
	s.contribute(fs, 0)
	// contribute skips a zero change; make sure emptied sums are exactly zero.
	for _, ls := range fs.links() {
		ls.rate = settle(ls.rate, ls.flows)
	}
	pr.rate = settle(pr.rate, int(pr.flows))
	src.sent = settle(src.sent, src.out)
	dst.recv = settle(dst.recv, dst.in)
}

// ObservePort applies one port stats reading. A counter that went down
// starts a new baseline.
func (s *Store) ObservePort(r PortReading) error {
	if r.At.IsZero() {
		return fmt.Errorf("%w: port %016x:%d", ErrNoTime, r.DPID, r.Port)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(r.At)
	s.dirty = true
	k := PortKey{r.DPID, r.Port}
	ps, ok := s.ports[k]
	if !ok {
		ps = &portState{}
		s.ports[k] = ps
	}
	if ps.valid {
		p := ps.last
		if r.At.Before(p.At) {
			return fmt.Errorf("%w: port %016x:%d", ErrOutOfOrder, r.DPID, r.Port)
		}
		dt := r.At.Sub(p.At).Seconds()
		switch {
		case r.TxBytes < p.TxBytes || r.RxBytes < p.RxBytes:
			ps.rate.Valid = false
		case dt > 0:
			ps.rate = PortRate{
				Port:  k,
				TxBps: float64(r.TxBytes-p.TxBytes) * 8 / dt,
				RxBps: float64(r.RxBytes-p.RxBytes) * 8 / dt,
				At:    r.At,
				Valid: true,
			}
		}
	}
	ps.last = r
	ps.valid = true
	return nil
}

// ForgetPorts drops the port statistics of every port for which keep
// returns false (its switch went away, or it is no longer in the switch's
// port list), so that no link shows a port rate nobody measures any more. It
// returns the number of ports dropped.
func (s *Store) ForgetPorts(keep func(PortKey) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.ports {
		if !keep(k) {
			delete(s.ports, k)
			n++
		}
	}
	if n > 0 {
		s.dirty = true
	}
	return n
}

// SetPortSpeeds replaces the advertised speeds of the switch ports, in bits
// per second (from OpenFlow 1.0 port features, say): a link's capacity is
// the smaller speed of its two ports when Config.LinkCapacityBps is not set.
// An entry that is not a finite positive number is left out and named in the
// error.
func (s *Store) SetPortSpeeds(speeds map[PortKey]float64) error {
	next := make(map[PortKey]float64, len(speeds))
	var errs []error
	for k, v := range speeds {
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%w: port %016x:%d, %v", ErrBadSpeed, k.DPID, k.Port, v))
			continue
		}
		next[k] = v
	}
	s.mu.Lock()
	s.speeds = next
	s.dirty = true
	s.mu.Unlock()
	return errors.Join(errs...)
}

// Tick is the store's clock tick: it moves the clock to now (rates gone
// stale by then stop counting), appends the current link, matrix and host
// figures to their histories stamped with the clock, drops their samples
// older than Config.Window (FlowHistory applies the window to a flow's
// readings when read), and notifies the subscribers when any figure
// changed since the last notification. The owner calls it at a steady pace
// (once a second, say); a Tick at or before the last one's time adds no
// sample. The Tick's work does not grow with the flows: a matrix cell (one per
// flow where hosts talk in many pairs) writes its samples of the ticks since it
// last changed when it next changes or is read, which gives the same history.
func (s *Store) Tick(now time.Time) {
	s.mu.Lock()
	s.advance(now)
	if !s.now.IsZero() && (s.lastTick.IsZero() || s.nowNano > s.lastTick.UnixNano()) {
		at := s.now
		s.lastTick = at
		s.ticks.push(at.UnixNano())
		k := s.ticks.since(at.Add(-s.cfg.Window).UnixNano())
		s.tickKeep = k
		hist := s.cfg.History
		for _, ls := range s.links {
			ls.history.push(tickSample{ls.bytes, ls.rate}, hist)
			ls.history.keep(k)
		}
		// Matrix cells take their samples when they change (syncCell) or are read.
		for _, hs := range s.hosts {
			hs.history.push(tickSample{hs.sentBytes, hs.sent}, hist)
			hs.history.keep(k)
		}
	}
	notify := s.dirty
	s.dirty = false
	s.mu.Unlock()
	if notify {
		s.notify()
	}
}

// Subscribe returns a channel that receives a value when a Tick finds new
// figures, and a function that ends the subscription. Notifications
// coalesce: the channel holds at most one, and the store never waits for a
// subscriber. Read the figures with Snapshot.
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.subMu.Lock()
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, ch)
			s.subMu.Unlock()
		})
	}
}

func (s *Store) notify() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default: // one is pending already
		}
	}
}

// Now returns the store's clock: the instant every figure is valid at.
func (s *Store) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.now
}

// Prune drops expired flows that ended more than Config.Retain before now,
// and matrix cells and hosts with no active flow untouched for as long. It
// returns the number of flows dropped.
func (s *Store) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := now.Add(-s.cfg.Retain)
	n := 0
	for id, fs := range s.flows.All() {
		if !fs.active && fs.end < cut.UnixNano() {
			s.dropFlow(id, fs)
			n++
		}
	}
	if n > 0 {
		s.dirty = true
	}
	for k, ps := range s.pairs {
		if ps.flows == 0 && ps.touched < cut.UnixNano() {
			delete(s.pairs, k)
			ps.src.cells--
			ps.dst.cells--
		}
	}
	for h, hs := range s.hosts {
		if hs.out == 0 && hs.in == 0 && hs.cells == 0 && hs.touched < cut.UnixNano() {
			delete(s.hosts, h)
		}
	}
	return n
}

// Flow returns one flow's statistics.
func (s *Store) Flow(id uint64) (FlowStats, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fs, ok := s.flows.Get(id)
	if !ok {
		return FlowStats{}, false
	}
	return s.flowStats(id, fs, slices.Clone(fs.hops())), true
}

// flowStats returns a flow's statistics with path as its Path (a copy of the
// flow's, or nil for the caller to fill).
func (s *Store) flowStats(id uint64, fs *flowState, path []Hop) FlowStats {
	return FlowStats{
		ID: id, Src: fs.pairSt.src.id, Dst: fs.pairSt.dst.id,
		Path:  path,
		Bytes: fs.bytes, Packets: fs.packets,
		RateBps: fs.rate, PacketRate: fs.pktRate,
		Interval: fs.interval(s.cfg.Interval), ValidUntil: timeOf(s.validUntil(fs)), Stale: fs.stale,
		LastPolled: timeOf(fs.lastAt), Source: fs.lastSource, DPID: fs.lastDPID,
		Readings: int(fs.readings), Resets: int(fs.resets),
		Active: fs.active, Start: timeOf(fs.start), End: timeOf(fs.end),
	}
}

// Flows returns every flow the store holds, active and recently expired,
// ordered by id.
func (s *Store) Flows() []FlowStats {
	s.mu.RLock()
	out := s.flowsLocked()
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b FlowStats) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (s *Store) flowsLocked() []FlowStats {
	out := make([]FlowStats, 0, s.flows.Len())
	n := 0
	for _, fs := range s.flows.All() {
		n += int(fs.pathN)
	}
	hops := make([]Hop, 0, n) // one allocation for every path copied
	for id, fs := range s.flows.All() {
		f := s.flowStats(id, fs, nil)
		start := len(hops)
		hops = append(hops, fs.hops()...)
		f.Path = hops[start:len(hops):len(hops)]
		out = append(out, f)
	}
	return out
}

// FlowCounts returns how many flows are active and how many expired ones are
// still held.
func (s *Store) FlowCounts() (active, expired int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fs := range s.flows.All() {
		if fs.active {
			active++
		}
	}
	return active, s.flows.Len() - active
}

// FlowRate returns a flow's current rate in bits per second; 0 once it has
// expired or its last reading has gone stale.
func (s *Store) FlowRate(id uint64) (float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fs, ok := s.flows.Get(id)
	if !ok {
		return 0, false
	}
	if !fs.active || fs.stale {
		return 0, true
	}
	return fs.rate, true
}

// FlowHistory returns a flow's readings within Config.Window of the clock,
// oldest first.
func (s *Store) FlowHistory(id uint64) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if fs, ok := s.flows.Get(id); ok {
		// A flow's history is bounded by Config.History as it grows; the
		// window applies here, so that no Tick has to visit every flow.
		h := fs.history.slice()
		cut := s.now.Add(-s.cfg.Window)
		i := 0
		for i < len(h) && h[i].At.Before(cut) {
			i++
		}
		return h[i:]
	}
	return nil
}

// capacity returns a link's capacity and where it comes from.
func (s *Store) capacity(l Link) (float64, CapacitySource) {
	if c := s.cfg.LinkCapacityBps; c > 0 {
		return c, CapacityConfig
	}
	a, okA := s.speeds[PortKey{l.SrcDPID, l.SrcPort}]
	b, okB := s.speeds[PortKey{l.DstDPID, l.DstPort}]
	switch {
	case okA && okB:
		return min(a, b), CapacityPort
	case okA:
		return a, CapacityPort
	case okB:
		return b, CapacityPort
	}
	return DefaultLinkCapacityBps, CapacityDefault
}

func (s *Store) linkLoad(l Link, ls *linkState) LinkLoad {
	c, src := s.capacity(l)
	ll := LinkLoad{Link: l, At: s.now, RateBps: ls.rate, Utilization: ls.rate / c, CapacityBps: c, Capacity: src,
		Bytes: ls.bytes, Flows: ls.flows}
	if ps, ok := s.ports[PortKey{l.SrcDPID, l.SrcPort}]; ok && ps.rate.Valid {
		ll.PortRateBps, ll.HasPortRate = ps.rate.TxBps, true
	} else if ps, ok := s.ports[PortKey{l.DstDPID, l.DstPort}]; ok && ps.rate.Valid {
		ll.PortRateBps, ll.HasPortRate = ps.rate.RxBps, true
	}
	ll.PortUtilization = ll.PortRateBps / c
	return ll
}

// LinkLoad returns one directed link's load.
func (s *Store) LinkLoad(l Link) (LinkLoad, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ls, ok := s.links[l]
	if !ok {
		return LinkLoad{}, false
	}
	return s.linkLoad(l, ls), true
}

// LinkLoads returns every known link's load, ordered by link.
func (s *Store) LinkLoads() []LinkLoad {
	s.mu.RLock()
	out := s.linkLoadsLocked()
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b LinkLoad) int { return compareLink(a.Link, b.Link) })
	return out
}

func (s *Store) linkLoadsLocked() []LinkLoad {
	out := make([]LinkLoad, 0, len(s.links))
	for l, ls := range s.links {
		out = append(out, s.linkLoad(l, ls))
	}
	return out
}

func compareLink(a, b Link) int {
	return cmp.Or(cmp.Compare(a.SrcDPID, b.SrcDPID), cmp.Compare(a.SrcPort, b.SrcPort),
		cmp.Compare(a.DstDPID, b.DstDPID), cmp.Compare(a.DstPort, b.DstPort))
}

// LinkHistory returns a link's history, oldest first (one sample per
// Tick).
func (s *Store) LinkHistory(l Link) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ls, ok := s.links[l]; ok {
		return ls.history.slice(&s.ticks)
	}
	return nil
}

// PortRate returns a port's rate from port statistics.
func (s *Store) PortRate(k PortKey) (PortRate, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps, ok := s.ports[k]
	if !ok || !ps.rate.Valid {
		return PortRate{}, false
	}
	return ps.rate, true
}

// PortRates returns the rate of every port with a valid one, ordered by
// port.
func (s *Store) PortRates() []PortRate {
	s.mu.RLock()
	out := s.portRatesLocked()
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b PortRate) int {
		return cmp.Or(cmp.Compare(a.Port.DPID, b.Port.DPID), cmp.Compare(a.Port.Port, b.Port.Port))
	})
	return out
}

func (s *Store) portRatesLocked() []PortRate {
	out := make([]PortRate, 0, len(s.ports))
	for _, ps := range s.ports {
		if ps.rate.Valid {
			out = append(out, ps.rate)
		}
	}
	return out
}

// Matrix returns the traffic matrix, ordered by source then destination.
func (s *Store) Matrix() []MatrixEntry {
	s.mu.RLock()
	out := s.matrixLocked()
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b MatrixEntry) int { return cmp.Or(a.Src.Compare(b.Src), a.Dst.Compare(b.Dst)) })
	return out
}

func (s *Store) matrixLocked() []MatrixEntry {
	out := make([]MatrixEntry, 0, len(s.pairs))
	for _, ps := range s.pairs {
		out = append(out, MatrixEntry{Src: ps.src.id, Dst: ps.dst.id, At: s.now, RateBps: ps.rate, Bytes: ps.bytes, Flows: int(ps.flows)})
	}
	return out
}

// MatrixHistory returns one matrix cell's history, oldest first.
func (s *Store) MatrixHistory(p Pair) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ps := s.findCell(p); ps != nil {
		return ps.history.sliceLagging(&s.ticks, ps.pending(&s.ticks), tickSample{ps.bytes, ps.rate}, s.cfg.FlowHistory, s.tickKeep)
	}
	return nil
}

func (hs *hostState) traffic(h HostID, at time.Time) HostTraffic {
	return HostTraffic{Host: h, At: at, SentBps: hs.sent, ReceivedBps: hs.recv,
		SentBytes: hs.sentBytes, ReceivedBytes: hs.recvBytes, FlowsOut: hs.out, FlowsIn: hs.in}
}

// HostTraffic returns one host's traffic.
func (s *Store) HostTraffic(host HostID) (HostTraffic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	hs, ok := s.hosts[host]
	if !ok {
		return HostTraffic{}, false
	}
	return hs.traffic(host, s.now), true
}

// Hosts returns every host's traffic, ordered by host.
func (s *Store) Hosts() []HostTraffic {
	s.mu.RLock()
	out := s.hostsLocked()
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b HostTraffic) int { return a.Host.Compare(b.Host) })
	return out
}

func (s *Store) hostsLocked() []HostTraffic {
	out := make([]HostTraffic, 0, len(s.hosts))
	for h, hs := range s.hosts {
		out = append(out, hs.traffic(h, s.now))
	}
	return out
}

// Snapshot returns every figure of one instant, the store's clock, read
// under one lock: no reading or expiry falls between the flows and the sums
// made of them. Slices are ordered as Flows, LinkLoads, Matrix, Hosts and
// PortRates order them.
func (s *Store) Snapshot() Snapshot {
	s.mu.RLock()
	snap := Snapshot{At: s.now, Flows: s.flowsLocked(), Links: s.linkLoadsLocked(), Matrix: s.matrixLocked(),
		Hosts: s.hostsLocked(), Ports: s.portRatesLocked()}
	s.mu.RUnlock()
	slices.SortFunc(snap.Flows, func(a, b FlowStats) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(snap.Links, func(a, b LinkLoad) int { return compareLink(a.Link, b.Link) })
	slices.SortFunc(snap.Matrix, func(a, b MatrixEntry) int { return cmp.Or(a.Src.Compare(b.Src), a.Dst.Compare(b.Dst)) })
	slices.SortFunc(snap.Hosts, func(a, b HostTraffic) int { return a.Host.Compare(b.Host) })
	slices.SortFunc(snap.Ports, func(a, b PortRate) int {
		return cmp.Or(cmp.Compare(a.Port.DPID, b.Port.DPID), cmp.Compare(a.Port.Port, b.Port.Port))
	})
	return snap
}

// HostHistory returns a host's sent-traffic history, oldest first.
func (s *Store) HostHistory(host HostID) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if hs, ok := s.hosts[host]; ok {
		return hs.history.slice(&s.ticks)
	}
	return nil
}
