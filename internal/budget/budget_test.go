package budget

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/plan"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/trouble"
	"github.com/wsgibench/wsgibench/internal/workload"
)

// matrix expands the named servers (real adapters, so their shape rules
// apply) at shapes, as plan.PreviewCells would.
func matrix(t *testing.T, ids []string, shapes []server.Shape, fronts ...front.Kind) Matrix {
	t.Helper()
	var sts []server.Status
	for _, a := range server.All() {
		if len(ids) == 0 || slices.Contains(ids, a.ID) {
			sts = append(sts, server.Status{Adapter: a, Available: true})
		}
	}
	w, err := workload.Parse("crud")
	if err != nil {
		t.Fatal(err)
	}
	withFronts := func(cells []plan.Cell) []plan.Cell {
		if len(fronts) == 0 {
			return cells
		}
		var out []plan.Cell
		for _, c := range cells {
			for _, f := range fronts {
				c.Front = f
				out = append(out, c)
			}
		}
		return out
	}
	wls := []workload.Workload{w}
	return Matrix{Shapes: shapes, Cells: withFronts(plan.Cells(sts, shapes, wls)),
		FirstShape: withFronts(plan.Cells(sts, shapes[:1], wls))}
}

// defaults are run's defaults for an exhaustive plan (--no-racing), the
// plan these costs were measured and the cuts designed on; a racing plan's
// estimate is TestEstimateRacing's.
func defaults() plan.Options {
	return plan.Options{Trials: 5, Duration: 3 * time.Second, Warmup: time.Second, TroubleRepeat: 1,
		CapacityProbe: 2 * time.Second, NoRacing: true}
}

// TestEstimateRacing: a racing plan is estimated for the race it usually
// runs: every cell's first round, RaceKeep of them going on after each
// look; capacity and probes for the servers left, one search each; the
// ceilings and trouble (3 times) for those of them within reach, InReach
// at most. Under a budget the later rounds shrink to what is left.
func TestEstimateRacing(t *testing.T) {
	m := matrix(t, []string{"waitress", "gunicorn-sync", "gunicorn-gthread", "uwsgi", "tornado"}, twoCPUShapes)
	o := defaults()
	o.NoRacing, o.Trials, o.TroubleRepeat = false, 0, 0
	e := Of(o, m, busy)
	per := o.Warmup + o.Duration + busy.TrialFixed
	// 10 cells: 3 trials each, then 6 go on for 3 more, then 4 for the
	// last 2 (looks at 3 and 6 trials of 8).
	n := len(m.Cells)
	if n != 10 {
		t.Fatalf("%d cells, want 10", n)
	}
	if want := 10*3 + 6*3 + 4*2; e.TrialCount != want {
		t.Errorf("%d trials, want %d", e.TrialCount, want)
	}
	if want := time.Duration(e.TrialCount) * per; e.Trials != want {
		t.Errorf("trials take %v, want %v", e.Trials, want)
	}
	// 4 cells left: 2 servers of 2 shapes.
	if e.CapacityCells != 2 || e.Probed != 2 || e.CeilingCells != 4 || e.TroubleTargets != 2 || e.Repeat != 3 {
		t.Errorf("capacity %d, probes %d, ceilings %d, trouble on %d ×%d; want 2, 2, 4, 2 ×3",
			e.CapacityCells, e.Probed, e.CeilingCells, e.TroubleTargets, e.Repeat)
	}
	o.Named = []string{"waitress"}
	if e := Of(o, m, busy); e.CapacityCells != 3 {
		t.Errorf("with a server named, capacity for %d servers, want 3", e.CapacityCells)
	}
	o.Named = nil
	// A budget that covers the first round and the suites, trouble once,
	// and half the later rounds: the estimate is the budget, no more.
	firstRound := 30 * per
	suites := e.Setup + e.Probes + e.Capacity + e.Ceilings
	o.Budget = firstRound + suites + e.Trouble/3 + 13*per
	b := Of(o, m, busy)
	if b.Repeat != 1 || b.TrialCount != 30+13 || b.Total() > o.Budget {
		t.Errorf("under %v: trouble ×%d, %d trials, %v in all; want ×1, 43 trials, within the budget", o.Budget, b.Repeat, b.TrialCount, b.Total())
	}
	o.Budget = time.Hour
	if b := Of(o, m, busy); !reflect.DeepEqual(b, e) {
		t.Errorf("a budget with room to spare changed the estimate: %+v, want %+v", b, e)
	}
}

