package load

import (
	"errors"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Back-off between failed dials, so a refusing server costs little CPU.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// idlePoll is the longest idle gap (open model, nothing in flight) spent
// asleep on the pacer; a longer gap is first spent in a read, so a server
// that closes an idle connection is noticed before the next request is
// written into it.
const idlePoll = 20 * time.Millisecond

// inflight is a request written and not yet answered.
type inflight struct {
	intended int64 // ns since start: the schedule (open) or the send (closed)
	sent     int64 // ns since start: the first send, also for a resent request
	head     bool  // HEAD request: the response has no body
	idem     bool  // idempotent: may be resent after a keep-alive close race
	retried  bool  // already resent once; never again
	t        *compiled
	// req is the request's bytes while they may be needed for a resend:
	// a template's static bytes, or the buffer it was rendered into, which
	// stays untouched until the request has left the queue.
	req []byte
}

type statusCount struct {
	code int
	n    int64
}

// conn is one connection's loop and its tallies. Only its goroutine touches
// it, except mu and what it guards; the runner reads the tallies after the
// goroutine has exited.
type conn struct {
	r  *runner
	id int

	mu      sync.Mutex // guards nc and stopped, so stop can close nc
	nc      net.Conn
	stopped bool

	carry     []byte // a partial line left by the last read
	wbuf      []byte
	scratch   []byte
	slots     [][]byte // pipelined templated requests' bytes, by queue slot
	onConn    int64    // responses completed on the current connection
	retry     []inflight
	retryBuf  []byte // the bytes of retry, written first on the next connection
	p         respParser
	q         []inflight // ring of Pipeline entries
	qhead, qn int
	v         vars
	next      int64         // open model: intended time of the next request; unclaimed on a shared schedule until taken
	freeAt    int64         // since when a pipeline slot has been free; math.MaxInt64 if none
	wake      chan struct{} // open model: the pacer's wake-up
	peek      peeker
	io        rawIO
	dl, wdl   int64 // read and write deadlines set on nc, ns since start; 0 none
	parsedAt  int64 // when the last read was parsed, if step may reuse it; else 0
	done      bool  // the run's duration is over for this connection

	sent, requests, bytes, opened, late, unfinished int64
	lateFree                                        int64 // late sends that had a free slot at their intended time
	idleRetries                                     int64 // requests resent after a keep-alive close race
	oldestWait                                      int64 // ns the oldest request left in flight had waited at the end
	errs                                            Errors
	status                                          []statusCount
	lat, unc                                        *hdrhistogram.PackedHistogram

	// The flow instance running on the connection, if any: its steps go
	// out one at a time, each after the previous one's response.
	fl      *flowDef
	flStep  int    // the next step to send
	body    []byte // the body of a response whose request captures
	flowsN  FlowCounts
	unexp   map[string]map[int]int64 // by request name and status; made on first use
	capMiss map[string]int64         // by "request var"; made on first use

	// The second being tallied for the timeline.
	sec            int64
	secReq, secErr int64
	secStatus      int64 // non-2xx responses, also in secErr
	secHist        *hdrhistogram.PackedHistogram
}

// unclaimed is conn.next on a shared schedule while the connection has
// taken no send time: it sent the last one it took.
const unclaimed = math.MaxInt64

func newConn(r *runner, id int) *conn {
	c := &conn{
		r:       r,
		id:      id,
		q:       make([]inflight, r.pipeline),
		v:       vars{rng: connRNG(r.cfg.Seed, id), seq: &r.seq},
		lat:     newPacked(),
		secHist: newTimelinePacked(),
	}
	if r.interval > 0 {
		c.unc = newPacked()
		c.wake = make(chan struct{}, 1)
		// Stagger the connections so the total is evenly spaced. On a
		// shared schedule a connection takes its first send time in step.
		c.next = int64(id) * r.interval / int64(len(r.conns))
		if r.shared {
			c.next = unclaimed
		}
	}
	return c
}

func (c *conn) run() {
	r := c.r
	for !c.done && !r.stopping.Load() {
		if c.nc == nil {
			if !c.dial() {
				break
			}
			continue
		}
		c.step()
	}
	// A request waiting to be resent is still in flight.
	c.unfinished += int64(c.qn + len(c.retry))
	if c.qn > 0 {
		c.oldestWait = r.now() - c.q[c.qhead].intended
	} else if len(c.retry) > 0 {
		c.oldestWait = r.now() - c.retry[0].intended
	}
	c.qn = 0
	c.retry = c.retry[:0]
	c.flushSecond()
	c.mu.Lock()
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
	c.mu.Unlock()
}

// dial connects, retrying with back-off. It reports false when the run
// stopped first.
func (c *conn) dial() bool {
	r := c.r
	backoff, most := minBackoff, maxBackoff
	if r.cfg.MaxBackoff > 0 {
		most = r.cfg.MaxBackoff
		backoff = min(backoff, most)
	}
	for {
		if r.now() >= r.end {
			return false
		}
		var nc net.Conn
		var err error
		if r.cfg.Dial != nil {
			nc, err = r.cfg.Dial(r.ctx, c.id)
		} else {
			nc, err = r.dialer.DialContext(r.ctx, "tcp", r.cfg.Addr)
		}
		if err == nil {
			if err := c.io.reset(nc); err != nil {
				nc.Close()
				return false // not a TCP connection; cannot happen
			}
			c.mu.Lock()
			if c.stopped {
				c.mu.Unlock()
				nc.Close()
				return false
			}
			c.nc = nc
			c.mu.Unlock()
			c.opened++
			c.dl, c.wdl = 0, 0
			c.freeAt = r.now()
			if r.interval > 0 {
				c.peek.reset(nc)
			}
			return true
		}
		if r.ctx.Err() != nil || r.stopping.Load() {
			return false
		}
		c.errs.Connect++
		c.tally(r.now(), true, 0)
		t := time.NewTimer(backoff)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, most)
	}
}

