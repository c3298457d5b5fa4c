package check

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// reply is one server answer: status, which worker sent it, and the body.
type reply struct {
	Status int
	Pid    string
	Body   []byte
	Dur    time.Duration
	Err    error
}

// same is true when two replies cannot be told apart by the client.
func (r reply) same(o reply) bool {
	return r.Err == nil && o.Err == nil && r.Status == o.Status && string(r.Body) == string(o.Body)
}

func (r reply) String() string {
	if r.Err != nil {
		return "error: " + oneLine(r.Err.Error())
	}
	return fmt.Sprintf("%d %s", r.Status, sample(r.Body))
}

// sample is the start of a body, quoted, and its length when cut.
func sample(b []byte) string {
	if len(b) <= 60 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q… (%d bytes)", b[:60], len(b))
}

// send sends one request on a new connection and reads the answer.
func send(ctx context.Context, addr string, req Request, timeout time.Duration) reply {
	p, err := dial(ctx, addr, timeout)
	if err != nil {
		return reply{Err: err}
	}
	raw := req.raw()
	if _, err := p.conn.Write(raw); err != nil {
		p.conn.Close()
		return reply{Err: err}
	}
	return p.read(req)
}

// pending is a connection with a request on its way.
type pending struct {
	conn  net.Conn
	start time.Time
}

func dial(ctx context.Context, addr string, timeout time.Duration) (*pending, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	return &pending{conn: conn, start: time.Now()}, nil
}

// sendHalf sends all of the request but its last byte: a pre-fork sync
// worker that accepted the connection now waits for the rest, and cannot
// take another.
func sendHalf(ctx context.Context, addr string, req Request, timeout time.Duration) (*pending, error) {
	p, err := dial(ctx, addr, timeout)
	if err != nil {
		return nil, err
	}
	raw := req.raw()
	if _, err := p.conn.Write(raw[:len(raw)-1]); err != nil {
		p.conn.Close()
		return nil, err
	}
	return p, nil
}

// finish sends the last byte and reads the answer.
func (p *pending) finish(req Request) reply {
	raw := req.raw()
	if _, err := p.conn.Write(raw[len(raw)-1:]); err != nil {
		p.conn.Close()
		return reply{Err: err}
	}
	return p.read(req)
}

func (p *pending) read(req Request) reply {
	defer p.conn.Close()
	resp, err := http.ReadResponse(bufio.NewReader(p.conn), &http.Request{Method: req.Method})
	if err != nil {
		return reply{Err: err, Dur: time.Since(p.start)}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return reply{Status: resp.StatusCode, Pid: resp.Header.Get(pidHeader), Body: body, Err: err, Dur: time.Since(p.start)}
}

// together sends reqs with n at a time, all starting at once, and returns
// the replies in the order of reqs.
func together(ctx context.Context, addr string, reqs []Request, n int, timeout time.Duration) []reply {
	out := make([]reply, len(reqs))
	next := make(chan int)
	var start, wg sync.WaitGroup
	start.Add(1)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			for i := range next {
				out[i] = send(ctx, addr, reqs[i], timeout)
			}
		}()
	}
	start.Done()
	for i := range reqs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}
