package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func dur(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }

// line3 is a path h1 - s1 - s2 - s3 - h2; entries use port 1 towards h1 and
// port 2 towards h2.
var line3 = []Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 2}, {DPID: 3, InPort: 1, OutPort: 2}}

func newStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		bad  []string
	}{
		{"zero value", Config{}, nil},
		{"all set", Config{History: 3, LinkCapacityBps: 1e8, Retain: time.Second}, nil},
		{"negative history", Config{History: -1}, []string{"History"}},
		{"history beyond MaxHistory", Config{History: MaxHistory + 1}, []string{"History"}},
		{"history at MaxHistory", Config{History: MaxHistory}, nil},
		{"NaN capacity", Config{LinkCapacityBps: math.NaN()}, []string{"LinkCapacityBps"}},
		{"negative window", Config{Window: -time.Second}, []string{"Window"}},
		{"negative StaleAfter", Config{StaleAfter: -1}, []string{"StaleAfter"}},
		{"negative interval", Config{Interval: -time.Millisecond}, []string{"Interval"}},
		{"everything wrong", Config{History: -1, LinkCapacityBps: -5, Retain: -time.Second, Window: -1, StaleAfter: -1, Interval: -1},
			[]string{"History", "LinkCapacityBps", "Retain", "Window", "StaleAfter", "Interval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.bad) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("Validate() = %v, want ErrBadConfig", err)
			}
			for _, f := range tt.bad {
				if !contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted a bad config")
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestSourceString(t *testing.T) {
	for s, want := range map[Source]string{SourcePollAll: "poll-all", SourcePollSingle: "poll-single",
		SourceFlowRemoved: "flow-removed", SourceUnknown: "unknown", Source(9): "Source(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", s, got, want)
		}
	}
}

// TestFlowRates checks the rate and counter rules of the package doc, one
// sequence of readings per row.
func TestFlowRates(t *testing.T) {
	type want struct {
		bytes, packets uint64
		rate           float64
		resets         int
	}
	tests := []struct {
		name     string
		readings []Reading
		want     want
	}{
		{
			name:     "first reading: counter over entry age",
			readings: []Reading{{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(2), At: at(2)}},
			want:     want{1000, 10, 4000, 0},
		},
		{
			name:     "first reading without duration: no rate yet",
			readings: []Reading{{DPID: 1, Bytes: 1000, Packets: 10, At: at(2)}},
			want:     want{1000, 10, 0, 0},
		},
		{
			name: "same switch: duration delta, not arrival times",
			readings: []Reading{
				{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(1)},
				// reply arrived 0.5 s late; the switch's clock says 1 s passed
				{DPID: 1, Bytes: 2000, Packets: 20, Duration: dur(2), At: at(2.5)},
			},
			want: want{2000, 20, 8000, 0},
		},
		{
			name: "same switch without durations: arrival times",
			readings: []Reading{
				{DPID: 1, Bytes: 1000, Packets: 10, At: at(1)},
				{DPID: 1, Bytes: 3000, Packets: 30, At: at(3)},
			},
			want: want{3000, 30, 8000, 0},
		},
		{
			name: "bytes went down: reset, new entry's bytes are new traffic",
			readings: []Reading{
				{DPID: 1, Bytes: 5000, Packets: 50, Duration: dur(5), At: at(5)},
				{DPID: 1, Bytes: 500, Packets: 5, Duration: dur(1), At: at(6)},
			},
			want: want{5500, 55, 4000, 1},
		},
		{
			name: "duration went down with more bytes: still a reset",
			readings: []Reading{
				{DPID: 1, Bytes: 100, Packets: 1, Duration: dur(5), At: at(5)},
				{DPID: 1, Bytes: 400, Packets: 4, Duration: dur(2), At: at(6)},
			},
			want: want{500, 5, 1600, 1},
		},
		{
			name: "other switch counting more: difference over arrival times",
			readings: []Reading{
				{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(1)},
				{DPID: 2, Bytes: 3000, Packets: 30, Duration: dur(2.9), At: at(3)},
			},
			want: want{3000, 30, 8000, 0},
		},
		{
			name: "other switch counting less: rebase, rate stands",
			readings: []Reading{
				{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(1)},
				{DPID: 2, Bytes: 900, Packets: 9, Duration: dur(1), At: at(1.5)},
				{DPID: 2, Bytes: 1900, Packets: 19, Duration: dur(2), At: at(2.5)},
			},
			// no reset: the total is the polled entry's counter
			want: want{1900, 19, 8000, 0},
		},
		{
			name: "polls alternating between switches counting differently: no packet counted twice",
			readings: []Reading{
				{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(1)},
				{DPID: 2, Bytes: 990, Packets: 9, Duration: dur(1), At: at(1.1)},
				{DPID: 1, Bytes: 2000, Packets: 20, Duration: dur(2), At: at(2)},
				{DPID: 2, Bytes: 1990, Packets: 19, Duration: dur(2), At: at(2.1)},
				{DPID: 1, Bytes: 3000, Packets: 30, Duration: dur(3), At: at(3)},
			},
			want: want{3000, 30, 1010 * 8 / 0.9, 0},
		},
		{
			name: "entry re-installed at a switch other than the last one read: new epoch",
			readings: []Reading{
				{DPID: 2, Bytes: 5000, Packets: 50, Duration: dur(5), At: at(5)},
				{DPID: 1, Bytes: 100, Packets: 1, Duration: dur(0.5), At: at(6)},
				{DPID: 1, Bytes: 600, Packets: 6, Duration: dur(1.5), At: at(7)},
			},
			want: want{5600, 56, 4000, 1},
		},
		{
			name: "younger entry at another switch counting more: new epoch, not a difference",
			readings: []Reading{
				{DPID: 2, Bytes: 100, Packets: 1, Duration: dur(10), At: at(10)},
				{DPID: 1, Bytes: 200, Packets: 2, Duration: dur(1), At: at(11)},
			},
			want: want{300, 3, 1600, 1},
		},
		{
			name: "reset then more traffic: the new epoch counts from its own counter",
			readings: []Reading{
				{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(5), At: at(5)},
				{DPID: 1, Bytes: 200, Packets: 2, Duration: dur(1), At: at(6)},
				{DPID: 1, Bytes: 600, Packets: 6, Duration: dur(2), At: at(7)},
			},
			want: want{1600, 16, 3200, 1},
		},
		{
			name: "same time twice: counters move, rate kept",
			readings: []Reading{
				{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(1)},
				{DPID: 1, Bytes: 1200, Packets: 12, Duration: dur(1), At: at(1)},
			},
			want: want{1200, 12, 8000, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, Config{})
			if err := s.AddFlow(FlowInfo{ID: 7, Src: h("h1"), Dst: h("h2"), Path: line3, Start: t0}); err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.readings {
				r.Flow = 7
				r.Source = SourcePollSingle
				if err := obs(s, r); err != nil {
					t.Fatalf("Observe(%+v) = %v", r, err)
				}
			}
			f, ok := s.Flow(7)
			if !ok {
				t.Fatal("flow missing")
			}
			got := want{f.Bytes, f.Packets, f.RateBps, f.Resets}
			if got.bytes != tt.want.bytes || got.packets != tt.want.packets || got.resets != tt.want.resets ||
				math.Abs(got.rate-tt.want.rate) > 1e-6 {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			last := tt.readings[len(tt.readings)-1]
			if f.LastPolled != last.At || f.DPID != last.DPID || f.Source != SourcePollSingle || f.Readings != len(tt.readings) {
				t.Errorf("last reading fields = %v %d %v %d", f.LastPolled, f.DPID, f.Source, f.Readings)
			}
			if h := s.FlowHistory(7); len(h) != len(tt.readings) || h[len(h)-1].Bytes != f.Bytes {
				t.Errorf("history = %+v", h)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	s := newStore(t, Config{})
	if err := s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b"), Path: line3}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"duplicate", func() error { return s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b")}) }, ErrDuplicateFlow},
		{"unknown observe", func() error { return obs(s, Reading{Flow: 2, At: at(1)}) }, ErrUnknownFlow},
		{"unknown remove", func() error { return s.Remove(Reading{Flow: 2, At: at(1)}) }, ErrUnknownFlow},
		{"unknown end", func() error { return s.End(2, at(1)) }, ErrUnknownFlow},
		{"no time", func() error { return obs(s, Reading{Flow: 1}) }, ErrNoTime},
		{"port no time", func() error { return s.ObservePort(PortReading{DPID: 1}) }, ErrNoTime},
		{"first ok", func() error { return obs(s, Reading{Flow: 1, DPID: 1, Bytes: 5, At: at(5)}) }, nil},
		{"out of order", func() error { return obs(s, Reading{Flow: 1, DPID: 1, Bytes: 9, At: at(4)}) }, ErrOutOfOrder},
		{"removed", func() error { return s.Remove(Reading{Flow: 1, DPID: 1, Bytes: 9, At: at(6)}) }, nil},
		{"observe after remove", func() error { return obs(s, Reading{Flow: 1, DPID: 1, Bytes: 9, At: at(7)}) }, ErrNotActive},
		{"remove twice", func() error { return s.Remove(Reading{Flow: 1, DPID: 2, Bytes: 9, At: at(7)}) }, ErrNotActive},
		{"end after remove", func() error { return s.End(1, at(8)) }, ErrNotActive},
		{"id reused after expiry", func() error { return s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("c")}) }, nil},
	}
	for _, tt := range tests {
		err := tt.do()
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if f, _ := s.Flow(1); f.Dst != h("c") || !f.Active || f.Bytes != 0 {
		t.Errorf("reused id kept old state: %+v", f)
	}
}

