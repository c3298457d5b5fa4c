package stats

import (
	"fmt"
	"math"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
)

// HighVariance is the interval width, relative to the median, above which
// a summary warns that the trials disagree.
const HighVariance = 0.10

// SharedCPUsWarning is the warning every run of a machine whose server and
// load generator shared CPUs carries; reports may show it once.
const SharedCPUsWarning = "server and load generator shared CPUs and competed for them: the numbers understate the server"

// Summarize reduces a run's trials to medians with 95% confidence
// intervals, and says what the reader should distrust about them.
func Summarize(r results.Run, m results.Machine) results.Summary {
	ts := r.Trials
	col := func(f func(results.Trial) (float64, bool)) results.Estimate {
		var xs []float64
		for _, t := range ts {
			if v, ok := f(t); ok {
				xs = append(xs, v)
			}
		}
		return MedianCI(xs, Confidence)
	}
	always := func(f func(results.Trial) float64) func(results.Trial) (float64, bool) {
		return func(t results.Trial) (float64, bool) { return f(t), true }
	}
	s := results.Summary{
		RPS:          col(always(func(t results.Trial) float64 { return t.RPS })),
		P50MS:        col(always(func(t results.Trial) float64 { return t.LatencyMS.P50 })),
		P99MS:        col(always(func(t results.Trial) float64 { return t.LatencyMS.P99 })),
		P999MS:       col(always(func(t results.Trial) float64 { return t.LatencyMS.P999 })),
		PSSBytes:     col(always(func(t results.Trial) float64 { return float64(t.PSSPeakBytes) })),
		RSSBytes:     col(always(func(t results.Trial) float64 { return float64(t.RSSPeakBytes) })),
		CPUSeconds:   col(always(func(t results.Trial) float64 { return t.CPUSeconds })),
		CPUMsPerKReq: col(CPUMsPerKReq),
		ErrorRate:    col(ErrorRate),
	}
	s.Warnings = warnings(r, m, s)
	return s
}

// SummarizeAll fills Summary for every run with at least one trial (and
// clears it for runs with none), recomputing from the trials.
func SummarizeAll(f *results.File) {
	for i := range f.Runs {
		r := &f.Runs[i]
		if len(r.Trials) == 0 {
			r.Summary = nil
			continue
		}
		s := Summarize(*r, f.Machine)
		r.Summary = &s
	}
}

// CPUMsPerKReq is the server's CPU milliseconds per 1000 responses in a
// trial: its efficiency. Not defined for a trial with no responses.
func CPUMsPerKReq(t results.Trial) (float64, bool) {
	if t.Requests <= 0 {
		return 0, false
	}
	return t.CPUSeconds * 1e6 / float64(t.Requests), true
}

// ErrorRate is the share of attempted requests that failed: failures over
// responses (which include non-2xx ones) plus the requests that got no
// response at all.
func ErrorRate(t results.Trial) (float64, bool) {
	attempts := t.Requests + t.Errors.Connect + t.Errors.Lost()
	if attempts <= 0 {
		return 0, false
	}
	return float64(t.Errors.Total) / float64(attempts), true
}

// Memory picks the memory estimate to show and rank on: PSS, which splits
// shared pages between a server's processes, when it was measured, else
// RSS.
func Memory(s results.Summary) (e results.Estimate, pss bool) {
	if s.PSSBytes.N > 0 && s.PSSBytes.Median > 0 {
		return s.PSSBytes, true
	}
	return s.RSSBytes, false
}

// Spread is an estimate's interval width relative to its median; NaN when
// the median is 0 or unknown.
func Spread(e results.Estimate) float64 {
	if e.Median == 0 || math.IsNaN(e.Median) {
		return math.NaN()
	}
	return math.Abs(e.Hi-e.Lo) / math.Abs(e.Median)
}

func warnings(r results.Run, m results.Machine, s results.Summary) []string {
	var ws []string
	n := len(r.Trials)
	need := TrialsForCI(Confidence)
	switch {
	case n == 1:
		ws = append(ws, fmt.Sprintf("1 trial: no confidence interval (need ≥ %d trials for %.0f%%)", need, Confidence*100))
	case n > 1 && n < need:
		ws = append(ws, fmt.Sprintf("%d trials: too few for a %.0f%% confidence interval (need ≥ %d); intervals shown are [min, max], which hold the median with %.0f%% confidence",
			n, Confidence*100, need, s.RPS.Confidence*100))
	}
	if n > 1 {
		mem, _ := Memory(s)
		var wide []string
		for _, x := range []struct {
			name string
			e    results.Estimate
		}{{"req/s", s.RPS}, {"p99", s.P99MS}, {"memory", mem}, {"CPU per request", s.CPUMsPerKReq}} {
			if sp := Spread(x.e); sp > HighVariance {
				wide = append(wide, fmt.Sprintf("%s %.0f%%", x.name, sp*100))
			}
		}
		if len(wide) > 0 {
			ws = append(ws, fmt.Sprintf("high variance: the interval spans more than %.0f%% of the median (%s)", HighVariance*100, strings.Join(wide, ", ")))
		}
	}
	var failedTrials int
	var e results.Errors
	var bound, starved int
	for _, t := range r.Trials {
		if t.Errors.Total > 0 {
			failedTrials++
		}
		e.Total += t.Errors.Total
		e.Connect += t.Errors.Connect
		e.Reset += t.Errors.Reset
		e.Timeout += t.Errors.Timeout
		e.Status += t.Errors.Status
		e.Protocol += t.Errors.Protocol
		e.ResetOnReuse += t.Errors.ResetOnReuse
		if t.GeneratorBound {
			bound++
		}
		if t.GeneratorStarved {
			starved++
		}
	}
	if failedTrials > 0 {
		ws = append(ws, fmt.Sprintf("failed requests in %d of %d trials (%d in all: %s)", failedTrials, n, e.Total, errorClasses(e)))
	}
	if bound > 0 {
		ws = append(ws, fmt.Sprintf("the load generator was the bottleneck in %d of %d trials (≥ 90%% of its CPU): req/s and latency there measure the generator, not the server", bound, n))
	}
	if starved > 0 {
		ws = append(ws, fmt.Sprintf("other processes held the load generator's CPU for over a tenth of %d of %d trials (generator_starved): their latency carries the generator's own waits; rerun on a quieter machine to trust small differences", starved, n))
	}
	frontBound := 0
	for _, t := range r.Trials {
		if t.Front != nil && t.Front.Bound {
			frontBound++
		}
	}
	if frontBound > 0 {
		ws = append(ws, fmt.Sprintf("%s in front was the bottleneck in %d of %d trials (≥ 90%% of its CPUs): req/s and latency there measure the front, not the server", r.Front, frontBound, n))
	}
	if m.SharedCPUs {
		ws = append(ws, SharedCPUsWarning)
	}
	return ws
}

func errorClasses(e results.Errors) string {
	var parts []string
	for _, c := range []struct {
		n    int64
		name string
	}{{e.Connect, "connect"}, {e.Reset, "reset"}, {e.Timeout, "timeout"}, {e.Status, "non-2xx"}, {e.Protocol, "protocol"}, {e.ResetOnReuse, "reset on a reused connection"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return "unclassified"
	}
	return strings.Join(parts, ", ")
}
