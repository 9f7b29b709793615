//go:build linux

package main

import (
	"runtime"
	"syscall"
	"time"
)

// threadCPU runs fn on one OS thread and returns the CPU time that thread spent in
// it (user + system), so that the work of the process's other goroutines meanwhile
// (the emulated switches answering) is not counted as fn's. It falls back to the
// process's CPU time if the thread's cannot be read.
func threadCPU(fn func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a, b syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_THREAD, &a) != nil {
		return processCPU(fn)
	}
	fn()
	if syscall.Getrusage(syscall.RUSAGE_THREAD, &b) != nil {
		return 0
	}
	return time.Duration(b.Utime.Nano() + b.Stime.Nano() - a.Utime.Nano() - a.Stime.Nano())
}
