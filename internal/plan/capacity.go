package plan

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Capacity search: the highest open-model rate a server sustains with p99
// (measured from the intended send time) under the goal and errors under
// MaxErrorRate. Closed-loop throughput says how fast a server drains a
// queue that is always full; capacity at a latency goal says how much
// traffic it can take while still answering in time, which is what sizing a
// deployment needs.
//
// It runs for every cell that has trials, on one server instance per cell:
// it starts at capacityStart of the closed-loop throughput, steps up by half again until
// a probe fails, then
// bisects between the last pass and the first failure until they are within
// capacityResolution of each other or the probe budget is spent.
//
// The search's first failure at or below the closed-loop throughput is
// probed again before it is believed: bisection never goes above a
// failure, so one failed window early on caps the answer for good. In six
// runs of 2026-12-04/05 the first probe (at 0.8× the closed-loop
// throughput, on a freshly started server) failed in 14 of 79 searches
// (paste, which fails every rate, aside); each of those capacities came
// out at 0.81–0.97× that first rate, 0.65–0.82× the closed-loop throughput
// (median 0.77), where the other 65 found a median of 1.00× (quartiles
// 0.90–1.05). uWSGI 1x8: 2,555 req/s after a first failure, 3,822–4,140
// in four other runs.

// MaxErrorRate is the error budget of a passing probe (0.1%).
const MaxErrorRate = 0.001

const (
	capacityResolution = 0.05 // stop bisecting when the bracket is within 5%
	capacityGrowth     = 1.5
	// capacityStart is where the search starts, as a share of the
	// closed-loop throughput: 32 connections held p99 far under the goal
	// in every server measured here, and capacity came out at 0.7–1.1×
	// the closed-loop req/s, so the first probe usually passes and the
	// second brackets the answer (half, as before, took two probes more).
	capacityStart   = 0.8
	capacityCeiling = 200_000 // req/s: beyond this, loopback itself is the limit
)

// capacityProber measures one rate. A function type so the search is
// testable without servers.
type capacityProber func(ctx context.Context, rate float64) (results.CapacityStep, error)

// searchCapacity runs the step-up-then-bisect search with at most probes
// probes, starting from the closed-loop throughput hint.
func searchCapacity(ctx context.Context, probe capacityProber, hint, goalMS float64, probes int) (*results.Capacity, error) {
	c := &results.Capacity{GoalP99MS: goalMS, MaxErrorRate: MaxErrorRate}
	rate := math.Max(hint*capacityStart, 10)
	pass, fail := 0.0, math.Inf(1)
	retried := false
	for i := 0; i < probes; i++ {
		step, err := probe(ctx, math.Round(rate))
		if err != nil {
			return c, err
		}
		if !step.Pass && !retried && math.IsInf(fail, 1) && step.Rate <= hint && !step.GeneratorBound && i+1 < probes {
			retried, step.Retried = true, true
			c.Steps = append(c.Steps, step)
			continue // the same rate again
		}
		c.Steps = append(c.Steps, step)
		if step.Pass {
			pass = step.Rate
			c.RPS = step.Rate
		} else {
			fail = step.Rate
			c.Limit = failReason(step, goalMS)
			if step.GeneratorBound && step.Achieved < 0.99*step.Rate {
				break // the generator, not the server, ran out: going on measures us
			}
		}
		switch {
		case math.IsInf(fail, 1):
			rate = pass * capacityGrowth
			if rate > capacityCeiling {
				c.Limit = "search ceiling"
				return c, nil
			}
		case fail-pass <= capacityResolution*math.Max(pass, 1):
			return c, nil
		default:
			rate = (pass + fail) / 2
		}
	}
	if math.IsInf(fail, 1) && c.Limit == "" {
		c.Limit = "probe budget (capacity is at least this)"
	}
	return c, nil
}

func failReason(s results.CapacityStep, goalMS float64) string {
	switch {
	case s.GeneratorBound && s.Achieved < 0.99*s.Rate:
		return "generator-bound"
	case s.ErrorRate >= MaxErrorRate:
		return "errors"
	case s.P99MS > goalMS:
		return "p99"
	default:
		return "rate not achieved" // sends fell behind the schedule
	}
}

