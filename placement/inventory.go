package placement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Server is one physical machine VMs can run on. Its NIC attaches to the
// network at switch DPID, port Port; NICBps holds in each direction.
type Server struct {
	ID       string  `json:"id"`
	DPID     string  `json:"dpid"` // hex datapath id, 1 to 16 digits or 8 colon-separated pairs
	Port     uint16  `json:"port"`
	CPUCores float64 `json:"cpu_cores"`
	RAMMB    float64 `json:"ram_mb"` // MB = 10^6 bytes
	NICBps   float64 `json:"nic_bps"`
	Rack     string  `json:"rack,omitempty"`
}

// VM is one virtual machine. Its network demand is not part of it: it comes
// from the network host with its MAC or IP (see FromReader), or from an
// Inventory's Traffic and External lists.
type VM struct {
	ID               string  `json:"id"`
	MAC              string  `json:"mac,omitempty"`
	IP               string  `json:"ip,omitempty"`
	Server           string  `json:"server,omitempty"` // where it runs now; "" if nowhere yet
	VCPUs            float64 `json:"vcpus"`
	RAMMB            float64 `json:"ram_mb"`
	CPUUtil          float64 `json:"cpu_util"` // 0..1 of its vCPUs
	DiskMBs          float64 `json:"disk_mb_s,omitempty"`
	Service          string  `json:"service,omitempty"`
	LatencySensitive bool    `json:"latency_sensitive,omitempty"`
	DirtyRateMBs     float64 `json:"dirty_rate_mb_s,omitempty"`
	// QMP, when set, is the QEMU Machine Protocol socket of the running guest:
	// `cemon migration run` carries out the VM's planned moves through it.
	QMP string `json:"qmp,omitempty"`
}

// CPUDemand is the cores the VM keeps busy: VCPUs·CPUUtil.
func (v VM) CPUDemand() float64 { return v.VCPUs * v.CPUUtil }

// Traffic is a measured (or given) rate from one VM to another, in bits per
// second.
type Traffic struct {
	Src string  `json:"src"`
	Dst string  `json:"dst"`
	Bps float64 `json:"bps"`
}

// External is a VM's traffic with hosts outside the inventory. Bps counts in
// each direction (sent and received) unless InBps is given, in which case Bps
// is what the VM sends and InBps what it receives.
type External struct {
	VM    string   `json:"vm"`
	Bps   float64  `json:"bps"`
	InBps *float64 `json:"in_bps,omitempty"`
}

// Hops is the number of links between two servers (both directions).
type Hops struct {
	A    string `json:"a"`
	B    string `json:"b"`
	Hops int    `json:"hops"`
}

// Inventory is the input of every policy: servers, VMs, the traffic between
// VMs and with the outside, and the distance between servers. Hops not listed
// default to DefaultHopsSameRack between two servers of one rack and
// DefaultHopsOtherRack otherwise (or when either has no rack).
type Inventory struct {
	Servers  []Server   `json:"servers"`
	VMs      []VM       `json:"vms"`
	Traffic  []Traffic  `json:"traffic,omitempty"`
	External []External `json:"external,omitempty"`
	Hops     []Hops     `json:"hops,omitempty"`
}

// Default distances between servers, in links.
const (
	DefaultHopsSameRack  = 2
	DefaultHopsOtherRack = 4
)

// ErrInvalid is wrapped by every validation error; a *FieldError names the field.
var ErrInvalid = errors.New("placement: invalid inventory")

// FieldError is a validation error naming the bad field, as a JSON path such
// as vms[3].cpu_util.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("placement: %s: %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func positive(field string, x float64) error {
	if !finite(x) || x <= 0 {
		return fieldErr(field, "must be a positive number, got %v", x)
	}
	return nil
}

func nonNegative(field string, x float64) error {
	if !finite(x) || x < 0 {
		return fieldErr(field, "must be a non-negative number, got %v", x)
	}
	return nil
}

