// Package ofptext prints OpenFlow 1.0 messages for people and for programs: a text
// form close to what ovs-ofctl ofp-print shows, and a JSON form with the OpenFlow 1.0
// specification's member names, one object per message. It also reads messages given
// in hex, as captures and documentation show them.
//
// It owns the rendering only; the wire format is ofproto's. It does no I/O beyond
// writing to the io.Writer it is given.
//
// Example:
//
//	m, _ := ofproto.Decode(b)
//	fmt.Print(ofptext.Text(m))
//	js, _ := ofptext.JSON(m)
//	err := ofptext.PrintHex(os.Stdout, "01000008 00000001", false)
package ofptext

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cemon-sdn/cemon/ofproto"
)

// ParseHex turns text into bytes: whitespace, "0x" prefixes and
// '#' comment lines are ignored. An error names the input line and column.
func ParseHex(text string) ([]byte, error) {
	var out []byte
	for ln, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		var digits []byte
		var cols []int
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case c == ' ' || c == '\t' || c == '\r' || c == ',':
			case c == '0' && i+1 < len(line) && (line[i+1] == 'x' || line[i+1] == 'X') &&
				(i == 0 || !isHexDigit(line[i-1])):
				i++
			case isHexDigit(c):
				digits = append(digits, c)
				cols = append(cols, i+1)
			default:
				return nil, fmt.Errorf("input line %d, column %d: %q is not a hex digit", ln+1, i+1, c)
			}
		}
		if len(digits)%2 != 0 {
			return nil, fmt.Errorf("input line %d, column %d: odd number of hex digits", ln+1, cols[len(cols)-1])
		}
		b := make([]byte, len(digits)/2)
		if _, err := hex.Decode(b, digits); err != nil {
			return nil, fmt.Errorf("input line %d: %v", ln+1, err)
		}
		out = append(out, b...)
	}
	return out, nil
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// ErrNoInput is PrintHex's answer to text that holds no message.
var ErrNoInput = errors.New("ofptext: no input: give at least one message in hex")

// PrintHex decodes every message in text (hex, see ParseHex: one message per line
// or a continuous stream of several) and prints each to w, as text or as one JSON
// object per line. Messages before a bad one are printed; the error names the
// message and the byte offset of the problem.
func PrintHex(w io.Writer, text string, asJSON bool) error {
	data, err := ParseHex(text)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return ErrNoInput
	}
	return Print(w, data, asJSON)
}

// Print decodes every message in data, a stream of whole OpenFlow 1.0 messages, and
// prints each to w as PrintHex does.
func Print(w io.Writer, data []byte, asJSON bool) error {
	fr := ofproto.NewFramer(bytes.NewReader(data), ofproto.MaxMessageLen)
	for n := 1; ; n++ {
		start := fr.Offset()
		b, err := fr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("message %d at byte offset %d: %w: the input ends inside the message (%d bytes left)",
					n, start, ofproto.ErrShortMessage, int64(len(data))-start)
			}
			return fmt.Errorf("message %d at byte offset %d: %w", n, start, err)
		}
		m, err := ofproto.Decode(b)
		if err != nil {
			var de *ofproto.DecodeError
			if errors.As(err, &de) {
				return fmt.Errorf("message %d at byte offset %d: byte offset %d: %w", n, start, start+de.Offset, err)
			}
			return fmt.Errorf("message %d at byte offset %d: %w", n, start, err)
		}
		if asJSON {
			out, err := JSON(m)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", out); err != nil {
				return err
			}
		} else if _, err := io.WriteString(w, Text(m)); err != nil {
			return err
		}
	}
}

// obj is a JSON object that keeps its keys in insertion order.
type obj struct {
	keys []string
	vals []any
}

func (o *obj) add(k string, v any) *obj {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
	return o
}

