package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Errors returned by the Store.
var (
	ErrUnknownFlow   = errors.New("stats: unknown flow")
	ErrDuplicateFlow = errors.New("stats: flow already active")
	ErrNotActive     = errors.New("stats: flow no longer active")
	ErrOutOfOrder    = errors.New("stats: reading older than the flow's last one")
	ErrNoTime        = errors.New("stats: reading without a time")
	ErrBadConfig     = errors.New("stats: invalid config")
)

// Config sets up a Store. The zero value is usable.
type Config struct {
	// History is the number of samples kept per series (flow, link, matrix
	// cell, host), at most MaxHistory. Default 64.
	History int
	// LinkCapacityBps is the capacity every link's utilization is relative
	// to. OpenFlow 1.0 ports do not report their speed reliably. Default 1e9.
	LinkCapacityBps float64
	// Retain is how long an expired flow, and a matrix cell or host with no
	// active flow, stay visible before Prune drops them. Default 5 minutes.
	Retain time.Duration
}

// ReinstallSlack is how much younger than expected an entry read at another
// switch of the path may be and still count as installed with the flow's
// other entries: the entries of one flow are installed together, so an entry
// younger by more than this was re-installed and its counter restarted.
const ReinstallSlack = time.Second

// Defaults of Config.
const (
	DefaultHistory         = 64
	DefaultLinkCapacityBps = 1e9
	DefaultRetain          = 5 * time.Minute
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
	if c.LinkCapacityBps < 0 || math.IsNaN(c.LinkCapacityBps) || math.IsInf(c.LinkCapacityBps, 0) {
		errs = append(errs, fmt.Errorf("%w: LinkCapacityBps %v is not a finite non-negative number", ErrBadConfig, c.LinkCapacityBps))
	}
	if c.Retain < 0 {
		errs = append(errs, fmt.Errorf("%w: Retain %v is negative", ErrBadConfig, c.Retain))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.History == 0 {
		c.History = DefaultHistory
	}
	if c.LinkCapacityBps == 0 {
		c.LinkCapacityBps = DefaultLinkCapacityBps
	}
	if c.Retain == 0 {
		c.Retain = DefaultRetain
	}
	return c
}

type flowState struct {
	info    FlowInfo
	links   []Link
	bytes   uint64
	packets uint64
	rate    float64
	pktRate float64
	last    Reading // last reading; last.At zero before the first
	// markBytes and markPkts are the highest counters of the current entry
	// epoch (since the last reset) already counted in bytes and packets: a
	// reading adds only what it counts beyond them, so that moving between
	// switches of the path that count slightly differently never counts the
	// same packets twice.
	markBytes, markPkts uint64
	readings            int
	resets              int
	active              bool
	end                 time.Time
	history             ring[Sample]
	contribute          float64 // rate currently added to the aggregates
}

type linkState struct {
	rate    float64
	bytes   uint64
	flows   int
	history ring[Sample]
}

type pairState struct {
	rate    float64
	bytes   uint64
	flows   int
	touched time.Time
	history ring[Sample]
}

type hostState struct {
	sent, recv           float64
	sentBytes, recvBytes uint64
	out, in              int
	touched              time.Time
	history              ring[Sample] // Bytes: sent; RateBps: sent
}

type portState struct {
	last  PortReading
	rate  PortRate
	valid bool // last holds a reading
}

// Store is the statistics state. Create it with New.
type Store struct {
	cfg   Config
	mu    sync.RWMutex
	flows map[uint64]*flowState
	links map[Link]*linkState
	pairs map[Pair]*pairState
	hosts map[string]*hostState
	ports map[PortKey]*portState
}

// New returns an empty Store.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{
		cfg:   cfg.withDefaults(),
		flows: make(map[uint64]*flowState),
		links: make(map[Link]*linkState),
		pairs: make(map[Pair]*pairState),
		hosts: make(map[string]*hostState),
		ports: make(map[PortKey]*portState),
	}, nil
}