// ParseDPID reads a datapath id: 1 to 16 hex digits, or 8 colon-separated
// pairs ("00:00:00:00:00:00:00:0a").
func ParseDPID(s string) (uint64, error) {
	h := s
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) != 8 {
			return 0, fmt.Errorf("dpid %q: want hex digits or 8 colon-separated pairs", s)
		}
		for _, p := range parts {
			if len(p) != 2 {
				return 0, fmt.Errorf("dpid %q: want hex digits or 8 colon-separated pairs", s)
			}
		}
		h = strings.Join(parts, "")
	}
	if len(h) == 0 || len(h) > 16 {
		return 0, fmt.Errorf("dpid %q: want 1 to 16 hex digits", s)
	}
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("dpid %q: not hexadecimal", s)
	}
	return v, nil
}

// validID accepts identifiers safe in a URL path segment and a log line.
func validID(id string) error {
	if id == "" {
		return errors.New("must not be empty")
	}
	if len(id) > 128 {
		return errors.New("longer than 128 bytes")
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return fmt.Errorf("%q: only letters, digits, '-', '_', '.' and ':' are allowed", id)
		}
	}
	return nil
}

// Validate checks one server; field names are prefixed by prefix (such as
// "servers[2]"), or bare when prefix is empty.
func (s Server) Validate(prefix string) error {
	f := func(name string) string { return joinField(prefix, name) }
	var errs []error
	if err := validID(s.ID); err != nil {
		errs = append(errs, fieldErr(f("id"), "%v", err))
	}
	if _, err := ParseDPID(s.DPID); err != nil {
		errs = append(errs, fieldErr(f("dpid"), "%v", err))
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"cpu_cores", s.CPUCores}, {"ram_mb", s.RAMMB}, {"nic_bps", s.NICBps}} {
		if err := positive(f(c.name), c.v); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Rack != "" {
		if err := validID(s.Rack); err != nil {
			errs = append(errs, fieldErr(f("rack"), "%v", err))
		}
	}
	return errors.Join(errs...)
}

// Validate checks one VM on its own (not whether its server exists); field
// names are prefixed as for Server.Validate.
func (v VM) Validate(prefix string) error {
	f := func(name string) string { return joinField(prefix, name) }
	var errs []error
	if err := validID(v.ID); err != nil {
		errs = append(errs, fieldErr(f("id"), "%v", err))
	}
	if v.MAC != "" {
		if hw, err := net.ParseMAC(v.MAC); err != nil || len(hw) != 6 {
			errs = append(errs, fieldErr(f("mac"), "%q is not an Ethernet MAC address", v.MAC))
		}
	}
	if v.IP != "" {
		if _, err := netip.ParseAddr(v.IP); err != nil {
			errs = append(errs, fieldErr(f("ip"), "%q is not an IP address", v.IP))
		}
	}
	if v.Server != "" {
		if err := validID(v.Server); err != nil {
			errs = append(errs, fieldErr(f("server"), "%v", err))
		}
	}
	if err := positive(f("vcpus"), v.VCPUs); err != nil {
		errs = append(errs, err)
	}
	if err := positive(f("ram_mb"), v.RAMMB); err != nil {
		errs = append(errs, err)
	}
	if !finite(v.CPUUtil) || v.CPUUtil < 0 || v.CPUUtil > 1 {
		errs = append(errs, fieldErr(f("cpu_util"), "must be between 0 and 1, got %v", v.CPUUtil))
	}
	if err := nonNegative(f("disk_mb_s"), v.DiskMBs); err != nil {
		errs = append(errs, err)
	}
	if err := nonNegative(f("dirty_rate_mb_s"), v.DirtyRateMBs); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func joinField(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// NormalMAC returns the MAC in the form cemon names hosts by (lower case,
// colon-separated), or "" when mac is empty or malformed.
func NormalMAC(mac string) string {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return ""
	}
	return hw.String()
}

// NormalIP returns the IP address in canonical form, or "" when malformed.
func NormalIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}