func (o *obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func hexData(b []byte) string { return hex.EncodeToString(b) }

func jsonMatch(m *ofproto.Match) *obj {
	o := &obj{}
	o.add("wildcards", uint32(m.Wildcards))
	o.add("in_port", uint16(m.InPort))
	o.add("dl_src", m.DLSrc.String())
	o.add("dl_dst", m.DLDst.String())
	o.add("dl_vlan", m.DLVLAN)
	o.add("dl_vlan_pcp", m.DLVLANPCP)
	o.add("dl_type", m.DLType)
	o.add("nw_tos", m.NWTOS)
	o.add("nw_proto", m.NWProto)
	o.add("nw_src", addrString(m.NWSrc.String()))
	o.add("nw_dst", addrString(m.NWDst.String()))
	o.add("tp_src", m.TPSrc)
	o.add("tp_dst", m.TPDst)
	return o
}

func addrString(s string) string {
	if s == "invalid IP" {
		return "0.0.0.0"
	}
	return s
}

func jsonActions(acts []ofproto.Action) []*obj {
	out := []*obj{}
	for _, a := range acts {
		o := (&obj{}).add("type", a.Type().String()).add("len", a.Len())
		switch a := a.(type) {
		case *ofproto.OutputAction:
			o.add("port", uint16(a.Port)).add("max_len", a.MaxLen)
		case *ofproto.SetVLANVIDAction:
			o.add("vlan_vid", a.VID)
		case *ofproto.SetVLANPCPAction:
			o.add("vlan_pcp", a.PCP)
		case *ofproto.SetDLSrcAction:
			o.add("dl_addr", a.Addr.String())
		case *ofproto.SetDLDstAction:
			o.add("dl_addr", a.Addr.String())
		case *ofproto.SetNWSrcAction:
			o.add("nw_addr", a.Addr.String())
		case *ofproto.SetNWDstAction:
			o.add("nw_addr", a.Addr.String())
		case *ofproto.SetNWTOSAction:
			o.add("nw_tos", a.TOS)
		case *ofproto.SetTPSrcAction:
			o.add("tp_port", a.Port)
		case *ofproto.SetTPDstAction:
			o.add("tp_port", a.Port)
		case *ofproto.EnqueueAction:
			o.add("port", uint16(a.Port)).add("queue_id", a.QueueID)
		case *ofproto.VendorAction:
			o.add("vendor", a.Vendor).add("data", hexData(a.Data))
		}
		out = append(out, o)
	}
	return out
}

func jsonPort(p *ofproto.PhyPort) *obj {
	return (&obj{}).add("port_no", uint16(p.PortNo)).add("hw_addr", p.HWAddr.String()).
		add("name", p.Name).add("config", orEmpty(p.Config.Names())).add("state", orEmpty(p.State.Names())).
		add("curr", orEmpty(p.Curr.Names())).add("advertised", orEmpty(p.Advertised.Names())).
		add("supported", orEmpty(p.Supported.Names())).add("peer", orEmpty(p.Peer.Names()))
}

func jsonFlowStats(e *ofproto.FlowStats) *obj {
	return (&obj{}).add("length", e.Len()).add("table_id", e.TableID).add("match", jsonMatch(&e.Match)).
		add("duration_sec", e.DurationSec).add("duration_nsec", e.DurationNsec).
		add("priority", e.Priority).add("idle_timeout", e.IdleTimeout).add("hard_timeout", e.HardTimeout).
		add("cookie", e.Cookie).add("packet_count", e.PacketCount).add("byte_count", e.ByteCount).
		add("actions", jsonActions(e.Actions))
}

func jsonStatsBody(o *obj, body ofproto.StatsBody) {
	switch b := body.(type) {
	case *ofproto.DescStatsRequest, *ofproto.TableStatsRequest:
	case *ofproto.FlowStatsRequest:
		o.add("body", (&obj{}).add("match", jsonMatch(&b.Match)).add("table_id", b.TableID).add("out_port", uint16(b.OutPort)))
	case *ofproto.AggregateStatsRequest:
		o.add("body", (&obj{}).add("match", jsonMatch(&b.Match)).add("table_id", b.TableID).add("out_port", uint16(b.OutPort)))
	case *ofproto.PortStatsRequest:
		o.add("body", (&obj{}).add("port_no", uint16(b.PortNo)))
	case *ofproto.QueueStatsRequest:
		o.add("body", (&obj{}).add("port_no", uint16(b.PortNo)).add("queue_id", b.QueueID))
	case *ofproto.VendorStats:
		o.add("body", (&obj{}).add("vendor", b.Vendor).add("data", hexData(b.Data)))
	case *ofproto.DescStats:
		o.add("body", (&obj{}).add("mfr_desc", b.MfrDesc).add("hw_desc", b.HWDesc).add("sw_desc", b.SWDesc).
			add("serial_num", b.SerialNum).add("dp_desc", b.DPDesc))
	case *ofproto.FlowStatsReply:
		entries := []*obj{}
		for i := range b.Entries {
			entries = append(entries, jsonFlowStats(&b.Entries[i]))
		}
		o.add("body", entries)
	case *ofproto.AggregateStatsReply:
		o.add("body", (&obj{}).add("packet_count", b.PacketCount).add("byte_count", b.ByteCount).add("flow_count", b.FlowCount))
	case *ofproto.TableStatsReply:
		entries := []*obj{}
		for _, t := range b.Entries {
			entries = append(entries, (&obj{}).add("table_id", t.TableID).add("name", t.Name).
				add("wildcards", uint32(t.Wildcards)).add("max_entries", t.MaxEntries).add("active_count", t.ActiveCount).
				add("lookup_count", t.LookupCount).add("matched_count", t.MatchedCount))
		}
		o.add("body", entries)
	case *ofproto.PortStatsReply:
		entries := []*obj{}
		for _, p := range b.Entries {
			entries = append(entries, (&obj{}).add("port_no", uint16(p.PortNo)).
				add("rx_packets", p.RxPackets).add("tx_packets", p.TxPackets).add("rx_bytes", p.RxBytes).
				add("tx_bytes", p.TxBytes).add("rx_dropped", p.RxDropped).add("tx_dropped", p.TxDropped).
				add("rx_errors", p.RxErrors).add("tx_errors", p.TxErrors).add("rx_frame_err", p.RxFrameErr).
				add("rx_over_err", p.RxOverErr).add("rx_crc_err", p.RxCRCErr).add("collisions", p.Collisions))
		}
		o.add("body", entries)
	case *ofproto.QueueStatsReply:
		entries := []*obj{}
		for _, q := range b.Entries {
			entries = append(entries, (&obj{}).add("port_no", uint16(q.PortNo)).add("queue_id", q.QueueID).
				add("tx_bytes", q.TxBytes).add("tx_packets", q.TxPackets).add("tx_errors", q.TxErrors))
		}
		o.add("body", entries)
	}
}

// JSON renders m as one JSON object with the OpenFlow 1.0 specification's member
// names, in the specification's order.
func JSON(m ofproto.Message) ([]byte, error) { return json.Marshal(jsonMessage(m)) }

func jsonMessage(m ofproto.Message) *obj {
	o := (&obj{}).add("type", m.Type().String()).add("version", ofproto.Version).
		add("length", m.Len()).add("xid", m.XID())
	switch m := m.(type) {
	case *ofproto.Hello:
		if len(m.Data) > 0 {
			o.add("data", hexData(m.Data))
		}
	case *ofproto.ErrorMsg:
		o.add("err_type", m.ErrType.String()).add("code", m.CodeString()).add("data", hexData(m.Data))
	case *ofproto.EchoRequest:
		o.add("data", hexData(m.Data))
	case *ofproto.EchoReply:
		o.add("data", hexData(m.Data))
	case *ofproto.Vendor:
		o.add("vendor", m.Vendor).add("data", hexData(m.Data))
	case *ofproto.RoleRequest:
		o.add("vendor", ofproto.NiciraVendor).add("subtype", "NXT_ROLE_REQUEST").add("role", m.Role.String())
	case *ofproto.RoleReply:
		o.add("vendor", ofproto.NiciraVendor).add("subtype", "NXT_ROLE_REPLY").add("role", m.Role.String())
	case *ofproto.FeaturesRequest, *ofproto.GetConfigRequest, *ofproto.BarrierRequest, *ofproto.BarrierReply:
	case *ofproto.FeaturesReply:
		ports := []*obj{}
		for i := range m.Ports {
			ports = append(ports, jsonPort(&m.Ports[i]))
		}
		o.add("datapath_id", fmt.Sprintf("%016x", m.DatapathID)).add("n_buffers", m.NBuffers).
			add("n_tables", m.NTables).add("capabilities", orEmpty(m.Capabilities.Names())).
			add("actions", orEmpty(m.Actions.Names())).add("ports", ports)
	case *ofproto.GetConfigReply:
		o.add("flags", m.Flags.String()).add("miss_send_len", m.MissSendLen)
	case *ofproto.SetConfig:
		o.add("flags", m.Flags.String()).add("miss_send_len", m.MissSendLen)
	case *ofproto.PacketIn:
		o.add("buffer_id", m.BufferID).add("total_len", m.TotalLen).add("in_port", uint16(m.InPort)).
			add("reason", m.Reason.String()).add("data", hexData(m.Data))
	case *ofproto.FlowRemoved:
		o.add("match", jsonMatch(&m.Match)).add("cookie", m.Cookie).add("priority", m.Priority).
			add("reason", m.Reason.String()).add("duration_sec", m.DurationSec).add("duration_nsec", m.DurationNsec).
			add("idle_timeout", m.IdleTimeout).add("packet_count", m.PacketCount).add("byte_count", m.ByteCount)
	case *ofproto.PortStatus:
		o.add("reason", m.Reason.String()).add("desc", jsonPort(&m.Desc))
	case *ofproto.PacketOut:
		o.add("buffer_id", m.BufferID).add("in_port", uint16(m.InPort)).
			add("actions_len", ofproto.ActionsLen(m.Actions)).add("actions", jsonActions(m.Actions)).
			add("data", hexData(m.Data))
	case *ofproto.FlowMod:
		o.add("match", jsonMatch(&m.Match)).add("cookie", m.Cookie).add("command", m.Command.String()).
			add("idle_timeout", m.IdleTimeout).add("hard_timeout", m.HardTimeout).add("priority", m.Priority).
			add("buffer_id", m.BufferID).add("out_port", uint16(m.OutPort)).add("flags", orEmpty(m.Flags.Names())).
			add("actions", jsonActions(m.Actions))
	case *ofproto.PortMod:
		o.add("port_no", uint16(m.PortNo)).add("hw_addr", m.HWAddr.String()).add("config", orEmpty(m.Config.Names())).
			add("mask", orEmpty(m.Mask.Names())).add("advertise", orEmpty(m.Advertise.Names()))
	case *ofproto.StatsRequest:
		o.add("stats_type", m.Body.StatsType().String()).add("flags", m.Flags)
		jsonStatsBody(o, m.Body)
	case *ofproto.StatsReply:
		flags := []string{}
		if m.More() {
			flags = append(flags, "OFPSF_REPLY_MORE")
		}
		o.add("stats_type", m.Body.StatsType().String()).add("flags", flags)
		jsonStatsBody(o, m.Body)
	case *ofproto.QueueGetConfigRequest:
		o.add("port", uint16(m.Port))
	case *ofproto.QueueGetConfigReply:
		queues := []*obj{}
		for _, q := range m.Queues {
			props := []*obj{}
			for _, p := range q.Properties {
				po := (&obj{}).add("property", queuePropName(p.Property)).add("len", p.Len())
				if p.Property == ofproto.QueuePropMinRate {
					po.add("rate", p.Rate)
				} else {
					po.add("data", hexData(p.Data))
				}
				props = append(props, po)
			}
			queues = append(queues, (&obj{}).add("queue_id", q.QueueID).add("len", q.Len()).add("properties", props))
		}
		o.add("port", uint16(m.Port)).add("queues", queues)
	}
	return o
}

func queuePropName(p uint16) string {
	switch p {
	case ofproto.QueuePropNone:
		return "OFPQT_NONE"
	case ofproto.QueuePropMinRate:
		return "OFPQT_MIN_RATE"
	}
	return "OFPQT_UNKNOWN(" + strconv.Itoa(int(p)) + ")"
}

// Text output, modelled on ovs-ofctl ofp-print.

func portName(p ofproto.PortNo) string {
	s := p.String()
	return strings.TrimPrefix(s, "OFPP_")
}

func actionsText(acts []ofproto.Action) string {
	if len(acts) == 0 {
		return "drop"
	}
	s := make([]string, len(acts))
	for i, a := range acts {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func matchText(prefix string, m *ofproto.Match) string {
	s := m.String()
	switch {
	case prefix != "" && s != "":
		return prefix + "," + s
	case prefix != "":
		return prefix
	}
	return s
}

func matchOrAny(m *ofproto.Match) string {
	if s := m.String(); s != "" {
		return s
	}
	return "any"
}

func portText(p *ofproto.PhyPort) string {
	var b strings.Builder
	fmt.Fprintf(&b, " %s(%s): addr:%s\n", portName(p.PortNo), p.Name, p.HWAddr)
	fmt.Fprintf(&b, "     config:     %s\n", bitsText(p.Config.Names()))
	fmt.Fprintf(&b, "     state:      %s\n", bitsText(p.State.Names()))
	if p.Curr != 0 {
		fmt.Fprintf(&b, "     current:    %s\n", bitsText(p.Curr.Names()))
	}
	if p.Advertised != 0 {
		fmt.Fprintf(&b, "     advertised: %s\n", bitsText(p.Advertised.Names()))
	}
	if p.Supported != 0 {
		fmt.Fprintf(&b, "     supported:  %s\n", bitsText(p.Supported.Names()))
	}
	if p.Peer != 0 {
		fmt.Fprintf(&b, "     peer:       %s\n", bitsText(p.Peer.Names()))
	}
	return b.String()
}

func bitsText(names []string) string {
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, " ")
}

func durationText(sec, nsec uint32) string {
	return strconv.FormatFloat(float64(sec)+float64(nsec)/1e9, 'f', 3, 64) + "s"
}

func dataText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hex.Dump(b)
}

// Text renders m readably: one header line, then indented details, each line
// ending in a newline.
func Text(m ofproto.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (xid=%#x):", m.Type(), m.XID())
	switch m := m.(type) {
	case *ofproto.Hello:
		fmt.Fprintf(&b, " OpenFlow 1.0\n%s", dataText(m.Data))
	case *ofproto.ErrorMsg:
		fmt.Fprintf(&b, " %s %s\n%s", m.ErrType, m.CodeString(), dataText(m.Data))
	case *ofproto.EchoRequest:
		fmt.Fprintf(&b, " %d bytes of payload\n%s", len(m.Data), dataText(m.Data))
	case *ofproto.EchoReply:
		fmt.Fprintf(&b, " %d bytes of payload\n%s", len(m.Data), dataText(m.Data))
	case *ofproto.Vendor:
		fmt.Fprintf(&b, " vendor=%#08x %d bytes\n%s", m.Vendor, len(m.Data), dataText(m.Data))
	case *ofproto.RoleRequest:
		fmt.Fprintf(&b, " NXT_ROLE_REQUEST role=%s\n", m.Role)
	case *ofproto.RoleReply:
		fmt.Fprintf(&b, " NXT_ROLE_REPLY role=%s\n", m.Role)
	case *ofproto.FeaturesReply:
		fmt.Fprintf(&b, " dpid:%016x\nn_tables:%d, n_buffers:%d\ncapabilities: %s\nactions: %s\n",
			m.DatapathID, m.NTables, m.NBuffers, bitsText(m.Capabilities.Names()), bitsText(m.Actions.Names()))
		for i := range m.Ports {
			b.WriteString(portText(&m.Ports[i]))
		}
	case *ofproto.GetConfigReply:
		fmt.Fprintf(&b, " flags=%s miss_send_len=%d\n", m.Flags, m.MissSendLen)
	case *ofproto.SetConfig:
		fmt.Fprintf(&b, " flags=%s miss_send_len=%d\n", m.Flags, m.MissSendLen)
	case *ofproto.PacketIn:
		buf := "(unbuffered)"
		if m.BufferID != ofproto.BufferNone {
			buf = fmt.Sprintf("buffer=%#08x", m.BufferID)
		}
		fmt.Fprintf(&b, " total_len=%d in_port=%s reason=%s data_len=%d %s\n%s",
			m.TotalLen, portName(m.InPort), m.Reason, len(m.Data), buf, dataText(m.Data))
	case *ofproto.FlowRemoved:
		fmt.Fprintf(&b, " %s reason=%s cookie:%#x duration:%s idle_timeout:%d packet_count:%d byte_count:%d\n",
			matchText(fmt.Sprintf("priority=%d", m.Priority), &m.Match), m.Reason, m.Cookie,
			durationText(m.DurationSec, m.DurationNsec), m.IdleTimeout, m.PacketCount, m.ByteCount)
	case *ofproto.PortStatus:
		fmt.Fprintf(&b, " %s\n%s", m.Reason, portText(&m.Desc))
	case *ofproto.PacketOut:
		buf := "(unbuffered)"
		if m.BufferID != ofproto.BufferNone {
			buf = fmt.Sprintf("buffer=%#08x", m.BufferID)
		}
		fmt.Fprintf(&b, " in_port=%s actions=%s data_len=%d %s\n%s",
			portName(m.InPort), actionsText(m.Actions), len(m.Data), buf, dataText(m.Data))
	case *ofproto.FlowMod:
		fmt.Fprintf(&b, " %s %s cookie:%#x idle_timeout:%d hard_timeout:%d",
			m.Command, matchText(fmt.Sprintf("priority=%d", m.Priority), &m.Match), m.Cookie, m.IdleTimeout, m.HardTimeout)
		if m.BufferID != ofproto.BufferNone {
			fmt.Fprintf(&b, " buffer=%#08x", m.BufferID)
		}
		if m.OutPort != ofproto.PortNone {
			fmt.Fprintf(&b, " out_port:%s", portName(m.OutPort))
		}
		if m.Flags != 0 {
			fmt.Fprintf(&b, " flags:%s", m.Flags)
		}
		fmt.Fprintf(&b, " actions=%s\n", actionsText(m.Actions))
	case *ofproto.PortMod:
		fmt.Fprintf(&b, " port:%s addr:%s config:%s mask:%s advertise:%s\n", portName(m.PortNo), m.HWAddr,
			bitsText(m.Config.Names()), bitsText(m.Mask.Names()), bitsText(m.Advertise.Names()))
	case *ofproto.StatsRequest:
		fmt.Fprintf(&b, " %s request", m.Body.StatsType())
		statsText(&b, m.Body)
	case *ofproto.StatsReply:
		fmt.Fprintf(&b, " %s reply", m.Body.StatsType())
		if m.More() {
			b.WriteString(" flags=OFPSF_REPLY_MORE")
		}
		statsText(&b, m.Body)
	case *ofproto.QueueGetConfigRequest:
		fmt.Fprintf(&b, " port=%s\n", portName(m.Port))
	case *ofproto.QueueGetConfigReply:
		fmt.Fprintf(&b, " port=%s\n", portName(m.Port))
		for _, q := range m.Queues {
			fmt.Fprintf(&b, " queue %d:", q.QueueID)
			for _, p := range q.Properties {
				if p.Property == ofproto.QueuePropMinRate {
					fmt.Fprintf(&b, " min_rate:%.1f%%", float64(p.Rate)/10)
				} else {
					fmt.Fprintf(&b, " %s:%x", queuePropName(p.Property), p.Data)
				}
			}
			b.WriteString("\n")
		}
	default:
		b.WriteString("\n")
	}
	return b.String()
}

func statsText(b *strings.Builder, body ofproto.StatsBody) {
	switch s := body.(type) {
	case *ofproto.FlowStatsRequest:
		fmt.Fprintf(b, " table_id=%d out_port=%s match=%s\n", s.TableID, portName(s.OutPort), matchOrAny(&s.Match))
	case *ofproto.AggregateStatsRequest:
		fmt.Fprintf(b, " table_id=%d out_port=%s match=%s\n", s.TableID, portName(s.OutPort), matchOrAny(&s.Match))
	case *ofproto.PortStatsRequest:
		fmt.Fprintf(b, " port_no=%s\n", portName(s.PortNo))
	case *ofproto.QueueStatsRequest:
		q := strconv.FormatUint(uint64(s.QueueID), 10)
		if s.QueueID == ofproto.QueueAll {
			q = "ALL"
		}
		fmt.Fprintf(b, " port_no=%s queue_id=%s\n", portName(s.PortNo), q)
	case *ofproto.VendorStats:
		fmt.Fprintf(b, " vendor=%#08x %d bytes\n%s", s.Vendor, len(s.Data), dataText(s.Data))
	case *ofproto.DescStats:
		fmt.Fprintf(b, "\nManufacturer: %s\nHardware: %s\nSoftware: %s\nSerial Num: %s\nDP Description: %s\n",
			s.MfrDesc, s.HWDesc, s.SWDesc, s.SerialNum, s.DPDesc)
	case *ofproto.FlowStatsReply:
		fmt.Fprintf(b, " %d flows\n", len(s.Entries))
		for i := range s.Entries {
			e := &s.Entries[i]
			fmt.Fprintf(b, " cookie=%#x, duration=%s, table=%d, n_packets=%d, n_bytes=%d, idle_timeout=%d, hard_timeout=%d, %s actions=%s\n",
				e.Cookie, durationText(e.DurationSec, e.DurationNsec), e.TableID, e.PacketCount, e.ByteCount,
				e.IdleTimeout, e.HardTimeout, matchText(fmt.Sprintf("priority=%d", e.Priority), &e.Match), actionsText(e.Actions))
		}
	case *ofproto.AggregateStatsReply:
		fmt.Fprintf(b, " packet_count=%d byte_count=%d flow_count=%d\n", s.PacketCount, s.ByteCount, s.FlowCount)
	case *ofproto.TableStatsReply:
		fmt.Fprintf(b, " %d tables\n", len(s.Entries))
		for _, t := range s.Entries {
			fmt.Fprintf(b, "  table %d (%q): active=%d, lookup=%d, matched=%d, max_entries=%d, wildcards=%s\n",
				t.TableID, t.Name, t.ActiveCount, t.LookupCount, t.MatchedCount, t.MaxEntries, t.Wildcards)
		}
	case *ofproto.PortStatsReply:
		fmt.Fprintf(b, " %d ports\n", len(s.Entries))
		for _, p := range s.Entries {
			fmt.Fprintf(b, "  port %s: rx pkts=%d, bytes=%d, drop=%d, errs=%d, frame=%d, over=%d, crc=%d\n",
				portName(p.PortNo), p.RxPackets, p.RxBytes, p.RxDropped, p.RxErrors, p.RxFrameErr, p.RxOverErr, p.RxCRCErr)
			fmt.Fprintf(b, "           tx pkts=%d, bytes=%d, drop=%d, errs=%d, coll=%d\n",
				p.TxPackets, p.TxBytes, p.TxDropped, p.TxErrors, p.Collisions)
		}
	case *ofproto.QueueStatsReply:
		fmt.Fprintf(b, " %d queues\n", len(s.Entries))
		for _, q := range s.Entries {
			fmt.Fprintf(b, "  port %s queue %d: bytes=%d, pkts=%d, errors=%d\n",
				portName(q.PortNo), q.QueueID, q.TxBytes, q.TxPackets, q.TxErrors)
		}
	default:
		b.WriteString("\n")
	}
}
