package plan

import (
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// Progress hears how a run advances, so a terminal can draw a bar with an
// estimate of the time left. The plan's log lines stay as they are (they
// are the plain output when nothing draws a bar); these events only add
// where the run is. Calls come from the goroutine running Execute, in
// order: Start once, then for each phase a Phase and its steps, each a
// Step begun and a Step done.
type Progress interface {
	Start(w Work)
	Phase(name string, steps int)
	Step(s StepEvent)
}

// Phases of a run, in the order they run.
const (
	PhaseTrials   = "trials"
	PhaseProbes   = "probes"
	PhaseTrouble  = "trouble"
	PhaseCapacity = "capacity"
	PhaseCeiling  = "ceiling"
	PhaseCheck    = "projection check"
)

// Work is what a run will do, for an estimate of its length before it
// has measured anything.
type Work struct {
	Phases []PhaseWork
}

// PhaseWork is one phase: how many steps, and a rough guess of how long
// each takes (from the options; the real length is learnt as steps finish).
type PhaseWork struct {
	Name  string
	Steps int
	Each  time.Duration
}

// StepEvent is one step of a phase (a trial, a server's probes, a capacity
// search) starting (Done false) or ending.
type StepEvent struct {
	Phase string
	Index int // 0-based within the phase
	Of    int // steps in the phase
	Cell  string
	// Trial and Trials number a trial (1-based); zero outside trials.
	Trial, Trials int
	Done          bool
	Failed        bool
}

// noProgress is the default: nothing listens.
type noProgress struct{}

func (noProgress) Start(Work)        {}
func (noProgress) Phase(string, int) {}
func (noProgress) Step(StepEvent)    {}

func (r *runner) progress() Progress {
	if r.o.Progress == nil {
		return noProgress{}
	}
	return r.o.Progress
}

// trialFixedCost is a guess of a trial's cost besides warm-up and
// measurement (start, readiness, stop; see results.Phases), before any
// trial of this run has shown the real one.
const trialFixedCost = 1500 * time.Millisecond

// work estimates a run for the progress bar: upper bounds from the
// options (the suites may skip servers that never served a trial). The
// per-step guesses are the ones the flags' help gives.
func work(o Options, cells []Cell, trials int) Work {
	servers := map[string]bool{}
	for _, c := range cells {
		servers[c.Status.Adapter.ID] = true
	}
	var w Work
	add := func(name string, steps int, each time.Duration) {
		if steps > 0 {
			w.Phases = append(w.Phases, PhaseWork{Name: name, Steps: steps, Each: each})
		}
	}
	if !o.SuitesOnly {
		add(PhaseTrials, trials, o.Warmup+o.Duration+trialFixedCost)
	}
	if !o.NoProbe {
		add(PhaseProbes, len(servers), 5*time.Second)
	}
	if !o.NoTrouble {
		add(PhaseTrouble, len(servers), time.Duration(max(o.TroubleRepeat, 1))*25*time.Second)
	}
	if !o.NoCapacity && !o.SuitesOnly && o.Rate == 0 {
		add(PhaseCapacity, len(cells), time.Duration(o.CapacityProbes)*(o.CapacityProbe+time.Second))
	}
	if !o.NoCeiling && !o.SuitesOnly {
		add(PhaseCeiling, len(cells), 5*time.Second)
	}
	return w
}

// announce tells the listener what the run will do and that trials begin.
// announce tells the progress what the run will do: trials is an
// estimate of the trials still to run (racing decides the rest as it
// goes; see expectedTrials).
func (r *runner) announce(cells []Cell, trials int) {
	p := r.progress()
	p.Start(work(r.o, cells, trials))
	if !r.o.SuitesOnly {
		p.Phase(PhaseTrials, trials)
	}
}

// expectedTrials estimates the trials still to run: with racing, every
// run's first round, then two contenders to the most trials (the usual
// end of a race); without, every run to the most trials. Runs that failed
// get none.
func expectedTrials(runs []results.Run, rr raceRules) int {
	first := rr.Max
	if !rr.Off {
		first = rr.sizes()[0]
	}
	n, alive := 0, 0
	for _, run := range runs {
		if run.Error != "" {
			continue
		}
		alive++
		n += max(0, first-len(run.Trials))
	}
	if !rr.Off {
		n += min(2, alive) * (rr.Max - first)
	}
	return n
}

// serverName names a suite's step: the server (and its front), as the
// suites' log lines do; the suites serve their own app, not the workload.
func serverName(c Cell) string {
	if c.hasFront() {
		return c.Status.Adapter.ID + " behind " + string(c.Front)
	}
	return c.Status.Adapter.ID
}
