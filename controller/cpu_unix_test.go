//go:build unix

package controller

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time so far: benchmarks report it per
// operation beside the wall time, which on a loaded machine mostly measures waiting.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
