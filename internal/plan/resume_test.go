package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

func TestRequestRoundTrip(t *testing.T) {
	o := Options{Servers: []string{"waitress", "uwsgi"}, Shapes: []server.Shape{{Workers: 3, Threads: 1}},
		Duration: 3 * time.Second, Trials: 5, Seed: 9, Profile: "crud",
		ProbeCases: probe.Cases()[:2], TroubleScenarios: trouble.Scenarios()[1:2],
		DB: DBPostgres, DBDSN: "postgresql://bench:secret@127.0.0.1:5432/app",
		Progress: noProgress{}, Resume: &results.File{}}.withDefaults()
	var f results.File
	if err := recordRequest(&f, o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(f.Request), "secret") {
		t.Errorf("the password was recorded: %s", f.Request)
	}
	back, err := ResumeOptions(&f, "results.json")
	if err != nil {
		t.Fatal(err)
	}
	if d := DiffOptions(o, back); len(d) != 0 {
		t.Errorf("read back differs in %v", d)
	}
	if !back.NeedsPassword() || o.NeedsPassword() {
		t.Errorf("NeedsPassword: recorded %v, given %v", back.NeedsPassword(), o.NeedsPassword())
	}
	if back.Progress != nil || back.Resume != nil {
		t.Error("listeners came back from the file")
	}
	// The cases come back whole (with their checks), not as bare IDs.
	if len(back.TroubleScenarios) != 1 || back.TroubleScenarios[0].ID != o.TroubleScenarios[0].ID {
		t.Errorf("scenarios %v", back.TroubleScenarios)
	}

	if _, err := ResumeOptions(&results.File{}, "old.json"); err == nil || !strings.Contains(err.Error(), "cannot be resumed") {
		t.Errorf("no request: %v", err)
	}
	f.Request = []byte(`{"SuitesOnly":true}`)
	if _, err := ResumeOptions(&f, "x.json"); err == nil || !strings.Contains(err.Error(), "probe or trouble") {
		t.Errorf("a suites-only run: %v", err)
	}
	f.Request = []byte(`{"TroubleScenarios":["no-such"]}`)
	if _, err := ResumeOptions(&f, "x.json"); err == nil || !strings.Contains(err.Error(), `"no-such"`) {
		t.Errorf("unknown scenario: %v", err)
	}
}

func TestDiffOptions(t *testing.T) {
	base := Options{Servers: []string{"waitress"}, Trials: 5, Duration: time.Second, Out: "a"}
	tests := []struct {
		name   string
		change func(o *Options)
		want   []string
	}{
		{"same", func(o *Options) {}, nil},
		{"trials", func(o *Options) { o.Trials = 3 }, []string{"Trials"}},
		{"duration and seed", func(o *Options) { o.Duration, o.Seed = 2*time.Second, 4 }, []string{"Duration", "Seed"}},
		{"output directory is not the plan", func(o *Options) { o.Out = "b" }, nil},
		{"listeners are not the plan", func(o *Options) { o.Progress = noProgress{} }, nil},
		{"nil and empty lists alike", func(o *Options) { o.Workloads = []string{} }, nil},
		{"servers", func(o *Options) { o.Servers = []string{"uwsgi"} }, []string{"Servers"}},
		{"probe cases by ID", func(o *Options) { o.ProbeCases = probe.Cases()[:1] }, []string{"ProbeCases"}},
		{"a password given again", func(o *Options) { o.DBDSN = "host=h password=***" }, []string{"DBDSN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.change(&o)
			if got := DiffOptions(base, o); !slices.Equal(got, tt.want) {
				t.Errorf("DiffOptions = %v, want %v", got, tt.want)
			}
		})
	}
	withPass := Options{DBDSN: "host=h password=one"}
	if d := DiffOptions(Options{DBDSN: "host=h password=***"}, withPass); len(d) != 0 {
		t.Errorf("a recorded DSN and the same one with its password differ: %v", d)
	}
}

// interrupted is a run of 3 cells × 2 trials killed after three steps.
func interrupted() *results.File {
	f := &results.File{
		Machine: results.Machine{Hostname: "h", CPUs: 2, CPUModel: "m", ServerCPUs: []int{0}, GeneratorCPUs: []int{1}},
		Python:  results.Python{Executable: "/usr/bin/python3", Version: "3.11"},
		Plan:    results.Plan{Workloads: []string{"crud"}, Trials: 2, Seed: 1, Duration: results.Duration(time.Second)},
	}
	for _, s := range []string{"waitress", "uwsgi", "bjoern"} {
		f.Runs = append(f.Runs, results.Run{Server: s, Version: "1", Shape: results.Shape{Workers: 1, Threads: 1}, Workload: "crud"})
	}
	return f
}

