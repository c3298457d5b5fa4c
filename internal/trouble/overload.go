package trouble

import (
	"context"
	"fmt"
	"math"
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
	var res Result
	est, err := load.Run(ctx, load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim},
		Connections: capacityConns, Duration: o.Baseline, Timeout: o.Recovery})
	if err != nil {
		res.Err = fmt.Errorf("estimating capacity: %w", err)
		return res
	}
	capacity := goodRate(est)
	if capacity <= 0 {
		res.Err = fmt.Errorf("estimating capacity: no request succeeded (errors %+v)", est.Errors)
		return res
	}
	res.BaselineRPS = capacity

	// Requests still waiting when a phase ends were given up by their
	// clients; a server that queued them still has to work them off, which
	// the recovery phase then sees.
	over, err := load.Run(ctx, load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim},
		Connections: o.OverloadConns, Duration: o.Overload, Rate: 2 * capacity, Timeout: o.Recovery})
	if err != nil {
		res.Err = fmt.Errorf("overload: %w", err)
		return res
	}
	rec, err := load.Run(ctx, load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim},
		Connections: recoveryConns, Duration: o.Recovery, Rate: capacity / 2, Timeout: o.Recovery})
	if err != nil {
		res.Err = fmt.Errorf("recovery: %w", err)
		return res
	}
	return judgeOverload(capacity, over, rec, o)
}

// judgeOverload classifies the overload from its two runs; it is apart
// from overload so its rules are tested on made-up results.
func judgeOverload(capacity float64, over, rec *load.Result, o Options) Result {
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
	case sent > 0 && float64(rejected) >= 0.05*float64(sent) && res.Retained >= 0.5:
		res.Outcome = Shed
	default:
		res.Outcome = Queued
	}

	res.Detail = fmt.Sprintf("%.0f req/s offered (twice the %.0f req/s it served on a closed loop of %d) for %.0fs: %d answered in time, %d turned away (503 or refused), %d failed otherwise, p99 %s; it %s",
		2*capacity, capacity, capacityConns, secs, inTime, rejected, over.Errors.Total()-over.Errors.Status-over.Errors.Connect,
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
