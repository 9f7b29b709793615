package ofemu

import (
	"net/netip"

	"github.com/cemon-sdn/cemon/ofproto"
)

// covers reports whether match m selects entry match e in the non-strict sense of
// OpenFlow 1.0 (flow statistics, aggregate statistics, non-strict modify and
// delete): every field m does not wildcard, e does not wildcard either and has the
// same value; m's nw_src and nw_dst prefixes contain e's.
func covers(m, e *ofproto.Match) bool {
	mw, ew := m.Wildcards, e.Wildcards
	field := func(bit ofproto.Wildcards, eq bool) bool {
		return mw&bit != 0 || (ew&bit == 0 && eq)
	}
	return field(ofproto.WildInPort, m.InPort == e.InPort) &&
		field(ofproto.WildDLVLAN, m.DLVLAN == e.DLVLAN) &&
		field(ofproto.WildDLSrc, m.DLSrc == e.DLSrc) &&
		field(ofproto.WildDLDst, m.DLDst == e.DLDst) &&
		field(ofproto.WildDLType, m.DLType == e.DLType) &&
		field(ofproto.WildNWProto, m.NWProto == e.NWProto) &&
		field(ofproto.WildTPSrc, m.TPSrc == e.TPSrc) &&
		field(ofproto.WildTPDst, m.TPDst == e.TPDst) &&
		field(ofproto.WildDLVLANPCP, m.DLVLANPCP == e.DLVLANPCP) &&
		field(ofproto.WildNWTOS, m.NWTOS == e.NWTOS) &&
		prefixCovers(m.NWSrc, mw.NWSrcPrefixLen(), e.NWSrc, ew.NWSrcPrefixLen()) &&
		prefixCovers(m.NWDst, mw.NWDstPrefixLen(), e.NWDst, ew.NWDstPrefixLen())
}

func prefixCovers(ma netip.Addr, ml int, ea netip.Addr, el int) bool {
	ml, el = max(0, min(ml, 32)), max(0, min(el, 32))
	if ml == 0 {
		return true
	}
	if el < ml || !ma.IsValid() || !ea.IsValid() {
		return false
	}
	mp, err1 := ma.Unmap().Prefix(ml)
	ep, err2 := ea.Unmap().Prefix(ml)
	return err1 == nil && err2 == nil && mp == ep
}
