package controller

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// Several controllers share the switches (Config.Roles): each switch has one master,
// set with SetRole through the Nicira role extension of OpenFlow 1.0, which Open
// vSwitch honours. A master gets the switch's PACKET_INs and FLOW_REMOVEDs and may
// change its table; a slave gets neither, may only read (statistics, features), and is
// ready to take over. A switch starts as this controller's slave and its table is kept,
// since it holds the entries of the other controllers' flows.

// ErrNotSlaveOrMaster: SetRole takes ofproto.RolePrimary or ofproto.RoleSecondary.
var ErrNotSlaveOrMaster = errors.New("controller: role must be master or slave")

// RoleStats counts the controller's dealings with switch roles.
type RoleStats struct {
	Requests       uint64 // NXT_ROLE_REQUESTs sent
	Replies        uint64 // NXT_ROLE_REPLYs received for them
	Refused        uint64 // role requests the switch answered with an error
	SlavePacketIns uint64 // PACKET_INs and FLOW_REMOVEDs a slave switch sent anyway, ignored
	HeldWrites     uint64 // FLOW_MODs, PACKET_OUTs and PORT_MODs not sent to a slave switch
}

// SwitchRole is the role this controller holds at one connected switch.
type SwitchRole struct {
	DPID uint64
	// Role is the role the switch last granted (RoleOther until a reply comes; with
	// Config.Roles, RoleSecondary from the moment the switch is up).
	Role ofproto.Role
	// Pending is the role asked for and not granted yet (0 when none is pending).
	Pending ofproto.Role
}

// isWrite reports whether m changes a switch's state or sends traffic: what a slave
// may not do (Open vSwitch refuses it with OFPBRC_EPERM).
func isWrite(m ofproto.Message) bool {
	switch m.(type) {
	case *ofproto.FlowMod, *ofproto.PacketOut, *ofproto.PortMod:
		return true
	}
	return false
}

// roleUp sets a switch that came up as this controller's slave (Config.Roles).
func (c *core) roleUp(s *session) {
	s.role = ofproto.RoleSecondary
	c.sendRole(s, ofproto.RoleSecondary)
}

func (c *core) sendRole(s *session, r ofproto.Role) {
	s.roleXid = s.xids.allocate()
	s.rolePending = r
	c.roleStats.Requests++
	c.fx.send(s, &ofproto.RoleRequest{Xid: s.roleXid, Role: r})
}

// setRole asks switch dpid for role r. Becoming a slave takes effect at once (no
// writes go to the switch from now on); becoming master when the switch grants it.
func (c *core) setRole(dpid uint64, r ofproto.Role) error {
	if r != ofproto.RolePrimary && r != ofproto.RoleSecondary {
		return fmt.Errorf("%w: %v", ErrNotSlaveOrMaster, r)
	}
	c.fx.reset()
	s, ok := c.switches[dpid]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSwitch, dpidString(dpid))
	}
	if r == ofproto.RoleSecondary {
		s.role = r
	}
	if s.role == r && s.rolePending == 0 {
		return nil
	}
	c.sendRole(s, r)
	return nil
}

// roleReply takes the switch's answer to a role request; it reports whether m was one.
func (c *core) roleReply(s *session, m ofproto.Message) bool {
	switch m := m.(type) {
	case *ofproto.RoleReply:
		if s.roleXid == 0 || m.Xid != s.roleXid {
			return false
		}
		c.roleStats.Replies++
		s.roleXid, s.rolePending = 0, 0
		was := s.role
		s.role = m.Role
		c.log.Info("switch role", "dpid", dpidString(s.dpid), "role", m.Role)
		if m.Role == ofproto.RolePrimary && was != ofproto.RolePrimary {
			c.adoptOnMaster(s)
			c.probeOnMaster(s)
		}
		return true
	case *ofproto.ErrorMsg:
		if s.roleXid == 0 || m.Xid != s.roleXid {
			return false
		}
		c.roleStats.Refused++
		s.roleXid, s.rolePending = 0, 0
		c.log.Warn("switch refused the role request", "dpid", dpidString(s.dpid), "error", m.Error())
		return true
	}
	return false
}

// slaveIgnores reports whether an asynchronous message from s is to be ignored: a
// slave switch should not send it, and its master handles it.
func (c *core) slaveIgnores(s *session) bool {
	if s.role != ofproto.RoleSecondary {
		return false
	}
	c.roleStats.SlavePacketIns++
	return true
}

// adoptFlows hands the core the flows of another controller (one that left the
// cluster) to take over: each flow whose entries are found on every switch of its
// path is tracked again under its ID and cookie. Nothing is deleted: an entry that
// matches no flow belongs to another controller. Tables are read from the switches
// this controller is master of when they are granted, and from the others at once.
func (c *core) adoptFlows(flows []SavedFlow, now time.Time) int {
	c.fx.reset()
	a := c.adopt
	if a == nil || a.done {
		a = &adoption{flows: make(map[uint64]*adoptFlow), hosts: make(map[uint64][]topology.Host), keep: true}
		c.adopt = a
	}
	a.until = now.Add(AdoptWindow)
	added := 0
	read := map[uint64]bool{}
	for _, f := range flows {
		if len(f.Path) == 0 || c.tracker.Cookie(f.ID) != f.Cookie {
			continue
		}
		if _, ok := c.tracker.Get(f.ID); ok {
			continue // tracked already
		}
		if _, ok := a.flows[f.Cookie]; ok {
			continue
		}
		a.flows[f.Cookie] = &adoptFlow{SavedFlow: f, seen: make([]bool, len(f.Path))}
		added++
		for _, h := range f.Path {
			read[h.DPID] = true
		}
	}
	for dpid := range read {
		if s, ok := c.switches[dpid]; ok && s.rolePending != ofproto.RolePrimary {
			c.adoptRead(s)
		}
	}
	return added
}

