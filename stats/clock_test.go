package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStaleness walks one flow through the staleness rules: the default
// interval before its own is known, the learned spacing, the interval its
// scheduler gives (with a reading or SetInterval), a reply stale on arrival,
// and a new reading bringing the rate back.
func TestStaleness(t *testing.T) {
	s := newStore(t, Config{}) // Interval 1 s, StaleAfter 3
	l := Link{1, 2, 2, 1}
	must(t, s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b"), Path: line3, Start: at(0)}))
	rate := func() float64 { ll, _ := s.LinkLoad(l); return ll.RateBps }

	smp, err := s.Observe(Reading{Flow: 1, DPID: 1, Bytes: 1000, Duration: dur(1), At: at(1)})
	require.NoError(t, err)
	assert.Equal(t, FlowSample{Flow: 1, At: at(1), Bytes: 1000, NewBytes: 1000, RateBps: 8000, NewRate: true, Span: dur(1),
		Interval: time.Second, ValidUntil: at(4)}, smp)
	s.Tick(at(3.9))
	assert.InDelta(t, 8000, rate(), 1e-9, "within 3 default intervals")
	s.Tick(at(4))
	assert.Zero(t, rate(), "at its limit the rate no longer counts")
	f, _ := s.Flow(1)
	assert.True(t, f.Stale)
	assert.Equal(t, 8000.0, f.RateBps, "the last rate read stays readable")
	r, ok := s.FlowRate(1)
	assert.True(t, ok)
	assert.Zero(t, r)

	// A reading 9 s later: the learned interval is 9 s, valid for 27 s.
	smp, err = s.Observe(Reading{Flow: 1, DPID: 1, Bytes: 10000, Duration: dur(10), At: at(10)})
	require.NoError(t, err)
	assert.Equal(t, 9*time.Second, smp.Interval)
	assert.Equal(t, at(37), smp.ValidUntil)
	assert.InDelta(t, 8000, rate(), 1e-9, "a new reading brings the rate back")
	s.Tick(at(36.9))
	assert.InDelta(t, 8000, rate(), 1e-9)

	// The scheduler says 250 ms from now on: the limit comes in to 10.75 s,
	// which has passed.
	require.NoError(t, s.SetInterval(1, 250*time.Millisecond))
	assert.Zero(t, rate())
	f, _ = s.Flow(1)
	assert.Equal(t, 250*time.Millisecond, f.Interval)
	assert.Equal(t, at(10.75), f.ValidUntil)

	// A reply stamped long before the clock: its bytes count, its rate not.
	smp, err = s.Observe(Reading{Flow: 1, DPID: 1, Bytes: 12000, Duration: dur(11), At: at(11), Interval: time.Second})
	require.NoError(t, err)
	assert.Equal(t, at(14), smp.ValidUntil)
	assert.Zero(t, rate())
	ll, _ := s.LinkLoad(l)
	assert.Equal(t, uint64(12000), ll.Bytes)

	// Back in time: a reading within its limit counts again.
	smp, err = s.Observe(Reading{Flow: 1, DPID: 1, Bytes: 13000, Duration: dur(37), At: at(37), Interval: time.Second})
	require.NoError(t, err)
	assert.True(t, smp.ValidUntil.After(s.Now()))
	assert.InDelta(t, 8.0*1000/26, rate(), 1e-6)

	for _, tt := range []struct {
		id   uint64
		d    time.Duration
		want error
	}{{9, time.Second, ErrUnknownFlow}, {1, -time.Second, ErrBadInterval}} {
		assert.ErrorIs(t, s.SetInterval(tt.id, tt.d), tt.want)
	}
	must(t, s.End(1, at(38)))
	assert.ErrorIs(t, s.SetInterval(1, time.Second), ErrNotActive)
}

// TestStaleAgainstScan: random flows read at random spacings and given
// random intervals; after every step the sums equal a scan of the flows'
// current rates, and every flow is stale exactly when the clock has reached
// the limit its own readings and intervals give.
func TestStaleAgainstScan(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		s := newStore(t, Config{StaleAfter: 2, Interval: 500 * time.Millisecond})
		type model struct {
			last, prev time.Time
			given      time.Duration
			n          int
		}
		m := map[uint64]*model{}
		now := 0.0
		for id := uint64(1); id <= 20; id++ {
			must(t, s.AddFlow(FlowInfo{ID: id, Src: h("a"), Dst: h("b"), Path: line3[:1+rng.IntN(3)], Start: at(0)}))
			m[id] = &model{}
		}
		for step := 0; step < 300; step++ {
			now += rng.Float64() * 0.5
			id := uint64(1 + rng.IntN(20))
			r := Reading{Flow: id, DPID: 1, Bytes: uint64(step * 100), Duration: dur(now), At: at(now)}
			if rng.IntN(3) == 0 {
				r.Interval = time.Duration(1+rng.IntN(2000)) * time.Millisecond
			}
			_, err := s.Observe(r)
			require.NoError(t, err)
			md := m[id]
			md.prev, md.last = md.last, r.At
			md.n++
			if r.Interval > 0 {
				md.given = r.Interval
			}
			snap := s.Snapshot()
			for _, f := range snap.Flows {
				md := m[f.ID]
				if md.n == 0 {
					continue
				}
				iv := 500 * time.Millisecond
				switch {
				case md.given > 0:
					iv = md.given
				case md.n >= 2 && md.last.After(md.prev):
					iv = md.last.Sub(md.prev)
				}
				lim := md.last.Add(2 * iv)
				require.Equal(t, !snap.At.Before(lim), f.Stale, "seed %d step %d flow %d: limit %v, clock %v", seed, step, f.ID, lim, snap.At)
			}
			checkSnapshot(t, snap)
		}
	}
}

