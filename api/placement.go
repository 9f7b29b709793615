package api

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/stats"
	"github.com/cemon-sdn/cemon/store"
)

// Inventory and placement endpoints, mounted when the Backend (or one it
// wraps) implements [PlacementBackend]:
//
//	/api/v1/servers            every server (GET)
//	/api/v1/servers/{id}       one server (GET, PUT a placement.Server, DELETE;
//	                           409 while VMs are on it)
//	/api/v1/vms                every VM with its measured rates and the network
//	                           host it was matched to, or why none (GET)
//	/api/v1/vms/{id}           one VM (GET, PUT a placement.VM, DELETE)
//	/api/v1/placement          the current load of every server in every
//	                           dimension, its NIC load from measured traffic
//	/api/v1/placement/plan     POST {"policy": NAME}: a plan from scratch, the
//	                           same object as `cemon place --json`
//
// Bodies are one JSON object with no unknown fields and nothing after it; a
// bad one is answered 400 naming the field. Writes need the bearer token when
// Config.Token is set.

// PlacementBackend is the optional capability behind the placement endpoints.
type PlacementBackend interface {
	// Inventory is where servers and VMs are kept (a *store.Store).
	Inventory() InventoryStore
	// Counters is the live statistics; nil when there are none.
	Counters() stats.Reader
	// Hops returns the links between two servers' attachment points when
	// the topology knows them; otherwise the rack defaults apply.
	Hops(a, b placement.Server) (int, bool)
}

// InventoryStore keeps servers and VMs; *store.Store implements it. Missing
// records are store.ErrNotFound; a VM on an unknown server
// store.ErrUnknownServer; a server still in use store.ErrServerInUse.
type InventoryStore interface {
	PutServer(placement.Server) error
	Server(id string) (placement.Server, error)
	DeleteServer(id string) error
	PutVM(placement.VM) error
	VM(id string) (placement.VM, error)
	DeleteVM(id string) error
	Inventory() (placement.Inventory, error)
}

var _ InventoryStore = (*store.Store)(nil)

// WithPlacement returns a Backend that serves b's views and capabilities and
// the placement endpoints from p.
func WithPlacement(b Backend, p PlacementBackend) Backend {
	if b == nil {
		b = noBackend{}
	}
	return placementBackend{Backend: b, PlacementBackend: p}
}

type placementBackend struct {
	Backend
	PlacementBackend
}

func (p placementBackend) Unwrap() Backend { return p.Backend }

// Health forwards to the wrapped Backend when it is a HealthChecker.
func (p placementBackend) Health() error {
	if hc, ok := capability[HealthChecker](p.Backend); ok {
		return hc.Health()
	}
	return nil
}

// VMView is a VM with what the network says of it.
type VMView struct {
	placement.VM
	Network placement.HostMatch `json:"network"`
	// Host is where discovery located the host with the VM's MAC or IP;
	// null when it has not been seen.
	Host *Host `json:"host"`
}

// ServerPlacement is one server's current load.
type ServerPlacement struct {
	placement.ServerLoad
	DPID         string  `json:"dpid"`
	Port         uint16  `json:"port"`
	NICBps       float64 `json:"nic_bps"`
	NICOutBytes  uint64  `json:"nic_out_bytes"` // cumulative, from the flows' counters
	NICInBytes   uint64  `json:"nic_in_bytes"`
	LocalBps     float64 `json:"local_bps"` // traffic between its own VMs, kept off the NIC
	PredictedBps float64 `json:"predicted_bps"`
}

// PlacementView is the answer of GET /api/v1/placement.
type PlacementView struct {
	Score    placement.Score     `json:"score"`
	Servers  []ServerPlacement   `json:"servers"`
	VMs      []placement.VMShare `json:"vms"`
	Unplaced []string            `json:"unplaced"` // VMs with no server
}

func init() { extensions = append(extensions, mountPlacement) }

