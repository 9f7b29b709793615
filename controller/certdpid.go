package controller

import (
	"strconv"
	"strings"
)

// CertNamesDPID reports whether one of a certificate's names (its subject CN and DNS
// SANs) names datapath id dpid. The rule: the first word of the name (ovs-pki writes
// "NAME id:UUID" in the CN and the same in a DNS SAN, so `ovs-pki req+sign
// 0000000000000001 switch` names dpid 1), without an optional "dpid:" prefix and
// without colons, is the dpid in hexadecimal, 1 to 16 digits, any case.
func CertNamesDPID(names []string, dpid uint64) bool {
	for _, n := range names {
		if d, ok := NameDPID(n); ok && d == dpid {
			return true
		}
	}
	return false
}

// NameDPID reads a datapath id from a certificate name by the rule of CertNamesDPID.
func NameDPID(name string) (uint64, bool) {
	f := strings.Fields(name)
	if len(f) == 0 {
		return 0, false
	}
	w := strings.ToLower(f[0])
	w = strings.TrimPrefix(w, "dpid:")
	w = strings.ReplaceAll(w, ":", "")
	if len(w) == 0 || len(w) > 16 {
		return 0, false
	}
	d, err := strconv.ParseUint(w, 16, 64)
	if err != nil {
		return 0, false
	}
	return d, true
}
