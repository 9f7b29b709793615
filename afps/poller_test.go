package afps

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/mcps"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestDueQueueAgainstScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q DueQueue
	ref := map[int32]int64{}
	for i := range 20000 {
		id := int32(r.IntN(300))
		switch r.IntN(4) {
		case 0, 1:
			d := int64(r.IntN(1000))
			q.Set(id, time.Unix(0, d))
			ref[id] = d
		case 2:
			_, had := ref[id]
			assert.Equal(t, had, q.Remove(id))
			delete(ref, id)
		case 3:
			now := int64(r.IntN(1000))
			got := q.PopDue(time.Unix(0, now), nil)
			for j := 1; j < len(got); j++ {
				require.LessOrEqual(t, ref[got[j-1]], ref[got[j]], "due order")
			}
			var want []int32
			for id, d := range ref {
				if d <= now {
					want = append(want, id)
					delete(ref, id)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			require.Equal(t, want, got, "step %d", i)
		}
		require.Equal(t, len(ref), q.Len())
		if n, ok := q.Next(); ok {
			m := int64(1 << 62)
			for _, d := range ref {
				m = min(m, d)
			}
			require.Equal(t, m, n.UnixNano())
		}
	}
}

// drive runs a poller with an executor that answers every poll at once, every tick,
// and returns for each flow the instants it was read.
func drive(t *testing.T, p *Poller, flows int, tick, span time.Duration, r *rand.Rand, check func(Plan)) map[uint64][]time.Time {
	reads := map[uint64][]time.Time{}
	bytes := map[uint64]uint64{}
	for now := t0; now.Before(t0.Add(span)); now = now.Add(tick) {
		for id := range bytes {
			bytes[id] += uint64(r.IntN(3) * r.IntN(100000))
		}
		plan := p.Due(now, nil)
		if check != nil {
			check(plan)
		}
		// A second call at the same instant finds nothing: the due flows are in flight.
		require.Empty(t, p.Due(now, nil).Polls)
		seen := map[uint64]bool{}
		for _, q := range plan.Polls {
			var ids []uint64
			if q.All {
				ids = p.FlowsOn(q.Switch, nil)
			} else {
				ids = []uint64{q.Flow}
			}
			for _, id := range q.Due {
				require.False(t, seen[id], "flow %d due twice in one tick", id)
				seen[id] = true
			}
			for _, id := range ids {
				if _, ok := bytes[id]; !ok {
					bytes[id] = 0
				}
				if p.OnReading(id, bytes[id], now) {
					if n := len(reads[id]); n == 0 || !reads[id][n-1].Equal(now) {
						reads[id] = append(reads[id], now)
					}
				}
			}
		}
		require.Equal(t, plan.Due, len(seen), "every due flow is read by exactly one poll")
	}
	return reads
}

// No flow starves: with an executor that answers, every watched flow is read at least
// every τ_max (plus one tick), whatever its sampler does; and no flow is due twice in
// one tick.
func TestPollerNoStarvationProperty(t *testing.T) {
	for _, k := range Kinds() {
		for _, batch := range []bool{false, true} {
			r := rand.New(rand.NewPCG(uint64(k), 9))
			p, err := NewPoller(PollerConfig{Sampler: Config{Kind: k}, Batch: batch, Network: mcps.Network{Switches: 4}})
			require.NoError(t, err)
			const n = 60
			for i := range n {
				path := []int32{int32(r.IntN(4))}
				if r.IntN(2) == 0 {
					path = append(path, (path[0]+1)%4)
				}
				require.NoError(t, p.Watch(uint64(i), path, t0))
			}
			tick := 50 * time.Millisecond
			span := 40 * time.Second
			reads := drive(t, p, n, tick, span, r, nil)
			for i := range n {
				rs := reads[uint64(i)]
				require.NotEmpty(t, rs, "%v batch=%v: flow %d never read", k, batch, i)
				prev := t0
				for _, at := range append(rs, t0.Add(span-tick)) {
					require.LessOrEqual(t, at.Sub(prev), DefaultMax+tick, "%v batch=%v: flow %d starved", k, batch, i)
					prev = at
				}
			}
		}
	}
}

// A poll-all is chosen exactly when the cost model says it is cheaper: with every flow
// on one switch, switch s gets a poll-all iff h(s)·c_all(entries) < k·h(s)·c_one.
func TestPollerPollAllExactlyWhenCheaper(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	models := []mcps.CostModel{mcps.PaperCost, mcps.WireCost{MSS: 1448}}
	for trial := range 300 {
		ns := 1 + r.IntN(5)
		net := mcps.Network{Switches: ns, Cost: models[trial%2]}
		if trial%3 == 0 {
			net.Deployment = mcps.InBand
			row := make([]int32, ns)
			for s := range row {
				row[s] = int32(1 + r.IntN(4))
			}
			net.Hops = [][]int32{row}
		}
		p, err := NewPoller(PollerConfig{Sampler: Config{Kind: Fixed}, Batch: true, Network: net})
		require.NoError(t, err)
		entries := make([]int, ns)
		due := make([]int, ns)
		id := uint64(0)
		for s := range ns {
			entries[s] = r.IntN(40)
			w := r.IntN(12)
			for j := range w {
				start := t0
				if j%3 == 2 {
					start = t0.Add(time.Second) // not due yet
				} else {
					due[s]++
				}
				require.NoError(t, p.Watch(id, []int32{int32(s)}, start))
				id++
			}
			entries[s] = max(entries[s], w)
		}
		plan := p.Due(t0.Add(time.Second), func(s int32) int { return entries[s] })
		var total int64
		for _, q := range plan.Polls {
			total += q.Bytes
			if q.All {
				all, one := p.SwitchCost(q.Switch, entries[q.Switch])
				assert.Less(t, all, int64(due[q.Switch])*one, "trial %d switch %d", trial, q.Switch)
				assert.Len(t, q.Due, due[q.Switch])
				due[q.Switch] = -1 // marks: poll-all chosen
			}
		}
		for s := range ns {
			if due[s] < 0 {
				continue
			}
			all, one := p.SwitchCost(int32(s), entries[s])
			if due[s] >= 2 {
				assert.GreaterOrEqual(t, all, int64(due[s])*one, "trial %d: switch %d should have had a poll-all", trial, s)
			}
		}
		assert.Equal(t, plan.Bytes, total)
		assert.LessOrEqual(t, plan.Bytes, plan.SinglesBytes)
	}
}

// With flows crossing several switches, batching never costs more than the
// poll-singles and no chosen poll-all could be dropped for less (each is needed and
// pays for itself); a flow's poll-single goes to its switch with the fewest hops.
func TestPollerBatchMultiSwitch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		ns := 2 + r.IntN(5)
		row := make([]int32, ns)
		for s := range row {
			row[s] = int32(1 + r.IntN(3))
		}
		net := mcps.Network{Switches: ns, Deployment: mcps.InBand, Hops: [][]int32{row}}
		p, err := NewPoller(PollerConfig{Sampler: Config{Kind: Fixed}, Batch: true, Network: net})
		require.NoError(t, err)
		nf := 1 + r.IntN(30)
		paths := map[uint64][]int32{}
		for i := range nf {
			a := int32(r.IntN(ns))
			path := []int32{a}
			for len(path) < 1+r.IntN(3) {
				b := int32(r.IntN(ns))
				if !slices.Contains(path, b) {
					path = append(path, b)
				}
			}
			paths[uint64(i)] = path
			require.NoError(t, p.Watch(uint64(i), path, t0))
		}
		plan := p.Due(t0.Add(time.Second), nil)
		require.Equal(t, nf, plan.Due)
		require.LessOrEqual(t, plan.Bytes, plan.SinglesBytes)
		chosen := map[int32]bool{}
		covered := map[uint64]int{}
		for _, q := range plan.Polls {
			if q.All {
				chosen[q.Switch] = true
				for _, id := range p.FlowsOn(q.Switch, nil) {
					covered[id]++
				}
			} else {
				for _, s := range paths[q.Flow] {
					require.GreaterOrEqual(t, row[s], row[q.Switch], "poll-single not at the cheapest switch")
				}
				covered[q.Flow]++
			}
		}
		for i := range nf {
			require.Positive(t, covered[uint64(i)], "flow %d not read", i)
		}
		for s := range chosen {
			all, one := p.SwitchCost(s, len(p.FlowsOn(s, nil)))
			_ = one
			var only int64 // the singles needed if s were dropped
			for _, id := range p.FlowsOn(s, nil) {
				other := false
				for _, s2 := range paths[id] {
					if s2 != s && chosen[s2] {
						other = true
					}
				}
				if !other {
					best := int64(1 << 62)
					for _, s2 := range paths[id] {
						_, o := p.SwitchCost(s2, 0)
						best = min(best, o)
					}
					only += best
				}
			}
			assert.Less(t, all, only, "trial %d: poll-all at %d does not pay for itself", trial, s)
		}
	}
}

