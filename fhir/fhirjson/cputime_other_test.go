//go:build !unix

package fhirjson

import "time"

func cpuTime() time.Duration { return 0 }