// TestAggregates checks link loads, the matrix and per-host traffic against
// hand-computed figures: two flows share link s2->s3.
func TestAggregates(t *testing.T) {
	s := newStore(t, Config{LinkCapacityBps: 1e5})
	// f1: h1 -> h3 over s1, s2, s3; f2: h2 -> h3 over s2, s3 (enters s2 on port 3).
	p2 := []Hop{{DPID: 2, InPort: 3, OutPort: 2}, {DPID: 3, InPort: 1, OutPort: 2}}
	must(t, s.AddFlow(FlowInfo{ID: 1, Src: h("h1"), Dst: h("h3"), Path: line3, Start: at(0)}))
	must(t, s.AddFlow(FlowInfo{ID: 2, Src: h("h2"), Dst: h("h3"), Path: p2, Start: at(0)}))
	must(t, obs(s, Reading{Flow: 1, DPID: 1, Bytes: 1000, Packets: 1, Duration: dur(1), At: at(1), Source: SourcePollAll}))
	must(t, obs(s, Reading{Flow: 2, DPID: 2, Bytes: 3000, Packets: 3, Duration: dur(1), At: at(1), Source: SourcePollAll}))

	s12 := Link{1, 2, 2, 1}
	s23 := Link{2, 2, 3, 1}
	wantLinks := map[Link]LinkLoad{
		s12: {Link: s12, RateBps: 8000, Utilization: 0.08, Bytes: 1000, Flows: 1},
		s23: {Link: s23, RateBps: 32000, Utilization: 0.32, Bytes: 4000, Flows: 2},
	}
	loads := s.LinkLoads()
	if len(loads) != len(wantLinks) {
		t.Fatalf("LinkLoads() = %+v", loads)
	}
	for _, ll := range loads {
		if w := wantLinks[ll.Link]; !near(ll.RateBps, w.RateBps) || !near(ll.Utilization, w.Utilization) || ll.Bytes != w.Bytes || ll.Flows != w.Flows || ll.HasPortRate {
			t.Errorf("link %v = %+v, want %+v", ll.Link, ll, w)
		}
	}
	wantMatrix := []MatrixEntry{{Src: h("h1"), Dst: h("h3"), RateBps: 8000, Bytes: 1000, Flows: 1}, {Src: h("h2"), Dst: h("h3"), RateBps: 24000, Bytes: 3000, Flows: 1}}
	if got := s.Matrix(); !sameMatrix(got, wantMatrix) {
		t.Errorf("Matrix() = %+v, want %+v", got, wantMatrix)
	}
	h3, _ := s.HostTraffic(h("h3"))
	if !near(h3.ReceivedBps, 32000) || h3.ReceivedBytes != 4000 || h3.FlowsIn != 2 || h3.SentBps != 0 {
		t.Errorf("h3 = %+v", h3)
	}

	// f2 ends with its final counters; its bytes stay counted, its rate goes.
	must(t, s.Remove(Reading{Flow: 2, DPID: 3, Bytes: 3500, Packets: 4, Duration: dur(1.5), At: at(1.5)}))
	ll, _ := s.LinkLoad(s23)
	if !near(ll.RateBps, 8000) || ll.Bytes != 4500 || ll.Flows != 1 {
		t.Errorf("after removal s2->s3 = %+v", ll)
	}
	if r, ok := s.FlowRate(2); !ok || r != 0 {
		t.Errorf("FlowRate(expired) = %v, %v", r, ok)
	}
	if a, e := s.FlowCounts(); a != 1 || e != 1 {
		t.Errorf("FlowCounts() = %d, %d; want 1, 1", a, e)
	}
	f2, _ := s.Flow(2)
	if f2.Active || f2.Source != SourceFlowRemoved || f2.Bytes != 3500 || f2.End != at(1.5) {
		t.Errorf("expired flow = %+v", f2)
	}
	must(t, s.End(1, at(2)))
	for _, ll := range s.LinkLoads() {
		if ll.RateBps != 0 || ll.Flows != 0 {
			t.Errorf("idle link %v = %+v", ll.Link, ll)
		}
	}
	for _, h := range s.Hosts() {
		if h.SentBps != 0 || h.ReceivedBps != 0 {
			t.Errorf("idle host %+v", h)
		}
	}

	// Retention: nothing goes before Retain has passed, everything after.
	if n := s.Prune(at(2)); n != 0 {
		t.Errorf("Prune too early dropped %d", n)
	}
	if n := s.Prune(at(2).Add(DefaultRetain + time.Second)); n != 2 {
		t.Errorf("Prune dropped %d flows, want 2", n)
	}
	if len(s.Matrix()) != 0 || len(s.Hosts()) != 0 || len(s.Flows()) != 0 {
		t.Errorf("Prune left %v %v %v", s.Matrix(), s.Hosts(), s.Flows())
	}
}