// checkSnapshot checks that the link, matrix and host sums of a snapshot
// are those of its flows' current rates.
func checkSnapshot(t *testing.T, snap Snapshot) {
	t.Helper()
	links, pairs, sent, recv := map[Link]float64{}, map[Pair]float64{}, map[HostID]float64{}, map[HostID]float64{}
	for _, f := range snap.Flows {
		for _, l := range LinksOf(f.Path) {
			links[l] += f.CurrentBps()
		}
		pairs[Pair{f.Src, f.Dst}] += f.CurrentBps()
		sent[f.Src] += f.CurrentBps()
		recv[f.Dst] += f.CurrentBps()
	}
	for _, ll := range snap.Links {
		require.InDelta(t, links[ll.Link], ll.RateBps, 1e-6*(1+links[ll.Link]), "link %v", ll.Link)
		require.Equal(t, snap.At, ll.At)
	}
	for _, c := range snap.Matrix {
		require.InDelta(t, pairs[Pair{c.Src, c.Dst}], c.RateBps, 1e-6*(1+c.RateBps), "cell %v", c)
	}
	for _, hs := range snap.Hosts {
		require.InDelta(t, sent[hs.Host], hs.SentBps, 1e-6*(1+hs.SentBps), "host %v", hs.Host)
		require.InDelta(t, recv[hs.Host], hs.ReceivedBps, 1e-6*(1+hs.ReceivedBps), "host %v", hs.Host)
	}
}

// TestSnapshotConcurrent takes snapshots while writers observe, tick and end
// flows: every snapshot is of one instant (sums equal its flows).
func TestSnapshotConcurrent(t *testing.T) {
	s := newStore(t, Config{History: 4})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				id := uint64(w*1000 + i)
				if err := s.AddFlow(FlowInfo{ID: id, Src: h("a"), Dst: h(string(rune('b' + w))), Path: line3, Start: at(0)}); err != nil {
					t.Error(err)
					return
				}
				sec := float64(i) / 10
				if _, err := s.Observe(Reading{Flow: id, DPID: 1, Bytes: uint64(100 * i), Duration: dur(sec + 1), At: at(sec + 1)}); err != nil {
					t.Error(err)
					return
				}
				s.Tick(at(sec + 1))
				if i%3 == 0 {
					_ = s.End(id, at(sec+1))
				}
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for n := 0; ; n++ {
		checkSnapshot(t, s.Snapshot())
		select {
		case <-done:
			checkSnapshot(t, s.Snapshot())
			return
		default:
		}
	}
}

