package collector

import (
	"context"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/stats"
)

// newEnvTracker is newEnv with the tracker's configuration given.
func newEnvTracker(t *testing.T, cfg Config, tcfg flowtracker.Config) *env {
	t.Helper()
	tr, err := flowtracker.New(tcfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.New(stats.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{tr: tr, net: newFakeNet(), store: st, now: t0}
	e.c, err = New(cfg, Deps{Requester: e.net, Tracker: tr, Store: st,
		Switches: func() []uint64 { return []uint64{1, 2, 3, 4} },
		Hops:     func() map[uint64]int { return map[uint64]int{1: 1, 2: 2, 3: 3, 4: 4} },
		Clock:    func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.c.Close)
	return e
}

// TestArrivalOfAGoneFlowKeepsPorts checks that a flow the tracker no longer
// holds when its arrival is handled (it expired and was not retained) is
// registered with the ports of its path, taken from the event: links are
// keyed by ports, and a path without them would invent links (port 0) that
// no topology has.
func TestArrivalOfAGoneFlowKeepsPorts(t *testing.T) {
	e := newEnvTracker(t, Config{}, flowtracker.Config{RetainExpired: -1})
	h := e.addFlow(t, 0, 1, 3)
	e.now = t0.Add(time.Second)
	if !e.tr.Remove(h.ID, e.now) {
		t.Fatal("tracker did not expire the flow")
	}
	if _, ok := e.tr.Get(h.ID); ok {
		t.Fatal("tracker still holds the flow; the test needs it gone")
	}
	if n := e.c.Drain(); n != 2 {
		t.Fatalf("drained %d events, want 2", n)
	}
	want := map[stats.Link]bool{
		{SrcDPID: 1, SrcPort: 2, DstDPID: 2, DstPort: 1}: true,
		{SrcDPID: 2, SrcPort: 2, DstDPID: 3, DstPort: 1}: true,
	}
	for _, ll := range e.store.LinkLoads() {
		if !want[ll.Link] {
			t.Errorf("link %v is not on the flow's path", ll.Link)
		}
		if ll.Flows != 0 || ll.RateBps != 0 {
			t.Errorf("link %v keeps the expired flow: %+v", ll.Link, ll)
		}
	}
	f, ok := e.store.Flow(h.ID)
	if !ok || f.Active || len(f.Path) != 3 || f.Path[0].InPort != 3 || f.Path[2].OutPort != 3 {
		t.Errorf("flow = %+v, %v", f, ok)
	}
	e.now = t0.Add(2 * time.Second)
	if res := e.c.Round(context.Background()); res.Requests != 0 {
		t.Errorf("round sent %d requests for no active flow", res.Requests)
	}
}
