package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// trueFlow is a flow of the mixed-interval test with a known rate: from
// start to stop, base1 (base2 from switchAt on) plus amp·sin(ω·t + φ), in
// bits per second; 0 outside. Its counters are the exact integral.
type trueFlow struct {
	id              uint64
	src, dst        int // host index: host i sits at switch i+1
	start, stop     float64
	switchAt        float64
	base1, base2    float64
	amp, omega, phi float64
	every, offset   float64 // polling interval and phase, seconds
	giveInterval    bool    // the scheduler tells the store the interval
	last, lastSpan  float64 // time of the last reading and its span; last < 0 before
	lastPoll        float64 // the switch's time of the last reading (last less the reply delay)
	prev            float64 // time of the reading before the last
	readings        int
	next, lag       float64 // next poll; delay of its reply
	added           bool
	path            []Hop
}

func (f *trueFlow) rate(t float64) float64 {
	if t < f.start || t >= f.stop {
		return 0
	}
	b := f.base1
	if t >= f.switchAt {
		b = f.base2
	}
	return b + f.amp*math.Sin(f.omega*t+f.phi)
}

// bits returns the flow's traffic from its start to t.
func (f *trueFlow) bits(t float64) float64 {
	t = min(max(t, f.start), f.stop)
	flat := f.base1 * (min(t, f.switchAt) - f.start)
	if t > f.switchAt {
		flat = f.base1*(f.switchAt-f.start) + f.base2*(t-f.switchAt)
	}
	return flat + f.amp/f.omega*(math.Cos(f.omega*f.start+f.phi)-math.Cos(f.omega*t+f.phi))
}

// rateRange returns the lowest and highest true rate over [a, b].
func (f *trueFlow) rateRange(a, b float64) (lo, hi float64) {
	pts := []float64{a, b}
	for _, e := range []float64{f.start, f.stop, f.switchAt} { // both sides of a jump
		if e > a && e < b {
			pts = append(pts, e-1e-9, e)
		}
	}
	// critical points of the sine: ω·t + φ = π/2 + kπ
	for k := math.Ceil((f.omega*a + f.phi - math.Pi/2) / math.Pi); ; k++ {
		t := (math.Pi/2 + k*math.Pi - f.phi) / f.omega
		if t > b {
			break
		}
		if t >= a {
			pts = append(pts, t)
		}
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, t := range pts {
		r := f.rate(t)
		lo, hi = min(lo, r), max(hi, r)
	}
	return lo, hi
}

func secs(x float64) time.Time { return at(x) }

// TestMixedIntervals reads flows at very different intervals (some every
// 250 ms, some every 10 s), each at its own phase, some stopping without a
// word (their switch went away: no FLOW_REMOVED, no further reading), and
// checks at every 50 ms for a minute:
//
//   - no flow's rate counts in a link, matrix cell or host once its
//     staleness limit (three of its own intervals after its last reading)
//     has passed, and every rate within its limit does count: each
//     aggregate equals the sum the test makes of the flows it expects to
//     count;
//   - each link, matrix cell and host rate is within the error its flows
//     allow: the sum over its flows of each one's rate change over its own
//     interval up to now (the rate read is the mean over [last−span, last],
//     the truth is the rate now), which the slowest of them dominates;
//   - the snapshot is of one instant: its At is the check time and every
//     sum equals the sum of CurrentBps of its flows.
func TestMixedIntervals(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { mixedIntervals(t, seed) })
	}
}

