//go:build !unix

package main

import "time"

// cpuClock is wall-clock time where the process's CPU time is not available.
func cpuClock() (func() time.Time, string) { return time.Now, "" }

// processCPU runs fn and returns the wall-clock time it took.
func processCPU(fn func()) time.Duration {
	t0 := time.Now()
	fn()
	return time.Since(t0)
}

// selfSysCPU is 0 where the process's system time cannot be read.
func selfSysCPU() time.Duration { return 0 }
