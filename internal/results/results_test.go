package results

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
			Duration: Duration(5 * time.Second), Warmup: Duration(2 * time.Second), Trials: 3, Seed: 7, Order: []string{"0/0"},
			Racing: &Racing{First: 3, Round: 3, Looks: 2, Alpha: 0.05, MinEffect: 0.1, Metric: "rps", Named: []string{"uwsgi"}}},
		Database: &Database{Kind: "postgres", Version: "15.5", Private: true, DSN: "host=127.0.0.1 password=***",
			Driver: "psycopg 3.1.7", Settings: []string{"fsync=off"}, CPUs: []int{0}, Reset: "clone", SetupSeconds: 2.5,
			AddedRTT: Duration(time.Millisecond)},
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
				Phases:   &Phases{DB: 0.002, Start: 0.01, Ready: 0.3, Front: 0.2, Warmup: 2, Measure: 5, Stop: 0.04, Total: 7.6},
			}},
			Projection: &Projection{Projected: true, TargetCPUs: 4, MeasuredCPUs: 1, Ceiling: 2, Factor: 2,
				RPS: 400, CapacityRPS: 300, Assumption: "a"},
			Stopped: &Stop{After: 3, Reason: "stopped after 3 trials: behind x", Behind: "x 1x1 crud", Metric: "rps",
				Ratio: 0.5, Lo: 0.4, Hi: 0.6, P: 0.004, Test: "paired t"},
		}},
		NotMeasured: []NotMeasured{{Server: "uwsgi", Run: "uwsgi 2x4 crud", What: "capacity search", Why: "out of the race"}},
		Target:      &Target{CPUs: 4, MeasuredCPUs: 1, Projected: true, Assumptions: "linear up to the ceiling"},
		Ceilings: []Ceiling{{Server: "uwsgi", Shape: Shape{9, 1}, Workload: "crud", CPUs: []int{0, 1}, Connections: 32,
			DurationS: 3, Cores: 1.7, RPS: 900, Processes: 10, SharedWithGenerator: true, GeneratorCores: 0.25,
			OtherCores: 0.05, MachineBound: true, Warnings: []string{"w"}}},
		ProjectionChecks: []ProjectionCheck{{Server: "uwsgi", Shape: Shape{3, 1}, Workload: "crud", FromCPUs: 1, ToCPUs: 2,
			Measured1: 500, Ceiling: 1.8, Predicted: 900, Measured: 850, Error: 0.0588, GeneratorCores: 0.3,
			CPUMsPerKReqFrom: 280, CPUMsPerKReqTo: 300, Note: "n"}},
		Resumed: []time.Time{at.Add(30 * time.Second)},
	}
}

// TestRequestRoundTrip: the recorded options come back as the same JSON
// value (the writer indents it, so not byte for byte).
func TestRequestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	f := sample()
	f.Request = json.RawMessage(`{"Trials":5,"Servers":["waitress"]}`)
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(f.Request, &a)
	if err := json.Unmarshal(got.Request, &b); err != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("request %s came back as %s (%v)", f.Request, got.Request, err)
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

// TestReadRejects: every way a file can fail to be a results file gives
// one line that names the file and, for broken JSON, where.
func TestReadRejects(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(writeSample(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	// Cut at a line's end, so the JSON ends early rather than inside a number.
	truncated := good[:bytes.LastIndexByte(good[:len(good)*2/3], '\n')]
	for _, tc := range []struct {
		name    string
		content []byte
		want    []string
	}{
		{"empty", nil, []string{"is empty: not a wsgibench results file"}},
		{"blank", []byte(" \n\t\n"), []string{"is empty"}},
		{"garbage", []byte("not json"), []string{"is not valid JSON at line 1, column 2, byte 2", "invalid character 'o'"}},
		{"binary", []byte("\x00\x01\x02"), []string{"is not valid JSON at line 1, column 1, byte 1"}},
		{"truncated", truncated, []string{"is not valid JSON at line", "unexpected end of JSON input (is the file truncated?)"}},
		{"syntax on line 3", []byte("{\n  \"schema\": \"wsgibench/v1\",\n  \"runs\": [}\n"), []string{"at line 3, column 12, byte 42", "invalid character '}'"}},
		{"trailing garbage", append(slices.Clone(good), []byte("}\n")...), []string{"is not valid JSON at line", "after top-level value"}},
		{"array", []byte(`[1, 2]`), []string{"holds a JSON array, not a wsgibench results object"}},
		{"string", []byte(`"wsgibench/v1"`), []string{"holds a JSON string"}},
		{"null", []byte(`null`), []string{`has no "schema" field`}},
		{"no schema", []byte(`{"runs": []}`), []string{`has no "schema" field: not a wsgibench results file`}},
		{"other schema", []byte(`{"schema":"something/v9"}`), []string{`schema "something/v9", this wsgibench reads "wsgibench/v1"`}},
		{"schema not a string", []byte(`{"schema": 1}`), []string{"schema (ending at line 1, column 12, byte 12) is a JSON number, want string"}},
		{"wrong type", []byte("{\"schema\":\"wsgibench/v1\",\n\"runs\":[{\"trials\":[{\"rps\":\"fast\"}]}]}"),
			[]string{"is not a wsgibench results file: runs.trials.rps (ending at line 2, column 32, byte 58) is a JSON string, want float64"}},
		{"bad duration", []byte(`{"schema":"wsgibench/v1","plan":{"duration":"forever"}}`), []string{`not a wsgibench results file: duration "forever" is not a Go duration`}},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(p)
		if err == nil {
			t.Errorf("%s: read without error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, p+" ") || strings.ContainsAny(msg, "\n\r") {
			t.Errorf("%s: %q is not one line starting with the file's name", tc.name, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q, want it to say %q", tc.name, msg, w)
			}
		}
	}
	if _, err := Read(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func writeSample(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "good.json")
	if err := Write(p, sample()); err != nil {
		t.Fatal(err)
	}
	return p
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

// FuzzParse: whatever the bytes, Parse returns a file or one line naming
// the file, never panics, and what it accepts writes back to bytes that
// parse to the same file (encoding it again gives the same bytes).
//
//	go test ./internal/results -fuzz FuzzParse -fuzztime 1m
//
// The seed corpus is testdata/fuzz/FuzzParse plus the cases below.
func FuzzParse(f *testing.F) {
	good, err := json.Marshal(sample())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{
		good, good[:len(good)/2], nil, []byte("null"), []byte(`{"schema":"wsgibench/v1"}`),
		[]byte(`{"schema":"wsgibench/v1","runs":[{"trials":[{"rps":"x"}]}]}`),
		[]byte(`{"schema":"wsgibench/v1","plan":{"duration":"-1h"}}`),
		[]byte(`{"schema":"wsgibench/v1","started":"2026-01-01T00:00:00+01:00"}`),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const name = "fuzz.json"
		got, err := Parse(name, b)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, name+" ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error %q is not one line naming the file", msg)
			}
			return
		}
		if got.Schema != Schema {
			t.Fatalf("accepted schema %q", got.Schema)
		}
		once, err := json.Marshal(got)
		if err != nil {
			// Only values JSON cannot hold could fail here, and Parse
			// cannot produce them.
			t.Fatalf("accepted a file it cannot write: %v", err)
		}
		again, err := Parse(name, once)
		if err != nil {
			t.Fatalf("what it wrote does not read back: %v\n%s", err, once)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("the file changed on a round trip:\n%s\n%s", once, twice)
		}
	})
}
