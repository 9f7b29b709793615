package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/topology"
)

// Table is one experiment's data: the first column is the x axis.
type Table struct {
	Name    string // file stem
	Title   string
	XLabel  string
	YLabel  string
	LogX    bool
	Columns []string
	Rows    [][]float64
	// RowLabels, when set, name the rows and replace the first column; such tables are
	// not plotted.
	RowLabels []string
	Note      string
	// TimeLabel, when set, asks for a second plot (<Name>_time.png) of the columns whose
	// names end in " ms", with this y label and TimeTitle.
	TimeLabel string
	TimeTitle string
}

// Config sizes a simulation run. The zero value is not valid; use Full or Tiny.
type Config struct {
	Seed       uint64
	Switches   int     // graphs of the cost experiments
	ERDegree   float64 // mean degree of the Erdős–Rényi graphs
	WaxAlpha   float64
	WaxBeta    float64
	FlowCounts []int // cost against flows
	CtrlFlows  int   // flows of the cost-against-controllers experiment
	MaxCtrl    int
	GapSwitch  []int // switches of the gap-to-optimal experiment
	GapFlows   []int
	TimeFlows  []int // flows of the running-time experiment (at Switches)
	TimeSwitch []int // switches of the running-time experiment (at TimeFixed flows)
	TimeFixed  int
	AccFlows   int
	Packets    float64 // mean packets per flow (geometric)
	LossRates  []float64
	LossRatios []float64
	TraceSecs  int     // DAPR trace length
	ArrivalHz  float64 // flow arrivals per second
	FixedEvery int     // fixed-interval rebuild period, seconds
	ChurnSecs  int     // length of each trace of the ARI churn experiment
	ChurnHz    float64 // base arrival rate of those traces
	CoverFlows int     // flows of the max-coverage curve (figure 3)
	// Sweep of the headline ratio (out-of-band, Erdős–Rényi): mean degrees at Switches
	// switches and SweepPerSwitch flows per switch; switch counts at ERDegree; flows per
	// switch at Switches and ERDegree.
	SweepDegrees   []float64
	SweepSwitches  []int
	SweepPerSwitch []int
	// Clock times the solvers; the simulator reads no clock itself. ClockName says in
	// the report what it measures ("" means wall-clock time).
	Clock     func() time.Time
	ClockName string
}

// Full is the configuration of the committed report.
func Full(clock func() time.Time) Config {
	return Config{
		Seed: 2026, Switches: 100, ERDegree: 4, WaxAlpha: 0.4, WaxBeta: 0.15,
		FlowCounts: []int{1000, 2000, 5000, 10000, 20000, 50000, 100000},
		CtrlFlows:  20000, MaxCtrl: 8,
		GapSwitch: []int{10, 15, 20, 25, 30}, GapFlows: []int{100, 200, 500, 1000, 2000, 5000},
		TimeFlows: []int{10000, 100000, 1000000}, TimeSwitch: []int{50, 100, 200, 500, 1000}, TimeFixed: 100000,
		AccFlows: 10000, Packets: 100,
		LossRates:  []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1},
		LossRatios: []float64{0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5},
		TraceSecs:  300, ArrivalHz: 400, FixedEvery: 10,
		ChurnSecs: 120, ChurnHz: 100, CoverFlows: 10000,
		SweepDegrees: []float64{2.5, 3, 4, 6, 8, 12, 16}, SweepSwitches: []int{25, 50, 100, 200, 400},
		SweepPerSwitch: []int{5, 20, 50, 200, 1000},
		Clock:          clock,
	}
}

// Tiny is a configuration small enough for a unit test.
func Tiny(clock func() time.Time) Config {
	return Config{
		Seed: 1, Switches: 16, ERDegree: 3, WaxAlpha: 0.5, WaxBeta: 0.3,
		FlowCounts: []int{50, 200}, CtrlFlows: 200, MaxCtrl: 3,
		GapSwitch: []int{8, 10}, GapFlows: []int{50, 100},
		TimeFlows: []int{100, 400}, TimeSwitch: []int{10, 20}, TimeFixed: 200,
		AccFlows: 200, Packets: 20,
		LossRates: []float64{0.01, 0.1}, LossRatios: []float64{0, 0.3},
		TraceSecs: 20, ArrivalHz: 10, FixedEvery: 2,
		ChurnSecs: 12, ChurnHz: 5, CoverFlows: 300,
		SweepDegrees: []float64{3, 6}, SweepSwitches: []int{10, 20}, SweepPerSwitch: []int{5, 20},
		Clock: clock,
	}
}

// Validate names every bad field.
func (c Config) Validate() error {
	switch {
	case c.Switches < 4:
		return fmt.Errorf("%w: Switches %d < 4", ErrWorkload, c.Switches)
	case len(c.FlowCounts) == 0 || len(c.GapFlows) == 0 || len(c.GapSwitch) == 0 || len(c.TimeFlows) == 0 || len(c.TimeSwitch) == 0:
		return fmt.Errorf("%w: empty experiment axis", ErrWorkload)
	case c.MaxCtrl < 1 || c.MaxCtrl > c.Switches:
		return fmt.Errorf("%w: MaxCtrl %d", ErrWorkload, c.MaxCtrl)
	case c.TraceSecs < 2 || c.ArrivalHz <= 0 || c.FixedEvery < 1 || c.ChurnSecs < 2 || c.ChurnHz <= 0:
		return fmt.Errorf("%w: bad DAPR trace settings", ErrWorkload)
	case c.CoverFlows < 1 || len(c.SweepDegrees) == 0 || len(c.SweepSwitches) == 0 || len(c.SweepPerSwitch) == 0:
		return fmt.Errorf("%w: empty figure 3 or sweep settings", ErrWorkload)
	case c.Packets < 1:
		return fmt.Errorf("%w: Packets %v < 1", ErrWorkload, c.Packets)
	case c.Clock == nil:
		return fmt.Errorf("%w: no Clock", ErrWorkload)
	}
	return nil
}

