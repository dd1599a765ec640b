//go:build !unix

package signin_test

import "time"

// processCPU is not measured here: the benchmark's cpu-µs/op reads 0.
func processCPU() time.Duration { return 0 }
