package cputime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/cputime"
)

// Busy work must show up as CPU time. The loop spins until it does, for
// at most 10 s of wall time, so a loaded machine that leaves the test
// little CPU slows it down instead of failing it.
func TestProcessGrowsWithWork(t *testing.T) {
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1":
		t.Skip("process CPU time is read only on Unix")
	}
	before := cputime.Process()
	if before <= 0 {
		t.Fatalf("no CPU time at all after starting the test binary: %v", before)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if cputime.Process() > before {
			return
		}
	}
	t.Fatalf("10 s of busy work added no CPU time to %v", before)
}
