package migration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/stats"
)

func server(id string) placement.Server {
	return placement.Server{ID: id, DPID: "1", Port: 1, CPUCores: 8, RAMMB: 32000, NICBps: 1e9}
}

// smallInventory: server a's NIC carries 900 Mbit/s of three VMs' traffic to
// the outside; b and c are idle.
func smallInventory() placement.Inventory {
	return placement.Inventory{
		Servers: []placement.Server{server("a"), server("b"), server("c")},
		VMs: []placement.VM{
			{ID: "web1", Server: "a", VCPUs: 2, RAMMB: 800, CPUUtil: 0.3, Service: "shop", DirtyRateMBs: 80},
			{ID: "web2", Server: "a", VCPUs: 2, RAMMB: 800, CPUUtil: 0.3, Service: "shop", DirtyRateMBs: 5},
			{ID: "db", Server: "a", VCPUs: 2, RAMMB: 4000, CPUUtil: 0.3, Service: "db", DirtyRateMBs: 5},
		},
		External: []placement.External{{VM: "web1", Bps: 3e8}, {VM: "web2", Bps: 3e8}, {VM: "db", Bps: 3e8}},
	}
}

func TestPlanNICHotspot(t *testing.T) {
	plan, err := MakePlan(PlanInput{Inventory: smallInventory()}, PlanConfig{})
	require.NoError(t, err)
	require.Len(t, plan.Hotspots, 1)
	assert.Equal(t, Hotspot{Server: "a", Resource: "nic", Load: 0.9, Threshold: 0.8, Detector: Static, Relieved: true}, plan.Hotspots[0])
	require.Len(t, plan.Moves, 1)
	m := plan.Moves[0]
	// Each VM alone relieves a (0.9 - 0.3 = 0.6); web2 is cheapest: small and slow-dirtying.
	assert.Equal(t, "web2", m.VM)
	assert.Equal(t, "a", m.From)
	assert.NotEqual(t, "a", m.To)
	assert.Equal(t, "nic", m.Reason)
	// Free: a's NIC has 100 Mbit/s left = 12.5 MB/s; R = min(5 + 12.5, 12.5).
	assert.InDelta(t, 12.5, m.FreeMBs, 1e-9)
	assert.LessOrEqual(t, m.RateMBs, m.FreeMBs)
	assert.InDelta(t, 12.5, m.RateMBs, 1e-9)
	assert.Equal(t, 0.0, m.StartS)
	assert.Greater(t, m.Rounds, 0)
	assert.Greater(t, m.Cost, 0.0)
}

type fakeNet struct{ free float64 }

func (f fakeNet) Path(from, to placement.Server) ([]string, float64, bool) {
	return []string{"s1-s2"}, f.free, true
}

func TestPlanRateCappedByNetwork(t *testing.T) {
	plan, err := MakePlan(PlanInput{Inventory: smallInventory(), Network: fakeNet{free: 4e7}}, PlanConfig{})
	require.NoError(t, err)
	require.Len(t, plan.Moves, 1)
	assert.InDelta(t, 5, plan.Moves[0].FreeMBs, 1e-9)
	assert.InDelta(t, 5, plan.Moves[0].RateMBs, 1e-9)
	assert.Contains(t, plan.Moves[0].Links, "s1-s2")
	// No free bandwidth: nothing moves, each VM says why.
	plan, err = MakePlan(PlanInput{Inventory: smallInventory(), Network: fakeNet{free: 0}}, PlanConfig{})
	require.NoError(t, err)
	assert.Empty(t, plan.Moves)
	assert.Len(t, plan.Deferred, 3)
	assert.False(t, plan.Hotspots[0].Relieved)
}

