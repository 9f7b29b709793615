package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cemon-sdn/cemon/afps"
)

// TaskBackend runs monitoring tasks (package afps): a Backend that implements it gets
// the /api/v1/tasks endpoints. AddTask refuses a bad spec with an error wrapping
// afps.ErrBadTask, afps.ErrBadConfig or afps.ErrBadSampler (answered 400).
type TaskBackend interface {
	AddTask(spec afps.TaskSpec) (uint64, error)
	Tasks() []afps.TaskState
	Task(id uint64) (afps.TaskState, []afps.Value, bool)
	RemoveTask(id uint64) bool
}

// TaskRequest is the body of POST /api/v1/tasks.
type TaskRequest struct {
	Type         string        `json:"type"` // link_utilization, matrix or heavy_hitters
	Link         *TaskLink     `json:"link,omitempty"`
	Selector     *TaskSelector `json:"selector,omitempty"`
	Sampler      string        `json:"sampler,omitempty"`       // fixed, pt, ewmat, swt (default) or payless
	MinInterval  string        `json:"min_interval,omitempty"`  // default 250ms
	MaxInterval  string        `json:"max_interval,omitempty"`  // default 5s
	K            int           `json:"k,omitempty"`             // heavy hitters: top k, default 10
	ThresholdBps float64       `json:"threshold_bps,omitempty"` // heavy hitters: flows over this rate
}

// TaskLink names a directed link by the switch and port it leaves from.
type TaskLink struct {
	SrcDPID string `json:"src_dpid"`
	SrcPort uint16 `json:"src_port"`
}

// TaskSelector chooses a task's flows: to or from any of Hosts, or by Match; absent
// fields are wildcards.
type TaskSelector struct {
	Hosts []string   `json:"hosts,omitempty"`
	Match *TaskMatch `json:"match,omitempty"`
}

// TaskMatch selects flows by their 5-tuple.
type TaskMatch struct {
	NwSrc   string  `json:"nw_src,omitempty"`
	NwDst   string  `json:"nw_dst,omitempty"`
	NwProto *uint8  `json:"nw_proto,omitempty"`
	TpSrc   *uint16 `json:"tp_src,omitempty"`
	TpDst   *uint16 `json:"tp_dst,omitempty"`
}

// Task is a task's state.
type Task struct {
	ID          uint64      `json:"id"`
	Type        string      `json:"type"`
	Link        *TaskLink   `json:"link,omitempty"`
	Sampler     string      `json:"sampler"`
	MinInterval string      `json:"min_interval"`
	MaxInterval string      `json:"max_interval"`
	Flows       int         `json:"flows"`
	Requests    int64       `json:"requests"`
	Bytes       int64       `json:"bytes"`
	Value       TaskValue   `json:"value"`
	Series      []TaskValue `json:"series,omitempty"` // GET /api/v1/tasks/{id} only, oldest first
}

// TaskValue is a task's value at one instant.
type TaskValue struct {
	At      time.Time     `json:"at"`
	RateBps float64       `json:"rate_bps"` // sum over the task's flows, bits/s
	Matrix  []MatrixEntry `json:"matrix,omitempty"`
	Top     []TaskFlow    `json:"top,omitempty"`
	Over    []TaskFlow    `json:"over,omitempty"`
}

// TaskFlow is one flow of a heavy-hitters value.
type TaskFlow struct {
	ID      uint64  `json:"id"`
	Src     string  `json:"src"`
	Dst     string  `json:"dst"`
	RateBps float64 `json:"rate_bps"`
}

func init() { extensions = append(extensions, mountTasks) }

func mountTasks(r *routes, b Backend) {
	tb, ok := capability[TaskBackend](b)
	if !ok {
		return
	}
	s := taskServer{tb: tb}
	r.handle(http.MethodPost, "/api/v1/tasks", Op{Summary: "start a monitoring task (link utilization, traffic matrix or heavy hitters) sampled adaptively",
		Body: TaskRequest{}, Response: Task{}, Status: http.StatusCreated, Auth: true}, s.add)
	r.get("/api/v1/tasks", Op{Summary: "the monitoring tasks and their current values", Response: []Task{}}, s.list)
	r.get("/api/v1/tasks/{id}", Op{Summary: "one task: current value, recent series, requests and bytes spent", Response: Task{}}, s.get)
	r.handle(http.MethodDelete, "/api/v1/tasks/{id}", Op{Summary: "stop a monitoring task", Response: Task{}, Auth: true}, s.remove)
}

type taskServer struct{ tb TaskBackend }