// TestBetweenPolls: a flow that starts and ends between two polls is counted
// from its FLOW_REMOVED alone.
func TestBetweenPolls(t *testing.T) {
	s := newStore(t, Config{})
	must(t, s.AddFlow(FlowInfo{ID: 9, Src: h("h1"), Dst: h("h2"), Path: line3, Start: at(0.1)}))
	must(t, s.Remove(Reading{Flow: 9, DPID: 1, Bytes: 4242, Packets: 3, Duration: dur(0.5), At: at(0.6)}))
	m := s.Matrix()
	if len(m) != 1 || m[0].Bytes != 4242 || m[0].RateBps != 0 {
		t.Errorf("Matrix() = %+v", m)
	}
	h1, _ := s.HostTraffic(h("h1"))
	if h1.SentBytes != 4242 {
		t.Errorf("h1 = %+v", h1)
	}
}

func TestPortRates(t *testing.T) {
	s := newStore(t, Config{LinkCapacityBps: 1e6})
	l := Link{1, 2, 2, 1}
	s.AddLinks(l)
	if ll, ok := s.LinkLoad(l); !ok || ll.HasPortRate || ll.Flows != 0 {
		t.Fatalf("known idle link = %+v, %v", ll, ok)
	}
	// Only the destination port is known: its receive rate stands in.
	must(t, s.ObservePort(PortReading{DPID: 2, Port: 1, RxBytes: 0, At: at(0)}))
	must(t, s.ObservePort(PortReading{DPID: 2, Port: 1, RxBytes: 2000, At: at(2)}))
	if ll, _ := s.LinkLoad(l); !ll.HasPortRate || !near(ll.PortRateBps, 8000) {
		t.Errorf("from rx: %+v", ll)
	}
	// Source port's transmit rate takes precedence.
	must(t, s.ObservePort(PortReading{DPID: 1, Port: 2, TxBytes: 100, At: at(0)}))
	must(t, s.ObservePort(PortReading{DPID: 1, Port: 2, TxBytes: 12600, At: at(1)}))
	if ll, _ := s.LinkLoad(l); !near(ll.PortRateBps, 100000) || !near(ll.PortUtilization, 0.1) {
		t.Errorf("from tx: %+v", ll)
	}
	// A counter reset invalidates until the next pair of readings.
	must(t, s.ObservePort(PortReading{DPID: 1, Port: 2, TxBytes: 10, At: at(2)}))
	if _, ok := s.PortRate(PortKey{1, 2}); ok {
		t.Error("rate still valid after a reset")
	}
	must(t, s.ObservePort(PortReading{DPID: 1, Port: 2, TxBytes: 1010, At: at(3)}))
	if pr, ok := s.PortRate(PortKey{1, 2}); !ok || !near(pr.TxBps, 8000) {
		t.Errorf("after reset: %+v %v", pr, ok)
	}
	if err := s.ObservePort(PortReading{DPID: 1, Port: 2, TxBytes: 2000, At: at(1)}); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("old port reading: %v", err)
	}
}