// step sends what is due, then reads once and accounts what arrived.
func (c *conn) step() {
	r := c.r
	now := c.parsedAt // the clock read for the last responses, µs ago
	if now == 0 {
		now = r.now()
	}
	c.parsedAt = 0
	if r.shared && c.qn == 0 && c.next == unclaimed {
		// Free: take the oldest send time no connection has taken. Under
		// overload it is past, and the request is timed from it.
		c.next = int64(float64(r.slot.Add(1)-1) * r.gap)
	}
	if now >= r.end || r.interval > 0 && c.qn == 0 && c.next >= r.end {
		// Each connection ends the run on its own clock, so the window
		// is exact however late the runner's own timer fires.
		c.done = true
		return
	}
	if r.interval > 0 && c.qn == 0 {
		if gap := c.next - now; gap > 0 && gap <= int64(idlePoll) {
			r.pacer.sleepUntil(c.next, c.wake, r.ctx.Done())
			now = r.now()
		}
		if c.next <= now && now-c.freeAt > int64(idlePoll/2) {
			// Idle long enough for a server to have closed the
			// connection: look before writing into it.
			if closed, data := c.peek.peek(); closed || data {
				if data {
					c.errs.Protocol++
					c.tally(now, true, 0)
				}
				c.closeConn()
				return
			}
		}
	}

	// Queue the requests that are due, up to the pipeline depth.
	var out []byte
	queued := 0
	if c.qn < r.pipeline {
		c.wbuf = c.wbuf[:0]
		if len(c.retry) > 0 {
			// Requests the last connection lost in a keep-alive close
			// race go first, keeping their intended and send times, so
			// the reconnect is charged to them. They were counted in
			// sent when first written.
			for _, f := range c.retry {
				c.push(f)
			}
			c.retry = c.retry[:0]
			c.wbuf = append(c.wbuf, c.retryBuf...)
			out = c.wbuf
		}
		for c.qn < r.pipeline {
			intended := now
			if r.interval > 0 {
				if c.next > now {
					break
				}
				sched := c.next
				if r.shared {
					c.next = unclaimed
				} else {
					c.next += r.interval
				}
				if now-sched > int64(lateAfter) {
					c.late++
					if c.freeAt <= sched {
						c.lateFree++
					}
				}
				// A request that fell due while the connection had room for
				// it was only waiting for a timer, whose lateness (Go's
				// timers are coarse when idle) is the generator's, not the
				// server's: time it from now. One that fell due while the
				// server held every slot, or while the connection was being
				// re-established, is timed from its schedule.
				if c.freeAt > sched {
					intended = sched
				}
			}
			t := c.nextTemplate()
			f := inflight{intended: intended, sent: now, head: t.head, idem: t.idempotent, t: t}
			queued++
			switch {
			case t.static != nil && r.pipeline == 1:
				out = t.static // shared and read-only; no copy needed
				f.req = t.static
			default:
				start := len(c.wbuf)
				c.wbuf, c.scratch = t.appendRequest(c.wbuf, c.scratch, &c.v)
				out = c.wbuf
				f.req = c.wbuf[start:]
				if r.pipeline > 1 && t.static == nil {
					// The next batch reuses wbuf while this request
					// may still be in flight: keep its own copy.
					slot := (c.qhead + c.qn) % len(c.q)
					if c.slots == nil {
						c.slots = make([][]byte, len(c.q))
					}
					c.slots[slot] = append(c.slots[slot][:0], f.req...)
					f.req = c.slots[slot]
				} else if t.static != nil {
					f.req = t.static
				}
			}
			c.push(f)
		}
	}

	// The read deadline covers the oldest request's timeout and, in the
	// open model, the next send; the write deadline only the timeout. A
	// deadline is moved only when it must come earlier or is about to pass:
	// one left from an older request that fires during a read is rechecked
	// in ioError, which costs far less than re-arming a timer per request.
	want := int64(math.MaxInt64)
	if c.qn > 0 {
		want = c.q[c.qhead].sent + r.timeout
	}
	if len(out) > 0 && rearm(c.wdl, want, now, r.timeout) {
		c.nc.SetWriteDeadline(r.start.Add(time.Duration(want)))
		c.wdl = want
	}
	if r.interval > 0 && c.qn < r.pipeline {
		at := c.next
		if c.qn == 0 {
			// Wake a little early; the pacer times the send itself.
			at -= int64(idlePoll / 2)
		}
		want = min(want, at)
	}
	want = min(want, r.end)
	if rearm(c.dl, want, now, r.timeout) {
		var t time.Time // none, when nothing is awaited
		if want != math.MaxInt64 {
			t = r.start.Add(time.Duration(want))
		}
		c.nc.SetReadDeadline(t)
		c.dl = want
	}

	if len(out) > 0 {
		c.sent += int64(queued)
		if err := c.io.write(out); err != nil {
			c.ioError(err, true)
			return
		}
	}

	data, err := c.io.read(c.carry)
	if len(data) > len(c.carry) {
		c.bytes += int64(len(data) - len(c.carry))
		now := r.now()
		if now >= r.end {
			// Too late to count.
			c.io.release()
			c.done = true
			return
		}
		if rest, open := c.parse(data, now); open {
			c.carry = append(c.carry[:0], rest...)
			c.parsedAt = now
		}
	}
	c.io.release()
	if err != nil && c.nc != nil {
		c.parsedAt = 0
		c.ioError(err, false)
	}
}

