package proc

import (
	"bytes"
	"strings"
	"sync"
)

// ring keeps the last len(buf) bytes written to it.
type ring struct {
	mu    sync.Mutex // guards buf, w, full, total
	buf   []byte
	w     int   // next write position
	full  bool  // every byte of buf holds data
	total int64 // bytes ever written
}

func newRing(size int) *ring { return &ring{buf: make([]byte, size)} }

func (r *ring) Write(p []byte) (int, error) {
	n := len(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total += int64(n)
	if len(p) >= len(r.buf) {
		copy(r.buf, p[len(p)-len(r.buf):])
		r.w, r.full = 0, true
		return n, nil
	}
	c := copy(r.buf[r.w:], p)
	if c < len(p) {
		copy(r.buf, p[c:])
		r.full = true
	}
	r.w = (r.w + len(p)) % len(r.buf)
	if r.w == 0 && len(p) > 0 {
		r.full = true
	}
	return n, nil
}

// bytes returns the buffered bytes in order and whether older bytes were lost.
func (r *ring) bytes() ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return bytes.Clone(r.buf[:r.w]), false
	}
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.w:]...)
	return append(out, r.buf[:r.w]...), r.total > int64(len(r.buf))
}

// lastLines returns the last n lines (all if n <= 0). A partial first line
// (cut by the ring) is dropped; an unterminated last line is kept.
func (r *ring) lastLines(n int) []string {
	b, wrapped := r.bytes()
	if wrapped {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	if len(b) == 0 {
		return nil
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
