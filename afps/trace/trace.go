// Package trace reads packet traces for the AFPS simulator: the packet-level CSV
// `time_ns,flow_id,bytes` and pcap files, and cuts them into flows the way a switch's
// idle timeout would. It decodes from an io.Reader and opens no files itself.
//
// The CSV has a header line `time_ns,flow_id,bytes` and one line per packet: the time in
// nanoseconds (any epoch, non-negative), the flow as PROTO:SRCIP:SPORT>DSTIP:DPORT (such
// as tcp:10.0.0.1:4000>10.0.0.2:5201; an IPv6 address goes in brackets) and the packet's
// bytes as its switch would count them (the frame's length). Lines may come in any time
// order; Read sorts them (stable). Blank lines and lines starting with # are skipped.
package trace

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors returned by this package; test with errors.Is.
var (
	ErrSyntax  = errors.New("trace: syntax error")
	ErrTooBig  = errors.New("trace: too big")
	ErrBadPcap = errors.New("trace: bad pcap")
)

// Limits that keep a hostile file from exhausting memory.
const (
	MaxPackets    = 1 << 27
	MaxFlows      = 1 << 24
	MaxLine       = 512
	MaxPacketSize = 1 << 20
)

// Key is a flow's 5-tuple.
type Key struct {
	Proto    uint8
	Src, Dst netip.Addr
	SPort    uint16
	DPort    uint16
}

var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6", 132: "sctp"}

// String formats the key as the CSV's flow_id.
func (k Key) String() string {
	p, ok := protoNames[k.Proto]
	if !ok {
		p = strconv.Itoa(int(k.Proto))
	}
	return p + ":" + netip.AddrPortFrom(k.Src, k.SPort).String() + ">" + netip.AddrPortFrom(k.Dst, k.DPort).String()
}

// ParseKey reads PROTO:SRCIP:SPORT>DSTIP:DPORT (PROTO a name or a number 0..255).
func ParseKey(s string) (Key, error) {
	var k Key
	proto, rest, ok := strings.Cut(s, ":")
	if !ok {
		return k, fmt.Errorf("%w: flow id %q: want PROTO:SRCIP:SPORT>DSTIP:DPORT", ErrSyntax, s)
	}
	found := false
	for n, name := range protoNames {
		if strings.EqualFold(proto, name) {
			k.Proto, found = n, true
		}
	}
	if !found {
		n, err := strconv.ParseUint(proto, 10, 8)
		if err != nil {
			return k, fmt.Errorf("%w: flow id %q: unknown protocol %q", ErrSyntax, s, proto)
		}
		k.Proto = uint8(n)
	}
	src, dst, ok := strings.Cut(rest, ">")
	if !ok {
		return k, fmt.Errorf("%w: flow id %q: no '>' between source and destination", ErrSyntax, s)
	}
	a, err := netip.ParseAddrPort(src)
	if err != nil {
		return k, fmt.Errorf("%w: flow id %q: source: %v", ErrSyntax, s, err)
	}
	b, err := netip.ParseAddrPort(dst)
	if err != nil {
		return k, fmt.Errorf("%w: flow id %q: destination: %v", ErrSyntax, s, err)
	}
	k.Src, k.SPort, k.Dst, k.DPort = a.Addr(), a.Port(), b.Addr(), b.Port()
	return k, nil
}

// Packet is one packet of a trace.
type Packet struct {
	Time  int64  // ns
	Flow  int32  // index into Trace.Keys
	Bytes uint32 // bytes counted by the switch
}

// Trace is a packet trace: the 5-tuples seen and the packets in time order.
type Trace struct {
	Keys    []Key
	Packets []Packet
}

// Header is the CSV's first line.
const Header = "time_ns,flow_id,bytes"

type builder struct {
	t     Trace
	index map[Key]int32
}

func (b *builder) add(at int64, k Key, n uint32) error {
	id, ok := b.index[k]
	if !ok {
		if len(b.t.Keys) >= MaxFlows {
			return fmt.Errorf("%w: over %d flows", ErrTooBig, MaxFlows)
		}
		if b.index == nil {
			b.index = make(map[Key]int32)
		}
		id = int32(len(b.t.Keys))
		b.t.Keys = append(b.t.Keys, k)
		b.index[k] = id
	}
	if len(b.t.Packets) >= MaxPackets {
		return fmt.Errorf("%w: over %d packets", ErrTooBig, MaxPackets)
	}
	b.t.Packets = append(b.t.Packets, Packet{Time: at, Flow: id, Bytes: n})
	return nil
}

func (b *builder) done() *Trace {
	if !slices.IsSortedFunc(b.t.Packets, cmpTime) {
		slices.SortStableFunc(b.t.Packets, cmpTime)
	}
	return &b.t
}

func cmpTime(a, b Packet) int { return cmp.Compare(a.Time, b.Time) }

