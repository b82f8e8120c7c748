//go:build unix

package ingest

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time (user + system, all threads) this
// process has used so far, or 0 when unknown.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
