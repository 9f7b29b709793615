package migration

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Workload is one kind of VM in the decision experiment: its mean dirty
// rate, how much that rate varies from one migration to the next, and the γ
// its writable working set really follows (the model predicts with the
// paper's fit, not this).
type Workload struct {
	Name     string  `json:"name"`
	DirtyMBs float64 `json:"dirty_rate_mb_s"`
	CV       float64 `json:"cv"` // coefficient of variation of the dirty rate
	Gamma    Gamma   `json:"gamma"`
}

// PaperWorkloads are the four workloads of Liu et al.'s decision experiment.
// The paper gives their dirty rates and working sets only as plots (its
// figures 8 and 9, a 1 GB VM); these values follow its description: TPC-C
// dirties memory slowly and steadily with few hot pages, Dbench a small but
// intensively written set, SPECweb and Linpack consistently fast with a
// widely dispersed rate, Linpack fastest and with the largest working set.
var PaperWorkloads = []Workload{
	{Name: "dbench", DirtyMBs: 40, CV: 0.15, Gamma: Gamma{A: -0.0463, B: -0.0001, C: 0.40}},
	{Name: "tpc-c", DirtyMBs: 6, CV: 0.10, Gamma: Gamma{A: -0.0463, B: -0.0001, C: 0.15}},
	{Name: "linpack", DirtyMBs: 150, CV: 0.30, Gamma: Gamma{A: -0.0463, B: -0.0001, C: 0.60}},
	{Name: "specweb", DirtyMBs: 110, CV: 0.30, Gamma: Gamma{A: -0.0463, B: -0.0001, C: 0.30}},
}

// Experiment is the decision experiment's set-up. The zero value is the
// paper's: two VMs of each PaperWorkloads kind, 800 MB each, 20 trials, an
// idle gigabit link (R = 125 MB/s), Xen, the WWS model, equal weights.
type Experiment struct {
	Workloads   []Workload
	VMsPerKind  int
	MemMB       float64
	RateMBs     float64
	Trials      int
	Profile     Profile
	Weights     Weights
	SampleNoise float64 // relative noise of the dirty rate sampled before deciding (default 0.1)
}

// Totals are the summed true costs of the migrations one scheme chose.
type Totals struct {
	TimeS     float64 `json:"total_time_s"`
	DowntimeS float64 `json:"downtime_s"`
	TrafficMB float64 `json:"traffic_mb"`
	EnergyJ   float64 `json:"energy_j"`
}

func (t *Totals) add(r Result) {
	t.TimeS += r.TotalTimeS
	t.DowntimeS += r.DowntimeS
	t.TrafficMB += r.TrafficMB
	t.EnergyJ += r.EnergyJ
}

// ExperimentResult is what the decision experiment measured.
type ExperimentResult struct {
	Guided, Random Totals
	// Reduction is 1 − guided/random per metric, in per cent.
	Reduction Totals
	// GuidedPicks and RandomPicks count the kinds each scheme migrated.
	GuidedPicks, RandomPicks map[string]int
	Trials                   int
}

// PaperReduction is what Liu et al. report (per cent).
var PaperReduction = Totals{TimeS: 72.9, DowntimeS: 93.5, TrafficMB: 74.5, EnergyJ: 73.6}

func (e Experiment) withDefaults() Experiment {
	if e.Workloads == nil {
		e.Workloads = PaperWorkloads
	}
	if e.VMsPerKind == 0 {
		e.VMsPerKind = 2
	}
	if e.MemMB == 0 {
		e.MemMB = 800
	}
	if e.RateMBs == 0 {
		e.RateMBs = 125
	}
	if e.Trials == 0 {
		e.Trials = 20
	}
	if e.Profile == (Profile{}) {
		e.Profile = Xen()
	}
	if e.SampleNoise == 0 {
		e.SampleNoise = 0.1
	}
	return e
}

