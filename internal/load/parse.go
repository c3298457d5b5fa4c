package load

import (
	"bytes"
	"errors"
)

// maxLine bounds one status, header, chunk-size or trailer line. A server that
// sends a longer line is not one a benchmark can trust, so it is a protocol
// error rather than a reason to buffer without limit.
const maxLine = 64 << 10

// Parser states. The states that read a line keep the partial line in the
// caller's buffer; the body states consume whatever is there.
const (
	stStatus    uint8 = iota // expecting a status line
	stHeader                 // expecting a header line or the blank line
	stBody                   // Content-Length body, p.remaining bytes left
	stChunkSize              // expecting a chunk-size line
	stChunkData              // inside a chunk, p.remaining bytes left
	stChunkEnd               // expecting the CRLF that ends a chunk
	stTrailer                // expecting a trailer line or the blank line
	stUntilEOF               // body delimited by the connection closing
)

// Protocol errors. They are package-level values so the hot path never
// allocates one.
var (
	errStatusLine    = errors.New("malformed status line")
	errHeaderLine    = errors.New("malformed header line")
	errContentLength = errors.New("invalid Content-Length")
	errChunkSize     = errors.New("invalid chunk size")
	errChunkEnd      = errors.New("chunk not followed by CRLF")
	errLineTooLong   = errors.New("line longer than 64 KiB")
	errUpgrade       = errors.New("101 Switching Protocols is not supported")
)

// respParser reads a stream of HTTP/1.x responses incrementally and without
// allocating. It keeps only what deciding where a response ends needs: the
// status code, how the body is delimited and whether the connection stays
// open. Header values are never copied.
//
// The caller owns the buffer. feed consumes complete lines and any body bytes;
// a partial line is left unconsumed for the caller to keep and extend with the
// next read, so a response may be split at any byte.
type respParser struct {
	// head is set by the caller before feeding the response to a HEAD
	// request, which has headers but never a body.
	head bool
	// sink, when set by the caller, receives the body bytes of the
	// responses fed (up to maxCaptureBody), for captures. Like head it
	// survives a reset.
	sink *[]byte

	state     uint8
	minor     byte // HTTP/1.minor of the current response
	status    int
	chunked   bool
	te        bool // Transfer-Encoding present
	clSeen    bool
	close     bool // "Connection: close" seen
	keepAlive bool // "Connection: keep-alive" seen
	remaining int64
	cl        int64

	// closeAfter reports, once a response is complete, that the server will
	// close the connection after it.
	closeAfter bool
}

// reset prepares for the next response on the same connection.
func (p *respParser) reset() {
	head, sink := p.head, p.sink
	*p = respParser{head: head, sink: sink}
}

// keep appends body bytes to the sink.
func (p *respParser) keep(b []byte) {
	if p.sink != nil && len(*p.sink) < maxCaptureBody {
		*p.sink = append(*p.sink, b[:min(len(b), maxCaptureBody-len(*p.sink))]...)
	}
}

// feed consumes bytes of b. It returns how many it consumed and whether a
// response completed; after a completed response the next call starts the
// next one, so the caller can account each response before feeding on. When
// done is false and n < len(b), b[n:] is a partial line that must be offered
// again with more bytes after it.
func (p *respParser) feed(b []byte) (n int, done bool, err error) {
	for {
		switch p.state {
		case stBody, stChunkData:
			avail := int64(len(b) - n)
			if avail == 0 {
				return n, false, nil
			}
			k := min(avail, p.remaining)
			if p.sink != nil {
				p.keep(b[n : n+int(k)])
			}
			n += int(k)
			p.remaining -= k
			if p.remaining > 0 {
				return n, false, nil
			}
			if p.state == stChunkData {
				p.state = stChunkEnd
				continue
			}
			p.finish()
			return n, true, nil
		case stUntilEOF:
			if p.sink != nil {
				p.keep(b[n:])
			}
			return len(b), false, nil
		}

		i := bytes.IndexByte(b[n:], '\n')
		if i < 0 {
			if len(b)-n > maxLine {
				return n, false, errLineTooLong
			}
			return n, false, nil
		}
		if i > maxLine {
			return n, false, errLineTooLong
		}
		line := b[n : n+i]
		n += i + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		var complete bool
		switch p.state {
		case stStatus:
			err = p.statusLine(line)
		case stHeader:
			complete, err = p.headerLine(line)
		case stChunkSize:
			complete, err = p.chunkSizeLine(line)
		case stChunkEnd:
			if len(line) != 0 {
				err = errChunkEnd
			}
			p.state = stChunkSize
		case stTrailer:
			if len(line) == 0 {
				complete = true
			}
		}
		if err != nil {
			return n, false, err
		}
		if complete {
			p.finish()
			return n, true, nil
		}
	}
}

// eof tells the parser the server closed the connection. It reports whether
// that completed a response whose body is delimited by the close.
func (p *respParser) eof() bool {
	if p.state != stUntilEOF {
		return false
	}
	p.finish()
	return true
}