func TestPlanCPUHotspotAndThresholds(t *testing.T) {
	inv := smallInventory()
	inv.External = nil
	inv.VMs[2].CPUUtil = 1 // a: (0.6+0.6+2)/8 = 0.4
	plan, err := MakePlan(PlanInput{Inventory: inv, Servers: map[string]ServerInput{"a": {CPUThreshold: 0.3}}}, PlanConfig{})
	require.NoError(t, err)
	require.Len(t, plan.Hotspots, 1)
	assert.Equal(t, "cpu", plan.Hotspots[0].Resource)
	require.Len(t, plan.Moves, 1)
	assert.Equal(t, "db", plan.Moves[0].VM, "only db's move brings a under 0.3")
	// Below every threshold: no plan.
	plan, err = MakePlan(PlanInput{Inventory: inv}, PlanConfig{})
	require.NoError(t, err)
	assert.Empty(t, plan.Hotspots)
	assert.Empty(t, plan.Moves)
}

// CloudSim's adaptive thresholds: 1 − 2.5·MAD and 1 − 1.5·IQR.
func TestAdaptiveThresholds(t *testing.T) {
	h := []float64{0.5, 0.52, 0.48, 0.6, 0.4, 0.5, 0.55, 0.45, 0.5, 0.7}
	assert.InDelta(t, 0.5, Median(h), 1e-12)
	assert.InDelta(t, 0.035, MedianAbsDev(h), 1e-12) // deviations 0,0,0,.02,.02,.05,.05,.1,.1,.2
	assert.InDelta(t, 1-2.5*0.035, Threshold(MAD, 0.8, 0, h), 1e-12)
	iqr := InterQuartile(h)
	assert.InDelta(t, 1-1.5*iqr, Threshold(IQR, 0.8, 0, h), 1e-12)
	assert.InDelta(t, 0.5425-0.485, InterQuartile(h), 1e-12) // Q1 at rank 2.25, Q3 at 6.75
	assert.Equal(t, 0.8, Threshold(MAD, 0.8, 0, h[:5]), "too short: static")
	assert.Equal(t, 0.7, Threshold(Static, 0.7, 0, h))
	assert.Equal(t, 0.0, Threshold(MAD, 0.8, 100, h), "clamped")

	// A server whose NIC history is wide gets a lower MAD threshold and is hot at 0.75.
	inv := smallInventory()
	var hist []LoadSample
	for i := range 20 {
		hist = append(hist, LoadSample{T: float64(i), CPU: 0.2, NICBps: 1e9 * (0.5 + 0.25*float64(i%2))})
	}
	now := 7.5e8
	plan, err := MakePlan(PlanInput{Inventory: inv, Servers: map[string]ServerInput{"a": {History: hist, NICBps: &now}}}, PlanConfig{Detector: MAD})
	require.NoError(t, err)
	require.Len(t, plan.Hotspots, 1)
	assert.InDelta(t, 1-2.5*0.125, plan.Hotspots[0].Threshold, 1e-12)
	plan, err = MakePlan(PlanInput{Inventory: inv, Servers: map[string]ServerInput{"a": {History: hist, NICBps: &now}}}, PlanConfig{})
	require.NoError(t, err)
	assert.Empty(t, plan.Hotspots, "0.75 is under the static 0.8")
}

// Section 7: a service above its safe load waits.
func TestPlanWaitsForSafeLoad(t *testing.T) {
	svc := []Service{{Name: "shop", SafeLoad: 0.6, Load: []ServiceSample{{T: 0, Load: 0.9}, {T: 600, Load: 0.5}}}}
	plan, err := MakePlan(PlanInput{Inventory: smallInventory(), Services: svc}, PlanConfig{})
	require.NoError(t, err)
	require.Len(t, plan.Moves, 1)
	assert.Equal(t, 600.0, plan.Moves[0].StartS)
	svc[0].Load[1].Load = 0.95
	plan, err = MakePlan(PlanInput{Inventory: smallInventory(), Services: svc}, PlanConfig{})
	require.NoError(t, err)
	assert.Empty(t, plan.Moves)
	require.Len(t, plan.Deferred, 1)
	assert.Contains(t, plan.Deferred[0].Reason, "safe level")
}

