package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxRequestBody bounds what a request may carry; every endpoint is a GET and reads
// no body, so anything larger is refused as soon as a handler would read it.
const maxRequestBody = 4 << 10

// maxMigrationBody bounds the migration endpoints' bodies: records carry their
// rounds and plan requests load histories.
const maxMigrationBody = 1 << 20

func bodyLimit(path string) int64 {
	if strings.HasPrefix(path, "/api/v1/migration/") {
		return maxMigrationBody
	}
	return maxRequestBody
}

// extension mounts additional endpoints when the Backend offers a capability. Files
// of this package that add optional interfaces (statistics, say) append one to
// extensions from init; it receives the route table and the Backend, and registers
// routes only when the type assertion succeeds.
type extension func(r *routes, b Backend)

var extensions []extension

// routes collects GET endpoints so that each path also answers other methods with
// a JSON 405. Extensions may register other methods on the same paths directly on
// mux ("PUT /api/v1/..."); the 405 answer's Allow header lists them too.
type routes struct {
	slots  chan struct{} // list requests in progress
	mux    *http.ServeMux
	ops    []route
	closed map[string]bool // paths that already answer other methods with 405
}

// get registers h for GET (and HEAD) on path, allowing only the query parameters
// op lists; any other method is answered 405 unless registered with handle.
func (r *routes) get(path string, op Op, h http.HandlerFunc) {
	r.handle(http.MethodGet, path, op, h)
}

// handle registers h for method on path with its description op; every route of
// the API is registered through it, so that the OpenAPI document lists exactly what
// is served.
func (r *routes) handle(method, path string, op Op, h http.HandlerFunc) {
	allowed := make([]string, 0, len(op.Query))
	for _, q := range op.Query {
		allowed = append(allowed, q.Name)
	}
	if op.list {
		if r.slots == nil {
			r.slots = make(chan struct{}, MaxConcurrentLists)
		}
		h = bounded(r.slots, h)
	}
	r.mux.Handle(method+" "+path, checkQuery(allowed, h))
	r.ops = append(r.ops, route{method: method, path: path, op: op})
	if !r.closed[path] {
		if r.closed == nil {
			r.closed = map[string]bool{}
		}
		r.closed[path] = true
		r.mux.HandleFunc(path, r.methodNotAllowed)
	}
}

// Routes returns the method and path pattern of every operation h serves, in the
// order they were registered; h must come from NewHandler.
func Routes(h http.Handler) [][2]string {
	ah, ok := h.(*apiHandler)
	if !ok {
		return nil
	}
	out := make([][2]string, 0, len(ah.r.ops))
	for _, o := range ah.r.ops {
		out = append(out, [2]string{o.method, o.path})
	}
	return out
}

// apiHandler is what NewHandler returns.
type apiHandler struct {
	r *routes
	h http.Handler
}

func (a *apiHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) { a.h.ServeHTTP(w, req) }

// wrapHandler, when set (by this package's tests), wraps every handler NewHandler
// builds, with the OpenAPI document it serves: the tests validate every response
// against it.
var wrapHandler func(h http.Handler, doc []byte) http.Handler

// methodNotAllowed answers 405 with the methods the mux serves for the request's
// path in Allow.
func (r *routes) methodNotAllowed(w http.ResponseWriter, req *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: req.URL, Host: req.Host, Header: http.Header{}}
		if _, pattern := r.mux.Handler(probe); strings.HasPrefix(pattern, m+" ") ||
			(m == http.MethodHead && strings.HasPrefix(pattern, "GET ")) {
			allow = append(allow, m)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, req.Method+" not allowed here")
}