func mixedIntervals(t *testing.T, seed uint64) {
	const (
		nHosts  = 4
		nFlows  = 24
		horizon = 60.0
		step    = 0.05
	)
	rng := rand.New(rand.NewPCG(seed, 42))
	s := newStore(t, Config{History: 8})
	cfg := s.Config()
	hosts := make([]HostID, nHosts)
	for i := range hosts {
		hosts[i] = h(fmt.Sprint("h", i))
	}
	pathOf := func(a, b int) []Hop {
		var p []Hop
		for i := a; ; {
			p = append(p, Hop{DPID: uint64(i + 1), InPort: 1, OutPort: 2})
			if i == b {
				break
			}
			if a < b {
				i++
			} else {
				i--
			}
		}
		p[0].InPort, p[len(p)-1].OutPort = 3, 3
		return p
	}
	flows := make([]*trueFlow, nFlows)
	for i := range flows {
		f := &trueFlow{id: uint64(i + 1), src: rng.IntN(nHosts), dst: rng.IntN(nHosts)}
		f.start = rng.Float64() * 5
		f.stop = math.Inf(1)
		if rng.IntN(3) == 0 {
			f.stop = 15 + rng.Float64()*30 // goes quiet: traffic and readings stop
		}
		f.switchAt = math.Inf(1)
		if rng.IntN(3) == 0 {
			f.switchAt = 10 + rng.Float64()*40
		}
		f.base1, f.base2 = 1e6*(1+rng.Float64()*100), 1e6*(1+rng.Float64()*100)
		f.amp = rng.Float64() * 0.9 * min(f.base1, f.base2)
		f.omega = 2 * math.Pi / (2 + rng.Float64()*40)
		f.phi = rng.Float64() * 2 * math.Pi
		if i%2 == 0 {
			f.every = 0.25
			f.giveInterval = rng.IntN(2) == 0
		} else {
			f.every = 10
			f.giveInterval = i%4 == 1 || i%4 == 3 // every slow flow's scheduler says so
		}
		f.offset = rng.Float64() * f.every
		f.next = f.start + f.offset
		f.last = -1
		f.path = pathOf(f.src, f.dst)
		f.lag = rng.Float64() * 0.004 // reply delay
		flows[i] = f
	}
	// limit is the test's own model of a flow's staleness limit: three of
	// its intervals after its last reading, the interval being the one given,
	// else the spacing of its last two readings, else Config.Interval.
	limit := func(f *trueFlow) float64 {
		iv := cfg.Interval.Seconds()
		switch {
		case f.giveInterval:
			iv = f.every
		case f.readings >= 2:
			iv = f.last - f.prev
		}
		return f.last + float64(cfg.StaleAfter)*iv
	}
	stale, counted := 0, 0
	for now := 0.0; now <= horizon; now += step {
		for _, f := range flows { // flows arrive
			if !f.added && f.start <= now {
				require.NoError(t, s.AddFlow(FlowInfo{ID: f.id, Src: hosts[f.src], Dst: hosts[f.dst], Path: f.path, Start: secs(f.start)}))
				f.added = true
			}
		}
		// apply the replies in by now, in time order across flows
		for {
			var due *trueFlow
			for _, f := range flows {
				if f.next+f.lag <= now && f.next < f.stop && (due == nil || f.next+f.lag < due.next+due.lag) {
					due = f
				}
			}
			if due == nil {
				break
			}
			f := due
			tr := f.next
			r := Reading{Flow: f.id, DPID: f.path[0].DPID, Bytes: uint64(f.bits(tr) / 8), Packets: uint64(f.bits(tr) / 8000),
				Duration: dur(tr - f.start), At: secs(tr + f.lag), Source: SourcePollSingle}
			if f.giveInterval {
				r.Interval = dur(f.every)
			}
			smp, err := s.Observe(r)
			require.NoError(t, err)
			require.Equal(t, f.id, smp.Flow)
			if f.readings == 0 {
				f.lastSpan = tr - f.start
			} else {
				f.lastSpan = tr - f.lastPoll
			}
			f.lastPoll = tr
			require.InDelta(t, f.lastSpan, smp.Span.Seconds(), 1e-6, "flow %d: span of the sample", f.id)
			f.prev, f.last = f.last, r.At.Sub(t0).Seconds()
			f.readings++
			f.next += f.every
		}
		s.Tick(secs(now))
		snap := s.Snapshot()
		require.True(t, snap.At.Equal(secs(now)), "snapshot at %v, ticked at %v", snap.At, secs(now))

		// What the test expects to count, and each aggregate's truth and bound.
		type agg struct{ want, truth, bound float64 }
		links, cells, sent, recv := map[Link]*agg{}, map[Pair]*agg{}, map[HostID]*agg{}, map[HostID]*agg{}
		get := func(m any, k any) *agg {
			switch m := m.(type) {
			case map[Link]*agg:
				if m[k.(Link)] == nil {
					m[k.(Link)] = &agg{}
				}
				return m[k.(Link)]
			case map[Pair]*agg:
				if m[k.(Pair)] == nil {
					m[k.(Pair)] = &agg{}
				}
				return m[k.(Pair)]
			case map[HostID]*agg:
				if m[k.(HostID)] == nil {
					m[k.(HostID)] = &agg{}
				}
				return m[k.(HostID)]
			}
			panic("unreachable")
		}
		byID := map[uint64]FlowStats{}
		for _, fs := range snap.Flows {
			byID[fs.ID] = fs
		}
		for _, f := range flows {
			if !f.added {
				continue
			}
			fs := byID[f.id]
			var want, bound float64
			truth := f.rate(now)
			if f.readings > 0 {
				lim := limit(f)
				require.True(t, fs.ValidUntil.Equal(secs(lim)) || math.Abs(fs.ValidUntil.Sub(secs(lim)).Seconds()) < 1e-6,
					"flow %d: valid until %v, the test's model says %v", f.id, fs.ValidUntil.Sub(t0), lim)
				if now >= lim {
					require.True(t, fs.Stale, "flow %d at %.2f: limit %.2f passed, not stale", f.id, now, lim)
					require.Zero(t, fs.CurrentBps(), "flow %d: a stale rate counts", f.id)
					stale++
					// a stale flow is one that went quiet: its truth is 0 too
					require.Zero(t, truth, "flow %d went stale while still sending", f.id)
				} else {
					require.False(t, fs.Stale, "flow %d at %.2f: stale before its limit %.2f", f.id, now, lim)
					want = fs.RateBps
					lo, hi := f.rateRange(f.lastPoll-f.lastSpan, now)
					bound = hi - lo
					counted++
				}
			}
			// a flow not yet read counts nothing; its truth goes into the error
			if f.readings == 0 {
				bound = truth
			}
			add := func(a *agg) { a.want += want; a.truth += truth; a.bound += bound }
			for _, l := range LinksOf(f.path) {
				add(get(links, l))
			}
			add(get(cells, Pair{hosts[f.src], hosts[f.dst]}))
			add(get(sent, hosts[f.src]))
			add(get(recv, hosts[f.dst]))
		}
		check := func(what string, got float64, a *agg) {
			t.Helper()
			if a == nil {
				a = &agg{}
			}
			tol := 1e-6*max(1, a.want) + 64/0.25 // byte rounding of the counters
			require.InDelta(t, a.want, got, tol, "%s at %.2f: rate %v, the flows it counts sum to %v", what, now, got, a.want)
			require.LessOrEqual(t, math.Abs(got-a.truth), a.bound+tol,
				"%s at %.2f: rate %v, truth %v, allowed error %v", what, now, got, a.truth, a.bound)
		}
		for _, ll := range snap.Links {
			require.True(t, ll.At.Equal(snap.At))
			check("link "+ll.Link.String(), ll.RateBps, links[ll.Link])
		}
		for _, m := range snap.Matrix {
			require.True(t, m.At.Equal(snap.At))
			check("cell "+m.Src.MACString()+"->"+m.Dst.MACString(), m.RateBps, cells[Pair{m.Src, m.Dst}])
		}
		for _, hs := range snap.Hosts {
			require.True(t, hs.At.Equal(snap.At))
			check("sent by "+hs.Host.MACString(), hs.SentBps, sent[hs.Host])
			check("received by "+hs.Host.MACString(), hs.ReceivedBps, recv[hs.Host])
		}
		require.Len(t, snap.Links, len(links))
	}
	// The run went through both regimes.
	require.Positive(t, stale, "no flow went stale")
	require.Positive(t, counted)
	slowCounted := slices.ContainsFunc(flows, func(f *trueFlow) bool { return f.every == 10 && f.readings >= 3 })
	require.True(t, slowCounted, "no slow flow read thrice")
}