// randomInventory: servers whose NICs are loaded by many VMs of few services.
func randomInventory(rng *rand.Rand, nS, nV int) (placement.Inventory, map[string]ServerInput) {
	var inv placement.Inventory
	srv := map[string]ServerInput{}
	for i := range nS {
		inv.Servers = append(inv.Servers, placement.Server{ID: fmt.Sprintf("s%d", i), DPID: fmt.Sprintf("%x", i+1), Port: 1, CPUCores: 16, RAMMB: 64000, NICBps: 1e9})
	}
	for i := range nV {
		s := rng.IntN(max(1, nS/2)) // crowd the first half
		v := placement.VM{ID: fmt.Sprintf("v%d", i), Server: fmt.Sprintf("s%d", s), VCPUs: 2, RAMMB: 500 + rng.Float64()*3000,
			CPUUtil: 0.5 + 0.5*rng.Float64(), Service: fmt.Sprintf("svc%d", rng.IntN(3)), DirtyRateMBs: rng.Float64() * 60}
		inv.VMs = append(inv.VMs, v)
		inv.External = append(inv.External, placement.External{VM: v.ID, Bps: 2e7 + rng.Float64()*8e7})
	}
	return inv, srv
}

// Section 7 (Voorsluys et al.): a plan never schedules two migrations of one
// service within the SLA window, and never more than MaxPerLink at once on
// a link; R never exceeds the free bandwidth.
func TestPlanNeverBreaksSLAWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	total, pairs := 0, 0
	for trial := range 200 {
		inv, srv := randomInventory(rng, 2+rng.IntN(6), 4+rng.IntN(20))
		cfg := PlanConfig{SLAWindowS: float64(60 + rng.IntN(600)), MaxPerLink: 1 + rng.IntN(3), Policy: placement.Policies()[trial%5]}
		plan, err := MakePlan(PlanInput{Inventory: inv, Servers: srv}, cfg)
		require.NoError(t, err)
		total += len(plan.Moves)
		for i, a := range plan.Moves {
			assert.LessOrEqual(t, a.RateMBs, a.FreeMBs+1e-9)
			assert.Greater(t, a.RateMBs, 0.0)
			assert.InDelta(t, a.StartS+a.TotalTimeS, a.EndS, 1e-9)
			for _, b := range plan.Moves[i+1:] {
				if a.Service == b.Service {
					pairs++
					gap := max(b.StartS-a.EndS, a.StartS-b.EndS)
					assert.GreaterOrEqual(t, gap, cfg.SLAWindowS-1e-6, "trial %d: %s and %s of %s", trial, a.VM, b.VM, a.Service)
				}
			}
			// Concurrency per link at a's start.
			for _, l := range a.Links {
				n := 0
				for _, b := range plan.Moves {
					if b.StartS <= a.StartS && a.StartS < b.EndS && contains(b.Links, l) {
						n++
					}
				}
				assert.LessOrEqual(t, n, cfg.MaxPerLink, "trial %d link %s", trial, l)
			}
		}
	}
	assert.Greater(t, total, 200, "the random plans should move VMs")
	assert.Greater(t, pairs, 60, "and many of one service")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestPlanErrors(t *testing.T) {
	inv := smallInventory()
	_, err := MakePlan(PlanInput{Inventory: inv}, PlanConfig{Detector: "magic"})
	assert.ErrorIs(t, err, ErrInput)
	_, err = MakePlan(PlanInput{Inventory: inv}, PlanConfig{NICThreshold: 2})
	assert.ErrorIs(t, err, ErrInput)
	_, err = MakePlan(PlanInput{Inventory: inv, Servers: map[string]ServerInput{"zz": {}}}, PlanConfig{})
	assert.ErrorIs(t, err, ErrInput)
	_, err = MakePlan(PlanInput{Inventory: inv, Servers: map[string]ServerInput{"a": {CPUThreshold: -1}}}, PlanConfig{})
	assert.ErrorIs(t, err, ErrInput)
	inv.VMs[0].Server = ""
	_, err = MakePlan(PlanInput{Inventory: inv}, PlanConfig{})
	assert.ErrorIs(t, err, ErrInput)
	bad := smallInventory()
	bad.VMs[0].RAMMB = -1
	_, err = MakePlan(PlanInput{Inventory: bad}, PlanConfig{})
	assert.ErrorIs(t, err, placement.ErrInvalid)
}

