//go:build !linux

package load

import "net"

// rawIO uses net.Conn's own Read and Write where raw socket calls are not
// implemented; it holds a shared buffer while it waits.
type rawIO struct {
	nc net.Conn
	bp *[]byte
}

func (x *rawIO) reset(nc net.Conn) error { x.nc = nc; return nil }

func (x *rawIO) read(carry []byte) ([]byte, error) {
	x.bp = getReadBuf(len(carry))
	buf := *x.bp
	n0 := copy(buf, carry)
	n, err := x.nc.Read(buf[n0:])
	return buf[:n0+n], err
}

func (x *rawIO) release() {
	if x.bp != nil {
		putReadBuf(x.bp)
		x.bp = nil
	}
}

func (x *rawIO) write(p []byte) error {
	_, err := x.nc.Write(p)
	return err
}