// Config returns the configuration in use, defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// AddFlow registers an active flow. Registering the id of an expired flow
// starts a new flow under that id.
func (s *Store) AddFlow(f FlowInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.flows[f.ID]; ok {
		if old.active {
			return fmt.Errorf("%w: id %d", ErrDuplicateFlow, f.ID)
		}
		delete(s.flows, f.ID)
	}
	f.Path = slices.Clone(f.Path)
	fs := &flowState{info: f, links: LinksOf(f.Path), active: true, history: newRing[Sample](s.cfg.History)}
	s.flows[f.ID] = fs
	for _, l := range fs.links {
		s.link(l).flows++
	}
	p := s.pair(Pair{f.Src, f.Dst})
	p.flows++
	touch(&p.touched, f.Start)
	src, dst := s.host(f.Src), s.host(f.Dst)
	src.out++
	touch(&src.touched, f.Start)
	dst.in++
	touch(&dst.touched, f.Start)
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
}

func (s *Store) link(l Link) *linkState {
	ls, ok := s.links[l]
	if !ok {
		ls = &linkState{history: newRing[Sample](s.cfg.History)}
		s.links[l] = ls
	}
	return ls
}

func (s *Store) pair(p Pair) *pairState {
	ps, ok := s.pairs[p]
	if !ok {
		ps = &pairState{history: newRing[Sample](s.cfg.History)}
		s.pairs[p] = ps
	}
	return ps
}

func (s *Store) host(h string) *hostState {
	hs, ok := s.hosts[h]
	if !ok {
		hs = &hostState{history: newRing[Sample](s.cfg.History)}
		s.hosts[h] = hs
	}
	return hs
}

// Observe applies one polled reading to its flow.
func (s *Store) Observe(r Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, err := s.check(r)
	if err != nil {
		return err
	}
	s.apply(fs, r)
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
	if fs, ok := s.flows[r.Flow]; ok && fs.active && fs.readings > 0 && r.At.Before(fs.last.At) {
		// The final counters were stamped before a poll reply that was applied
		// first (events and replies travel separately). They are still the
		// entry's last word, and the flow must end whatever its order: take
		// them as of the last reading, so that no rate is computed from a
		// negative interval.
		r.At = fs.last.At
	}
	fs, err := s.check(r)
	if err != nil {
		return err
	}
	s.apply(fs, r)
	s.end(fs, end)
	return nil
}

// End ends a flow without final counters (its switch went away, say).
func (s *Store) End(id uint64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, ok := s.flows[id]
	if !ok {
		return fmt.Errorf("%w: id %d", ErrUnknownFlow, id)
	}
	if !fs.active {
		return fmt.Errorf("%w: id %d", ErrNotActive, id)
	}
	s.end(fs, at)
	return nil
}

func (s *Store) check(r Reading) (*flowState, error) {
	if r.At.IsZero() {
		return nil, fmt.Errorf("%w: flow %d", ErrNoTime, r.Flow)
	}
	fs, ok := s.flows[r.Flow]
	if !ok {
		return nil, fmt.Errorf("%w: id %d", ErrUnknownFlow, r.Flow)
	}
	if !fs.active {
		return nil, fmt.Errorf("%w: id %d", ErrNotActive, r.Flow)
	}
	if fs.readings > 0 && r.At.Before(fs.last.At) {
		return nil, fmt.Errorf("%w: flow %d at %v, last at %v", ErrOutOfOrder, r.Flow, r.At, fs.last.At)
	}
	return fs, nil
}

// apply updates counters and rate from reading r (see the package doc).
func (s *Store) apply(fs *flowState, r Reading) {
	var rBytes, rPkts uint64 // counter differences the rate is taken from
	var interval time.Duration
	rateKnown := false
	p := fs.last
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
	fs.last = r
	fs.readings++
	fs.history.push(Sample{At: r.At, Bytes: fs.bytes, RateBps: fs.rate})

	if dBytes > 0 {
		for _, l := range fs.links {
			s.links[l].bytes += dBytes
		}
		pr := s.pairs[Pair{fs.info.Src, fs.info.Dst}]
		pr.bytes += dBytes
		touch(&pr.touched, r.At)
		src, dst := s.hosts[fs.info.Src], s.hosts[fs.info.Dst]
		src.sentBytes += dBytes
		touch(&src.touched, r.At)
		dst.recvBytes += dBytes
		touch(&dst.touched, r.At)
	}
	s.contribute(fs, fs.rate)
}

