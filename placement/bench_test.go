package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkPlace(b *testing.B) {
	for _, size := range []struct{ servers, vms int }{{10, 100}, {40, 400}, {160, 1600}} {
		inv, _ := Generate(rand.New(rand.NewPCG(1, 2)), GenConfig{Servers: size.servers, VMs: size.vms, Racks: 4})
		for _, pol := range Policies() {
			b.Run(fmt.Sprintf("%s/servers=%d/vms=%d", pol, size.servers, size.vms), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Place(inv, pol); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	inv, hidden := Generate(rand.New(rand.NewPCG(1, 2)), GenConfig{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(inv, hidden); err != nil {
			b.Fatal(err)
		}
	}
}
