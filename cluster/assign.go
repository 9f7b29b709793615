package cluster

import (
	"cmp"
	"slices"
)

// Candidate is one instance as the assignment sees it: the switches it is connected
// to, each with its distance in hops (the cost model's per-controller cost of a
// request to the switch, algorithms.md's in-band weighting).
type Candidate struct {
	ID   string
	Hops map[uint64]int // connected switches and their distance
}

// Assign gives every switch that some candidate is connected to one master: the
// nearest candidate (fewest hops), balanced so that no candidate masters more than
// ceil(switches/candidates) switches while another connected one has room. Ties go to
// the current master (prev), then to the smaller ID, so that an assignment is stable
// and every instance computes the same one. It is pure; prev may be nil.
func Assign(cands []Candidate, prev map[uint64]string) map[uint64]string {
	out := map[uint64]string{}
	if len(cands) == 0 {
		return out
	}
	type pair struct {
		dpid uint64
		id   string
		hops int
	}
	var pairs []pair
	switches := map[uint64]bool{}
	for _, c := range cands {
		for d, h := range c.Hops {
			pairs = append(pairs, pair{d, c.ID, h})
			switches[d] = true
		}
	}
	limit := (len(switches) + len(cands) - 1) / len(cands)
	// Cheapest pairs first. A switch whose nearest candidates tie goes to its current
	// master, then to the smaller ID.
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := cmp.Compare(a.hops, b.hops); c != 0 {
			return c
		}
		if c := cmp.Compare(a.dpid, b.dpid); c != 0 {
			return c
		}
		ap, bp := prev[a.dpid] == a.id, prev[b.dpid] == b.id
		if ap != bp {
			if ap {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.id, b.id)
	})
	load := map[string]int{}
	for _, p := range pairs {
		if _, done := out[p.dpid]; done || load[p.id] >= limit {
			continue
		}
		out[p.dpid] = p.id
		load[p.id]++
	}
	// Every switch has a connected candidate, and the limits add up to at least the
	// number of switches, so the loop above placed all of them unless a switch's only
	// candidates are full; such a switch goes to its nearest candidate regardless.
	for _, p := range pairs {
		if _, done := out[p.dpid]; !done {
			out[p.dpid] = p.id
			load[p.id]++
		}
	}
	return out
}

// Cost is the polling-relevant cost of an assignment: the sum over switches of the
// master's hops to it (what a request to each switch costs, once).
func Cost(cands []Candidate, masters map[uint64]string) int {
	byID := map[string]map[uint64]int{}
	for _, c := range cands {
		byID[c.ID] = c.Hops
	}
	total := 0
	for d, id := range masters {
		total += byID[id][d]
	}
	return total
}
