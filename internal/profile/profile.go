// Package profile writes a CPU profile or an execution trace of one
// phase of a benchmark (xietong bench, bench/onecode), so that each tool
// does not open, start, stop and close the file its own way. It depends
// on nothing but the standard library.
package profile

import (
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// CPU starts a CPU profile into path and returns what stops it and
// closes the file; with path "" it starts nothing.
func CPU(path string) (stop func() error, err error) {
	return capture(path, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// Trace starts an execution trace (runtime/trace) into path and returns
// what stops it and closes the file; with path "" it starts nothing.
func Trace(path string) (stop func() error, err error) {
	return capture(path, trace.Start, trace.Stop)
}

func capture(path string, start func(io.Writer) error, stop func()) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		stop()
		return f.Close()
	}, nil
}