// ParseTaskRequest turns a request body into a task spec, naming every bad field.
func ParseTaskRequest(q TaskRequest) (afps.TaskSpec, error) {
	var spec afps.TaskSpec
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{afps.ErrBadTask}, a...)...))
	}
	k, err := afps.ParseTaskKind(q.Type)
	if err != nil {
		bad("type %q: want link_utilization, matrix or heavy_hitters", q.Type)
	}
	spec.Kind, spec.K, spec.Threshold = k, q.K, q.ThresholdBps/8
	if q.Link != nil {
		d, err := strconv.ParseUint(strings.ReplaceAll(q.Link.SrcDPID, ":", ""), 16, 64)
		if err != nil || q.Link.SrcDPID == "" {
			bad("link.src_dpid %q: want up to 16 hex digits", q.Link.SrcDPID)
		}
		spec.Link = &afps.LinkRef{DPID: d, Port: q.Link.SrcPort}
	}
	if sel := q.Selector; sel != nil {
		for _, h := range sel.Hosts {
			a, err := netip.ParseAddr(h)
			if err != nil {
				bad("selector.hosts: %q is not an IP address", h)
				continue
			}
			spec.Selector.Hosts = append(spec.Selector.Hosts, a)
		}
		if m := sel.Match; m != nil {
			spec.Selector.Match = &afps.Match{NwProto: m.NwProto, TpSrc: m.TpSrc, TpDst: m.TpDst}
			for _, f := range []struct {
				name, v string
				dst     **netip.Addr
			}{{"nw_src", m.NwSrc, &spec.Selector.Match.NwSrc}, {"nw_dst", m.NwDst, &spec.Selector.Match.NwDst}} {
				if f.v == "" {
					continue
				}
				a, err := netip.ParseAddr(f.v)
				if err != nil {
					bad("selector.match.%s: %q is not an IP address", f.name, f.v)
					continue
				}
				*f.dst = &a
			}
		}
	}
	spec.Sampler.Kind = afps.SWT
	if q.Sampler != "" {
		if spec.Sampler.Kind, err = afps.ParseKind(q.Sampler); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []struct {
		name, v string
		dst     *time.Duration
	}{{"min_interval", q.MinInterval, &spec.Sampler.Min}, {"max_interval", q.MaxInterval, &spec.Sampler.Max}} {
		if f.v == "" {
			continue
		}
		d, err := time.ParseDuration(f.v)
		if err != nil || d <= 0 {
			bad("%s %q: want a positive duration such as 250ms", f.name, f.v)
			continue
		}
		*f.dst = d
	}
	if len(errs) == 0 {
		if err := spec.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return spec, errors.Join(errs...)
}

func badTask(err error) bool {
	return errors.Is(err, afps.ErrBadTask) || errors.Is(err, afps.ErrBadConfig) || errors.Is(err, afps.ErrBadSampler)
}

func (s taskServer) add(w http.ResponseWriter, req *http.Request) {
	var body TaskRequest
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "body must be a task: "+err.Error())
		return
	}
	spec, err := ParseTaskRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id, err := s.tb.AddTask(spec)
	if err != nil {
		status := http.StatusInternalServerError
		if badTask(err) {
			status = http.StatusBadRequest
		}
		writeError(w, status, err.Error())
		return
	}
	st, _, ok := s.tb.Task(id)
	if !ok {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("task %d vanished", id))
		return
	}
	writeJSON(w, http.StatusCreated, taskView(st, nil))
}

func (s taskServer) list(w http.ResponseWriter, _ *http.Request) {
	ts := s.tb.Tasks()
	out := make([]Task, 0, len(ts))
	for _, t := range ts {
		out = append(out, taskView(t, nil))
	}
	slices.SortFunc(out, func(a, b Task) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, out)
}

func taskID(w http.ResponseWriter, req *http.Request) (uint64, bool) {
	raw := req.PathValue("id")
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("task id %q is not a decimal unsigned 64-bit integer", raw))
		return 0, false
	}
	return id, true
}

func (s taskServer) get(w http.ResponseWriter, req *http.Request) {
	id, ok := taskID(w, req)
	if !ok {
		return
	}
	st, series, ok := s.tb.Task(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no task %d", id))
		return
	}
	writeJSON(w, http.StatusOK, taskView(st, series))
}

func (s taskServer) remove(w http.ResponseWriter, req *http.Request) {
	id, ok := taskID(w, req)
	if !ok {
		return
	}
	st, _, ok := s.tb.Task(id)
	if !ok || !s.tb.RemoveTask(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no task %d", id))
		return
	}
	writeJSON(w, http.StatusOK, taskView(st, nil))
}

var taskTypeNames = map[afps.TaskKind]string{afps.LinkUtilization: "link_utilization", afps.Matrix: "matrix", afps.HeavyHitters: "heavy_hitters"}

func taskView(st afps.TaskState, series []afps.Value) Task {
	c := st.Spec.Sampler.WithDefaults()
	t := Task{ID: st.ID, Type: taskTypeNames[st.Spec.Kind], Sampler: c.Kind.String(), MinInterval: c.Min.String(),
		MaxInterval: c.Max.String(), Flows: st.Flows, Requests: st.Requests, Bytes: st.Bytes, Value: taskValue(st.Value)}
	if l := st.Spec.Link; l != nil {
		t.Link = &TaskLink{SrcDPID: fmt.Sprintf("%016x", l.DPID), SrcPort: l.Port}
	}
	for _, v := range series {
		t.Series = append(t.Series, taskValue(v))
	}
	return t
}

func taskValue(v afps.Value) TaskValue {
	out := TaskValue{At: v.At, RateBps: 8 * v.Sum}
	for hp, r := range v.Matrix {
		out.Matrix = append(out.Matrix, MatrixEntry{Src: hp.Src.String(), Dst: hp.Dst.String(), RateBps: 8 * r})
	}
	slices.SortFunc(out.Matrix, func(a, b MatrixEntry) int { return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst)) })
	conv := func(rs []afps.FlowRate) []TaskFlow {
		var o []TaskFlow
		for _, r := range rs {
			o = append(o, TaskFlow{ID: r.ID, Src: r.Hosts.Src.String(), Dst: r.Hosts.Dst.String(), RateBps: 8 * r.Rate})
		}
		return o
	}
	out.Top, out.Over = conv(v.Top), conv(v.Over)
	return out
}

// WithTasks returns a Backend that serves b's views and capabilities and the
// monitoring-task endpoints from t.
func WithTasks(b Backend, t TaskBackend) Backend {
	if b == nil {
		b = noBackend{}
	}
	return taskBackend{Backend: b, TaskBackend: t}
}

type taskBackend struct {
	Backend
	TaskBackend
}

// Unwrap returns the wrapped Backend, whose other capabilities stay visible.
func (t taskBackend) Unwrap() Backend { return t.Backend }
