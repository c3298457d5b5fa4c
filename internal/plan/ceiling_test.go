package plan

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/workload"
)

func TestResolveTarget(t *testing.T) {
	for _, tc := range []struct {
		want           int
		all            []int
		cpus           int
		pin, generator []int
		projected      bool
		err            bool
	}{
		{0, []int{0, 1}, 1, []int{0}, []int{1}, false, false},             // default: what this machine gives the server
		{0, []int{0, 1, 2, 3}, 3, []int{0, 1, 2}, []int{3}, false, false}, // generator on the fourth
		{4, []int{0, 1}, 4, []int{0}, []int{1}, true, false},              // this 2-CPU machine, 4 cores asked
		{2, []int{0, 1, 2, 3, 4, 5, 6, 7}, 2, []int{0, 1}, []int{6, 7}, false, false},
		{7, []int{0, 1, 2, 3, 4, 5, 6, 7}, 7, []int{0, 1, 2, 3, 4, 5, 6}, []int{7}, false, false}, // N + 1 CPUs: measured directly
		{8, []int{0, 1, 2, 3, 4, 5, 6, 7}, 8, []int{0, 1, 2, 3, 4, 5}, []int{6, 7}, true, false},
		{0, []int{0}, 1, []int{0}, []int{0}, false, false}, // one shared CPU: measured on it
		{-1, []int{0, 1}, 0, nil, nil, false, true},
		{2000, []int{0, 1}, 0, nil, nil, false, true},
	} {
		srv, gen, _ := SplitCPUs(tc.all)
		got, err := resolveTarget(tc.want, srv, gen, tc.all)
		if (err != nil) != tc.err {
			t.Errorf("resolveTarget(%d, %v) error %v", tc.want, tc.all, err)
			continue
		}
		if tc.err {
			continue
		}
		if got.cpus != tc.cpus || !slices.Equal(got.pin, tc.pin) || !slices.Equal(got.generator, tc.generator) || got.projected != tc.projected {
			t.Errorf("resolveTarget(%d, %v) = %+v, want %d %v %v %v", tc.want, tc.all, got, tc.cpus, tc.pin, tc.generator, tc.projected)
		}
	}
	rt := target{cpus: 4, pin: []int{0}, projected: true}.record()
	if rt.CPUs != 4 || rt.MeasuredCPUs != 1 || !rt.Projected || rt.Assumptions == "" {
		t.Errorf("record %+v", rt)
	}
}