func TestHistoryBounded(t *testing.T) {
	s := newStore(t, Config{History: 4})
	must(t, s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b"), Path: line3}))
	for i := 1; i <= 10; i++ {
		must(t, obs(s, Reading{Flow: 1, DPID: 1, Bytes: uint64(i * 100), Duration: dur(float64(i)), At: at(float64(i))}))
		s.Tick(at(float64(i)))
	}
	for name, h := range map[string][]Sample{
		"flow": s.FlowHistory(1), "link": s.LinkHistory(Link{1, 2, 2, 1}),
		"matrix": s.MatrixHistory(Pair{h("a"), h("b")}), "host": s.HostHistory(h("a")),
	} {
		if len(h) != 4 {
			t.Fatalf("%s history has %d samples, want 4", name, len(h))
		}
		for i, smp := range h {
			if want := at(float64(7 + i)); !smp.At.Equal(want) || smp.Bytes != uint64((7+i)*100) {
				t.Errorf("%s history[%d] = %+v, want at %v", name, i, smp, want)
			}
		}
	}
	if s.FlowHistory(99) != nil || s.LinkHistory(Link{}) != nil {
		t.Error("history of unknown series not nil")
	}
}

func TestSeries(t *testing.T) {
	tests := []struct {
		cap, push int
		want      []int
	}{
		{0, 3, []int{}},
		{3, 0, []int{}},
		{3, 2, []int{0, 1}},
		{3, 3, []int{0, 1, 2}},
		{3, 4, []int{1, 2, 3}},
		{3, 7, []int{4, 5, 6}},
		{MaxHistory, 1, []int{0}},
		{1, 5, []int{4}},
	}
	for _, tt := range tests {
		var r series
		for i := 0; i < tt.push; i++ {
			r.push(Sample{At: at(float64(i)), Bytes: uint64(i)}, tt.cap)
		}
		got := r.slice()
		if len(got) != len(tt.want) {
			t.Errorf("cap %d push %d: %v, want %v", tt.cap, tt.push, got, tt.want)
			continue
		}
		for i := range got {
			if got[i].Bytes != uint64(tt.want[i]) {
				t.Errorf("cap %d push %d: %v, want %v", tt.cap, tt.push, got, tt.want)
				break
			}
		}
		last, ok := r.last()
		if ok != (len(tt.want) > 0) || ok && last.Bytes != uint64(tt.want[len(tt.want)-1]) {
			t.Errorf("cap %d push %d: last = %d, %v", tt.cap, tt.push, last.Bytes, ok)
		}
		if cap(r.get()) > 2*min(tt.push, tt.cap)+1 {
			t.Errorf("cap %d push %d: buffer of %d holds more than it needs", tt.cap, tt.push, cap(r.get()))
		}
	}
}

// TestSeriesWindow pushes samples one second apart into series of random
// limits, dropping those older than a random window after each push, and
// checks the series against the plain list of what should be left.
func TestSeriesWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 200; round++ {
		limit, window := 1+rng.IntN(8), 1+rng.IntN(10)
		var r series
		var ref []int
		for i := 0; i < 40; i++ {
			if rng.IntN(4) > 0 { // some seconds have no sample
				r.push(Sample{At: at(float64(i)), Bytes: uint64(i)}, limit)
				ref = append(ref, i)
				if len(ref) > limit {
					ref = ref[1:]
				}
			}
			r.dropBefore(at(float64(i - window)))
			for len(ref) > 0 && ref[0] < i-window {
				ref = ref[1:]
			}
			got := r.slice()
			if len(got) != len(ref) {
				t.Fatalf("limit %d window %d at %d: %v, want %v", limit, window, i, got, ref)
			}
			for k := range got {
				if got[k].Bytes != uint64(ref[k]) {
					t.Fatalf("limit %d window %d at %d: %v, want %v", limit, window, i, got, ref)
				}
			}
			if last, ok := r.last(); ok != (len(ref) > 0) || ok && last.Bytes != uint64(ref[len(ref)-1]) {
				t.Fatalf("limit %d window %d at %d: last %v %v, want %v", limit, window, i, last, ok, ref)
			}
			if len(r.get()) > limit {
				t.Fatalf("buffer of %d samples beyond the limit %d", len(r.get()), limit)
			}
		}
	}
}

// TestAggregatesAgainstScan drives random flows and readings and checks the
// incrementally kept link, matrix and host sums against a plain scan of
// the flows.
func TestAggregatesAgainstScan(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		s := newStore(t, Config{})
		hosts := []HostID{h("a"), h("b"), h("c"), h("d")}
		now := 0.0
		active := map[uint64]bool{}
		counters := map[uint64]uint64{}
		next := uint64(1)
		for step := 0; step < 400; step++ {
			now += rng.Float64()
			switch op := rng.IntN(10); {
			case op < 2 || len(active) == 0:
				n := 1 + rng.IntN(4)
				path := make([]Hop, n)
				for i := range path {
					path[i] = Hop{DPID: uint64(rng.IntN(5)), InPort: uint16(rng.IntN(3)), OutPort: uint16(rng.IntN(3))}
				}
				must(t, s.AddFlow(FlowInfo{ID: next, Src: hosts[rng.IntN(4)], Dst: hosts[rng.IntN(4)], Path: path, Start: at(now)}))
				active[next] = true
				next++
			case op < 3:
				id := pick(rng, active)
				counters[id] += uint64(rng.IntN(5000))
				must(t, s.Remove(Reading{Flow: id, DPID: uint64(rng.IntN(5)), Bytes: counters[id], At: at(now)}))
				delete(active, id)
			default:
				id := pick(rng, active)
				if rng.IntN(10) == 0 {
					counters[id] = 0 // re-installed
				}
				counters[id] += uint64(rng.IntN(5000))
				must(t, obs(s, Reading{Flow: id, DPID: uint64(rng.IntN(3)), Bytes: counters[id], Duration: dur(now), At: at(now)}))
			}
		}
		checkAgainstScan(t, s)
	}
}

