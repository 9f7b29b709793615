//go:build race

package ofproto

// raceEnabled: the race detector makes sync.Pool drop items at random, so pooled
// buffers are allocated again.
const raceEnabled = true
