// Package trouble measures what a server keeps doing for its ordinary
// clients while something goes wrong: the robustness half of the verdict's
// non-speed evidence, beside package probe's correctness.
//
// Each [Scenario] runs on a freshly started server. A victim load (a few
// closed-loop connections, package load) runs first alone for a baseline,
// then again while the scenario makes trouble: slow clients holding
// connections, a request that hangs, a worker killed. The result is how much
// of the baseline throughput the victims kept during the trouble (0-1),
// with their errors and p99, and in the timeline's last second whether the
// server had recovered.
//
// On a server of several worker processes the scenarios' connections (the
// victims', the slow clients', the hung request) are placed round robin
// over the workers rather than left to the kernel, whose choice on a quiet
// machine is a pattern that decided the outcome by itself (see placer).
//
// Everything targets the server's loopback address, and every scenario is
// bounded: a fixed number of connections for a fixed window, after which
// all of them are closed.
package trouble

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
)

// lead is how long the trouble runs before the victims' measured window.
const lead = 250 * time.Millisecond

// Server is the server under test as the scenarios need it.
type Server interface {
	Addr() string
	// Workers are the server's processes other than its main one,
	// busiest first; empty when it runs in one process.
	Workers() []int
	// Main is the server's main process.
	Main() int
	// Restart replaces the server with a fresh one.
	Restart(ctx context.Context) error
}

// Scenario is one kind of trouble.
type Scenario struct {
	ID    string
	Title string // what happens, as a sentence
	// make starts the trouble, returns at once, and stops it when ctx
	// ends; done is closed once every connection it opened is closed,
	// and detail then says what was done and seen.
	make func(ctx context.Context, s Server, o Options) (detail func() string, done <-chan struct{}, err error)
	// run, when set, replaces the victims-under-trouble measurement for a
	// scenario that is a load of its own (overload).
	run func(ctx context.Context, s Server, o Options) Result
	// Unscored scenarios are reported beside the robustness score, not in
	// it (the slow-client threshold is a count, not a share kept).
	Unscored bool
	// Lifts: the trouble is wholly gone once make's ctx ends and its done
	// is closed (the slow clients have hung up; the hung request's sleep
	// has ended: its done waits for that), so the victims are measured
	// alone again after it and the share kept is taken against their rate
	// before and after. On this 2-core machine a loopback server's rate
	// wanders by 5-15% from one second to the next with nothing going on
	// (a Go server does it too); a rate measured on both sides of the
	// window matches the window better than one measured before it only.
	Lifts bool
	// Restores: the server puts itself back after the trouble (its master
	// respawns the killed worker, a reload's new workers replace the old,
	// a restarted server serves again), so it is measured after as for
	// Lifts, but only once it runs as many worker processes as before:
	// one left short of a worker is not the server the victims had
	// before, and its rate after would flatter the share kept. A server
	// that does not come back (its only process killed) leaves the rate
	// before alone as the reference (see reference).
	Restores bool
	// Windows is how many Options.Window the victims are measured for
	// under the trouble (0: one). A reload costs the victims a stall
	// whose length varies from one start to the next (paste's restart
	// took 0.2 s, then 2.7 s): over one 3 s window that alone moved the
	// kept share of paste, tornado and werkzeug by 11 points between
	// identical runs, and a window twice as long halves it. gunicorn-gevent's
	// graceful reload runs old and new workers side by side on the server's
	// core for a varying time: over 6 s its median of 3 read 99, 88 and
	// 100% in three identical runs; over 9 s, 94, 97 and 100% (reload:
	// three windows).
	Windows int
	// Cost is the wall time one run of the scenario typically takes,
	// with the server's restart before it, as measured on the 2-core
	// machine the README names (Result.Seconds records it for each run;
	// medians over 17 servers, 2026-12-04: slow clients 7.0–7.4 s, hung
	// request 8.3, killed worker 7.3, overload 11.7, threshold search
	// 16.3, reload 10.3): what a time budget plans with.
	Cost time.Duration
}

