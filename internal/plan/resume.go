package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/pgsql"
	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// Resuming an interrupted run (wsgibench run --resume OUT). The results
// file is rewritten after every finished trial and suite, so it holds all
// that an interrupted run (Ctrl-C, a crash, SIGKILL, a reboot) finished.
// Resuming relies on three things only: the options the run was asked
// with (File.Request), which (cell, trial) steps finished (Plan.Order;
// a trial cut short is in neither Order nor Trials, so it runs again),
// and which suites have an entry. The steps still to run are the plan's
// steps less the finished ones, in the plan's order: any schedule that
// is a function of the seed and the finished steps composes with it.
// The verdict is computed afterwards over everything, old and new.

// request is what File.Request holds: the options (after defaults) with
// the probe cases and trouble scenarios by ID, and the DSN's password
// left out.
type request struct {
	Options
	ProbeCases       []string `json:"ProbeCases,omitempty"`
	TroubleScenarios []string `json:"TroubleScenarios,omitempty"`
}

// recordRequest stores o in f.Request.
func recordRequest(f *results.File, o Options) error {
	rq := request{Options: o}
	rq.Options.ProbeCases, rq.Options.TroubleScenarios = nil, nil
	rq.Progress, rq.Resume = nil, nil
	for _, c := range o.ProbeCases {
		rq.ProbeCases = append(rq.ProbeCases, c.ID)
	}
	for _, s := range o.TroubleScenarios {
		rq.TroubleScenarios = append(rq.TroubleScenarios, s.ID)
	}
	rq.DBDSN = redactDSN(o.DBDSN)
	b, err := json.Marshal(rq)
	if err != nil {
		return fmt.Errorf("recording the options: %w", err)
	}
	f.Request = b
	return nil
}

// redactDSN leaves a DSN's password out of the record: a resumed run
// needs it given again (or, better, in PGPASSWORD or ~/.pgpass).
func redactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	d, err := pgsql.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	return d.Redacted()
}

// NeedsPassword says whether resumed options lack the password their DSN
// had (see redactDSN).
func (o Options) NeedsPassword() bool {
	return strings.Contains(o.DBDSN, "password=***")
}

// ResumeOptions reads back the options an interrupted run was asked with.
func ResumeOptions(f *results.File, name string) (Options, error) {
	if len(f.Request) == 0 {
		return Options{}, fmt.Errorf("%s has no recorded options (written by an older wsgibench): it cannot be resumed", name)
	}
	var rq request
	if err := json.Unmarshal(f.Request, &rq); err != nil {
		return Options{}, fmt.Errorf("%s: its recorded options do not read back: %v", name, err)
	}
	o := rq.Options
	if o.SuitesOnly {
		return Options{}, fmt.Errorf("%s is from wsgibench probe or trouble, not a comparison: run it again rather than resume it", name)
	}
	for _, id := range rq.ProbeCases {
		i := slices.IndexFunc(probe.Cases(), func(c probe.Case) bool { return c.ID == id })
		if i < 0 {
			return Options{}, fmt.Errorf("%s asked for probe case %q, which this wsgibench does not have", name, id)
		}
		o.ProbeCases = append(o.ProbeCases, probe.Cases()[i])
	}
	for _, id := range rq.TroubleScenarios {
		i := slices.IndexFunc(trouble.Scenarios(), func(s trouble.Scenario) bool { return s.ID == id })
		if i < 0 {
			return Options{}, fmt.Errorf("%s asked for trouble scenario %q, which this wsgibench does not have", name, id)
		}
		o.TroubleScenarios = append(o.TroubleScenarios, trouble.Scenarios()[i])
	}
	return o, nil
}

// DiffOptions names the options (Go field names of Options) that differ
// between a and b, ignoring where the results go and the run's listeners.
// Probe cases and trouble scenarios compare by ID.
func DiffOptions(a, b Options) []string {
	ids := func(o Options) ([]string, []string) {
		var p, t []string
		for _, c := range o.ProbeCases {
			p = append(p, c.ID)
		}
		for _, s := range o.TroubleScenarios {
			t = append(t, s.ID)
		}
		return p, t
	}
	ap, at := ids(a)
	bp, bt := ids(b)
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		name := va.Type().Field(i).Name
		switch name {
		case "Out", "Progress", "Resume":
			continue
		case "DBDSN":
			if redactDSN(a.DBDSN) != redactDSN(b.DBDSN) {
				out = append(out, name)
			}
			continue
		case "ProbeCases":
			if !slices.Equal(ap, bp) {
				out = append(out, name)
			}
			continue
		case "TroubleScenarios":
			if !slices.Equal(at, bt) {
				out = append(out, name)
			}
			continue
		}
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if !reflect.DeepEqual(x, y) && !(isEmpty(va.Field(i)) && isEmpty(vb.Field(i))) {
			out = append(out, name)
		}
	}
	return out
}

// isEmpty treats a nil and an empty slice alike.
func isEmpty(v reflect.Value) bool {
	return v.Kind() == reflect.Slice && v.Len() == 0
}