// Headline is the report's main figure.
type Headline struct {
	Flows          int
	MCPS           int64
	PerFlowRandom  int64
	PollAll        int64
	FracRandom     float64 // mcps / per-flow-random at the largest flow count (ER, out-of-band)
	FracPollAll    float64
	MeanFracRandom float64 // over every point of the cost experiments
	MeanFracPoll   float64
	MaxFracRandom  float64 // the worst point of the cost experiments
	MinFracRandom  float64
	OOBFracRandom  float64 // mean over the out-of-band points only
	InFracRandom   float64 // mean over the in-band points only
	MeanGapExact   float64 // mcps vs optimum, mean over the gap experiment, percent
}

// Result is everything a run produced.
type Result struct {
	Config   Config
	Tables   []Table
	Headline Headline
}

// Run executes every experiment. progress, if not nil, is told what runs.
func Run(cfg Config, progress func(string)) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(string) {}
	}
	r := &runner{cfg: cfg, res: &Result{Config: cfg}}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"the paper's example (figure 2)", r.figure2},
		{"cost against poll-all switches (figure 3)", r.maxCoverage},
		{"cost against flows", r.costVsFlows},
		{"headline sweep", r.sweep},
		{"several controllers", r.controllers},
		{"gap to optimal", r.gap},
		{"running time", r.runningTime},
		{"accuracy under loss", r.accuracy},
		{"DAPR and ARI", r.dapr},
		{"ARI on churn patterns", r.churn},
	}
	for _, s := range steps {
		progress(s.name)
		if err := s.fn(); err != nil {
			return nil, fmt.Errorf("sim: %s: %w", s.name, err)
		}
	}
	return r.res, nil
}

type runner struct {
	cfg      Config
	res      *Result
	fracR    []float64
	fracP    []float64
	seedStep uint64
}

func (r *runner) rng() *rand.Rand {
	r.seedStep++
	return rand.New(rand.NewPCG(r.cfg.Seed, r.seedStep))
}

func (r *runner) graph(kind string, n int, rng *rand.Rand) *topology.Graph {
	if kind == "waxman" {
		return topology.Waxman(n, r.cfg.WaxAlpha, r.cfg.WaxBeta, rng)
	}
	return topology.ErdosRenyi(n, r.cfg.ERDegree/float64(n-1), rng)
}

func solveCost(in *mcps.Instance, strategy string, seed uint64) (*mcps.Solution, error) {
	return mcps.Solve(in, strategy, mcps.Options{Rand: rand.New(rand.NewPCG(seed, 99))})
}

var costColumns = []string{"flows", "mcps", "per-flow-random", "per-flow-min", "poll-all", "lower bound"}

// costRow solves one instance with mcps and the baselines.
func costRow(in *mcps.Instance, x float64, seed uint64) ([]float64, error) {
	row := []float64{x}
	var lb int64
	for _, st := range []string{mcps.StrategyMCPS, mcps.StrategyPerFlowRandom, mcps.StrategyPerFlowMin, mcps.StrategyPollAll} {
		sol, err := solveCost(in, st, seed)
		if err != nil {
			return nil, err
		}
		if st == mcps.StrategyMCPS {
			lb = sol.LowerBound
		}
		row = append(row, float64(sol.Cost))
	}
	return append(row, float64(lb)), nil
}

func (r *runner) costVsFlows() error {
	maxF := slices.Max(r.cfg.FlowCounts)
	var oob, inb []float64
	for _, kind := range []string{"er", "waxman"} {
		g := r.graph(kind, r.cfg.Switches, r.rng())
		for _, dep := range []mcps.Deployment{mcps.OutOfBand, mcps.InBand} {
			gen, err := Generate(g, dep, 1, maxF, r.rng())
			if err != nil {
				return err
			}
			t := Table{
				Name:   fmt.Sprintf("cost_flows_%s_%s", kind, dep),
				Title:  fmt.Sprintf("Cost per polling round, %s graph (%d switches, %d links), %s", graphTitle(kind), g.NumNodes(), g.NumEdges(), dep),
				XLabel: "active flows", YLabel: "bytes per round", LogX: true, Columns: costColumns,
			}
			for _, n := range r.cfg.FlowCounts {
				in, err := Instance(gen.Instance.Network(), NewRouter(g), gen.Pairs[:n])
				if err != nil {
					return err
				}
				row, err := costRow(in, float64(n), uint64(n))
				if err != nil {
					return err
				}
				t.Rows = append(t.Rows, row)
				r.fracR = append(r.fracR, row[1]/row[2])
				r.fracP = append(r.fracP, row[1]/row[4])
				if dep == mcps.OutOfBand {
					oob = append(oob, row[1]/row[2])
				} else {
					inb = append(inb, row[1]/row[2])
				}
				if kind == "er" && dep == mcps.OutOfBand && n == maxF {
					h := &r.res.Headline
					h.Flows, h.MCPS, h.PerFlowRandom, h.PollAll = n, int64(row[1]), int64(row[2]), int64(row[4])
					h.FracRandom, h.FracPollAll = row[1]/row[2], row[1]/row[4]
				}
			}
			r.res.Tables = append(r.res.Tables, t)
		}
	}
	h := &r.res.Headline
	h.MeanFracRandom, h.MeanFracPoll = mean(r.fracR), mean(r.fracP)
	h.MaxFracRandom, h.MinFracRandom = slices.Max(r.fracR), slices.Min(r.fracR)
	h.OOBFracRandom, h.InFracRandom = mean(oob), mean(inb)
	return nil
}

