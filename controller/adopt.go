package controller

import (
	"fmt"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// AdoptWindow is how long, after the first switch comes up following Restore, the
// controller waits for the switches of a saved flow to report its entries. A saved
// flow not confirmed on every switch of its path by then is abandoned: the entries of
// it that were found are deleted (unless a new flow with the same key took them over).
const AdoptWindow = 10 * time.Second

// SavedFlow is the identity of an installed flow as it is persisted: what a restarted
// controller needs to recognise the flow's entries on the switches and track it again
// under the same ID and cookie.
type SavedFlow struct {
	ID     uint64            `json:"id"`
	Cookie uint64            `json:"cookie"`
	Key    flowtracker.Key   `json:"key"`
	Path   []flowtracker.Hop `json:"path"`
	Start  time.Time         `json:"start"`
}

// AdoptStats counts what the controller did with the state of an earlier run.
type AdoptStats struct {
	HostsRestored uint64 // saved hosts put back in the host table when their switch came up
	// HostsConfirmed counts restored hosts a frame then showed at their saved place;
	// HostsForgotten those that did not answer there within RestoredHostConfirm.
	HostsConfirmed uint64
	HostsForgotten uint64
	FlowsAdopted   uint64 // saved flows found whole on the switches and tracked again
	FlowsAbandoned uint64 // saved flows not found whole within AdoptWindow
	EntriesAdopted uint64 // switch entries recognised as a saved flow's
	EntriesDeleted uint64 // switch entries the controller could not account for, deleted
}

// adoption is the state a restarted controller waits to find on the switches.
type adoption struct {
	flows map[uint64]*adoptFlow      // saved flows not yet confirmed, by cookie
	hosts map[uint64][]topology.Host // saved hosts, by switch, until it comes up
	until time.Time                  // end of the window; zero until a switch comes up
	done  bool                       // the window closed
	keep  bool                       // flows of another controller of the cluster: delete nothing
	stats AdoptStats
}

type adoptFlow struct {
	SavedFlow
	seen []bool // seen[i]: the entry of Path[i] was read from its switch
	n    int    // entries seen
}

// restore loads saved state into the core. It must run before any switch connects.
func (c *core) restore(hosts []topology.Host, flows []SavedFlow, highWater uint64) {
	a := &adoption{flows: make(map[uint64]*adoptFlow, len(flows)), hosts: make(map[uint64][]topology.Host)}
	var maxID uint64
	for _, f := range flows {
		maxID = max(maxID, f.ID)
		if len(f.Path) == 0 || c.tracker.Cookie(f.ID) != f.Cookie {
			continue // saved under another cookie tag: not ours to adopt
		}
		a.flows[f.Cookie] = &adoptFlow{SavedFlow: f, seen: make([]bool, len(f.Path))}
	}
	for _, h := range hosts {
		a.hosts[h.DPID] = append(a.hosts[h.DPID], h)
	}
	// New flows must not get the cookie of an entry an earlier run left on a switch.
	c.tracker.Reserve(max(maxID, highWater))
	c.adopt = a
}

// adopting reports whether a switch coming up should have its table read rather than
// emptied.
func (c *core) adopting() bool {
	return c.adopt != nil && !c.adopt.done && len(c.adopt.flows) > 0
}

// adoptStart asks a switch that just came up for its whole flow table (the reply goes
// to adoptTable), and puts its saved hosts back.
func (c *core) adoptStart(s *session) {
	a := c.adopt
	s.adoptXid = s.xids.allocate()
	c.fx.send(s, &ofproto.StatsRequest{Xid: s.adoptXid, Body: &ofproto.FlowStatsRequest{
		Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}})
	c.log.Info("reading the flow table to adopt entries", "dpid", dpidString(s.dpid), "cluster", a.keep,
		"flows_waiting", len(a.flows))
}

// restoreHosts puts the saved hosts of a switch that came up back in the host table,
// provisionally: Discovery probes each at its saved place and forgets those that do
// not answer there (hostguard.go). Without Discovery they are learned as they are.
func (c *core) restoreHosts(s *session, now time.Time) {
	if c.adopt == nil || len(c.adopt.hosts[s.dpid]) == 0 {
		return
	}
	var d *discovery
	var x *Context
	for i, a := range c.apps {
		if dd, ok := a.(*discovery); ok {
			d, x = dd, &c.ctxs[i]
		}
	}
	for _, h := range c.adopt.hosts[s.dpid] {
		if _, up := s.ports[ofproto.PortNo(h.Port)]; !up {
			continue
		}
		if d != nil {
			if d.restoreHost(x, h, now) {
				c.adopt.stats.HostsRestored++
			}
			continue
		}
		if r := c.topo.LearnHost(h.MAC, h.IP, s.dpid, h.Port, now); r != topology.LearnIgnored {
			c.adopt.stats.HostsRestored++
		}
	}
	delete(c.adopt.hosts, s.dpid)
}

// adoptReply takes one part of the answer to adoptStart's request.
func (c *core) adoptReply(s *session, m *ofproto.StatsReply, now time.Time) {
	if b, ok := m.Body.(*ofproto.FlowStatsReply); ok {
		s.adoptTable = append(s.adoptTable, b.Entries...)
	}
	if m.Flags&ofproto.StatsReplyMore != 0 {
		return
	}
	entries := s.adoptTable
	s.adoptXid, s.adoptTable = 0, nil
	c.adoptTable(s, entries, now)
	if s.adoptAgain {
		s.adoptAgain = false
		c.adoptStart(s)
	}
}

// adoptFailed empties the table of a switch that refused the flow statistics request.
func (c *core) adoptFailed(s *session, m *ofproto.ErrorMsg) {
	s.adoptXid, s.adoptTable = 0, nil
	if c.adopt != nil && c.adopt.keep {
		c.log.Warn("switch refused to list its flow table", "dpid", dpidString(s.dpid), "error", m.Error())
		return
	}
	c.log.Warn("switch refused to list its flow table; deleting every entry", "dpid", dpidString(s.dpid), "error", m.Error())
	c.fx.send(s, &ofproto.FlowMod{Match: ofproto.MatchAll(), Command: ofproto.FlowDelete,
		BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone})
}

// adoptTable matches a switch's entries against the saved flows: an entry with a saved
// flow's cookie, key, priority (or 0xffff, exact) and this switch's hop of its path (in_port, and one
// output to the hop's out port) is that flow's; a flow whose every entry was found is
// tracked again under its ID. Every other entry is deleted, and logged.
func (c *core) adoptTable(s *session, entries []ofproto.FlowStats, now time.Time) {
	a := c.adopt
	var adopted, deleted int
	for i := range entries {
		e := &entries[i]
		if af, hop := c.adoptMatch(s.dpid, e); af != nil {
			adopted++
			a.stats.EntriesAdopted++
			if !af.seen[hop] {
				af.seen[hop] = true
				af.n++
			}
			if af.n == len(af.Path) {
				c.adoptFlow(af)
			}
			continue
		}
		if a.keep {
			continue // another controller's entry, or one of a flow not handed over
		}
		deleted++
		a.stats.EntriesDeleted++
		c.log.Info("deleting an entry cemon cannot account for", "dpid", dpidString(s.dpid),
			"cookie", fmt.Sprintf("%#x", e.Cookie), "priority", e.Priority, "match", flowkey.FromMatch(&e.Match).String(),
			"in_port", uint16(e.Match.InPort), "packets", e.PacketCount, "bytes", e.ByteCount)
		c.fx.send(s, &ofproto.FlowMod{Match: e.Match, Cookie: e.Cookie, Command: ofproto.FlowDeleteStrict,
			Priority: e.Priority, BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone})
	}
	c.log.Info("flow table read", "dpid", dpidString(s.dpid), "entries", len(entries), "adopted", adopted,
		"deleted", deleted, "flows_waiting", len(a.flows))
}

// adoptMatch returns the saved flow an entry belongs to and the index of the switch's
// hop on its path, or nil.
func (c *core) adoptMatch(dpid uint64, e *ofproto.FlowStats) (*adoptFlow, int) {
	af := c.adopt.flows[e.Cookie]
	// OpenFlow 1.0 gives exact-match entries the highest priority: Open vSwitch
	// reports them at 0xffff whatever priority they were installed with.
	prioOK := e.Priority == c.cfg.FlowPriority || (e.Priority == 0xffff && e.Match.Wildcards == 0)
	if af == nil || !prioOK || flowkey.FromMatch(&e.Match) != af.Key {
		return nil, 0
	}
	for i, h := range af.Path {
		if h.DPID != dpid {
			continue
		}
		if uint16(e.Match.InPort) != h.InPort || len(e.Actions) != 1 {
			return nil, 0
		}
		out, ok := e.Actions[0].(*ofproto.OutputAction)
		if !ok || uint16(out.Port) != h.OutPort {
			return nil, 0
		}
		return af, i
	}
	return nil, 0
}

// adoptFlow tracks a saved flow again, every entry of which was found.
func (c *core) adoptFlow(af *adoptFlow) {
	delete(c.adopt.flows, af.Cookie)
	adopt := c.tracker.Adopt
	if c.adopt.keep {
		// Another instance's flow: its ID is from that instance's range, which this
		// tracker's own IDs must not move into.
		adopt = c.tracker.AdoptForeign
	}
	if _, err := adopt(af.ID, af.Key, af.Path, af.Start); err != nil {
		// A packet of the flow reached the controller first and a new flow with the
		// key was installed over the same entries: that one is tracked.
		c.adopt.stats.FlowsAbandoned++
		c.log.Info("saved flow not adopted", "flow", af.ID, "cookie", fmt.Sprintf("%#x", af.Cookie), "err", err)
		return
	}
	c.adopt.stats.FlowsAdopted++
	c.log.Debug("flow adopted", "flow", af.ID, "cookie", fmt.Sprintf("%#x", af.Cookie), "key", af.Key.String())
}

// adoptTick closes the window: saved flows still incomplete are abandoned and the
// entries of theirs that were found are deleted.
func (c *core) adoptTick(now time.Time) {
	a := c.adopt
	if a == nil || a.done || a.until.IsZero() || now.Before(a.until) {
		return
	}
	a.done = true
	for _, af := range a.flows {
		a.stats.FlowsAbandoned++
		if _, taken := c.tracker.ByKey(af.Key); taken || a.keep {
			continue // a new flow with the key owns its entries now, or they idle out
		}
		for i, h := range af.Path {
			st, ok := c.switches[h.DPID]
			if !af.seen[i] || !ok {
				continue
			}
			a.stats.EntriesDeleted++
			c.fx.send(st, &ofproto.FlowMod{Match: flowkey.ToMatch(af.Key, ofproto.PortNo(h.InPort)), Cookie: af.Cookie,
				Command: ofproto.FlowDeleteStrict, Priority: c.cfg.FlowPriority,
				BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone})
		}
	}
	if len(a.flows) > 0 {
		c.log.Warn("saved flows not found whole on the switches; their entries are deleted",
			"flows", len(a.flows), "adopted", a.stats.FlowsAdopted)
	}
	c.log.Info("adoption done", "flows_adopted", a.stats.FlowsAdopted, "flows_abandoned", a.stats.FlowsAbandoned,
		"entries_adopted", a.stats.EntriesAdopted, "entries_deleted", a.stats.EntriesDeleted,
		"hosts_restored", a.stats.HostsRestored)
	a.flows, a.hosts = nil, nil
}
