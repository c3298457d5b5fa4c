// Package budget estimates how long a run will take, from a cost model of
// its phases, and fits a plan into the time the user has (--budget): it
// cuts the plan in a stated order until the estimate fits, and says what
// will and will not be measured before anything starts.
//
// The estimate is built from fixed costs measured per phase (Measured) and
// the plan's own durations: each trial costs its warm-up and measured time
// plus a server start, readiness and stop (and a front's start when the cell
// has one); each server costs its conformance probes and its trouble
// scenarios (per front); each cell its capacity search and its parallelism
// ceiling. With racing, Trials is the per-cell maximum, so the trials phase
// is an upper bound.
//
// The cuts, in order, each taken only as far as needed:
//
//  1. fewer trials per cell, down to 3 (the least a rank-sum verdict rests on);
//  2. one shape instead of several (the first: all processes);
//  3. the capacity search only for the top cells by throughput, down to one;
//  4. each trouble scenario once, then fewer scenarios (see DropOrder), down to one.
//
// After cutting, what was cut last (most valued) is given back first while
// the plan still fits: capacity cells, then trials. Suites the user turned on
// are never turned off by a budget; when even the smallest plan does not fit,
// Fit refuses and says how long that plan would take.
package budget

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/plan"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// Costs are the fixed costs of a run's phases, beyond the durations the
// plan itself states (warm-up, measured time, capacity probe time).
type Costs struct {
	Setup       time.Duration // detect servers, write and seed the app, once
	TrialFixed  time.Duration // a trial's server start, readiness and stop
	FrontStart  time.Duration // starting and stopping a front, per trial behind one
	ProbeServer time.Duration // the conformance probes, per server
	// TroubleScenario is one trouble scenario run once, per server and
	// front; 0: each scenario's own cost (trouble.Scenario.Cost).
	TroubleScenario time.Duration
	CapacityFixed   time.Duration // a capacity search's start and stop, beyond its probes
	CapacityProbes  float64       // probes a capacity search typically takes
	Ceiling         time.Duration // a parallelism ceiling, per cell
}

// Measured are the costs measured on the 2-core machine the README names,
// quiet, 2026-12-03: a trial's start, readiness and stop 0.21 s (median of
// 166 trials; the warm-up and measured time come from the plan); probes
// 2.5–5.6 s per server; trouble scenarios as each states (its Cost, 8–15 s);
// capacity 16–20 s per cell at 6–7 probes of 2 s; ceilings 4–6.5 s per
// cell; a front's start and stop 0.02 s (nginx) to 0.67 s (Varnish) per
// trial, so the dearer. On a busy machine every fixed cost grows (a trial's
// was 0.9–2 s with seven jobs sharing the cores): a budgeted racing run
// then ends its race earlier rather than run over (plan: deadline.go).
var Measured = Costs{
	Setup:          3 * time.Second,
	TrialFixed:     250 * time.Millisecond,
	FrontStart:     700 * time.Millisecond,
	ProbeServer:    4 * time.Second,
	CapacityFixed:  4 * time.Second,
	CapacityProbes: 6.5,
	Ceiling:        5 * time.Second,
}

// MinTrials is the fewest trials per cell a budget cuts to (fewer if the
// user asked for fewer).
const MinTrials = 3

// DropOrder is the order a budget drops trouble scenarios in (the trouble
// package's, shared with the run's own cuts while it goes).
var DropOrder = trouble.DropOrder

// RaceKeep is the share of a race's cells that go on after each look, as
// measured in the default comparison on a 2-core machine on 2026-12-03
// (30 cells: 18 went on after the first look, 11 after the second). The
// racing estimate assumes it; a run with clearer differences stops more.
const RaceKeep = 0.6

// Estimate is a run's predicted wall time, phase by phase.
type Estimate struct {
	Setup, Trials, Probes, Trouble, Capacity, Ceilings time.Duration

	Servers, Cells, Shapes int
	TrialCount             int // trials in all
	TrialsPerCell          int
	Probed                 int      // servers probed
	TroubleTargets         int      // servers × fronts the scenarios run on
	Scenarios              []string // trouble scenarios, each run Repeat times
	Repeat                 int
	CapacityCells          int
	CeilingCells           int
	// Racing: trials, capacity searches, ceilings and trouble scenarios
	// are estimated for the race a plan usually runs (every cell's first
	// round, then two contenders to the most trials and measured in full)
	// plus the servers named; the run may take less, or more when more
	// cells stay in the race.
	Racing bool
}