func graphTitle(kind string) string {
	if kind == "waxman" {
		return "Waxman"
	}
	return "Erdős–Rényi"
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func (r *runner) controllers() error {
	g := r.graph("er", r.cfg.Switches, r.rng())
	rt := NewRouter(g)
	pairs, err := RandomPairs(rt, r.cfg.CtrlFlows, r.rng())
	if err != nil {
		return err
	}
	// Cost against flows with three controllers (or MaxCtrl if smaller).
	k := min(3, r.cfg.MaxCtrl)
	ctrls, err := PlaceControllers(g, k)
	if err != nil {
		return err
	}
	net, err := Network(rt, mcps.InBand, ctrls)
	if err != nil {
		return err
	}
	t := Table{Name: "cost_flows_controllers", Title: fmt.Sprintf("Cost per round with %d controllers, in-band, Erdős–Rényi (%d switches)", k, g.NumNodes()),
		XLabel: "active flows", YLabel: "bytes per round", LogX: true, Columns: costColumns}
	for _, n := range r.cfg.FlowCounts {
		if n > len(pairs) {
			continue
		}
		in, err := Instance(net, rt, pairs[:n])
		if err != nil {
			return err
		}
		row, err := costRow(in, float64(n), uint64(n))
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, row)
	}
	r.res.Tables = append(r.res.Tables, t)

	t2 := Table{Name: "cost_controllers", Title: fmt.Sprintf("Cost per round against the number of controllers, in-band, %d flows", r.cfg.CtrlFlows),
		XLabel: "controllers", YLabel: "bytes per round", Columns: append([]string{"controllers"}, costColumns[1:]...)}
	for k := 1; k <= r.cfg.MaxCtrl; k++ {
		ctrls, err := PlaceControllers(g, k)
		if err != nil {
			return err
		}
		net, err := Network(rt, mcps.InBand, ctrls)
		if err != nil {
			return err
		}
		in, err := Instance(net, rt, pairs)
		if err != nil {
			return err
		}
		row, err := costRow(in, float64(k), uint64(k))
		if err != nil {
			return err
		}
		t2.Rows = append(t2.Rows, row)
	}
	r.res.Tables = append(r.res.Tables, t2)
	return nil
}

// timed runs a strategy and returns the solution and its time in seconds.
func (r *runner) timed(in *mcps.Instance, strategy string) (*mcps.Solution, float64, error) {
	start := r.cfg.Clock()
	sol, err := mcps.Solve(in, strategy, mcps.Options{})
	return sol, r.cfg.Clock().Sub(start).Seconds(), err
}

func (r *runner) gapRow(ns, nf int, x float64) ([]float64, float64, error) {
	g := r.graph("er", ns, r.rng())
	gen, err := Generate(g, mcps.OutOfBand, 1, nf, r.rng())
	if err != nil {
		return nil, 0, err
	}
	ex, tEx, err := r.timed(gen.Instance, mcps.StrategyExact)
	if err != nil {
		return nil, 0, err
	}
	m, tM, err := r.timed(gen.Instance, mcps.StrategyMCPS)
	if err != nil {
		return nil, 0, err
	}
	gr, tG, err := r.timed(gen.Instance, mcps.StrategyGreedy)
	if err != nil {
		return nil, 0, err
	}
	opt := float64(ex.Cost)
	gapM := 100 * (float64(m.Cost) - opt) / opt
	proven := 0.0
	if ex.Optimal {
		proven = 1
	}
	return []float64{x, gapM, 100 * (float64(gr.Cost) - opt) / opt, 1000 * tM, 1000 * tG, 1000 * tEx, proven}, gapM, nil
}

var gapColumns = []string{"", "mcps gap %", "greedy gap %", "mcps ms", "greedy ms", "exact ms", "exact proven"}

func (r *runner) gap() error {
	var gaps []float64
	midS := r.cfg.GapSwitch[len(r.cfg.GapSwitch)/2]
	t := Table{Name: "gap_flows", Title: fmt.Sprintf("Gap to the optimum against flows (Erdős–Rényi, %d switches, out-of-band)", midS),
		XLabel: "active flows", YLabel: "gap to optimum (%)", LogX: true, Columns: append([]string{"flows"}, gapColumns[1:]...),
		TimeLabel: "milliseconds per solve", TimeTitle: fmt.Sprintf("Running time against flows (Erdős–Rényi, %d switches, out-of-band)", midS),
		Note: "gaps are to the optimum proven by the exact solver; mcps times include the branch-and-bound certificate mcps computes on networks of up to 40 switches, which is most of its time here"}
	for _, nf := range r.cfg.GapFlows {
		row, gm, err := r.gapRow(midS, nf, float64(nf))
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, row)
		gaps = append(gaps, gm)
	}
	r.res.Tables = append(r.res.Tables, t)
	midF := r.cfg.GapFlows[len(r.cfg.GapFlows)/2]
	t2 := Table{Name: "gap_switches", Title: fmt.Sprintf("Gap to the optimum against switches (Erdős–Rényi, %d flows, out-of-band)", midF),
		XLabel: "switches", YLabel: "gap to optimum (%)", Columns: append([]string{"switches"}, gapColumns[1:]...),
		TimeLabel: "milliseconds per solve", TimeTitle: fmt.Sprintf("Running time against switches (Erdős–Rényi, %d flows, out-of-band)", midF)}
	t2.Note = t.Note
	for _, ns := range r.cfg.GapSwitch {
		row, gm, err := r.gapRow(ns, midF, float64(ns))
		if err != nil {
			return err
		}
		t2.Rows = append(t2.Rows, row)
		gaps = append(gaps, gm)
	}
	r.res.Tables = append(r.res.Tables, t2)
	r.res.Headline.MeanGapExact = mean(gaps)
	return nil
}