// NewHandler returns the HTTP handler of the REST API over b. When reg is not nil
// the handler also serves /metrics from it. A nil b serves empty lists and reports
// itself unhealthy on /healthz.
func NewHandler(b Backend, reg prometheus.Gatherer) http.Handler {
	if b == nil {
		b = noBackend{}
	}
	r := &routes{mux: http.NewServeMux()}
	s := server{b: b}
	dpid := Param{Name: "dpid", Description: "keep what touches this switch (16 hex digits, or fewer)"}
	r.get("/api/v1/switches", listOp(Op{Summary: "connected switches, by dpid", Response: []Switch{}}), s.switches)
	r.get("/api/v1/links", listOp(Op{Summary: "discovered links, one per direction", Query: []Param{dpid}, Response: []Link{}}), s.links)
	r.get("/api/v1/hosts", listOp(Op{Summary: "located hosts", Query: []Param{dpid}, Response: []Host{}}), s.hosts)
	flowsQuery := []Param{{Name: "state", Description: "active, draining or expired, or a comma-separated list of them"}, dpid}
	if cp, ok := capability[ClusterProvider](b); ok { // in a cluster: the whole network's, every instance's pages merged (federate.go)
		r.get("/api/v1/flows", listOp(Op{Summary: "active, draining and recently expired flows of the whole network, by id, unless scope=local",
			Query: append(flowsQuery, scopeParam), Response: []Flow{}, Headers: flowListHeaders}), federatedPage(cp, "/api/v1/flows", s.flowList, flowKey, recordFlow))
	} else {
		r.get("/api/v1/flows", listOp(Op{Summary: "active, draining and recently expired flows, by id", Query: flowsQuery,
			Response: []Flow{}}), s.flows)
	}
	if cp, ok := capability[ClusterProvider](b); ok { // in a cluster: from the flow's owner (federate.go)
		r.get("/api/v1/flows/{id}", Op{Summary: "one flow, from the instance that owns it unless scope=local", Query: []Param{flowScopeParam},
			Response: Flow{}}, fromOwner(cp, func(id uint64) bool { _, ok := b.Flow(id); return ok }, s.flow))
	} else {
		r.get("/api/v1/flows/{id}", Op{Summary: "one flow", Response: Flow{}}, s.flow)
	}
	r.get("/healthz", Op{Summary: "liveness: ok, or 503 with the reason", Response: map[string]string{}}, s.healthz)
	r.get("/{$}", Op{Summary: "the operator console", ContentType: "text/html"}, serveIndex)
	if reg != nil {
		m := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
		r.get("/metrics", Op{Summary: "Prometheus metrics", ContentType: "text/plain"}, m.ServeHTTP)
	}
	for _, ext := range extensions {
		ext(r, b)
	}
	var doc []byte
	r.get("/api/v1/openapi.json", Op{Summary: "this document (OpenAPI 3.0)", Response: map[string]any{}},
		func(w http.ResponseWriter, req *http.Request) { serveDocument(doc)(w, req) })
	doc = mustJSON(document(r.ops))
	r.mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+req.URL.Path)
	})
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = http.MaxBytesReader(w, req.Body, bodyLimit(req.URL.Path))
		r.mux.ServeHTTP(w, req)
	})
	if wrapHandler != nil {
		h = wrapHandler(h, doc)
	}
	return &apiHandler{r: r, h: h}
}

// ErrNoBackend is what /healthz reports when NewHandler was given no Backend.
var ErrNoBackend = errors.New("api: no backend")

// noBackend stands in for a nil Backend.
type noBackend struct{}

func (noBackend) Switches() []Switch       { return nil }
func (noBackend) Links() []Link            { return nil }
func (noBackend) Hosts() []Host            { return nil }
func (noBackend) Flows() []Flow            { return nil }
func (noBackend) Flow(uint64) (Flow, bool) { return Flow{}, false }
func (noBackend) Health() error            { return ErrNoBackend }

// server answers the endpoints from a Backend.
type server struct {
	b Backend
}

func (s server) switches(w http.ResponseWriter, req *http.Request) {
	sw := slices.Clone(s.b.Switches())
	for i := range sw {
		if sw[i].Ports == nil {
			sw[i].Ports = []Port{}
		}
	}
	writeList(w, req, sw, func(x *Switch) string { return x.DPID })
}

func (s server) links(w http.ResponseWriter, req *http.Request) {
	dpid, ok := dpidParam(w, req.URL.Query())
	if !ok {
		return
	}
	var out []Link
	for _, l := range s.b.Links() {
		if dpid == "" || l.SrcDPID == dpid || l.DstDPID == dpid {
			out = append(out, l)
		}
	}
	writeList(w, req, out, func(x *Link) string { return linkKey(x.SrcDPID, x.SrcPort, x.DstDPID, x.DstPort) })
}

func (s server) hosts(w http.ResponseWriter, req *http.Request) {
	dpid, ok := dpidParam(w, req.URL.Query())
	if !ok {
		return
	}
	var out []Host
	for _, h := range s.b.Hosts() {
		if dpid == "" || h.DPID == dpid {
			out = append(out, h)
		}
	}
	writeList(w, req, out, func(x *Host) string { return x.MAC + "/" + x.IP })
}

func (s server) flows(w http.ResponseWriter, req *http.Request) {
	if out, ok := s.flowList(w, req); ok {
		writeList(w, req, out, flowKey)
	}
}

func flowKey(x *Flow) string { return idKey(x.ID) }