// A flow read by another poll this tick (an MCPS poll-all) is not polled; a flow whose
// counters came by FLOW_REMOVED is never polled again.
func TestPollerReadElsewhereAndExpire(t *testing.T) {
	p, err := NewPoller(PollerConfig{Sampler: Config{Kind: Fixed}})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, p.Watch(uint64(i), []int32{0}, t0))
	}
	now := t0.Add(time.Second)
	assert.True(t, p.OnReading(0, 1000, now)) // an MCPS poll-all read flow 0 this tick
	rate, err := p.Expire(1, 4000, now.Add(-500*time.Millisecond))
	require.NoError(t, err)
	assert.InDelta(t, 8000, rate, 1e-9)
	plan := p.Due(now, nil)
	require.Len(t, plan.Polls, 1)
	assert.Equal(t, uint64(2), plan.Polls[0].Flow)
	r, ok := p.Rate(0)
	assert.True(t, ok)
	assert.InDelta(t, 1000, r, 1e-9)
	// A second reading at the same instant changes nothing.
	assert.True(t, p.OnReading(0, 5000, now))
	r, _ = p.Rate(0)
	assert.InDelta(t, 1000, r, 1e-9)
	assert.False(t, p.OnReading(1, 1, now), "expired flows are gone")
	assert.Equal(t, 2, p.Len())
	_, err = p.Expire(1, 0, now)
	assert.ErrorIs(t, err, ErrUnknownFlow)
	assert.ErrorIs(t, p.Watch(0, []int32{0}, now), ErrDuplicate)
	assert.ErrorIs(t, p.Watch(9, nil, now), ErrBadConfig)
	assert.ErrorIs(t, p.Watch(9, []int32{3}, now), ErrBadConfig)
	// Lost polls are retried τ_min later.
	p.OnLost(2, now)
	d, ok := p.DueAt(2)
	assert.True(t, ok)
	assert.Equal(t, now.Add(DefaultMin), d)
}

func TestPollerForgetKeepsIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	p, err := NewPoller(PollerConfig{Network: mcps.Network{Switches: 3}})
	require.NoError(t, err)
	want := map[int32]map[uint64]bool{0: {}, 1: {}, 2: {}}
	for i := range 2000 {
		id := uint64(r.IntN(100))
		if _, ok := p.slotOf[id]; ok {
			p.Forget(id)
			for _, m := range want {
				delete(m, id)
			}
		} else {
			path := []int32{int32(r.IntN(3))}
			if r.IntN(2) == 0 {
				path = append(path, (path[0]+1)%3)
			}
			require.NoError(t, p.Watch(id, path, t0))
			for _, s := range path {
				want[s][id] = true
			}
		}
		if i%50 == 0 {
			for s, m := range want {
				got := p.FlowsOn(s, nil)
				require.Len(t, got, len(m))
				for _, id := range got {
					require.True(t, m[id])
				}
			}
		}
	}
}

func TestPollerConfigValidate(t *testing.T) {
	_, err := NewPoller(PollerConfig{Network: mcps.Network{Switches: 2, Deployment: mcps.InBand}})
	assert.ErrorIs(t, err, mcps.ErrBadNetwork)
	_, err = NewPoller(PollerConfig{Sampler: Config{Min: -1}})
	assert.ErrorIs(t, err, ErrBadConfig)
}

