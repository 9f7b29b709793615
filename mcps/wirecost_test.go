package mcps

import "testing"

// TestWireCost checks the calibrated model (algorithms.md section 1) against the
// figures measured on Open vSwitch (design/netlab.md): a 122-byte request frame, a
// 174-byte one-entry reply frame, and 1,000 entries arriving as two messages of
// 65,484 and 30,540 bytes.
func TestWireCost(t *testing.T) {
	tests := []struct {
		name    string
		c       WireCost
		entries int
		reply   int64 // OpenFlow bytes of the reply
		want    int64 // request and reply on the wire
	}{
		{"empty table", WireCost{}, 0, 12, 122 + 78},
		{"one entry", WireCost{}, 1, 108, 122 + 174},
		{"100 entries", WireCost{}, 100, 9612, 122 + 9612 + 66},
		{"682 entries fill one message", WireCost{}, 682, 65484, 122 + 65484 + 2*66},
		{"1000 entries in two messages", WireCost{}, 1000, 65484 + 30540, 122 + 96024 + 2*66},
		{"ethernet MSS", WireCost{MSS: 1448}, 100, 9612, 122 + 9612 + 7*66},
		{"two actions per entry", WireCost{EntryLen: 104}, 2, 12 + 208, 122 + 220 + 66},
	}
	for _, tt := range tests {
		if got := tt.c.ReplyBytes(tt.entries); got != tt.reply {
			t.Errorf("%s: ReplyBytes(%d) = %d, want %d", tt.name, tt.entries, got, tt.reply)
		}
		if got := tt.c.PollAll(tt.entries); got != tt.want {
			t.Errorf("%s: PollAll(%d) = %d, want %d", tt.name, tt.entries, got, tt.want)
		}
	}
	if (WireCost{}).PollSingle() != PaperCost.PollSingle() {
		t.Errorf("one-segment poll-single %d differs from the paper's %d", (WireCost{}).PollSingle(), PaperCost.PollSingle())
	}
	for n := 0; n < 3000; n += 7 {
		if (WireCost{}).PollAll(n) < (WireCost{}).PollAll(max(n-7, 0)) {
			t.Fatalf("PollAll decreases at %d", n)
		}
	}
	if err := validateCost(WireCost{MSS: 1448}); err != nil {
		t.Error(err)
	}
	// A network with the wire model solves like any other.
	in, err := NewInstance(Network{Switches: 2, Cost: WireCost{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.AddFlow([]int32{0, 1}); err != nil {
		t.Fatal(err)
	}
	sol, err := Solve(in, StrategyMCPS, Options{})
	if err != nil || sol.Cost != 296 || sol.Model != (WireCost{}).Name() {
		t.Errorf("Solve with WireCost = %+v, %v", sol, err)
	}
}
