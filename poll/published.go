package poll

import (
	"time"

	"github.com/cemon-sdn/cemon/stats"
)

// Assigned is the part of a scheme computed elsewhere that one poller runs: in a
// cluster, the requests of the leader's global scheme at the switches this instance
// masters. Revision names the scheme it is part of.
type Assigned struct {
	Revision   int64
	PollAll    []uint64 // switches asked for all their entries
	PollSingle []Single // flows read singly, each at its switch
}

// Published polls by an Assigned scheme while one is current (SetScheme), and by a
// local Planned scheme (this poller's own flows, its own costs) while none is:
// the local scheme is kept up to date all along (DAPR, ARI), so that it takes over
// at once. Under an assigned scheme, a flow of this poller that has had no reading
// for Rescue intervals since it arrived (a flow newer than the scheme, or one whose
// reading another poller failed to hand over) is read singly at its first switch,
// so that no flow goes unpolled.
type Published struct {
	local    *Planned
	cur      *Assigned
	interval time.Duration
	rescue   time.Duration
	flows    map[uint64]*pubFlow
	rescued  int
}

type pubFlow struct {
	first uint64    // the first switch of its path
	seen  time.Time // arrival or last reading
}

// Rescue is how many polling intervals a flow of this poller may go without a
// reading under an assigned scheme before it is read singly.
const Rescue = 2.5

var _ Offloader = (*Published)(nil)

// NewPublished returns a Published scheduler around local, the fallback (its
// PlannedConfig.Interval is the polling interval Rescue counts in).
func NewPublished(local *Planned) *Published {
	iv := local.cfg.Interval
	if iv <= 0 {
		iv = time.Second
	}
	return &Published{local: local, interval: iv, rescue: time.Duration(Rescue * float64(iv)),
		flows: make(map[uint64]*pubFlow)}
}

// SetScheme sets the assigned scheme, nil when none is current: the local one then
// polls.
func (p *Published) SetScheme(_ time.Time, a *Assigned) { p.cur = a }

// Active is the revision of the assigned scheme in use; false while the local scheme
// polls.
func (p *Published) Active() (revision int64, assigned bool) {
	if p.cur == nil {
		return 0, false
	}
	return p.cur.Revision, true
}

// Rescued counts the single reads of flows the assigned schemes left unread.
func (p *Published) Rescued() int { return p.rescued }

// Local is the fallback scheduler.
func (p *Published) Local() *Planned { return p.local }

// Strategy implements Scheduler.
func (p *Published) Strategy() Strategy { return p.local.Strategy() }

// SetSwitches implements Scheduler.
func (p *Published) SetSwitches(now time.Time, sw []Switch) { p.local.SetSwitches(now, sw) }

// OnArrive implements Scheduler.
func (p *Published) OnArrive(now time.Time, f Flow) {
	p.local.OnArrive(now, f)
	if _, dup := p.flows[f.ID]; dup || len(f.DPIDs) == 0 {
		return
	}
	p.flows[f.ID] = &pubFlow{first: f.DPIDs[0], seen: now}
}

// OnExpire implements Scheduler.
func (p *Published) OnExpire(now time.Time, id uint64) {
	p.local.OnExpire(now, id)
	delete(p.flows, id)
}

// OnReading implements Scheduler.
func (p *Published) OnReading(now time.Time, r stats.Reading, s stats.FlowSample) {
	p.local.OnReading(now, r, s)
	if f, ok := p.flows[r.Flow]; ok && now.After(f.seen) {
		f.seen = now
	}
}

// Due implements Scheduler: the assigned requests and the rescues, or the local
// scheme's.
func (p *Published) Due(now time.Time, dst []Request) []Request {
	if p.cur == nil {
		return p.local.Due(now, dst)
	}
	for _, d := range p.cur.PollAll {
		dst = append(dst, Request{DPID: d, Source: stats.SourcePollAll, Interval: p.interval})
	}
	for _, s := range p.cur.PollSingle {
		dst = append(dst, Request{DPID: s.DPID, Flow: s.Flow, Source: stats.SourcePollSingle, Interval: p.interval})
	}
	var assigned map[uint64]bool // the flows read singly by the scheme, built on need
	for id, f := range p.flows {
		if now.Sub(f.seen) < p.rescue {
			continue
		}
		if assigned == nil {
			assigned = make(map[uint64]bool, len(p.cur.PollSingle))
			for _, s := range p.cur.PollSingle {
				assigned[s.Flow] = true
			}
		}
		if assigned[id] {
			continue
		}
		p.rescued++
		dst = append(dst, Request{DPID: f.first, Flow: id, Source: stats.SourcePollSingle, Interval: p.interval})
	}
	return dst
}

// Work implements Offloader: the local scheme's.
func (p *Published) Work(now time.Time) Work { return p.local.Work(now) }

// Finish implements Offloader.
func (p *Published) Finish(now time.Time, w Work) error { return p.local.Finish(now, w) }