func TestPollerAddSwitch(t *testing.T) {
	p, err := NewPoller(PollerConfig{Network: mcps.Network{Switches: 1, Deployment: mcps.InBand, Hops: [][]int32{{1}}}})
	require.NoError(t, err)
	s, err := p.AddSwitch(3)
	require.NoError(t, err)
	assert.Equal(t, int32(1), s)
	assert.Equal(t, 2, p.Switches())
	all, one := p.SwitchCost(s, 4)
	assert.Equal(t, 3*mcps.PaperCost.PollAll(4), all)
	assert.Equal(t, 3*mcps.PaperCost.PollSingle(), one)
	require.NoError(t, p.Watch(1, []int32{0, 1}, t0))
	plan := p.Due(t0.Add(time.Second), nil)
	require.Len(t, plan.Polls, 1)
	assert.Equal(t, int32(0), plan.Polls[0].Switch, "the switch with fewer hops")
	_, err = p.AddSwitch(mcps.MaxHops + 1)
	assert.ErrorIs(t, err, ErrBadConfig)
}

// A poll whose reply never comes does not strand its flow: it is due again one
// interval later.
func TestPollerNoReplyRetried(t *testing.T) {
	p, err := NewPoller(PollerConfig{Sampler: Config{Kind: Fixed}})
	require.NoError(t, err)
	require.NoError(t, p.Watch(7, []int32{0}, t0))
	now := t0.Add(time.Second)
	require.Len(t, p.Due(now, nil).Polls, 1)
	assert.Empty(t, p.Due(now.Add(999*time.Millisecond), nil).Polls)
	require.Len(t, p.Due(now.Add(time.Second), nil).Polls, 1)
}

// The interval runs from the poll, not from its reply: a 1 s fixed flow polled at
// 250 ms ticks whose replies take 40 ms is polled every second, not every 1.25 s.
func TestPollerIntervalFromThePoll(t *testing.T) {
	p, err := NewPoller(PollerConfig{Sampler: Config{Kind: Fixed}})
	require.NoError(t, err)
	require.NoError(t, p.Watch(7, []int32{0}, t0))
	const tick, rtt = 250 * time.Millisecond, 40 * time.Millisecond
	var polls []time.Time
	bytes := uint64(0)
	for now := t0; now.Before(t0.Add(10 * time.Second)); now = now.Add(tick) {
		if len(p.Due(now, nil).Polls) == 1 {
			polls = append(polls, now)
			bytes += 1000
			require.True(t, p.OnReading(7, bytes, now.Add(rtt)))
		}
	}
	require.Len(t, polls, 9) // at 1 s, 2 s, ... 9 s
	for i := 1; i < len(polls); i++ {
		assert.Equal(t, time.Second, polls[i].Sub(polls[i-1]), "poll %d", i)
	}
	// A reading without a poll of its own (an MCPS poll-all) schedules from itself.
	at := polls[len(polls)-1].Add(300 * time.Millisecond)
	require.True(t, p.OnReading(7, bytes+500, at))
	d, ok := p.DueAt(7)
	require.True(t, ok)
	assert.Equal(t, at.Add(time.Second), d)
	// So does a reply that comes only after the poll's next due time: due at once.
	require.Len(t, p.Due(d, nil).Polls, 1)
	late := d.Add(1500 * time.Millisecond)
	require.True(t, p.OnReading(7, bytes+900, late))
	d2, _ := p.DueAt(7)
	assert.Equal(t, d.Add(time.Second), d2)
	assert.True(t, d2.Before(late), "due again at once")
}

// DueBy takes a flow due a hair after a late tick at that tick, and its next interval
// runs from it: the ticker's jitter does not make the flow a whole tick late.
func TestPollerDueByTickJitter(t *testing.T) {
	p, err := NewPoller(PollerConfig{Sampler: Config{Kind: Fixed}})
	require.NoError(t, err)
	require.NoError(t, p.Watch(7, []int32{0}, t0))
	// Due at t0+1s; the tick comes 3 ms early.
	tick := t0.Add(time.Second - 3*time.Millisecond)
	assert.Empty(t, p.Due(tick, nil).Polls)
	plan := p.DueBy(tick, tick.Add(125*time.Millisecond), nil)
	require.Len(t, plan.Polls, 1)
	require.True(t, p.OnReading(7, 1000, tick.Add(40*time.Millisecond)))
	d, ok := p.DueAt(7)
	require.True(t, ok)
	assert.Equal(t, tick.Add(time.Second), d)
	// by before now is now.
	assert.Empty(t, p.DueBy(tick.Add(500*time.Millisecond), tick, nil).Polls)
}
