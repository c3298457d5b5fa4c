package load

import (
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pacer wakes goroutines at precise times for the open model. Go's own
// timers wake an idle process up to a millisecond late (the runtime waits in
// epoll with millisecond timeouts), which would make a schedule of sends
// ragged. A timerfd in the runtime's poller fires on time: the pacer keeps
// one armed for the earliest waiter.
type pacer struct {
	start time.Time
	tf    *os.File
	fd    int // tf's descriptor; tf.Fd() would make it blocking
	rc    syscall.RawConn

	mu      sync.Mutex // guards waiters and armed
	waiters wakeHeap
	armed   int64 // time the timerfd is set for, ns since start; 0 if none
}

type wake struct {
	at int64
	ch chan struct{}
}

// wakeHeap is a min-heap by time, written out so pushing does not allocate.
type wakeHeap []wake

func (h *wakeHeap) push(w wake) {
	*h = append(*h, w)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if a[parent].at <= a[i].at {
			break
		}
		a[parent], a[i] = a[i], a[parent]
		i = parent
	}
}

func (h *wakeHeap) pop() wake {
	a := *h
	w := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < len(a) && a[l].at < a[small].at {
			small = l
		}
		if r := l + 1; r < len(a) && a[r].at < a[small].at {
			small = r
		}
		if small == i {
			break
		}
		a[i], a[small] = a[small], a[i]
		i = small
	}
	*h = a
	return w
}

// newPacer starts a pacer; it falls back to Go timers if no timerfd can be
// made.
func newPacer(start time.Time) *pacer {
	p := &pacer{start: start}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return p
	}
	p.fd = fd
	p.tf = os.NewFile(uintptr(fd), "timerfd") // non-blocking: served by the poller
	if p.rc, err = p.tf.SyscallConn(); err != nil {
		p.tf.Close()
		p.tf = nil
		return p
	}
	go p.loop()
	return p
}

func (p *pacer) now() int64 { return int64(time.Since(p.start)) }

// sleepUntil blocks until at (ns since start) or until done is closed. ch is
// the caller's own channel, with a buffer of one.
func (p *pacer) sleepUntil(at int64, ch chan struct{}, done <-chan struct{}) {
	if p.tf == nil {
		if d := at - p.now(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		return
	}
	p.mu.Lock()
	now := p.now()
	if at <= now {
		p.mu.Unlock()
		return
	}
	p.waiters.push(wake{at: at, ch: ch})
	if p.armed == 0 || at < p.armed {
		p.arm(at - now)
		p.armed = at
	}
	p.mu.Unlock()
	select {
	case <-ch:
	case <-done:
	}
}

// arm sets the timerfd to fire after d ns. Call with mu held. Like the
// connections' reads and writes, the pacer's calls are raw: they never
// block, and the runtime's syscall bookkeeping would wake its monitor
// thread on every send.
func (p *pacer) arm(d int64) {
	if d < 1 {
		d = 1 // zero would disarm it
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d)}
	unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(p.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

func (p *pacer) loop() {
	var buf [8]byte
	read := func(fd uintptr) bool {
		_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), 8)
		return e != unix.EAGAIN
	}
	for {
		if err := p.rc.Read(read); err != nil {
			return // closed
		}
		p.mu.Lock()
		now := p.now()
		for len(p.waiters) > 0 && p.waiters[0].at <= now {
			w := p.waiters.pop()
			select {
			case w.ch <- struct{}{}:
			default:
			}
		}
		p.armed = 0
		if len(p.waiters) > 0 {
			p.arm(p.waiters[0].at - now)
			p.armed = p.waiters[0].at
		}
		p.mu.Unlock()
	}
}

func (p *pacer) close() {
	if p.tf != nil {
		p.tf.Close()
	}
}
