package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// TestPortDownDeletesOnce: a switch-to-switch port going down brings Routing's port
// teardown and Discovery's LinkDown for its link at the same instant; every entry of
// the flows over it is deleted once, on every switch of their paths.
func TestPortDownDeletesOnce(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	require.True(t, strings.HasSuffix(n.ping(n.hosts["h1"], n.hosts["h3"]), ": ok"))
	n.advance(time.Second)
	require.Equal(t, 2, n.c.tracker.Len(), "h1>h3 and h3>h1 over s1-s2-s3")

	sw := n.sw[2]
	var desc ofproto.PhyPort
	for _, p := range sw.ports {
		if p.PortNo == 3 {
			desc = p
		}
	}
	desc.State |= ofproto.PortStateLinkDown
	fx := n.c.receive(sw.s, roundTrip(t, &ofproto.PortStatus{Reason: ofproto.PortModified, Desc: desc}), n.now)
	dels := map[string]int{}
	for _, o := range fx.out {
		if fm, ok := o.msg.(*ofproto.FlowMod); ok && fm.Command == ofproto.FlowDeleteStrict {
			dels[fmt.Sprintf("%d/%#x/%d", o.s.dpid, fm.Cookie, fm.Match.InPort)]++
		}
	}
	assert.Len(t, dels, 6, "two flows of three entries each")
	for k, c := range dels {
		assert.Equal(t, 1, c, "entry %s deleted %d times", k, c)
	}
	n.take(fx)
	n.run()
	assert.Zero(t, n.c.tracker.Len(), "every entry's FLOW_REMOVED came back")
}
