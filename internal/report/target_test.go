package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// projectedFixture is a 4-core verdict measured on one CPU: a single
// process and a pre-forked server, each with its ceiling.
func projectedFixture(t *testing.T) *results.File {
	t.Helper()
	f := &results.File{Schema: results.Schema, Complete: true, Plan: results.Plan{Workloads: []string{"crud"}, Trials: 5}}
	for _, s := range []struct {
		name  string
		shape results.Shape
		rps   float64
	}{{"waitress", results.Shape{Workers: 1, Threads: 9}, 1000}, {"gunicorn-sync", results.Shape{Workers: 9, Threads: 1}, 800}} {
		r := results.Run{Server: s.name, Shape: s.shape, Workload: "crud", LoadModel: "closed", Connections: 32,
			Capacity: &results.Capacity{GoalP99MS: 100, RPS: s.rps * 0.9, Limit: "p99", Steps: []results.CapacityStep{
				{Rate: s.rps * 0.9, Achieved: s.rps * 0.9, P99MS: 40, Pass: true}, {Rate: s.rps, Achieved: s.rps, P99MS: 150}}}}
		for i := 0; i < 5; i++ {
			r.Trials = append(r.Trials, results.Trial{Index: i, RPS: s.rps + float64(i), Requests: int64(s.rps) * 3, DurationS: 3,
				LatencyMS: results.Latency{P50: 5, P99: 30 + float64(i)}, PSSPeakBytes: 50 << 20, RSSPeakBytes: 60 << 20, CPUSeconds: 2})
		}
		f.Runs = append(f.Runs, r)
	}
	f.Ceilings = []results.Ceiling{
		{Server: "waitress", Shape: results.Shape{Workers: 1, Threads: 9}, Workload: "crud", CPUs: []int{0, 1}, Cores: 1.02, RPS: 1100, GeneratorCores: 0.2},
		{Server: "gunicorn-sync", Shape: results.Shape{Workers: 9, Threads: 1}, Workload: "crud", CPUs: []int{0, 1}, Cores: 1.7, RPS: 1500,
			GeneratorCores: 0.25, MachineBound: true},
	}
	f.ProjectionChecks = []results.ProjectionCheck{{Server: "gunicorn-sync", Shape: results.Shape{Workers: 9, Threads: 1}, Workload: "crud",
		FromCPUs: 1, ToCPUs: 2, Measured1: 720, Ceiling: 9, Predicted: 1440, Measured: 1300, Error: 0.1077, GeneratorCores: 0.25,
		CPUMsPerKReqFrom: 400, CPUMsPerKReqTo: 420, PredictedRPS: 1600, MeasuredRPS: 1500, RPSError: 0.0667,
		AvailableCores: 1.75, PredictedAvailableRPS: 1400, AvailableError: -0.0667}}
	f.Target = &results.Target{CPUs: 4, MeasuredCPUs: 1, Projected: true, Assumptions: "stated assumptions"}
	if err := rank.Apply(f, "capacity=1", 0); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestProjectedEverywhere(t *testing.T) {
	f := projectedFixture(t)
	var md, page, table bytes.Buffer
	if err := Markdown(&md, f); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, f); err != nil {
		t.Fatal(err)
	}
	Table(&table, f)
	for _, tc := range []struct {
		where, text, want string
	}{
		{"summary.md verdict table", md.String(), "capacity req/s (projected for 4 cores)"},
		{"summary.md headline", md.String(), "For 4 cores: throughput projected from 1 measured"},
		{"summary.md reasons", md.String(), "capacity at p99 ≤ 100 ms (projected for 4 cores) (2880 vs 918 req/s"},
		{"summary.md run table", md.String(), "| projected for 4 cores |"},
		{"summary.md run table", md.String(), "3208 req/s, capacity 2880 (×4.00, projected for 4 cores)"},
		{"summary.md target", md.String(), "- **Target:** 4 cores: shapes and memory measured at the 4-core shapes"},
		{"summary.md ceilings", md.String(), "| gunicorn-sync | 9x1 | crud | 1.70 | 2 | 1500 | 0.25 | 0.00 | yes |"},
		{"summary.md check", md.String(), "| gunicorn-sync | 9x1 | 1 | 720 | 9.00 | 2 | 1440 | 1300 | +10.8% | 400 → 420 |"},
		{"summary.md closed check", md.String(), "| gunicorn-sync | 9x1 | 1600 | 1500 | +6.7% | 1.75 | 1400 | -6.7% |"},
		{"report.html run table", page.String(), "3208 req/s, capacity 2880 (×4.00, projected for 4 cores)"},
		{"report.html basis", page.String(), "<dt>Target</dt><dd>4 cores: shapes and memory measured"},
		{"report.html reasons", page.String(), "(projected for 4 cores) (2880 vs 918 req/s"},
		{"report.html ceilings", page.String(), "<td>gunicorn-sync</td><td>9x1</td><td class=\"num\">1.70 of 2</td>"},
		{"report.html plots", page.String(), "These plots show what was measured, on 1 CPU(s); the values projected for 4 cores are in the verdict"},
		{"terminal", table.String(), "gunicorn-sync 9x1 crud: 3208 req/s, capacity 2880 (×4.00, projected for 4 cores)"},
	} {
		if !strings.Contains(tc.text, tc.want) {
			t.Errorf("%s lacks %q", tc.where, tc.want)
		}
	}
	if t.Failed() {
		t.Logf("summary.md:\n%s\nterminal:\n%s", md.String(), table.String())
	}
}