func mountPlacement(r *routes, b Backend) {
	pb, ok := capability[PlacementBackend](b)
	if !ok {
		return
	}
	s := placementServer{pb: pb, b: b}
	r.get("/api/v1/servers", listOp(Op{Summary: "every server of the inventory, by id", Response: []placement.Server{}}), s.servers)
	r.get("/api/v1/servers/{id}", Op{Summary: "one server", Response: placement.Server{}}, s.server)
	r.handle(http.MethodPut, "/api/v1/servers/{id}", Op{Summary: "add or replace a server", Body: placement.Server{},
		Response: placement.Server{}, Auth: true}, s.putServer)
	r.handle(http.MethodDelete, "/api/v1/servers/{id}", Op{Summary: "remove a server (409 while VMs are on it)",
		Status: http.StatusNoContent, Auth: true}, s.deleteServer)
	r.get("/api/v1/vms", listOp(Op{Summary: "every VM with its measured rates and the network host it was matched to, or why none",
		Response: []VMView{}}), s.vms)
	r.get("/api/v1/vms/{id}", Op{Summary: "one VM", Response: placement.VM{}}, s.vm)
	r.handle(http.MethodPut, "/api/v1/vms/{id}", Op{Summary: "add or replace a VM", Body: placement.VM{},
		Response: placement.VM{}, Auth: true}, s.putVM)
	r.handle(http.MethodDelete, "/api/v1/vms/{id}", Op{Summary: "remove a VM", Status: http.StatusNoContent, Auth: true}, s.deleteVM)
	r.get("/api/v1/placement", Op{Summary: "each server's current load in every dimension, its NIC load from the measured traffic",
		Response: PlacementView{}}, s.placement)
	r.handle(http.MethodPost, "/api/v1/placement/plan", Op{Summary: "a placement plan from scratch by a policy, over the measured traffic",
		Body: PlanRequest{}, Response: placement.Plan{}, Auth: true}, s.plan)
}

// PlanRequest is the body of POST /api/v1/placement/plan.
type PlanRequest struct {
	Policy string `json:"policy"` // consolidate, balance, traffic-aware, cpu-best-fit or cpu-balance
}

type placementServer struct {
	pb PlacementBackend
	b  Backend // for the located hosts
}

