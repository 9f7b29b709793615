package flowtracker

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// model is a plain reference implementation of the tracker's rules: no shards, no hash
// chains, no ring (the tracker under test retains every expired flow).
type model struct {
	flows  map[uint64]*Flow
	active map[Key]uint64
}

func (m *model) add(k Key, path []Hop, now time.Time, got Handle) (created bool) {
	if id, ok := m.active[k]; ok {
		f := m.flows[id]
		if f.State == StateActive {
			return false
		}
		for i := range f.Entries {
			if !f.Entries[i].Gone {
				f.Entries[i].Gone, f.Entries[i].Reason = true, ReasonSuperseded
			}
		}
		m.expire(f, now)
	}
	f := &Flow{ID: got.ID, Cookie: got.Cookie, Key: k, Start: now, State: StateActive}
	for _, h := range path {
		f.Entries = append(f.Entries, Entry{Hop: h})
	}
	m.flows[got.ID] = f
	m.active[k] = got.ID
	return true
}

func (m *model) expire(f *Flow, now time.Time) {
	f.State, f.End = StateExpired, now
	delete(m.active, f.Key)
}

func (m *model) gone(f *Flow, now time.Time) {
	for _, e := range f.Entries {
		if !e.Gone {
			f.State = StateDraining
			return
		}
	}
	m.expire(f, now)
}

func (m *model) entryRemoved(id, dpid uint64, c Counters, r Reason, now time.Time) error {
	f := m.flows[id]
	switch {
	case f == nil:
		return ErrUnknownFlow
	case f.State == StateExpired:
		return ErrExpired
	}
	for i := range f.Entries {
		e := &f.Entries[i]
		if e.DPID == dpid {
			if !e.Gone {
				e.Gone, e.HasCounters, e.Final, e.Reason = true, true, c, r
				m.gone(f, now)
			}
			return nil
		}
	}
	return ErrNotOnPath
}

func (m *model) removeSwitch(dpid uint64, now time.Time) int {
	n := 0
	for _, f := range m.flows {
		if f.State == StateExpired {
			continue
		}
		for i := range f.Entries {
			if e := &f.Entries[i]; e.DPID == dpid && !e.Gone {
				e.Gone, e.Reason = true, ReasonSwitchLeft
				m.gone(f, now)
				if f.State == StateExpired {
					n++
				}
			}
		}
	}
	return n
}

// TestAgainstModel drives the tracker and the model with the same random operations
// and compares every result and, periodically, the whole state.
func TestAgainstModel(t *testing.T) {
	paths := [][]Hop{
		{{DPID: 1, InPort: 1, OutPort: 2}},
		{{DPID: 1, InPort: 3, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 2}},
		line3,
		{{DPID: 4, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 3, OutPort: 4}, {DPID: 5, InPort: 1, OutPort: 3}},
	}
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		tr := mustNew(t, Config{Shards: 1 + int(seed%5), RetainExpired: 1 << 20, CookieTag: uint16(seed)})
		sub := tr.Subscribe(1 << 16)
		m := &model{flows: map[uint64]*Flow{}, active: map[Key]uint64{}}
		var ids []uint64
		for step := 0; step < 3000; step++ {
			now := at(step)
			switch op := rng.IntN(10); {
			case op < 4:
				k, p := udpKey(rng.IntN(30)), paths[rng.IntN(len(paths))]
				h, created, err := tr.Add(k, p, now)
				if err != nil {
					t.Fatal(err)
				}
				if want := m.add(k, p, now, h); created != want {
					t.Fatalf("seed %d step %d: Add created %v, model %v", seed, step, created, want)
				}
				if created {
					ids = append(ids, h.ID)
				}
			case op < 8 && len(ids) > 0:
				id := ids[rng.IntN(len(ids))]
				dpid := uint64(1 + rng.IntN(5))
				c := Counters{Packets: rng.Uint64N(1000), Bytes: rng.Uint64N(1e6), DurationSec: uint32(step)}
				r := Reason(rng.IntN(3))
				_, err := tr.EntryRemoved(dpid, tr.Cookie(id), c, r, now)
				if want := m.entryRemoved(id, dpid, c, r, now); !errors.Is(err, want) || (err == nil) != (want == nil) {
					t.Fatalf("seed %d step %d: EntryRemoved = %v, model %v", seed, step, err, want)
				}
			case op < 9:
				dpid := uint64(1 + rng.IntN(5))
				if got, want := tr.RemoveSwitch(dpid, now), m.removeSwitch(dpid, now); got != want {
					t.Fatalf("seed %d step %d: RemoveSwitch = %d, model %d", seed, step, got, want)
				}
			case len(ids) > 0:
				id := ids[rng.IntN(len(ids))]
				f := m.flows[id]
				wasActive := f.State != StateExpired
				if got := tr.Remove(id, now); got != wasActive {
					t.Fatalf("seed %d step %d: Remove = %v, model %v", seed, step, got, wasActive)
				}
				if wasActive {
					for i := range f.Entries {
						if !f.Entries[i].Gone {
							f.Entries[i].Gone, f.Entries[i].Reason = true, ReasonRemoved
						}
					}
					m.expire(f, now)
				}
			}
			if step%500 == 499 {
				compareModel(t, tr, m)
				compareIndex(t, tr, m)
			}
		}
		compareModel(t, tr, m)
		checkEvents(t, sub, m)
	}
}

