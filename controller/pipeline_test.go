package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// pipe runs RequestPipelined over msgs and returns each ordinal's outcome, the most
// requests it had out at once (next calls less done calls) and its error.
func pipe(c *Controller, ctx context.Context, dpid uint64, depth int, timeout time.Duration, msgs []ofproto.Message) (map[int]outcome, int, error) {
	got := map[int]outcome{}
	k, outNow, maxOut := 0, 0, 0
	err := c.RequestPipelined(ctx, dpid, depth, timeout, func() ofproto.Message {
		if k == len(msgs) {
			return nil
		}
		k++
		outNow++
		maxOut = max(maxOut, outNow)
		return msgs[k-1]
	}, func(i int, ms []ofproto.Message, err error) {
		outNow--
		if _, dup := got[i]; dup {
			panic("ordinal done twice")
		}
		got[i] = outcome{i: i, msgs: ms, err: err}
	})
	return got, maxOut, err
}

func flowStatsReq() *ofproto.StatsRequest {
	return &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}}
}

// TestRequestPipelinedMatches: every request of a long batch gets its own whole reply
// (every part, by xid), never more than depth are out, and they leave in few writes.
func TestRequestPipelinedMatches(t *testing.T) {
	c, addr := serve(t, Config{})
	sub := c.Subscribe(64, SwitchUp)
	defer sub.Close()
	dialSwitch(t, addr, 7, 3)
	waitEvent(t, sub, SwitchUp, 7)
	for _, depth := range []int{0, 1, 4, 16, 100} {
		var msgs []ofproto.Message
		for range 50 {
			msgs = append(msgs, flowStatsReq())
		}
		msgs = append(msgs, &ofproto.BarrierRequest{})
		got, maxOut, err := pipe(c, t.Context(), 7, depth, time.Second, msgs)
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		if want := min(max(depth, 1), len(msgs)); maxOut != want {
			t.Errorf("depth %d: %d out at most, want %d", depth, maxOut, want)
		}
		if len(got) != len(msgs) {
			t.Fatalf("depth %d: %d done, want %d", depth, len(got), len(msgs))
		}
		for i, m := range msgs {
			o := got[i]
			if o.err != nil {
				t.Fatalf("depth %d: request %d: %v", depth, i, o.err)
			}
			if _, barrier := m.(*ofproto.BarrierRequest); barrier {
				if len(o.msgs) != 1 || o.msgs[0].Type() != ofproto.TypeBarrierReply || o.msgs[0].XID() != m.XID() {
					t.Fatalf("depth %d: barrier got %v", depth, o.msgs)
				}
				continue
			}
			if len(o.msgs) != 3 {
				t.Fatalf("depth %d: request %d: %d parts, want 3", depth, i, len(o.msgs))
			}
			for p, r := range o.msgs {
				sr := r.(*ofproto.StatsReply)
				if sr.Xid != m.XID() || sr.Body.(*ofproto.FlowStatsReply).Entries[0].Cookie != uint64(p) {
					t.Fatalf("depth %d: request %d part %d foreign or out of order: %+v", depth, i, p, sr)
				}
			}
		}
	}
	if tr, _ := c.Traffic(7); tr.LateReplies != 0 {
		t.Errorf("late replies = %d", tr.LateReplies)
	}
}