// TestDefaultShapesForTarget: the default shapes follow the target, and
// every server is offered their concurrency in its own unit.
func TestDefaultShapesForTarget(t *testing.T) {
	shapes := DefaultShapes(4)
	if !slices.Equal(shapes, []server.Shape{{Workers: 9, Threads: 1}, {Workers: 4, Threads: 8}}) {
		t.Fatalf("DefaultShapes(4) = %v", shapes)
	}
	for _, tc := range []struct {
		id   string
		want []server.Shape
	}{
		{"gunicorn-sync", []server.Shape{{Workers: 9, Threads: 1}, {Workers: 32, Threads: 1}}},
		{"gunicorn-gthread", []server.Shape{{Workers: 9, Threads: 1}, {Workers: 4, Threads: 8}}},
		{"waitress", []server.Shape{{Workers: 1, Threads: 9}, {Workers: 1, Threads: 32}}},
	} {
		a, ok := server.Lookup(tc.id)
		if !ok {
			t.Fatal(tc.id)
		}
		var got []server.Shape
		for _, s := range shapes {
			got = append(got, a.Effective(s))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s runs %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestCeilingCells(t *testing.T) {
	w, _ := server.Lookup("waitress")
	g, _ := server.Lookup("gunicorn-sync")
	cells := Cells([]server.Status{{Adapter: w}, {Adapter: g}}, DefaultShapes(2), wls(t, "crud", "json"))
	runs := make([]results.Run, len(cells))
	for i, c := range cells {
		if c.Status.Adapter.ID == "waitress" {
			runs[i].Trials = []results.Trial{{}}
		}
	}
	got := ceilingCells(cells, runs)
	var keys []string
	for _, c := range got {
		keys = append(keys, c.Key())
	}
	if want := []string{"waitress 1x5 crud", "waitress 1x16 crud"}; !slices.Equal(keys, want) {
		t.Errorf("ceiling cells %v, want %v (servers that served, once per shape, first workload)", keys, want)
	}
}

// TestCeilingServers measures the ceiling of a single-process server and of
// a 3-worker pre-forked one on a CPU-bound workload with every CPU
// allowed. The single process stays near one core whatever else runs; the
// pre-forked one is judged only when the generator and other programs left
// it room for more than one core, and the test says so when they did not.
func TestCeilingServers(t *testing.T) {
	needPython(t)
	if len(allowedCPUs()) < 2 {
		t.Skip("a ceiling above one core needs two CPUs")
	}
	r, cells := prepared(t, Options{Servers: []string{"waitress", "gunicorn-sync"}, Workloads: []string{"cpu"},
		Shapes: []server.Shape{{Workers: 3, Threads: 1}}, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Connections: 16})
	for _, c := range cells {
		t.Run(c.Status.Adapter.ID, func(t *testing.T) {
			var ce results.Ceiling
			// Other programs come and go: a pre-forked server gets up to
			// three tries at finding the CPUs free enough to judge it.
			for try := 0; try < 3; try++ {
				ce = r.ceiling(context.Background(), c)
				if ce.Error != "" {
					t.Fatal(ce.Error)
				}
				if c.Status.Adapter.ID != "gunicorn-sync" || freeFor(ce) >= 1.6 {
					break
				}
			}
			t.Logf("%s %s: %.2f cores of %d, generator %.2f, other %.2f, machine-bound %v, %.0f req/s, %d processes",
				ce.Server, ce.Shape, ce.Cores, len(ce.CPUs), ce.GeneratorCores, ce.OtherCores, ce.MachineBound, ce.RPS, ce.Processes)
			if ce.Cores <= 0 || ce.RPS <= 0 || !ce.SharedWithGenerator || len(ce.CPUs) != len(r.cpus.all) {
				t.Errorf("not measured: %+v", ce)
			}
			switch c.Status.Adapter.ID {
			case "waitress":
				if ce.Cores >= 1.3 {
					t.Errorf("a single GIL-bound process burned %.2f cores; want < 1.3", ce.Cores)
				}
			case "gunicorn-sync":
				if ce.Processes < 4 {
					t.Errorf("%d processes, want the arbiter and 3 workers", ce.Processes)
				}
				room := freeFor(ce)
				if room < 1.6 {
					t.Skipf("other programs (%.2f cores) and the generator (%.2f) left the server %.2f of %d CPUs: too little to show a ceiling above 1.4",
						ce.OtherCores, ce.GeneratorCores, room, len(ce.CPUs))
				}
				if ce.Cores <= 1.4 {
					t.Errorf("3 pre-forked workers burned %.2f cores with %.2f free; want > 1.4", ce.Cores, room)
				}
			}
		})
	}
}

func wls(t *testing.T, specs ...string) []workload.Workload {
	t.Helper()
	var out []workload.Workload
	for _, s := range specs {
		w, err := workload.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

// freeFor is the CPU the generator and other programs left the server.
func freeFor(ce results.Ceiling) float64 {
	return float64(len(ce.CPUs)) - ce.GeneratorCores - ce.OtherCores
}

// TestExecuteTargetCPUs: --target-cpus 4 sizes the shapes for 4 cores
// whatever this machine has, measures memory at them, records each
// server's ceiling, and marks throughput projected when this machine
// cannot give the server 4 CPUs.
func TestExecuteTargetCPUs(t *testing.T) {
	needPython(t)
	out := t.TempDir()
	o := Options{Python: "/usr/bin/python3", Servers: []string{"gunicorn-sync"}, TargetCPUs: 4,
		Duration: time.Second, Warmup: 300 * time.Millisecond, Trials: 1, Connections: 16, Out: out,
		NoCapacity: true, NoProbe: true, NoTrouble: true, NoCheck: true}
	var log strings.Builder
	f, err := Execute(context.Background(), o, &log, "test")
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := rank.Apply(f, "", 0); err != nil {
		t.Fatal(err)
	}
	wantProjected := len(f.Machine.ServerCPUs) < 4
	if tg := f.Target; tg == nil || tg.CPUs != 4 || tg.Projected != wantProjected || tg.MeasuredCPUs != max(len(f.Machine.ServerCPUs), 1) {
		t.Fatalf("target %+v, server CPUs %v", f.Target, f.Machine.ServerCPUs)
	}
	var shapes []string
	for _, r := range f.Runs {
		shapes = append(shapes, r.Shape.String())
		if r.Error != "" || len(r.Trials) != 1 {
			t.Errorf("%s: %d trials, error %q", r.Key(), len(r.Trials), r.Error)
			continue
		}
		if tr := r.Trials[0]; tr.PSSPeakBytes <= 0 || tr.Processes < r.Shape.Workers {
			t.Errorf("%s: memory not measured at the shape: PSS %d, %d processes", r.Key(), tr.PSSPeakBytes, tr.Processes)
		}
		if p := r.Projection; p == nil || p.Projected != wantProjected || p.TargetCPUs != 4 {
			t.Errorf("%s: projection %+v", r.Key(), p)
		}
	}
	if want := []string{"9x1", "32x1"}; !slices.Equal(shapes, want) {
		t.Errorf("shapes %v, want %v: 2N+1 processes and N×8 as processes", shapes, want)
	}
	if len(f.Ceilings) != 2 {
		t.Fatalf("%d ceilings, want one per shape", len(f.Ceilings))
	}
	for _, ce := range f.Ceilings {
		every := len(f.Machine.ServerCPUs) + len(f.Machine.GeneratorCPUs) // apart, unless shared
		if ce.Error != "" || ce.Cores <= 0 || !f.Machine.SharedCPUs && len(ce.CPUs) < every {
			t.Errorf("ceiling %+v", ce)
		}
	}
	disk, err := results.Read(filepath.Join(out, ResultsName))
	if err != nil {
		t.Fatal(err)
	}
	if disk.Target == nil || len(disk.Ceilings) != 2 {
		t.Errorf("results.json lacks the target or the ceilings")
	}
}

func TestClosedCheck(t *testing.T) {
	ce := results.Ceiling{CPUs: []int{0, 1}, RPS: 576, GeneratorCores: 0.14, OtherCores: 0.45}
	p := &results.Projection{Projected: true, Ceiling: 3, Factor: 2, RPS: 764} // 382 on 1 CPU
	chk := results.ProjectionCheck{FromCPUs: 1, ToCPUs: 2}
	closedCheck(&chk, ce, p)
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if !near(chk.RPSError, (764-576)/576.0) || !near(chk.AvailableCores, 1.41) ||
		!near(chk.PredictedAvailableRPS, 382*1.41) || !near(chk.AvailableError, (382*1.41-576)/576) {
		t.Errorf("closed check %+v", chk)
	}
	// A GIL-bound server gains nothing from the free cores either way.
	chk = results.ProjectionCheck{FromCPUs: 1, ToCPUs: 2}
	closedCheck(&chk, results.Ceiling{CPUs: []int{0, 1}, RPS: 330, GeneratorCores: 0.1}, &results.Projection{Ceiling: 0.97, Factor: 1, RPS: 320})
	if !near(chk.PredictedAvailableRPS, 320) {
		t.Errorf("GIL-bound: %+v", chk)
	}
	// Nothing measured: nothing filled.
	chk = results.ProjectionCheck{FromCPUs: 1, ToCPUs: 2}
	closedCheck(&chk, results.Ceiling{CPUs: []int{0, 1}}, p)
	if chk.MeasuredRPS != 0 || chk.RPSError != 0 {
		t.Errorf("no ceiling req/s: %+v", chk)
	}
}
