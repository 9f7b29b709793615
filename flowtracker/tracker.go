package flowtracker

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Errors returned by the Tracker.
var (
	ErrConfig        = errors.New("flowtracker: bad config")
	ErrEmptyPath     = errors.New("flowtracker: empty path")
	ErrPathTooLong   = errors.New("flowtracker: path too long")
	ErrPathLoop      = errors.New("flowtracker: switch repeated on path")
	ErrUnknownCookie = errors.New("flowtracker: cookie not issued by this tracker")
	ErrUnknownFlow   = errors.New("flowtracker: unknown flow")
	ErrExpired       = errors.New("flowtracker: flow already expired")
	ErrNotOnPath     = errors.New("flowtracker: switch not on the flow's path")
	ErrIDsExhausted  = errors.New("flowtracker: flow IDs exhausted")
)

// Cookie layout: the high 16 bits are Config.CookieTag, the low 48 the flow ID.
const (
	idBits = 48
	idMask = 1<<idBits - 1
)

// Defaults for zero Config fields.
const (
	DefaultShards        = 64
	DefaultRetainExpired = 1024
	DefaultMaxPathLen    = 64
	DefaultEventBacklog  = 1 << 22
)

// Config sizes a Tracker. The zero value is usable.
type Config struct {
	// Shards is the number of independently locked partitions, 1..4096 (0: 64).
	Shards int
	// RetainExpired is how many expired flows stay visible to Get, ByCookie, Range and
	// Snapshot, oldest dropped first (0: 1024; negative: none). The ring is split evenly
	// among shards, so the bound is rounded up to a multiple of Shards.
	RetainExpired int
	// CookieTag fills the high 16 bits of every cookie, so controllers sharing switches
	// can tell their entries apart. Cookies are CookieTag<<48 | ID, never zero.
	CookieTag uint16
	// MaxPathLen bounds a flow's hop count, 1..1024 (0: 64).
	MaxPathLen int
	// EventBacklog bounds the events each subscriber may have waiting behind its
	// channel's buffer before events are dropped (0: 4,194,304, four times a
	// million-flow expiry; negative: none, an event that finds the buffer full is
	// dropped). An event costs about 200 bytes while it waits.
	EventBacklog int
}

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.Shards < 0 || c.Shards > 4096 {
		errs = append(errs, fmt.Errorf("%w: Shards %d not in 0..4096", ErrConfig, c.Shards))
	}
	if c.RetainExpired > 1<<24 {
		errs = append(errs, fmt.Errorf("%w: RetainExpired %d above %d", ErrConfig, c.RetainExpired, 1<<24))
	}
	if c.EventBacklog > 1<<26 {
		errs = append(errs, fmt.Errorf("%w: EventBacklog %d above %d", ErrConfig, c.EventBacklog, 1<<26))
	}
	if c.MaxPathLen < 0 || c.MaxPathLen > 1024 {
		errs = append(errs, fmt.Errorf("%w: MaxPathLen %d not in 0..1024", ErrConfig, c.MaxPathLen))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Shards == 0 {
		c.Shards = DefaultShards
	}
	switch {
	case c.RetainExpired == 0:
		c.RetainExpired = DefaultRetainExpired
	case c.RetainExpired < 0:
		c.RetainExpired = 0
	}
	if c.MaxPathLen == 0 {
		c.MaxPathLen = DefaultMaxPathLen
	}
	switch {
	case c.EventBacklog == 0:
		c.EventBacklog = DefaultEventBacklog
	case c.EventBacklog < 0:
		c.EventBacklog = 0
	}
	return c
}

// Tracker holds the active flows and a bounded ring of recently expired ones. All
// methods are safe for concurrent use. A flow lives in the shard its key hashes to, and
// its ID encodes that shard, so every operation takes exactly one shard lock (RemoveSwitch,
// Range and Snapshot take each in turn).
type Tracker struct {
	cfg    Config
	shards []shard

	active   atomic.Int64
	retained atomic.Int64
	arrived  atomic.Uint64
	expired  atomic.Uint64

	subMu   sync.RWMutex
	subs    []*Subscription
	dropped atomic.Uint64
}

