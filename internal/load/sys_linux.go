package load

import (
	"errors"
	"fmt"
	"math/bits"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runQueueWait returns how long this process's live threads have waited
// on a run queue for a CPU (the second field of each thread's schedstat):
// time the generator was ready to run and another process had the CPU.
// Threads that exited are not counted; it returns 0 where schedstat is
// not available.
func runQueueWait() time.Duration {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0
	}
	var sum int64
	buf := make([]byte, 128)
	for _, t := range tasks {
		f, err := os.Open("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		n, _ := f.Read(buf)
		f.Close()
		fields := strings.Fields(string(buf[:n]))
		if len(fields) < 2 {
			continue
		}
		if v, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
			sum += v
		}
	}
	return time.Duration(sum)
}

// allowedCPUs counts the CPUs in this process's affinity mask: what the
// generator could use, which under taskset is less than runtime.NumCPU's
// view of the machine at start.
func allowedCPUs() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return runtime.NumCPU()
	}
	if n := set.Count(); n > 0 {
		return n
	}
	return 1
}

// ensureFiles makes sure the process may open need file descriptors,
// raising the soft RLIMIT_NOFILE up to the hard limit if that is enough.
func ensureFiles(need int) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("reading RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur >= uint64(need) {
		return nil
	}
	if lim.Max < uint64(need) {
		return fmt.Errorf("%d connections need about %d open files but the hard limit (RLIMIT_NOFILE) is %d: raise it (ulimit -Hn) or use fewer connections",
			need-fdReserve, need, lim.Max)
	}
	lim.Cur = lim.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raising RLIMIT_NOFILE to %d: %w", lim.Max, err)
	}
	return nil
}

// PinSelf restricts every thread of this process to cpus and sets GOMAXPROCS
// to match, so a load generator competes with the server only for the CPUs
// it was given. New threads inherit the mask of the thread that creates them;
// the thread list is walked until no unpinned thread remains.
func PinSelf(cpus []int) error {
	if len(cpus) == 0 {
		return errors.New("pinning: empty CPU list")
	}
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= len(unix.CPUSet{})*bits.UintSize {
			return fmt.Errorf("pinning: CPU %d out of range", c)
		}
		set.Set(c)
	}
	pinned := map[int]bool{}
	for round := 0; ; round++ {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("pinning: listing threads: %w", err)
		}
		fresh := 0
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || pinned[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // the thread exited meanwhile
				}
				return fmt.Errorf("pinning thread %d to CPUs %v: %w", tid, cpus, err)
			}
			pinned[tid] = true
			fresh++
		}
		if fresh == 0 {
			break
		}
		if round == 100 {
			return errors.New("pinning: threads keep appearing")
		}
	}
	runtime.GOMAXPROCS(set.Count())
	return nil
}

// peeker tells, without blocking or consuming anything, whether the server
// has closed an idle connection or sent something unasked. It goes through
// Control rather than Read, so a passed deadline does not get in the way.
type peeker struct {
	rc     syscall.RawConn
	fn     func(fd uintptr) // bound once, so a peek does not allocate
	buf    [1]byte
	closed bool
	data   bool
}

func (p *peeker) reset(nc net.Conn) {
	p.rc = nil
	if sc, ok := nc.(syscall.Conn); ok {
		p.rc, _ = sc.SyscallConn()
	}
	if p.fn == nil {
		p.fn = func(fd uintptr) {
			n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.buf[0])), 1,
				unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				p.closed, p.data = n == 0, n > 0
			case unix.EAGAIN, unix.EINTR:
			default:
				p.closed = true // reset
			}
		}
	}
}

func (p *peeker) peek() (closed, data bool) {
	if p.rc == nil {
		return false, false
	}
	p.closed, p.data = false, false
	if err := p.rc.Control(p.fn); err != nil {
		return true, false
	}
	return p.closed, p.data
}
