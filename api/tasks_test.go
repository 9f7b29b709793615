package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/mcps"
)

// fakeTasks serves tasks from a real afps.Monitor at a fixed clock.
type fakeTasks struct {
	noBackend
	mu  sync.Mutex
	m   *afps.Monitor
	now time.Time
}

func (f *fakeTasks) AddTask(s afps.TaskSpec) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m.AddTask(s, f.now)
}
func (f *fakeTasks) Tasks() []afps.TaskState { f.mu.Lock(); defer f.mu.Unlock(); return f.m.Tasks() }
func (f *fakeTasks) Task(id uint64) (afps.TaskState, []afps.Value, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m.Task(id)
}
func (f *fakeTasks) RemoveTask(id uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m.RemoveTask(id)
}

func doTask(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func TestTasksREST(t *testing.T) {
	m, err := afps.NewMonitor(mcps.Network{Switches: 1}, false, 10)
	require.NoError(t, err)
	t0 := time.Unix(1000, 0)
	fb := &fakeTasks{m: m, now: t0}
	h := NewHandler(fb, nil)
	code, body := doTask(t, h, http.MethodPost, "/api/v1/tasks",
		`{"type": "link_utilization", "link": {"src_dpid": "0000000000000002", "src_port": 3}, "sampler": "swt", "min_interval": "250ms", "max_interval": "5s"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var task Task
	require.NoError(t, json.Unmarshal([]byte(body), &task))
	assert.Equal(t, "link_utilization", task.Type)
	assert.Equal(t, "swt", task.Sampler)
	assert.Equal(t, "0000000000000002", task.Link.SrcDPID)
	// a flow on that link, read twice
	require.NoError(t, m.OnArrive(t0, afps.FlowInfo{ID: 9, Key: afps.FlowKey{Proto: 6, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		Switches: []int32{0}, Links: []afps.LinkRef{{DPID: 2, Port: 3}}}))
	for _, q := range m.Due(t0.Add(time.Second), nil) {
		m.OnReading(t0.Add(time.Second), q.Flow, 125000)
	}
	m.Evaluate(t0.Add(time.Second))
	code, body = doTask(t, h, http.MethodGet, "/api/v1/tasks/1", "")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &task))
	assert.Equal(t, 1, task.Flows)
	assert.Equal(t, int64(1), task.Requests)
	assert.InDelta(t, 1e6, task.Value.RateBps, 1e-6, "125000 B in 1 s = 1 Mbit/s")
	require.Len(t, task.Series, 1)
	code, body = doTask(t, h, http.MethodPost, "/api/v1/tasks", `{"type": "heavy_hitters", "selector": {"match": {"nw_dst": "10.0.0.2", "tp_dst": 5201}}, "k": 3}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = doTask(t, h, http.MethodPost, "/api/v1/tasks", `{"type": "matrix", "selector": {"hosts": ["10.0.0.1"]}, "sampler": "payless"}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = doTask(t, h, http.MethodGet, "/api/v1/tasks", "")
	require.Equal(t, http.StatusOK, code)
	var list []Task
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list, 3)
	assert.Equal(t, []uint64{1, 2, 3}, []uint64{list[0].ID, list[1].ID, list[2].ID})
	code, _ = doTask(t, h, http.MethodDelete, "/api/v1/tasks/2", "")
	assert.Equal(t, http.StatusOK, code)
	code, body = doTask(t, h, http.MethodDelete, "/api/v1/tasks/2", "")
	assert.Equal(t, http.StatusNotFound, code, body)
	code, _ = doTask(t, h, http.MethodGet, "/api/v1/tasks/2", "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = doTask(t, h, http.MethodGet, "/api/v1/tasks/x", "")
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestTasksRESTBadBodies(t *testing.T) {
	m, err := afps.NewMonitor(mcps.Network{Switches: 1}, false, 10)
	require.NoError(t, err)
	h := NewHandler(&fakeTasks{m: m, now: time.Unix(0, 0)}, nil)
	for _, tc := range []struct{ body, want string }{
		{`not json`, "body must be a task"},
		{`{"type": "nope"}`, "type"},
		{`{"type": "link_utilization"}`, "needs a link"},
		{`{"type": "link_utilization", "link": {"src_dpid": "zz", "src_port": 1}}`, "src_dpid"},
		{`{"type": "matrix", "sampler": "magic"}`, "unknown sampler"},
		{`{"type": "matrix", "min_interval": "fast"}`, "min_interval"},
		{`{"type": "matrix", "min_interval": "5s", "max_interval": "1s"}`, "below min"},
		{`{"type": "matrix", "selector": {"hosts": ["10.0.0.300"]}}`, "selector.hosts"},
		{`{"type": "heavy_hitters", "selector": {"match": {"nw_src": "x"}}}`, "nw_src"},
		{`{"type": "heavy_hitters", "k": -1}`, "k -1"},
		{`{"type": "matrix", "extra": 1}`, "unknown field"},
	} {
		code, body := doTask(t, h, http.MethodPost, "/api/v1/tasks", tc.body)
		assert.Equal(t, http.StatusBadRequest, code, tc.body)
		var e Error
		require.NoError(t, json.Unmarshal([]byte(body), &e), body)
		assert.Contains(t, e.Error, tc.want, tc.body)
	}
	assert.Empty(t, m.Tasks())
}

// samplerStats takes a sampler with the strategy.
type samplerStats struct {
	*fakeStats
	sampler string
}

func (s *samplerStats) SetPollingSampler(strategy, sampler string) error {
	if sampler != "swt" && sampler != "pt" {
		return fmt.Errorf("%w: sampler %q", ErrBadStrategy, sampler)
	}
	s.sampler = sampler
	return s.SetPollingStrategy(strategy)
}

func TestPutPollingSampler(t *testing.T) {
	h := NewHandler(WithStats(testBackend(), &fakeStats{strategy: "mcps"}), nil)
	code, body := doStats(t, h, "PUT", "/api/v1/polling", `{"strategy": "mcps", "sampler": "swt"}`)
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.Contains(t, body, "takes no sampler")
	ss := &samplerStats{fakeStats: &fakeStats{strategy: "mcps"}}
	h = NewHandler(WithStats(testBackend(), ss), nil)
	code, body = doStats(t, h, "PUT", "/api/v1/polling", `{"strategy": "poll-all", "sampler": "pt"}`)
	assert.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "pt", ss.sampler)
	code, _ = doStats(t, h, "PUT", "/api/v1/polling", `{"strategy": "poll-all", "sampler": "magic"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = doStats(t, h, "PUT", "/api/v1/polling", `{"strategy": "mcps"}`)
	assert.Equal(t, http.StatusOK, code)
}

// TestTasksThroughWrappers: tasks given with WithTasks are served beside the
// statistics, and wrapping hides neither.
func TestTasksThroughWrappers(t *testing.T) {
	m, err := afps.NewMonitor(mcps.Network{Switches: 1}, false, 10)
	require.NoError(t, err)
	h := NewHandler(WithTasks(WithStats(testBackend(), &fakeStats{}), &fakeTasks{m: m, now: time.Unix(1000, 0)}), nil)
	code, body := doTask(t, h, http.MethodGet, "/api/v1/tasks", "")
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `[]`, body)
	code, _ = doTask(t, h, http.MethodGet, "/api/v1/polling", "")
	require.Equal(t, http.StatusOK, code)
}
