package plan

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// After the race, the costly measurements (capacity searches, parallelism
// ceilings, trouble scenarios) are spent where the verdict is decided: on
// the runs still in the race, and on every run of a server the user named.
// The others are recorded as not measured, with the reason they left the
// race, so a report shows why the cell is blank.

// fullCells keeps the cells to measure in full: all of them when the plan
// did not race.
func (r *runner) fullCells(cells []Cell, runs []results.Run) []Cell {
	if r.o.NoRacing {
		return cells
	}
	var out []Cell
	for i, c := range cells {
		if r.inFull(runs[i]) {
			out = append(out, c)
		}
	}
	return out
}

// inFull: a run still in the race at its end, or one of a named server.
func (r *runner) inFull(run results.Run) bool {
	if r.o.NoRacing || slices.Contains(r.o.Named, run.Server) {
		return true
	}
	return run.Stopped == nil && run.Error == "" && run.NotForProduction == ""
}

// skipRuns records what was not measured for each run that has trials
// but is out of the race (a failed run says why already).
func (r *runner) skipRuns(file *results.File, what string) {
	if r.o.NoRacing {
		return
	}
	for _, run := range file.Runs {
		if r.inFull(run) || run.Error != "" || len(run.Trials) == 0 {
			continue
		}
		file.NotMeasured = append(file.NotMeasured, results.NotMeasured{
			Server: run.Server, Run: run.Key(), What: what, Why: outWhy(run)})
	}
}

// skipServers records what was not measured for each server none of whose
// runs is measured in full; per server, for the suites.
func (r *runner) skipServers(file *results.File, what string) {
	if r.o.NoRacing {
		return
	}
	full, why := map[string]bool{}, map[string]string{}
	var order []string
	for _, run := range file.Runs {
		if !slices.Contains(order, run.Server) {
			order = append(order, run.Server)
		}
		if r.inFull(run) && run.Error == "" {
			full[run.Server] = true
		}
		if run.Error == "" && len(run.Trials) > 0 && why[run.Server] == "" {
			why[run.Server] = outWhy(run)
		}
	}
	for _, s := range order {
		if !full[s] && why[s] != "" {
			file.NotMeasured = append(file.NotMeasured, results.NotMeasured{Server: s, What: what, Why: why[s]})
		}
	}
}

// outWhy is why a run left the race, as a reason for not measuring it.
func outWhy(run results.Run) string {
	switch {
	case run.Stopped != nil:
		return "out of the race: " + run.Stopped.Reason
	case run.NotForProduction != "":
		return "a development server, never a candidate: " + run.NotForProduction
	}
	return fmt.Sprintf("out of the race after %d trials", len(run.Trials))
}

// troubleRepeat is how often each trouble scenario runs on a server:
// what the user asked, else the median of 3 for the contenders of a plan
// that raced (one measurement of a scenario is noisy, and theirs decide
// the verdict), else once: for a plan with no second round (--trials 3 or
// fewer), as for --no-racing.
func (r *runner) troubleRepeat(server string, runs []results.Run) int {
	if r.o.TroubleRepeat > 0 {
		return r.o.TroubleRepeat
	}
	if !r.races() {
		return 1 // no race (all trials in one round): no contenders either
	}
	for _, run := range runs {
		if run.Server == server && run.Stopped == nil && run.Error == "" && run.NotForProduction == "" {
			return 3
		}
	}
	return 1
}

