//go:build unix

package console_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time of the process so far (user + system, all
// threads, so GC work counts); on the shared machine it measures cost
// better than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
