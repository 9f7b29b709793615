//go:build !linux

package main

import "time"

// threadCPU runs fn and returns the process's CPU time meanwhile (the time of one
// thread is read only on Linux).
func threadCPU(fn func()) time.Duration { return processCPU(fn) }