// Validate checks the whole inventory and names every bad field: each server
// and VM, duplicate ids, MACs and IPs, VMs on unknown servers, and traffic,
// external and hops entries that name unknown VMs or servers.
func (inv Inventory) Validate() error {
	var errs []error
	servers := make(map[string]int, len(inv.Servers))
	for i, s := range inv.Servers {
		p := fmt.Sprintf("servers[%d]", i)
		if err := s.Validate(p); err != nil {
			errs = append(errs, err)
		}
		if j, dup := servers[s.ID]; dup && s.ID != "" {
			errs = append(errs, fieldErr(p+".id", "%q is also servers[%d]", s.ID, j))
		}
		servers[s.ID] = i
	}
	vms := make(map[string]int, len(inv.VMs))
	macs := make(map[string]int)
	ips := make(map[string]int)
	for i, v := range inv.VMs {
		p := fmt.Sprintf("vms[%d]", i)
		if err := v.Validate(p); err != nil {
			errs = append(errs, err)
		}
		if j, dup := vms[v.ID]; dup && v.ID != "" {
			errs = append(errs, fieldErr(p+".id", "%q is also vms[%d]", v.ID, j))
		}
		vms[v.ID] = i
		if m := NormalMAC(v.MAC); m != "" {
			if j, dup := macs[m]; dup {
				errs = append(errs, fieldErr(p+".mac", "%s is also the MAC of vms[%d]", m, j))
			}
			macs[m] = i
		}
		if a := NormalIP(v.IP); a != "" {
			if j, dup := ips[a]; dup {
				errs = append(errs, fieldErr(p+".ip", "%s is also the IP of vms[%d]", a, j))
			}
			ips[a] = i
		}
		if v.Server != "" {
			if _, ok := servers[v.Server]; !ok {
				errs = append(errs, fieldErr(p+".server", "no server %q", v.Server))
			}
		}
	}
	for i, t := range inv.Traffic {
		p := fmt.Sprintf("traffic[%d]", i)
		if _, ok := vms[t.Src]; !ok {
			errs = append(errs, fieldErr(p+".src", "no VM %q", t.Src))
		}
		if _, ok := vms[t.Dst]; !ok {
			errs = append(errs, fieldErr(p+".dst", "no VM %q", t.Dst))
		}
		if t.Src == t.Dst {
			errs = append(errs, fieldErr(p+".dst", "same VM as src (%q)", t.Src))
		}
		if err := nonNegative(p+".bps", t.Bps); err != nil {
			errs = append(errs, err)
		}
	}
	for i, e := range inv.External {
		p := fmt.Sprintf("external[%d]", i)
		if _, ok := vms[e.VM]; !ok {
			errs = append(errs, fieldErr(p+".vm", "no VM %q", e.VM))
		}
		if err := nonNegative(p+".bps", e.Bps); err != nil {
			errs = append(errs, err)
		}
		if e.InBps != nil {
			if err := nonNegative(p+".in_bps", *e.InBps); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for i, h := range inv.Hops {
		p := fmt.Sprintf("hops[%d]", i)
		if _, ok := servers[h.A]; !ok {
			errs = append(errs, fieldErr(p+".a", "no server %q", h.A))
		}
		if _, ok := servers[h.B]; !ok {
			errs = append(errs, fieldErr(p+".b", "no server %q", h.B))
		}
		if h.A == h.B {
			errs = append(errs, fieldErr(p+".b", "same server as a (%q)", h.A))
		}
		if h.Hops < 1 || h.Hops > 1000 {
			errs = append(errs, fieldErr(p+".hops", "must be between 1 and 1000, got %d", h.Hops))
		}
	}
	return errors.Join(errs...)
}

// ParseInventory decodes an inventory from JSON and validates it. Unknown
// fields and trailing data are errors; every error names the field.
func ParseInventory(data []byte) (Inventory, error) {
	var inv Inventory
	if err := DecodeStrict(data, &inv); err != nil {
		return Inventory{}, err
	}
	if err := inv.Validate(); err != nil {
		return Inventory{}, err
	}
	return inv, nil
}

// DecodeStrict decodes one JSON value into v, refusing unknown fields and
// anything after the value. A type error names the field it happened at.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fieldErr(te.Field, "want a JSON %s, got %s", te.Type, te.Value)
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: empty document", ErrInvalid)
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			return fieldErr(strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`), "unknown field")
		}
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrInvalid)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrInvalid)
	}
	return nil
}
