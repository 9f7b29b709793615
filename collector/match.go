package collector

import (
	"net/netip"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/stats"
)

const etherTypeIPv4 = 0x0800

// hostsOf names a flow's endpoints: their MAC addresses, and their IPv4
// addresses for IPv4 flows.
func hostsOf(k flowtracker.Key) (src, dst stats.HostID) {
	src.MAC, dst.MAC = k.DLSrc, k.DLDst
	if k.DLType == etherTypeIPv4 {
		src.IP, dst.IP = netip.AddrFrom4(k.NWSrc), netip.AddrFrom4(k.NWDst)
	}
	return src, dst
}
