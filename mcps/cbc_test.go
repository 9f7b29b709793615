package mcps_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/mcps/sim"
	"github.com/cemon-sdn/cemon/topology"
)

// refereeCase is one generated instance for the CBC referee.
type refereeCase struct {
	switches, flows, controllers int
	dep                          mcps.Deployment
	seed                         uint64
}

func (c refereeCase) String() string {
	return fmt.Sprintf("%s/switches=%d/flows=%d/controllers=%d/seed=%d", c.dep, c.switches, c.flows, c.controllers, c.seed)
}

func (c refereeCase) build(t testing.TB) *mcps.Instance {
	t.Helper()
	rng := rand.New(rand.NewPCG(c.seed, uint64(c.switches*100000+c.flows)))
	g := topology.ErdosRenyi(c.switches, 3/float64(c.switches-1), rng)
	gen, err := sim.Generate(g, c.dep, c.controllers, c.flows, rng)
	if err != nil {
		t.Fatal(err)
	}
	return gen.Instance
}

// writeLP writes the integer program of algorithms.md section 2 in CPLEX LP format, in
// its multi-controller form (a variable per switch and controller), computing every
// coefficient from the paths and hops directly, without the solver's code. Flows that
// cross the same set of switches have identical constraints, so they share one row and
// one y variable whose cost is the sum of theirs: the same optimum, far fewer rows.
func writeLP(t testing.TB, in *mcps.Instance, path string) {
	t.Helper()
	net := in.Network()
	ns, nf := in.NumSwitches(), in.NumFlows()
	nk := net.Controllers()
	hop := func(s, k int) int64 {
		if net.Deployment != mcps.InBand {
			return 1
		}
		return int64(net.Hops[k][s])
	}
	load := make([]int64, ns)
	for f := 0; f < nf; f++ {
		for _, s := range in.Path(f) {
			load[s]++
		}
	}
	const lr, lh, le = 122, 78, 96
	type row struct {
		switches []int32
		cost     int64
	}
	rows := map[string]*row{}
	var keys []string
	for f := 0; f < nf; f++ {
		p := append([]int32(nil), in.Path(f)...)
		slices.Sort(p)
		key := fmt.Sprint(p)
		one := int64(math.MaxInt64)
		for _, s := range p {
			for k := 0; k < nk; k++ {
				one = min(one, hop(int(s), k)*(lr+lh+le))
			}
		}
		r, ok := rows[key]
		if !ok {
			r = &row{switches: p}
			rows[key] = r
			keys = append(keys, key)
		}
		r.cost += one
	}
	var b strings.Builder
	b.WriteString("Minimize\n obj:")
	for s := 0; s < ns; s++ {
		for k := 0; k < nk; k++ {
			fmt.Fprintf(&b, " + %d x%d_%d", hop(s, k)*(lr+lh+le*load[s]), s, k)
		}
		b.WriteString("\n")
	}
	for i, key := range keys {
		fmt.Fprintf(&b, " + %d y%d\n", rows[key].cost, i)
	}
	b.WriteString("Subject To\n")
	for i, key := range keys {
		fmt.Fprintf(&b, " c%d:", i)
		for _, s := range rows[key].switches {
			for k := 0; k < nk; k++ {
				fmt.Fprintf(&b, " + x%d_%d", s, k)
			}
		}
		fmt.Fprintf(&b, " + y%d >= 1\n", i)
	}
	b.WriteString("Binary\n")
	for s := 0; s < ns; s++ {
		for k := 0; k < nk; k++ {
			fmt.Fprintf(&b, " x%d_%d\n", s, k)
		}
	}
	for i := range keys {
		fmt.Fprintf(&b, " y%d\n", i)
	}
	b.WriteString("End\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCBC solves an LP file with cbc and returns its proven optimum.
func runCBC(t testing.TB, cbc, lp string) (obj int64, elapsed time.Duration) {
	t.Helper()
	sol := lp + ".sol"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, cbc, lp, "solve", "solu", sol).CombinedOutput()
	elapsed = time.Since(start)
	if err != nil {
		t.Fatalf("cbc: %v\n%s", err, out)
	}
	f, err := os.Open(sol)
	if err != nil {
		t.Fatalf("cbc wrote no solution: %v\n%s", err, out)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("cbc: empty solution file\n%s", out)
	}
	// "Optimal - objective value 12345.00000000"
	line := sc.Text()
	if !strings.HasPrefix(line, "Optimal") {
		t.Fatalf("cbc did not prove optimality: %q", line)
	}
	fields := strings.Fields(line)
	v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
	if err != nil {
		t.Fatalf("cbc objective %q: %v", line, err)
	}
	return int64(math.Round(v)), elapsed
}

// TestCBCReferee checks the exact solver against CBC, an independent MIP solver, on
// generated instances (algorithms.md section 2: CBC is the referee). A handful of
// moderate instances run in the unit tests; CEMON_CBC_SWEEP=1 runs the full sweep from
// 10 to 30 switches and up to 5,000 flows and logs a Markdown table (to the file named
// by CEMON_CBC_OUT when set).
func TestCBCReferee(t *testing.T) {
	cbc, err := exec.LookPath("cbc")
	if err != nil {
		t.Skip("cbc (Debian package coinor-cbc) is not installed")
	}
	cases := []refereeCase{
		{10, 300, 1, mcps.OutOfBand, 1},
		{20, 1000, 1, mcps.OutOfBand, 2},
		{15, 800, 2, mcps.InBand, 3},
		{30, 500, 1, mcps.InBand, 4},
	}
	sweep := os.Getenv("CEMON_CBC_SWEEP") == "1"
	if sweep {
		cases = nil
		for _, dep := range []mcps.Deployment{mcps.OutOfBand, mcps.InBand} {
			for _, ns := range []int{10, 20, 30} {
				for _, nf := range []int{100, 1000, 5000} {
					for seed := uint64(1); seed <= 2; seed++ {
						k := 1
						if dep == mcps.InBand && seed == 2 {
							k = 2
						}
						cases = append(cases, refereeCase{ns, nf, k, dep, seed})
					}
				}
			}
		}
	}
	var rows []string
	var gapSum float64
	for _, c := range cases {
		in := c.build(t)
		lp := filepath.Join(t.TempDir(), "mcps.lp")
		writeLP(t, in, lp)
		opt, cbcTime := runCBC(t, cbc, lp)

		start := time.Now()
		ex, err := mcps.Solve(in, mcps.StrategyExact, mcps.Options{NodeLimit: 5_000_000})
		exTime := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		m, err := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{})
		mTime := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		gr, _ := mcps.Solve(in, mcps.StrategyGreedy, mcps.Options{})
		if !ex.Optimal || ex.Cost != opt {
			t.Errorf("%v: exact %d (optimal=%v, bound %d), CBC's optimum %d", c, ex.Cost, ex.Optimal, ex.LowerBound, opt)
		}
		if m.LowerBound > opt || m.Cost < opt {
			t.Errorf("%v: mcps cost %d bound %d inconsistent with optimum %d", c, m.Cost, m.LowerBound, opt)
		}
		gap := float64(m.Cost-opt) / float64(opt)
		gapSum += gap
		rows = append(rows, fmt.Sprintf("| %s | %d | %d | %d | %d | %.3f | %d | %.3f | %.2f | %.4f | %.2f |",
			c.dep, c.switches, c.flows, c.controllers, opt, cbcTime.Seconds(), ex.Nodes, exTime.Seconds(),
			100*gap, mTime.Seconds(), 100*float64(gr.Cost-opt)/float64(opt)))
	}
	table := "| deployment | switches | flows | controllers | optimum (bytes) | cbc s | exact nodes | exact s | mcps gap % | mcps s | greedy gap % |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|\n" + strings.Join(rows, "\n") +
		fmt.Sprintf("\n\nmean mcps gap to the optimum: %.3f %% over %d instances\n", 100*gapSum/float64(len(cases)), len(cases))
	t.Log("\n" + table)
	if out := os.Getenv("CEMON_CBC_OUT"); sweep && out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
