package poll

import (
	"fmt"
	"time"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/stats"
)

// AdaptiveConfig configures an Adaptive scheduler. The zero value samples every flow
// with afps's Fixed sampler (1 s), out-of-band, under mcps.WireCost{}.
type AdaptiveConfig struct {
	Sampler    afps.Config
	Deployment mcps.Deployment
	Cost       mcps.CostModel // default mcps.WireCost{}
	// Batch lets the due flows of one switch go out as one poll-all when the cost
	// model says it is cheaper.
	Batch bool
}

// Adaptive is the afps strategy: every tracked flow polled at its own pace, picked by
// its sampler from the rates its readings show (package afps). Pure, like every
// scheduler.
type Adaptive struct {
	cfg   AdaptiveConfig
	p     *afps.Poller
	index map[uint64]int32 // dpid -> switch index of the poller
	dpids []uint64         // switch index -> dpid (index 0 unused)
	path  []int32
}

// NewAdaptive returns an Adaptive scheduler.
func NewAdaptive(cfg AdaptiveConfig) (*Adaptive, error) {
	if cfg.Cost == nil {
		cfg.Cost = mcps.WireCost{}
	}
	net := mcps.Network{Switches: 1, Deployment: cfg.Deployment, Cost: cfg.Cost}
	if cfg.Deployment == mcps.InBand {
		net.Hops = [][]int32{{1}}
	}
	p, err := afps.NewPoller(afps.PollerConfig{Sampler: cfg.Sampler, Network: net, Batch: cfg.Batch})
	if err != nil {
		return nil, fmt.Errorf("poll: afps: %w", err)
	}
	return &Adaptive{cfg: cfg, p: p, index: map[uint64]int32{}, dpids: []uint64{0}}, nil
}

// Strategy implements Scheduler.
func (a *Adaptive) Strategy() Strategy { return AFPS }

// Sampler is the sampler every flow gets.
func (a *Adaptive) Sampler() afps.Kind { return a.cfg.Sampler.Kind }

func (a *Adaptive) sw(dpid uint64, hops int) int32 {
	if i, ok := a.index[dpid]; ok {
		return i
	}
	i, err := a.p.AddSwitch(hops)
	if err != nil {
		return -1
	}
	a.index[dpid] = i
	a.dpids = append(a.dpids, dpid)
	return i
}

// SetSwitches implements Scheduler: switches seen for the first time are added (a
// switch's hop count is taken when it is first seen).
func (a *Adaptive) SetSwitches(_ time.Time, sw []Switch) {
	for _, s := range sw {
		a.sw(s.DPID, s.Hops)
	}
}

// OnArrive implements Scheduler: the flow's first poll is due one initial interval
// after now.
func (a *Adaptive) OnArrive(now time.Time, f Flow) {
	a.path = a.path[:0]
	for _, d := range f.DPIDs {
		if i := a.sw(d, 1); i >= 0 {
			a.path = append(a.path, i)
		}
	}
	if len(a.path) == 0 {
		return
	}
	_ = a.p.Watch(f.ID, a.path, now) // a duplicate arrival keeps the first
}

// OnExpire implements Scheduler.
func (a *Adaptive) OnExpire(_ time.Time, id uint64) { a.p.Forget(id) }

// OnReading implements Scheduler: any reading of a flow (its own poll, a poll-all)
// feeds its sampler and reschedules it.
func (a *Adaptive) OnReading(now time.Time, r stats.Reading, _ stats.FlowSample) {
	at := r.At
	if at.IsZero() {
		at = now
	}
	a.p.OnReading(r.Flow, r.Bytes, at)
}

// Due implements Scheduler.
func (a *Adaptive) Due(now time.Time, dst []Request) []Request {
	plan := a.p.Due(now, nil)
	for _, q := range plan.Polls {
		req := Request{DPID: a.dpids[q.Switch]}
		if q.All {
			req.Source = stats.SourcePollAll
		} else {
			req.Source = stats.SourcePollSingle
			req.Flow = q.Flow
			req.Interval, _ = a.p.Interval(q.Flow)
		}
		dst = append(dst, req)
	}
	return dst
}
