package load

import "sync"

// Read buffers are shared: a connection holds one only from the read that
// fills it until its responses are parsed, never while it waits, so ten
// thousand connections need a handful of buffers rather than ten thousand.
// What a read leaves unparsed (a partial line, rare) is copied to the
// connection's own carry slice and put in front of the next read.
const readBufSize = 16 << 10

var readBufs = sync.Pool{New: func() any {
	b := make([]byte, readBufSize)
	return &b
}}

// getReadBuf returns a buffer with room for carry and a read after it.
func getReadBuf(carry int) *[]byte {
	if carry > readBufSize/2 {
		b := make([]byte, 2*carry+readBufSize)
		return &b
	}
	return readBufs.Get().(*[]byte)
}

func putReadBuf(bp *[]byte) {
	if len(*bp) == readBufSize {
		readBufs.Put(bp)
	}
}