// finish records the outcome of a completed response and readies the parser
// for the next one.
func (p *respParser) finish() {
	closeAfter := p.close || (p.minor == 0 && !p.keepAlive) || p.state == stUntilEOF
	status := p.status
	p.reset()
	p.status = status
	p.closeAfter = closeAfter
}

func (p *respParser) statusLine(line []byte) error {
	// "HTTP/1.x SSS" then optionally " reason".
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return errStatusLine
	}
	minor := line[7]
	if minor < '0' || minor > '9' {
		return errStatusLine
	}
	d0, d1, d2 := line[9]-'0', line[10]-'0', line[11]-'0'
	if d0 > 9 || d1 > 9 || d2 > 9 || d0 == 0 {
		return errStatusLine
	}
	if len(line) > 12 && line[12] != ' ' {
		return errStatusLine
	}
	head, sink := p.head, p.sink
	*p = respParser{head: head, sink: sink, state: stHeader, minor: minor - '0'}
	p.status = int(d0)*100 + int(d1)*10 + int(d2)
	return nil
}

// headerLine handles one header line; the blank line ends the header section
// and decides how the body is delimited (RFC 9112 section 6.3).
func (p *respParser) headerLine(line []byte) (complete bool, err error) {
	if len(line) == 0 {
		return p.endHeaders()
	}
	if line[0] == ' ' || line[0] == '\t' {
		// Obsolete line folding continues the previous field value. None of
		// the fields this parser interprets may be folded by a sane server,
		// so the continuation is ignored.
		return false, nil
	}
	// Find the colon, checking the name on the way.
	colon := 0
	for ; colon < len(line); colon++ {
		c := line[colon]
		if c == ':' {
			break
		}
		if c <= ' ' || c >= 0x7f {
			return false, errHeaderLine
		}
	}
	if colon == 0 || colon == len(line) {
		return false, errHeaderLine
	}
	name := line[:colon]
	switch {
	case equalFold(name, "content-length"):
		cl, ok := parseDecimal(trimOWS(line[colon+1:]))
		if !ok || (p.clSeen && cl != p.cl) {
			return false, errContentLength
		}
		p.cl, p.clSeen = cl, true
	case equalFold(name, "transfer-encoding"):
		p.te = true
		// Only a final "chunked" coding delimits the body by chunks;
		// anything else leaves the body delimited by the close.
		p.chunked = equalFold(lastToken(line[colon+1:]), "chunked")
	case equalFold(name, "connection"):
		value := line[colon+1:]
		for len(value) > 0 {
			var tok []byte
			tok, value = nextToken(value)
			switch {
			case equalFold(tok, "close"):
				p.close = true
			case equalFold(tok, "keep-alive"):
				p.keepAlive = true
			}
		}
	}
	return false, nil
}

func (p *respParser) endHeaders() (complete bool, err error) {
	switch {
	case p.status == 101:
		return false, errUpgrade
	case p.status < 200:
		// An interim response (100 Continue, 103 Early Hints): the final
		// response follows on the same connection.
		p.reset()
		return false, nil
	case p.head || p.status == 204 || p.status == 304:
		return true, nil
	case p.te:
		if p.clSeen {
			// Both framings: Transfer-Encoding wins, and the connection
			// cannot be trusted for another message.
			p.close = true
		}
		if p.chunked {
			p.state = stChunkSize
		} else {
			p.state = stUntilEOF
		}
		return false, nil
	case p.clSeen:
		if p.cl == 0 {
			return true, nil
		}
		p.state, p.remaining = stBody, p.cl
		return false, nil
	default:
		p.state = stUntilEOF
		return false, nil
	}
}

// chunkSizeLine parses "hex-size [; extensions]". A zero size starts the
// trailer section.
func (p *respParser) chunkSizeLine(line []byte) (complete bool, err error) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if i >= 15 {
			return false, errChunkSize
		}
		size = size<<4 | int64(d)
	}
rest:
	if i == 0 {
		return false, errChunkSize
	}
	for ; i < len(line); i++ {
		if c := line[i]; c == ';' {
			break
		} else if c != ' ' && c != '\t' {
			return false, errChunkSize
		}
	}
	if size == 0 {
		p.state = stTrailer
		return false, nil
	}
	p.state, p.remaining = stChunkData, size
	return false, nil
}

// parseDecimal parses a non-negative decimal that fits in 62 bits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextToken splits a comma-separated list: the first element, trimmed, and
// the rest.
func nextToken(b []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(b, ','); i >= 0 {
		return trimOWS(b[:i]), b[i+1:]
	}
	return trimOWS(b), nil
}

// lastToken returns the last element of a comma-separated list, trimmed.
func lastToken(b []byte) []byte {
	if i := bytes.LastIndexByte(b, ','); i >= 0 {
		b = b[i+1:]
	}
	return trimOWS(b)
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring
// ASCII case in b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