func (r *runner) runningTime() error {
	cols := []string{"", "construction ms", "scheme ms", "mcps ms", "greedy ms", "construction share %", "mcps certified gap %"}
	note := "construction: routing the flows and building the instance (each switch's flow set F_s is indexed inside the solve, an O(N) pass); scheme: mcps without its lower-bound certificate; mcps: with it; certified gap: (cost − lower bound) / lower bound, an upper bound on the distance to the optimum"
	t := Table{Name: "time_flows", Title: fmt.Sprintf("Running time against flows (Erdős–Rényi, %d switches)", r.cfg.Switches),
		XLabel: "active flows", YLabel: "milliseconds", LogX: true, Columns: append([]string{"flows"}, cols[1:]...), Note: note}
	g := r.graph("er", r.cfg.Switches, r.rng())
	for _, nf := range r.cfg.TimeFlows {
		row, err := r.timeRow(g, nf, float64(nf))
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, row)
	}
	r.res.Tables = append(r.res.Tables, t)
	t2 := Table{Name: "time_switches", Title: fmt.Sprintf("Running time against switches (Erdős–Rényi, %d flows)", r.cfg.TimeFixed),
		XLabel: "switches", YLabel: "milliseconds", Columns: append([]string{"switches"}, cols[1:]...), Note: note}
	for _, ns := range r.cfg.TimeSwitch {
		g := r.graph("er", ns, r.rng())
		row, err := r.timeRow(g, r.cfg.TimeFixed, float64(ns))
		if err != nil {
			return err
		}
		t2.Rows = append(t2.Rows, row)
	}
	r.res.Tables = append(r.res.Tables, t2)
	return nil
}

func (r *runner) timeRow(g *topology.Graph, nf int, x float64) ([]float64, error) {
	rt := NewRouter(g)
	net, err := Network(rt, mcps.OutOfBand, nil)
	if err != nil {
		return nil, err
	}
	pairs, err := RandomPairs(rt, nf, r.rng())
	if err != nil {
		return nil, err
	}
	// Construction and scheme: the best of three, the machine being shared.
	var in *mcps.Instance
	tC, tS := math.Inf(1), math.Inf(1)
	for k := 0; k < 3; k++ {
		start := r.cfg.Clock()
		in, err = Instance(net, rt, pairs)
		if err != nil {
			return nil, err
		}
		tC = min(tC, r.cfg.Clock().Sub(start).Seconds())
		start = r.cfg.Clock()
		if _, err := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{BoundRounds: -1}); err != nil {
			return nil, err
		}
		tS = min(tS, r.cfg.Clock().Sub(start).Seconds())
	}
	m, tM, err := r.timed(in, mcps.StrategyMCPS)
	if err != nil {
		return nil, err
	}
	_, tG, err := r.timed(in, mcps.StrategyGreedy)
	if err != nil {
		return nil, err
	}
	return []float64{x, 1000 * tC, 1000 * tS, 1000 * tM, 1000 * tG, 100 * tC / (tC + tS), 100 * m.Gap()}, nil
}

