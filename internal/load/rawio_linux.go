package load

import (
	"errors"
	"io"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawIO reads and writes a connection's socket with raw system calls inside
// the runtime poller's callbacks. The socket is non-blocking, so a call never
// blocks; skipping the runtime's syscall bookkeeping keeps the scheduler from
// handing the processor to another thread mid-call, which on a generator
// pinned to one CPU costs context switches on every request. Waiting for
// readiness, and deadlines, are still the poller's.
type rawIO struct {
	rc      syscall.RawConn
	carry   []byte  // bytes to put before what is read
	bp      *[]byte // shared buffer held from a read until release
	data    []byte
	wbuf    []byte
	wn      int
	err     error
	readFn  func(fd uintptr) bool // bound once, so a call does not allocate
	writeFn func(fd uintptr) bool
}

var errNoRawConn = errors.New("connection has no raw access")

func (x *rawIO) reset(nc net.Conn) error {
	x.rc = nil
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return errNoRawConn
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	x.rc = rc
	if x.readFn == nil {
		x.readFn = x.readOnce
		x.writeFn = x.writeAll
	}
	return nil
}

func (x *rawIO) readOnce(fd uintptr) bool {
	if x.bp == nil {
		x.bp = getReadBuf(len(x.carry))
	}
	buf := *x.bp
	n0 := copy(buf, x.carry)
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[n0])), uintptr(len(buf)-n0))
		switch e {
		case 0:
			x.data = buf[:n0+int(n)]
			if n == 0 {
				x.err = io.EOF
			}
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			// Nothing yet: give the buffer back while waiting.
			putReadBuf(x.bp)
			x.bp = nil
			return false
		default:
			x.err = e
			return true
		}
	}
}

func (x *rawIO) writeAll(fd uintptr) bool {
	for x.wn < len(x.wbuf) {
		p := x.wbuf[x.wn:]
		n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			x.wn += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			x.err = e
			return true
		}
	}
	return true
}

// read waits for data and returns carry followed by what one read got, in a
// shared buffer that stays valid until release.
func (x *rawIO) read(carry []byte) ([]byte, error) {
	x.carry, x.data, x.err = carry, nil, nil
	err := x.rc.Read(x.readFn)
	x.carry = nil
	if err != nil {
		return nil, err
	}
	return x.data, x.err
}

// release returns the buffer of the last read.
func (x *rawIO) release() {
	if x.bp != nil {
		putReadBuf(x.bp)
		x.bp, x.data = nil, nil
	}
}

// write writes all of p, which must not be empty.
func (x *rawIO) write(p []byte) error {
	x.wbuf, x.wn, x.err = p, 0, nil
	err := x.rc.Write(x.writeFn)
	x.wbuf = nil
	if err != nil {
		return err
	}
	return x.err
}
