package ofemu

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// refFlowStats is the reply to a flow statistics request built the plain way:
// FlowStats values gathered into FlowStatsReply bodies, each within MaxReplyLen,
// then each StatsReply marshalled on its own. appendFlowStats must write the same
// bytes.
func refFlowStats(s *Switch, xid uint32, req *ofproto.FlowStatsRequest, now time.Time) ([]byte, error) {
	const header = 12
	limit := s.net.cfg.MaxReplyLen
	cur := &ofproto.FlowStatsReply{}
	bodies := []*ofproto.FlowStatsReply{cur}
	size := header
	for _, i := range s.selected(&req.Match) {
		e := &s.rows[i]
		m := e.match()
		if !covers(&req.Match, &m) || !s.hasOutput(e, req.OutPort) {
			continue
		}
		d := s.age(e, now)
		e.reads++
		p, b := s.counts(e, now)
		fs := ofproto.FlowStats{TableID: 0, Match: m, DurationSec: uint32(d / time.Second), DurationNsec: uint32(d % time.Second),
			Priority: e.key.priority, IdleTimeout: e.idle, HardTimeout: e.hard, Cookie: e.cookie,
			PacketCount: p, ByteCount: b, Actions: s.actions(e)}
		n := fs.Len()
		if size+n > limit && len(cur.Entries) > 0 {
			cur = &ofproto.FlowStatsReply{}
			bodies = append(bodies, cur)
			size = header
		}
		cur.Entries = append(cur.Entries, fs)
		size += n
	}
	var out []byte
	for i, body := range bodies {
		r := &ofproto.StatsReply{Xid: xid, Body: body}
		if i+1 < len(bodies) {
			r.Flags = ofproto.StatsReplyMore
		}
		b, err := ofproto.AppendMarshal(nil, r)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// statsSwitch is a switch with n exact entries carrying traffic, a few wildcard
// entries at other priorities, and entries with several actions.
func statsSwitch(tb testing.TB, n, maxReplyLen int) *Switch {
	tb.Helper()
	net, err := New(Config{Controller: "127.0.0.1:1", Switches: 1, Traffic: ConstantTraffic(1e6, 1000), MaxReplyLen: maxReplyLen})
	if err != nil {
		tb.Fatal(err)
	}
	s := net.Switches()[0]
	now := time.Now().Add(-90 * time.Second)
	fms := append(exactMods(n), flowMods(5)...)
	for i, fm := range fms {
		if i%7 == 3 {
			fm.Priority = uint16(200 + i%3)
			fm.Actions = []ofproto.Action{&ofproto.SetVLANVIDAction{VID: uint16(i)}, &ofproto.SetNWTOSAction{TOS: 4},
				&ofproto.OutputAction{Port: 2}, &ofproto.OutputAction{Port: ofproto.PortController, MaxLen: 64}}
		}
		if err := s.flowMod(fm, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

func TestFlowStatsReplyBytes(t *testing.T) {
	fms := exactMods(300)
	single := fms[150].Match
	partial := ofproto.MatchAll()
	partial.Wildcards &^= ofproto.WildDLType
	partial.DLType = 0x0800
	requests := []struct {
		name string
		req  ofproto.FlowStatsRequest
	}{
		{"all", ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}},
		{"all out port 2", ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: 2}},
		{"single", ofproto.FlowStatsRequest{Match: single, TableID: 0xff, OutPort: ofproto.PortNone}},
		{"IPv4", ofproto.FlowStatsRequest{Match: partial, TableID: 0xff, OutPort: ofproto.PortNone}},
		{"no entry", ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: 77}},
	}
	for _, maxReplyLen := range []int{0, 12 + ofproto.FlowStatsLen + 64, 1000, 4096} {
		s := statsSwitch(t, 300, maxReplyLen)
		now := time.Now()
		var buf []byte
		for _, tc := range requests {
			t.Run(fmt.Sprintf("%s/max=%d", tc.name, maxReplyLen), func(t *testing.T) {
				want, err := refFlowStats(s, 0x1234abcd, &tc.req, now)
				if err != nil {
					t.Fatal(err)
				}
				buf, err = s.appendFlowStats(buf[:0], 0x1234abcd, &tc.req, now)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf, want) {
					t.Fatalf("reply of %d bytes differs from the reference's %d bytes", len(buf), len(want))
				}
				// Every message decodes, and only the last lacks OFPSF_REPLY_MORE.
				fr := ofproto.NewFramer(bytes.NewReader(buf), 0)
				for i := 0; ; i++ {
					b, err := fr.Next()
					if err != nil {
						if i == 0 {
							t.Fatal(err)
						}
						break
					}
					m, err := ofproto.Decode(b)
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					more := m.(*ofproto.StatsReply).Flags&ofproto.StatsReplyMore != 0
					if more != (fr.Offset() < int64(len(buf))) {
						t.Fatalf("message %d: more %v at offset %d of %d", i, more, fr.Offset(), len(buf))
					}
				}
			})
		}
	}
}

func TestFlowStatsReplyTooLong(t *testing.T) {
	s := statsSwitch(t, 1000, 70000) // a limit above what a message can hold
	req := &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}
	if _, err := s.appendFlowStats(nil, 1, req, time.Now()); !errors.Is(err, ofproto.ErrTooLong) {
		t.Fatalf("got %v, want ofproto.ErrTooLong", err)
	}
}
