package flowtracker

import (
	"errors"
	"github.com/cespare/xxhash/v2"
	"slices"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// udpKey returns a distinct UDP key per i.
func udpKey(i int) Key {
	return Key{
		DLSrc: [6]byte{0, 0, 0, 0, 0, 1}, DLDst: [6]byte{0, 0, 0, 0, 0, 2},
		NWSrc: [4]byte{10, 0, byte(i >> 16), byte(i >> 8)}, NWDst: [4]byte{10, 0, 0, 2},
		DLVLAN: 0xffff, DLType: 0x0800, NWProto: 17,
		TPSrc: uint16(i), TPDst: 5001,
	}
}

// line3 is a 3-switch path s1 -> s2 -> s3.
var line3 = []Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 2}, {DPID: 3, InPort: 1, OutPort: 2}}

func mustNew(t testing.TB, cfg Config) *Tracker {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func mustAdd(t testing.TB, tr *Tracker, k Key, path []Hop, now time.Time) Handle {
	t.Helper()
	h, created, err := tr.Add(k, path, now)
	if err != nil || !created {
		t.Fatalf("Add: %v created=%v", err, created)
	}
	return h
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  bool
		want []string // substrings of the error
	}{
		{"zero value", Config{}, false, nil},
		{"explicit", Config{Shards: 1, RetainExpired: -1, CookieTag: 0xffff, MaxPathLen: 1024}, false, nil},
		{"negative shards", Config{Shards: -1}, true, []string{"Shards"}},
		{"too many shards", Config{Shards: 5000}, true, []string{"Shards"}},
		{"huge retain", Config{RetainExpired: 1 << 25}, true, []string{"RetainExpired"}},
		{"every field", Config{Shards: -2, RetainExpired: 1 << 30, MaxPathLen: 2000}, true, []string{"Shards", "RetainExpired", "MaxPathLen"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err != nil) != tc.err {
				t.Fatalf("Validate = %v, want error %v", err, tc.err)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("%v does not wrap ErrConfig", err)
			}
			for _, w := range tc.want {
				if !containsStr(err.Error(), w) {
					t.Errorf("%q does not name %s", err, w)
				}
			}
			if _, nerr := New(tc.cfg); (nerr != nil) != tc.err {
				t.Errorf("New error %v", nerr)
			}
		})
	}
	tr := mustNew(t, Config{})
	if c := tr.Config(); c.Shards != DefaultShards || c.RetainExpired != DefaultRetainExpired || c.MaxPathLen != DefaultMaxPathLen {
		t.Errorf("defaults: %+v", c)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestAddValidation(t *testing.T) {
	tr := mustNew(t, Config{MaxPathLen: 3})
	tests := []struct {
		name string
		path []Hop
		err  error
	}{
		{"ok", line3, nil},
		{"empty", nil, ErrEmptyPath},
		{"too long", append(slices.Clone(line3), Hop{DPID: 4}), ErrPathTooLong},
		{"loop", []Hop{{DPID: 1}, {DPID: 2}, {DPID: 1}}, ErrPathLoop},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tr.Add(udpKey(i), tc.path, t0)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	if tr.Len() != 1 {
		t.Errorf("Len = %d, want 1", tr.Len())
	}
}

func TestAddSameKey(t *testing.T) {
	tr := mustNew(t, Config{})
	h1 := mustAdd(t, tr, udpKey(1), line3, at(0))
	h2, created, err := tr.Add(udpKey(1), line3[:1], at(1))
	if err != nil || created || h2 != h1 {
		t.Fatalf("re-Add of active key: %+v %v %v, want %+v false", h2, created, err, h1)
	}
	// Draining: a new flow supersedes it.
	if _, err := tr.EntryRemoved(1, h1.Cookie, Counters{Packets: 3}, ReasonIdleTimeout, at(2)); err != nil {
		t.Fatal(err)
	}
	h3, created, err := tr.Add(udpKey(1), line3, at(3))
	if err != nil || !created || h3.ID == h1.ID {
		t.Fatalf("Add over draining: %+v %v %v", h3, created, err)
	}
	old, ok := tr.Get(h1.ID)
	if !ok || old.State != StateExpired || !old.End.Equal(at(3)) {
		t.Fatalf("superseded flow: %+v %v", old, ok)
	}
	if old.Entries[1].Reason != ReasonSuperseded || old.Entries[0].Reason != ReasonIdleTimeout {
		t.Errorf("reasons %v %v", old.Entries[0].Reason, old.Entries[1].Reason)
	}
	if f, _ := tr.ByKey(udpKey(1)); f.ID != h3.ID {
		t.Errorf("ByKey = %d, want %d", f.ID, h3.ID)
	}
}

// TestLifeCycle walks one 3-hop flow through FLOW_REMOVED from each switch.
func TestLifeCycle(t *testing.T) {
	tr := mustNew(t, Config{CookieTag: 0xce01})
	sub := tr.Subscribe(8)
	defer sub.Cancel()
	k := udpKey(7)
	h := mustAdd(t, tr, k, line3, at(0))
	if h.Cookie>>48 != 0xce01 || h.Cookie&(1<<48-1) != h.ID || h.ID == 0 {
		t.Fatalf("handle %+v", h)
	}
	steps := []struct {
		dpid    uint64
		c       Counters
		reason  Reason
		state   State
		err     error
		expired bool
	}{
		{2, Counters{Packets: 9, Bytes: 900}, ReasonIdleTimeout, StateDraining, nil, false},
		{2, Counters{Packets: 99}, ReasonIdleTimeout, StateDraining, nil, false}, // duplicate: ignored
		{9, Counters{}, ReasonDelete, StateDraining, ErrNotOnPath, false},
		{1, Counters{Packets: 10, Bytes: 1000, DurationSec: 5, DurationNsec: 7}, ReasonIdleTimeout, StateDraining, nil, false},
		{3, Counters{Packets: 8, Bytes: 800}, ReasonHardTimeout, StateExpired, nil, true},
		{3, Counters{}, ReasonHardTimeout, StateExpired, ErrExpired, true},
	}
	for i, st := range steps {
		state, err := tr.EntryRemoved(st.dpid, h.Cookie, st.c, st.reason, at(10+i))
		if !errors.Is(err, st.err) || state != st.state {
			t.Fatalf("step %d: EntryRemoved = %v %v, want %v %v", i, state, err, st.state, st.err)
		}
	}
	f, ok := tr.ByCookie(h.Cookie)
	if !ok || f.State != StateExpired || !f.Start.Equal(at(0)) || !f.End.Equal(at(14)) || f.Key != k {
		t.Fatalf("flow %+v", f)
	}
	final, ok := f.Final()
	if !ok || final.Packets != 10 || final.Bytes != 1000 || final.Duration() != 5*time.Second+7 {
		t.Errorf("Final = %+v %v, want the ingress counters", final, ok)
	}
	if f.Entries[1].Final.Packets != 9 || f.Entries[2].Reason != ReasonHardTimeout {
		t.Errorf("entries %+v", f.Entries)
	}
	if !slices.Equal(f.DPIDs(), []uint64{1, 2, 3}) || !slices.Equal(f.Path(), line3) {
		t.Errorf("path %v", f.Path())
	}
	if _, ok := tr.ByKey(k); ok {
		t.Error("expired flow still found by key")
	}
	if tr.Len() != 0 {
		t.Errorf("Len %d", tr.Len())
	}
	arr, exp := <-sub.C, <-sub.C
	if arr.Kind != EventArrived || arr.ID != h.ID || !slices.Equal(arr.DPIDs, []uint64{1, 2, 3}) || !slices.Equal(arr.Path, line3) || !arr.Time.Equal(at(0)) {
		t.Errorf("arrival %+v", arr)
	}
	if exp.Kind != EventExpired || !exp.HasFinal || exp.Final.Packets != 10 || !exp.Time.Equal(at(14)) || exp.Cookie != h.Cookie {
		t.Errorf("expiry %+v", exp)
	}
	st := tr.Stats()
	if st != (Stats{Active: 0, Retained: 1, Arrived: 1, Expired: 1}) {
		t.Errorf("Stats %+v", st)
	}
}

func TestEntryRemovedErrors(t *testing.T) {
	tr := mustNew(t, Config{CookieTag: 7, Shards: 4})
	h := mustAdd(t, tr, udpKey(1), line3, t0)
	tests := []struct {
		name   string
		cookie uint64
		err    error
	}{
		{"zero cookie", 0, ErrUnknownCookie},
		{"other tag", 8<<48 | h.ID, ErrUnknownCookie},
		{"tag only", 7 << 48, ErrUnknownCookie},
		{"never issued", 7<<48 | 12345, ErrUnknownFlow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tr.EntryRemoved(1, tc.cookie, Counters{}, ReasonDelete, t0); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
	for _, id := range []uint64{0, 999} {
		if _, ok := tr.Get(id); ok {
			t.Errorf("Get(%d) found", id)
		}
		if tr.Remove(id, t0) {
			t.Errorf("Remove(%d) succeeded", id)
		}
	}
	if _, ok := tr.ByCookie(0); ok {
		t.Error("ByCookie(0) found")
	}
}

func TestResolve(t *testing.T) {
	tr := mustNew(t, Config{CookieTag: 1})
	h := mustAdd(t, tr, udpKey(1), line3, t0)
	tests := []struct {
		name   string
		cookie uint64
		key    Key
		ok     bool
	}{
		{"by cookie", h.Cookie, Key{}, true},
		{"foreign cookie, by key", 0, udpKey(1), true},
		{"stale cookie, by key", 1<<48 | 777, udpKey(1), true},
		{"neither", 0, udpKey(2), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tr.Resolve(tc.cookie, tc.key)
			if ok != tc.ok || (ok && got != h) {
				t.Errorf("Resolve = %+v %v, want %+v %v", got, ok, h, tc.ok)
			}
		})
	}
}

func TestRemoveSwitch(t *testing.T) {
	tr := mustNew(t, Config{Shards: 3})
	// Flows over s1-s2-s3, s2 alone, s3-s4.
	a := mustAdd(t, tr, udpKey(1), line3, t0)
	b := mustAdd(t, tr, udpKey(2), []Hop{{DPID: 2}}, t0)
	c := mustAdd(t, tr, udpKey(3), []Hop{{DPID: 3}, {DPID: 4}}, t0)
	if n := tr.RemoveSwitch(2, at(1)); n != 1 {
		t.Fatalf("RemoveSwitch(2) expired %d, want 1", n)
	}
	want := map[uint64]State{a.ID: StateDraining, b.ID: StateExpired, c.ID: StateActive}
	for id, st := range want {
		if f, _ := tr.Get(id); f.State != st {
			t.Errorf("flow %d state %v, want %v", id, f.State, st)
		}
	}
	fa, _ := tr.Get(a.ID)
	if !fa.Entries[1].Gone || fa.Entries[1].Reason != ReasonSwitchLeft || fa.Entries[1].HasCounters {
		t.Errorf("entry on s2: %+v", fa.Entries[1])
	}
	if n := tr.RemoveSwitch(3, at(2)); n != 0 { // c drains (s4 left), a still has s1
		t.Fatalf("RemoveSwitch(3) expired %d, want 0", n)
	}
	if n := tr.RemoveSwitch(1, at(3)); n != 1 {
		t.Fatalf("RemoveSwitch(1) expired %d, want 1", n)
	}
	if tr.Len() != 1 || tr.RemoveSwitch(1, at(4)) != 0 {
		t.Errorf("Len %d", tr.Len())
	}
	if _, ok := tr.Get(a.ID); !ok {
		t.Error("expired flow not retained")
	}
	if fa, _ := tr.Get(a.ID); fa.State != StateExpired {
		t.Errorf("a: %v", fa.State)
	}
	if !tr.Remove(c.ID, at(5)) || tr.Remove(c.ID, at(6)) || tr.Len() != 0 {
		t.Error("Remove")
	}
}

func TestRetainRing(t *testing.T) {
	tests := []struct {
		name          string
		cfg           Config
		expire        int
		wantRetained  int
		oldestVisible bool
	}{
		{"none", Config{RetainExpired: -1, Shards: 2}, 10, 0, false},
		{"one shard keeps the newest", Config{RetainExpired: 4, Shards: 1}, 10, 4, false},
		{"room for all", Config{RetainExpired: 100, Shards: 4}, 10, 10, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustNew(t, tc.cfg)
			var ids []uint64
			for i := 0; i < tc.expire; i++ {
				h := mustAdd(t, tr, udpKey(i), line3[:1], at(i))
				ids = append(ids, h.ID)
				tr.Remove(h.ID, at(i))
			}
			snap := tr.Snapshot()
			if len(snap) != tc.wantRetained || tr.Stats().Retained != tc.wantRetained {
				t.Fatalf("retained %d (stats %d), want %d", len(snap), tr.Stats().Retained, tc.wantRetained)
			}
			if _, ok := tr.Get(ids[0]); ok != tc.oldestVisible {
				t.Errorf("oldest visible = %v", ok)
			}
			if tc.wantRetained > 0 {
				if _, ok := tr.Get(ids[len(ids)-1]); !ok {
					t.Error("newest expired flow not visible")
				}
			}
		})
	}
}

func TestSubscriptionDropsAndCancel(t *testing.T) {
	tr := mustNew(t, Config{EventBacklog: -1}) // no backlog: a full buffer drops
	slow := tr.Subscribe(2)
	fast := tr.Subscribe(100)
	for i := 0; i < 5; i++ {
		mustAdd(t, tr, udpKey(i), line3, t0)
	}
	if slow.Dropped() != 3 || fast.Dropped() != 0 || tr.Stats().Dropped != 3 {
		t.Errorf("dropped slow %d fast %d total %d", slow.Dropped(), fast.Dropped(), tr.Stats().Dropped)
	}
	slow.Cancel()
	slow.Cancel() // idempotent
	n := 0
	for range slow.C { // buffered events stay readable, then C is closed
		n++
	}
	if n != 2 {
		t.Errorf("read %d buffered events, want 2", n)
	}
	mustAdd(t, tr, udpKey(99), line3, t0)
	if len(fast.C) != 6 {
		t.Errorf("fast subscriber has %d events, want 6", len(fast.C))
	}
	fast.Cancel()
	if s := tr.Subscribe(0); cap(s.C) != 1 {
		t.Errorf("Subscribe(0) buffer %d", cap(s.C))
	}
}

func TestRangeAndSnapshot(t *testing.T) {
	tr := mustNew(t, Config{Shards: 4})
	for i := 0; i < 50; i++ {
		mustAdd(t, tr, udpKey(i), line3[:1+i%3], at(i))
	}
	snap := tr.Snapshot()
	if len(snap) != 50 || !slices.IsSortedFunc(snap, func(a, b Flow) int { return cmpU64(a.ID, b.ID) }) {
		t.Fatalf("snapshot of %d, sorted %v", len(snap), slices.IsSortedFunc(snap, func(a, b Flow) int { return cmpU64(a.ID, b.ID) }))
	}
	for _, f := range snap {
		g, _ := tr.Get(f.ID)
		if !slices.Equal(g.Entries, f.Entries) || g.Key != f.Key {
			t.Fatalf("snapshot flow %d differs from Get", f.ID)
		}
	}
	n := 0
	tr.Range(func(Flow) bool { n++; return n < 10 })
	if n != 10 {
		t.Errorf("Range visited %d after stop at 10", n)
	}
	// fn may call back into the tracker.
	tr.Range(func(f Flow) bool { tr.Remove(f.ID, at(100)); return true })
	if tr.Len() != 0 {
		t.Errorf("Len %d after removing in Range", tr.Len())
	}
}

func TestKeyChainCollisions(t *testing.T) {
	// Force three keys into one hash chain and unlink from head, middle and tail.
	for _, victim := range []int{0, 1, 2} {
		var s shard
		s.byKey = map[uint64]*record{}
		recs := make([]*record, 3)
		for i := range recs {
			recs[i] = &record{id: uint64(i + 1), key: udpKey(i)}
			s.linkKey(42, recs[i])
		}
		s.unlinkKey(42, recs[victim])
		for i, r := range recs {
			got := s.findKey(42, r.key)
			if (got != nil) == (i == victim) {
				t.Errorf("victim %d: key %d found=%v", victim, i, got != nil)
			}
		}
	}
	var s shard
	s.byKey = map[uint64]*record{}
	r := &record{key: udpKey(1)}
	s.linkKey(1, r)
	s.unlinkKey(1, r)
	if len(s.byKey) != 0 || len(s.byKeyMore) != 0 {
		t.Error("empty chain left in the map")
	}
}

func TestKeyHash(t *testing.T) {
	k := udpKey(5)
	if k.Hash() != udpKey(5).Hash() {
		t.Fatal("hash not deterministic")
	}
	// Every field changes the hash.
	mods := []func(*Key){
		func(k *Key) { k.DLSrc[5]++ }, func(k *Key) { k.DLDst[0]++ },
		func(k *Key) { k.NWSrc[3]++ }, func(k *Key) { k.NWDst[0]++ },
		func(k *Key) { k.DLVLAN++ }, func(k *Key) { k.DLType++ },
		func(k *Key) { k.TPSrc++ }, func(k *Key) { k.TPDst++ },
		func(k *Key) { k.DLVLANPCP++ }, func(k *Key) { k.NWTos++ }, func(k *Key) { k.NWProto++ },
	}
	for i, m := range mods {
		k2 := k
		m(&k2)
		if k2.Hash() == k.Hash() {
			t.Errorf("field %d does not change the hash", i)
		}
	}
	// The documented layout: fields in declaration order, integers big-endian.
	want := []byte{
		0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, // DLSrc, DLDst
		10, 0, 0, 0, 10, 0, 0, 2, // NWSrc, NWDst
		0xff, 0xff, 0x08, 0x00, 0x00, 0x05, 0x13, 0x89, // DLVLAN, DLType, TPSrc, TPDst
		0, 0, 17, // DLVLANPCP, NWTos, NWProto
	}
	d := xxhash.New()
	_, _ = d.Write(want)
	if k.Hash() != d.Sum64() {
		t.Errorf("Hash = %#x, want XXH64 of the canonical encoding %#x", k.Hash(), d.Sum64())
	}
	if s := udpKey(1).String(); !containsStr(s, "10.0.0.0:1>10.0.0.2:5001") {
		t.Errorf("String = %q", s)
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{ReasonIdleTimeout.String(), "idle-timeout"},
		{ReasonSwitchLeft.String(), "switch-left"},
		{Reason(9).String(), "reason(9)"},
		{StateDraining.String(), "draining"},
		{State(0).String(), "state(0)"},
		{EventExpired.String(), "expired"},
		{EventKind(0).String(), "event(0)"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}

// TestRecordSizes keeps a flow's record in the 80-byte size class, its entries at
// 24 bytes and a switch index reference at 8: a million flows hold one record each
// and one entry and one reference per hop.
func TestRecordSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"record", unsafe.Sizeof(record{}), 80},
		{"entry", unsafe.Sizeof(entry{}), 24},
		{"ref", unsafe.Sizeof(ref{}), 8},
	} {
		if c.got > c.want {
			t.Errorf("%s is %d bytes, want at most %d", c.name, c.got, c.want)
		}
	}
}