// Total is the whole run.
func (e Estimate) Total() time.Duration {
	return e.Setup + e.Trials + e.Probes + e.Trouble + e.Capacity + e.Ceilings
}

// Matrix is what the plan expands to on this machine (plan.PreviewCells).
type Matrix = plan.Preview

// oneShape reports whether o runs only the first of several shapes.
func oneShape(o plan.Options, m Matrix) bool {
	return len(m.Shapes) > 1 && len(o.Shapes) == 1 && o.Shapes[0] == m.Shapes[0]
}

// Of estimates the run o would make on matrix m.
func Of(o plan.Options, m Matrix, c Costs) Estimate {
	cells := m.Cells
	most := trials(o)
	e := Estimate{Setup: c.Setup, TrialsPerCell: most, Shapes: len(m.Shapes), Racing: !o.NoRacing}
	if oneShape(o, m) {
		cells, e.Shapes = m.FirstShape, 1
	}
	// Racing: every cell gets the first round; after each look a share
	// of the cells goes on (RaceKeep); those left at the end, and the
	// servers named, are measured in full.
	first := most
	rounds := []int{most} // trials each round adds, per cell in it
	if e.Racing {
		first = min(plan.RaceFirst, most)
		rounds = []int{first}
		for n := first; n < most; n += plan.RaceRound {
			rounds = append(rounds, min(plan.RaceRound, most-n))
		}
		e.TrialsPerCell = first
	}
	var each time.Duration // a trial, on average over the cells
	for _, cell := range cells {
		per := o.Warmup + o.Duration + c.TrialFixed
		if cell.Front != "" && cell.Front != "none" {
			per += c.FrontStart
		}
		each += per
	}
	if len(cells) > 0 {
		each /= time.Duration(len(cells))
	}
	left := float64(len(cells))
	var later int // trials after the first round
	for j, n := range rounds {
		if j > 0 {
			left *= RaceKeep
			later += int(math.Ceil(left)) * n
		}
	}
	first *= len(cells)
	if !e.Racing {
		first, later = len(cells)*most, 0
	}
	e.TrialCount = first + later
	servers, targets := map[string]bool{}, map[string]bool{}
	for _, cell := range cells {
		servers[cell.Status.Adapter.ID] = true
		targets[cell.Status.Adapter.ID+"|"+string(cell.Front)] = true
	}
	e.Servers, e.Cells = len(servers), len(cells)
	// Racing: the contenders are the servers of the cells left; the
	// capacity of each is searched at its best shape, its probes run, and
	// the trouble scenarios and ceilings are for those of them that can
	// still win (plan: reach.go), InReach at most.
	contenders := len(targets)
	reach := len(targets)
	searched := len(cells)
	if e.Racing {
		per := max(1, e.Shapes)
		contenders = min(len(targets), int(math.Ceil(left/float64(per)))+len(o.Named))
		searched = contenders
		reach = min(contenders, InReach+len(o.Named))
	}
	if !o.NoProbe {
		e.Probed = len(servers)
		if e.Racing {
			e.Probed = min(len(servers), contenders)
		}
		e.Probes = time.Duration(e.Probed) * c.ProbeServer
	}
	if !o.NoCapacity && o.Rate == 0 {
		e.CapacityCells = searched
		if o.CapacityTop > 0 {
			e.CapacityCells = min(o.CapacityTop, e.CapacityCells)
		}
		probe := o.CapacityProbe
		if probe <= 0 {
			probe = plan.DefaultCapacityProbe
		}
		search := c.CapacityFixed + time.Duration(c.CapacityProbes*float64(probe))
		e.Capacity = time.Duration(e.CapacityCells) * search
		if o.CheckProjection {
			e.Capacity *= 2
		}
	}
	if !o.NoCeiling {
		e.CeilingCells = len(cells)
		if e.Racing {
			e.CeilingCells = min(len(cells), reach*max(1, e.Shapes))
		}
		e.Ceilings = time.Duration(e.CeilingCells) * c.Ceiling
	}
	if !o.NoTrouble {
		e.Scenarios, e.Repeat, e.TroubleTargets = scenarioIDs(o), max(o.TroubleRepeat, 1), len(targets)
		if e.Racing {
			e.TroubleTargets = reach
			if o.TroubleRepeat <= 0 {
				e.Repeat = 3 // the plan's default for a race's contenders
			}
		}
		e.Trouble = time.Duration(e.TroubleTargets*e.Repeat) * c.scenarios(o)
	}
	e.Trials = time.Duration(first) * each
	later0 := time.Duration(later) * each
	if e.Racing && o.Budget > 0 {
		// Under a budget the run keeps to it (plan: deadline.go): the
		// race ends early, and the scenarios run once, when the time is
		// short.
		rest := e.Setup + e.Trials + e.Probes + e.Capacity + e.Ceilings
		if e.Repeat > 1 && o.TroubleRepeat <= 0 && rest+later0+e.Trouble > o.Budget {
			once := e.Trouble / time.Duration(e.Repeat)
			if rest+e.Trouble > o.Budget || rest+once+later0 > o.Budget {
				e.Trouble, e.Repeat = once, 1
			}
		}
		later0 = max(0, min(later0, o.Budget-rest-e.Trouble))
		e.TrialCount = first + int(later0/max(each, 1))
	}
	e.Trials += later0
	return e
}