type shard struct {
	mu    sync.RWMutex
	byID  map[uint64]*record // active and retained flows
	byKey map[uint64]*record // key hash -> an active flow of that hash
	// byKeyMore holds the other active flows of a hash byKey holds one of (keys of
	// one hash: the same key at two grains, or a 64-bit collision); nil until one.
	byKeyMore map[uint64][]*record
	seq       uint64    // IDs issued by this shard
	ring      []*record // retained expired flows; nil slots while filling
	head      int       // next ring slot to fill
	// bySwitch lists the live entries of the shard's active and draining flows by
	// switch, so that a switch, port or link event visits only the flows through the
	// switches it concerns (see index.go).
	bySwitch map[uint64][]ref
	_        [32]byte // 128 bytes per shard: neighbouring locks on separate cache lines
}

type record struct {
	id     uint64
	key    Key
	start  int64 // unix nanoseconds
	end    int64
	entry0 *entry    // the first of n entries, one per hop (entries)
	finals *Counters // the entries' final counters, n of them from here; nil until the first
	n      uint16    // entries
	live   uint16    // entries not gone
	state  State
	grain  Grain // how finely its entries match (GrainExact unless AddGrain said otherwise)
}

// newRecord returns an active flow's record with hops entries, not yet set. A
// record is 80 bytes (a size class of its own), its entries 24 bytes each.
func newRecord(id uint64, key Key, start int64, hops int, grain Grain) *record {
	es := make([]entry, hops)
	return &record{id: id, key: key, start: start, entry0: unsafe.SliceData(es), n: uint16(hops), live: uint16(hops), state: StateActive, grain: grain}
}

// entries returns the flow's entries, one per hop.
func (r *record) entries() []entry { return unsafe.Slice(r.entry0, r.n) }

// entry is one hop's entry of a flow, in 24 bytes: its final counters, which only
// a gone entry has, are kept apart (record.finals).
type entry struct {
	dpid        uint64
	inPort      uint16
	outPort     uint16
	pos         uint32 // place in the switch index's list of dpid (live entries)
	gone        bool
	hasCounters bool // record.finals holds its counters
	refused     bool // the switch refused the entry's FLOW_MOD (EntryRefused)
	reason      Reason
}

func (e *entry) hop() Hop { return Hop{DPID: e.dpid, InPort: e.inPort, OutPort: e.outPort} }

func (e *entry) setHop(h Hop) { e.dpid, e.inPort, e.outPort = h.DPID, h.InPort, h.OutPort }

// final returns entry i's final counters (zero unless it has them).
func (r *record) final(i int) Counters {
	if r.finals == nil {
		return Counters{}
	}
	return unsafe.Slice(r.finals, len(r.entries()))[i]
}

// setFinal stores entry i's final counters, making the record's finals (one array of
// a Counters per entry, in one allocation) on the first.
func (r *record) setFinal(i int, c Counters) {
	if r.finals == nil {
		r.finals = unsafe.SliceData(make([]Counters, len(r.entries())))
	}
	unsafe.Slice(r.finals, len(r.entries()))[i] = c
}

// New returns an empty tracker, or an error wrapping ErrConfig naming every bad field.
func New(cfg Config) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	t := &Tracker{cfg: cfg, shards: make([]shard, cfg.Shards)}
	perShard := (cfg.RetainExpired + cfg.Shards - 1) / cfg.Shards
	for i := range t.shards {
		t.shards[i].byID = map[uint64]*record{}
		t.shards[i].byKey = map[uint64]*record{}
		t.shards[i].bySwitch = map[uint64][]ref{}
		if perShard > 0 {
			t.shards[i].ring = make([]*record, perShard)
		}
	}
	return t, nil
}

// Config returns the configuration in force, defaults filled in.
func (t *Tracker) Config() Config { return t.cfg }

// Cookie returns the cookie of flow id.
func (t *Tracker) Cookie(id uint64) uint64 { return uint64(t.cfg.CookieTag)<<idBits | id&idMask }

// IDOf returns the flow ID a cookie of this tracker carries (whether or not the
// flow is still known), or false for a cookie without this tracker's tag.
func (t *Tracker) IDOf(cookie uint64) (uint64, bool) { return t.idOf(cookie) }

// idOf returns the flow ID a cookie carries, if the cookie has this tracker's tag.
func (t *Tracker) idOf(cookie uint64) (uint64, bool) {
	if cookie>>idBits != uint64(t.cfg.CookieTag) || cookie&idMask == 0 {
		return 0, false
	}
	return cookie & idMask, true
}

func (t *Tracker) shardOfID(id uint64) *shard {
	if id == 0 {
		return nil
	}
	return &t.shards[(id-1)%uint64(len(t.shards))]
}

func unixNano(ts time.Time) int64 { return ts.UnixNano() }

