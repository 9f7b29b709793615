package placement

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// FuzzParseInventory: any input either fails with an error naming what is
// wrong, or parses into an inventory every policy places or refuses by naming
// a VM, whose plans Evaluate scores identically, and that survives a JSON
// round trip.
func FuzzParseInventory(f *testing.F) {
	f.Add([]byte(`{"servers":[],"vms":[]}`))
	f.Add([]byte(`{"servers":[{"id":"a","dpid":"1","port":1,"cpu_cores":8,"ram_mb":1000,"nic_bps":1e9,"rack":"r"}],
		"vms":[{"id":"v","mac":"02:00:00:00:00:01","ip":"10.0.0.1","server":"a","vcpus":2,"ram_mb":100,"cpu_util":0.5,"disk_mb_s":100,"latency_sensitive":true}],
		"traffic":[],"external":[{"vm":"v","bps":5,"in_bps":3}]}`))
	if data, err := os.ReadFile("../cmd/cemon/testdata/place/small.json"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseInventory(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(inv.VMs) > 200 || len(inv.Servers) > 50 {
			return
		}
		for _, pol := range Policies() {
			plan, err := Place(inv, pol)
			if err != nil {
				if nf, ok := err.(*NoFitError); !ok || nf.VM == "" {
					t.Fatalf("%s: %v", pol, err)
				}
				continue
			}
			rep, err := Evaluate(inv, plan.Assignment)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Score != plan.Score && !math.IsNaN(rep.Score.PeakNIC) {
				t.Fatalf("%s: Evaluate %+v, plan %+v", pol, rep.Score, plan.Score)
			}
		}
		out, err := json.Marshal(inv)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseInventory(out); err != nil {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
	})
}
