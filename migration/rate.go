package migration

import (
	"math"

	"github.com/cemon-sdn/cemon/stats"
)

// TransferRate is R = min(D + δ, R_max, free) in MB/s. A non-positive δ means
// DefaultDeltaMBs; a non-positive maxMBs means no R_max; a negative freeMBs
// means the free bandwidth is unknown. The result is zero when the path has
// nothing free.
func TransferRate(dirtyMBs, deltaMBs, maxMBs, freeMBs float64) float64 {
	if deltaMBs <= 0 {
		deltaMBs = DefaultDeltaMBs
	}
	r := dirtyMBs + deltaMBs
	if maxMBs > 0 {
		r = min(r, maxMBs)
	}
	if freeMBs >= 0 {
		r = min(r, freeMBs)
	}
	if math.IsNaN(r) || r < 0 {
		return 0
	}
	return r
}

// PathFreeMBs is the free bandwidth on a path of directed links, in MB/s,
// from the loads cemon measures (stats.FreeBps), each link of capacityBps.
func PathFreeMBs(r stats.Reader, path []stats.Link, capacityBps float64) float64 {
	return BpsToMBs(stats.FreeBps(r, path, capacityBps))
}

// BpsToMBs converts bits per second to MB/s.
func BpsToMBs(bps float64) float64 { return bps / 8 / 1e6 }

// MBsToBps converts MB/s to bits per second.
func MBsToBps(mbs float64) float64 { return mbs * 8 * 1e6 }
