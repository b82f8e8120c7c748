// Package cputime reads the CPU time this process has used, for the
// benchmarks and benchmark tools: on a shared machine the CPU an operation
// costs is a steadier figure than its wall time. It depends on nothing
// but the standard library.
package cputime
