package trouble

import (
	"context"
	"fmt"
	"math"
	"net"
	"sync"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
)

// Outcome is how a server met more load than it can serve.
type Outcome string

// The overload outcomes.
const (
	// Shed: it kept serving about its capacity in time and turned the
	// rest away fast (503s or refused connections), which a front such as
	// Varnish can retry elsewhere or answer from cache.
	Shed Outcome = "shed"
	// Queued: it accepted everything and answered late; latency grew for
	// as long as the overload lasted, and the backlog outlived it.
	Queued Outcome = "queued"
	// FellOver: most requests failed outright (resets, timeouts), or it
	// was still failing when the overload had been over for the whole
	// recovery window.
	FellOver Outcome = "fell over"
	// KeptUp: it served what was offered, in time, even on as many
	// connections as the overload has; the load was no overload for it.
	// Its capacity is bound by a wait per request rather than by work, and
	// the generator's connections ran out before the server did.
	KeptUp Outcome = "kept up"
)

// Sizes of the overload scenario's loads (the overload's own is
// Options.OverloadConns). Connections bound what an open model can keep in
// flight, so the scenario stays bounded.
const (
	capacityConns = 32 // closed loop that estimates the capacity, as many as run offers
	recoveryConns = 64 // open model at half the capacity
)

// overload offers twice the server's capacity, then half of it, and says
// whether the server shed the excess, queued it or fell over, and how long
// after the overload its p99 was back under the goal.
//
// The capacity is estimated here, with the victims' request on a closed
// loop, rather than taken from the capacity search: the scenarios run
// around the probe app, whose capacity differs from the user's app's.
//
// The score (Retained) is the responses per second that were 2xx and met
// the latency goal during the overload, over the capacity: a server that
// queues keeps its throughput but not in time, and for clients behind a
// front with a timeout, a late answer is no answer.
func overload(ctx context.Context, s Server, o Options) Result {
	// A freshly started server's first requests are slower (imports, first
	// connections); an estimate that includes them is low by a different
	// amount each start, and twice a low estimate may be no overload at all.
	// The victims' few connections warm it: a closed loop of 32 would leave
	// up to 32 requests queued in a slow server, whose working off would
	// then be counted against the estimate.
	if _, err := load.Run(ctx, load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim},
		Connections: o.Victims, Duration: o.Warmup, Timeout: o.Recovery}); err != nil {
		return Result{Err: fmt.Errorf("warming up: %w", err)}
	}
	capacity, err := estimate(ctx, s, o, capacityConns)
	if err != nil {
		return Result{Err: err}
	}
	over, where, err := overloadRun(ctx, s, o, capacity)
	if err != nil {
		return Result{Err: err}
	}
	conns, recConns := capacityConns, recoveryConns
	if keptUp(capacity, over, o) {
		// It served twice what a closed loop of 32 got, in time: its rate
		// there was bound by a wait per request (a Nagle stall, a fixed
		// pool handing off), not by work. Its capacity is what as many
		// connections as the overload has get; overload that.
		more, err := estimate(ctx, s, o, o.OverloadConns)
		if err != nil {
			return Result{Err: err}
		}
		if more > capacity {
			capacity, conns, recConns = more, o.OverloadConns, o.OverloadConns
			if over, where, err = overloadRun(ctx, s, o, capacity); err != nil {
				return Result{Err: err}
			}
		}
	}
	rec, err := load.Run(ctx, load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim},
		Connections: recConns, Duration: o.Recovery, Rate: capacity / 2, Timeout: o.Recovery})
	if err != nil {
		return Result{Err: fmt.Errorf("recovery: %w", err)}
	}
	res := judgeOverload(capacity, conns, over, rec, o)
	if where != "" {
		res.Detail += " (" + where + ")"
	}
	return res
}

// estimate is the server's 2xx rate on a closed loop of conns connections,
// placed over its workers as the overload's are.
func estimate(ctx context.Context, s Server, o Options, conns int) (float64, error) {
	pre := predial(ctx, s, conns, o.Recovery)
	defer pre.close()
	est, err := load.Run(ctx, load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim},
		Connections: conns, Duration: o.Baseline, Timeout: o.Recovery, Dial: pre.dial})
	if err != nil {
		return 0, fmt.Errorf("estimating capacity: %w", err)
	}
	capacity := goodRate(est)
	if capacity <= 0 {
		return 0, fmt.Errorf("estimating capacity: no request succeeded on %d connections (errors %+v)", conns, est.Errors)
	}
	return capacity, nil
}

// overloadRun offers twice capacity. Requests still waiting when it ends
// were given up by their clients; a server that queued them still has to
// work them off, which the recovery phase then sees.
//
// The load is open on one schedule shared by its connections, oldest send
// time first to the next free connection, as a front (Varnish, nginx)
// hands requests to its backend connections (load.Config.Shared). On a
// schedule per connection (wrk2's) a connection its worker served
// promptly stayed in time while the rest fell behind, so the share in
// time measured how unevenly the server spread its capacity that start:
// werkzeug, one process with a thread per connection, kept 62%, 6% and
// 76% in time in three identical runs.
//
// The connections are also opened before the overload starts, placed round
// robin over the workers (see placer), as clients arriving over time would
// spread: left to the kernel, 256 connections landed on the workers of
// tornado, hypercorn and uvicorn (3×) unevenly and differently on each
// start, and on schedules per connection the same server kept 4% or 61%
// in time.
func overloadRun(ctx context.Context, s Server, o Options, capacity float64) (over *load.Result, where string, err error) {
	cfg := load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim},
		Connections: o.OverloadConns, Duration: o.Overload, Rate: 2 * capacity, Timeout: o.Recovery, Shared: true}
	pre := predial(ctx, s, o.OverloadConns, o.Recovery)
	defer pre.close()
	cfg.Dial = pre.dial
	if over, err = load.Run(ctx, cfg); err != nil {
		return nil, "", fmt.Errorf("overload: %w", err)
	}
	return over, pre.p.spread(), nil
}