// accuracy simulates section 4 of algorithms.md: loss switches drop each packet with
// probability p after counting it; a flow's counter is read at the switch the scheme
// polls it from and compared with the packets that leave its last switch. mcps is read
// at either read point (the poll-all switch of the path nearest the ingress or nearest
// the egress); per-flow-random at its random switch. Each curve keeps one loss-switch
// set (the loss-ratio curve takes growing prefixes of one random order of the switches,
// so a larger ratio only adds loss switches) and one packet random stream, so the
// points differ only in the parameter the curve varies. Theorem 3.2's estimates (see
// TheoremAccuracy and TheoremExact) are averaged over the same flows beside them.
func (r *runner) accuracy() error {
	g := r.graph("er", r.cfg.Switches, r.rng())
	gen, err := Generate(g, mcps.OutOfBand, 1, r.cfg.AccFlows, r.rng())
	if err != nil {
		return err
	}
	in := gen.Instance
	type reader struct {
		name string
		pos  []int
	}
	var readers []reader
	for _, rd := range []struct {
		st string
		rp mcps.ReadPoint
	}{{mcps.StrategyMCPS, mcps.ReadIngress}, {mcps.StrategyMCPS, mcps.ReadEgress}, {mcps.StrategyPerFlowRandom, mcps.ReadIngress}} {
		sol, err := solveCost(in, rd.st, 7)
		if err != nil {
			return err
		}
		name := rd.st
		if rd.st == mcps.StrategyMCPS {
			name += " " + rd.rp.String()
		}
		readers = append(readers, reader{name, pollPositions(in, sol, rd.rp)})
	}
	pktRng := r.rng()
	packets := make([]int, in.NumFlows())
	for f := range packets {
		packets[f] = geometric(pktRng, r.cfg.Packets)
	}
	ns := in.NumSwitches()
	order := r.rng().Perm(ns) // loss switches: a prefix of this order
	pktSeed := r.cfg.Seed ^ 0x5eed
	afrCols, volCols := []string{""}, []string{""}
	for _, rd := range readers {
		afrCols = append(afrCols, "AFR "+rd.name)
		volCols = append(volCols, "TM accuracy "+rd.name)
	}
	afrCols = append(afrCols, "AFR theorem 3.2")
	for _, rd := range readers {
		volCols = append(volCols, "flow accuracy "+rd.name)
	}
	volCols = append(volCols, "flow accuracy theorem 3.2")
	point := func(p, rho float64) (afrRow, volRow []float64) {
		nLoss := int(math.Round(rho * float64(ns)))
		loss := make([]bool, ns)
		for _, s := range order[:nLoss] {
			loss[s] = true
		}
		rhoReal := float64(nLoss) / float64(ns)
		lr := rand.New(rand.NewPCG(pktSeed, 1))
		counts := make([][]int, in.NumFlows())
		for f := range counts {
			counts[f] = forward(lr, in.Path(f), loss, p, packets[f])
		}
		var tms, fas []float64
		for _, rd := range readers {
			afr, tm := accuracyOf(in, gen.Pairs, counts, rd.pos)
			afrRow = append(afrRow, afr)
			tms = append(tms, tm)
			fas = append(fas, flowAccuracy(counts, rd.pos))
		}
		var thA, thE float64
		for f := range counts {
			L := len(in.Path(f))
			thA += TheoremAccuracy(L, rhoReal, p)
			thE += TheoremExact(L, packets[f], rhoReal, p)
		}
		n := float64(len(counts))
		afrRow = append(afrRow, thE/n)
		volRow = append(append(tms, fas...), thA/n)
		return afrRow, volRow
	}
	note := "AFR: flows whose polled count equals the count leaving the path; the theorem's AFR is TheoremExact averaged over the flows"
	volNote := "TM accuracy: mean over traffic-matrix elements of 1 − |measured − true| / true; flow accuracy: mean over flows of the share of the packets counted at the polled switch that leave the path, which Theorem 3.2 estimates"
	t := Table{Name: "accuracy_loss_rate", Title: "Accurate flow ratio against packet loss rate (loss-switch ratio 0.1)",
		XLabel: "packet loss rate", YLabel: "accurate flow ratio", LogX: true, Columns: append([]string{"loss rate"}, afrCols[1:]...), Note: note}
	tv := Table{Name: "accuracy_loss_rate_volume", Title: "Traffic accuracy against packet loss rate (loss-switch ratio 0.1)",
		XLabel: "packet loss rate", YLabel: "accuracy", LogX: true, Columns: append([]string{"loss rate"}, volCols[1:]...), Note: volNote}
	for _, p := range r.cfg.LossRates {
		a, v := point(p, 0.1)
		t.Rows = append(t.Rows, append([]float64{p}, a...))
		tv.Rows = append(tv.Rows, append([]float64{p}, v...))
	}
	t2 := Table{Name: "accuracy_loss_ratio", Title: "Accurate flow ratio against loss-switch ratio (packet loss rate 0.01)",
		XLabel: "loss-switch ratio", YLabel: "accurate flow ratio", Columns: append([]string{"loss-switch ratio"}, afrCols[1:]...), Note: note}
	tv2 := Table{Name: "accuracy_loss_ratio_volume", Title: "Traffic accuracy against loss-switch ratio (packet loss rate 0.01)",
		XLabel: "loss-switch ratio", YLabel: "accuracy", Columns: append([]string{"loss-switch ratio"}, volCols[1:]...), Note: volNote}
	for _, rho := range r.cfg.LossRatios {
		a, v := point(0.01, rho)
		t2.Rows = append(t2.Rows, append([]float64{rho}, a...))
		tv2.Rows = append(tv2.Rows, append([]float64{rho}, v...))
	}
	r.res.Tables = append(r.res.Tables, t, tv, t2, tv2)
	return nil
}

// flowAccuracy is the mean over flows of (packets leaving the path) / (packets counted
// at the polled switch), 1 for a flow with none counted.
func flowAccuracy(counts [][]int, pos []int) float64 {
	var s float64
	for f, c := range counts {
		got, want := c[pos[f]], c[len(c)-1]
		if got == 0 {
			s++
			continue
		}
		s += float64(want) / float64(got)
	}
	return s / float64(len(counts))
}

// pollPositions returns, per flow, the index along its path of the switch it is read at:
// the poll-all switch of its path nearest the read point, or its poll-single switch,
// moved to the equally cheap switch of its path nearest the read point.
func pollPositions(in *mcps.Instance, sol *mcps.Solution, rp mcps.ReadPoint) []int {
	pos := make([]int, in.NumFlows())
	for f := range pos {
		pos[f] = -1
	}
	polled := make([]bool, in.NumSwitches())
	for _, a := range sol.PollAll {
		polled[a.Switch] = true
	}
	for _, s := range sol.PollSingle {
		path := in.Path(int(s.Flow))
		pos[s.Flow] = slices.Index(path, s.Switch)
		if rp == mcps.ReadEgress {
			for i := len(path) - 1; i > pos[s.Flow]; i-- {
				if in.Hops(int(path[i])) == in.Hops(int(s.Switch)) {
					pos[s.Flow] = i
					break
				}
			}
		}
	}
	for f := range pos {
		path := in.Path(f)
		for k := range path {
			i := k
			if rp == mcps.ReadEgress {
				i = len(path) - 1 - k
			}
			if polled[path[i]] {
				pos[f] = i
				break
			}
		}
	}
	return pos
}

