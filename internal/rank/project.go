package rank

import (
	"fmt"
	"math"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Projection to the target machine. The user deploys on N cores; the
// server here was pinned to fewer. Throughput on N cores is then the
// measured throughput × min(N, ceiling) / min(measured CPUs, ceiling),
// where the ceiling is the parallelism the server showed with every CPU of
// this machine allowed: its measured CPU-seconds per second when it stayed
// below what the machine could give (a GIL-bound process stays near 1 core
// on any machine), or its process count when the machine's cores ran out
// first (its real ceiling is then at least what was measured, and a
// pre-forked server's processes are assumed to keep scaling up to N).
// Latency and memory are not projected: memory was measured at the target's
// shapes directly, and latency is as measured on the measured CPUs.

// ProjectionAssumption is the assumption every projection rests on, in words.
const ProjectionAssumption = "throughput grows in proportion to the cores the server can use, up to its parallelism ceiling, " +
	"with requests spread evenly over its processes and no other bottleneck (database, proxy, memory bandwidth, lock) appearing at the higher rate; " +
	"latency is as measured on the measured CPUs"

// ceilingOf is the parallelism to credit a run with, from the ceiling
// measured at its shape (or, failing that, the server's highest), and how
// it was found. ok is false when the server has no usable ceiling.
func ceilingOf(f *results.File, run results.Run) (c float64, how string, ok bool) {
	var best *results.Ceiling
	for i := range f.Ceilings {
		ce := &f.Ceilings[i]
		if ce.Server != run.Server || ce.Error != "" || ce.Cores <= 0 {
			continue
		}
		if ce.Shape == run.Shape {
			best = ce
			break
		}
		if best == nil || ce.Cores > best.Cores {
			best = ce
		}
	}
	if best == nil {
		return 0, "", false
	}
	procs := float64(max(run.Shape.Workers, 1))
	at := ""
	if best.Shape != run.Shape {
		at = " at " + best.Shape.String()
	}
	if best.MachineBound {
		c = math.Max(best.Cores, procs)
		return c, fmt.Sprintf("its %d processes (it used %.2f cores of %d%s before this machine's CPUs ran out)",
			run.Shape.Workers, best.Cores, len(best.CPUs), at), true
	}
	return best.Cores, fmt.Sprintf("measured: %.2f cores with %d CPUs allowed%s", best.Cores, len(best.CPUs), at), true
}

// projectionFactor is min(target, ceiling) / min(measured, ceiling).
func projectionFactor(target, measured int, ceiling float64) float64 {
	den := math.Min(float64(measured), ceiling)
	if den <= 0 {
		return 0
	}
	return math.Min(float64(target), ceiling) / den
}

// Project fills every run's Projection for f.Target (see projectionOf).
func Project(f *results.File) {
	for i := range f.Runs {
		f.Runs[i].Projection = projectionOf(f, f.Runs[i])
	}
}

// projectionOf is a run's throughput on the target. Runs measured on as
// many CPUs as the target get their measured values, marked not projected;
// a server without a ceiling gets none when the target is projected (and
// is then not ranked on throughput).
func projectionOf(f *results.File, run results.Run) *results.Projection {
	t := f.Target
	if t == nil || len(run.Trials) == 0 {
		return nil
	}
	p := &results.Projection{TargetCPUs: t.CPUs, MeasuredCPUs: t.MeasuredCPUs, Factor: 1}
	if t.Projected {
		c, how, ok := ceilingOf(f, run)
		if !ok {
			return nil
		}
		p.Projected, p.Ceiling = true, c
		p.Factor = projectionFactor(t.CPUs, t.MeasuredCPUs, c)
		p.Assumption = fmt.Sprintf("projected for %d cores from %d measured: × min(%d, %.2f) / min(%d, %.2f) = ×%.2f; ceiling %s; assumes %s",
			t.CPUs, t.MeasuredCPUs, t.CPUs, c, t.MeasuredCPUs, c, p.Factor, how, ProjectionAssumption)
	}
	var xs []float64
	for _, tr := range run.Trials {
		if !tr.GeneratorBound {
			xs = append(xs, tr.RPS)
		}
	}
	if len(xs) > 0 {
		p.RPS = stats.Median(xs) * p.Factor
	}
	if run.Capacity != nil {
		p.CapacityRPS = run.Capacity.RPS * p.Factor
	}
	return p
}

// projected says whether the ranking's throughput is projected.
func (r *ranker) projected() bool { return r.f != nil && r.f.Target != nil && r.f.Target.Projected }

// project carries each candidate's throughput evidence to the target's
// cores (see Project); a candidate without a projection is not scored on
// throughput, since its value on the target is unknown.
func (r *ranker) project(cands []*cand) {
	if !r.projected() {
		return
	}
	t := r.f.Target
	r.note(fmt.Sprintf("capacity and req/s are projected for %d cores from measurements on %d (this machine cannot give the server %d cores and the generator its own): "+
		"each is the measured value × min(%d, ceiling) / min(%d, ceiling), where the ceiling is the parallelism the server showed with every CPU of this machine allowed; assumes %s",
		t.CPUs, t.MeasuredCPUs, t.CPUs, t.CPUs, t.MeasuredCPUs, ProjectionAssumption))
	for _, c := range cands {
		p := c.run.Projection
		if p == nil {
			p = projectionOf(r.f, c.run) // a file whose projections were not filled
		}
		if p == nil || !p.Projected || p.Factor <= 0 {
			why := fmt.Sprintf("its parallelism ceiling was not measured, so its throughput on %d cores is unknown", t.CPUs)
			for _, k := range []string{RPS, Capacity} {
				if _, ok := c.val[k]; ok {
					delete(c.val, k)
					c.excluded[k] = why
				}
			}
			continue
		}
		for _, k := range []string{RPS, Capacity} {
			if v, ok := c.val[k]; ok {
				c.val[k] = v * p.Factor
			}
		}
		if xs := c.samples[RPS]; xs != nil {
			scaled := make([]float64, len(xs))
			for i, x := range xs {
				scaled[i] = x * p.Factor
			}
			c.samples[RPS] = scaled
			by := map[int]float64{}
			for i, x := range c.byTrial[RPS] {
				by[i] = x * p.Factor
			}
			c.byTrial[RPS] = by
			if c.fromSearch {
				c.samples[Capacity] = scaled
			}
		}
		c.capLo *= p.Factor
		if !math.IsInf(c.capHi, 1) {
			c.capHi *= p.Factor
		}
	}
}

// metricLabel names a metric in reasons, saying "projected for N cores"
// for throughput when it is.
func (r *ranker) metricLabel(key string) string {
	name := metricName(key, r.goal)
	if r.projected() && (key == Capacity || key == RPS) {
		name += fmt.Sprintf(" (projected for %d cores)", r.f.Target.CPUs)
	}
	return name
}

// targetPhrase ends the headline: which machine the verdict is for.
func (r *ranker) targetPhrase() string {
	t := r.f.Target
	switch {
	case t == nil:
		return ""
	case t.Projected:
		return fmt.Sprintf(" For %d cores: throughput projected from %d measured (see the notes).", t.CPUs, t.MeasuredCPUs)
	}
	return fmt.Sprintf(" For %d %s, measured.", t.CPUs, plural(t.CPUs, "core", "cores"))
}

// ProjectionFor is run's projection to target t, whatever target f records
// (the projection check predicts for this machine's CPUs).
func ProjectionFor(f *results.File, run results.Run, t results.Target) *results.Projection {
	g := *f
	g.Target = &t
	return projectionOf(&g, run)
}