// rearm reports whether a deadline set at cur must move to want: it is unset
// (or has fired), must come earlier, or is an older request's and about to
// fire needlessly.
func rearm(cur, want, now, timeout int64) bool {
	return cur == 0 || want < cur || cur < want && cur-now < timeout/2
}

func (c *conn) push(f inflight) {
	c.q[(c.qhead+c.qn)%len(c.q)] = f
	c.qn++
	if c.qn == len(c.q) {
		c.freeAt = math.MaxInt64
	}
}

func (c *conn) pop(now int64) inflight {
	f := c.q[c.qhead]
	c.qhead = (c.qhead + 1) % len(c.q)
	if c.qn == len(c.q) {
		c.freeAt = now
	}
	c.qn--
	return f
}

// parse accounts every complete response in data. It returns what is left
// (a partial line), and false if the connection was closed.
func (c *conn) parse(data []byte, now int64) (rest []byte, open bool) {
	for len(data) > 0 {
		if c.qn == 0 {
			// Bytes nobody asked for: the stream cannot be trusted.
			c.errs.Protocol++
			c.tally(now, true, 0)
			c.closeConn()
			return nil, false
		}
		f := &c.q[c.qhead]
		c.p.head = f.head
		if f.t.captures != nil {
			if c.p.state == stStatus {
				c.body = c.body[:0]
			}
			c.p.sink = &c.body
		} else {
			c.p.sink = nil
		}
		k, done, err := c.p.feed(data)
		data = data[k:]
		if err != nil {
			c.abandon(now, &c.errs.Protocol)
			return nil, false
		}
		if !done {
			break
		}
		c.complete(now, c.pop(now), c.p.status)
		if c.p.closeAfter {
			c.abandon(now, &c.errs.Reset)
			return nil, false
		}
	}
	return data, true
}

