package afps

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
)

// FlowKey is a flow's 5-tuple as tasks select on it.
type FlowKey struct {
	Proto    uint8
	Src, Dst netip.Addr
	SPort    uint16
	DPort    uint16
}

// LinkRef names a directed link by the switch and port it leaves from.
type LinkRef struct {
	DPID uint64
	Port uint16
}

// FlowInfo is what a Monitor needs to know about an active flow.
type FlowInfo struct {
	ID       uint64
	Key      FlowKey
	Switches []int32   // its path as switch indices of the Network (at least one)
	Links    []LinkRef // the links it leaves switches by, in path order
}

// Match selects flows by 5-tuple fields; nil fields are wildcards.
type Match struct {
	NwSrc   *netip.Addr `json:"nw_src,omitempty"`
	NwDst   *netip.Addr `json:"nw_dst,omitempty"`
	NwProto *uint8      `json:"nw_proto,omitempty"`
	TpSrc   *uint16     `json:"tp_src,omitempty"`
	TpDst   *uint16     `json:"tp_dst,omitempty"`
}

// Selector chooses a task's flows: those to or from any of Hosts, or those Match
// selects (both given: both must hold; neither: every flow).
type Selector struct {
	Hosts []netip.Addr `json:"hosts,omitempty"`
	Match *Match       `json:"match,omitempty"`
}

// Selects reports whether k is one of the selector's flows.
func (s Selector) Selects(k FlowKey) bool {
	if len(s.Hosts) > 0 && !slices.Contains(s.Hosts, k.Src) && !slices.Contains(s.Hosts, k.Dst) {
		return false
	}
	if m := s.Match; m != nil {
		if (m.NwSrc != nil && *m.NwSrc != k.Src) || (m.NwDst != nil && *m.NwDst != k.Dst) ||
			(m.NwProto != nil && *m.NwProto != k.Proto) || (m.TpSrc != nil && *m.TpSrc != k.SPort) ||
			(m.TpDst != nil && *m.TpDst != k.DPort) {
			return false
		}
	}
	return true
}

// TaskSpec describes a monitoring task: an operation over the flows that cross Link
// (when set) and that Selector selects, each sampled by Sampler.
type TaskSpec struct {
	Task
	Link     *LinkRef
	Selector Selector
	Sampler  Config
}

// Validate names every bad field.
func (s TaskSpec) Validate() error {
	var errs []error
	if s.Kind > HeavyHitters {
		errs = append(errs, fmt.Errorf("%w: kind %d", ErrBadTask, s.Kind))
	}
	if s.Kind == LinkUtilization && s.Link == nil {
		errs = append(errs, fmt.Errorf("%w: a link utilization task needs a link", ErrBadTask))
	}
	if s.K < 0 || s.K > 1<<16 {
		errs = append(errs, fmt.Errorf("%w: k %d, want 0..65536", ErrBadTask, s.K))
	}
	if s.Threshold < 0 {
		errs = append(errs, fmt.Errorf("%w: negative threshold", ErrBadTask))
	}
	for _, h := range s.Selector.Hosts {
		if !h.IsValid() {
			errs = append(errs, fmt.Errorf("%w: invalid host address", ErrBadTask))
			break
		}
	}
	if err := s.Sampler.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s TaskSpec) watches(f FlowInfo) bool {
	if s.Link != nil && !slices.Contains(f.Links, *s.Link) {
		return false
	}
	return s.Selector.Selects(f.Key)
}

// TaskState is a task's current state.
type TaskState struct {
	ID       uint64
	Spec     TaskSpec
	Flows    int   // flows it watches now
	Requests int64 // requests sent for it
	Bytes    int64 // their bytes (shared polls are charged to the first task)
	Value    Value // latest value
}

type monTask struct {
	id       uint64
	spec     TaskSpec
	poller   *Poller
	hosts    map[uint64]HostPair
	series   Series
	requests int64
	bytes    int64
	last     Value
}

// Monitor runs monitoring tasks on top of any polling strategy: one Poller per task
// over the flows the task selects, their due polls merged so that a flow watched by
// several tasks is polled once per tick, every reading (from these polls or any other)
// passed to each task watching the flow. Pure; not safe for concurrent use.
type Monitor struct {
	net    mcps.Network
	hops   []int // hops of the switches added with AddSwitch, in order
	batch  bool
	next   uint64
	tasks  map[uint64]*monTask
	flows  map[uint64]FlowInfo
	seen   map[uint64]bool
	keep   int
	polled []Poll
}

// NewMonitor returns a monitor for a network (as mcps describes it); batch lets each
// task's due flows of one switch go out as one poll-all when cheaper. keep bounds each
// task's series (0: 600 values).
func NewMonitor(net mcps.Network, batch bool, keep int) (*Monitor, error) {
	if net.Switches == 0 {
		net.Switches = 1
	}
	if err := net.Validate(); err != nil {
		return nil, err
	}
	return &Monitor{net: net, batch: batch, next: 1, tasks: map[uint64]*monTask{}, flows: map[uint64]FlowInfo{}, keep: keep}, nil
}

// AddSwitch appends a switch with h hops to the nearest controller (counted in-band
// only), for a network that grows as switches connect, and returns its index: every
// task's poller gets it too.
func (m *Monitor) AddSwitch(h int) (int32, error) {
	var idx int32 = -1
	for _, t := range m.tasks {
		i, err := t.poller.AddSwitch(h)
		if err != nil {
			return 0, err
		}
		idx = i
	}
	m.hops = append(m.hops, h)
	if idx < 0 {
		idx = int32(m.net.Switches + len(m.hops) - 1)
	}
	return idx, nil
}