// judge decides whether a probe passed.
func judge(res *load.Result, goalMS float64) results.CapacityStep {
	attempts := res.Requests + res.Errors.Connect + res.Errors.Lost()
	errRate := 0.0
	if attempts > 0 {
		errRate = float64(res.Errors.Total()) / float64(attempts)
	} else {
		errRate = 1
	}
	p99 := math.Inf(1)
	if res.Latency != nil && res.Latency.TotalCount() > 0 {
		p99 = float64(res.Latency.ValueAtQuantile(99)) / 1000
	}
	s := results.CapacityStep{
		Rate: res.TargetRate, Achieved: res.AchievedRate, P99MS: p99, ErrorRate: errRate,
		GeneratorBound: res.GeneratorBound,
	}
	if math.IsInf(p99, 1) {
		s.P99MS = 0
	}
	// Kept to schedule: requests completed or still in flight (sent) cover
	// the target. Counting only completions would fail every probe by the
	// requests legitimately in flight when it ends (rate × latency of
	// them); a request in flight that has already waited past the goal
	// fails the probe instead.
	expected := res.TargetRate * res.Elapsed.Seconds()
	onSchedule := float64(res.Requests+res.Unfinished) >= 0.99*expected
	stalled := float64(res.OldestUnfinished)/float64(time.Millisecond) > goalMS
	if stalled {
		s.P99MS = math.Max(s.P99MS, float64(res.OldestUnfinished)/float64(time.Millisecond))
	}
	s.Pass = !math.IsInf(p99, 1) && p99 <= goalMS && !stalled && errRate < MaxErrorRate && onSchedule
	return s
}

// capacity runs the search for one cell on a fresh server.
func (r *runner) capacity(ctx context.Context, c Cell, hint float64) (*results.Capacity, error) {
	return r.capacityOn(ctx, c, hint, nil)
}

// capacityOn runs the search with the server allowed on cpus (nil = the
// server's CPUs).
func (r *runner) capacityOn(ctx context.Context, c Cell, hint float64, cpus []int) (*results.Capacity, error) {
	s, err := r.startOn(ctx, c, cpus)
	if err != nil {
		return nil, err
	}
	defer s.finish(c) // the search is measured; its end is not
	if c.hasFront() {
		if s.front, err = r.startFront(ctx, c, s); err != nil {
			return nil, err
		}
	}
	goal := float64(r.o.LatencyGoal) / float64(time.Millisecond)
	seed := r.o.Seed
	probe := func(ctx context.Context, rate float64) (results.CapacityStep, error) {
		select {
		case <-s.group.Done():
			return results.CapacityStep{}, fmt.Errorf("%s exited during the capacity search: %s", c.Status.Adapter.ID, lastOutput(s))
		default:
		}
		seed++
		cfg := load.Config{Addr: s.target(), Mix: c.Workload.Mix, Connections: r.o.Connections, Rate: rate,
			Timeout: r.o.Timeout, Seed: seed}
		// A short run at the same rate first drains whatever the previous
		// (possibly overloaded) probe left queued, and warms up.
		cfg.Duration = max(r.o.CapacityProbe/4, 500*time.Millisecond)
		if _, err := load.Run(ctx, cfg); err != nil {
			return results.CapacityStep{}, err
		}
		cfg.Duration = r.o.CapacityProbe
		res, err := load.Run(ctx, cfg)
		if err != nil {
			return results.CapacityStep{}, err
		}
		if ctx.Err() != nil {
			return results.CapacityStep{}, ctx.Err()
		}
		return judge(res, goal), nil
	}
	return searchCapacity(ctx, probe, hint, goal, r.o.CapacityProbes)
}

func lastOutput(s *started) string {
	out := s.group.Output(1)
	if len(out) == 0 {
		return "no output"
	}
	return out[0]
}

// capacityCells lists the cells to search, with each one's closed-loop
// throughput as the starting hint: every cell that has trials, so capacity is
// known per (server, shape, workload) and the ranking can choose shapes on
// it. Generator-bound trials are left out of the hint when others exist.
func capacityCells(runs []results.Run) map[int]float64 {
	out := map[int]float64{}
	for i, run := range runs {
		if run.Error != "" || len(run.Trials) == 0 {
			continue
		}
		var xs, all []float64
		for _, t := range run.Trials {
			all = append(all, t.RPS)
			if !t.GeneratorBound {
				xs = append(xs, t.RPS)
			}
		}
		if len(xs) == 0 {
			xs = all
		}
		out[i] = stats.Median(xs)
	}
	return out
}
