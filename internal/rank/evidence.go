package rank

import (
	"fmt"
	"slices"

	"github.com/wsgibench/wsgibench/internal/results"
)

// Exclusion is why a run's value of one metric is not evidence: the
// ranking does not score it, and no report may crown it either ("lowest
// p99", "most throughput", a highlighted bar). Both ask Unscored, so a
// headline can never rest on a number the ranking refused.
type Exclusion struct {
	// Label is short enough for a card, a plot legend or a table mark:
	// "generator-bound in 2 of 5 trials", "left 24 of 32 connections
	// unserved", "development server".
	Label string
	// Why completes "not scored: …" in a sentence; the ranking's reasons
	// and notes use it as it is.
	Why string
}

// trialFlaw is a condition under which a trial measured something other
// than the server, and the metrics it spoils. A new flag on Trial (a
// front-bound trial, say, where Varnish or nginx was the bottleneck) is
// one more entry here, and then neither the ranking nor any report
// counts what it spoils.
type trialFlaw struct {
	metrics []string
	is      func(results.Trial) bool
	// label and why describe n of the run's trials having it.
	label, why func(run results.Run, n int) string
}

var trialFlaws = []trialFlaw{
	{
		metrics: []string{RPS, Capacity},
		is:      func(t results.Trial) bool { return t.GeneratorBound },
		label: func(run results.Run, n int) string {
			return fmt.Sprintf("generator-bound in %d of %d trials", n, len(run.Trials))
		},
		why: func(run results.Run, n int) string {
			return fmt.Sprintf("the load generator was the bottleneck in %d of %d trials, which then measured the generator, not the server", n, len(run.Trials))
		},
	},
	{
		// Varnish or nginx in front used ≥ 90% of its CPUs: the trial
		// measured the front, not the server behind it.
		metrics: []string{RPS, Capacity},
		is:      func(t results.Trial) bool { return t.Front != nil && t.Front.Bound },
		label: func(run results.Run, n int) string {
			return fmt.Sprintf("%s-bound in %d of %d trials", run.Front, n, len(run.Trials))
		},
		why: func(run results.Run, n int) string {
			return fmt.Sprintf("%s in front was the bottleneck in %d of %d trials (≥ 90%% of its CPUs), which then measured the front, not the server", run.Front, n, len(run.Trials))
		},
	},
	{
		// The percentiles describe only the clients the server chose to
		// serve; the starved ones' requests never completed, so never
		// entered them. Its capacity search times every request from its
		// schedule, so that still counts, and is where the weakness shows.
		metrics: []string{P50, P99},
		is:      func(t results.Trial) bool { return t.StarvedConnections > 0 },
		label: func(run results.Run, n int) string {
			var most int64
			for _, t := range run.Trials {
				most = max(most, t.StarvedConnections)
			}
			if run.Connections > 0 {
				return fmt.Sprintf("left %d of %d connections unserved", most, run.Connections)
			}
			return fmt.Sprintf("left %d connections unserved", most)
		},
		why: func(run results.Run, n int) string {
			return fmt.Sprintf("it left connections unserved in %d of %d trials, so its closed-loop percentiles describe only the clients it served", n, len(run.Trials))
		},
	},
}

// Unscored says why run's value of metric (a metric key: Capacity, RPS,
// P99, …) is not ranking evidence, or nil when it is. A run is no
// evidence at all when it is not for production (the verdict answers what
// to deploy) or failed; otherwise a metric is out when any trial has a
// flaw that spoils it, and capacity also when the capacity search itself
// was limited by the load generator. A run a racing plan stopped is no
// evidence either: it is behind the leader, shown, not ranked. With metric "" it answers for the
// run as a whole: is any of it evidence.
func Unscored(run results.Run, metric string) *Exclusion {
	switch {
	case run.NotForProduction != "":
		return &Exclusion{Label: "not for production",
			Why: "it is a development or reference server, not for production: " + firstLine(run.NotForProduction)}
	case run.Error != "":
		return &Exclusion{Label: "failed", Why: "it failed: " + firstLine(run.Error)}
	case run.Stopped != nil:
		// Racing gave it no more trials: it cannot win, and its few
		// trials are shown, not ranked.
		return &Exclusion{Label: fmt.Sprintf("out of the race after %d trials", run.Stopped.After),
			Why: "it left the race: " + run.Stopped.Reason}
	}
	for _, fl := range trialFlaws {
		if !slices.Contains(fl.metrics, metric) {
			continue
		}
		n := 0
		for _, t := range run.Trials {
			if fl.is(t) {
				n++
			}
		}
		if n > 0 {
			return &Exclusion{Label: fl.label(run, n), Why: fl.why(run, n)}
		}
	}
	if metric == Capacity && run.Capacity != nil && searchGeneratorBound(run.Capacity) {
		return &Exclusion{Label: "capacity search generator-bound",
			Why: "its capacity search was limited by the load generator, not the server"}
	}
	return nil
}
