//go:build unix

package auth_test

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the CPU time (user + system) the test process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a "cpu-ns/op" metric: process CPU time per operation. On a
// shared machine wall time includes the time other processes held the
// cores; CPU time does not, so it compares two implementations more
// reliably (run with -cpu 1 so background GC work is counted the same way).
func reportCPU(b *testing.B, start time.Duration) {
	if n := b.N; n > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(n), "cpu-ns/op")
	}
}
