package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/cluster/etcdtest"
)

func TestParseHops(t *testing.T) {
	got, err := parseHops("1=1, 0x0a=3 00:00:00:00:00:00:00:0b=0")
	require.NoError(t, err)
	assert.Equal(t, map[uint64]int{1: 1, 10: 3, 11: 0}, got)
	f := filepath.Join(t.TempDir(), "hops")
	require.NoError(t, os.WriteFile(f, []byte("# instance a\n1=2\n2=4 # far\n"), 0o600))
	got, err = parseHops("@" + f)
	require.NoError(t, err)
	assert.Equal(t, map[uint64]int{1: 2, 2: 4}, got)
	for _, bad := range []string{"1", "x=1", "1=-1", "1=a", "", "11111111111111111=1", "@/nonexistent"} {
		_, err := parseHops(bad)
		assert.Error(t, err, bad)
	}
}

func TestRunClusterFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-cluster-endpoints", "http://127.0.0.1:1", "-instance-id", "a/b"}, "ID"},
		{[]string{"-cluster-endpoints", "http://127.0.0.1:1", "-instance-id", "a", "-cluster-hops", "1"}, "-cluster-hops"},
		{[]string{"-cluster-endpoints", "http://127.0.0.1:1", "-instance-id", "a", "-cluster-lease", "1500ms"}, "LeaseTTL"},
	} {
		var out, errb bytes.Buffer
		code := runController(context.Background(), append(tc.args, "-api-listen", ""), &out, &errb)
		assert.Equal(t, 2, code, errb.String())
		assert.Contains(t, errb.String(), tc.want)
	}
}

// TestRunInCluster: cemon run with -cluster-endpoints joins, is elected (alone) and
// answers GET /api/v1/cluster; stopping it leaves the cluster at once.
func TestRunInCluster(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runController(ctx, []string{"-of-listen", "127.0.0.1:0", "-api-listen", "127.0.0.1:0",
			"-data-dir", t.TempDir(), "-cluster-endpoints", strings.Join(etcd.Endpoints(), ","),
			"-instance-id", "one", "-cluster-hops", "1=2"}, &out, &errb)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, 0, code, errb.String())
		case <-time.After(20 * time.Second):
			t.Error("cemon run did not stop")
		}
	}()
	re := regexp.MustCompile(`REST API on http://([0-9.:]+)/`)
	var addr string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 10*time.Second, 20*time.Millisecond)
	var st api.ClusterStatus
	require.Eventually(t, func() bool {
		res, err := http.Get("http://" + addr + "/api/v1/cluster")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&st) != nil {
			return false
		}
		return st.Connected && st.IsLeader && st.Revision > 0
	}, 10*time.Second, 50*time.Millisecond, "%+v", st)
	assert.Equal(t, "one", st.ID)
	require.Len(t, st.Members, 1)
	assert.Equal(t, addr, strings.TrimPrefix(st.Members[0].API, "http://"))
}