// Run runs the experiment: in each trial every VM's dirty rate is drawn
// around its kind's mean; the guided scheme predicts each VM with the
// paper's γ from the refined dirty rate (a noisy sample now and one earlier
// migration's mean) and migrates the VM of lowest C(VM); the random scheme
// migrates a VM drawn uniformly. Both are charged the true cost: the WWS
// model with the kind's own γ and the drawn dirty rate.
func (e Experiment) Run(rng *rand.Rand) (ExperimentResult, error) {
	e = e.withDefaults()
	if e.VMsPerKind < 1 || e.Trials < 1 || !(e.MemMB > 0) || !(e.RateMBs > 0) || len(e.Workloads) == 0 {
		return ExperimentResult{}, fmt.Errorf("%w: experiment %+v", ErrInput, e)
	}
	if rng == nil {
		return ExperimentResult{}, errors.New("migration: experiment needs a random source")
	}
	type vm struct {
		w    Workload
		hist DirtyHistory
	}
	var vms []vm
	for _, w := range e.Workloads {
		for range e.VMsPerKind {
			vms = append(vms, vm{w: w, hist: DirtyHistory{}.Observe(w.DirtyMBs)})
		}
	}
	res := ExperimentResult{GuidedPicks: map[string]int{}, RandomPicks: map[string]int{}, Trials: e.Trials}
	truth := make([]Result, len(vms))
	pred := make([]Result, len(vms))
	for range e.Trials {
		for i, v := range vms {
			d := v.w.DirtyMBs * max(0.05, 1+v.w.CV*rng.NormFloat64())
			t, err := Predict(Input{MemMB: e.MemMB, DirtyMBs: d, RateMBs: e.RateMBs}, Config{Kind: WWS, Profile: e.Profile, Gamma: &v.w.Gamma})
			if err != nil {
				return ExperimentResult{}, err
			}
			truth[i] = t
			sample := d * max(0.05, 1+e.SampleNoise*rng.NormFloat64())
			p, err := Predict(Input{MemMB: e.MemMB, DirtyMBs: v.hist.Estimate(sample), RateMBs: e.RateMBs}, Config{Kind: WWS, Profile: e.Profile})
			if err != nil {
				return ExperimentResult{}, err
			}
			pred[i] = p
		}
		costs, err := DecisionCosts(pred, e.Weights)
		if err != nil {
			return ExperimentResult{}, err
		}
		g := Cheapest(costs)
		r := rng.IntN(len(vms))
		res.Guided.add(truth[g])
		res.Random.add(truth[r])
		res.GuidedPicks[vms[g].w.Name]++
		res.RandomPicks[vms[r].w.Name]++
	}
	red := func(g, r float64) float64 {
		if r <= 0 {
			return 0
		}
		return 100 * (1 - g/r)
	}
	res.Reduction = Totals{
		TimeS:     red(res.Guided.TimeS, res.Random.TimeS),
		DowntimeS: red(res.Guided.DowntimeS, res.Random.DowntimeS),
		TrafficMB: red(res.Guided.TrafficMB, res.Random.TrafficMB),
		EnergyJ:   red(res.Guided.EnergyJ, res.Random.EnergyJ),
	}
	return res, nil
}

// SweepPoint is one point of a sensitivity sweep: the swept value and both
// models' predictions.
type SweepPoint struct {
	X          float64
	Base, WWS  Result
	BaseErr    error
	WWSErr     error
	Input      Input
	Converging bool
}

// Sweep predicts with both models at each value of one input, the others
// held at in: what is "mem", "dirty" or "rate".
func Sweep(in Input, p Profile, what string, xs []float64) ([]SweepPoint, error) {
	out := make([]SweepPoint, 0, len(xs))
	for _, x := range xs {
		cur := in
		switch what {
		case "mem":
			cur.MemMB = x
		case "dirty":
			cur.DirtyMBs = x
		case "rate":
			cur.RateMBs = x
		default:
			return nil, fmt.Errorf("%w: sweep of %q (want mem, dirty or rate)", ErrInput, what)
		}
		b, err := Predict(cur, Config{Kind: Base, Profile: p})
		if err != nil {
			return nil, err
		}
		w, err := Predict(cur, Config{Kind: WWS, Profile: p})
		if err != nil {
			return nil, err
		}
		out = append(out, SweepPoint{X: x, Base: b, WWS: w, Input: cur, Converging: cur.DirtyMBs < cur.RateMBs})
	}
	return out, nil
}
