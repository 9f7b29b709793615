//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuClock returns a clock that reads the process's CPU time (user + system), which
// other jobs on a shared machine inflate far less than wall-clock time, and its name
// for the report. It falls back to wall-clock time if the CPU time cannot be read.
func cpuClock() (func() time.Time, string) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return time.Now, ""
	}
	return func() time.Time {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return time.Time{}
		}
		return time.Unix(0, ru.Utime.Nano()+ru.Stime.Nano())
	}, "the process's CPU time (user + system; the solvers run on one goroutine, the garbage collector's work counts too)"
}

// processCPU runs fn and returns the process's CPU time meanwhile (by the clock of
// cpuClock).
func processCPU(fn func()) time.Duration {
	clock, _ := cpuClock()
	t0 := clock()
	fn()
	return clock().Sub(t0)
}

// selfSysCPU is the CPU time this process spent in the kernel so far (system time),
// or 0 when unknown.
func selfSysCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Stime.Nano())
}
