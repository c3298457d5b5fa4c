package plan

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// A racing plan with a budget (Options.Budget) keeps to it while it runs,
// not only in the estimate it starts from: how long the race takes, and so
// how many servers are left for the costly suites, is only known as it
// goes. The rules, in order:
//
//  1. Every cell gets its first round of trials, whatever the time.
//  2. A later round goes on while what the servers still in the race need
//     after it (reserve: their capacity searches and probes, and the
//     trouble scenarios of the few that can still win) fits the time left.
//     When it does not, the race ends there: the runs still in it are the
//     contenders, with the trials they have, and the results file says so.
//  3. The trouble scenarios run for the servers that can still win
//     (reach.go), each scenario the median of 3 when that fits the time
//     left, else once; when even once does not fit, the scenarios are
//     dropped in trouble.DropOrder until it does (at least one is kept).
//
// The costs below are medians measured on the 2-core machine the README
// names, quiet, 2026-12-03 (trials of 2 s after a 0.5 s warm-up).
const (
	// costCapacity is one capacity search: a server start and about 6
	// probes of 1 s.
	costCapacity = 11 * time.Second
	// costProbes is the conformance probes of one server.
	costProbes = 4 * time.Second
	// costTrialFixed is a trial's server start, readiness and stop.
	costTrialFixed = 300 * time.Millisecond
	// costCeiling is one parallelism ceiling.
	costCeiling = 5 * time.Second
	// costFixed is what a run spends besides: the portability check,
	// uneven-worker remedies, writing reports.
	costFixed = 25 * time.Second
	// likelyInReach is how many servers the reserve assumes can still win
	// once capacity and probes are in (reach.go): three and four in the
	// default comparisons measured.
	likelyInReach = 4
)

// deadline is a budget's end, when the run has one.
type deadline struct {
	end time.Time // zero: no budget
}

func (d deadline) set() bool { return !d.end.IsZero() }

// left is the time left before the budget's end.
func (d deadline) left() time.Duration { return time.Until(d.end) }

// reserve is what the servers still in the race need after it: their
// capacity searches and probes, the ceilings and the scenarios (scored
// trouble scenarios each, once: scenarios is what they take on one server)
// of those likely to stay within reach, and the fixed rest.
func reserve(servers int, scenarios time.Duration) time.Duration {
	reach := min(servers, likelyInReach)
	return time.Duration(servers)*(costCapacity+costProbes) +
		time.Duration(reach)*(3*costCeiling/2+scenarios) + costFixed
}

// raceGoesOn says whether the race may start another trial of a later
// round: the time left covers the reserve of the servers still in it.
func (r *runner) raceGoesOn(file *results.File) bool {
	if !r.deadline.set() {
		return true
	}
	return r.deadline.left() > reserve(len(racingServers(file.Runs)), r.scoredScenarios())
}

// scoredScenarios is what the plan's scored trouble scenarios take on one
// server, each run once: an unscored one is the first a short budget drops.
func (r *runner) scoredScenarios() time.Duration {
	return trouble.TotalCost(r.scored())
}

// scored are the plan's scored trouble scenarios.
func (r *runner) scored() []trouble.Scenario {
	var out []trouble.Scenario
	for _, sc := range r.troubleScenarios() {
		if !sc.Unscored {
			out = append(out, sc)
		}
	}
	return out
}

// racingServers are the servers with a run still in the race.
func racingServers(runs []results.Run) map[string]bool {
	out := map[string]bool{}
	for _, run := range runs {
		if run.Stopped == nil && run.Error == "" && run.NotForProduction == "" && len(run.Trials) > 0 {
			out[run.Server] = true
		}
	}
	return out
}

// troubleScenarios are the scenarios the plan runs.
func (r *runner) troubleScenarios() []trouble.Scenario {
	if r.o.TroubleScenarios != nil {
		return r.o.TroubleScenarios
	}
	return trouble.Scenarios()
}

// troubleFit chooses, for targets servers, how often each scenario runs
// and which scenarios: the plan's own choice without a budget; under one,
// the median of 3 if it fits the time left, else once, else once with
// scenarios dropped (trouble.DropOrder) until it fits, at least one kept.
// cut says what was given up, in words ("" for nothing).
func (r *runner) troubleFit(targets, repeat int, scs []trouble.Scenario) (int, []trouble.Scenario, string) {
	if !r.deadline.set() || r.o.TroubleRepeat > 0 || targets == 0 {
		return repeat, scs, ""
	}
	cost := func(rep int, scs []trouble.Scenario) time.Duration {
		return time.Duration(targets*rep)*trouble.TotalCost(scs) + costFixed/2
	}
	left := r.deadline.left()
	if cost(repeat, scs) <= left {
		return repeat, scs, ""
	}
	cut := ""
	if repeat > 1 {
		cut = fmt.Sprintf("each trouble scenario run once, not the median of %d: the budget had %s left", repeat, left.Round(time.Second))
		repeat = 1
	}
	kept := scs
	var dropped []string
	for _, id := range trouble.DropOrder {
		if cost(1, kept) <= left || len(kept) <= 1 {
			break
		}
		for i, sc := range kept {
			if sc.ID == id {
				kept = append(kept[:i:i], kept[i+1:]...)
				dropped = append(dropped, id)
				break
			}
		}
	}
	if len(dropped) > 0 {
		if cut != "" {
			cut += "; "
		}
		cut += fmt.Sprintf("trouble scenarios left out to fit the budget: %v", dropped)
	}
	return repeat, kept, cut
}

// cut records what the budget gave up while the run went, with the cuts
// made before it started (results.AsRun.Cuts), and says so.
func (r *runner) cut(file *results.File, what string) {
	if what == "" {
		return
	}
	if file.Plan.AsRun == nil {
		file.Plan.AsRun = &results.AsRun{}
	}
	file.Plan.AsRun.Cuts = append(file.Plan.AsRun.Cuts, what)
	fmt.Fprintf(r.log, "[budget] %s\n", what)
}

// skipCeilings says whether a budgeted run leaves the parallelism ceilings
// out, and records it: when the target is the cores measured on, nothing is
// projected, so a ceiling changes no score (the factors say "not used"), and
// its seconds go to the trouble scenarios, which do.
func (r *runner) skipCeilings(file *results.File) bool {
	if !r.budgetSkipsCeilings() {
		return false
	}
	servers := slices.Sorted(maps.Keys(racingServers(file.Runs)))
	for _, s := range servers {
		file.NotMeasured = append(file.NotMeasured, results.NotMeasured{Server: s, What: "parallelism ceiling",
			Why: "under a time budget, and the target is the cores measured on: nothing is projected, so a ceiling would change no score"})
	}
	return true
}

// budgetSkipsCeilings: the budget leaves the ceilings out (skipCeilings).
func (r *runner) budgetSkipsCeilings() bool {
	return r.deadline.set() && !r.target.projected && !r.o.CheckProjection
}

// leastTrouble is what one server's trouble scenarios take when a budget
// has cut them to the least it keeps: the scored scenario DropOrder gives
// up last, once.
func (r *runner) leastTrouble() time.Duration {
	scored := r.scored()
	if len(scored) == 0 {
		return 0
	}
	last := scored[len(scored)-1] // a scenario DropOrder does not name goes last
	rank := -1
	for _, sc := range scored {
		if k := slices.Index(trouble.DropOrder, sc.ID); k > rank {
			last, rank = sc, k
		}
	}
	return trouble.TotalCost([]trouble.Scenario{last})
}