var busy = Costs{Setup: 3 * time.Second, TrialFixed: 1500 * time.Millisecond, FrontStart: 2 * time.Second,
	ProbeServer: 8 * time.Second, TroubleScenario: 9 * time.Second, CapacityFixed: 4 * time.Second,
	CapacityProbes: 6.5, Ceiling: 5 * time.Second}

var twoCPUShapes = plan.DefaultShapes(1) // 3x1 and 1x8: one server CPU of two

// TestEstimatebusyRun: the model against the run its costs were
// measured on (waitress and gunicorn-gthread, 2 trials: 4m51s).
func TestEstimatebusyRun(t *testing.T) {
	m := matrix(t, []string{"waitress", "gunicorn-gthread"}, twoCPUShapes)
	o := defaults()
	o.Trials = 2
	e := Of(o, m, busy)
	want := map[string]time.Duration{"setup": 3 * time.Second, "trials": 8 * 5500 * time.Millisecond,
		"probes": 16 * time.Second, "trouble": 2 * 7 * 9 * time.Second, "capacity": 4 * 17 * time.Second,
		"ceilings": 20 * time.Second}
	got := map[string]time.Duration{"setup": e.Setup, "trials": e.Trials, "probes": e.Probes, "trouble": e.Trouble,
		"capacity": e.Capacity, "ceilings": e.Ceilings}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if actual := 4*time.Minute + 51*time.Second; e.Total() < actual*8/10 || e.Total() > actual*12/10 {
		t.Errorf("estimate %v is more than 20%% off the measured %v", e.Total(), actual)
	}
}

func TestEstimateParts(t *testing.T) {
	m := matrix(t, []string{"waitress", "uwsgi"}, twoCPUShapes, front.None, front.Varnish)
	for _, tc := range []struct {
		name  string
		edit  func(*plan.Options)
		check func(Estimate) string
	}{
		{"a front adds its start to each trial behind it", func(o *plan.Options) {}, func(e Estimate) string {
			// 8 cells, half behind varnish: 5 trials × (8×5.5 s + 4×2 s)
			if e.Trials != 5*(8*5500+4*2000)*time.Millisecond {
				return "trials " + e.Trials.String()
			}
			if e.TroubleTargets != 4 || e.Probed != 2 {
				return "trouble runs per server and front, probes per server"
			}
			return ""
		}},
		{"an open model has no capacity search", func(o *plan.Options) { o.Rate = 1000 }, func(e Estimate) string {
			if e.Capacity != 0 {
				return "capacity " + e.Capacity.String()
			}
			return ""
		}},
		{"suites off cost nothing", func(o *plan.Options) { o.NoProbe, o.NoTrouble, o.NoCapacity, o.NoCeiling = true, true, true, true },
			func(e Estimate) string {
				if e.Total() != e.Setup+e.Trials {
					return "total " + e.Total().String()
				}
				return ""
			}},
		{"check-projection searches twice", func(o *plan.Options) { o.CheckProjection = true }, func(e Estimate) string {
			if e.Capacity != 2*8*17*time.Second {
				return "capacity " + e.Capacity.String()
			}
			return ""
		}},
		{"trouble repeat multiplies", func(o *plan.Options) { o.TroubleRepeat = 3 }, func(e Estimate) string {
			if e.Trouble != 3*4*7*9*time.Second {
				return "trouble " + e.Trouble.String()
			}
			return ""
		}},
	} {
		o := defaults()
		tc.edit(&o)
		if msg := tc.check(Of(o, m, busy)); msg != "" {
			t.Errorf("%s: %s", tc.name, msg)
		}
	}
}

