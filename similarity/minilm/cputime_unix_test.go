//go:build unix

package minilm

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used (user + system),
// which, unlike wall time, does not grow when other programs load the
// machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
