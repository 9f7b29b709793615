package sim

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/afps/trace"
)

// constant makes a trace of flows sending `size` bytes every `gap` from start to end.
type cflow struct {
	src, dst   string
	start, end time.Duration
	gap        time.Duration
	size       uint32
}

func synth(fs []cflow) *trace.Trace {
	t := &trace.Trace{}
	for i, f := range fs {
		t.Keys = append(t.Keys, trace.Key{Proto: 17, Src: netip.MustParseAddr(f.src), Dst: netip.MustParseAddr(f.dst), SPort: uint16(1000 + i), DPort: 5201})
		for at := f.start; at < f.end; at += f.gap {
			t.Packets = append(t.Packets, trace.Packet{Time: int64(at), Flow: int32(i), Bytes: f.size})
		}
	}
	trace.Sort(t)
	return t
}

func result(t *testing.T, rep *Report, alg string) Result {
	for _, r := range rep.Results {
		if r.Algorithm == alg {
			return r
		}
	}
	t.Fatalf("no %s", alg)
	return Result{}
}

// One flow at 1 MB/s for 10 s: the truth is 1 MB/s at every instant; fixed 1 s reads it
// at 1 s, 2 s, …, 11 s (its entry lives until 2 s after the last packet) and its final
// counters come by FLOW_REMOVED without a poll: 11 requests, and Eq. 20 is 0 because
// every reported rate is exact.
func TestReplayConstantFlow(t *testing.T) {
	tr := synth([]cflow{{"10.0.0.1", "10.0.0.2", 0, 10 * time.Second, time.Millisecond, 1000}})
	rep, err := Replay(tr, Config{Task: afps.Task{Kind: afps.LinkUtilization}, NoBatched: true})
	require.NoError(t, err)
	require.Len(t, rep.Truth, 90) // instants 1.0 … 9.9 s (window inside the trace)
	for _, x := range rep.Truth {
		require.InDelta(t, 1e6, x, 1)
	}
	fixed := result(t, rep, "fixed")
	assert.Equal(t, int64(11), fixed.Requests)
	assert.Equal(t, int64(11*296), fixed.Bytes)
	assert.InDelta(t, 0, fixed.Error, 1e-3)
	// SWT on a steady flow: τ grows (1, 2, 4, 5 s) so it polls less, still exact.
	swt := result(t, rep, "swt")
	assert.Less(t, swt.Requests, fixed.Requests)
	assert.InDelta(t, 0, swt.Error, 1e-3)
	// PayLess starts at 250 ms and, over 1 MB per 1 s... its first intervals carry
	// 250 kB (between the thresholds): it keeps 250 ms.
	pl := result(t, rep, "payless")
	assert.Greater(t, pl.Requests, fixed.Requests)
}

// Eq. 20 on a stop: a flow that halts mid-trace while another keeps going is reported
// at its stale rate until a poll (or FLOW_REMOVED) says otherwise.
func TestReplayStopCostsLongIntervals(t *testing.T) {
	tr := synth([]cflow{
		{"10.0.0.1", "10.0.0.3", 0, 30 * time.Second, time.Millisecond, 1000},
		{"10.0.0.2", "10.0.0.4", 0, 15 * time.Second, time.Millisecond, 1000},
	})
	rep, err := Replay(tr, Config{Task: afps.Task{Kind: afps.LinkUtilization}, NoBatched: true})
	require.NoError(t, err)
	fixed, swt := result(t, rep, "fixed"), result(t, rep, "swt")
	assert.Greater(t, swt.Error, fixed.Error)
	assert.Less(t, swt.Requests, fixed.Requests)
}

// Matrix: one cell per host pair; heavy hitters: the true top-1 is the faster flow.
func TestReplayMatrixAndHeavy(t *testing.T) {
	tr := synth([]cflow{
		{"10.0.0.1", "10.0.0.3", 0, 10 * time.Second, time.Millisecond, 1000},
		{"10.0.0.1", "10.0.0.3", 0, 10 * time.Second, 2 * time.Millisecond, 1000},
		{"10.0.0.2", "10.0.0.4", 0, 10 * time.Second, 4 * time.Millisecond, 1000},
	})
	rep, err := Replay(tr, Config{Task: afps.Task{Kind: afps.Matrix}, NoBatched: true, Algorithms: []afps.Kind{afps.Fixed}})
	require.NoError(t, err)
	assert.InDelta(t, 0, rep.Results[0].Error, 1e-3)
	assert.InDelta(t, 1.75e6, rep.Truth[10], 1)
	rep, err = Replay(tr, Config{Task: afps.Task{Kind: afps.HeavyHitters, K: 1}, NoBatched: true, Algorithms: []afps.Kind{afps.Fixed}})
	require.NoError(t, err)
	assert.InDelta(t, 0, rep.Results[0].Error, 1e-9, "fixed finds the top flow at every instant")
}

// Batching on: with many flows due in the same tick on one switch a poll-all replaces
// their poll-singles, and the bytes fall.
func TestReplayBatched(t *testing.T) {
	var fs []cflow
	for i := range 20 {
		fs = append(fs, cflow{"10.0.0.1", "10.0.0.2", time.Duration(i) * time.Millisecond, 10 * time.Second, 10 * time.Millisecond, 100})
	}
	rep, err := Replay(synth(fs), Config{Task: afps.Task{Kind: afps.LinkUtilization}, Algorithms: []afps.Kind{afps.Fixed}, Tick: 50 * time.Millisecond})
	require.NoError(t, err)
	r := rep.Results[0]
	require.NotNil(t, r.Batched)
	assert.Positive(t, r.Batched.PollAlls)
	assert.Less(t, r.Batched.Bytes, r.Bytes)
	assert.Less(t, r.Batched.Requests, r.Requests)
}

func TestReplayBadInput(t *testing.T) {
	_, err := Replay(&trace.Trace{}, Config{})
	assert.ErrorIs(t, err, ErrBadConfig)
	tr := synth([]cflow{{"10.0.0.1", "10.0.0.2", 0, 500 * time.Millisecond, time.Millisecond, 1}})
	_, err = Replay(tr, Config{})
	assert.ErrorIs(t, err, ErrBadConfig, "shorter than a window")
	_, err = Replay(tr, Config{Step: -1})
	assert.ErrorIs(t, err, ErrBadConfig)
	_, err = Replay(tr, Config{Sampler: afps.Config{Min: -1}})
	assert.ErrorIs(t, err, afps.ErrBadConfig)
}

// BenchmarkReplay: a million packets of 2,000 flows through all five samplers (and the
// batched runs).
func BenchmarkReplay(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	t := &trace.Trace{}
	for i := range 2000 {
		t.Keys = append(t.Keys, trace.Key{Proto: 6, Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Dst: netip.MustParseAddr("10.1.0.1"), SPort: uint16(i), DPort: 80})
	}
	for i := range 1_000_000 {
		t.Packets = append(t.Packets, trace.Packet{Time: int64(i) * 120_000, Flow: int32(r.IntN(2000)), Bytes: uint32(64 + r.IntN(1400))})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay(t, Config{Task: afps.Task{Kind: afps.LinkUtilization}}); err != nil {
			b.Fatal(err)
		}
	}
}