func geometric(r *rand.Rand, mean float64) int {
	if mean <= 1 {
		return 1
	}
	p := 1 / mean
	return 1 + int(math.Floor(math.Log(1-r.Float64())/math.Log(1-p)))
}

// forward returns the packets each switch of the path counts, then (last element) the
// packets that leave the path. A loss switch counts a packet, then drops it with
// probability p.
func forward(r *rand.Rand, path []int32, loss []bool, p float64, n int) []int {
	out := make([]int, len(path)+1)
	for i, s := range path {
		out[i] = n
		if loss[s] && p > 0 {
			kept := 0
			for j := 0; j < n; j++ {
				if r.Float64() >= p {
					kept++
				}
			}
			n = kept
		}
	}
	out[len(path)] = n
	return out
}

func accuracyOf(in *mcps.Instance, pairs []Pair, counts [][]int, pos []int) (afr, tm float64) {
	type key struct{ a, b int32 }
	meas := map[key]float64{}
	truth := map[key]float64{}
	exact := 0
	for f := range counts {
		c := counts[f]
		got, want := c[pos[f]], c[len(c)-1]
		if got == want {
			exact++
		}
		k := key{pairs[f].Src, pairs[f].Dst}
		meas[k] += float64(got)
		truth[k] += float64(want)
	}
	var acc float64
	var n int
	for k, v := range truth {
		if v == 0 {
			continue
		}
		acc += math.Max(0, 1-math.Abs(meas[k]-v)/v)
		n++
	}
	if n > 0 {
		acc /= float64(n)
	}
	return float64(exact) / float64(len(counts)), acc
}

// traceEvent is a flow arrival (add) or expiry in the DAPR trace.
type traceEvent struct {
	at   float64
	add  bool
	flow int
}

// traceShape describes a synthetic arrival/expiry trace. Flows arrive as a Poisson
// process at Rate(t) flows per second; a share ShortShare of them are short
// (exponential durations of mean 2 s), the rest long (Pareto, shape 1.5, minimum 30 s).
// Arrivals start WarmUp seconds before 0, so the trace opens with a realistic active set.
// ExpireAt, when positive, ends every flow still active at that second (a mass expiry:
// a rack or a tenant going away) apart from a share KeepShare of them.
type traceShape struct {
	Rate       func(t float64) float64
	ShortShare float64
	WarmUp     float64
	ExpireAt   float64
	KeepShare  float64
}

// makeTrace draws the events of a trace on router rt, sorted by time with arrivals
// before expiries at equal times.
func makeTrace(sh traceShape, horizon float64, rt *Router, n int, tr *rand.Rand) ([]traceEvent, [][]int32) {
	var events []traceEvent
	var paths [][]int32
	maxRate := 0.0
	for t := -sh.WarmUp; t < horizon; t += 0.5 {
		maxRate = max(maxRate, sh.Rate(t))
	}
	// Thinning: candidate arrivals at the peak rate, each kept with Rate(t)/peak.
	for t := -sh.WarmUp; t < horizon; {
		t += tr.ExpFloat64() / maxRate
		keep := tr.Float64() < sh.Rate(t)/maxRate
		var d float64
		if tr.Float64() < sh.ShortShare {
			d = tr.ExpFloat64() * 2
		} else {
			d = 30 / math.Pow(1-tr.Float64(), 1/1.5)
		}
		a := tr.IntN(n)
		b := tr.IntN(n - 1)
		if b >= a {
			b++
		}
		survive := tr.Float64() < sh.KeepShare
		if !keep || t+d <= 0 || t >= horizon {
			continue
		}
		if sh.ExpireAt > 0 && t < sh.ExpireAt && t+d > sh.ExpireAt && !survive {
			d = sh.ExpireAt - t
		}
		p := slices.Clone(rt.Path(a, b, nil))
		if p == nil {
			continue
		}
		id := len(paths)
		paths = append(paths, p)
		events = append(events, traceEvent{at: math.Max(t, 0), add: true, flow: id})
		if t+d < horizon {
			events = append(events, traceEvent{at: t + d, add: false, flow: id})
		}
	}
	slices.SortStableFunc(events, func(a, b traceEvent) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if a.add == b.add {
			return 0
		}
		if a.add {
			return -1
		}
		return 1
	})
	return events, paths
}

type policy struct {
	name string
	cfg  mcps.PlannerConfig
}

// replayResult is what replay measured, second by second.
type replayResult struct {
	rows    [][]float64 // second, active flows, recompute, each policy, per-flow-min
	reasons []map[mcps.RebuildReason]int
	sum     []float64 // recompute, each policy, per-flow-min
	builds  []int
}

