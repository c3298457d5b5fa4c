package results

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() *File {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return &File{
		Schema: Schema, Tool: "test", Started: at, Finished: at.Add(time.Minute), Complete: true,
		Machine: Machine{Hostname: "h", OS: "linux", CPUs: 2, MemoryBytes: 1 << 30, ServerCPUs: []int{0}, GeneratorCPUs: []int{1}},
		Python:  Python{Executable: "/usr/bin/python3", Version: "3.11.2", Prefix: "/usr"},
		Plan: Plan{App: "wsgibench_app:application", Bundled: true, Workloads: []string{"crud"}, Connections: 32,
			Duration: Duration(5 * time.Second), Warmup: Duration(2 * time.Second), Trials: 3, Seed: 7, Order: []string{"0/0"}},
		Runs: []Run{{
			Server: "uwsgi", Version: "2.0.21", Model: "process+thread", Shape: Shape{2, 4}, Workload: "crud",
			LoadModel: "closed", Connections: 32, Argv: []string{"uwsgi", "--master"}, Settings: map[string]string{"a": "b"},
			Trials: []Trial{{
				Index: 0, Started: at, Requests: 1000, DurationS: 5, RPS: 200,
				Errors:        Errors{Total: 3, Status: 2, Reset: 1},
				StatusCounts:  map[string]int64{"200": 998, "500": 2},
				LatencyMS:     Latency{P50: 1, P90: 2, P99: 3, P999: 4, Max: 5},
				UncorrectedMS: &Latency{P50: 1},
				RSSPeakBytes:  1 << 20, CPUSeconds: 1.5, Processes: 3,
				Timeline: []Second{{Requests: 200, P99MS: 3}},
				Warnings: []string{"w"},
			}},
			Projection: &Projection{Projected: true, TargetCPUs: 4, MeasuredCPUs: 1, Ceiling: 2, Factor: 2,
				RPS: 400, CapacityRPS: 300, Assumption: "a"},
		}},
		Target: &Target{CPUs: 4, MeasuredCPUs: 1, Projected: true, Assumptions: "linear up to the ceiling"},
		Ceilings: []Ceiling{{Server: "uwsgi", Shape: Shape{9, 1}, Workload: "crud", CPUs: []int{0, 1}, Connections: 32,
			DurationS: 3, Cores: 1.7, RPS: 900, Processes: 10, SharedWithGenerator: true, GeneratorCores: 0.25,
			OtherCores: 0.05, MachineBound: true, Warnings: []string{"w"}}},
		ProjectionChecks: []ProjectionCheck{{Server: "uwsgi", Shape: Shape{3, 1}, Workload: "crud", FromCPUs: 1, ToCPUs: 2,
			Measured1: 500, Ceiling: 1.8, Predicted: 900, Measured: 850, Error: 0.0588, GeneratorCores: 0.3,
			CPUMsPerKReqFrom: 280, CPUMsPerKReqTo: 300, Note: "n"}},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	want := sample()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the file:\n got %+v\nwant %+v", got, want)
	}
	// No temporary file is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestReadRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"garbage", "not json", "not a wsgibench results file"},
		{"other schema", `{"schema":"something/v9"}`, `schema "something/v9"`},
		{"bad duration", `{"schema":"wsgibench/v1","plan":{"duration":"forever"}}`, "not a wsgibench results file"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.content), 0o644)
		_, err := Read(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

// TestIssueSchemaFields pins the field names other tools read.
func TestIssueSchemaFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, k := range []string{`"schema"`, `"machine"`, `"runs"`, `"server"`, `"version"`, `"shape"`, `"workers"`, `"threads"`,
		`"workload"`, `"model"`, `"connections"`, `"trials"`, `"requests"`, `"duration_s"`, `"rps"`, `"errors"`, `"total"`,
		`"latency_ms"`, `"p50"`, `"p90"`, `"p99"`, `"p999"`, `"max"`, `"rss_peak_bytes"`, `"cpu_seconds"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("results.json lacks %s", k)
		}
	}
}