func fromNano(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// Add records a flow about to be installed along path (ingress first) and returns its
// handle: the ID and the cookie every entry of the flow must carry. If an active flow
// with the same key exists, Add returns it with created false and ignores path. If the
// key's flow is draining (some entries already gone), that flow expires now, its
// remaining entries marked ReasonSuperseded, and a new flow is created. Path must hold
// 1..MaxPathLen hops with distinct DPIDs. An Arrived event is published for new flows.
func (t *Tracker) Add(key Key, path []Hop, now time.Time) (Handle, bool, error) {
	return t.AddGrain(key, GrainExact, path, now)
}

// AddGrain is Add for a flow of the given grain: a GrainHostPair flow's key has
// NWProto, NWTos, TPSrc and TPDst zero (its entries wildcard them), and it is looked
// up apart from the exact flows (ByKeyGrain).
func (t *Tracker) AddGrain(key Key, grain Grain, path []Hop, now time.Time) (Handle, bool, error) {
	switch {
	case len(path) == 0:
		return Handle{}, false, ErrEmptyPath
	case len(path) > t.cfg.MaxPathLen:
		return Handle{}, false, fmt.Errorf("%w: %d hops, limit %d", ErrPathTooLong, len(path), t.cfg.MaxPathLen)
	}
	for i := 1; i < len(path); i++ {
		for j := 0; j < i; j++ {
			if path[i].DPID == path[j].DPID {
				return Handle{}, false, fmt.Errorf("%w: dpid %#x at hops %d and %d", ErrPathLoop, path[i].DPID, j, i)
			}
		}
	}
	h := key.Hash()
	si := h % uint64(len(t.shards))
	s := &t.shards[si]
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.findKeyGrain(h, key, grain); old != nil {
		if old.state == StateActive {
			return Handle{ID: old.id, Cookie: t.Cookie(old.id)}, false, nil
		}
		for i := range old.entries() {
			if e := &old.entries()[i]; !e.gone {
				s.unindex(old, i)
				e.gone, e.reason = true, ReasonSuperseded
			}
		}
		old.live = 0
		t.expire(s, old, now)
	}
	id := s.seq*uint64(len(t.shards)) + si + 1
	if id > idMask {
		return Handle{}, false, fmt.Errorf("%w: shard %d issued %d", ErrIDsExhausted, si, s.seq)
	}
	s.seq++
	r := newRecord(id, key, unixNano(now), len(path), grain)
	for i, hop := range path {
		r.entries()[i].setHop(hop)
		s.index(r, i)
	}
	s.linkKey(h, r)
	s.byID[id] = r
	t.active.Add(1)
	t.arrived.Add(1)
	t.publish(EventArrived, r, now)
	return Handle{ID: id, Cookie: t.Cookie(id)}, true, nil
}

// findKey returns the active exact flow with key k (hash h), or nil. Caller holds s.mu.
func (s *shard) findKey(h uint64, k Key) *record { return s.findKeyGrain(h, k, GrainExact) }

// findKeyGrain returns the active flow of grain g with key k (hash h), or nil. Caller
// holds s.mu.
func (s *shard) findKeyGrain(h uint64, k Key, g Grain) *record {
	r := s.byKey[h]
	if r == nil {
		return nil
	}
	if r.key == k && r.grain == g {
		return r
	}
	for _, r := range s.byKeyMore[h] {
		if r.key == k && r.grain == g {
			return r
		}
	}
	return nil
}

// linkKey adds r to the active flows of key hash h. Caller holds s.mu for writing.
func (s *shard) linkKey(h uint64, r *record) {
	if _, taken := s.byKey[h]; !taken {
		s.byKey[h] = r
		return
	}
	if s.byKeyMore == nil {
		s.byKeyMore = map[uint64][]*record{}
	}
	s.byKeyMore[h] = append(s.byKeyMore[h], r)
}

// unlinkKey removes r from the active flows of key hash h. Caller holds s.mu for
// writing.
func (s *shard) unlinkKey(h uint64, r *record) {
	more := s.byKeyMore[h]
	if s.byKey[h] == r {
		if len(more) == 0 {
			delete(s.byKey, h)
			return
		}
		s.byKey[h] = more[0]
		more = more[1:]
	} else {
		i := slices.Index(more, r)
		if i < 0 {
			return
		}
		more = slices.Delete(more, i, i+1)
	}
	if len(more) == 0 {
		delete(s.byKeyMore, h)
	} else {
		s.byKeyMore[h] = more
	}
}

// expire moves r from the active set to the retained ring. Caller holds s.mu.
func (t *Tracker) expire(s *shard, r *record, now time.Time) {
	r.state = StateExpired
	r.end = unixNano(now)
	s.unlinkKey(r.key.Hash(), r)
	t.active.Add(-1)
	t.expired.Add(1)
	t.publish(EventExpired, r, now)
	if len(s.ring) == 0 {
		delete(s.byID, r.id)
		return
	}
	if old := s.ring[s.head]; old != nil {
		delete(s.byID, old.id)
	} else {
		t.retained.Add(1)
	}
	s.ring[s.head] = r
	s.head = (s.head + 1) % len(s.ring)
}

// EntryRemoved records that switch dpid no longer holds the entry with the given cookie
// (FLOW_REMOVED, or the controller deleted it), with its final counters. The flow's
// final counters are its ingress entry's. When the last entry goes the flow expires and
// an Expired event is published. It returns the flow's state afterwards. A second report
// for the same entry changes nothing. Errors: ErrUnknownCookie (another tag or zero),
// ErrUnknownFlow (never issued, or expired and no longer retained), ErrExpired,
// ErrNotOnPath.
func (t *Tracker) EntryRemoved(dpid, cookie uint64, final Counters, reason Reason, now time.Time) (State, error) {
	s, r, st, err := t.lockLive(cookie)
	if err != nil {
		return st, err
	}
	defer s.mu.Unlock()
	for i := range r.entries() {
		e := &r.entries()[i]
		if e.dpid != dpid {
			continue
		}
		if !e.gone {
			s.unindex(r, i)
			e.gone, e.hasCounters, e.reason = true, true, reason
			r.setFinal(i, final)
			t.entryGone(s, r, now)
		}
		return r.state, nil
	}
	return r.state, fmt.Errorf("%w: dpid %#x, flow %d", ErrNotOnPath, dpid, r.id)
}

// entryGone accounts for one more entry of r gone. Caller holds s.mu.
func (t *Tracker) entryGone(s *shard, r *record, now time.Time) {
	r.live--
	if r.live == 0 {
		t.expire(s, r, now)
		return
	}
	r.state = StateDraining
}

// RemoveSwitch marks every entry on switch dpid gone (ReasonSwitchLeft, no counters),
// as when the switch disconnects, and returns how many flows expired as a result. It
// visits only the flows with a live entry on the switch (the switch index), not every
// flow.
func (t *Tracker) RemoveSwitch(dpid uint64, now time.Time) int {
	n := 0
	var refs []ref
	var doomed []*record
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		refs = s.switchRefs(dpid, refs[:0])
		doomed = doomed[:0]
		for _, rf := range refs {
			k := rf.at(dpid)
			r, e := rf.r, &rf.r.entries()[k]
			if e.gone {
				continue
			}
			s.unindex(r, k)
			e.gone, e.reason = true, ReasonSwitchLeft
			if r.live == 1 {
				doomed = append(doomed, r)
			} else {
				t.entryGone(s, r, now)
			}
		}
		// Expire in ID order, so that events go out in a deterministic order.
		slices.SortFunc(doomed, func(a, b *record) int { return cmpU64(a.id, b.id) })
		for _, r := range doomed {
			t.entryGone(s, r, now)
		}
		n += len(doomed)
		s.mu.Unlock()
		clear(refs)
	}
	return n
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Remove expires flow id now, marking its remaining entries ReasonRemoved (the caller
// deleted them from the switches). It reports whether the flow was active.
func (t *Tracker) Remove(id uint64, now time.Time) bool {
	s := t.shardOfID(id)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byID[id]
	if r == nil || r.state == StateExpired {
		return false
	}
	for i := range r.entries() {
		if e := &r.entries()[i]; !e.gone {
			s.unindex(r, i)
			e.gone, e.reason = true, ReasonRemoved
		}
	}
	r.live = 0
	t.expire(s, r, now)
	return true
}

// fill copies r into f, reusing f.Entries' storage.
func fill(f *Flow, r *record, cookie uint64) {
	f.ID, f.Cookie, f.Key, f.State, f.Grain = r.id, cookie, r.key, r.state, r.grain
	f.Start = fromNano(r.start)
	f.End = time.Time{}
	if r.state == StateExpired {
		f.End = fromNano(r.end)
	}
	f.Entries = f.Entries[:0]
	for i := range r.entries() {
		e := &r.entries()[i]
		f.Entries = append(f.Entries, Entry{Hop: e.hop(), Gone: e.gone, HasCounters: e.hasCounters, Reason: e.reason, Final: r.final(i), Refused: e.refused})
	}
}

// Get returns flow id, active or retained after expiry.
func (t *Tracker) Get(id uint64) (Flow, bool) {
	s := t.shardOfID(id)
	if s == nil {
		return Flow{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.byID[id]
	if r == nil {
		return Flow{}, false
	}
	var f Flow
	fill(&f, r, t.Cookie(id))
	return f, true
}

// lockLive finds the record of the flow whose entries carry cookie and returns it with
// its shard locked for writing, for the caller to unlock. On error nothing is locked
// and the state is StateExpired for an expired flow, else zero: ErrUnknownCookie
// (another tag or zero), ErrUnknownFlow (never issued, or expired and no longer
// retained), ErrExpired.
func (t *Tracker) lockLive(cookie uint64) (*shard, *record, State, error) {
	id, ok := t.idOf(cookie)
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: %#x", ErrUnknownCookie, cookie)
	}
	s := t.shardOfID(id)
	s.mu.Lock()
	r := s.byID[id]
	switch {
	case r == nil:
		s.mu.Unlock()
		return nil, nil, 0, fmt.Errorf("%w: id %d", ErrUnknownFlow, id)
	case r.state == StateExpired:
		s.mu.Unlock()
		return nil, nil, StateExpired, fmt.Errorf("%w: id %d", ErrExpired, id)
	}
	return s, r, r.state, nil
}

// ByCookie returns the flow whose entries carry cookie, active or retained.
func (t *Tracker) ByCookie(cookie uint64) (Flow, bool) {
	id, ok := t.idOf(cookie)
	if !ok {
		return Flow{}, false
	}
	return t.Get(id)
}

// ByKey returns the active (or draining) flow with key k.
func (t *Tracker) ByKey(k Key) (Flow, bool) {
	h := k.Hash()
	s := &t.shards[h%uint64(len(t.shards))]
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.findKey(h, k)
	if r == nil {
		return Flow{}, false
	}
	var f Flow
	fill(&f, r, t.Cookie(r.id))
	return f, true
}

// Resolve maps a stats entry or FLOW_REMOVED back to its flow without copying it: by
// cookie first (if this tracker issued it and still knows the flow), else by key among
// the active flows.
func (t *Tracker) Resolve(cookie uint64, k Key) (Handle, bool) {
	if id, ok := t.idOf(cookie); ok {
		s := t.shardOfID(id)
		s.mu.RLock()
		_, known := s.byID[id]
		s.mu.RUnlock()
		if known {
			return Handle{ID: id, Cookie: cookie}, true
		}
	}
	h := k.Hash()
	s := &t.shards[h%uint64(len(t.shards))]
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r := s.findKey(h, k); r != nil {
		return Handle{ID: r.id, Cookie: t.Cookie(r.id)}, true
	}
	return Handle{}, false
}

// Range calls fn for every active, draining and retained flow, one shard at a time, in
// no particular order, until fn returns false. To keep Range allocation-free the Flow
// passed to fn, and its Entries, are reused: they are valid only until fn returns (keep
// a Flow with Clone). fn may call the Tracker: no lock is held while it runs. Flows
// added or removed during Range may or may not be visited.
func (t *Tracker) Range(fn func(f Flow) bool) {
	var buf []Flow
	var entries []Entry
	var tmp Flow
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		buf, entries = buf[:0], entries[:0]
		for _, r := range s.byID {
			fill(&tmp, r, t.Cookie(r.id))
			entries = append(entries, tmp.Entries...)
			buf = append(buf, tmp) // Entries re-pointed below; only its length counts here
		}
		// Point each flow's Entries at its part of the shared backing array.
		off := 0
		for j := range buf {
			n := len(buf[j].Entries)
			buf[j].Entries = entries[off : off+n : off+n]
			off += n
		}
		s.mu.RUnlock()
		for _, f := range buf {
			if !fn(f) {
				return
			}
		}
	}
}

// Snapshot returns a copy of every active, draining and retained flow, sorted by ID.
func (t *Tracker) Snapshot() []Flow {
	var out []Flow
	t.Range(func(f Flow) bool {
		out = append(out, f.Clone())
		return true
	})
	slices.SortFunc(out, func(a, b Flow) int { return cmpU64(a.ID, b.ID) })
	return out
}

// Len returns the number of active and draining flows.
func (t *Tracker) Len() int { return int(t.active.Load()) }

// Stats are the tracker's counters since New.
type Stats struct {
	Active   int    // active and draining flows
	Retained int    // expired flows still visible
	Arrived  uint64 // flows created
	Expired  uint64 // flows expired
	Dropped  uint64 // events dropped because a subscriber's buffer was full
}

// Stats returns the current counters.
func (t *Tracker) Stats() Stats {
	return Stats{
		Active:   int(t.active.Load()),
		Retained: int(t.retained.Load()),
		Arrived:  t.arrived.Load(),
		Expired:  t.expired.Load(),
		Dropped:  t.dropped.Load(),
	}
}

// ErrIDTaken is returned by Adopt when the ID is already in use or the key already
// has an active flow.
var ErrIDTaken = errors.New("flowtracker: flow ID or key already in use")

// Adopt records a flow that an earlier run of the controller installed and whose
// entries the switches still hold (it was read back from their flow tables): it gets
// back its own ID, and so its cookie, and its start time. The ID must be one this
// tracker could have issued for key (same Shards and CookieTag as the run that issued
// it), unused, and key must have no active flow. The shard's ID sequence moves past
// it, so Add never issues it again. An Arrived event at time start is published.
// Errors: ErrEmptyPath, ErrPathTooLong, ErrPathLoop, ErrUnknownFlow (an ID of another
// shard, zero or out of range), ErrIDTaken.
func (t *Tracker) Adopt(id uint64, key Key, path []Hop, start time.Time) (Handle, error) {
	return t.adopt(id, key, path, start, true)
}

// AdoptForeign is Adopt for a flow another controller issued from its own range of
// IDs (a cluster's instance that left): the shard's ID sequence stays where it is, so
// that Add goes on issuing IDs from this tracker's range, not the other's.
func (t *Tracker) AdoptForeign(id uint64, key Key, path []Hop, start time.Time) (Handle, error) {
	return t.adopt(id, key, path, start, false)
}

func (t *Tracker) adopt(id uint64, key Key, path []Hop, start time.Time, advance bool) (Handle, error) {
	switch {
	case len(path) == 0:
		return Handle{}, ErrEmptyPath
	case len(path) > t.cfg.MaxPathLen:
		return Handle{}, fmt.Errorf("%w: %d hops, limit %d", ErrPathTooLong, len(path), t.cfg.MaxPathLen)
	}
	for i := 1; i < len(path); i++ {
		for j := 0; j < i; j++ {
			if path[i].DPID == path[j].DPID {
				return Handle{}, fmt.Errorf("%w: dpid %#x at hops %d and %d", ErrPathLoop, path[i].DPID, j, i)
			}
		}
	}
	h := key.Hash()
	si := h % uint64(len(t.shards))
	if id == 0 || id > idMask || (id-1)%uint64(len(t.shards)) != si {
		return Handle{}, fmt.Errorf("%w: id %d cannot belong to key %s", ErrUnknownFlow, id, key)
	}
	s := &t.shards[si]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byID[id]; taken {
		return Handle{}, fmt.Errorf("%w: id %d", ErrIDTaken, id)
	}
	if s.findKey(h, key) != nil {
		return Handle{}, fmt.Errorf("%w: key %s", ErrIDTaken, key)
	}
	if seq := (id-1)/uint64(len(t.shards)) + 1; advance && seq > s.seq {
		s.seq = seq
	}
	r := newRecord(id, key, unixNano(start), len(path), GrainExact)
	for i, hop := range path {
		r.entries()[i].setHop(hop)
		s.index(r, i)
	}
	s.linkKey(h, r)
	s.byID[id] = r
	t.active.Add(1)
	t.arrived.Add(1)
	t.publish(EventArrived, r, start)
	return Handle{ID: id, Cookie: t.Cookie(id)}, nil
}

// Reserve makes sure Add never issues an ID at or below id: every shard's sequence
// moves past it. A controller that restarts reserves the IDs its earlier run may have
// issued, so that no new flow gets the cookie of an entry still on a switch.
func (t *Tracker) Reserve(id uint64) {
	n := uint64(len(t.shards))
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		// Shard i issues seq*n + i + 1; the first above id has seq > (id-i-1)/n.
		if id >= uint64(i)+1 {
			if seq := (id-uint64(i)-1)/n + 1; seq > s.seq {
				s.seq = seq
			}
		}
		s.mu.Unlock()
	}
}
