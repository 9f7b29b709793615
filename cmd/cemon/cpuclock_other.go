//go:build !unix

package main

import "time"

// cpuClock is wall-clock time where the process's CPU time is not available.
func cpuClock() (func() time.Time, string) { return time.Now, "" }
