//go:build !unix

package ingest

import "time"

// ProcessCPU returns 0: process CPU time is read only on Unix.
func ProcessCPU() time.Duration { return 0 }