// Options size the scenarios.
type Options struct {
	Victims  int           // victim connections; default 4
	Baseline time.Duration // victim load alone; default 2s
	// After is victim load alone again once a scenario that Lifts has
	// ended (default 1s).
	After time.Duration
	// Warmup is victim load before the baseline, not measured (default
	// 500ms): a freshly started server's first requests (imports, first
	// connections, caches) are slower, and a baseline that includes them
	// makes the kept share look better than it is, by a different amount
	// each run.
	Warmup    time.Duration
	Window    time.Duration // victim load under trouble; default 3s
	Attackers int           // slow clients; default 64
	// Victim is the victims' request; default GET /plaintext.
	Victim load.Template
	// LatencyGoal is the p99 a response must meet to count in the overload
	// scenario (default 100 ms), as in the capacity search.
	LatencyGoal time.Duration
	// Overload is how long twice the capacity is offered (default 3s);
	// Recovery how long half of it is offered after (default 5s).
	Overload, Recovery time.Duration
	// Repeat runs each scenario this many times, each on a fresh server,
	// and keeps the median (default 1). One run of a scenario on a shared
	// machine can be tens of points off the next.
	Repeat int
	// OverloadConns carry the overload (default 256): enough to keep twice
	// the capacity in flight at the latencies a queueing server reaches,
	// and the most requests a queueing server is left to work off after.
	OverloadConns int
	// Observe, when set, watches something beside the server for each
	// scenario's trouble window (the window the victims are measured
	// under; the whole load for overload and slow-threshold): it is
	// called as the window opens, and what the function it returns gives
	// back when the window closes is kept in Result.Observed. A front in
	// front of the server uses it to record its counters, so a report can
	// show with them what the front absorbed.
	Observe func(ctx context.Context) (end func(ctx context.Context) any)
}

func (o Options) withDefaults() Options {
	if o.Victims <= 0 {
		o.Victims = 4
	}
	if o.Baseline <= 0 {
		o.Baseline = 2 * time.Second
	}
	if o.After <= 0 {
		o.After = time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = 500 * time.Millisecond
	}
	if o.Window <= 0 {
		o.Window = 3 * time.Second
	}
	if o.Attackers <= 0 {
		o.Attackers = 64
	}
	if o.LatencyGoal <= 0 {
		o.LatencyGoal = 100 * time.Millisecond
	}
	if o.Overload <= 0 {
		o.Overload = 3 * time.Second
	}
	if o.Recovery <= 0 {
		o.Recovery = 5 * time.Second
	}
	if o.Repeat <= 0 {
		o.Repeat = 1
	}
	if o.OverloadConns <= 0 {
		o.OverloadConns = 256
	}
	if o.Victim.Path == "" {
		o.Victim = load.Template{Path: "/plaintext"}
	}
	return o
}

// Result is one scenario on one server.
type Result struct {
	Scenario Scenario
	// BaselineRPS is the victims' 2xx responses per second alone: before
	// the trouble, and after it too when AfterRPS is set (weighted by the
	// time measured each side).
	BaselineRPS float64
	BeforeRPS   float64 // … before the trouble
	AfterRPS    float64 // … after it, for a scenario that Lifts or Restores; 0 when not measured or not used
	TroubleRPS  float64 // … during the trouble
	// Retained is TroubleRPS / BaselineRPS, at most 1: the score.
	// RetainedLo and RetainedHi are the lowest and highest share kept in
	// any whole second of the window: the spread behind the score.
	Retained float64
	Errors   int64         // victims' failed requests during the trouble
	P99      time.Duration // victims' p99 during the trouble
	Longest  time.Duration // the longest a victim's request waited during the trouble

	RetainedLo, RetainedHi float64
	Recovered              bool   // the window's last second had ≥ half the baseline rate
	Detail                 string // what was done, and what was seen
	Err                    error  // the scenario could not run

	// Overload only: how the server met it, and how long after it ended
	// its p99 was back under the goal (whole seconds, an upper bound;
	// meaningful when Recovered).
	Outcome  Outcome
	Recovery time.Duration

	// Repeats is how many runs the result is the median of (0 or 1: one).
	Repeats int
	// Seconds is the wall time the scenario took, every run of it with the
	// server's restart before each: what Scenario.Cost is calibrated on.
	Seconds float64

	// Threshold (slow-threshold only) is the fewest slow clients that took
	// the victims below half their throughput; 0 when none up to MaxSlow.
	Threshold int

	// Observed is what Options.Observe gave back for the trouble window.
	Observed any
}

// Run runs scenarios (all when nil) against s in order, restarting it
// before every scenario but the first.
func Run(ctx context.Context, s Server, scenarios []Scenario, o Options) []Result {
	if scenarios == nil {
		scenarios = Scenarios()
	}
	o = o.withDefaults()
	var out []Result
	first := true
	for _, sc := range scenarios {
		var reps []Result
		began := time.Now()
		for range o.Repeat {
			if ctx.Err() != nil {
				return out
			}
			if !first {
				if err := s.Restart(ctx); err != nil {
					reps = append(reps, Result{Scenario: sc, Err: fmt.Errorf("restarting the server: %w", err)})
					continue
				}
			}
			first = false
			r := runOne(ctx, s, sc, o)
			if ctx.Err() != nil {
				return out
			}
			reps = append(reps, r)
		}
		m := median(reps)
		m.Seconds = time.Since(began).Seconds()
		out = append(out, m)
	}
	return out
}