// AddTask starts a task at now over the active flows it selects and returns its id.
func (m *Monitor) AddTask(spec TaskSpec, now time.Time) (uint64, error) {
	if err := spec.Validate(); err != nil {
		return 0, err
	}
	p, err := NewPoller(PollerConfig{Sampler: spec.Sampler, Network: m.net, Batch: m.batch})
	if err != nil {
		return 0, err
	}
	for _, h := range m.hops {
		if _, err := p.AddSwitch(h); err != nil {
			return 0, err
		}
	}
	t := &monTask{id: m.next, spec: spec, poller: p, hosts: map[uint64]HostPair{}, series: Series{Cap: m.keep}}
	m.next++
	for _, f := range m.flows {
		if spec.watches(f) {
			if err := p.Watch(f.ID, f.Switches, now); err != nil {
				return 0, err
			}
			t.hosts[f.ID] = HostPair{f.Key.Src, f.Key.Dst}
		}
	}
	m.tasks[t.id] = t
	return t.id, nil
}

// RemoveTask stops a task; it reports whether it existed.
func (m *Monitor) RemoveTask(id uint64) bool {
	_, ok := m.tasks[id]
	delete(m.tasks, id)
	return ok
}

// OnArrive adds an active flow (its counters zero at now).
func (m *Monitor) OnArrive(now time.Time, f FlowInfo) error {
	if len(f.Switches) == 0 {
		return fmt.Errorf("%w: flow %d has no path", ErrBadConfig, f.ID)
	}
	if _, dup := m.flows[f.ID]; dup {
		return fmt.Errorf("%w: %d", ErrDuplicate, f.ID)
	}
	f.Switches = slices.Clone(f.Switches)
	f.Links = slices.Clone(f.Links)
	m.flows[f.ID] = f
	for _, t := range m.tasks {
		if t.spec.watches(f) {
			if err := t.poller.Watch(f.ID, f.Switches, now); err != nil {
				return err
			}
			t.hosts[f.ID] = HostPair{f.Key.Src, f.Key.Dst}
		}
	}
	return nil
}

// OnExpire takes a flow's final counters (FLOW_REMOVED): no poll is needed.
func (m *Monitor) OnExpire(now time.Time, id uint64, bytes uint64) {
	delete(m.flows, id)
	for _, t := range m.tasks {
		if _, ok := t.hosts[id]; ok {
			_, _ = t.poller.Expire(id, bytes, now)
			delete(t.hosts, id)
		}
	}
}

// OnReading passes a flow's byte counter, read at now by any poll, to every task
// watching it.
func (m *Monitor) OnReading(now time.Time, id uint64, bytes uint64) {
	for _, t := range m.tasks {
		t.poller.OnReading(id, bytes, now)
	}
}

// Due returns the polls to send at now for all tasks. A flow due for several tasks is
// polled once (charged to the lowest task id); a poll-all at a switch makes the other
// tasks' poll-singles and poll-alls there redundant. entries is as for Poller.Due.
func (m *Monitor) Due(now time.Time, entries func(s int32) int) []Poll {
	return m.DueBy(now, now, entries)
}

// DueBy is Due taking the flows due by by, polled at now (Poller.DueBy).
func (m *Monitor) DueBy(now, by time.Time, entries func(s int32) int) []Poll {
	ids := make([]uint64, 0, len(m.tasks))
	for id := range m.tasks {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	if m.seen == nil {
		m.seen = map[uint64]bool{}
	}
	clear(m.seen)
	allAt := map[int32]bool{}
	m.polled = m.polled[:0]
	for _, id := range ids {
		t := m.tasks[id]
		plan := t.poller.DueBy(now, by, entries)
		for _, q := range plan.Polls {
			switch {
			case q.All && allAt[q.Switch]:
				continue
			case q.All:
				allAt[q.Switch] = true
			case m.seen[q.Flow] || allAt[q.Switch]:
				continue
			}
			for _, f := range q.Due {
				m.seen[f] = true
			}
			q.Due = slices.Clone(q.Due)
			t.requests++
			t.bytes += q.Bytes
			m.polled = append(m.polled, q)
		}
	}
	return m.polled
}

// Evaluate computes every task's value at now from its flows' latest rates and
// records it in the task's series.
func (m *Monitor) Evaluate(now time.Time) {
	for _, t := range m.tasks {
		rates := make([]FlowRate, 0, len(t.hosts))
		for id, h := range t.hosts {
			if r, ok := t.poller.Rate(id); ok {
				rates = append(rates, FlowRate{ID: id, Hosts: h, Rate: r})
			}
		}
		t.last = t.spec.Task.Evaluate(now, rates)
		t.series.Add(t.last)
	}
}

// Task returns a task's state and its recorded values (oldest first).
func (m *Monitor) Task(id uint64) (TaskState, []Value, bool) {
	t, ok := m.tasks[id]
	if !ok {
		return TaskState{}, nil, false
	}
	return m.state(t), t.series.Values(), true
}

// Tasks returns every task's state, by id.
func (m *Monitor) Tasks() []TaskState {
	out := make([]TaskState, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, m.state(t))
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

func (m *Monitor) state(t *monTask) TaskState {
	return TaskState{ID: t.id, Spec: t.spec, Flows: t.poller.Len(), Requests: t.requests, Bytes: t.bytes, Value: t.last}
}
