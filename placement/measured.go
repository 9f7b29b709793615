package placement

import (
	"fmt"
	"slices"

	"github.com/cemon-sdn/cemon/stats"
)

// HostMatch says which network host a VM was matched to, with its measured
// rates, or why none was.
type HostMatch struct {
	VM          string   `json:"vm"`
	Hosts       []string `json:"hosts"` // the names cemon counts the VM's traffic under (IP, MAC)
	Matched     bool     `json:"matched"`
	Reason      string   `json:"reason,omitempty"` // why no host matched
	SentBps     float64  `json:"sent_bps"`
	ReceivedBps float64  `json:"received_bps"`
}

// PairBytes is the cumulative traffic from one VM to another (Src or Dst is
// "" for hosts outside the inventory).
type PairBytes struct {
	Src, Dst string
	Bytes    uint64
}

// Measured is an inventory whose Traffic and External come from the network,
// with each VM's host match and the cumulative bytes behind the rates.
type Measured struct {
	Inventory Inventory
	Hosts     []HostMatch
	Bytes     []PairBytes
}

// FromReader fills inv's Traffic and External from the counters r holds, and
// is the one place that knows the shape of stats.Reader. A VM is the network
// host with its IP or, failing that, its MAC (a stats.HostID carries both). A matrix cell between two VMs is
// Traffic; a cell between a VM and any other host is that VM's External
// (sent as Bps, received as InBps). Traffic and External already in inv are
// replaced. Cells with no current rate still count their bytes.
func FromReader(r stats.Reader, inv Inventory) Measured {
	byName := make(map[string]int, 2*len(inv.VMs))
	names := make([][]string, len(inv.VMs))
	for i, v := range inv.VMs {
		for _, n := range []string{NormalIP(v.IP), NormalMAC(v.MAC)} {
			if n != "" {
				byName[n] = i
				names[i] = append(names[i], n)
			}
		}
	}
	// vmOf finds the VM a network host is: by its IP, else by its MAC.
	vmOf := func(h stats.HostID) int {
		if h.IP.IsValid() {
			if i, ok := byName[NormalIP(h.IP.String())]; ok {
				return i
			}
		}
		if i, ok := byName[NormalMAC(h.MACString())]; ok {
			return i
		}
		return -1
	}
	out := Measured{Inventory: inv}
	out.Inventory.Traffic, out.Inventory.External = nil, nil
	type key struct{ a, b int }
	traffic := make(map[key]float64)
	bytes := make(map[key]uint64)
	extOut := make([]float64, len(inv.VMs))
	extIn := make([]float64, len(inv.VMs))
	hasExt := make([]bool, len(inv.VMs))
	for _, m := range r.Matrix() {
		a, b := vmOf(m.Src), vmOf(m.Dst)
		switch {
		case a < 0 && b < 0:
			continue
		case a == b:
			continue // a VM's traffic with itself under its two names
		case a >= 0 && b >= 0:
			traffic[key{a, b}] += m.RateBps
		case a >= 0:
			extOut[a] += m.RateBps
			hasExt[a] = true
		default:
			extIn[b] += m.RateBps
			hasExt[b] = true
		}
		bytes[key{a, b}] += m.Bytes
	}
	for k, bps := range traffic {
		out.Inventory.Traffic = append(out.Inventory.Traffic, Traffic{Src: inv.VMs[k.a].ID, Dst: inv.VMs[k.b].ID, Bps: bps})
	}
	slices.SortFunc(out.Inventory.Traffic, func(x, y Traffic) int {
		if x.Src != y.Src {
			return cmpStr(x.Src, y.Src)
		}
		return cmpStr(x.Dst, y.Dst)
	})
	for i := range inv.VMs {
		if hasExt[i] {
			in := extIn[i]
			out.Inventory.External = append(out.Inventory.External, External{VM: inv.VMs[i].ID, Bps: extOut[i], InBps: &in})
		}
	}
	id := func(i int) string {
		if i < 0 {
			return ""
		}
		return inv.VMs[i].ID
	}
	for k, n := range bytes {
		out.Bytes = append(out.Bytes, PairBytes{Src: id(k.a), Dst: id(k.b), Bytes: n})
	}
	slices.SortFunc(out.Bytes, func(x, y PairBytes) int {
		if x.Src != y.Src {
			return cmpStr(x.Src, y.Src)
		}
		return cmpStr(x.Dst, y.Dst)
	})
	hostsOf := make(map[int][]stats.HostTraffic)
	for _, ht := range r.Hosts() {
		if i := vmOf(ht.Host); i >= 0 {
			hostsOf[i] = append(hostsOf[i], ht)
		}
	}
	for i, v := range inv.VMs {
		hm := HostMatch{VM: v.ID, Hosts: names[i]}
		if hm.Hosts == nil {
			hm.Hosts = []string{}
			hm.Reason = "the VM has neither a MAC nor an IP address"
		}
		for _, ht := range hostsOf[i] {
			hm.Matched = true
			hm.SentBps += ht.SentBps
			hm.ReceivedBps += ht.ReceivedBps
		}
		if !hm.Matched && hm.Reason == "" {
			hm.Reason = fmt.Sprintf("no traffic seen from or to %v", names[i])
		}
		out.Hosts = append(out.Hosts, hm)
	}
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// NICBytes sums, for each server of the assignment, the cumulative bytes that
// crossed its NIC in each direction according to m.Bytes: traffic between VMs
// of one server stays off it. Servers without VMs are absent.
func NICBytes(m Measured, assignment map[string]string) map[string][2]uint64 {
	out := make(map[string][2]uint64)
	for _, pb := range m.Bytes {
		sa, sb := assignment[pb.Src], assignment[pb.Dst]
		if pb.Src != "" && pb.Dst != "" && sa == sb && sa != "" {
			continue
		}
		if sa != "" {
			c := out[sa]
			c[0] += pb.Bytes
			out[sa] = c
		}
		if sb != "" {
			c := out[sb]
			c[1] += pb.Bytes
			out[sb] = c
		}
	}
	return out
}
