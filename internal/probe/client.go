package probe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// conn is one raw connection to the server under test. Probes write exact
// bytes (net/http would normalise away what they test) and read responses
// with net/http's parser, which is strict about framing: a response it
// cannot frame is itself a finding.
type conn struct {
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration
}

func dial(ctx context.Context, addr string, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), timeout: timeout}, nil
}

func (c *conn) close() { c.nc.Close() }

func (c *conn) send(s string) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := io.WriteString(c.nc, s)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// response is one parsed response and how it was framed.
type response struct {
	status  int
	header  http.Header
	body    []byte
	chunked bool
	// last: the response ends the connection (Connection: close, or an
	// HTTP/1.0 response without keep-alive). net/http drops the header
	// itself once it has read it into this.
	last bool
	// bodyErr is why the body ended early (a truncated chunked body, a
	// Content-Length not reached); nil for a complete one.
	bodyErr error
}

func (r *response) String() string {
	if r == nil {
		return "no response"
	}
	s := fmt.Sprintf("%d", r.status)
	if len(r.body) > 0 && len(r.body) <= 40 && r.header.Get("Content-Type") == "text/plain" {
		s += fmt.Sprintf(" %q", r.body)
	}
	return s
}

func (r *response) smuggled() bool { return r != nil && bytes.Equal(r.body, []byte("SMUGGLED")) }

// closes reports whether the response said the connection ends with it.
func (r *response) closes() bool { return r != nil && r.last }

// read reads one response to a request of method, body included, within
// wait (the connection's timeout when 0).
func (c *conn) read(method string, wait time.Duration) (*response, error) {
	if wait == 0 {
		wait = c.timeout
	}
	c.nc.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return nil, classify(err)
	}
	r := &response{status: resp.StatusCode, header: resp.Header, last: resp.Close}
	for _, te := range resp.TransferEncoding {
		if strings.EqualFold(te, "chunked") {
			r.chunked = true
		}
	}
	r.body, r.bodyErr = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if r.bodyErr != nil {
		r.bodyErr = classify(r.bodyErr)
	}
	return r, nil
}

// Errors a probe tells apart.
var (
	errClosed  = errors.New("the server closed the connection")
	errTimeout = errors.New("no answer in time")
)

func classify(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return fmt.Errorf("%w (%v)", errClosed, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("%w (%v)", errClosed, err)
	}
	return err
}

// state is what the connection does after the responses read so far.
type state int

const (
	open   state = iota // still open and silent
	closed              // the server closed it
	extra               // the server sent bytes nobody asked for
)

func (s state) String() string {
	return [...]string{"kept open", "closed", "sent unrequested bytes"}[s]
}

// after watches the connection for wait: does the server close it, keep it
// open, or send more than was asked for (a body after HEAD, say)?
func (c *conn) after(wait time.Duration) state {
	if c.br.Buffered() > 0 {
		return extra
	}
	c.nc.SetReadDeadline(time.Now().Add(wait))
	_, err := c.br.Peek(1)
	switch {
	case err == nil:
		return extra
	case errors.Is(err, os.ErrDeadlineExceeded):
		return open
	}
	return closed
}

// echo is what /probe/echo reports of the request the app saw.
type echo struct {
	Method        string            `json:"method"`
	PathInfo      string            `json:"path_info"`
	QueryString   string            `json:"query_string"`
	ContentLength string            `json:"content_length"`
	Protocol      string            `json:"protocol"`
	Headers       map[string]string `json:"headers"`
	BodyLen       int               `json:"body_len"`
	BodySHA256    string            `json:"body_sha256"`
	Problems      []string          `json:"problems"` // PEP 3333 broken where apps rely on it
	Oddities      []string          `json:"oddities"` // broken in keys apps rarely read
}

func parseEcho(r *response) (*echo, error) {
	if r == nil || r.status != 200 {
		return nil, fmt.Errorf("status %s, want 200 from /probe/echo", r)
	}
	var e echo
	if err := json.Unmarshal(r.body, &e); err != nil {
		return nil, fmt.Errorf("the echo's body is not its JSON (%d bytes): %v", len(r.body), err)
	}
	return &e, nil
}