// opened is connections dialed ahead of a load, handed to it by index on
// their first dial; later dials (after the server closed one) go wherever
// the kernel puts them.
type opened struct {
	p       *placer
	timeout time.Duration
	mu      sync.Mutex
	conns   []net.Conn // nil once handed over
}

// predial opens n connections to s, placed round robin over its workers.
// One that fails is left to the load's own dial (and its back-off).
func predial(ctx context.Context, s Server, n int, timeout time.Duration) *opened {
	pre := &opened{p: newPlacer(s), timeout: timeout, conns: make([]net.Conn, n)}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		if c, err := pre.p.dial(ctx, i, timeout); err == nil {
			pre.conns[i] = c
		}
	}
	return pre
}

func (pre *opened) dial(ctx context.Context, i int) (net.Conn, error) {
	pre.mu.Lock()
	var c net.Conn
	if i < len(pre.conns) {
		c, pre.conns[i] = pre.conns[i], nil
	}
	pre.mu.Unlock()
	if c != nil {
		return c, nil
	}
	return pre.p.plain(ctx, pre.timeout)
}

// close closes the connections the load did not take.
func (pre *opened) close() {
	pre.mu.Lock()
	defer pre.mu.Unlock()
	for i, c := range pre.conns {
		if c != nil {
			c.Close()
			pre.conns[i] = nil
		}
	}
}

// keptUp reports whether a server offered twice capacity served 90% of it
// with 2xx responses, its p99 within the goal and next to nothing failed or
// turned away: then the offer was no overload, and the capacity was
// underestimated.
func keptUp(capacity float64, over *load.Result, o Options) bool {
	p99 := time.Duration(over.Latency.ValueAtPercentile(99)) * time.Microsecond
	failed := over.Errors.Total()
	return goodRate(over) >= 0.9*2*capacity && p99 <= o.LatencyGoal &&
		float64(failed) <= 0.01*float64(over.Sent+over.Errors.Connect)
}

// judgeOverload classifies the overload from its two runs; it is apart
// from overload so its rules are tested on made-up results.
func judgeOverload(capacity float64, conns int, over, rec *load.Result, o Options) Result {
	res := Result{BaselineRPS: capacity, Errors: over.Errors.Total()}
	secs := over.Elapsed.Seconds()
	goal := o.LatencyGoal
	inTime := max(0, countAtMost(over, goal)-over.Errors.Status)
	if secs > 0 {
		res.TroubleRPS = float64(inTime) / secs
	}
	res.Retained = math.Min(1, res.TroubleRPS/capacity)
	res.P99 = time.Duration(over.Latency.ValueAtPercentile(99)) * time.Microsecond

	// Recovered: the first whole second of the recovery load with p99 under
	// the goal, no failed request, and most of what was offered served.
	offered := capacity / 2
	full := min(int(rec.Elapsed/time.Second), len(rec.Timeline))
	for i := range full {
		sec := rec.Timeline[i]
		if sec.Errors == 0 && sec.Requests > 0 && time.Duration(sec.P99us)*time.Microsecond <= goal &&
			float64(sec.Requests) >= offered/2 {
			res.Recovered = true
			res.Recovery = time.Duration(i+1) * time.Second
			break
		}
	}

	rejected := over.Errors.Status + over.Errors.Connect
	sent := over.Sent + over.Errors.Connect
	broken := over.Errors.Lost() // resets, timeouts, garbage
	switch {
	case !res.Recovered || sent > 0 && float64(broken) >= 0.5*float64(sent):
		res.Outcome = FellOver
	case keptUp(capacity, over, o):
		res.Outcome = KeptUp
	case sent > 0 && float64(rejected) >= 0.05*float64(sent) && res.Retained >= 0.5:
		res.Outcome = Shed
	default:
		res.Outcome = Queued
	}

	res.Detail = fmt.Sprintf("%.0f req/s offered (twice the %.0f req/s it served on a closed loop of %d) for %.0fs, each request on the next free one of %d connections: %d answered in time, %d turned away (503 or refused), %d failed otherwise, p99 %s; it %s",
		2*capacity, capacity, conns, secs, o.OverloadConns, inTime, rejected, over.Errors.Total()-over.Errors.Status-over.Errors.Connect,
		fmtDur(res.P99), res.Outcome)
	if res.Recovered {
		res.Detail += fmt.Sprintf("; back under the %s goal within %.0fs at half the load", fmtDur(goal), res.Recovery.Seconds())
	} else {
		res.Detail += fmt.Sprintf("; not back under the %s goal within %.0fs at half the load", fmtDur(goal), rec.Elapsed.Seconds())
	}
	return res
}

// countAtMost is how many responses of r took at most d (corrected
// latency, any status).
func countAtMost(r *load.Result, d time.Duration) int64 {
	limit := d.Microseconds()
	var n int64
	for _, b := range r.Latency.Distribution() {
		if b.To <= limit {
			n += b.Count
		}
	}
	return n
}

func fmtDur(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}