// ReadCSV reads a CSV trace.
func ReadCSV(r io.Reader) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	var b builder
	line := 0
	header := false
	// Flow ids repeat: parse each distinct string once.
	cache := map[string]Key{}
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		if !header {
			if strings.ReplaceAll(s, " ", "") != Header {
				return nil, fmt.Errorf("%w: line %d: header %q, want %q", ErrSyntax, line, s, Header)
			}
			header = true
			continue
		}
		f1, rest, ok1 := strings.Cut(s, ",")
		f2, f3, ok2 := strings.Cut(rest, ",")
		if !ok1 || !ok2 || strings.Contains(f3, ",") {
			return nil, fmt.Errorf("%w: line %d: want 3 fields time_ns,flow_id,bytes", ErrSyntax, line)
		}
		at, err := strconv.ParseInt(strings.TrimSpace(f1), 10, 64)
		if err != nil || at < 0 {
			return nil, fmt.Errorf("%w: line %d: time_ns %q is not a non-negative integer", ErrSyntax, line, f1)
		}
		f2 = strings.TrimSpace(f2)
		k, ok := cache[f2]
		if !ok {
			if k, err = ParseKey(f2); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			if len(cache) < 1<<20 {
				cache[strings.Clone(f2)] = k
			}
		}
		n, err := strconv.ParseUint(strings.TrimSpace(f3), 10, 32)
		if err != nil || n > MaxPacketSize {
			return nil, fmt.Errorf("%w: line %d: bytes %q, want 0..%d", ErrSyntax, line, f3, MaxPacketSize)
		}
		if err := b.add(at, k, uint32(n)); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d: longer than %d bytes", ErrSyntax, line+1, MaxLine)
		}
		return nil, err
	}
	if !header {
		return nil, fmt.Errorf("%w: no header line %q", ErrSyntax, Header)
	}
	return b.done(), nil
}

// WriteCSV writes t as a CSV trace.
func WriteCSV(w io.Writer, t *Trace) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	ids := make([]string, len(t.Keys))
	for i, k := range t.Keys {
		ids[i] = k.String()
	}
	bw.WriteString(Header + "\n")
	buf := make([]byte, 0, 128)
	for _, p := range t.Packets {
		if p.Flow < 0 || int(p.Flow) >= len(ids) {
			return fmt.Errorf("%w: packet of unknown flow %d", ErrSyntax, p.Flow)
		}
		buf = strconv.AppendInt(buf[:0], p.Time, 10)
		buf = append(buf, ',')
		buf = append(buf, ids[p.Flow]...)
		buf = append(buf, ',')
		buf = strconv.AppendUint(buf, uint64(p.Bytes), 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// DefaultIdle is how long a flow may go without a packet before it ends, as an idle
// timeout would end its entries.
const DefaultIdle = 2 * time.Second

// Flow is one flow of a trace: a 5-tuple's packets from its first packet until it goes
// idle. A 5-tuple that sends again after going idle starts a new flow.
type Flow struct {
	Key   Key
	Start int64 // first packet, ns
	Last  int64 // last packet, ns; the flow ends (its entry expires) at Last + idle
	Bytes uint64
}

// Flows cuts t into flows with the idle timeout idle and returns them (in order of
// their first packet) and, for each packet, the index of its flow.
func Flows(t *Trace, idle time.Duration) ([]Flow, []int32) {
	cur := make([]int32, len(t.Keys))
	for i := range cur {
		cur[i] = -1
	}
	var flows []Flow
	of := make([]int32, len(t.Packets))
	for i, p := range t.Packets {
		f := cur[p.Flow]
		if f < 0 || p.Time-flows[f].Last > int64(idle) {
			f = int32(len(flows))
			flows = append(flows, Flow{Key: t.Keys[p.Flow], Start: p.Time, Last: p.Time})
			cur[p.Flow] = f
		}
		fl := &flows[f]
		fl.Last = p.Time
		fl.Bytes += uint64(p.Bytes)
		of[i] = f
	}
	return flows, of
}

// Merge returns the packets of a and b in one trace (time order, keys merged).
func Merge(a, b *Trace) Trace {
	var bl builder
	for _, t := range []*Trace{a, b} {
		for _, p := range t.Packets {
			// add cannot fail below the limits a and b already respect together
			_ = bl.add(p.Time, t.Keys[p.Flow], p.Bytes)
		}
	}
	return *bl.done()
}

// Shift adds d nanoseconds to every packet's time.
func Shift(t *Trace, d int64) {
	for i := range t.Packets {
		t.Packets[i].Time += d
	}
}

// Sort puts t's packets in time order (stable).
func Sort(t *Trace) {
	if !slices.IsSortedFunc(t.Packets, cmpTime) {
		slices.SortStableFunc(t.Packets, cmpTime)
	}
}
