package migration

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/stats"
)

// Section 6, refit: records made with coefficients other than the paper's
// give those coefficients back.
func TestFitRecoversCoefficients(t *testing.T) {
	want := Gamma{A: -0.03, B: -0.0004, C: 0.45}
	wantE := Energy{Alpha: 0.4, Beta: 35}
	rng := rand.New(rand.NewPCG(3, 4))
	var recs []Record
	for range 40 {
		in := Input{MemMB: 128 + rng.Float64()*512, RateMBs: 80 + rng.Float64()*120}
		in.DirtyMBs = in.RateMBs * (0.2 + 0.6*rng.Float64())
		res, err := Predict(in, Config{Kind: WWS, Profile: QEMU(), Gamma: &want, Energy: &wantE})
		require.NoError(t, err)
		recs = append(recs, RecordOf("vm", in, res, true))
	}
	_, _, obs := GammaObservations(recs)
	for _, g := range obs {
		require.True(t, g > 0 && g < 1, "γ %v clamped: pick other inputs", g)
	}
	g, n, err := FitGamma(recs)
	require.NoError(t, err)
	assert.Greater(t, n, 40)
	assert.InDelta(t, want.A, g.A, 1e-9)
	assert.InDelta(t, want.B, g.B, 1e-9)
	assert.InDelta(t, want.C, g.C, 1e-9)
	e, n, err := FitEnergy(recs)
	require.NoError(t, err)
	assert.Equal(t, 40, n)
	assert.InDelta(t, wantE.Alpha, e.Alpha, 1e-9)
	assert.InDelta(t, wantE.Beta, e.Beta, 1e-6)

	// With noise on the energy the fit stays close.
	for i := range recs {
		v := *recs[i].EnergyJ + rng.NormFloat64()*2
		recs[i].EnergyJ = &v
	}
	e, _, err = FitEnergy(recs)
	require.NoError(t, err)
	assert.InDelta(t, wantE.Alpha, e.Alpha, 0.01)
}

func TestFitNeedsData(t *testing.T) {
	_, _, err := FitGamma(nil)
	assert.ErrorIs(t, err, ErrFit)
	_, _, err = FitEnergy([]Record{{TrafficMB: 10, EnergyJ: ptr(5.0)}})
	assert.ErrorIs(t, err, ErrFit)
	// Every record with the same traffic: α and β are not determined.
	same := []Record{{TrafficMB: 10, EnergyJ: ptr(5.0)}, {TrafficMB: 10, EnergyJ: ptr(6.0)}, {TrafficMB: 10, EnergyJ: ptr(7.0)}}
	_, _, err = FitEnergy(same)
	assert.ErrorIs(t, err, ErrFit)
	// One migration at one dirty rate: D does not vary, γ's b and c are not determined.
	in := Input{MemMB: 800, DirtyMBs: 40, RateMBs: 100}
	res, err := Predict(in, Config{Kind: WWS, Profile: QEMU(), Gamma: &Gamma{A: 0, B: 0, C: 0.3}})
	require.NoError(t, err)
	_, _, err = FitGamma([]Record{RecordOf("a", in, res, false)})
	assert.ErrorIs(t, err, ErrFit)
}

func ptr[T any](v T) *T { return &v }

// Equations (11)-(13).
func TestRefinedDirtyRate(t *testing.T) {
	d, ok := MeanDirtyRate([]Round{{DurationS: 1, DirtyMB: 10}, {DurationS: 3, DirtyMB: 90}, {SentMB: 5}})
	require.True(t, ok)
	assert.InDelta(t, 25, d, 1e-12) // (10·1 + 30·3) / 4
	_, ok = MeanDirtyRate(nil)
	assert.False(t, ok)

	var h DirtyHistory
	assert.Equal(t, 42.0, h.Estimate(42)) // no history: the sample
	h = h.Observe(20)
	assert.Equal(t, 20.0, h.Hat)
	h = h.Observe(30)
	assert.InDelta(t, 0.7*30+0.3*20, h.Hat, 1e-12)
	assert.InDelta(t, 0.5*10+0.5*h.Hat, h.Estimate(10), 1e-12)
	h2 := DirtyHistory{Mu: 0.9, Phi: 0.2}.Observe(10).Observe(20)
	assert.InDelta(t, 0.9*20+0.1*10, h2.Hat, 1e-12)
	assert.InDelta(t, 0.2*5+0.8*h2.Hat, h2.Estimate(5), 1e-12)
	assert.Equal(t, h2, h2.Observe(-1))
}

func TestDecisionCosts(t *testing.T) {
	rs := []Result{
		{DowntimeS: 1, TotalTimeS: 10, TrafficMB: 1000, EnergyJ: 100},
		{DowntimeS: 0.5, TotalTimeS: 20, TrafficMB: 500, EnergyJ: 50},
		{DowntimeS: 0, TotalTimeS: 0, TrafficMB: 0, EnergyJ: 0},
	}
	c, err := DecisionCosts(rs, Weights{})
	require.NoError(t, err)
	assert.InDelta(t, 0.25*(1+0.5+1+1), c[0], 1e-12)
	assert.InDelta(t, 0.25*(0.5+1+0.5+0.5), c[1], 1e-12)
	assert.Equal(t, 0.0, c[2])
	assert.Equal(t, 2, Cheapest(c))
	c, err = DecisionCosts(rs, Weights{Downtime: 1})
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 0.5, 0}, c)
	_, err = DecisionCosts(rs, Weights{Downtime: 0.5, Time: 0.4})
	assert.ErrorIs(t, err, ErrInput)
	_, err = DecisionCosts(rs, Weights{Downtime: 1.5, Time: -0.5})
	assert.ErrorIs(t, err, ErrInput)
	assert.Equal(t, -1, Cheapest(nil))
}