// InReach is how many contending servers the estimate expects the trouble
// scenarios to run for: those that can still win once capacity and probes
// are in (plan: reach.go); two or three in the default comparisons
// measured on 2026-12-03.
const InReach = 3

// scenarios is what o's trouble scenarios take on one server, each once.
func (c Costs) scenarios(o plan.Options) time.Duration {
	scs := o.TroubleScenarios
	if scs == nil {
		scs = trouble.Scenarios()
	}
	if c.TroubleScenario > 0 {
		return time.Duration(len(scs)) * c.TroubleScenario
	}
	return trouble.TotalCost(scs)
}

func scenarioIDs(o plan.Options) []string {
	var ids []string
	scs := o.TroubleScenarios
	if scs == nil {
		scs = trouble.Scenarios()
	}
	for _, s := range scs {
		ids = append(ids, s.ID)
	}
	return ids
}

// trials is the most trials per cell o gives: its own, or the plan's
// default for 0 (5, or RaceTrials when racing).
func trials(o plan.Options) int {
	switch {
	case o.Trials > 0:
		return o.Trials
	case o.NoRacing:
		return 5
	}
	return plan.RaceTrials
}

// Fit is a plan cut to a budget.
type Fit struct {
	Options  plan.Options // the cut options: run these
	Estimate Estimate     // of the cut plan
	Uncut    Estimate     // of the plan as asked
	Budget   time.Duration
	Cuts     []string // what was cut, in words, in the order cut
}

// TooShort is a budget that even the smallest plan does not fit.
type TooShort struct {
	Budget, Smallest time.Duration
	What             string // the smallest plan, in words
}

func (e *TooShort) Error() string {
	return fmt.Sprintf("--budget %s is too short: even the smallest plan (%s) takes about %s; give --budget %s or more, name fewer --servers, or turn suites off",
		short(e.Budget), e.What, short(e.Smallest), short(roundUp(e.Smallest)))
}