// adoptOnMaster reads the table of a switch this controller just became master of,
// when flows wait to be adopted.
func (c *core) adoptOnMaster(s *session) {
	if c.adopt != nil && c.adopt.keep && !c.adopt.done && len(c.adopt.flows) > 0 {
		c.adoptRead(s)
	}
}

// probeOnMaster sends link-discovery probes out of every port of a switch this
// controller has just become master of, as when a switch connects: only a master
// probes, so the links out of the switch have not been probed since its previous
// master stopped, and would otherwise wait for the next round.
func (c *core) probeOnMaster(s *session) {
	for i, a := range c.apps {
		if d, ok := a.(*discovery); ok {
			d.probeSwitch(&c.ctxs[i], Switch{s})
		}
	}
}

// adoptRead asks a switch for its table, or for another reading after the pending one.
func (c *core) adoptRead(s *session) {
	if s.adoptXid != 0 {
		s.adoptAgain = true
		return
	}
	c.adoptStart(s)
}

// SetRole asks switch dpid for the master (ofproto.RolePrimary) or slave
// (ofproto.RoleSecondary) role. A slave gets no writes from now on; the master role
// holds once the switch grants it (see Roles). Needs no Config.Roles: any controller
// may ask.
func (c *Controller) SetRole(dpid uint64, r ofproto.Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.core.setRole(dpid, r); err != nil {
		return err
	}
	c.apply(&c.core.fx)
	return nil
}

// Roles returns the role this controller holds at each connected switch, by dpid.
func (c *Controller) Roles() []SwitchRole {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]SwitchRole, 0, len(c.core.switches))
	for dpid, s := range c.core.switches {
		out = append(out, SwitchRole{DPID: dpid, Role: s.role, Pending: s.rolePending})
	}
	slices.SortFunc(out, func(a, b SwitchRole) int { return cmp.Compare(a.DPID, b.DPID) })
	return out
}

// RoleStats returns the role counters.
func (c *Controller) RoleStats() RoleStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.roleStats
}

// AdoptFlows takes over the flows another controller of the cluster installed (it
// left: its lease expired): each flow whose entries are found on every switch of its
// path, with its cookie, is tracked again under its ID, and its statistics go on from
// the switches' counters. Unmatched entries are left alone. It returns how many flows
// wait to be found. Flows not found within AdoptWindow are given up.
func (c *Controller) AdoptFlows(flows []SavedFlow) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.core.adoptFlows(flows, c.now())
	c.apply(&c.core.fx)
	return n
}

// ReserveFlowIDs makes the tracker issue flow IDs above id from now on: controllers
// sharing switches take disjoint ranges, so that a flow adopted from another keeps
// its ID and cookie.
func (c *Controller) ReserveFlowIDs(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.core.tracker.Reserve(id)
}

// SavedFlows returns the identity of every active flow, what another controller needs
// to adopt them (AdoptFlows).
func (c *Controller) SavedFlows() []SavedFlow {
	var out []SavedFlow
	c.core.tracker.Range(func(f flowtracker.Flow) bool {
		if f.State == flowtracker.StateActive {
			out = append(out, SavedFlow{ID: f.ID, Cookie: f.Cookie, Key: f.Key, Path: f.Path(), Start: f.Start})
		}
		return true
	})
	return out
}

// ErrNotMaster: SendMaster was asked to write to a switch this controller is not the
// master of.
var ErrNotMaster = errors.New("controller: not the switch's master")

// SendMaster sends a write another controller of the cluster could not send itself
// (it is the switch's slave; see Config.Forward): only the master of switch dpid may.
func (c *Controller) SendMaster(dpid uint64, msg ofproto.Message) error {
	if msg == nil {
		return fmt.Errorf("%w: nil message", ErrBadRequest)
	}
	c.mu.Lock()
	s, ok := c.core.switches[dpid]
	if ok && s.role != ofproto.RolePrimary {
		c.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotMaster, dpidString(dpid))
	}
	c.mu.Unlock()
	msg.SetXID(0)
	return c.Send(dpid, msg)
}

// LearnRemote puts links and hosts another controller of the cluster discovered (at
// the switches it masters, where this one hears no PACKET_IN) into this controller's
// view, as if it had learned them itself now: shortest paths cross the whole network.
// Call it again to keep them: a link not refreshed times out as an LLDP link does.
func (c *Controller) LearnRemote(links []topology.Link, hosts []topology.Host) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, l := range links {
		if _, err := c.core.topo.AddLink(l, now); err != nil {
			c.log.Debug("remote link ignored", "link", l.String(), "err", err)
		}
	}
	for _, h := range hosts {
		c.core.topo.LearnHost(h.MAC, h.IP, h.DPID, h.Port, now)
	}
}