func TestTransferRate(t *testing.T) {
	assert.InDelta(t, 52.5, TransferRate(40, 0, 0, -1), 1e-12) // D + 100 Mbit/s
	assert.Equal(t, 50.0, TransferRate(40, 0, 50, -1))
	assert.Equal(t, 30.0, TransferRate(40, 0, 50, 30))
	assert.Equal(t, 0.0, TransferRate(40, 0, 50, 0))
	store, err := stats.New(stats.Config{LinkCapacityBps: 1e9})
	require.NoError(t, err)
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	path := []stats.Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 3, OutPort: 1}}
	require.NoError(t, store.AddFlow(stats.FlowInfo{ID: 1, Src: testHost("10.0.0.1"), Dst: testHost("10.0.0.2"), Path: path, Start: t0}))
	// 400 Mbit/s on the path: 600 Mbit/s = 75 MB/s free.
	require.NoError(t, observeReading(store, stats.Reading{Flow: 1, DPID: 1, Bytes: 50_000_000, Duration: time.Second, At: t0.Add(time.Second), Source: stats.SourcePollAll}))
	require.NoError(t, observeReading(store, stats.Reading{Flow: 1, DPID: 1, Bytes: 100_000_000, Duration: 2 * time.Second, At: t0.Add(2 * time.Second), Source: stats.SourcePollAll}))
	free := PathFreeMBs(store, stats.LinksOf(path), 1e9)
	assert.InDelta(t, 75, free, 1e-9)
	assert.InDelta(t, 75, TransferRate(90, 0, 125, free), 1e-9)
	assert.InDelta(t, 125, PathFreeMBs(store, nil, 1e9), 1e-9)
}

func TestDecodeRecord(t *testing.T) {
	good := `{"vm":"web1","profile":"xen","ram_mb":800,"dirty_rate_mb_s":40,"rate_mb_s":100,"total_time_s":12.5,
		"downtime_s":0.1,"traffic_mb":1300,"energy_j":690,"rounds":[{"duration_s":8,"dirty_mb":320,"sent_mb":800,"skipped_mb":0}]}`
	r, err := DecodeRecord([]byte(good))
	require.NoError(t, err)
	assert.Equal(t, "web1", r.VM)
	require.NotNil(t, r.EnergyJ)
	assert.Equal(t, 690.0, *r.EnergyJ)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	r2, err := DecodeRecord(b)
	require.NoError(t, err)
	assert.Equal(t, r, r2)

	for _, bad := range []string{
		``, `{}`, `[]`, `{"vm":"a"}`,
		`{"vm":"a","profile":"xen","ram_mb":0,"rate_mb_s":1}`,
		`{"vm":"a","profile":"hyperv","ram_mb":1,"rate_mb_s":1}`,
		`{"vm":"a","profile":"xen","ram_mb":1,"rate_mb_s":1,"extra":1}`,
		`{"vm":"a","profile":"xen","ram_mb":1,"rate_mb_s":1} {}`,
		`{"vm":"a","profile":"xen","ram_mb":1,"rate_mb_s":1,"rounds":[{"duration_s":-1}]}`,
		`{"vm":"a","profile":"xen","ram_mb":1,"rate_mb_s":1,"energy_j":-3}`,
	} {
		_, err := DecodeRecord([]byte(bad))
		assert.ErrorIs(t, err, ErrInput, bad)
	}
	_, err = DecodeRecord([]byte(`{"vm":"a","profile":"qemu","ram_mb":1,"rate_mb_s":1}`))
	assert.NoError(t, err)
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"vm":"web1","profile":"xen","ram_mb":800,"dirty_rate_mb_s":40,"rate_mb_s":100,"total_time_s":12.5,"downtime_s":0.1,"traffic_mb":1300,"energy_j":690,"rounds":[{"duration_s":8,"dirty_mb":320,"sent_mb":800,"skipped_mb":0}]}`))
	f.Add([]byte(`{"vm":"a","profile":"qemu","ram_mb":1,"rate_mb_s":1}`))
	f.Add([]byte(`{"vm":"a","profile":"xen","ram_mb":1e308,"rate_mb_s":1e-308,"rounds":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := DecodeRecord(out)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
		if _, err := json.Marshal(r2); err != nil {
			t.Fatal(err)
		}
		// A valid record is something the fits can take without failing hard.
		_, _, _ = FitGamma([]Record{r})
		_, _, _ = FitEnergy([]Record{r, r2})
		if d, ok := MeanDirtyRate(r.Rounds); ok && d < 0 {
			t.Fatalf("mean dirty rate %v", d)
		}
	})
}

// testHost names the network host with the address a: an IP address, or a MAC
// address for a host known by it alone.
func testHost(a string) stats.HostID {
	if ip, err := netip.ParseAddr(a); err == nil {
		return stats.HostID{IP: ip}
	}
	mac, err := net.ParseMAC(a)
	if err != nil {
		panic("testHost: " + a + " is neither an IP nor a MAC address")
	}
	h, _ := stats.HostOf(mac, netip.Addr{})
	return h
}

// observeReading hands r to s, keeping only the error.
func observeReading(s *stats.Store, r stats.Reading) error {
	_, err := s.Observe(r)
	return err
}