// storeError answers a store error with the status it deserves.
func storeError(w http.ResponseWriter, what string, err error) {
	var fe *placement.FieldError
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such "+what)
	case errors.Is(err, store.ErrServerInUse):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrUnknownServer), errors.As(err, &fe), errors.Is(err, placement.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// decodeBody reads the request body, one JSON value, into v, and answers the
// request itself when it cannot: 413 past the size limit, 400 naming the field for an
// unknown field or a wrong type, and 400 for anything after the value.
func decodeBody(w http.ResponseWriter, req *http.Request, v any) bool {
	data, err := io.ReadAll(req.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", mb.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return false
	}
	if err := placement.DecodeStrict(data, v); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// pathID checks the id in the path and the body's (which may be empty).
func pathID(w http.ResponseWriter, req *http.Request, bodyID *string) bool {
	id := req.PathValue("id")
	if *bodyID == "" {
		*bodyID = id
	}
	if *bodyID != id {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id: %q in the body, %q in the path", *bodyID, id))
		return false
	}
	return true
}

func (s placementServer) servers(w http.ResponseWriter, req *http.Request) {
	inv, err := s.pb.Inventory().Inventory()
	if err != nil {
		storeError(w, "server", err)
		return
	}
	writeList(w, req, inv.Servers, func(x *placement.Server) string { return x.ID })
}

func (s placementServer) server(w http.ResponseWriter, req *http.Request) {
	sv, err := s.pb.Inventory().Server(req.PathValue("id"))
	if err != nil {
		storeError(w, "server "+req.PathValue("id"), err)
		return
	}
	writeJSON(w, http.StatusOK, sv)
}

func (s placementServer) putServer(w http.ResponseWriter, req *http.Request) {
	var sv placement.Server
	if !decodeBody(w, req, &sv) || !pathID(w, req, &sv.ID) {
		return
	}
	if err := sv.Validate(""); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.pb.Inventory().PutServer(sv); err != nil {
		storeError(w, "server", err)
		return
	}
	writeJSON(w, http.StatusOK, sv)
}

func (s placementServer) deleteServer(w http.ResponseWriter, req *http.Request) {
	if err := s.pb.Inventory().DeleteServer(req.PathValue("id")); err != nil {
		storeError(w, "server "+req.PathValue("id"), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// measured is the stored inventory with the measured traffic and the topology's
// hops.
func (s placementServer) measured() (placement.Measured, error) {
	inv, err := s.pb.Inventory().Inventory()
	if err != nil {
		return placement.Measured{}, err
	}
	var m placement.Measured
	if r := s.pb.Counters(); r != nil {
		m = placement.FromReader(r, inv)
	} else {
		m = placement.Measured{Inventory: inv}
		for _, v := range inv.VMs {
			m.Hosts = append(m.Hosts, placement.HostMatch{VM: v.ID, Hosts: []string{}, Reason: "no statistics are collected"})
		}
	}
	for i, a := range inv.Servers {
		for _, b := range inv.Servers[i+1:] {
			if h, ok := s.pb.Hops(a, b); ok && h >= 1 && h <= 1000 {
				m.Inventory.Hops = append(m.Inventory.Hops, placement.Hops{A: a.ID, B: b.ID, Hops: h})
			}
		}
	}
	return m, nil
}

func (s placementServer) vms(w http.ResponseWriter, req *http.Request) {
	m, err := s.measured()
	if err != nil {
		storeError(w, "VM", err)
		return
	}
	byMAC, byIP := map[string]Host{}, map[string]Host{}
	for _, h := range s.b.Hosts() {
		if mac := placement.NormalMAC(h.MAC); mac != "" {
			byMAC[mac] = h
		}
		if ip := placement.NormalIP(h.IP); ip != "" {
			byIP[ip] = h
		}
	}
	out := make([]VMView, len(m.Inventory.VMs))
	for i, v := range m.Inventory.VMs {
		out[i] = VMView{VM: v, Network: m.Hosts[i]}
		h, ok := byMAC[placement.NormalMAC(v.MAC)]
		if !ok {
			h, ok = byIP[placement.NormalIP(v.IP)]
		}
		if ok {
			out[i].Host = &h
			if !out[i].Network.Matched {
				out[i].Network.Reason = fmt.Sprintf("located at %s port %d, but no traffic counted yet", h.DPID, h.Port)
			}
		}
	}
	writeList(w, req, out, func(x *VMView) string { return x.ID })
}

func (s placementServer) vm(w http.ResponseWriter, req *http.Request) {
	v, err := s.pb.Inventory().VM(req.PathValue("id"))
	if err != nil {
		storeError(w, "VM "+req.PathValue("id"), err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s placementServer) putVM(w http.ResponseWriter, req *http.Request) {
	var v placement.VM
	if !decodeBody(w, req, &v) || !pathID(w, req, &v.ID) {
		return
	}
	if err := v.Validate(""); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.pb.Inventory().PutVM(v); err != nil {
		storeError(w, "VM", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s placementServer) deleteVM(w http.ResponseWriter, req *http.Request) {
	if err := s.pb.Inventory().DeleteVM(req.PathValue("id")); err != nil {
		storeError(w, "VM "+req.PathValue("id"), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s placementServer) placement(w http.ResponseWriter, _ *http.Request) {
	m, err := s.measured()
	if err != nil {
		storeError(w, "VM", err)
		return
	}
	// Evaluate the VMs that have a server; the others' traffic counts as
	// external to the servers it reaches.
	view := PlacementView{Unplaced: []string{}}
	assign := map[string]string{}
	placed := m.Inventory
	placed.VMs = nil
	for _, v := range m.Inventory.VMs {
		if v.Server == "" {
			view.Unplaced = append(view.Unplaced, v.ID)
			continue
		}
		placed.VMs = append(placed.VMs, v)
		assign[v.ID] = v.Server
	}
	if r := s.pb.Counters(); r != nil {
		m = placement.FromReader(r, placed)
		m.Inventory.Hops = placed.Hops
	} else {
		m.Inventory = placed
	}
	rep, err := placement.Evaluate(m.Inventory, assign)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	bytes := placement.NICBytes(m, assign)
	local := map[string]float64{}
	predicted := map[string]float64{}
	for _, v := range rep.VMs {
		local[v.Server] += v.LocalBps / 2 // each byte counted at both ends
		predicted[v.Server] += max(v.PredictOut, v.PredictIn)
	}
	view.Score, view.VMs = rep.Score, nonNil(rep.VMs)
	for i, sl := range rep.Servers {
		sv := m.Inventory.Servers[i]
		nb := bytes[sv.ID]
		view.Servers = append(view.Servers, ServerPlacement{ServerLoad: sl, DPID: sv.DPID, Port: sv.Port, NICBps: sv.NICBps,
			NICOutBytes: nb[0], NICInBytes: nb[1], LocalBps: local[sv.ID], PredictedBps: predicted[sv.ID]})
	}
	view.Servers = nonNil(view.Servers)
	slices.SortFunc(view.VMs, func(a, b placement.VMShare) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, view)
}

func (s placementServer) plan(w http.ResponseWriter, req *http.Request) {
	var body PlanRequest
	if !decodeBody(w, req, &body) {
		return
	}
	if body.Policy == "" {
		writeError(w, http.StatusBadRequest, "policy: required")
		return
	}
	pol, err := placement.ParsePolicy(body.Policy)
	if err != nil {
		writeError(w, http.StatusBadRequest, "policy: "+err.Error())
		return
	}
	m, err := s.measured()
	if err != nil {
		storeError(w, "VM", err)
		return
	}
	plan, err := placement.Place(m.Inventory, pol)
	if errors.Is(err, placement.ErrNoFit) {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, plan)
}