func (c *conn) complete(now int64, f inflight, status int) {
	c.requests++
	c.onConn++
	us := micros(now - f.intended)
	c.lat.RecordValue(us)
	if c.unc != nil {
		c.unc.RecordValue(micros(now - f.sent))
	}
	found := false
	for i := range c.status {
		if c.status[i].code == status {
			c.status[i].n++
			found = true
			break
		}
	}
	if !found {
		c.status = append(c.status, statusCount{code: status, n: 1})
	}
	c.tally(now, false, us)
	t := f.t
	if t.expect == nil && !t.step {
		if status < 200 || status > 299 {
			c.errs.Status++
			c.tally(now, true, 0)
			c.secStatus++ // same now, so the same second as the tally
		}
		return
	}
	ok := t.expected(status)
	if !ok {
		if t.expect != nil {
			c.errs.Unexpected++
			if c.unexp == nil {
				c.unexp = map[string]map[int]int64{}
			}
			if c.unexp[t.name] == nil {
				c.unexp[t.name] = map[int]int64{}
			}
			c.unexp[t.name][status]++
		} else {
			c.errs.Status++
			c.secStatus++
		}
		c.tally(now, true, 0)
	}
	if t.step {
		c.stepDone(t, ok)
	}
}

// nextTemplate is what the connection sends next: the next step of its
// flow instance, or a pick from the mix (which may start a flow).
func (c *conn) nextTemplate() *compiled {
	if c.fl == nil {
		t := c.r.mix.pick(c.v.rng)
		if t.flow == nil {
			return t
		}
		fd := t.flow
		c.fl, c.flStep = fd, 0
		c.flowsN.Started++
		for len(c.v.vals) < fd.nvars {
			c.v.vals = append(c.v.vals, nil)
		}
		for i := range c.v.vals {
			c.v.vals[i] = c.v.vals[i][:0]
		}
	}
	t := c.fl.steps[c.flStep]
	c.flStep++
	return t
}

// stepDone moves the flow instance on after a step's response: it takes
// the step's captures, and ends the instance after its last step, or early
// when the response was not the one expected or a capture found nothing
// (the later steps would act on nothing).
func (c *conn) stepDone(t *compiled, ok bool) {
	if c.fl == nil {
		return
	}
	if !ok {
		c.abortFlow()
		return
	}
	for i := range t.captures {
		k := &t.captures[i]
		val, why := k.find(c.body)
		if why != "" {
			if c.capMiss == nil {
				c.capMiss = map[string]int64{}
			}
			c.capMiss[t.name+" "+k.name]++
			c.abortFlow()
			return
		}
		c.v.vals[k.slot] = append(c.v.vals[k.slot][:0], val...)
	}
	if t.last {
		c.flowsN.Completed++
		c.fl = nil
	}
}