func TestResumeFrom(t *testing.T) {
	steps := Order(3, 2, 1)
	old := interrupted()
	for _, st := range steps[:3] {
		old.Plan.Order = append(old.Plan.Order, stepName(st))
		old.Runs[st.Cell].Trials = append(old.Runs[st.Cell].Trials, results.Trial{Index: st.Trial})
	}
	old.Verdict, old.Ranking = &results.Verdict{Headline: "stale"}, []results.Rank{{Server: "uwsgi"}}
	fresh := interrupted()
	f, err := resumeFrom(old, fresh)
	if err != nil {
		t.Fatal(err)
	}
	// The scheduler, given the resumed file, hands out what is left.
	if rest := nextRound(f.Runs, 1, raceRules{Off: true, Max: 2}).Steps; !slices.Equal(rest, steps[3:]) {
		t.Errorf("rest %v, want %v", rest, steps[3:])
	}
	if f != old || f.Complete || len(f.Resumed) != 1 || f.Verdict != nil || f.Ranking != nil {
		t.Errorf("resumed file: complete %v, resumed %v, verdict %v", f.Complete, f.Resumed, f.Verdict)
	}
	if n := countTrials(f); n != 3 {
		t.Errorf("%d trials kept, want 3", n)
	}
}

func stepName(s Step) string { return fmt.Sprintf("%d/%d", s.Cell, s.Trial) }

func TestResumeRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(old *results.File)
		want   string
	}{
		{"another host", func(f *results.File) { f.Machine.Hostname = "other" }, "machine differs from the interrupted run's: hostname is h now, was other"},
		{"other CPUs", func(f *results.File) { f.Machine.ServerCPUs = []int{0, 1} }, "server CPUs is [0] now, was [0 1]"},
		{"another Python", func(f *results.File) { f.Python.Version = "3.12" }, "Python is /usr/bin/python3 3.11 now"},
		{"another seed", func(f *results.File) { f.Plan.Seed = 2 }, "plan differs from the interrupted run's: seed is 1 now, was 2"},
		{"a cell less", func(f *results.File) { f.Runs = f.Runs[:2] }, "3 cells now, 2 then"},
		{"another server", func(f *results.File) { f.Runs[1].Server = "gevent" }, "cell 1 is uwsgi 1x1 crud now, was gevent 1x1 crud"},
		{"an upgrade", func(f *results.File) { f.Runs[2].Version = "0.9" }, "bjoern is version 1 now, was 0.9"},
		{"a step outside the plan", func(f *results.File) { f.Plan.Order = []string{"0/0", "3/0"} }, `step "3/0" that is not in the plan`},
		{"a trial outside the plan", func(f *results.File) { f.Plan.Order = []string{"0/2"} }, `step "0/2"`},
		{"garbage", func(f *results.File) { f.Plan.Order = []string{"x"} }, `step "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := interrupted()
			tt.change(old)
			_, err := resumeFrom(old, interrupted())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestUnfinishedSuites(t *testing.T) {
	cell := func(id string, w int) Cell {
		return Cell{Status: server.Status{Adapter: &server.Adapter{ID: id}}, Shape: server.Shape{Workers: w, Threads: 1}}
	}
	cells := []Cell{cell("waitress", 1), cell("waitress", 3), cell("uwsgi", 1)}
	got := unfinishedSuite(cells, map[string]bool{"waitress": true})
	if len(got) != 1 || got[0].Status.Adapter.ID != "uwsgi" {
		t.Errorf("unfinishedSuite = %v", got)
	}
	if got := unfinishedSuite(cells, nil); len(got) != 3 {
		t.Errorf("nothing done: %d cells", len(got))
	}
	got = unfinishedCeilings(cells, []results.Ceiling{{Server: "waitress", Shape: results.Shape{Workers: 3, Threads: 1}}})
	if len(got) != 2 || got[1].Status.Adapter.ID != "uwsgi" {
		t.Errorf("unfinishedCeilings = %v", got)
	}
	for _, tt := range []struct {
		run  results.Run
		want bool
	}{
		{results.Run{}, false},
		{results.Run{Capacity: &results.Capacity{}}, true},
		{results.Run{Warnings: []string{"capacity search failed: boom"}}, true},
		{results.Run{Warnings: []string{"something else"}}, false},
	} {
		if got := capacityDone(tt.run); got != tt.want {
			t.Errorf("capacityDone(%+v) = %v", tt.run, got)
		}
	}
}

func TestWork(t *testing.T) {
	cell := func(id string) Cell { return Cell{Status: server.Status{Adapter: &server.Adapter{ID: id}}} }
	cells := []Cell{cell("a"), cell("a"), cell("b")}
	o := Options{Warmup: time.Second, Duration: 3 * time.Second, CapacityProbes: 8, CapacityProbe: 2 * time.Second}
	w := work(o, cells, 30)
	var names []string
	for _, p := range w.Phases {
		names = append(names, p.Name)
	}
	if want := []string{PhaseTrials, PhaseProbes, PhaseTrouble, PhaseCapacity, PhaseCeiling}; !slices.Equal(names, want) {
		t.Errorf("phases %v, want %v", names, want)
	}
	if p := w.Phases[0]; p.Steps != 30 || p.Each != 4*time.Second+trialFixedCost {
		t.Errorf("trials %+v", p)
	}
	if p := w.Phases[1]; p.Steps != 2 {
		t.Errorf("probes once per server: %+v", p)
	}
	o.NoProbe, o.NoTrouble, o.NoCapacity, o.NoCeiling = true, true, true, true
	if w := work(o, cells, 30); len(w.Phases) != 1 {
		t.Errorf("only trials: %+v", w)
	}
}
