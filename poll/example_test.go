package poll_test

import (
	"fmt"
	"time"

	"github.com/cemon-sdn/cemon/poll"
)

// A line of three switches; two flows cross switch 2, one sits on switch 3 alone.
// MCPS asks switch 2 for all its entries and switch 3 for one flow's.
func Example() {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	s, err := poll.NewPlanned(poll.PlannedConfig{Strategy: poll.MCPS, Interval: time.Second})
	if err != nil {
		panic(err)
	}
	s.SetSwitches(now, []poll.Switch{{DPID: 1}, {DPID: 2}, {DPID: 3}})
	s.OnArrive(now, poll.Flow{ID: 10, DPIDs: []uint64{1, 2}})
	s.OnArrive(now, poll.Flow{ID: 11, DPIDs: []uint64{2, 3}})
	s.OnArrive(now, poll.Flow{ID: 12, DPIDs: []uint64{3}})
	for _, r := range s.Due(now, nil) {
		fmt.Println(r.Source, r.DPID, r.Flow, r.Interval)
	}
	p := s.Plan()
	fmt.Println(p.Strategy, p.Cost, p.Last.Reason)
	// Output:
	// poll-all 2 0 1s
	// poll-single 3 12 1s
	// mcps 688 initial
}