// abortFlow ends the flow instance before its last step.
func (c *conn) abortFlow() {
	if c.fl != nil {
		c.flowsN.Aborted++
		c.fl = nil
	}
}

// tally adds a response (with its latency) or an error to the current
// second of the timeline.
func (c *conn) tally(now int64, isErr bool, us int64) {
	if s := now / int64(time.Second); s != c.sec {
		c.flushSecond()
		c.sec = s
	}
	if isErr {
		c.secErr++
		return
	}
	c.secReq++
	c.secHist.RecordValue(us)
}

func (c *conn) flushSecond() {
	if c.secReq == 0 && c.secErr == 0 {
		return
	}
	c.r.addSecond(c.sec, c.secReq, c.secErr, c.secStatus, c.secHist)
	c.secReq, c.secErr, c.secStatus = 0, 0, 0
	c.secHist.Reset()
}

// ioError handles a failed read or write.
func (c *conn) ioError(err error, writing bool) {
	r := c.r
	if r.stopping.Load() {
		return
	}
	now := r.now()
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if writing {
			// The server stopped reading for a whole timeout, and the
			// stream is left half-written.
			c.abandon(now, &c.errs.Timeout)
			return
		}
		c.dl = 0
		if c.qn > 0 && now-c.q[c.qhead].sent >= r.timeout {
			c.abandon(now, &c.errs.Timeout)
		}
		// Otherwise the deadline was for the schedule or left from an
		// older request; step sets the right one.
	case errors.Is(err, io.EOF) && c.qn > 0 && c.p.eof():
		// The close delimited the body; any request behind it was sent
		// into a connection the server had said it would close.
		c.complete(now, c.pop(now), c.p.status)
		c.abandon(now, &c.errs.Reset)
	case c.onConn > 0 && c.qn > 0 && len(c.carry) == 0 && c.p.state == stStatus:
		// A reused connection ended, by a close or a reset, before any
		// byte of a response: the server closed it as the requests went
		// out (a keep-alive timeout racing the next request). Every
		// client meets this race; it is not the server failing a request.
		c.resendOnFresh(now)
	default:
		c.abandon(now, &c.errs.Reset)
	}
}

// resendOnFresh handles the keep-alive close race the way net/http's
// Transport does: each idempotent request in flight is resent once on a
// fresh connection (counted in idleRetries, not as an error); the others
// might have been acted on, so they fail as ResetOnReuse, and a request
// already resent once fails as Reset.
func (c *conn) resendOnFresh(now int64) {
	c.retry = c.retry[:0]
	c.retryBuf = c.retryBuf[:0]
	for c.qn > 0 {
		f := c.pop(now)
		switch {
		case f.retried:
			c.errs.Reset++
			c.tally(now, true, 0)
			if f.t.step {
				c.abortFlow()
			}
		case !f.idem:
			c.errs.ResetOnReuse++
			c.tally(now, true, 0)
			if f.t.step {
				c.abortFlow()
			}
		default:
			c.retryBuf = append(c.retryBuf, f.req...)
			f.req, f.retried = nil, true
			c.retry = append(c.retry, f)
			c.idleRetries++
		}
	}
	c.closeConn()
}

// abandon closes the connection. The oldest request in flight fails with
// class first; any others behind it were cut off with the connection, so
// they count as Reset.
func (c *conn) abandon(now int64, first *int64) {
	if c.qn > 0 {
		if c.fl != nil {
			c.abortFlow() // its step in flight is lost
		}
		*first++
		c.errs.Reset += int64(c.qn - 1)
		for range c.qn {
			c.tally(now, true, 0)
		}
	}
	c.closeConn()
}

func (c *conn) closeConn() {
	c.mu.Lock()
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
	c.mu.Unlock()
	c.qn, c.qhead = 0, 0
	c.onConn = 0
	c.carry = c.carry[:0]
	c.p = respParser{}
	c.dl, c.wdl = 0, 0
	c.freeAt = math.MaxInt64
	c.parsedAt = 0
}
