package collector

import (
	"context"
	"net/netip"
	"time"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
)

// TaskAccount is the account the monitoring tasks' own polls are charged to.
const TaskAccount = "tasks"

// DefaultTaskInterval is how often the monitoring tasks' due polls go out: the
// samplers' default shortest interval.
const DefaultTaskInterval = 250 * time.Millisecond

// tasks runs the monitoring tasks (package afps) on top of whichever strategy polls
// the flows: every flow arrival, expiry and reading, from any poll, reaches the tasks'
// samplers, and the flows they find due are polled in task rounds, charged to
// TaskAccount. Guarded by the collector's mu.
type tasks struct {
	mon   *afps.Monitor
	index map[uint64]int32 // dpid -> the monitor's switch index
	dpids []uint64         // switch index -> dpid; index 0 is the monitor's placeholder
	n     int              // tasks running
}

func newTasks(cfg Config, cost mcps.CostModel) (*tasks, error) {
	net := mcps.Network{Switches: 1, Deployment: cfg.Deployment, Cost: cost}
	if cfg.Deployment == mcps.InBand {
		net.Hops = [][]int32{{1}}
	}
	m, err := afps.NewMonitor(net, true, 0)
	if err != nil {
		return nil, err
	}
	return &tasks{mon: m, index: map[uint64]int32{}, dpids: []uint64{0}}, nil
}

// sw returns the monitor's index of switch dpid, adding it when new.
func (t *tasks) sw(dpid uint64) (int32, error) {
	if i, ok := t.index[dpid]; ok {
		return i, nil
	}
	i, err := t.mon.AddSwitch(1)
	if err != nil {
		return 0, err
	}
	t.index[dpid] = i
	t.dpids = append(t.dpids, dpid)
	return i, nil
}

// flowInfo describes a flow as the tasks select on it.
func (t *tasks) flowInfo(id uint64, k flowtracker.Key, hops []flowtracker.Hop) (afps.FlowInfo, error) {
	f := afps.FlowInfo{ID: id, Key: afps.FlowKey{Proto: k.NWProto, SPort: k.TPSrc, DPort: k.TPDst}}
	if k.DLType == etherTypeIPv4 {
		f.Key.Src, f.Key.Dst = netip.AddrFrom4(k.NWSrc), netip.AddrFrom4(k.NWDst)
	}
	for _, h := range hops {
		i, err := t.sw(h.DPID)
		if err != nil {
			return f, err
		}
		f.Switches = append(f.Switches, i)
		f.Links = append(f.Links, afps.LinkRef{DPID: h.DPID, Port: h.OutPort})
	}
	return f, nil
}

// taskArrive, taskExpire and taskReading hand the tasks what the collector sees
// (c.mu held).
// While no task runs the monitor holds no flows (it would keep a copy of every
// active flow for nothing): the first task's AddTask hands it the active flows.
func (c *Collector) taskArrive(now time.Time, id uint64, k flowtracker.Key, hops []flowtracker.Hop) {
	if len(hops) == 0 || c.tasks.n == 0 {
		return
	}
	f, err := c.tasks.flowInfo(id, k, hops)
	if err == nil {
		err = c.tasks.mon.OnArrive(now, f)
	}
	if err != nil {
		c.log.Debug("monitoring tasks refused a flow", "flow", id, "err", err)
	}
}

func (c *Collector) taskExpire(now time.Time, id, bytes uint64) {
	if c.tasks.n > 0 {
		c.tasks.mon.OnExpire(now, id, bytes)
	}
}

func (c *Collector) taskReading(r stats.Reading) {
	if c.tasks.n > 0 {
		c.tasks.mon.OnReading(r.At, r.Flow, r.Bytes)
	}
}

// taskFlows hands the monitor every active flow (c.mu held): the first task is
// about to start.
func (c *Collector) taskFlows(now time.Time) {
	c.tasks.n++ // taskArrive feeds the monitor only while a task runs
	for id, f := range c.flows.All() {
		c.taskArrive(now, id, f.key, f.hops())
	}
	c.tasks.n--
}

// taskForget empties the monitor of flows (c.mu held): no task runs any more.
func (c *Collector) taskForget(now time.Time) {
	for id := range c.flows.All() {
		c.tasks.mon.OnExpire(now, id, 0)
	}
}

// AddTask starts a monitoring task over the active flows and those to come.
func (c *Collector) AddTask(spec afps.TaskSpec) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.deps.Clock()
	if c.tasks.n == 0 {
		c.taskFlows(now)
	}
	id, err := c.tasks.mon.AddTask(spec, now)
	if err != nil && c.tasks.n == 0 {
		c.taskForget(now)
	}
	if err == nil {
		c.tasks.n++
		c.log.Info("monitoring task started", "task", id, "kind", spec.Kind.String(), "sampler", spec.Sampler.Kind.String())
	}
	return id, err
}

// RemoveTask stops a task; it reports whether it existed.
func (c *Collector) RemoveTask(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := c.tasks.mon.RemoveTask(id)
	if ok {
		c.tasks.n--
		if c.tasks.n == 0 {
			c.taskForget(c.deps.Clock())
		}
		c.log.Info("monitoring task stopped", "task", id)
	}
	return ok
}

// Tasks returns every task's state, by id.
func (c *Collector) Tasks() []afps.TaskState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tasks.mon.Tasks()
}

// Task returns one task's state and its recent values, oldest first.
func (c *Collector) Task(id uint64) (afps.TaskState, []afps.Value, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tasks.mon.Task(id)
}

// TaskRound sends the polls the monitoring tasks find due now (the due flows of one
// switch batched into a poll-all when the cost model says it is cheaper; a flow
// already read this tick is not polled again), feeds the readings to the Store, the
// scheduler and the tasks, and evaluates every task. It does nothing while no task
// runs.
func (c *Collector) TaskRound(ctx context.Context) RoundResult {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	now := c.deps.Clock()
	res := RoundResult{At: now, Strategy: c.Strategy()}
	c.mu.Lock()
	if c.tasks.n == 0 {
		c.mu.Unlock()
		return res
	}
	load := make(map[int32]int)
	for _, f := range c.flows.All() {
		for _, h := range f.hops() {
			if i, ok := c.tasks.index[h.DPID]; ok {
				load[i]++
			}
		}
	}
	// Flows due before the next tick's midpoint go now: the ticks jitter, and a flow
	// whose interval runs from a late tick would otherwise wait a whole tick more.
	polls := c.tasks.mon.DueBy(now, now.Add(c.cfg.TaskInterval/2), func(s int32) int { return load[s] })
	due := make([]poll.Request, 0, len(polls))
	for _, q := range polls {
		if int(q.Switch) >= len(c.tasks.dpids) || q.Switch == 0 {
			continue
		}
		r := poll.Request{DPID: c.tasks.dpids[q.Switch], Flow: q.Flow, Source: stats.SourcePollSingle}
		if q.All {
			r.Source = stats.SourcePollAll
		}
		due = append(due, r)
	}
	reqs := c.requests(due, 0)
	c.mu.Unlock()
	res.Requests = len(reqs)
	sink := c.send(ctx, TaskAccount, reqs, &res)
	c.apply(now, sink, &res)
	c.mu.Lock()
	c.tasks.mon.Evaluate(c.deps.Clock())
	c.mu.Unlock()
	return res
}
