package controller

import (
	"encoding/binary"
	"sort"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// TableInfo is what the controller knows of a switch's flow table: the occupancy its
// table statistics (OFPST_TABLE) reported, what was installed and removed since, the
// limit in force, and whether new flows through it are forwarded by host-pair entries
// (the fallback).
type TableInfo struct {
	DPID uint64
	// Read says a table statistics reply arrived; Active and MaxEntries are its
	// active_count and max_entries (table 0 when the switch reports it, else summed),
	// at ReadAt.
	Read       bool
	Active     int
	MaxEntries int
	ReadAt     time.Time
	// Estimate is the occupancy now: Active plus the entries added since the reading,
	// less those removed or refused since.
	Estimate int
	// Limit is the table's capacity as the controller takes it: MaxEntries, or less
	// when a refusal taught it (Learned). Zero when unknown.
	Limit   int
	Learned bool
	// Refused counts the FLOW_MODs the switch refused (OFPET_FLOW_MOD_FAILED).
	Refused uint64
	// Fallback says new flows through the switch get host-pair entries; since
	// FallbackSince.
	Fallback      bool
	FallbackSince time.Time
	// Unsupported: the switch answered the table statistics request with an error.
	Unsupported bool
}

// tableState is a switch's TableInfo and the bookkeeping behind it; the core owns it.
type tableState struct {
	info TableInfo

	learned        int       // the limit refusals taught, 0 when none
	added, removed int       // FLOW_ADDs sent and entries removed or refused since ReadAt
	addedAtAsk     int       // added when the pending request went out
	xid            uint32    // the table statistics request waiting for its reply, 0 when none
	askedAt        time.Time // when it, or the last one, was sent
	askNow         bool      // a refusal, or the first entry installed, wants a fresh reading
	used           bool      // the controller installed an entry there: its table is worth reading
	evicting       int       // entries deleted to make room whose FLOW_REMOVED has not come yet
	noRoomUntil    time.Time // no entry to evict was found: do not look again before
	partActive     int       // a multipart reply's sums so far
	partMax        int
	partZero       bool // table 0 seen in this reply (its figures alone count)
	// adds are the FLOW_ADDs of the last addMemory, oldest first: a refusal names
	// one by its xid. A session's xids only grow (xidTable.allocate), so they are
	// sorted by xid but where the 32-bit counter wrapped.
	adds addRing
}

// addRing is a queue of FLOW_ADDs in a ring buffer that grows by doubling and is
// reused, so that remembering an add allocates nothing once it has grown.
type addRing struct {
	buf     []pendingAdd
	head, n int
}

func (r *addRing) at(i int) *pendingAdd { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *addRing) push(p pendingAdd) {
	if r.n == len(r.buf) {
		nb := make([]pendingAdd, max(2*len(r.buf), minAddRing))
		for i := range r.n {
			nb[i] = *r.at(i)
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = p
	r.n++
}

// dropBefore forgets the adds made at or before cut (unix nanoseconds).
func (r *addRing) dropBefore(cut int64) {
	for r.n > 0 && r.at(0).at <= cut {
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	if len(r.buf) > minAddRing && r.n <= len(r.buf)/8 {
		// A burst is over: keep a buffer for what is left of it (twice as much,
		// at least minAddRing), so that a thousand switches do not each keep the
		// buffer of the largest burst they saw.
		size := minAddRing
		for size < 2*r.n {
			size *= 2
		}
		nb := make([]pendingAdd, size)
		for i := range r.n {
			nb[i] = *r.at(i)
		}
		r.buf, r.head = nb, 0
	}
}

// minAddRing is the smallest buffer an addRing keeps.
const minAddRing = 64

// pendingAdd is a FLOW_ADD a refusal may still name by its xid.
type pendingAdd struct {
	xid    uint32
	cookie uint64
	at     int64 // unix nanoseconds
}

// takeAdd finds and forgets the FLOW_ADD with xid.
func (t *tableState) takeAdd(xid uint32) (pendingAdd, bool) {
	r := &t.adds
	i := sort.Search(r.n, func(i int) bool { return r.at(i).xid >= xid })
	if i == r.n || r.at(i).xid != xid {
		// Not where order puts it: the counter wrapped within the queue.
		for i = 0; i < r.n && r.at(i).xid != xid; i++ {
		}
		if i == r.n {
			return pendingAdd{}, false
		}
	}
	p := *r.at(i)
	r.at(i).cookie = 0 // taken: a repeated error finds nothing to mark
	return p, p.cookie != 0
}

// addMemory is how long a FLOW_ADD's xid is remembered for matching a refusal; a
// switch refuses at once, so this only bounds the memory.
const addMemory = 10 * time.Second

// table returns switch dpid's table state, creating it.
func (c *core) table(dpid uint64) *tableState {
	if c.tables == nil {
		c.tables = make(map[uint64]*tableState)
	}
	t := c.tables[dpid]
	if t == nil {
		t = &tableState{info: TableInfo{DPID: dpid}}
		c.tables[dpid] = t
	}
	return t
}

// estimate is the table's occupancy now.
func (t *tableState) estimate() int { return max(t.info.Active+t.added-t.removed, 0) }

// limit is the capacity in force: max_entries, or the learned limit below it.
func (t *tableState) limit() (int, bool) {
	m := t.info.MaxEntries
	if l := t.learned; l > 0 && (m == 0 || l < m) {
		return l, true
	}
	return m, false
}

// update recomputes the estimate and the fallback with the configured fill marks.
func (c *core) tableUpdate(t *tableState, now time.Time, refused bool) {
	t.info.Estimate = t.estimate()
	lim, learned := t.limit()
	t.info.Limit, t.info.Learned = lim, learned
	switch {
	case refused:
		c.setFallback(t, true, now)
	case lim <= 0:
		// No limit known: no fallback until a refusal teaches one.
	case float64(t.info.Estimate) >= c.cfg.TableHigh*float64(lim):
		c.setFallback(t, true, now)
	case float64(t.info.Estimate) < c.cfg.TableLow*float64(lim):
		c.setFallback(t, false, now)
	}
}

func (c *core) setFallback(t *tableState, on bool, now time.Time) {
	if t.info.Fallback == on {
		return
	}
	t.info.Fallback = on
	lim, _ := t.limit()
	if on {
		t.info.FallbackSince = now
		c.stats.FallbackStarts++
		c.log.Warn("flow table nearly full: new flows through the switch get host-pair entries",
			"dpid", dpidString(t.info.DPID), "entries", t.info.Estimate, "limit", lim, "refused", t.info.Refused)
		return
	}
	t.info.FallbackSince = time.Time{}
	c.log.Info("flow table has room again: new flows get exact entries", "dpid", dpidString(t.info.DPID),
		"entries", t.info.Estimate, "limit", lim)
}

// inFallback reports whether new flows through switch dpid get host-pair entries.
func (c *core) inFallback(dpid uint64) bool {
	t := c.tables[dpid]
	return t != nil && t.info.Fallback
}

// tableFull reports whether switch dpid's table is known to be full: a refusal taught
// its limit (or max_entries says it) and the estimate reaches it.
func (c *core) tableFull(dpid uint64) bool {
	t := c.tables[dpid]
	if t == nil {
		return false
	}
	lim, _ := t.limit()
	return lim > 0 && t.estimate()-t.evicting >= lim
}

// noteFlowAdd records a FLOW_ADD sent to s for the entry of the flow with cookie: it
// takes a place in the table until it is removed or refused.
func (c *core) noteFlowAdd(s *session, fm *ofproto.FlowMod, now time.Time) {
	t := c.table(s.dpid)
	if !t.used {
		t.used, t.askNow = true, true // the first reading: max_entries may say the limit
	}
	t.added++
	t.adds.push(pendingAdd{xid: fm.Xid, cookie: fm.Cookie, at: now.UnixNano()})
	c.tableUpdate(t, now, false)
}

// noteEntryRemoved counts an entry gone from s's table (FLOW_REMOVED), for the reason
// given.
func (c *core) noteEntryRemoved(s *session, reason ofproto.FlowRemovedReason, now time.Time) {
	t := c.table(s.dpid)
	t.removed++
	if reason == ofproto.RemovedDelete && t.evicting > 0 {
		t.evicting--
	}
	c.tableUpdate(t, now, false)
}

// flowModFailed handles an OFPET_FLOW_MOD_FAILED: the FLOW_ADD it answers (by xid,
// else by the cookie in the error's copy of the request) made no entry. The tracker
// marks that entry not installed, the table learns its limit, the fallback starts
// and a fresh table reading is asked for. It reports whether m was such an error.
func (c *core) flowModFailed(s *session, m *ofproto.ErrorMsg, now time.Time) bool {
	if m.ErrType != ofproto.ErrTypeFlowModFailed {
		return false
	}
	t := c.table(s.dpid)
	p, ok := t.takeAdd(m.Xid)
	if !ok {
		ck, isAdd := refusedCookie(m.Data)
		p, ok = pendingAdd{cookie: ck}, isAdd
	}
	c.stats.FlowModsRefused++
	t.info.Refused++
	if ok {
		t.removed++ // the add counted in the estimate never took a place
	}
	// The table held what the estimate says when it refused: that is its limit, as
	// far as the controller can tell (the lowest such figure, as a burst of adds
	// sent before the first refusal is answered inflates the first ones).
	if est := max(t.estimate(), 1); t.learned == 0 || est < t.learned {
		t.learned = est
	}
	t.askNow, t.used = true, true
	c.tableUpdate(t, now, true)
	code := ofproto.ErrorCodeString(m.ErrType, m.Code)
	if !ok || p.cookie == 0 {
		c.log.Warn("switch refused a FLOW_MOD the controller cannot place", "dpid", dpidString(s.dpid), "xid", m.Xid, "error", code)
		return true
	}
	st, err := c.tracker.EntryRefused(s.dpid, p.cookie, now)
	if err != nil {
		c.log.Debug("refused entry not recorded", "dpid", dpidString(s.dpid), "cookie", p.cookie, "err", err)
		return true
	}
	if st != flowtracker.StateExpired && c.routing != nil {
		c.routing.entryRefused(&c.ctxs[c.routingAt], p.cookie, now)
	}
	c.log.Debug("switch refused an entry", "dpid", dpidString(s.dpid), "cookie", p.cookie, "error", code)
	return true
}

// refusedCookie reads the cookie of the FLOW_ADD an error message's data copies (the
// request's first bytes: header, match, cookie).
func refusedCookie(data []byte) (uint64, bool) {
	const cookieAt = ofproto.HeaderLen + 40
	if len(data) < cookieAt+10 || ofproto.Type(data[1]) != ofproto.TypeFlowMod {
		return 0, false
	}
	if cmd := ofproto.FlowModCommand(binary.BigEndian.Uint16(data[cookieAt+8:])); cmd != ofproto.FlowAdd {
		return 0, false
	}
	return binary.BigEndian.Uint64(data[cookieAt:]), true
}

// tableReply takes (a part of) the answer to the table statistics request.
func (c *core) tableReply(s *session, m *ofproto.StatsReply, now time.Time) {
	t := c.table(s.dpid)
	if r, ok := m.Body.(*ofproto.TableStatsReply); ok {
		for _, e := range r.Entries {
			switch {
			case e.TableID == 0:
				t.partActive, t.partMax, t.partZero = int(e.ActiveCount), int(e.MaxEntries), true
			case !t.partZero:
				t.partActive += int(e.ActiveCount)
				t.partMax += int(e.MaxEntries)
			}
		}
	}
	if m.Flags&ofproto.StatsReplyMore != 0 {
		return
	}
	t.xid = 0
	t.info.Read, t.info.ReadAt = true, now
	t.info.Active, t.info.MaxEntries = t.partActive, t.partMax
	t.partActive, t.partMax, t.partZero = 0, 0, false
	// The switch answered in order: the FLOW_ADDs sent before the request are in the
	// reading, those sent after it are not; every FLOW_REMOVED and refusal received
	// before the answer was the switch's before it answered.
	t.added, t.removed, t.evicting = max(t.added-t.addedAtAsk, 0), 0, 0
	t.addedAtAsk = 0
	if t.learned > 0 && t.info.Active > t.learned {
		t.learned = t.info.Active // it holds more than the refusals suggested
	}
	c.tableUpdate(t, now, false)
}

// tableFailed: the switch answered the table statistics request with an error.
func (c *core) tableFailed(s *session, m *ofproto.ErrorMsg) {
	t := c.table(s.dpid)
	t.xid = 0
	if !t.info.Unsupported {
		t.info.Unsupported = true
		c.log.Warn("switch refused table statistics: occupancy is estimated from what was installed",
			"dpid", dpidString(s.dpid), "error", m.Error())
	}
}

// tablesTick asks each switch the controller installed entries on for its table
// statistics: at once after the first entry and after a refusal, then every
// TableInterval; a request unanswered for RequestTimeout is given up. It also
// forgets FLOW_ADD xids older than addMemory.
func (c *core) tablesTick(now time.Time) {
	for dpid, t := range c.tables {
		s, ok := c.switches[dpid]
		if !ok {
			delete(c.tables, dpid)
			continue
		}
		t.adds.dropBefore(now.Add(-addMemory).UnixNano())
		if t.xid != 0 {
			if now.Sub(t.askedAt) < c.cfg.RequestTimeout {
				continue
			}
			t.xid = 0
		}
		// A switch this controller is a slave of is read by its master (Config.Roles).
		if t.info.Unsupported || !t.used || s.role == ofproto.RoleSecondary ||
			(!t.askNow && now.Sub(t.askedAt) < c.cfg.TableInterval) {
			continue
		}
		// A refusal asks at once, but not more often than every tenth of the interval.
		if t.askNow && !t.askedAt.IsZero() && now.Sub(t.askedAt) < c.cfg.TableInterval/10 {
			continue
		}
		t.askNow = false
		t.askedAt = now
		t.addedAtAsk = t.added
		t.partActive, t.partMax, t.partZero = 0, 0, false
		t.xid = s.xids.allocate()
		c.fx.send(s, &ofproto.StatsRequest{Xid: t.xid, Body: &ofproto.TableStatsRequest{}})
	}
}

// Tables returns what the controller knows of each connected switch's flow table, by
// datapath id.
func (c *Controller) Tables() []TableInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TableInfo, 0, len(c.core.tables))
	for dpid, t := range c.core.tables {
		if _, up := c.core.switches[dpid]; !up {
			continue
		}
		out = append(out, t.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DPID < out[j].DPID })
	return out
}

// hostPairKey is the key of the host-pair aggregate a flow falls in.
func hostPairKey(k flowtracker.Key) flowtracker.Key { return flowtracker.HostPairKey(k) }
