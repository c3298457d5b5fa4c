package trouble

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DropOrder is the order a time budget drops scenarios in, least valued
// first for a server behind a cache: the unscored threshold search; then
// the slow clients, whose headers Varnish and nginx read whole before they
// forward (measured: gunicorn-sync kept 100% of its throughput behind
// Varnish where it kept 0% directly); then the hung request; and last what
// a server behind a cache still meets however it is fronted: a killed
// worker, an overload, and the graceful reload every deploy makes.
var DropOrder = []string{"slow-threshold", "slow-headers", "slow-body", "hung-request", "worker-killed", "overload", "reload"}

// DefaultCost is what a budget plans for a scenario that states no Cost
// (one of a plan's own).
const DefaultCost = 8 * time.Second

// TotalCost is what scs take on one server, each run once: each
// scenario's Cost, or DefaultCost.
func TotalCost(scs []Scenario) time.Duration {
	var d time.Duration
	for _, sc := range scs {
		if sc.Cost > 0 {
			d += sc.Cost
		} else {
			d += DefaultCost
		}
	}
	return d
}

// Scenarios lists every scenario, in the order they run.
func Scenarios() []Scenario {
	return []Scenario{
		{ID: "slow-headers", Title: "slow clients send their request headers a line every half second (slowloris)", make: slowHeaders, Lifts: true, Cost: 8 * time.Second},
		{ID: "slow-body", Title: "slow clients send a 100 KB request body a byte every half second", make: slowBody, Lifts: true, Cost: 8 * time.Second},
		{ID: "hung-request", Title: "one request hangs in the app for the whole window", make: hungRequest, Lifts: true, Cost: 9 * time.Second},
		{ID: "worker-killed", Title: "the busiest worker process is killed with SIGKILL mid-load", make: workerKilled, Restores: true, Cost: 8 * time.Second},
		{ID: "overload", Title: "clients offer twice the server's capacity for a few seconds, then half of it", run: overload, Cost: 12 * time.Second},
		{ID: "slow-threshold", Title: "ever more slow clients (slow-headers), until the others lose half their throughput", run: slowThreshold, Unscored: true, Cost: 16 * time.Second},
		{ID: "reload", Title: "new app code is deployed mid-load by the server's graceful reload, or a restart where it has none", make: reload, Restores: true, Windows: 3, Cost: 14 * time.Second},
	}
}

// drip is how often a slow client sends its next bit.
const drip = 500 * time.Millisecond

// slowClients opens n connections that write head, then next(k) every
// drip until ctx ends, placed round robin over the server's workers (see
// placer). It returns once every connection is open (or failed to), with
// the placer, which says where they went. It counts the connections the server
// closed on them before the end: the server's defence, if it has one.
func slowClients(ctx context.Context, s Server, n int, head string, next func(k int) string) (dropped *atomic.Int64, p *placer, done <-chan struct{}) {
	dropped = new(atomic.Int64)
	p = newPlacer(s)
	var dialed sync.WaitGroup
	dialed.Add(n)
	done = group(n, func(k int) {
		c, err := p.dial(ctx, k, time.Second)
		dialed.Done()
		if err != nil {
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		lost := func() {
			if ctx.Err() == nil {
				dropped.Add(1)
			}
		}
		go func() {
			// A server that answers (408, 400) or closes is read to EOF, so
			// the drop is seen even between drips.
			io.Copy(io.Discard, c)
			lost()
			c.Close()
		}()
		if _, err := io.WriteString(c, head); err != nil {
			return
		}
		t := time.NewTicker(drip)
		defer t.Stop()
		for k := 0; ; k++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := io.WriteString(c, next(k)); err != nil {
				return
			}
		}
	})
	dialed.Wait()
	return dropped, p, done
}

func slowDetail(n int, what string, dropped *atomic.Int64, p *placer) func() string {
	where := p.spread()
	if where != "" {
		where = " (" + where + ")"
	}
	return func() string {
		if d := dropped.Load(); d > 0 {
			return fmt.Sprintf("%d slow clients%s %s; the server dropped %d of them early", n, where, what, d)
		}
		return fmt.Sprintf("%d slow clients%s %s; the server dropped none of them", n, where, what)
	}
}

func slowHeaders(ctx context.Context, s Server, o Options) (func() string, <-chan struct{}, error) {
	dropped, p, done := slowClients(ctx, s, o.Attackers, "GET /plaintext HTTP/1.1\r\nHost: trouble\r\n",
		func(k int) string { return fmt.Sprintf("X-Slow-%d: %s\r\n", k, strings.Repeat("a", 8)) })
	return slowDetail(o.Attackers, "sent headers a line every 0.5 s", dropped, p), done, nil
}

func slowBody(ctx context.Context, s Server, o Options) (func() string, <-chan struct{}, error) {
	dropped, p, done := slowClients(ctx, s, o.Attackers,
		"POST /probe/echo HTTP/1.1\r\nHost: trouble\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n",
		func(int) string { return "x" })
	return slowDetail(o.Attackers, "sent a body a byte every 0.5 s", dropped, p), done, nil
}

// hungRequest sends one request whose app sleeps through the lead and the
// window, with a second to spare for the victims' connections to be placed
// before the window opens, and no longer: a hang that outlasts the window
// changes nothing inside it, and would keep a worker or thread from the
// victims' measurement after it (see Scenario.Lifts). Its done is closed
// once the sleep is over, not only the connection.
func hungRequest(ctx context.Context, s Server, o Options) (func() string, <-chan struct{}, error) {
	hang := lead + o.Window + time.Second
	over := time.Now().Add(hang)
	_, p, conn := slowClients(ctx, s, 1, fmt.Sprintf("GET /probe/sleep?ms=%d HTTP/1.1\r\nHost: trouble\r\n\r\n", hang.Milliseconds()),
		func(int) string { return "" })
	where := ""
	switch {
	case p.placed() == 1: // connection 0: the first worker
		where = " (on the first worker)"
	case p.spread() != "":
		where = " (on the worker the kernel chose)"
	}
	done := make(chan struct{})
	go func() {
		<-conn
		time.Sleep(time.Until(over))
		close(done)
	}()
	return fixed(fmt.Sprintf("one request left waiting on a %s sleep in the app", fmtDur(hang)) + where), done, nil
}

func workerKilled(ctx context.Context, s Server, o Options) (func() string, <-chan struct{}, error) {
	pid, what := s.Main(), "the server's only process"
	if ws := s.Workers(); len(ws) > 0 {
		pid, what = ws[0], "its busiest worker process"
	}
	if pid <= 0 {
		return nil, nil, fmt.Errorf("no process to kill")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Mid-load: once the victims are under way.
		select {
		case <-ctx.Done():
			return
		case <-time.After(lead + 300*time.Millisecond):
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}()
	return fixed(fmt.Sprintf("killed %s (pid %d) 0.3 s into the window", what, pid)), done, nil
}

func fixed(s string) func() string { return func() string { return s } }