// fullSuiteCells are the cells the suites run at: those of runs measured
// in full that served the app, so a server's trouble scenarios run at a
// shape still in the race.
func (r *runner) fullSuiteCells(cells []Cell, runs []results.Run) []Cell {
	if r.o.NoRacing {
		return servedCells(cells, runs)
	}
	var out []Cell
	for i, c := range cells {
		if r.inFull(runs[i]) && runs[i].Error == "" && len(runs[i].Trials) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// fullShapes are the server and shape pairs ("gunicorn-sync 5x1") of the
// runs measured in full: in a race, at the shape each server is ranked at
// (searchShapes), the one its ceiling and remedies speak for.
func (r *runner) fullShapes(cells []Cell, runs []results.Run) map[string]bool {
	out := map[string]bool{}
	ranked := r.searchShapes(runs)
	for i, c := range cells {
		if r.inFull(runs[i]) && ranked[i] {
			out[c.Status.Adapter.ID+" "+c.Shape.String()] = true
		}
	}
	return out
}

// raceRules are the plan's racing rules, from its options.
func (r *runner) raceRules() raceRules {
	rr := raceRules{Off: r.o.NoRacing || r.o.SuitesOnly, First: RaceFirst, Round: RaceRound, Max: r.o.Trials,
		Alpha: RaceAlpha, MinEffect: RaceMinEffect, Metric: r.o.RaceMetric}
	if rr.Metric == rank.RaceScore {
		if p, err := rank.ParseProfile(r.o.Profile); err == nil {
			rr.Weights = rank.RaceWeights(p)
		}
	}
	return rr
}

// describe is the plan's trials in the opening line.
func (rr raceRules) describe(cells int) string {
	if rr.Off {
		return fmt.Sprintf("%d trials", cells*rr.Max)
	}
	s := rr.sizes()
	if len(s) < 2 {
		return fmt.Sprintf("%d trials (%d per cell: too few for a second round, so no racing)", cells*rr.Max, rr.Max)
	}
	looks := fmt.Sprint(s[:len(s)-1])
	on := raceMetricOf(rr.Metric).name
	if rr.Metric == rank.RaceScore {
		on = scoreName(rr.Weights)
	}
	return fmt.Sprintf("racing trials (%d per cell, then contenders up to %d; who is behind on %s is judged after %s trials)",
		s[0], rr.Max, on, strings.Trim(looks, "[]"))
}

// recordStops marks the runs the scheduler stopped, once each, and says so.
func (r *runner) recordStops(file *results.File, rd round) {
	idx := make([]int, 0, len(rd.Stops))
	for i := range rd.Stops {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		if file.Runs[i].Stopped != nil {
			continue
		}
		s := rd.Stops[i]
		file.Runs[i].Stopped = &s
		fmt.Fprintf(r.log, "[race] %s: %s\n", file.Runs[i].Key(), s.Reason)
	}
}

func countFailed(f *results.File) int {
	n := 0
	for _, r := range f.Runs {
		if r.Error != "" {
			n++
		}
	}
	return n
}

// raceSteps feeds Execute's trial loop: the scheduler's rounds one after
// another, each decided from the trials finished by then.
type raceSteps struct {
	r     *runner
	file  *results.File
	rules raceRules
	taken int // steps handed out so far
	round int // steps in the current round
	start int // taken when the current round began
}

func (r *runner) raceSteps(file *results.File, rules raceRules) *raceSteps {
	return &raceSteps{r: r, file: file, rules: rules}
}

// known is the steps known so far: those taken and the rest of the round.
func (s *raceSteps) known() int { return s.start + s.round }

// all yields every step of every round; after each round it records the
// runs the scheduler stopped. It ends when nothing is due, or when a
// round made no progress (every step skipped without a trial or an
// error: the next round would be the same).
func (s *raceSteps) all() iter.Seq2[int, Step] {
	return func(yield func(int, Step) bool) {
		if s.r.o.SuitesOnly {
			return
		}
		last := -1
		if rc := s.file.Plan.Racing; rc != nil && rc.Ended != "" {
			return // a resumed run whose race the budget ended
		}
		for {
			rd := nextRound(s.file.Runs, s.r.o.Seed, s.rules)
			s.r.recordStops(s.file, rd)
			progress := countTrials(s.file) + countFailed(s.file)
			if len(rd.Steps) == 0 || progress == last {
				return
			}
			last = progress
			s.start, s.round = s.taken, len(rd.Steps)
			for _, st := range rd.Steps {
				if rd.Look > 1 && !s.endRace() {
					return
				}
				s.taken++
				if !yield(s.taken-1, st) {
					return
				}
			}
		}
	}
}

// endRace says whether the race goes on (raceGoesOn); when it does not, it
// ends the race here and records why: the runs still in it are the
// contenders, with the trials they have.
func (s *raceSteps) endRace() bool {
	if s.r.raceGoesOn(s.file) {
		return true
	}
	why := fmt.Sprintf("the time budget: %s left would not cover another trial and then the suites of the %d servers still in the race",
		s.r.deadline.left().Round(time.Second), len(racingServers(s.file.Runs)))
	if rc := s.file.Plan.Racing; rc != nil {
		rc.Ended = why
	}
	s.r.cut(s.file, "race ended early by "+why)
	return false
}

// searchShapes are the runs whose capacity is searched, by index: every
// run without racing, and every run of a server the user named; in a race,
// each contending server's run at the shape the ranking ranks it at on the
// trials' evidence (rankedShapes; by median throughput where it ranks
// none), per workload and front. The ranking ranks a server at a searched
// shape, so the search of its other shapes would not change the verdict:
// in the default comparison it would double the searches (one of the
// costliest phases) for nothing.
func (r *runner) searchShapes(runs []results.Run) map[int]bool {
	out := map[int]bool{}
	pick, rps := r.rankedShapes(runs), capacityCells(runs)
	top := map[string]int{} // server, workload, front → the best run so far
	for i, run := range runs {
		if !r.races() || slices.Contains(r.o.Named, run.Server) {
			out[i] = true
			continue
		}
		if len(run.Trials) == 0 || !r.inFull(run) || run.Error != "" {
			continue
		}
		k := run.Server + "\x00" + run.Workload + "\x00" + run.Front
		j, seen := top[k]
		if !seen || better(runs, i, j, pick, rps) {
			top[k] = i
		}
	}
	for _, i := range top {
		out[i] = true
	}
	return out
}

// better says whether run i is a server's shape to search rather than run
// j: one searched already stays (more trials may have moved the scores
// since), then the shape the ranking picks, then the higher median req/s
// (capacityCells, the search's own hint).
func better(runs []results.Run, i, j int, pick map[string]bool, rps map[int]float64) bool {
	a, b := runs[i], runs[j]
	if (a.Capacity != nil) != (b.Capacity != nil) {
		return a.Capacity != nil
	}
	if pa, pb := pick[a.Key()], pick[b.Key()]; pa != pb {
		return pa
	}
	return rps[i] > rps[j]
}

// rankedShapes are the runs (by Key) the ranking ranks each server at,
// judged on the trials alone: memory and latency count as the profile
// weighs them, not req/s only.
func (r *runner) rankedShapes(runs []results.Run) map[string]bool {
	profile := r.o.Profile
	if profile == "" {
		profile = rank.DefaultProfile
	}
	out := map[string]bool{}
	ranks, _, err := rank.Rank(&results.File{Runs: runs}, profile, float64(r.o.LatencyGoal.Milliseconds()))
	if err != nil {
		return out
	}
	for _, rk := range ranks {
		for _, run := range runs {
			if run.Server == rk.Server && run.Shape == rk.Shape && run.Workload == rk.Workload {
				out[run.Key()] = true
			}
		}
	}
	return out
}

// races says whether the plan races: racing on, and trials enough for a
// second look (--trials 3 or fewer gives every cell all of them, as
// --no-racing does, and so every cell is measured in full).
func (r *runner) races() bool {
	rr := r.raceRules()
	return !rr.Off && len(rr.sizes()) >= 2
}