func compareModel(t *testing.T, tr *Tracker, m *model) {
	t.Helper()
	snap := tr.Snapshot()
	if len(snap) != len(m.flows) {
		t.Fatalf("tracker holds %d flows, model %d", len(snap), len(m.flows))
	}
	for _, f := range snap {
		w := m.flows[f.ID]
		if w == nil || f.Key != w.Key || f.State != w.State || f.Cookie != w.Cookie ||
			!f.Start.Equal(w.Start) || !f.End.Equal(w.End) || !slices.Equal(f.Entries, w.Entries) {
			t.Fatalf("flow %d:\n got  %+v\n want %+v", f.ID, f, w)
		}
	}
	if tr.Len() != len(m.active) {
		t.Fatalf("Len %d, model %d", tr.Len(), len(m.active))
	}
	for k, id := range m.active {
		if f, ok := tr.ByKey(k); !ok || f.ID != id {
			t.Fatalf("ByKey(%v) = %d %v, want %d", k, f.ID, ok, id)
		}
	}
}

// checkEvents reads every buffered event: one Arrived per flow, then at most one
// Expired, present exactly for expired flows, carrying the ingress counters.
func checkEvents(t *testing.T, sub *Subscription, m *model) {
	t.Helper()
	sub.Cancel()
	if sub.Dropped() != 0 {
		t.Fatalf("dropped %d", sub.Dropped())
	}
	seen := map[uint64]EventKind{}
	for ev := range sub.C {
		prev := seen[ev.ID]
		switch {
		case ev.Kind == EventArrived && prev != 0, ev.Kind == EventExpired && prev != EventArrived:
			t.Fatalf("flow %d: %v after %v", ev.ID, ev.Kind, prev)
		}
		seen[ev.ID] = ev.Kind
		f := m.flows[ev.ID]
		if ev.Kind == EventExpired {
			fin, has := f.Final()
			if ev.HasFinal != has || ev.Final != fin || !ev.Time.Equal(f.End) {
				t.Fatalf("flow %d expiry event %+v, model %+v", ev.ID, ev, f)
			}
		}
	}
	for id, f := range m.flows {
		want := EventArrived
		if f.State == StateExpired {
			want = EventExpired
		}
		if seen[id] != want {
			t.Fatalf("flow %d: last event %v, want %v", id, seen[id], want)
		}
	}
}

