package topology

import (
	"errors"
	"fmt"
	"html"
	"math"
	"strconv"
)

// ErrGML reports GML input that cannot be read as a graph.
var ErrGML = errors.New("topology: bad GML")

// GML limits: nesting deeper than this is refused (Topology Zoo files nest three deep).
const gmlMaxDepth = 32

// ParseGML reads a graph in the GML dialect of the Internet Topology Zoo:
//
//	graph [ node [ id 0 label "New York" ... ] edge [ source 0 target 1 ... ] ... ]
//
// Nodes are numbered in the order they appear, so Topology Zoo node i becomes node i.
// A node's name is its label with HTML entities decoded (&amp; becomes &), or "n<id>"
// when it has no label. Parallel edges (multigraphs, repeated edges in either direction)
// collapse into one; self loops are dropped; "directed 1" is read as undirected. A node
// without an integer id, a repeated id, or an edge naming an unknown node is an error
// wrapping ErrGML, as is any syntax error. A node's numeric Longitude and Latitude,
// when it has both, become its coordinates (Coord). Every other key is ignored.
func ParseGML(data []byte) (*Graph, error) {
	p := gmlParser{data: data}
	top, err := p.list(0, false)
	if err != nil {
		return nil, err
	}
	var graph []gmlPair
	found := false
	for _, kv := range top {
		if kv.key == "graph" {
			if kv.val.kind != gmlList {
				return nil, fmt.Errorf("%w: graph is not a list", ErrGML)
			}
			if found {
				return nil, fmt.Errorf("%w: more than one graph", ErrGML)
			}
			graph, found = kv.val.list, true
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: no graph [ ... ]", ErrGML)
	}
	g := NewGraph()
	index := map[int64]int{}
	for _, kv := range graph {
		if kv.key != "node" {
			continue
		}
		if kv.val.kind != gmlList {
			return nil, fmt.Errorf("%w: node is not a list", ErrGML)
		}
		id, ok, err := intField(kv.val.list, "id")
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", g.NumNodes(), err)
		}
		if !ok {
			return nil, fmt.Errorf("%w: node %d has no id", ErrGML, g.NumNodes())
		}
		if _, dup := index[id]; dup {
			return nil, fmt.Errorf("%w: repeated node id %d", ErrGML, id)
		}
		name := "n" + strconv.FormatInt(id, 10)
		for _, f := range kv.val.list {
			if f.key == "label" && f.val.kind != gmlList {
				name = html.UnescapeString(f.val.text)
				break
			}
		}
		index[id] = g.AddNode(name)
		lon, okx := floatField(kv.val.list, "Longitude")
		lat, oky := floatField(kv.val.list, "Latitude")
		if okx && oky {
			_ = g.SetCoord(index[id], lon, lat)
		}
	}
	var pairs [][2]int
	for _, kv := range graph {
		if kv.key != "edge" {
			continue
		}
		if kv.val.kind != gmlList {
			return nil, fmt.Errorf("%w: edge is not a list", ErrGML)
		}
		var ends [2]int
		for i, k := range [2]string{"source", "target"} {
			id, ok, err := intField(kv.val.list, k)
			if err != nil {
				return nil, fmt.Errorf("edge: %w", err)
			}
			if !ok {
				return nil, fmt.Errorf("%w: edge without %s", ErrGML, k)
			}
			n, known := index[id]
			if !known {
				return nil, fmt.Errorf("%w: edge %s %d is not a node", ErrGML, k, id)
			}
			ends[i] = n
		}
		if ends[0] == ends[1] {
			continue // self loop: meaningless for forwarding
		}
		pairs = append(pairs, ends)
	}
	g.addEdges(pairs)
	return g, nil
}

