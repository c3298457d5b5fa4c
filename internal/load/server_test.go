package load

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer is a minimal HTTP/1.1 server on 127.0.0.1 whose behaviour tests
// choose per request. It counts what it read, so tests can check the
// client's accounting against the server's own.
type rawServer struct {
	ln        net.Listener
	requests  atomic.Int64 // requests read completely
	conns     atomic.Int64 // connections accepted
	pipelined atomic.Int64 // requests found already buffered behind another
	handle    func(req *rawRequest) action

	mu     sync.Mutex // guards open
	open   map[net.Conn]bool
	wg     sync.WaitGroup
	closed chan struct{}
}

type rawRequest struct {
	method, target string
	body           string
	n              int64 // the server-wide sequence number, from 1
	connReq        int   // the sequence number on its connection, from 1
	conn           int64 // the connection's sequence number, from 1
}

// action says how the server answers a request.
type action struct {
	resp  string        // bytes to write
	delay time.Duration // before writing
	close bool          // close after writing (FIN)
	reset bool          // close with RST instead of answering
	hang  bool          // never answer; keep the connection open
}

func ok(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func newRawServer(t testing.TB, handle func(*rawRequest) action) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, handle: handle, open: map[net.Conn]bool{}, closed: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

func (s *rawServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for its goroutines; it is idempotent.
func (s *rawServer) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
	}
	close(s.closed)
	s.ln.Close()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *rawServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.closed:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.open[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c, s.conns.Add(1))
	}
}

func (s *rawServer) serveConn(c net.Conn, connID int64) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.open, c)
		s.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := readRequest(br)
		if err != nil {
			return
		}
		req.connReq = n
		req.conn = connID
		req.n = s.requests.Add(1)
		if br.Buffered() > 0 {
			s.pipelined.Add(1)
		}
		a := s.handle(req)
		switch {
		case a.reset:
			c.(*net.TCPConn).SetLinger(0)
			return
		case a.hang:
			io.Copy(io.Discard, c) // until the client goes away
			return
		}
		if a.delay > 0 {
			select {
			case <-time.After(a.delay):
			case <-s.closed:
				return
			}
		}
		if _, err := io.WriteString(c, a.resp); err != nil || a.close {
			return
		}
	}
}

func readRequest(br *bufio.Reader) (*rawRequest, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		return nil, io.ErrUnexpectedEOF
	}
	req := &rawRequest{method: f[0], target: f[1]}
	cl := 0
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "Content-Length") {
			cl, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if cl > 0 {
		b := make([]byte, cl)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		req.body = string(b)
	}
	return req, nil
}