// flowList is this instance's flows that the query's filters keep; on bad input it
// answers 400 and returns false.
func (s server) flowList(w http.ResponseWriter, req *http.Request) ([]Flow, bool) {
	q := req.URL.Query()
	dpid, ok := dpidParam(w, q)
	if !ok {
		return nil, false
	}
	if len(q["state"]) > 1 {
		writeError(w, http.StatusBadRequest, "state: given more than once")
		return nil, false
	}
	var states []string // nil: every state
	if v := q.Get("state"); v != "" {
		states = strings.Split(v, ",")
		for _, st := range states {
			if !slices.Contains(flowStates, st) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("state: %q is not one of %s (or a comma-separated list of them)",
					st, strings.Join(flowStates, ", ")))
				return nil, false
			}
		}
	}
	var out []Flow
	for _, f := range s.b.Flows() {
		if states != nil && !slices.Contains(states, f.State) {
			continue
		}
		if dpid != "" && !slices.Contains(f.Path, dpid) {
			continue
		}
		out = append(out, normalizeFlow(f))
	}
	return out, true
}

func (s server) flow(w http.ResponseWriter, req *http.Request) {
	id, ok := flowIDParam(w, req)
	if !ok {
		return
	}
	f, ok := s.b.Flow(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no flow with id %d", id))
		return
	}
	writeJSON(w, http.StatusOK, normalizeFlow(f))
}

func (s server) healthz(w http.ResponseWriter, _ *http.Request) {
	if hc, ok := capability[HealthChecker](s.b); ok {
		if err := hc.Health(); err != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// normalizeFlow makes empty lists encode as [] rather than null.
func normalizeFlow(f Flow) Flow {
	if f.Path == nil {
		f.Path = []string{}
	}
	if f.Entries == nil {
		f.Entries = []FlowEntry{}
	}
	return f
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkQuery refuses requests carrying query parameters outside allowed, and
// requests whose query string does not parse.
func checkQuery(allowed []string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil {
			writeError(w, http.StatusBadRequest, "malformed query string: "+err.Error())
			return
		}
		for name := range q {
			if !slices.Contains(allowed, name) {
				msg := fmt.Sprintf("unknown query parameter %q", name)
				if len(allowed) > 0 {
					msg += " (allowed: " + strings.Join(allowed, ", ") + ")"
				}
				writeError(w, http.StatusBadRequest, msg)
				return
			}
		}
		h(w, req)
	})
}

// flowIDParam reads the {id} of a flow path (a decimal unsigned 64-bit integer); on
// a bad value it answers 400 and returns false.
func flowIDParam(w http.ResponseWriter, req *http.Request) (uint64, bool) {
	raw := req.PathValue("id")
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("flow id %q is not a decimal unsigned 64-bit integer", raw))
		return 0, false
	}
	return id, true
}

// dpidParam reads the optional dpid filter; on a bad value it answers 400 and
// returns false.
func dpidParam(w http.ResponseWriter, q url.Values) (string, bool) {
	vs := q["dpid"]
	switch {
	case len(vs) == 0:
		return "", true
	case len(vs) > 1:
		writeError(w, http.StatusBadRequest, "dpid: given more than once")
		return "", false
	}
	d, err := ParseDPID(vs[0])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return d, true
}

// ParseDPID accepts a datapath id as 16 hex digits, optionally separated by colons
// in pairs ("00:00:00:00:00:00:00:0a"), and returns the canonical form used in every
// answer: 16 lower-case hex digits.
func ParseDPID(s string) (string, error) {
	h := s
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) != 8 {
			return "", fmt.Errorf("api: dpid %q: want 16 hex digits or 8 colon-separated pairs", s)
		}
		for _, p := range parts {
			if len(p) != 2 {
				return "", fmt.Errorf("api: dpid %q: want 16 hex digits or 8 colon-separated pairs", s)
			}
		}
		h = strings.Join(parts, "")
	}
	if len(h) != 16 {
		return "", fmt.Errorf("api: dpid %q: want 16 hex digits", s)
	}
	if _, err := strconv.ParseUint(h, 16, 64); err != nil {
		return "", fmt.Errorf("api: dpid %q: not hexadecimal", s)
	}
	return strings.ToLower(h), nil
}

// FormatDPID formats a datapath id as the API writes it: 16 lower-case hex digits.
func FormatDPID(dpid uint64) string {
	return fmt.Sprintf("%016x", dpid)
}

// FormatCookie formats a flow cookie as the API writes it: "0x" and 16 hex digits.
func FormatCookie(cookie uint64) string {
	return fmt.Sprintf("0x%016x", cookie)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, reason string) {
	body, _ := json.Marshal(Error{Error: reason, Status: status}) // cannot fail: two plain fields
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
