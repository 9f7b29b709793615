package topology

// HasSwitch reports whether the network knows switch dpid (Path from it to itself
// succeeds exactly then).
func (n *Network) HasSwitch(dpid uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.switches[dpid]
	return ok
}

// NumHosts returns the number of hosts known (len(Hosts()) without copying and
// sorting them).
func (n *Network) NumHosts() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.hosts)
}
