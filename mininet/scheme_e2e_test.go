package mininet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/cluster/etcdtest"
)

// TestE2EClusterSchemeCost: the same traffic as TestE2EClusterPollingCost on
// linear,6 with three instances, polled once by each instance's own MCPS scheme
// (-cluster-scheme local) and once by the leader's global scheme: the flow
// statistics bytes on the wire (tshark), weighted by the configured hops between
// each switch and the instance that polled it. About a minute.
func TestE2EClusterSchemeCost(t *testing.T) {
	skipUnlessE2E(t)
	if m := missingTools("tshark"); len(m) > 0 {
		t.Skip("needs tshark")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	bin := cemonBin(t)
	etcd := etcdtest.Start(t, 3)
	eps := strings.Join(etcd.Endpoints(), ",")
	ids := []string{"a", "b", "c"}
	local, localRaw := pollingPhase(t, ctx, bin, linearCost, ids, eps, "--cluster-scheme", "local")
	etcd2 := etcdtest.Start(t, 3) // a fresh store: no flows nor scheme of the first phase
	global, globalRaw := pollingPhase(t, ctx, bin, linearCost, ids, strings.Join(etcd2.Endpoints(), ","), "--cluster-scheme", "global")
	t.Logf("flow statistics on the wire over 10 s, weighted by hops (unweighted), three instances: own schemes %d B (%d B), global scheme %d B (%d B): %.1f %% less",
		local, localRaw, global, globalRaw, 100*(1-float64(global)/float64(local)))
	require.Positive(t, local)
	require.Positive(t, global)
}
