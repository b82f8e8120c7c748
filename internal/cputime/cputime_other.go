//go:build !unix

package cputime

import "time"

// Process returns 0: process CPU time is read only on Unix.
func Process() time.Duration { return 0 }