// TestRequestPipelinedOneTimeout: one request of a batch that the switch answers too
// late times out (ErrTimeout and context.DeadlineExceeded) while the others are
// answered; its reply, when it comes, counts as late.
func TestRequestPipelinedOneTimeout(t *testing.T) {
	c, addr := serve(t, Config{RequestTimeout: 5 * time.Second})
	sub := c.Subscribe(64, SwitchUp)
	defer sub.Close()
	w := dialSwitch(t, addr, 9, 1)
	waitEvent(t, sub, SwitchUp, 9)
	w.delay.Store(int64(400 * time.Millisecond))
	msgs := []ofproto.Message{flowStatsReq(), flowStatsReq(), &ofproto.BarrierRequest{}, flowStatsReq(), flowStatsReq(), flowStatsReq()}
	start := time.Now()
	got, maxOut, err := pipe(c, t.Context(), 9, 4, 150*time.Millisecond, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 4*time.Second {
		t.Errorf("batch took %v, want about the 150 ms timeout (not Config.RequestTimeout)", took)
	}
	if maxOut != 4 {
		t.Errorf("%d out at most, want 4", maxOut)
	}
	for i := range msgs {
		o := got[i]
		if i == 2 {
			if !errors.Is(o.err, ErrTimeout) || !errors.Is(o.err, context.DeadlineExceeded) || o.msgs != nil {
				t.Errorf("slow request: %v %v, want a timeout", o.msgs, o.err)
			}
			continue
		}
		if o.err != nil || len(o.msgs) != 1 {
			t.Errorf("request %d: %v %v", i, o.msgs, o.err)
		}
	}
	for i := 0; ; i++ {
		if tr, _ := c.Traffic(9); tr.LateReplies == 1 {
			break
		}
		if i == 100 {
			t.Fatal("the late barrier reply was not counted late")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRequestPipelinedDisconnect: a switch that leaves mid-batch fails the requests
// out (ErrDisconnected) and those sent after (ErrNoSwitch, or ErrDisconnected while
// the connection is closing); every request is done once and RequestPipelined
// returns.
func TestRequestPipelinedDisconnect(t *testing.T) {
	c, addr := serve(t, Config{RequestTimeout: 5 * time.Second})
	sub := c.Subscribe(64, SwitchUp, SwitchDown)
	defer sub.Close()
	w := dialSwitch(t, addr, 9, 1)
	waitEvent(t, sub, SwitchUp, 9)
	w.delay.Store(int64(time.Hour))
	var msgs []ofproto.Message
	for range 10 {
		msgs = append(msgs, &ofproto.BarrierRequest{})
	}
	time.AfterFunc(100*time.Millisecond, func() { w.conn.Close() }) // three are out, unanswered: the switch leaves
	got, _, err := pipe(c, t.Context(), 9, 3, 0, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("%d done, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		o := got[i]
		switch {
		case i < 3 && !errors.Is(o.err, ErrDisconnected):
			t.Errorf("request %d, out when the switch left: %v, want ErrDisconnected", i, o.err)
		case i >= 3 && !errors.Is(o.err, ErrNoSwitch) && !errors.Is(o.err, ErrDisconnected):
			t.Errorf("request %d, after the switch left: %v, want ErrNoSwitch or ErrDisconnected", i, o.err)
		}
	}
}

// TestRequestPipelinedContext: when ctx ends the outstanding requests fail with its
// error and no more are asked for.
func TestRequestPipelinedContext(t *testing.T) {
	c, addr := serve(t, Config{})
	sub := c.Subscribe(64, SwitchUp)
	defer sub.Close()
	w := dialSwitch(t, addr, 9, 1)
	waitEvent(t, sub, SwitchUp, 9)
	w.delay.Store(int64(time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	var msgs []ofproto.Message
	for range 10 {
		msgs = append(msgs, &ofproto.BarrierRequest{})
	}
	got, _, err := pipe(c, ctx, 9, 4, 0, msgs)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(got) != 4 {
		t.Fatalf("%d done, want the 4 out", len(got))
	}
	for i, o := range got {
		if !errors.Is(o.err, context.Canceled) {
			t.Errorf("request %d: %v", i, o.err)
		}
	}
}

// TestRequestPipelinedBad: a message the controller owns fails alone; an unknown
// switch fails every request.
func TestRequestPipelinedBad(t *testing.T) {
	c, addr := serve(t, Config{})
	sub := c.Subscribe(64, SwitchUp)
	defer sub.Close()
	dialSwitch(t, addr, 9, 1)
	waitEvent(t, sub, SwitchUp, 9)
	got, _, err := pipe(c, t.Context(), 9, 4, 0, []ofproto.Message{&ofproto.BarrierRequest{}, &ofproto.Hello{}, &ofproto.BarrierRequest{}})
	if err != nil || got[0].err != nil || !errors.Is(got[1].err, ErrBadRequest) || got[2].err != nil {
		t.Fatalf("err %v, outcomes %+v", err, got)
	}
	got, _, err = pipe(c, t.Context(), 10, 4, 0, []ofproto.Message{&ofproto.BarrierRequest{}, &ofproto.BarrierRequest{}})
	if err != nil || len(got) != 2 || !errors.Is(got[0].err, ErrNoSwitch) || !errors.Is(got[1].err, ErrNoSwitch) {
		t.Fatalf("unknown switch: err %v, outcomes %+v", err, got)
	}
}