func BenchmarkMakePlan(b *testing.B) {
	for _, size := range []struct{ s, v int }{{4, 16}, {16, 64}, {32, 256}} {
		rng := rand.New(rand.NewPCG(1, 1))
		inv, srv := randomInventory(rng, size.s, size.v)
		b.Run(fmt.Sprintf("servers=%d/vms=%d", size.s, size.v), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := MakePlan(PlanInput{Inventory: inv, Servers: srv}, PlanConfig{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestStatsNetwork(t *testing.T) {
	store, err := stats.New(stats.Config{LinkCapacityBps: 1e9})
	require.NoError(t, err)
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	path := []stats.Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 3, OutPort: 1}}
	require.NoError(t, store.AddFlow(stats.FlowInfo{ID: 1, Src: testHost("10.0.0.1"), Dst: testHost("10.0.0.2"), Path: path, Start: t0}))
	require.NoError(t, observeReading(store, stats.Reading{Flow: 1, DPID: 1, Bytes: 50_000_000, Duration: time.Second, At: t0.Add(time.Second), Source: stats.SourcePollAll}))
	require.NoError(t, observeReading(store, stats.Reading{Flow: 1, DPID: 1, Bytes: 100_000_000, Duration: 2 * time.Second, At: t0.Add(2 * time.Second), Source: stats.SourcePollAll}))
	n := StatsNetwork{Reader: store, CapacityBps: 1e9, Links: func(from, to placement.Server) ([]stats.Link, bool) {
		return stats.LinksOf(path), true
	}}
	links, free, ok := n.Path(server("a"), server("b"))
	require.True(t, ok)
	assert.InDelta(t, 6e8, free, 1)
	assert.Len(t, links, 1)
	plan, err := MakePlan(PlanInput{Inventory: smallInventory(), Network: n}, PlanConfig{})
	require.NoError(t, err)
	require.Len(t, plan.Moves, 1)
	assert.LessOrEqual(t, MBsToBps(plan.Moves[0].RateMBs), free)
	_, _, ok = StatsNetwork{}.Path(server("a"), server("b"))
	assert.False(t, ok)
}

func TestParsePlanFile(t *testing.T) {
	data, err := os.ReadFile("testdata/plan.json")
	require.NoError(t, err)
	in, cfg, err := ParsePlanFile(data)
	require.NoError(t, err)
	assert.Equal(t, 0.7, in.Servers["a"].NICThreshold)
	assert.Len(t, in.Servers["a"].History, 3)
	assert.Equal(t, placement.Balance, cfg.Policy)
	plan, err := MakePlan(in, cfg)
	require.NoError(t, err)
	require.NotEmpty(t, plan.Moves)
	for _, m := range plan.Moves {
		assert.Equal(t, "a", m.From)
	}
	// The three VMs are one service: two moves are at least 300 s apart.
	if len(plan.Moves) > 1 {
		assert.GreaterOrEqual(t, plan.Moves[1].StartS, plan.Moves[0].EndS+300)
	}
	for _, bad := range []string{
		`{"servers":[{"id":"a","dpid":"1","port":1,"cpu_cores":1,"ram_mb":1,"nic_bps":1,"colour":"red"}],"vms":[]}`,
		`{"servers":[],"vms":[],"options":{"detector":"x"}}`,
		`{"servers":[],"vms":[],"options":{"policy":"x"}}`,
		`{"servers":[],"vms":[],"options":{"profile":"x"}}`,
		`{"servers":[],"vms":[],"options":{"sla_window_s":-1}}`,
		`{"servers":[{"id":"a","dpid":"1","port":1,"cpu_cores":0,"ram_mb":1,"nic_bps":1}],"vms":[]}`,
		`{"servers":[]`,
	} {
		_, _, err := ParsePlanFile([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func FuzzParsePlanFile(f *testing.F) {
	data, err := os.ReadFile("testdata/plan.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"servers":[],"vms":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, cfg, err := ParsePlanFile(b)
		if err != nil {
			return
		}
		if len(in.Inventory.VMs) > 64 || len(in.Inventory.Servers) > 32 {
			return
		}
		// A file that parses plans without panicking (it may still be refused).
		_, _ = MakePlan(in, cfg)
	})
}