// resumeFrom checks that the run about to start (fresh, not yet written)
// is the one old was, on the same machine, and returns old ready to go on.
// What is left to run follows from its finished trials: the scheduler
// (nextRound) decides the next steps from the trials each run has, the
// same way whether it is interrupted or not. Its errors are one line
// naming what differs.
func resumeFrom(old, fresh *results.File) (*results.File, error) {
	if err := sameRun(old, fresh); err != nil {
		return nil, err
	}
	if _, err := finishedSteps(old, len(fresh.Runs)); err != nil {
		return nil, err
	}
	f := old
	f.Complete, f.Finished = false, time.Time{}
	f.Resumed = append(f.Resumed, time.Now().UTC())
	// Derived from everything at the end, old and new alike.
	f.Verdict, f.Ranking = nil, nil
	// A projection check follows the ceilings; it is measured again
	// rather than kept for some of them.
	f.ProjectionChecks = nil
	return f, nil
}

// finishedSteps reads Plan.Order ("cell/trial" in the order they ran).
func finishedSteps(f *results.File, cells int) (map[Step]bool, error) {
	done := map[Step]bool{}
	for _, s := range f.Plan.Order {
		a, b, ok := strings.Cut(s, "/")
		c, err1 := strconv.Atoi(a)
		t, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || c < 0 || c >= cells || t < 0 || t >= f.Plan.Trials {
			return nil, fmt.Errorf("the plan's order names a step %q that is not in the plan", s)
		}
		done[Step{Cell: c, Trial: t}] = true
	}
	return done, nil
}

// sameRun compares what makes two runs comparable: the machine, the
// Python, the plan and its cells.
func sameRun(old, fresh *results.File) error {
	om, fm := old.Machine, fresh.Machine
	for _, d := range []struct {
		what     string
		was, now any
	}{
		{"hostname", om.Hostname, fm.Hostname},
		{"CPU model", om.CPUModel, fm.CPUModel},
		{"CPUs", om.CPUs, fm.CPUs},
		{"memory", om.MemoryBytes, fm.MemoryBytes},
		{"kernel", om.Kernel, fm.Kernel},
		{"OS", om.OS, fm.OS},
		{"architecture", om.Arch, fm.Arch},
		{"server CPUs", fmt.Sprint(om.ServerCPUs), fmt.Sprint(fm.ServerCPUs)},
		{"generator CPUs", fmt.Sprint(om.GeneratorCPUs), fmt.Sprint(fm.GeneratorCPUs)},
		{"Python", old.Python.Executable + " " + old.Python.Version, fresh.Python.Executable + " " + fresh.Python.Version},
	} {
		if d.was != d.now {
			return fmt.Errorf("the machine differs from the interrupted run's: %s is %v now, was %v", d.what, d.now, d.was)
		}
	}
	op, fp := old.Plan, fresh.Plan
	// The plan as run (file, flags, budget cuts) is the interrupted run's:
	// a resume takes no plan file or budget of its own.
	op.Order, fp.Order = nil, nil
	op.AsRun, fp.AsRun = nil, nil
	if !reflect.DeepEqual(op, fp) {
		return fmt.Errorf("the plan differs from the interrupted run's: %s", planDiff(op, fp))
	}
	if len(old.Runs) != len(fresh.Runs) {
		return fmt.Errorf("the plan differs from the interrupted run's: %d cells now, %d then (servers found or shapes changed)", len(fresh.Runs), len(old.Runs))
	}
	for i, a := range old.Runs {
		b := fresh.Runs[i]
		if a.Key() != b.Key() {
			return fmt.Errorf("the plan differs from the interrupted run's: cell %d is %s now, was %s", i, b.Key(), a.Key())
		}
		if a.Version != b.Version {
			return fmt.Errorf("the machine differs from the interrupted run's: %s is version %s now, was %s", a.Server, b.Version, a.Version)
		}
	}
	if (old.Database == nil) != (fresh.Database == nil) || old.Database != nil && old.Database.Kind != fresh.Database.Kind {
		return fmt.Errorf("the plan differs from the interrupted run's: the database")
	}
	return nil
}

// planDiff names the first field of results.Plan that differs.
func planDiff(a, b results.Plan) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			f := va.Type().Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return fmt.Sprintf("%s is %v now, was %v", tag, vb.Field(i).Interface(), va.Field(i).Interface())
		}
	}
	return "?"
}

// conformed and troubled are the servers a suite has an entry for.
func conformed(f *results.File) map[string]bool {
	m := map[string]bool{}
	for _, c := range f.Conformance {
		m[c.Server] = true
	}
	return m
}

func troubled(f *results.File) map[string]bool {
	m := map[string]bool{}
	for _, r := range f.Robustness {
		m[r.Server] = true
	}
	return m
}

// unfinishedSuite drops the cells of servers a suite already has.
func unfinishedSuite(cells []Cell, done map[string]bool) []Cell {
	if len(done) == 0 {
		return cells
	}
	var out []Cell
	for _, c := range cells {
		if !done[c.Status.Adapter.ID] {
			out = append(out, c)
		}
	}
	return out
}

// unfinishedCeilings drops the cells that have a ceiling.
func unfinishedCeilings(cells []Cell, done []results.Ceiling) []Cell {
	var out []Cell
	for _, c := range cells {
		if !slices.ContainsFunc(done, func(ce results.Ceiling) bool {
			return ce.Server == c.Status.Adapter.ID && ce.Shape == results.Shape(c.Shape) && ce.Workload == c.Workload.Name
		}) {
			out = append(out, c)
		}
	}
	return out
}

// capacityDone says whether a run's capacity search finished (found or
// failed).
func capacityDone(run results.Run) bool {
	return run.Capacity != nil || slices.ContainsFunc(run.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "capacity search failed")
	})
}