// replay feeds every policy's planner the same events and samples, every second, the
// cost of each against recomputing mcps from scratch and against per-flow-min.
func replay(net mcps.Network, events []traceEvent, paths [][]int32, secs int, policies []policy) (*replayResult, error) {
	planners := make([]*mcps.Planner, len(policies))
	for i, p := range policies {
		var err error
		if planners[i], err = mcps.NewPlanner(p.cfg); err != nil {
			return nil, err
		}
	}
	res := &replayResult{reasons: make([]map[mcps.RebuildReason]int, len(policies)), sum: make([]float64, len(policies)+2)}
	for i := range res.reasons {
		res.reasons[i] = map[mcps.RebuildReason]int{}
	}
	t0 := time.Unix(0, 0)
	active := map[int]bool{}
	ev := 0
	for sec := 1; sec <= secs; sec++ {
		for ev < len(events) && events[ev].at < float64(sec) {
			e := events[ev]
			ev++
			for _, pl := range planners {
				var err error
				if e.add {
					err = pl.AddFlow(uint64(e.flow), paths[e.flow])
				} else {
					err = pl.RemoveFlow(uint64(e.flow))
				}
				if err != nil {
					return nil, err
				}
			}
			if e.add {
				active[e.flow] = true
			} else {
				delete(active, e.flow)
			}
		}
		now := t0.Add(time.Duration(sec) * time.Second)
		for i, pl := range planners {
			rep, ok, err := pl.MaybeRebuild(now)
			if err != nil {
				return nil, err
			}
			if ok {
				res.reasons[i][rep.Reason]++
			}
		}
		ids := make([]int, 0, len(active))
		for id := range active {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		in, err := mcps.NewInstance(net)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if _, err := in.AddFlow(paths[id]); err != nil {
				return nil, err
			}
		}
		re, err := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{BoundRounds: -1})
		if err != nil {
			return nil, err
		}
		pf, err := mcps.Solve(in, mcps.StrategyPerFlowMin, mcps.Options{BoundRounds: -1})
		if err != nil {
			return nil, err
		}
		row := []float64{float64(sec), float64(len(ids)), float64(re.Cost)}
		res.sum[0] += float64(re.Cost)
		for i, pl := range planners {
			row = append(row, float64(pl.Cost()))
			res.sum[i+1] += float64(pl.Cost())
		}
		row = append(row, float64(pf.Cost))
		res.sum[len(res.sum)-1] += float64(pf.Cost)
		res.rows = append(res.rows, row)
	}
	for _, pl := range planners {
		res.builds = append(res.builds, pl.Rebuilds())
	}
	return res, nil
}

// worst is the largest ratio, over the seconds, of column col to the recompute column.
func (rr *replayResult) worst(col int) float64 {
	w := 0.0
	for _, row := range rr.rows {
		if row[2] > 0 {
			w = max(w, row[col]/row[2])
		}
	}
	return w
}

// dapr replays a synthetic arrival/expiry trace (Poisson arrivals, four times faster
// during a burst in the middle fifth of the trace; 70 % short flows with exponential
// durations of mean 2 s, 30 % long flows with Pareto durations, shape 1.5, minimum 30 s;
// arrivals start 120 s before the trace so it opens with a realistic active set) and
// samples every second the cost of: recomputing mcps every second, DAPR with fixed
// rebuild intervals, DAPR with ARI at two thresholds and DAPR with every ARI rule
// (θ = 0.7, cost drift 1.25, 60 s maximum interval), against per-flow-min.
func (r *runner) dapr() error {
	g := r.graph("er", r.cfg.Switches, r.rng())
	rt := NewRouter(g)
	net, err := Network(rt, mcps.OutOfBand, nil)
	if err != nil {
		return err
	}
	horizon := float64(r.cfg.TraceSecs)
	burstFrom, burstTo := 0.4*horizon, 0.6*horizon
	rate := r.cfg.ArrivalHz
	shape := traceShape{ShortShare: 0.7, WarmUp: 120, Rate: func(t float64) float64 {
		if t >= burstFrom && t < burstTo {
			return 4 * rate
		}
		return rate
	}}
	events, paths := makeTrace(shape, horizon, rt, g.NumNodes(), r.rng())
	fixed := time.Duration(r.cfg.FixedEvery) * time.Second
	policies := []policy{
		{fmt.Sprintf("DAPR + rebuild every %d s", r.cfg.FixedEvery), mcps.PlannerConfig{Network: net, Theta: 1e-9, CostRatio: -1, MaxInterval: fixed}},
		{fmt.Sprintf("DAPR + rebuild every %d s", 3*r.cfg.FixedEvery), mcps.PlannerConfig{Network: net, Theta: 1e-9, CostRatio: -1, MaxInterval: 3 * fixed}},
		{"DAPR + ARI (θ=0.7)", mcps.PlannerConfig{Network: net, Theta: 0.7, CostRatio: -1, MaxInterval: -1}},
		{"DAPR + ARI (θ=0.5)", mcps.PlannerConfig{Network: net, Theta: 0.5, CostRatio: -1, MaxInterval: -1}},
		{"DAPR + ARI Jaccard (θ=0.7)", mcps.PlannerConfig{Network: net, Theta: 0.7, Variance: mcps.VarianceJaccard, CostRatio: -1, MaxInterval: -1}},
		{"DAPR + ARI all rules", mcps.PlannerConfig{Network: net}},
	}
	rr, err := replay(net, events, paths, r.cfg.TraceSecs, policies)
	if err != nil {
		return err
	}
	cols := []string{"second", "active flows", "recompute every second"}
	for _, p := range policies {
		cols = append(cols, p.name)
	}
	cols = append(cols, "per-flow-min")
	t := Table{Name: "dapr_cost", Title: "DAPR on a flow arrival/expiry trace: cost per round, sampled every second",
		XLabel: "time (s)", YLabel: "bytes per round", Columns: cols, Rows: rr.rows}
	r.res.Tables = append(r.res.Tables, t)
	t2 := Table{Name: "dapr_summary", Title: "DAPR policies over the whole trace",
		Columns:   []string{"policy", "rebuilds", "mean cost / recompute", "worst second / recompute", "variance", "cost-drift", "interval", "initial"},
		RowLabels: []string{"recompute every second"},
		Note:      "rebuild counts by reason; recompute rebuilds once per second; ARI's r is |F0∩Ft| / |F0| unless the row says Jaccard"}
	for _, p := range policies {
		t2.RowLabels = append(t2.RowLabels, p.name)
	}
	t2.RowLabels = append(t2.RowLabels, "per-flow-min")
	sum := rr.sum
	t2.Rows = append(t2.Rows, []float64{0, float64(r.cfg.TraceSecs), 1, 1, 0, 0, 0, 0})
	for i := range policies {
		rs := rr.reasons[i]
		t2.Rows = append(t2.Rows, []float64{float64(i + 1), float64(rr.builds[i]), sum[i+1] / sum[0], rr.worst(3 + i),
			float64(rs[mcps.ReasonVariance]), float64(rs[mcps.ReasonCostDrift]), float64(rs[mcps.ReasonInterval]), float64(rs[mcps.ReasonInitial])})
	}
	t2.Rows = append(t2.Rows, []float64{float64(len(policies) + 1), 0, sum[len(sum)-1] / sum[0], rr.worst(3 + len(policies)), 0, 0, 0, 0})
	r.res.Tables = append(r.res.Tables, t2)
	return nil
}