// TestConcurrent runs adders, removers, readers and a switch departure at once; run
// with -race. Afterwards every flow must be accounted for.
func TestConcurrent(t *testing.T) {
	tr := mustNew(t, Config{Shards: 8, RetainExpired: -1, EventBacklog: 100})
	sub := tr.Subscribe(64) // small on purpose: backlog and drops must not block anyone
	const workers, perWorker = 4, 500
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				k := udpKey(w*perWorker + i)
				h, _, err := tr.Add(k, line3, at(i))
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					for _, hop := range line3 {
						_, _ = tr.EntryRemoved(hop.DPID, h.Cookie, Counters{Packets: 1}, ReasonIdleTimeout, at(i))
					}
				}
				tr.ByKey(k)
				tr.Resolve(h.Cookie, k)
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			tr.Range(func(f Flow) bool { return len(f.Entries) == 3 })
			tr.Stats()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			tr.RemoveSwitch(9, at(i)) // not on any path: must change nothing
		}
	}()
	events := 0
	done := make(chan struct{})
	go func() {
		for range sub.C {
			events++
		}
		close(done)
	}()
	wg.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if q, _ := sub.Backlog(); q == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backlog not drained")
		}
	}
	sub.Cancel()
	<-done
	st := tr.Stats()
	if st.Arrived != workers*perWorker || st.Expired != workers*perWorker/2 || st.Active != workers*perWorker/2 {
		t.Errorf("stats %+v", st)
	}
	if uint64(events)+sub.Dropped() != st.Arrived+st.Expired {
		t.Errorf("events %d + dropped %d != %d", events, sub.Dropped(), st.Arrived+st.Expired)
	}
	n := tr.RemoveSwitch(2, at(999)) + tr.RemoveSwitch(1, at(999)) + tr.RemoveSwitch(3, at(999))
	if n != workers*perWorker/2 || tr.Len() != 0 {
		t.Errorf("RemoveSwitch expired %d, Len %d", n, tr.Len())
	}
}

// compareIndex checks RangeSwitch, RangePort, RangeLink and OnSwitch against a scan of
// the model: the flows with a live entry at the switch, port or link, each once.
func compareIndex(t *testing.T, tr *Tracker, m *model) {
	t.Helper()
	want := func(sel func(e Entry) bool) []uint64 {
		var ids []uint64
		for id, f := range m.flows {
			if f.State == StateExpired {
				continue
			}
			if slices.ContainsFunc(f.Entries, func(e Entry) bool { return !e.Gone && sel(e) }) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	got := func(rng func(fn func(Flow) bool)) []uint64 {
		var ids []uint64
		rng(func(f Flow) bool {
			w := m.flows[f.ID]
			if w == nil || !slices.Equal(f.Entries, w.Entries) || f.State != w.State {
				t.Fatalf("indexed flow %d = %+v, model %+v", f.ID, f, w)
			}
			ids = append(ids, f.ID)
			return true
		})
		slices.Sort(ids)
		return ids
	}
	for dpid := uint64(1); dpid <= 6; dpid++ {
		w := want(func(e Entry) bool { return e.DPID == dpid })
		if g := got(func(fn func(Flow) bool) { tr.RangeSwitch(dpid, fn) }); !slices.Equal(g, w) {
			t.Fatalf("RangeSwitch(%d) = %v, want %v", dpid, g, w)
		}
		if n := tr.OnSwitch(dpid); n != len(w) {
			t.Fatalf("OnSwitch(%d) = %d, want %d", dpid, n, len(w))
		}
		for port := uint16(1); port <= 4; port++ {
			w := want(func(e Entry) bool { return e.DPID == dpid && (e.InPort == port || e.OutPort == port) })
			if g := got(func(fn func(Flow) bool) { tr.RangePort(dpid, port, fn) }); !slices.Equal(g, w) {
				t.Fatalf("RangePort(%d, %d) = %v, want %v", dpid, port, g, w)
			}
			for dst := uint64(1); dst <= 5; dst++ {
				for dport := uint16(1); dport <= 3; dport++ {
					w := want(func(e Entry) bool {
						return (e.DPID == dpid && e.OutPort == port) || (e.DPID == dst && e.InPort == dport)
					})
					if g := got(func(fn func(Flow) bool) { tr.RangeLink(dpid, port, dst, dport, fn) }); !slices.Equal(g, w) {
						t.Fatalf("RangeLink(%d:%d>%d:%d) = %v, want %v", dpid, port, dst, dport, g, w)
					}
				}
			}
		}
	}
}
