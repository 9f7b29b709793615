package collector

import (
	"net/netip"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

const etherTypeIPv4 = 0x0800

// hostsOf names a flow's endpoints: IPv4 addresses for IPv4 flows, MAC addresses
// otherwise.
func hostsOf(k flowtracker.Key) (src, dst string) {
	if k.DLType == etherTypeIPv4 {
		return netip.AddrFrom4(k.NWSrc).String(), netip.AddrFrom4(k.NWDst).String()
	}
	return ofproto.MAC(k.DLSrc).String(), ofproto.MAC(k.DLDst).String()
}