// churnTraces are the traces of the ARI experiment: steady churn, bursty arrivals, a
// flash crowd and a mass expiry, each at the configured base arrival rate.
func churnTraces(rate, horizon float64) []struct {
	name  string
	shape traceShape
} {
	return []struct {
		name  string
		shape traceShape
	}{
		{"steady", traceShape{ShortShare: 0.7, WarmUp: 120, Rate: func(float64) float64 { return rate }}},
		{"bursty", traceShape{ShortShare: 0.7, WarmUp: 120, Rate: func(t float64) float64 {
			if int(math.Floor(t/10))%2 == 0 { // 10 s on at 3×, 10 s off at 0.2×
				return 3 * rate
			}
			return 0.2 * rate
		}}},
		{"flash crowd", traceShape{ShortShare: 0.7, WarmUp: 120, Rate: func(t float64) float64 {
			if t >= 0.3*horizon && t < 0.3*horizon+10 { // ten times the rate for 10 s
				return 10 * rate
			}
			return rate
		}}},
		{"mass expiry", traceShape{ShortShare: 0.7, WarmUp: 120, ExpireAt: 0.5 * horizon, KeepShare: 0.4,
			Rate: func(float64) float64 { return rate }}},
	}
}

// churn compares recomputation, fixed intervals and ARI in both forms and at several
// thresholds on traces whose churn differs.
func (r *runner) churn() error {
	g := r.graph("er", r.cfg.Switches, r.rng())
	rt := NewRouter(g)
	net, err := Network(rt, mcps.OutOfBand, nil)
	if err != nil {
		return err
	}
	secs := r.cfg.ChurnSecs
	fixed := time.Duration(r.cfg.FixedEvery) * time.Second
	policies := []policy{
		{fmt.Sprintf("fixed %d s", r.cfg.FixedEvery), mcps.PlannerConfig{Network: net, Theta: 1e-9, CostRatio: -1, MaxInterval: fixed}},
		{fmt.Sprintf("fixed %d s", 3*r.cfg.FixedEvery), mcps.PlannerConfig{Network: net, Theta: 1e-9, CostRatio: -1, MaxInterval: 3 * fixed}},
	}
	for _, th := range []float64{0.9, 0.7, 0.5} {
		policies = append(policies, policy{fmt.Sprintf("ARI θ=%g", th), mcps.PlannerConfig{Network: net, Theta: th, CostRatio: -1, MaxInterval: -1}})
	}
	for _, th := range []float64{0.9, 0.7} {
		policies = append(policies, policy{fmt.Sprintf("ARI Jaccard θ=%g", th), mcps.PlannerConfig{Network: net, Theta: th, Variance: mcps.VarianceJaccard, CostRatio: -1, MaxInterval: -1}})
	}
	policies = append(policies, policy{"ARI θ=0.7 + cost drift 1.05", mcps.PlannerConfig{Network: net, Theta: 0.7, CostRatio: 1.05, MaxInterval: -1}})
	t := Table{Name: "ari_churn", Title: fmt.Sprintf("Rebuild policies on four churn patterns (%d s each, DAPR between rebuilds)", secs),
		Columns: []string{"trace / policy", "rebuilds", "mean cost / recompute", "worst second / recompute", "min flows", "max flows"},
		Note:    "recompute: mcps from scratch every second; ARI's r is |F0∩Ft| / |F0| unless the row says Jaccard; no maximum interval"}
	for _, tr := range churnTraces(r.cfg.ChurnHz, float64(secs)) {
		events, paths := makeTrace(tr.shape, float64(secs), rt, g.NumNodes(), r.rng())
		rr, err := replay(net, events, paths, secs, policies)
		if err != nil {
			return err
		}
		lo, hi := math.Inf(1), 0.0
		for _, row := range rr.rows {
			lo, hi = min(lo, row[1]), max(hi, row[1])
		}
		t.RowLabels = append(t.RowLabels, tr.name+" / recompute every second")
		t.Rows = append(t.Rows, []float64{0, float64(secs), 1, 1, lo, hi})
		for i, p := range policies {
			t.RowLabels = append(t.RowLabels, tr.name+" / "+p.name)
			t.Rows = append(t.Rows, []float64{0, float64(rr.builds[i]), rr.sum[i+1] / rr.sum[0], rr.worst(3 + i), lo, hi})
		}
	}
	r.res.Tables = append(r.res.Tables, t)
	return nil
}