func TestFitTo(t *testing.T) {
	all := matrix(t, nil, twoCPUShapes) // every adapter: 20 servers
	two := matrix(t, []string{"waitress", "gunicorn-gthread"}, twoCPUShapes)
	uncut := Of(defaults(), all, busy).Total()
	for _, tc := range []struct {
		name   string
		m      Matrix
		edit   func(*plan.Options)
		budget time.Duration
		// want: trials per cell, shapes, capacity cells (-1 = every cell), scenarios, repeat
		trials, shapes, capacity, scenarios, repeat int
		cuts                                        []string // prefixes, in order
	}{
		{name: "room to spare: nothing cut", m: all, budget: uncut + time.Minute,
			trials: 5, shapes: 2, capacity: -1, scenarios: 7, repeat: 1},
		{name: "a little short: one trial less", m: all, budget: uncut - time.Second,
			trials: 4, shapes: 2, capacity: -1, scenarios: 7, repeat: 1, cuts: []string{"4 trials per cell instead of 5"}},
		{name: "half: every cut, trouble scenarios last", m: all, budget: uncut / 2,
			trials: 3, shapes: 1, capacity: 3, scenarios: 5, repeat: 1,
			cuts: []string{"3 trials per cell instead of 5", "one shape (3x1), not 1x8",
				"capacity searched for the top 3 of 20 cells", "no trouble scenario slow-headers, slow-threshold"}},
		{name: "30 minutes: slack from a dropped scenario goes back to capacity", m: all, budget: 30 * time.Minute,
			trials: 3, shapes: 1, capacity: 7, scenarios: 6, repeat: 1,
			cuts: []string{"3 trials per cell instead of 5", "one shape", "capacity searched for the top 7 of 20 cells",
				"no trouble scenario slow-threshold"}},
		{name: "two servers: trouble repeat before scenarios, a trial given back", m: two, budget: 3 * time.Minute,
			edit:   func(o *plan.Options) { o.TroubleRepeat = 3 },
			trials: 4, shapes: 1, capacity: 1, scenarios: 5, repeat: 1,
			cuts: []string{"4 trials per cell instead of 5", "one shape", "capacity searched for the top 1 of 2",
				"each trouble scenario once, not 3 times", "no trouble scenario slow-headers, slow-threshold"}},
		{name: "asked for 2 trials: never fewer", m: two, budget: 2 * time.Minute,
			edit:   func(o *plan.Options) { o.Trials = 2 },
			trials: 2, shapes: 1, capacity: 1, scenarios: 2, repeat: 1,
			cuts: []string{"one shape", "capacity", "no trouble scenario slow-headers, slow-body, hung-request, worker-killed, slow-threshold"}},
		{name: "the default number of trials (0) is cut from 5, not given back from 0", m: all, budget: 30 * time.Minute,
			edit:   func(o *plan.Options) { o.Trials = 0 },
			trials: 3, shapes: 1, capacity: 7, scenarios: 6, repeat: 1,
			cuts: []string{"3 trials per cell instead of 5", "one shape", "capacity searched for the top 7 of 20 cells",
				"no trouble scenario slow-threshold"}},
		{name: "named scenarios are dropped in the stated order", m: two, budget: 2 * time.Minute,
			edit: func(o *plan.Options) {
				o.TroubleScenarios = pick(t, "worker-killed", "reload", "slow-headers")
			},
			trials: 3, shapes: 1, capacity: 1, scenarios: 2, repeat: 1, cuts: []string{"3 trials", "one shape", "capacity", "no trouble scenario slow-headers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := defaults()
			if tc.edit != nil {
				tc.edit(&o)
			}
			f, err := FitTo(tc.budget, o, tc.m, busy)
			if err != nil {
				t.Fatal(err)
			}
			e := f.Estimate
			if e.Total() > tc.budget {
				t.Errorf("estimate %v exceeds the budget %v", e.Total(), tc.budget)
			}
			if !reflect.DeepEqual(e, Of(f.Options, tc.m, busy)) {
				t.Errorf("the fit's estimate is not the estimate of its options")
			}
			capacity := tc.capacity
			if capacity < 0 {
				capacity = e.Cells
			}
			if e.TrialsPerCell != tc.trials || e.Shapes != tc.shapes || e.CapacityCells != capacity ||
				len(e.Scenarios) != tc.scenarios || e.Repeat != tc.repeat {
				t.Errorf("got %d trials, %d shapes, capacity of %d, %d scenarios ×%d; want %d, %d, %d, %d ×%d\ncuts: %q",
					e.TrialsPerCell, e.Shapes, e.CapacityCells, len(e.Scenarios), e.Repeat,
					tc.trials, tc.shapes, capacity, tc.scenarios, tc.repeat, f.Cuts)
			}
			if len(f.Cuts) != len(tc.cuts) {
				t.Fatalf("cuts %q, want %q", f.Cuts, tc.cuts)
			}
			for i, c := range tc.cuts {
				if !strings.HasPrefix(f.Cuts[i], c) {
					t.Errorf("cut %d = %q, want %q…", i, f.Cuts[i], c)
				}
			}
			// Nothing given back could have been given back further.
			if e.TrialsPerCell < max(o.Trials, 1) {
				more := f.Options
				more.Trials++
				if Of(more, tc.m, busy).Total() <= tc.budget {
					t.Errorf("%d trials would fit too", more.Trials)
				}
			}
			var buf bytes.Buffer
			f.Describe(&buf)
			for _, c := range f.Cuts {
				if !strings.Contains(buf.String(), c) {
					t.Errorf("Describe does not say %q:\n%s", c, buf.String())
				}
			}
		})
	}
}

