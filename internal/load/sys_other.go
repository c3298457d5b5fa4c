//go:build !linux

package load

import (
	"errors"
	"net"
	"runtime"
	"syscall"
	"time"
)

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func allowedCPUs() int { return runtime.NumCPU() }

func runQueueWait() time.Duration { return 0 }

func ensureFiles(need int) error { return nil }

// PinSelf is only implemented on Linux.
func PinSelf(cpus []int) error {
	return errors.New("pinning to CPUs is only supported on Linux")
}

// peeker is only implemented on Linux; elsewhere an idle close is found by
// the next request.
type peeker struct{}

func (p *peeker) reset(nc net.Conn)         {}
func (p *peeker) peek() (closed, data bool) { return false, false }
