//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time of the process so far: user and system, all
// threads, so garbage collection counts. It is 0 if it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
