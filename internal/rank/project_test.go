package rank

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

func TestProjectionFactor(t *testing.T) {
	for _, tc := range []struct {
		target, measured int
		ceiling, want    float64
	}{
		{4, 1, 1.0, 1},   // GIL-bound: no gain from more cores
		{4, 1, 1.1, 1.1}, // an I/O thread outside the GIL
		{4, 1, 9, 4},     // pre-forked, more processes than cores
		{4, 1, 3, 3},     // pre-forked, fewer processes than cores
		{2, 1, 1.8, 1.8}, // the check this machine can make
		{4, 1, 0.6, 1},   // cannot use even one core: stays
		{4, 2, 9, 2},
		{4, 4, 9, 1}, // measured on the target: nothing to project
		{4, 1, 0, 0}, // no ceiling
	} {
		if got := projectionFactor(tc.target, tc.measured, tc.ceiling); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("projectionFactor(%d, %d, %v) = %v, want %v", tc.target, tc.measured, tc.ceiling, got, tc.want)
		}
	}
}

func TestCeilingOf(t *testing.T) {
	f := &results.File{Ceilings: []results.Ceiling{
		{Server: "waitress", Shape: results.Shape{Workers: 1, Threads: 9}, CPUs: []int{0, 1}, Cores: 1.05},
		{Server: "gunicorn-sync", Shape: results.Shape{Workers: 9, Threads: 1}, CPUs: []int{0, 1}, Cores: 1.7, MachineBound: true},
		{Server: "gunicorn-sync", Shape: results.Shape{Workers: 32, Threads: 1}, CPUs: []int{0, 1}, Cores: 1.75, MachineBound: true},
		{Server: "broken", Shape: results.Shape{Workers: 9, Threads: 1}, Error: "would not start"},
	}}
	for _, tc := range []struct {
		server string
		shape  results.Shape
		want   float64
		ok     bool
		how    string
	}{
		{"waitress", results.Shape{Workers: 1, Threads: 9}, 1.05, true, "measured: 1.05 cores with 2 CPUs allowed"},
		{"waitress", results.Shape{Workers: 1, Threads: 32}, 1.05, true, "at 1x9"},
		{"gunicorn-sync", results.Shape{Workers: 9, Threads: 1}, 9, true, "its 9 processes (it used 1.70 cores of 2 before"},
		{"gunicorn-sync", results.Shape{Workers: 3, Threads: 1}, 3, true, "at 32x1"},
		{"broken", results.Shape{Workers: 9, Threads: 1}, 0, false, ""},
		{"absent", results.Shape{Workers: 9, Threads: 1}, 0, false, ""},
	} {
		c, how, ok := ceilingOf(f, results.Run{Server: tc.server, Shape: tc.shape})
		if c != tc.want || ok != tc.ok || !strings.Contains(how, tc.how) {
			t.Errorf("ceilingOf(%s %s) = %v %q %v, want %v %q %v", tc.server, tc.shape, c, how, ok, tc.want, tc.how, tc.ok)
		}
	}
}

// projectedFile: a single process wins on one core, a pre-forked server
// on four.
func projectedFile(target int) *results.File {
	f := file(
		srv{name: "single", shape: results.Shape{Workers: 1, Threads: 9}, rps: around(1000, 5, 5), p99: around(30, 0.1, 5), pssMiB: 50, capacity: 900},
		srv{name: "forked", shape: results.Shape{Workers: 9, Threads: 1}, rps: around(800, 5, 5), p99: around(30, 0.1, 5), pssMiB: 50, capacity: 700},
	)
	f.Ceilings = []results.Ceiling{
		{Server: "single", Shape: results.Shape{Workers: 1, Threads: 9}, CPUs: []int{0, 1}, Cores: 1.0},
		{Server: "forked", Shape: results.Shape{Workers: 9, Threads: 1}, CPUs: []int{0, 1}, Cores: 1.7, MachineBound: true},
	}
	f.Target = &results.Target{CPUs: target, MeasuredCPUs: 1, Projected: target > 1}
	return f
}

func TestRankProjected(t *testing.T) {
	f := projectedFile(1)
	if err := Apply(f, "capacity=1", 0); err != nil {
		t.Fatal(err)
	}
	if got := positions(f.Ranking); got != "single=1 forked=2" {
		t.Fatalf("on 1 core: %s", got)
	}
	if p := f.Runs[0].Projection; p == nil || p.Projected || p.CapacityRPS != 900 {
		t.Errorf("on the measured core count the projection is the measurement: %+v", p)
	}
	if !strings.HasSuffix(f.Verdict.Headline, "For 1 core, measured.") {
		t.Errorf("headline %q", f.Verdict.Headline)
	}

	f = projectedFile(4)
	if err := Apply(f, "capacity=1", 0); err != nil {
		t.Fatal(err)
	}
	if got := positions(f.Ranking); got != "forked=1 single=2" {
		t.Fatalf("on 4 cores: %s", got)
	}
	fp, sp := f.Runs[1].Projection, f.Runs[0].Projection
	if !fp.Projected || fp.Factor != 4 || fp.CapacityRPS != 2800 || !strings.Contains(fp.Assumption, "projected for 4 cores") {
		t.Errorf("forked projection %+v", fp)
	}
	if !sp.Projected || sp.Factor != 1 || sp.CapacityRPS != 900 {
		t.Errorf("single projection %+v", sp)
	}
	if f.Ranking[0].Metrics[Capacity] != 2800 {
		t.Errorf("ranked on %v, want the projected 2800", f.Ranking[0].Metrics[Capacity])
	}
	want := "ahead of single: 211% more capacity at p99 ≤ 100 ms (projected for 4 cores) (2800 vs 900 req/s; req/s p = 0.0079; forked / single throughput 3.20× [3.19, 3.21] pair by pair, 5 pairs, a 94% interval)"
	if !slices.Contains(f.Ranking[0].Reasons, want) {
		t.Errorf("reasons:\n%s\nwant %s", strings.Join(f.Ranking[0].Reasons, "\n"), want)
	}
	if !strings.Contains(f.Verdict.Headline, "For 4 cores: throughput projected from 1 measured") {
		t.Errorf("headline %q", f.Verdict.Headline)
	}
	if !slices.ContainsFunc(f.Verdict.Notes, func(s string) bool { return strings.HasPrefix(s, "capacity and req/s are projected for 4 cores") }) {
		t.Errorf("notes %q", f.Verdict.Notes)
	}
}

// A server whose ceiling is unknown is not ranked on projected throughput.
func TestRankProjectedNoCeiling(t *testing.T) {
	f := projectedFile(4)
	f.Ceilings = f.Ceilings[:1]
	rk, _, err := Rank(f, "capacity=1,p99=1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var forked results.Rank
	for _, r := range rk {
		if r.Server == "forked" {
			forked = r
		}
	}
	if _, ok := forked.Metrics[Capacity]; ok {
		t.Errorf("forked scored on capacity without a ceiling: %v", forked.Metrics)
	}
	if !slices.ContainsFunc(forked.Reasons, func(s string) bool {
		return strings.Contains(s, "not scored: its parallelism ceiling was not measured")
	}) {
		t.Errorf("reasons %q", forked.Reasons)
	}
}
