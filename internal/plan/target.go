package plan

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// The target is the machine the user deploys on: N cores (--target-cpus),
// by default as many as this machine can give the server. Shapes are sized
// for N whatever this machine has, because memory does not need the cores
// (17 workers run on one core) and a shape nobody would deploy on N cores
// says nothing about that deployment. Throughput needs the cores: when this
// machine can pin the server to N CPUs and still keep the generator apart,
// it is measured on N; otherwise on the CPUs it has, and projected (see
// rank.Project) from there and each server's parallelism ceiling.

// target is the resolved --target-cpus.
type target struct {
	cpus      int   // N
	pin       []int // the CPUs the server is pinned to for trials and capacity
	generator []int // the generator's CPUs
	projected bool  // len(pin) < N: throughput for N is projected
}

// resolveTarget decides the target from the requested core count (0 = the
// server's share of this machine), the default split of this machine's
// CPUs, and all of them. N is measured directly whenever the machine has
// N CPUs for the server and one more for the generator, even if that
// leaves the generator less than its usual quarter.
func resolveTarget(want int, server, generator, all []int) (target, error) {
	if want < 0 || want > 1024 {
		return target{}, fmt.Errorf("--target-cpus %d: want a core count from 1 to 1024", want)
	}
	if want == 0 {
		want = max(len(server), 1)
	}
	switch {
	case want <= len(server):
		return target{cpus: want, pin: slices.Clone(server[:want]), generator: generator}, nil
	case want < len(all):
		return target{cpus: want, pin: slices.Clone(all[:want]), generator: slices.Clone(all[want:])}, nil
	}
	return target{cpus: want, pin: slices.Clone(server), generator: generator, projected: true}, nil
}

// record is the target as the results file keeps it.
func (t target) record() *results.Target {
	rt := &results.Target{CPUs: t.cpus, MeasuredCPUs: max(len(t.pin), 1), Projected: t.projected}
	if t.projected {
		rt.Assumptions = fmt.Sprintf("this machine gives the server %d of the %d cores asked for (the generator needs its own): "+
			"shapes and memory are measured at the %d-core shapes, each server's parallelism ceiling with every CPU of this machine allowed, "+
			"and capacity and req/s are projected as measured × min(%d, ceiling) / min(%d, ceiling); assumes %s",
			rt.MeasuredCPUs, t.cpus, t.cpus, t.cpus, rt.MeasuredCPUs, rank.ProjectionAssumption)
	}
	return rt
}

// waitWorkers waits, up to timeout, until the server's tree holds at least
// workers processes. Readiness only says one worker answers; a pre-forked
// server on a loaded core may still be forking the rest (gunicorn with 32
// workers on one CPU takes seconds), and a trial that started then would
// measure the memory and throughput of fewer processes than its shape says.
// It reports whether they all came.
func waitWorkers(ctx context.Context, g *proc.Group, workers int, timeout time.Duration) bool {
	if workers <= 1 {
		return true
	}
	deadline := time.Now().Add(timeout)
	for {
		if u, err := g.Usage(); err == nil && u.Procs >= workers {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-g.Done():
			return false
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}