// contribute sets the rate flow fs adds to the aggregates.
func (s *Store) contribute(fs *flowState, rate float64) {
	d := rate - fs.contribute
	if d == 0 {
		return
	}
	fs.contribute = rate
	for _, l := range fs.links {
		ls := s.links[l]
		ls.rate = settle(ls.rate+d, ls.flows)
	}
	pr := s.pairs[Pair{fs.info.Src, fs.info.Dst}]
	pr.rate = settle(pr.rate+d, pr.flows)
	src, dst := s.hosts[fs.info.Src], s.hosts[fs.info.Dst]
	src.sent = settle(src.sent+d, src.out)
	dst.recv = settle(dst.recv+d, dst.in)
}

// touch moves a last-touched time forward, never back: events reach the
// store a little out of order (final counters stamped before the last poll),
// and a cell or host must stay as long as the latest flow that touched it.
func touch(t *time.Time, at time.Time) {
	if at.After(*t) {
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
	fs.active = false
	fs.end = at
	for _, l := range fs.links {
		s.links[l].flows--
	}
	pr := s.pairs[Pair{fs.info.Src, fs.info.Dst}]
	pr.flows--
	touch(&pr.touched, at)
	src, dst := s.hosts[fs.info.Src], s.hosts[fs.info.Dst]
	src.out--
	touch(&src.touched, at)
	dst.in--
	touch(&dst.touched, at)
	s.contribute(fs, 0)
	// contribute skips a zero change; make sure emptied sums are exactly zero.
	for _, l := range fs.links {
		ls := s.links[l]
		ls.rate = settle(ls.rate, ls.flows)
	}
	pr.rate = settle(pr.rate, pr.flows)
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
	return n
}

// EndRound appends the current link, matrix and host figures to their
// histories, stamped at.
func (s *Store) EndRound(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range s.links {
		ls.history.push(Sample{At: at, Bytes: ls.bytes, RateBps: ls.rate})
	}
	for _, ps := range s.pairs {
		ps.history.push(Sample{At: at, Bytes: ps.bytes, RateBps: ps.rate})
	}
	for _, hs := range s.hosts {
		hs.history.push(Sample{At: at, Bytes: hs.sentBytes, RateBps: hs.sent})
	}
}

// Prune drops expired flows that ended more than Config.Retain before now,
// and matrix cells and hosts with no active flow untouched for as long. It
// returns the number of flows dropped.
func (s *Store) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := now.Add(-s.cfg.Retain)
	n := 0
	for id, fs := range s.flows {
		if !fs.active && fs.end.Before(cut) {
			delete(s.flows, id)
			n++
		}
	}
	for p, ps := range s.pairs {
		if ps.flows == 0 && ps.touched.Before(cut) {
			delete(s.pairs, p)
		}
	}
	for h, hs := range s.hosts {
		if hs.out == 0 && hs.in == 0 && hs.touched.Before(cut) {
			delete(s.hosts, h)
		}
	}
	return n
}

// Flow returns one flow's statistics.
func (s *Store) Flow(id uint64) (FlowStats, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fs, ok := s.flows[id]
	if !ok {
		return FlowStats{}, false
	}
	return fs.stats(), true
}

func (fs *flowState) stats() FlowStats {
	return FlowStats{
		ID: fs.info.ID, Src: fs.info.Src, Dst: fs.info.Dst,
		Path:  slices.Clone(fs.info.Path),
		Bytes: fs.bytes, Packets: fs.packets,
		RateBps: fs.rate, PacketRate: fs.pktRate,
		LastPolled: fs.last.At, Source: fs.last.Source, DPID: fs.last.DPID,
		Readings: fs.readings, Resets: fs.resets,
		Active: fs.active, Start: fs.info.Start, End: fs.end,
	}
}