// floatField returns the numeric value of the first key k in list, if it is a
// finite number.
func floatField(list []gmlPair, k string) (float64, bool) {
	for _, f := range list {
		if f.key != k {
			continue
		}
		if f.val.kind != gmlNumber {
			return 0, false
		}
		v, err := strconv.ParseFloat(f.val.text, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// intField returns the integer value of the first key k in list.
func intField(list []gmlPair, k string) (int64, bool, error) {
	for _, f := range list {
		if f.key != k {
			continue
		}
		if f.val.kind != gmlNumber {
			return 0, false, fmt.Errorf("%w: %s is not a number", ErrGML, k)
		}
		v, err := strconv.ParseInt(f.val.text, 10, 64)
		if err != nil {
			// Accept integral reals such as "3.0".
			fl, ferr := strconv.ParseFloat(f.val.text, 64)
			if ferr != nil || fl != float64(int64(fl)) {
				return 0, false, fmt.Errorf("%w: %s %q is not an integer", ErrGML, k, f.val.text)
			}
			v = int64(fl)
		}
		return v, true, nil
	}
	return 0, false, nil
}

type gmlKind uint8

const (
	gmlNumber gmlKind = iota + 1
	gmlString
	gmlList
)

type gmlValue struct {
	kind gmlKind
	text string // number or string contents
	list []gmlPair
}

type gmlPair struct {
	key string
	val gmlValue
}

type gmlParser struct {
	data []byte
	pos  int
}

// skip moves past white space and '#' comments.
func (p *gmlParser) skip() {
	for p.pos < len(p.data) {
		switch c := p.data[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			p.pos++
		case c == '#':
			for p.pos < len(p.data) && p.data[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// list reads key-value pairs until ']' (when nested) or end of input (top level).
func (p *gmlParser) list(depth int, nested bool) ([]gmlPair, error) {
	if depth > gmlMaxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d at offset %d", ErrGML, gmlMaxDepth, p.pos)
	}
	var out []gmlPair
	for {
		p.skip()
		if p.pos >= len(p.data) {
			if nested {
				return nil, fmt.Errorf("%w: missing ']' at end of input", ErrGML)
			}
			return out, nil
		}
		if p.data[p.pos] == ']' {
			if !nested {
				return nil, fmt.Errorf("%w: unexpected ']' at offset %d", ErrGML, p.pos)
			}
			p.pos++
			return out, nil
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		p.skip()
		val, err := p.value(depth)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		out = append(out, gmlPair{key: key, val: val})
	}
}

func isKeyStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isKeyByte(c byte) bool { return isKeyStart(c) || c >= '0' && c <= '9' }

func (p *gmlParser) key() (string, error) {
	start := p.pos
	if !isKeyStart(p.data[p.pos]) {
		return "", fmt.Errorf("%w: expected a key at offset %d, found %q", ErrGML, p.pos, p.data[p.pos])
	}
	for p.pos < len(p.data) && isKeyByte(p.data[p.pos]) {
		p.pos++
	}
	return string(p.data[start:p.pos]), nil
}

func (p *gmlParser) value(depth int) (gmlValue, error) {
	if p.pos >= len(p.data) {
		return gmlValue{}, fmt.Errorf("%w: missing value at end of input", ErrGML)
	}
	switch c := p.data[p.pos]; {
	case c == '[':
		p.pos++
		l, err := p.list(depth+1, true)
		return gmlValue{kind: gmlList, list: l}, err
	case c == '"':
		end := p.pos + 1
		for end < len(p.data) && p.data[end] != '"' {
			end++
		}
		if end >= len(p.data) {
			return gmlValue{}, fmt.Errorf("%w: unterminated string at offset %d", ErrGML, p.pos)
		}
		s := string(p.data[p.pos+1 : end])
		p.pos = end + 1
		return gmlValue{kind: gmlString, text: s}, nil
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.data) && isNumByte(p.data[p.pos]) {
			p.pos++
		}
		text := string(p.data[start:p.pos])
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return gmlValue{}, fmt.Errorf("%w: bad number %q at offset %d", ErrGML, text, start)
		}
		return gmlValue{kind: gmlNumber, text: text}, nil
	default:
		return gmlValue{}, fmt.Errorf("%w: expected a value at offset %d, found %q", ErrGML, p.pos, c)
	}
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// FormatGML writes g in the Topology Zoo GML dialect ParseGML reads: node i has id i and
// its name as label (HTML-escaped, so any name survives), and each edge appears once.
// ParseGML(FormatGML(g)) has the same names and edges as g.
func FormatGML(g *Graph) []byte {
	var b []byte
	b = append(b, "graph [\n  directed 0\n"...)
	for i, name := range g.names {
		b = append(b, "  node [\n    id "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, "\n    label \""...)
		b = append(b, html.EscapeString(name)...)
		b = append(b, "\"\n  ]\n"...)
	}
	for _, e := range g.Edges() {
		b = append(b, "  edge [\n    source "...)
		b = strconv.AppendInt(b, int64(e[0]), 10)
		b = append(b, "\n    target "...)
		b = strconv.AppendInt(b, int64(e[1]), 10)
		b = append(b, "\n  ]\n"...)
	}
	return append(b, "]\n"...)
}