// TestTickHistories: one sample per Tick whatever the readings, none for a
// Tick at or before the last one, and nothing older than Window.
func TestTickHistories(t *testing.T) {
	s := newStore(t, Config{History: 100, Window: 10 * time.Second})
	must(t, s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b"), Path: line3, Start: at(0)}))
	for i := 1; i <= 30; i++ {
		// three readings per second, one tick
		for k := 0; k < 3; k++ {
			sec := float64(i) + float64(k)/3
			must(t, obs(s, Reading{Flow: 1, DPID: 1, Bytes: uint64(sec * 1000), Duration: dur(sec), At: at(sec)}))
		}
		s.Tick(at(float64(i) + 0.9))
		s.Tick(at(float64(i) + 0.5)) // behind the clock: no sample
	}
	for name, hist := range map[string][]Sample{"link": s.LinkHistory(Link{1, 2, 2, 1}),
		"matrix": s.MatrixHistory(Pair{h("a"), h("b")}), "host": s.HostHistory(h("a"))} {
		require.Len(t, hist, 11, name) // 20.9 .. 30.9
		for k, smp := range hist {
			assert.Equal(t, at(20.9+float64(k)), smp.At, "%s sample %d", name, k)
		}
	}
	fh := s.FlowHistory(1)
	require.NotEmpty(t, fh)
	assert.False(t, fh[0].At.Before(at(30.9-10)), "flow history reaches back to %v", fh[0].At)
	assert.Equal(t, at(30+2.0/3), fh[len(fh)-1].At)
}

// TestSubscribe: a Tick with new figures notifies every subscriber once,
// notifications coalesce, a Tick with nothing new is silent, and a cancelled
// subscription hears nothing.
func TestSubscribe(t *testing.T) {
	s := newStore(t, Config{})
	a, cancelA := s.Subscribe()
	b, cancelB := s.Subscribe()
	defer cancelB()
	pending := func(ch <-chan struct{}) int {
		n := 0
		for {
			select {
			case <-ch:
				n++
			default:
				return n
			}
		}
	}
	must(t, s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b"), Path: line3, Start: at(0)}))
	for i := 1; i <= 5; i++ { // five ticks with news, nobody reading: never blocks
		must(t, obs(s, Reading{Flow: 1, DPID: 1, Bytes: uint64(i), Duration: dur(float64(i)), At: at(float64(i))}))
		s.Tick(at(float64(i)))
	}
	assert.Equal(t, 1, pending(a))
	assert.Equal(t, 1, pending(b))
	s.Tick(at(5.5))
	assert.Zero(t, pending(a), "nothing new")
	cancelA()
	cancelA()
	s.Tick(at(9)) // the rate goes stale: news
	assert.Zero(t, pending(a))
	assert.Equal(t, 1, pending(b))
}

// TestCapacity: a link's capacity is the configured one when set, else the
// smaller advertised speed of its ports, else the default.
func TestCapacity(t *testing.T) {
	l := Link{1, 2, 2, 1}
	speeds := map[PortKey]float64{{1, 2}: 1e10, {2, 1}: 1e8}
	tests := []struct {
		name   string
		cfg    float64
		speeds map[PortKey]float64
		want   float64
		src    CapacitySource
	}{
		{"nothing known", 0, nil, DefaultLinkCapacityBps, CapacityDefault},
		{"both ports: the slower", 0, speeds, 1e8, CapacityPort},
		{"source port only", 0, map[PortKey]float64{{1, 2}: 1e7}, 1e7, CapacityPort},
		{"destination port only", 0, map[PortKey]float64{{2, 1}: 1e9}, 1e9, CapacityPort},
		{"configured wins", 5e7, speeds, 5e7, CapacityConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, Config{LinkCapacityBps: tt.cfg})
			require.NoError(t, s.SetPortSpeeds(tt.speeds))
			must(t, s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b"), Path: line3, Start: at(0)}))
			must(t, obs(s, Reading{Flow: 1, DPID: 1, Bytes: 1_250_000, Duration: dur(1), At: at(1)})) // 10 Mbit/s
			ll, ok := s.LinkLoad(l)
			require.True(t, ok)
			assert.Equal(t, tt.want, ll.CapacityBps)
			assert.Equal(t, tt.src, ll.Capacity)
			assert.InDelta(t, 1e7/tt.want, ll.Utilization, 1e-12)
			free, ok := PathFreeBps(s, []Link{l, {9, 9, 9, 9}})
			assert.True(t, ok)
			assert.InDelta(t, max(tt.want-1e7, 0), free, 1e-6)
		})
	}
	s := newStore(t, Config{})
	err := s.SetPortSpeeds(map[PortKey]float64{{1, 1}: 1e9, {1, 2}: -1, {1, 3}: math.NaN()})
	assert.ErrorIs(t, err, ErrBadSpeed)
	assert.ErrorContains(t, err, "0000000000000001:2")
	assert.ErrorContains(t, err, "0000000000000001:3")
	s.AddLinks(Link{1, 1, 2, 1}, Link{1, 2, 2, 2})
	ll, _ := s.LinkLoad(Link{1, 1, 2, 1})
	assert.Equal(t, 1e9, ll.CapacityBps, "the good entry is taken")
	ll, _ = s.LinkLoad(Link{1, 2, 2, 2})
	assert.Equal(t, CapacityDefault, ll.Capacity, "the bad one is not")
	_, ok := PathFreeBps(s, []Link{{7, 7, 7, 7}})
	assert.False(t, ok)
	assert.Equal(t, "port", CapacityPort.String())
	assert.Equal(t, "CapacitySource(9)", CapacitySource(9).String())
}

func TestPortRatesList(t *testing.T) {
	s := newStore(t, Config{})
	for _, k := range []PortKey{{2, 1}, {1, 2}, {1, 1}} {
		must(t, s.ObservePort(PortReading{DPID: k.DPID, Port: k.Port, At: at(0)}))
		must(t, s.ObservePort(PortReading{DPID: k.DPID, Port: k.Port, TxBytes: 1000, At: at(1)}))
	}
	must(t, s.ObservePort(PortReading{DPID: 3, Port: 1, At: at(1)})) // one reading: no rate yet
	got := s.PortRates()
	require.Len(t, got, 3)
	for i, k := range []PortKey{{1, 1}, {1, 2}, {2, 1}} {
		assert.Equal(t, k, got[i].Port)
		assert.InDelta(t, 8000, got[i].TxBps, 1e-9)
	}
	assert.Equal(t, got, s.Snapshot().Ports)
}

func TestHostID(t *testing.T) {
	mac, _ := net.ParseMAC("00:00:00:00:00:01")
	ip, err := HostOf(mac, netip.MustParseAddr("::ffff:10.0.0.1"))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1", ip.String(), "an IPv4-mapped address is the IPv4 one")
	assert.Equal(t, "00:00:00:00:00:01", ip.MACString())
	l2, err := HostOf(mac, netip.Addr{})
	require.NoError(t, err)
	assert.Equal(t, "00:00:00:00:00:01", l2.String())
	txt, _ := ip.MarshalText()
	assert.Equal(t, "10.0.0.1", string(txt))
	assert.Negative(t, l2.Compare(ip), "hosts without an IP come first")
	other, _ := HostOf(net.HardwareAddr{0, 0, 0, 0, 0, 2}, netip.MustParseAddr("10.0.0.1"))
	assert.Negative(t, ip.Compare(other))
	assert.Zero(t, ip.Compare(ip))
	_, err = HostOf(net.HardwareAddr{1, 2}, netip.Addr{})
	assert.Error(t, err)
	for _, tt := range []struct {
		in   string
		want HostID
		bad  bool
	}{
		{"10.0.0.1", HostID{IP: netip.MustParseAddr("10.0.0.1")}, false},
		{"::ffff:10.0.0.1", HostID{IP: netip.MustParseAddr("10.0.0.1")}, false},
		{"2001:db8::1", HostID{IP: netip.MustParseAddr("2001:db8::1")}, false},
		{"00:00:00:00:00:01", HostID{MAC: [6]byte{5: 1}}, false},
		{"02-00-5e-10-00-00-00-01", HostID{}, true}, // EUI-64 MAC
		{"h1", HostID{}, true},
		{"", HostID{}, true},
	} {
		got, err := ParseHostID(tt.in)
		if tt.bad {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		back, err := ParseHostID(got.String())
		require.NoError(t, err)
		assert.Equal(t, got, back, "String and ParseHostID round-trip")
	}
	assert.False(t, errors.Is(err, ErrBadConfig))
}