// FitTo cuts o until its estimate fits budget (see the package doc for
// the order), or refuses with a *TooShort.
func FitTo(budget time.Duration, o plan.Options, m Matrix, c Costs) (Fit, error) {
	f := Fit{Options: o, Budget: budget, Uncut: Of(o, m, c)}
	fits := func(o plan.Options) bool { return Of(o, m, c).Total() <= budget }
	if fits(o) {
		f.Estimate = f.Uncut
		return f, nil
	}
	// 1. Trials, down to MinTrials, from the plan's own number (its
	// default for 0: else "giving back" would start from 0).
	o.Trials = trials(o)
	asked := o.Trials
	for o.Trials > min(MinTrials, asked) && !fits(o) {
		o.Trials--
	}
	// 2. One shape.
	if !fits(o) && len(m.Shapes) > 1 {
		o.Shapes = m.Shapes[:1]
	}
	// 3. Capacity only for the top cells.
	if e := Of(o, m, c); !fits(o) && e.CapacityCells > 1 {
		o.CapacityTop = e.CapacityCells - 1
		for o.CapacityTop > 1 && !fits(o) {
			o.CapacityTop--
		}
	}
	// 4. Each trouble scenario once, then fewer scenarios.
	if !fits(o) && !o.NoTrouble && o.TroubleRepeat > 1 {
		o.TroubleRepeat = 1
	}
	if !fits(o) && !o.NoTrouble {
		scs := o.TroubleScenarios
		if scs == nil {
			scs = trouble.Scenarios()
		}
		scs = slices.Clone(scs)
		for _, id := range DropOrder {
			if len(scs) <= 1 || fits(o) {
				break
			}
			if i := slices.IndexFunc(scs, func(s trouble.Scenario) bool { return s.ID == id }); i >= 0 {
				scs = slices.Delete(scs, i, i+1)
				o.TroubleScenarios = scs
			}
		}
		for len(scs) > 1 && !fits(o) { // scenarios DropOrder does not name
			scs = scs[:len(scs)-1]
			o.TroubleScenarios = scs
		}
	}
	if !fits(o) {
		e := Of(o, m, c)
		return f, &TooShort{Budget: budget, Smallest: e.Total(), What: smallest(e)}
	}
	// Give back what was cut last, while it fits.
	for top := o.CapacityTop; top > 0 && top < Of(o, m, c).Cells; top++ {
		try := o
		try.CapacityTop = top + 1
		if !fits(try) {
			break
		}
		o = try
	}
	if o.CapacityTop >= Of(o, m, c).Cells {
		o.CapacityTop = 0
	}
	for o.Trials < asked {
		try := o
		try.Trials++
		if !fits(try) {
			break
		}
		o = try
	}
	f.Options, f.Estimate = o, Of(o, m, c)
	f.Cuts = cuts(f.Uncut, f.Estimate, m)
	return f, nil
}

// cuts says what the fitted plan leaves out, in the order cut.
func cuts(u, e Estimate, m Matrix) []string {
	var out []string
	if e.TrialsPerCell < u.TrialsPerCell {
		out = append(out, fmt.Sprintf("%d trials per cell instead of %d", e.TrialsPerCell, u.TrialsPerCell))
	}
	if e.Shapes < u.Shapes {
		var rest []string
		for _, s := range m.Shapes[1:] {
			rest = append(rest, s.String())
		}
		out = append(out, fmt.Sprintf("one shape (%s), not %s", m.Shapes[0], strings.Join(rest, ", ")))
	}
	if e.CapacityCells < e.Cells && u.CapacityCells > 0 {
		out = append(out, fmt.Sprintf("capacity searched for the top %d of %d cells by throughput, not the other %d", e.CapacityCells, e.Cells, e.Cells-e.CapacityCells))
	}
	if e.Repeat < u.Repeat {
		out = append(out, fmt.Sprintf("each trouble scenario once, not %d times", u.Repeat))
	}
	if len(e.Scenarios) < len(u.Scenarios) {
		var dropped []string
		for _, id := range u.Scenarios {
			if !slices.Contains(e.Scenarios, id) {
				dropped = append(dropped, id)
			}
		}
		out = append(out, "no trouble scenario "+strings.Join(dropped, ", "))
	}
	return out
}

func smallest(e Estimate) string {
	s := fmt.Sprintf("%s, %d trials per cell, %s", plural(e.Servers, "server"), e.TrialsPerCell, plural(e.Shapes, "shape"))
	if e.CapacityCells > 0 {
		s += fmt.Sprintf(", capacity of %s", plural(e.CapacityCells, "cell"))
	}
	if len(e.Scenarios) > 0 {
		s += fmt.Sprintf(", %s", plural(len(e.Scenarios), "trouble scenario"))
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// short prints a duration to the second, without empty units ("9m41s",
// "12m", not "9m41.25s" or "12m0s").
func short(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// roundUp rounds a duration up to a whole minute, for advice.
func roundUp(d time.Duration) time.Duration {
	return (d + time.Minute - 1).Truncate(time.Minute)
}