func pick(rng *rand.Rand, set map[uint64]bool) uint64 {
	ids := make([]uint64, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	// map order is random; sort for a reproducible pick
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids[rng.IntN(len(ids))]
}

func checkAgainstScan(t *testing.T, s *Store) {
	t.Helper()
	links := map[Link]float64{}
	linkBytes := map[Link]uint64{}
	pairs := map[Pair]float64{}
	sent := map[HostID]float64{}
	sentBytes := map[HostID]uint64{}
	for _, f := range s.Flows() {
		for _, l := range LinksOf(f.Path) {
			linkBytes[l] += f.Bytes
			links[l] += f.CurrentBps()
		}
		sentBytes[f.Src] += f.Bytes
		pairs[Pair{f.Src, f.Dst}] += f.CurrentBps()
		sent[f.Src] += f.CurrentBps()
	}
	for _, ll := range s.LinkLoads() {
		if !near(ll.RateBps, links[ll.Link]) || ll.Bytes != linkBytes[ll.Link] {
			t.Errorf("link %v: %v bps %d B, scan %v bps %d B", ll.Link, ll.RateBps, ll.Bytes, links[ll.Link], linkBytes[ll.Link])
		}
	}
	for _, m := range s.Matrix() {
		if !near(m.RateBps, pairs[Pair{m.Src, m.Dst}]) {
			t.Errorf("pair %s->%s: %v, scan %v", m.Src, m.Dst, m.RateBps, pairs[Pair{m.Src, m.Dst}])
		}
	}
	for _, h := range s.Hosts() {
		if !near(h.SentBps, sent[h.Host]) || h.SentBytes != sentBytes[h.Host] {
			t.Errorf("host %s: %v %d, scan %v %d", h.Host, h.SentBps, h.SentBytes, sent[h.Host], sentBytes[h.Host])
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newStore(t, Config{History: 8})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := uint64(w*1000 + i)
				if err := s.AddFlow(FlowInfo{ID: id, Src: h("a"), Dst: h("b"), Path: line3}); err != nil {
					t.Error(err)
					return
				}
				if err := obs(s, Reading{Flow: id, DPID: 1, Bytes: 100, Duration: dur(1), At: at(1)}); err != nil {
					t.Error(err)
					return
				}
				_ = s.LinkLoads()
				_ = s.Matrix()
				if i%2 == 0 {
					if err := s.Remove(Reading{Flow: id, DPID: 1, Bytes: 200, At: at(2)}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	ll, _ := s.LinkLoad(Link{1, 2, 2, 1})
	if ll.Flows != 400 || ll.Bytes != 4*(100*100+100*200) || !near(ll.RateBps, 400*800) {
		t.Errorf("after concurrent use: %+v", ll)
	}
}

func TestFreeBps(t *testing.T) {
	s := newStore(t, Config{})
	must(t, s.AddFlow(FlowInfo{ID: 1, Src: h("a"), Dst: h("b"), Path: line3}))
	must(t, obs(s, Reading{Flow: 1, DPID: 1, Bytes: 12_500_000, Duration: dur(1), At: at(1)})) // 100 Mbit/s
	l12, l23 := Link{1, 2, 2, 1}, Link{2, 2, 3, 1}
	must(t, s.ObservePort(PortReading{DPID: 2, Port: 2, At: at(0)}))
	must(t, s.ObservePort(PortReading{DPID: 2, Port: 2, TxBytes: 37_500_000, At: at(1)})) // 300 Mbit/s seen on the port
	tests := []struct {
		name string
		path []Link
		want float64
	}{
		{"empty", nil, 1e9},
		{"flow rate", []Link{l12}, 9e8},
		{"port rate larger", []Link{l12, l23}, 7e8},
		{"unknown link idle", []Link{{9, 9, 9, 9}}, 1e9},
	}
	for _, tt := range tests {
		if got := FreeBps(s, tt.path, 1e9); !near(got, tt.want) {
			t.Errorf("%s: FreeBps = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := FreeBps(s, []Link{l23}, 1e8); got != 0 {
		t.Errorf("overloaded path: %v, want 0", got)
	}
}

func TestLinksOf(t *testing.T) {
	if LinksOf(nil) != nil || LinksOf(line3[:1]) != nil {
		t.Error("a path of fewer than two hops has links")
	}
	got := LinksOf(line3)
	want := []Link{{1, 2, 2, 1}, {2, 2, 3, 1}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("LinksOf = %v, want %v", got, want)
	}
	if got[0].String() != "0000000000000001:2->0000000000000002:1" {
		t.Errorf("String() = %s", got[0])
	}
}

// h names a test host: its MAC address spells the name.
func h(name string) HostID {
	var id HostID
	copy(id.MAC[:], name)
	return id
}

// obs is Observe without the sample.
func obs(s *Store, r Reading) error {
	_, err := s.Observe(r)
	return err
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func sameMatrix(a, b []MatrixEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Src != b[i].Src || a[i].Dst != b[i].Dst || !near(a[i].RateBps, b[i].RateBps) || a[i].Bytes != b[i].Bytes || a[i].Flows != b[i].Flows {
			return false
		}
	}
	return true
}

// TestRemoveOrder checks that final counters end the flow and drop its rate
// from every aggregate whatever their time stamp says about the last poll, and
// that they never count traffic twice.
func TestRemoveOrder(t *testing.T) {
	tests := []struct {
		name      string
		polls     []Reading
		final     Reading
		wantBytes uint64
		wantRate  float64 // the flow's last rate
	}{
		{
			name:      "final after the last poll",
			polls:     []Reading{{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(1)}},
			final:     Reading{DPID: 1, Bytes: 1500, Packets: 15, Duration: dur(2), At: at(2)},
			wantBytes: 1500, wantRate: 4000,
		},
		{
			name:      "final stamped before a poll applied first",
			polls:     []Reading{{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(5)}},
			final:     Reading{DPID: 1, Bytes: 1500, Packets: 15, Duration: dur(2), At: at(4)},
			wantBytes: 1500, wantRate: 4000,
		},
		{
			name:      "final equal to the polled counters, stamped earlier",
			polls:     []Reading{{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(5)}},
			final:     Reading{DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(4)},
			wantBytes: 1000, wantRate: 8000,
		},
		{
			// the ingress entry went long before the flow's last entry: its
			// duration stops at its removal, not at the flow's end
			name:      "final of an ingress entry removed early, after polls at the egress",
			polls:     []Reading{{DPID: 3, Bytes: 1000, Packets: 10, Duration: dur(10), At: at(10)}},
			final:     Reading{DPID: 1, Bytes: 1010, Packets: 11, Duration: dur(5), At: at(20)},
			wantBytes: 1010, wantRate: 10 * 8 / 10.0,
		},
		{
			name:      "final from the ingress after polls at the egress that counted more",
			polls:     []Reading{{DPID: 3, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(5)}},
			final:     Reading{DPID: 1, Bytes: 990, Packets: 9, Duration: dur(1.5), At: at(4)},
			wantBytes: 1000, wantRate: 8000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, Config{})
			if err := s.AddFlow(FlowInfo{ID: 7, Src: h("h1"), Dst: h("h2"), Path: line3, Start: t0}); err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.polls {
				r.Flow = 7
				if err := obs(s, r); err != nil {
					t.Fatal(err)
				}
			}
			fin := tt.final
			fin.Flow = 7
			if err := s.Remove(fin); err != nil {
				t.Fatalf("Remove = %v", err)
			}
			f, _ := s.Flow(7)
			if f.Active || !f.End.Equal(tt.final.At) {
				t.Errorf("flow active=%v end=%v, want ended at %v", f.Active, f.End, tt.final.At)
			}
			if f.Bytes != tt.wantBytes || math.Abs(f.RateBps-tt.wantRate) > 1e-6 || math.IsNaN(f.RateBps) || f.RateBps < 0 {
				t.Errorf("bytes %d rate %v, want %d %v", f.Bytes, f.RateBps, tt.wantBytes, tt.wantRate)
			}
			for _, ll := range s.LinkLoads() {
				if ll.RateBps != 0 || ll.Flows != 0 || ll.Bytes != tt.wantBytes {
					t.Errorf("link %v: %+v, want no rate, no flow, %d bytes", ll.Link, ll, tt.wantBytes)
				}
			}
			for _, m := range s.Matrix() {
				if m.RateBps != 0 || m.Flows != 0 || m.Bytes != tt.wantBytes {
					t.Errorf("matrix %+v, want no rate, no flow, %d bytes", m, tt.wantBytes)
				}
			}
			for _, h := range s.Hosts() {
				if h.SentBps != 0 || h.ReceivedBps != 0 {
					t.Errorf("host %+v still has a rate", h)
				}
			}
			if err := s.Remove(fin); !errors.Is(err, ErrNotActive) {
				t.Errorf("second Remove = %v, want ErrNotActive", err)
			}
			if n := s.Prune(tt.final.At.Add(s.Config().Retain + time.Second)); n != 1 {
				t.Errorf("Prune dropped %d flows, want 1", n)
			}
		})
	}
}

// TestPruneKeepsCellsOfRetainedFlows: a matrix cell and its hosts stay as
// long as the latest flow that touched them, even when the last flow to end
// was stamped earlier than another one's end.
func TestPruneKeepsCellsOfRetainedFlows(t *testing.T) {
	s := newStore(t, Config{Retain: 10 * time.Second})
	for id := uint64(1); id <= 2; id++ {
		if err := s.AddFlow(FlowInfo{ID: id, Src: h("h1"), Dst: h("h2"), Path: line3, Start: t0}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []error{
		obs(s, Reading{Flow: 1, DPID: 1, Bytes: 100, Packets: 1, Duration: dur(1), At: at(1)}),
		s.Remove(Reading{Flow: 2, DPID: 1, Bytes: 200, Packets: 2, Duration: dur(20), At: at(20)}),
		s.Remove(Reading{Flow: 1, DPID: 1, Bytes: 100, Packets: 1, Duration: dur(2), At: at(2)}),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	tests := []struct {
		name      string
		now       time.Time
		flows     int
		cellBytes uint64 // 0: no cell
		hosts     int
	}{
		{"before any retention ends", at(5), 2, 300, 2},
		{"flow 1 dropped, flow 2 and its cell kept", at(25), 1, 300, 2},
		{"all dropped", at(31), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Prune(tt.now)
			if n := len(s.Flows()); n != tt.flows {
				t.Errorf("%d flows, want %d", n, tt.flows)
			}
			m := s.Matrix()
			switch {
			case tt.cellBytes == 0 && len(m) != 0:
				t.Errorf("matrix = %+v, want empty", m)
			case tt.cellBytes != 0 && (len(m) != 1 || m[0].Bytes != tt.cellBytes):
				t.Errorf("matrix = %+v, want one cell of %d bytes", m, tt.cellBytes)
			}
			if n := len(s.Hosts()); n != tt.hosts {
				t.Errorf("%d hosts, want %d", n, tt.hosts)
			}
		})
	}
}

// TestCountsAcrossSwitchesProperty reads one flow at random switches of its
// path, each of which counts the flow's packets a little after the previous
// one (packets in flight), in random order of switches over increasing
// times. However the reads move along the path, the flow's total never goes
// down, never exceeds what the ingress counted, never lags it by more than
// the in-flight bound, and the link, matrix and host totals equal it.
func TestCountsAcrossSwitchesProperty(t *testing.T) {
	const lagMax = 3000 // bytes in flight between two consecutive switches
	for seed := uint64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		s := newStore(t, Config{})
		if err := s.AddFlow(FlowInfo{ID: 1, Src: h("h1"), Dst: h("h2"), Path: line3, Start: t0}); err != nil {
			t.Fatal(err)
		}
		var lastTotal uint64
		counters := make([]uint64, len(line3)) // never decrease; each at most its upstream's
		for step := 1; step <= 60; step++ {
			counters[0] += uint64(rng.IntN(10_000))
			for h := 1; h < len(counters); h++ { // each hop lags its upstream a little
				lag := min(uint64(rng.IntN(lagMax/len(line3))), counters[h-1])
				counters[h] = max(counters[h], counters[h-1]-lag)
			}
			ingress := counters[0]
			hop := rng.IntN(len(line3))
			counted := counters[hop]
			r := Reading{Flow: 1, DPID: line3[hop].DPID, Bytes: counted, Packets: counted / 100,
				Duration: dur(float64(step)), At: at(float64(step) + 0.01*float64(hop)), Source: SourcePollAll}
			if err := obs(s, r); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			f, _ := s.Flow(1)
			if f.Bytes < lastTotal || f.Bytes > ingress || ingress-f.Bytes > lagMax {
				t.Fatalf("seed %d step %d: total %d (was %d), ingress counted %d", seed, step, f.Bytes, lastTotal, ingress)
			}
			if f.RateBps < 0 || math.IsNaN(f.RateBps) || math.IsInf(f.RateBps, 0) || f.Resets != 0 {
				t.Fatalf("seed %d step %d: rate %v resets %d", seed, step, f.RateBps, f.Resets)
			}
			lastTotal = f.Bytes
			for _, ll := range s.LinkLoads() {
				if ll.Bytes != f.Bytes {
					t.Fatalf("seed %d step %d: link %v has %d bytes, flow %d", seed, step, ll.Link, ll.Bytes, f.Bytes)
				}
			}
			if m := s.Matrix(); len(m) != 1 || m[0].Bytes != f.Bytes {
				t.Fatalf("seed %d step %d: matrix %+v, flow %d", seed, step, m, f.Bytes)
			}
			if h, _ := s.HostTraffic(h("h1")); h.SentBytes != f.Bytes {
				t.Fatalf("seed %d step %d: h1 sent %d, flow %d", seed, step, h.SentBytes, f.Bytes)
			}
		}
	}
}

func TestForgetPorts(t *testing.T) {
	s := newStore(t, Config{})
	keys := []PortKey{{1, 1}, {1, 2}, {2, 1}}
	for _, k := range keys {
		for i, tx := range []uint64{0, 1000} {
			if err := s.ObservePort(PortReading{DPID: k.DPID, Port: k.Port, TxBytes: tx, At: at(float64(i + 1))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.AddLinks(Link{SrcDPID: 2, SrcPort: 1, DstDPID: 1, DstPort: 1})
	tests := []struct {
		name    string
		keep    func(PortKey) bool
		dropped int
		left    []PortKey
	}{
		{"keep all", func(PortKey) bool { return true }, 0, keys},
		{"switch 2 gone", func(k PortKey) bool { return k.DPID != 2 }, 1, keys[:2]},
		{"port 1:2 no longer listed", func(k PortKey) bool { return k != PortKey{1, 2} }, 1, keys[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := s.ForgetPorts(tt.keep); n != tt.dropped {
				t.Errorf("dropped %d, want %d", n, tt.dropped)
			}
			for _, k := range keys {
				_, ok := s.PortRate(k)
				if want := slices.Contains(tt.left, k); ok != want {
					t.Errorf("port %v known = %v, want %v", k, ok, want)
				}
			}
		})
	}
	// The link's source port is gone: its cross-check falls back to the
	// destination port's receive rate, which is zero here but measured.
	ll, _ := s.LinkLoad(Link{SrcDPID: 2, SrcPort: 1, DstDPID: 1, DstPort: 1})
	if !ll.HasPortRate || ll.PortRateBps != 0 {
		t.Errorf("link load %+v, want the destination port's rate", ll)
	}
}

// TestRecordSizes keeps the per-flow record in its 208-byte size class, a
// flow's history header at 24 bytes and a traffic-matrix cell in the 80-byte
// class: a million flows between random host pairs hold one of each.
func TestRecordSizes(t *testing.T) {
	if got := unsafe.Sizeof(flowState{}); got > 208 {
		t.Errorf("flowState is %d bytes, want at most 208", got)
	}
	if got := unsafe.Sizeof(series{}); got > 24 {
		t.Errorf("series is %d bytes, want at most 24", got)
	}
	if got := unsafe.Sizeof(pairState{}); got > 80 {
		t.Errorf("pairState is %d bytes, want at most 80", got)
	}
}

// TestObserveBatchAsObserve feeds the same readings to two stores, one by one
// through Observe and in runs through ObserveBatch: refusals (unknown, ended,
// out of order, no time), a flow twice in a run, resets and switches moving
// along the path, and rates going stale between runs. Every sample, every flow
// and every aggregate must come out the same.
func TestObserveBatchAsObserve(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		one, many := newStore(t, Config{History: 4}), newStore(t, Config{History: 4})
		hosts := []HostID{h("a"), h("b"), h("c"), h("d")}
		counters := map[uint64]uint64{}
		now := 0.0
		var ids []uint64
		for id := uint64(1); id <= 40; id++ {
			path := make([]Hop, 1+rng.IntN(4))
			for i := range path {
				path[i] = Hop{DPID: uint64(rng.IntN(5)), InPort: uint16(rng.IntN(3)), OutPort: uint16(rng.IntN(3))}
			}
			f := FlowInfo{ID: id, Src: hosts[rng.IntN(4)], Dst: hosts[rng.IntN(4)], Path: path, Start: at(now)}
			must(t, one.AddFlow(f))
			must(t, many.AddFlow(f))
			ids = append(ids, id)
		}
		var out []FlowSample
		for run := 0; run < 30; run++ {
			now += rng.Float64() * 4
			var rs []Reading
			for k := rng.IntN(30); k > 0; k-- {
				id := ids[rng.IntN(len(ids))]
				switch rng.IntN(20) {
				case 0:
					id = 1000 // unknown
				case 1:
					counters[id] = 0 // re-installed
				}
				counters[id] += uint64(rng.IntN(5000))
				r := Reading{Flow: id, DPID: uint64(rng.IntN(3)), Bytes: counters[id], Packets: counters[id] / 100,
					Duration: dur(now), At: at(now - rng.Float64()*0.5), Source: SourcePollAll}
				if rng.IntN(25) == 0 {
					r.At = time.Time{}
				}
				rs = append(rs, r)
			}
			var want []FlowSample
			var wantTaken []Reading
			for _, r := range rs {
				if s, err := one.Observe(r); err == nil {
					want = append(want, s)
					wantTaken = append(wantTaken, r)
				}
			}
			prefix := len(out)
			var taken []Reading
			taken, out = many.ObserveBatch(slices.Clone(rs), out)
			if !reflect.DeepEqual(taken, wantTaken) && (len(taken) > 0 || len(wantTaken) > 0) {
				t.Fatalf("seed %d run %d: took %v, Observe took %v", seed, run, taken, wantTaken)
			}
			if got := out[prefix:]; !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
				t.Fatalf("seed %d run %d: samples %v, Observe gave %v", seed, run, got, want)
			}
			if run%7 == 3 {
				id := ids[rng.IntN(len(ids))]
				err1, err2 := one.End(id, at(now)), many.End(id, at(now))
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("End: %v and %v", err1, err2)
				}
			}
		}
		if !reflect.DeepEqual(one.Flows(), many.Flows()) {
			t.Fatalf("seed %d: flows differ", seed)
		}
		if !reflect.DeepEqual(one.LinkLoads(), many.LinkLoads()) || !reflect.DeepEqual(one.Matrix(), many.Matrix()) ||
			!reflect.DeepEqual(one.Hosts(), many.Hosts()) {
			t.Fatalf("seed %d: aggregates differ", seed)
		}
		checkAgainstScan(t, many)
	}
}

// TestMatrixHistoryAtTicks: a matrix cell's history holds, for each tick since the
// cell was made, its bytes and rate at that tick (what Matrix said right after it),
// at most FlowHistory of them and only those of the window, although the cells take
// their samples only when they change or are read.
func TestMatrixHistoryAtTicks(t *testing.T) {
	type tick struct {
		at    time.Time
		bytes uint64
		rate  float64
	}
	for seed := uint64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		limit := 1 + rng.IntN(8)
		window := time.Duration(2+rng.IntN(12)) * time.Second
		s := newStore(t, Config{FlowHistory: limit, Window: window})
		hosts := []HostID{h("a"), h("b"), h("c")}
		ref := map[Pair][]tick{}
		active := map[uint64]bool{}
		counters := map[uint64]uint64{}
		next, now, lastTick := uint64(1), 0.0, time.Time{}
		check := func(step int) {
			t.Helper()
			for p, want := range ref {
				var keep []tick
				for _, w := range want {
					if !w.at.Before(lastTick.Add(-window)) {
						keep = append(keep, w)
					}
				}
				if len(keep) > limit {
					keep = keep[len(keep)-limit:]
				}
				got := s.MatrixHistory(p)
				if len(got) != len(keep) {
					t.Fatalf("seed %d step %d %v: %d samples, want %d", seed, step, p, len(got), len(keep))
				}
				for i := range got {
					if !got[i].At.Equal(keep[i].at) || got[i].Bytes != keep[i].bytes || got[i].RateBps != keep[i].rate {
						t.Fatalf("seed %d step %d %v sample %d: %+v, want %+v", seed, step, p, i, got[i], keep[i])
					}
				}
			}
		}
		for step := 0; step < 300; step++ {
			now += rng.Float64() * 1.5
			switch op := rng.IntN(12); {
			case op < 2 || len(active) == 0:
				must(t, s.AddFlow(FlowInfo{ID: next, Src: hosts[rng.IntN(3)], Dst: hosts[rng.IntN(3)],
					Path: []Hop{{DPID: 1, InPort: 1, OutPort: 2}}, Start: at(now)}))
				active[next] = true
				next++
			case op < 3:
				id := pick(rng, active)
				counters[id] += uint64(rng.IntN(5000))
				must(t, s.Remove(Reading{Flow: id, DPID: 1, Bytes: counters[id], At: at(now)}))
				delete(active, id)
			case op < 6:
				s.Tick(at(now))
				lastTick = at(now)
				for _, m := range s.Matrix() {
					p := Pair{m.Src, m.Dst}
					ref[p] = append(ref[p], tick{lastTick, m.Bytes, m.RateBps})
				}
			case op < 7:
				check(step)
			default:
				id := pick(rng, active)
				counters[id] += uint64(rng.IntN(5000))
				must(t, obs(s, Reading{Flow: id, DPID: 1, Bytes: counters[id], Duration: dur(now), At: at(now)}))
			}
		}
		check(-1)
	}
}
