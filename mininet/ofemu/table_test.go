package ofemu

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/stretchr/testify/require"
)

// TestEntryHoldsNoPointers: a flow table entry and its key carry no pointer, so that
// the garbage collector never scans a switch's table (the reason entries are kept by
// value, their match encoded).
func TestEntryHoldsNoPointers(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		switch ty.Kind() {
		case reflect.Struct:
			for i := range ty.NumField() {
				f := ty.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		case reflect.Array:
			walk(ty.Elem(), path+"[]")
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.String, reflect.Interface,
			reflect.Chan, reflect.Func, reflect.UnsafePointer:
			t.Errorf("%s is a %s", path, ty.Kind())
		}
	}
	walk(reflect.TypeFor[entry](), "entry")
	walk(reflect.TypeFor[entryKey](), "entryKey")
}

// tableModel is what a switch's table should hold: per key, the cookie and the
// actions last installed.
type tableModel map[entryKey]struct {
	cookie uint64
	acts   string
}

// checkTable checks the switch's table against the model: the index names every
// entry's place, and the entries are the model's, with their actions.
func checkTable(t *testing.T, s *Switch, want tableModel, step string) {
	t.Helper()
	require.Equal(t, len(s.rows), len(s.index), "%s: index and entries", step)
	for i := range s.rows {
		e := &s.rows[i]
		j, ok := s.index[e.key]
		require.True(t, ok && int(j) == i, "%s: entry %d is at %d in the index (%v)", step, i, j, ok)
		w, ok := want[e.key]
		require.True(t, ok, "%s: entry cookie %#x is not in the model", step, e.cookie)
		require.Equal(t, w.cookie, e.cookie, step)
		require.Equal(t, w.acts, fmt.Sprint(s.actions(e)), "%s: actions of cookie %#x", step, e.cookie)
		m := e.match()
		require.Equal(t, e.key, keyOf(&m, e.key.priority), "%s: the match decodes to its key", step)
	}
	require.Equal(t, len(want), len(s.rows), step)
	longs := 0
	for i := range s.rows {
		if !s.rows[i].actInline {
			longs++
		}
	}
	require.Equal(t, longs, len(s.long), "%s: the long actions are the entries' that do not fit", step)
}

// TestTableChangesKeepIndex: random adds (new and replacing), strict and non-strict
// deletes, modifies and expiries keep the table, its index and its long actions
// what a plain map of entries would hold.
func TestTableChangesKeepIndex(t *testing.T) {
	net, err := New(Config{Controller: "127.0.0.1:1", Switches: 1, Traffic: ConstantTraffic(1e6, 1000)})
	require.NoError(t, err)
	s := net.Switches()[0]
	rng := rand.New(rand.NewPCG(1, 2))
	want := tableModel{}
	short := []ofproto.Action{&ofproto.OutputAction{Port: 1}}
	long := []ofproto.Action{&ofproto.SetVLANVIDAction{VID: 7}, &ofproto.SetNWTOSAction{TOS: 4},
		&ofproto.OutputAction{Port: 2}, &ofproto.OutputAction{Port: ofproto.PortController, MaxLen: 64}}
	match := func(i int) ofproto.Match {
		m := ofproto.Match{InPort: ofproto.PortNo(1 + i%3), DLType: 0x0800, NWProto: 17,
			NWSrc: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), NWDst: netip.AddrFrom4([4]byte{10, 1, 0, 1}),
			TPSrc: uint16(i), TPDst: 5001}
		m.Wildcards = ofproto.WildDLVLAN | ofproto.WildDLVLANPCP | ofproto.WildNWTOS
		return m
	}
	now := time.Now()
	for step := range 3000 {
		i := rng.IntN(400)
		m := match(i)
		prio := uint16(100 + rng.IntN(2))
		k := keyOf(&m, prio)
		acts := short
		if rng.IntN(4) == 0 {
			acts = long
		}
		name := fmt.Sprintf("step %d", step)
		switch op := rng.IntN(10); {
		case op < 6:
			fm := &ofproto.FlowMod{Match: m, Cookie: uint64(step + 1), Command: ofproto.FlowAdd, Priority: prio,
				BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone, Actions: acts}
			require.NoError(t, s.flowMod(fm, now))
			want[k] = struct {
				cookie uint64
				acts   string
			}{fm.Cookie, fmt.Sprint(acts)}
		case op < 8:
			fm := &ofproto.FlowMod{Match: m, Command: ofproto.FlowDeleteStrict, Priority: prio,
				BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone}
			require.NoError(t, s.flowMod(fm, now))
			delete(want, k)
		case op < 9:
			// Every entry of an in_port (and with an output to port 2, now and then).
			in := ofproto.PortNo(1 + rng.IntN(3))
			out := ofproto.PortNone
			if rng.IntN(2) == 0 {
				out = 2
			}
			dm := ofproto.MatchAll()
			dm.Wildcards &^= ofproto.WildInPort
			dm.InPort = in
			require.NoError(t, s.flowMod(&ofproto.FlowMod{Match: dm, Command: ofproto.FlowDelete,
				BufferID: ofproto.BufferNone, OutPort: out}, now))
			for wk, w := range want {
				var em ofproto.Match
				require.NoError(t, em.UnmarshalBinary(wk.match[:]))
				if em.InPort == in && (out == ofproto.PortNone || w.acts == fmt.Sprint(long)) {
					delete(want, wk)
				}
			}
		default:
			fm := &ofproto.FlowMod{Match: m, Cookie: uint64(step + 1), Command: ofproto.FlowModifyStrict, Priority: prio,
				BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone, Actions: acts}
			require.NoError(t, s.flowMod(fm, now))
			w, ok := want[k]
			if !ok {
				w.cookie = fm.Cookie // a modify that finds nothing adds
			}
			w.acts = fmt.Sprint(acts)
			want[k] = w
		}
		checkTable(t, s, want, name)
	}
	require.NotEmpty(t, want)

	// Expiry: entries with a short hard timeout go; the others stay.
	stay := len(want)
	for i := 1000; i < 1100; i++ {
		m := match(i)
		require.NoError(t, s.flowMod(&ofproto.FlowMod{Match: m, Cookie: uint64(i), Command: ofproto.FlowAdd, Priority: 100,
			HardTimeout: 1, BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone, Actions: long}, now))
	}
	require.Equal(t, stay+100, len(s.rows))
	s.advance(now.Add(2*time.Second), 0)
	checkTable(t, s, want, "after expiry")
	require.Equal(t, 0, s.expiring)
}

// TestTableMemory reports what an entry costs the emulator's heap (kept by value:
// the entry, its slot in the index, the array's slack).
func TestTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 60000 // distinct matches of exactMods
	net, err := New(Config{Controller: "127.0.0.1:1", Switches: 1, Traffic: ConstantTraffic(1e6, 1000)})
	require.NoError(t, err)
	s := net.Switches()[0]
	fms := exactMods(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	now := time.Now()
	for _, fm := range fms {
		require.NoError(t, s.flowMod(fm, now))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	require.Equal(t, n+1, len(s.rows), "entries (and the ARP one)")
	t.Logf("%d entries: %.0f heap bytes per entry", n, per)
	require.Less(t, per, 400.0, "heap bytes per entry")
	runtime.KeepAlive(fms)
	runtime.KeepAlive(s)
}