// median is the repetition of a scenario whose kept share is the median
// (the lower middle one of an even number), with the least and most kept
// over all repetitions as its spread. One that could not run counts as
// run only if none could.
func median(reps []Result) Result {
	var ok []Result
	for _, r := range reps {
		if r.Err == nil {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return reps[0]
	}
	if len(ok) == 1 && len(reps) == 1 {
		return ok[0]
	}
	slices.SortStableFunc(ok, func(a, b Result) int { return cmp.Compare(a.Retained, b.Retained) })
	m := ok[(len(ok)-1)/2]
	m.Repeats = len(reps)
	m.RetainedLo, m.RetainedHi = ok[0].Retained, ok[len(ok)-1].Retained
	m.Detail = fmt.Sprintf("median of %d runs (kept %.0f–%.0f%%; %d could not run); this one: %s",
		len(reps), 100*m.RetainedLo, 100*m.RetainedHi, len(reps)-len(ok), m.Detail)
	return m
}

// observe opens Options.Observe's window; the returned function closes
// it and gives what was observed (nil without an observer).
func observe(ctx context.Context, o Options) func() any {
	if o.Observe == nil {
		return func() any { return nil }
	}
	end := o.Observe(ctx)
	return func() any {
		if end == nil {
			return nil
		}
		return end(ctx)
	}
}

func runOne(ctx context.Context, s Server, sc Scenario, o Options) Result {
	if sc.run != nil {
		end := observe(ctx, o)
		res := sc.run(ctx, s, o)
		res.Scenario = sc
		res.Observed = end()
		return res
	}
	res := Result{Scenario: sc}
	cfg, rps, err := baseline(ctx, s, o)
	if err != nil {
		res.Err = err
		return res
	}
	res.BaselineRPS, res.BeforeRPS = rps, rps
	workers := len(s.Workers())
	tctx, stop := context.WithCancel(ctx)
	detail, done, err := sc.make(tctx, s, o)
	if err != nil {
		stop()
		res.Err = err
		return res
	}
	// Let the trouble take hold (slow clients connect and queue) before
	// the victims arrive, as they would on a server already under it.
	select {
	case <-ctx.Done():
	case <-time.After(lead):
	}
	cfg = victims(cfg, s)
	cfg.Duration = o.Window * time.Duration(max(1, sc.Windows))
	end := observe(ctx, o)
	under, err := load.Run(ctx, cfg)
	res.Observed = end()
	stop()
	<-done
	if err != nil {
		res.Err = fmt.Errorf("victim load: %w", err)
		return res
	}
	var afterNote string
	switch {
	case sc.Lifts:
		res.AfterRPS, res.BaselineRPS, afterNote = after(ctx, s, cfg, res.BeforeRPS, o)
	case sc.Restores:
		if n := restored(ctx, s, workers); n < workers {
			afterNote = fmt.Sprintf(" alone before (%d of its %d worker processes running after it; not measured after)", n, workers)
		} else {
			res.AfterRPS, res.BaselineRPS, afterNote = after(ctx, s, cfg, res.BeforeRPS, o)
		}
	}
	res.TroubleRPS = goodRate(under)
	res.Retained = math.Min(1, res.TroubleRPS/res.BaselineRPS)
	res.Errors = under.Errors.Total()
	res.P99 = time.Duration(under.Latency.ValueAtPercentile(99)) * time.Microsecond
	res.Longest = time.Duration(under.Latency.Max()) * time.Microsecond
	// The last entry may cover less than a second; take the last full one.
	if full := min(int(under.Elapsed/time.Second), len(under.Timeline)); full >= 1 {
		last := under.Timeline[full-1]
		res.Recovered = float64(last.Requests-last.Errors) >= res.BaselineRPS/2
		res.RetainedLo, res.RetainedHi = 1, 0
		for _, sec := range under.Timeline[:full] {
			kept := math.Min(1, float64(sec.Requests-sec.Status)/res.BaselineRPS)
			res.RetainedLo, res.RetainedHi = min(res.RetainedLo, kept), max(res.RetainedHi, kept)
		}
	}
	res.Detail = fmt.Sprintf("%s; the victims kept %.0f%% of %.0f req/s%s", detail(), 100*res.Retained, res.BaselineRPS, afterNote)
	if res.RetainedHi > 0 && res.RetainedHi-res.RetainedLo >= 0.1 {
		res.Detail += fmt.Sprintf(" (%.0f–%.0f%% second by second)", 100*res.RetainedLo, 100*res.RetainedHi)
	}
	if res.Errors > 0 {
		res.Detail += fmt.Sprintf(", with %d failed requests", res.Errors)
	}
	if res.Longest >= time.Second {
		res.Detail += fmt.Sprintf("; a request waited %s", fmtDur(res.Longest))
	}
	if !res.Recovered {
		res.Detail += "; not recovered by the end"
	}
	return res
}

// baseline warms a fresh server up with the victims' load, then measures
// their good rate alone. It returns their load's configuration for the
// measurements under trouble.
func baseline(ctx context.Context, s Server, o Options) (load.Config, float64, error) {
	cfg := load.Config{Addr: s.Addr(), Mix: []load.Template{o.Victim}, Connections: o.Victims,
		Duration: o.Warmup, Timeout: o.Window}
	if _, err := load.Run(ctx, victims(cfg, s)); err != nil {
		return cfg, 0, fmt.Errorf("warm-up: %w", err)
	}
	cfg.Duration = o.Baseline
	base, err := load.Run(ctx, victims(cfg, s))
	if err != nil {
		return cfg, 0, fmt.Errorf("baseline: %w", err)
	}
	rps := goodRate(base)
	if rps == 0 {
		return cfg, 0, fmt.Errorf("baseline: no request succeeded (errors %+v)", base.Errors)
	}
	return cfg, rps, nil
}

// settle is how long the victims wait after a lifting scenario's trouble
// has ended before they are measured alone again: time for a worker to
// notice its slow client has gone and for the hung request's sleep to end.
const settle = 200 * time.Millisecond

// after measures the victims alone again after a scenario that Lifts (or
// Restores, once restored), and
// returns their rate then, the reference rate the window is compared with
// (before and after, weighted by their durations), and a note for the
// detail. If the victims did not get back to half their rate before, the
// server did not recover from the trouble; that is the scenario's finding
// (reported by the window's last second), so the rate before stands alone
// as the reference and the note says so. cfg is the victims' load.
func after(ctx context.Context, s Server, cfg load.Config, before float64, o Options) (rate, ref float64, note string) {
	select {
	case <-ctx.Done():
		return 0, before, ""
	case <-time.After(settle):
	}
	cfg.Duration = o.After
	r, err := load.Run(ctx, victims(cfg, s))
	if err == nil {
		rate = goodRate(r)
	}
	return reference(before, rate, o.Baseline, o.After)
}

// restoreWait bounds how long a scenario that Restores waits, once its
// trouble is over, for the server to run as many workers as before.
const restoreWait = 2 * time.Second

// restored waits up to restoreWait for s to run at least want worker
// processes again and returns how many it runs.
func restored(ctx context.Context, s Server, want int) int {
	deadline := time.Now().Add(restoreWait)
	for {
		n := len(s.Workers())
		if n >= want || time.Now().After(deadline) {
			return n
		}
		select {
		case <-ctx.Done():
			return n
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reference combines the victims' rate alone before a lifting scenario
// (measured for b) with their rate after it (for a); see after.
func reference(before, rate float64, b, a time.Duration) (after, ref float64, note string) {
	if rate < before/2 {
		return 0, before, fmt.Sprintf(" alone before (alone after it ended: %.0f req/s, not back to half; not used)", rate)
	}
	ref = (before*b.Seconds() + rate*a.Seconds()) / (b + a).Seconds()
	return rate, ref, fmt.Sprintf(" alone (%.0f before, %.0f after)", before, rate)
}

// victimBackoff caps the victims' wait between failed dials (see
// load.Config.MaxBackoff): a restart's cost to them is then the time the
// server was gone, within 20 ms, rather than that rounded up to the
// generator's doubling back-off, which made the same restart cost 0.3 s
// more in one run than in the next.
const victimBackoff = 20 * time.Millisecond

// victims returns cfg with each of its connections' first dial placed on
// the server's workers round robin (see placer), the same way in the
// baseline and under the trouble, so the two are measured alike. Re-opened
// connections (after a reset, or each request on a server that closes
// after every response) go wherever the kernel puts them.
func victims(cfg load.Config, s Server) load.Config {
	cfg.MaxBackoff = victimBackoff
	p := newPlacer(s)
	var mu sync.Mutex
	seen := map[int]bool{}
	cfg.Dial = func(ctx context.Context, conn int) (net.Conn, error) {
		mu.Lock()
		first := !seen[conn]
		seen[conn] = true
		mu.Unlock()
		if first {
			return p.dial(ctx, conn, cfg.Timeout)
		}
		return p.plain(ctx, cfg.Timeout)
	}
	return cfg
}

// goodRate is the 2xx responses per second of a run.
func goodRate(r *load.Result) float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors.Status) / r.Elapsed.Seconds()
}

// Score is the mean of the results' Retained, over the scenarios that ran;
// ok is false when none did.
func Score(rs []Result) (score float64, ok bool) {
	n := 0
	for _, r := range rs {
		if r.Err == nil && !r.Scenario.Unscored {
			score += r.Retained
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return score / float64(n), true
}

// group runs fn on n goroutines and closes the returned channel when all
// have returned.
func group(n int, fn func(i int)) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	go func() { wg.Wait(); close(done) }()
	return done
}
