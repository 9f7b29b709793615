// Package sim replays a packet trace through the afps Poller, the same code the
// controller runs, and measures each sampler's requests, bytes and error (Eq. 20)
// against the trace's ground truth. It is pure: the trace comes in memory and the
// results go back as values; cmd/cemon writes the files.
//
// Definitions (issue 10, so that figures compare):
//   - Every flow of the trace crosses the one watched switch (a link task without a
//     topology). A flow starts at its first packet with zero bytes and ends Idle after
//     its last packet, when its final counters arrive in FLOW_REMOVED without a poll.
//   - The true value at each instant t_i (every Step, 100 ms, from one Window after the
//     first packet to the last packet, so that every window lies inside the trace) is
//     the task's value over the Window (1 s) before t_i, computed from the packets.
//   - The reported value at t_i is the task's value over the watched flows' rates, each
//     from its last two readings (the first from its start at zero bytes); a flow not
//     yet read, or ended, counts for nothing.
//   - Link: Eq. 20 on the sums. Matrix: the mean over the host pairs with traffic of
//     Eq. 20 on that cell. Heavy hitters: the mean over instants with a true top-k of
//     1 − F1 of the reported top-k flow set.
//   - The sampler comparison runs without batching (every due flow is one poll-single);
//     a second run with batching gives the batched figures beside it.
package sim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/afps/trace"
	"github.com/cemon-sdn/cemon/mcps"
)

// ErrBadConfig is wrapped by every configuration error.
var ErrBadConfig = errors.New("sim: bad configuration")

// Config says what to replay. Zero fields take their defaults.
type Config struct {
	Task       afps.Task
	Algorithms []afps.Kind   // default every sampler
	Sampler    afps.Config   // bounds and parameters shared by the samplers (Kind ignored)
	Idle       time.Duration // flow idle timeout, default 2 s
	Step       time.Duration // ground-truth instants, default 100 ms
	Window     time.Duration // ground-truth window, default 1 s
	// Tick is the controller's polling loop: polls go out at multiples of Tick after
	// the first packet, the flows due by then together (what batching works on).
	// Default 10 ms.
	Tick      time.Duration
	Cost      mcps.CostModel
	NoBatched bool // skip the batched runs
	// Progress, if set, is called now and then with the work done and the total.
	Progress func(done, total int64)
}

func (c Config) withDefaults() Config {
	if len(c.Algorithms) == 0 {
		c.Algorithms = afps.Kinds()
	}
	if c.Idle == 0 {
		c.Idle = trace.DefaultIdle
	}
	if c.Step == 0 {
		c.Step = 100 * time.Millisecond
	}
	if c.Window == 0 {
		c.Window = time.Second
	}
	if c.Tick == 0 {
		c.Tick = 10 * time.Millisecond
	}
	if c.Cost == nil {
		c.Cost = mcps.PaperCost
	}
	return c
}