func TestFitRefuses(t *testing.T) {
	m := matrix(t, nil, twoCPUShapes)
	_, err := FitTo(5*time.Minute, defaults(), m, busy)
	var ts *TooShort
	if !errors.As(err, &ts) {
		t.Fatalf("error %v, want *TooShort", err)
	}
	if ts.Smallest <= 5*time.Minute {
		t.Errorf("smallest plan %v fits in 5m, so why refuse", ts.Smallest)
	}
	msg := err.Error()
	for _, want := range []string{"--budget 5m is too short", "20 servers, 3 trials per cell, 1 shape, capacity of 1 cell, 1 trouble scenario",
		"give --budget"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("more than one line: %q", msg)
	}
	// The advice is enough.
	if _, err := FitTo(roundUp(ts.Smallest), defaults(), m, busy); err != nil {
		t.Errorf("the advised budget %v does not fit: %v", roundUp(ts.Smallest), err)
	}
}

func pick(t *testing.T, ids ...string) []trouble.Scenario {
	var out []trouble.Scenario
	for _, id := range ids {
		i := slices.IndexFunc(trouble.Scenarios(), func(s trouble.Scenario) bool { return s.ID == id })
		if i < 0 {
			t.Fatalf("no scenario %s", id)
		}
		out = append(out, trouble.Scenarios()[i])
	}
	return out
}

// The measured model costs each trouble scenario at its own Cost (the
// overload and reload take longer than the slow clients); a model that
// states one cost per scenario uses it for all.
func TestScenarioCosts(t *testing.T) {
	m := matrix(t, []string{"waitress", "gunicorn-gthread"}, twoCPUShapes)
	o := defaults()
	o.NoRacing = true
	o.TroubleScenarios = pick(t, "overload", "reload")
	var own time.Duration
	for _, sc := range o.TroubleScenarios {
		if sc.Cost <= 0 {
			t.Fatalf("%s states no cost", sc.ID)
		}
		own += sc.Cost
	}
	if e := Of(o, m, Measured); e.Trouble != 2*own {
		t.Errorf("measured: trouble %v, want 2 servers × %v", e.Trouble, own)
	}
	if e := Of(o, m, busy); e.Trouble != 2*2*busy.TroubleScenario {
		t.Errorf("one cost per scenario: trouble %v, want 2 × 2 × %v", e.Trouble, busy.TroubleScenario)
	}
}