// Flows returns every flow the store holds, active and recently expired,
// ordered by id.
func (s *Store) Flows() []FlowStats {
	s.mu.RLock()
	out := make([]FlowStats, 0, len(s.flows))
	for _, fs := range s.flows {
		out = append(out, fs.stats())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b FlowStats) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// FlowCounts returns how many flows are active and how many expired ones are
// still held.
func (s *Store) FlowCounts() (active, expired int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fs := range s.flows {
		if fs.active {
			active++
		}
	}
	return active, len(s.flows) - active
}

// FlowRate returns a flow's rate in bits per second; 0 once it has expired.
func (s *Store) FlowRate(id uint64) (float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fs, ok := s.flows[id]
	if !ok {
		return 0, false
	}
	if !fs.active {
		return 0, true
	}
	return fs.rate, true
}

// FlowHistory returns a flow's readings, oldest first.
func (s *Store) FlowHistory(id uint64) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if fs, ok := s.flows[id]; ok {
		return fs.history.slice()
	}
	return nil
}

func (s *Store) linkLoad(l Link, ls *linkState) LinkLoad {
	c := s.cfg.LinkCapacityBps
	ll := LinkLoad{Link: l, RateBps: ls.rate, Utilization: ls.rate / c, Bytes: ls.bytes, Flows: ls.flows}
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
	out := make([]LinkLoad, 0, len(s.links))
	for l, ls := range s.links {
		out = append(out, s.linkLoad(l, ls))
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b LinkLoad) int { return compareLink(a.Link, b.Link) })
	return out
}

func compareLink(a, b Link) int {
	return cmp.Or(cmp.Compare(a.SrcDPID, b.SrcDPID), cmp.Compare(a.SrcPort, b.SrcPort),
		cmp.Compare(a.DstDPID, b.DstDPID), cmp.Compare(a.DstPort, b.DstPort))
}

// LinkHistory returns a link's history, oldest first (one sample per
// EndRound).
func (s *Store) LinkHistory(l Link) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ls, ok := s.links[l]; ok {
		return ls.history.slice()
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

// Matrix returns the traffic matrix, ordered by source then destination.
func (s *Store) Matrix() []MatrixEntry {
	s.mu.RLock()
	out := make([]MatrixEntry, 0, len(s.pairs))
	for p, ps := range s.pairs {
		out = append(out, MatrixEntry{Src: p.Src, Dst: p.Dst, RateBps: ps.rate, Bytes: ps.bytes, Flows: ps.flows})
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b MatrixEntry) int { return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst)) })
	return out
}

// MatrixHistory returns one matrix cell's history, oldest first.
func (s *Store) MatrixHistory(p Pair) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ps, ok := s.pairs[p]; ok {
		return ps.history.slice()
	}
	return nil
}

func (hs *hostState) traffic(h string) HostTraffic {
	return HostTraffic{Host: h, SentBps: hs.sent, ReceivedBps: hs.recv,
		SentBytes: hs.sentBytes, ReceivedBytes: hs.recvBytes, FlowsOut: hs.out, FlowsIn: hs.in}
}

// HostTraffic returns one host's traffic.
func (s *Store) HostTraffic(host string) (HostTraffic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	hs, ok := s.hosts[host]
	if !ok {
		return HostTraffic{}, false
	}
	return hs.traffic(host), true
}

// Hosts returns every host's traffic, ordered by host.
func (s *Store) Hosts() []HostTraffic {
	s.mu.RLock()
	out := make([]HostTraffic, 0, len(s.hosts))
	for h, hs := range s.hosts {
		out = append(out, hs.traffic(h))
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b HostTraffic) int { return cmp.Compare(a.Host, b.Host) })
	return out
}

// HostHistory returns a host's sent-traffic history, oldest first.
func (s *Store) HostHistory(host string) []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if hs, ok := s.hosts[host]; ok {
		return hs.history.slice()
	}
	return nil
}
