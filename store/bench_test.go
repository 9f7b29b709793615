package store

import (
	"strconv"
	"testing"
)

// BenchmarkPutVM is one acknowledged write: a bbolt transaction committed and
// synced to disk.
func BenchmarkPutVM(b *testing.B) {
	st, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.PutServer(server("s1")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := st.PutVM(vm("vm"+strconv.Itoa(i%200), "s1", i%200)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInventory reads 200 VMs and their server in one view.
func BenchmarkInventory(b *testing.B) {
	st, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.PutServer(server("s1")); err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		if err := st.PutVM(vm("vm"+strconv.Itoa(i), "s1", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Inventory(); err != nil {
			b.Fatal(err)
		}
	}
}