// Validate names every bad field.
func (c Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	if d.Idle < 0 || d.Step <= 0 || d.Window <= 0 || d.Tick <= 0 {
		errs = append(errs, fmt.Errorf("%w: idle %v, step %v, window %v, tick %v must be positive", ErrBadConfig, d.Idle, d.Step, d.Window, d.Tick))
	}
	for _, k := range d.Algorithms {
		s := d.Sampler
		s.Kind = k
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if d.Task.Kind > afps.HeavyHitters {
		errs = append(errs, fmt.Errorf("%w: task %v", ErrBadConfig, d.Task.Kind))
	}
	return errors.Join(errs...)
}

// Run is one algorithm's replay.
type Run struct {
	Requests int64
	Bytes    int64
	Error    float64 // Eq. 20 (as a fraction), or 1 − F1 for heavy hitters
	// Reported is the reported task sum at each instant (the link utilization in
	// bytes/s; for the other tasks the sum over all flows).
	Reported []float64
	// PerSecond is the number of requests sent in each second of the trace.
	PerSecond []int64
	PollAlls  int64 // requests that were poll-alls (batched runs)
}

// Result is one algorithm's figures: unbatched (the comparison) and batched.
type Result struct {
	Algorithm string
	Run
	Batched *Run
}

// Report is the outcome of a replay.
type Report struct {
	Task      afps.TaskKind
	Packets   int
	Flows     int
	Duration  time.Duration
	Times     []float64 // instants, seconds since the first packet
	Truth     []float64 // true task sum at each instant, bytes/s
	CostModel string
	Results   []Result
}

// truth is the ground truth at every instant.
type truth struct {
	times []int64
	sum   []float64
	cells [][]cellVal // matrix: per instant, cells with traffic
	top   [][]int32   // heavy: per instant, the true top-k flows
}

type cellVal struct {
	cell int32
	v    float64
}

type input struct {
	cfg    Config
	tr     *trace.Trace
	flows  []trace.Flow
	of     []int32
	cellOf []int32 // flow -> host pair index
	ncell  int
	ends   []int32 // flows by end time
	start  int64
	truth  truth
}

// Replay runs every algorithm of cfg over t.
func Replay(t *trace.Trace, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if len(t.Packets) == 0 {
		return nil, fmt.Errorf("%w: the trace has no packets", ErrBadConfig)
	}
	in := &input{cfg: cfg, tr: t}
	in.flows, in.of = trace.Flows(t, cfg.Idle)
	cells := map[afps.HostPair]int32{}
	in.cellOf = make([]int32, len(in.flows))
	for i, f := range in.flows {
		hp := afps.HostPair{Src: f.Key.Src, Dst: f.Key.Dst}
		c, ok := cells[hp]
		if !ok {
			c = int32(len(cells))
			cells[hp] = c
		}
		in.cellOf[i] = c
	}
	in.ncell = len(cells)
	in.ends = make([]int32, len(in.flows))
	for i := range in.ends {
		in.ends[i] = int32(i)
	}
	sort.SliceStable(in.ends, func(a, b int) bool { return in.flows[in.ends[a]].Last < in.flows[in.ends[b]].Last })
	in.start = t.Packets[0].Time
	in.groundTruth()
	if len(in.truth.times) == 0 {
		return nil, fmt.Errorf("%w: the trace is shorter than one window (%v)", ErrBadConfig, cfg.Window)
	}

	runs := len(cfg.Algorithms)
	if !cfg.NoBatched {
		runs *= 2
	}
	total := int64(runs) * int64(len(t.Packets))
	var done int64
	rep := &Report{Task: cfg.Task.Kind, Packets: len(t.Packets), Flows: len(in.flows),
		Duration: time.Duration(t.Packets[len(t.Packets)-1].Time - in.start), Truth: in.truth.sum,
		CostModel: cfg.Cost.Name()}
	for _, at := range in.truth.times {
		rep.Times = append(rep.Times, float64(at-in.start)/1e9)
	}
	for _, k := range cfg.Algorithms {
		r := Result{Algorithm: k.String()}
		run, err := in.replay(k, false, &done, total)
		if err != nil {
			return nil, err
		}
		r.Run = *run
		if !cfg.NoBatched {
			b, err := in.replay(k, true, &done, total)
			if err != nil {
				return nil, err
			}
			r.Batched = b
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

// groundTruth computes the task's true value at every instant with a sliding window
// over the packets.
func (in *input) groundTruth() {
	cfg := in.cfg
	pk := in.tr.Packets
	last := pk[len(pk)-1].Time
	step, win := int64(cfg.Step), int64(cfg.Window)
	perFlow := make([]uint64, len(in.flows))
	perCell := make([]uint64, in.ncell)
	active := map[int32]bool{}
	activeCells := map[int32]bool{}
	var total uint64
	hi, lo := 0, 0
	sec := cfg.Window.Seconds()
	k := max(cfg.Task.K, 0)
	if k == 0 {
		k = afps.DefaultK
	}
	// Instants whose whole window lies inside the trace.
	for at := in.start + win; at <= last; at += step {
		for hi < len(pk) && pk[hi].Time <= at {
			f := in.of[hi]
			perFlow[f] += uint64(pk[hi].Bytes)
			perCell[in.cellOf[f]] += uint64(pk[hi].Bytes)
			total += uint64(pk[hi].Bytes)
			active[f] = true
			activeCells[in.cellOf[f]] = true
			hi++
		}
		for lo < hi && pk[lo].Time <= at-win {
			f := in.of[lo]
			perFlow[f] -= uint64(pk[lo].Bytes)
			perCell[in.cellOf[f]] -= uint64(pk[lo].Bytes)
			total -= uint64(pk[lo].Bytes)
			if perFlow[f] == 0 {
				delete(active, f)
			}
			if perCell[in.cellOf[f]] == 0 {
				delete(activeCells, in.cellOf[f])
			}
			lo++
		}
		in.truth.times = append(in.truth.times, at)
		in.truth.sum = append(in.truth.sum, float64(total)/sec)
		switch cfg.Task.Kind {
		case afps.Matrix:
			cv := make([]cellVal, 0, len(activeCells))
			for c := range activeCells {
				cv = append(cv, cellVal{c, float64(perCell[c]) / sec})
			}
			sort.Slice(cv, func(a, b int) bool { return cv[a].cell < cv[b].cell })
			in.truth.cells = append(in.truth.cells, cv)
		case afps.HeavyHitters:
			rs := make([]afps.FlowRate, 0, len(active))
			for f := range active {
				rs = append(rs, afps.FlowRate{ID: uint64(f), Rate: float64(perFlow[f]) / sec})
			}
			top := afps.TopK(rs, k)
			ids := make([]int32, len(top))
			for i, r := range top {
				ids[i] = int32(r.ID)
			}
			in.truth.top = append(in.truth.top, ids)
		}
	}
}

// replay runs one algorithm over the trace.
func (in *input) replay(kind afps.Kind, batch bool, done *int64, total int64) (*Run, error) {
	cfg := in.cfg
	sc := cfg.Sampler
	sc.Kind = kind
	p, err := afps.NewPoller(afps.PollerConfig{Sampler: sc, Batch: batch, Network: mcps.Network{Switches: 1, Cost: cfg.Cost}})
	if err != nil {
		return nil, err
	}
	pk := in.tr.Packets
	cum := make([]uint64, len(in.flows))
	rate := make([]float64, len(in.flows)) // reported rate per flow
	live := make([]bool, len(in.flows))
	started := make([]bool, len(in.flows))
	cellSum := make([]float64, in.ncell)
	var sum float64
	run := &Run{}
	secs := int((pk[len(pk)-1].Time+int64(cfg.Idle)-in.start)/1e9) + 1
	run.PerSecond = make([]int64, secs)
	k := cfg.Task.K
	if k <= 0 {
		k = afps.DefaultK
	}
	var cellErr []float64
	var cellN []int
	if cfg.Task.Kind == afps.Matrix {
		cellErr = make([]float64, in.ncell)
		cellN = make([]int, in.ncell)
	}
	var hhErr float64
	var hhN int
	setRate := func(f int32, r float64) {
		sum += r - rate[f]
		cellSum[in.cellOf[f]] += r - rate[f]
		rate[f] = r
	}
	read := func(id uint64, now time.Time) {
		if p.OnReading(id, cum[id], now) {
			r, _ := p.Rate(id)
			setRate(int32(id), r)
		}
	}
	pi, ei, ti := 0, 0, 0
	var ids []uint64
	var liveList []int32
	idle := int64(cfg.Idle)
	tick := int64(cfg.Tick)
	const never = math.MaxInt64
	for ti < len(in.truth.times) || pi < len(pk) || ei < len(in.ends) {
		tPk, tEnd, tPoll, tInst := int64(never), int64(never), int64(never), int64(never)
		if pi < len(pk) {
			tPk = pk[pi].Time
		}
		if ei < len(in.ends) {
			tEnd = in.flows[in.ends[ei]].Last + idle
		}
		if nx, ok := p.Next(); ok {
			// the first loop tick at or after the due time
			tPoll = in.start + (nx.UnixNano()-in.start+tick-1)/tick*tick
		}
		if ti < len(in.truth.times) {
			tInst = in.truth.times[ti]
		}
		now := min(tPk, tEnd, tPoll, tInst)
		switch now {
		case tPk:
			f := in.of[pi]
			if !started[f] {
				started[f] = true
				if err := p.Watch(uint64(f), []int32{0}, time.Unix(0, now)); err != nil {
					return nil, err
				}
				live[f] = true
				liveList = append(liveList, f)
			}
			cum[f] += uint64(pk[pi].Bytes)
			pi++
			if pi&0xffff == 0 && cfg.Progress != nil {
				cfg.Progress(*done+int64(pi), total)
			}
		case tEnd:
			f := in.ends[ei]
			ei++
			if _, err := p.Expire(uint64(f), cum[f], time.Unix(0, now)); err != nil {
				return nil, err
			}
			live[f] = false
			setRate(f, 0)
		case tPoll:
			plan := p.Due(time.Unix(0, now), nil)
			sec := int((now - in.start) / 1e9)
			for _, q := range plan.Polls {
				run.Requests++
				run.Bytes += q.Bytes
				if sec >= 0 && sec < len(run.PerSecond) {
					run.PerSecond[sec]++
				}
				if q.All {
					run.PollAlls++
					ids = p.FlowsOn(q.Switch, ids[:0])
					for _, id := range ids {
						read(id, time.Unix(0, now))
					}
				} else {
					read(q.Flow, time.Unix(0, now))
				}
			}
		default: // an instant
			run.Reported = append(run.Reported, math.Max(sum, 0))
			switch cfg.Task.Kind {
			case afps.Matrix:
				for _, cv := range in.truth.cells[ti] {
					cellErr[cv.cell] += math.Abs(cv.v-math.Max(cellSum[cv.cell], 0)) / cv.v
					cellN[cv.cell]++
				}
			case afps.HeavyHitters:
				if tt := in.truth.top[ti]; len(tt) > 0 {
					// compact the live list, then take the reported top-k
					j := 0
					for _, f := range liveList {
						if live[f] {
							liveList[j] = f
							j++
						}
					}
					liveList = liveList[:j]
					rs := make([]afps.FlowRate, 0, len(liveList))
					for _, f := range liveList {
						rs = append(rs, afps.FlowRate{ID: uint64(f), Rate: rate[f]})
					}
					top := afps.TopK(rs, k)
					rep := make([]uint64, len(top))
					for i, r := range top {
						rep[i] = r.ID
					}
					want := make([]uint64, len(tt))
					for i, f := range tt {
						want[i] = uint64(f)
					}
					hhErr += 1 - afps.F1(want, rep)
					hhN++
				}
			}
			ti++
		}
	}
	*done += int64(len(pk))
	switch cfg.Task.Kind {
	case afps.LinkUtilization:
		run.Error, _ = afps.RelError(in.truth.sum, run.Reported)
	case afps.Matrix:
		var s float64
		n := 0
		for c := range cellErr {
			if cellN[c] > 0 {
				s += cellErr[c] / float64(cellN[c])
				n++
			}
		}
		if n > 0 {
			run.Error = s / float64(n)
		}
	case afps.HeavyHitters:
		if hhN > 0 {
			run.Error = hhErr / float64(hhN)
		}
	}
	return run, nil
}
