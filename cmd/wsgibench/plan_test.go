package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/planfile"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// mergedPlan runs run's flag parsing and plan merging, nothing else.
func mergedPlan(t *testing.T, args ...string) (map[string]any, error) {
	t.Helper()
	fs, _, options := runFlagSet(io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	o, _, _, err := options(false)
	if err != nil {
		return nil, err
	}
	return o.AsRun.Settings, nil
}

func writePlan(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlanExampleGolden pins 'wsgibench plan --example' (go test -update
// rewrites it after a flag changes).
func TestPlanExampleGolden(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"plan", "--example"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan-example.yaml")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("plan --example differs from %s (rerun with -update if the change is meant):\n%s", golden, out.String())
	}
}

// TestPlanExampleIsTheDefaults: the example names every run flag, and
// running it is running with no flags at all.
func TestPlanExampleIsTheDefaults(t *testing.T) {
	var out bytes.Buffer
	if err := cmdPlan(context.Background(), []string{"--example"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	fs, _, _ := runFlagSet(io.Discard)
	for _, k := range runSchema(fs).Keys() {
		if !strings.Contains(out.String(), "\n"+k+": ") && !strings.Contains(out.String(), "\n# "+k+": ") {
			t.Errorf("the example lacks %s", k)
		}
	}
	got, err := mergedPlan(t, "--plan", writePlan(t, out.String()))
	if err != nil {
		t.Fatal(err)
	}
	want, err := mergedPlan(t)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the example's plan\n%v\nis not the defaults\n%v", got, want)
	}
}

// TestRunPlanErrors: a bad plan fails with its file, line and what is
// wrong, before anything starts.
func TestRunPlanErrors(t *testing.T) {
	for _, tc := range []struct{ name, plan, want string }{
		{"unknown key", "trials: 3\nwarm-up: 2s\n", ":2:1: unknown key \"warm-up\" (did you mean warmup?)"},
		{"bad duration", "servers: [waitress]\nduration: 3x\n", ":2:11: duration: \"3x\" is not a duration"},
		{"negative trials", "trials: -2\n", ":1:9: trials: -2: want at least 1 trial"},
		{"zero connections", "connections: 0\n", ":1:14: connections: 0: want at least 1 connection"},
		{"unknown server", "servers:\n  - waitress\n  - unicorn\n", ":3:5: servers: unknown server \"unicorn\""},
		{"unknown front", "front: [none, squid]\n", ":1:15: front: unknown front \"squid\""},
		{"unknown profile", "profile: fastest\n", ":1:10: profile: unknown profile"},
		{"bad shape", "shapes: [4x1, 4]\n", ":1:15: shapes: \"4\" is not a shape such as 4x1"},
		{"unknown trouble case", "trouble-cases: [slowloris]\n", ":1:17: trouble-cases: no trouble scenario \"slowloris\""},
		{"unknown database", "db: mysql\n", ":1:5: db: unknown --db \"mysql\""},
		{"negative budget", "budget: -10m\n", ":1:9: budget: -10m0s: cannot be negative"},
		{"negative spelling", "no-trouble: true\n", ":1:1: no-trouble: write \"trouble: false\""},
		{"rate with a unit", "rate: 100/s\n", ":1:7: rate: \"100/s\" is not a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writePlan(t, tc.plan)
			err := run(context.Background(), []string{"run", "--plan", path, "--out", t.TempDir()}, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if want := path + tc.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got  %q\nwant %q…", err, want)
			}
		})
	}
}

// TestFlagsOverridePlan: flags the user gave win; defaults do not.
func TestFlagsOverridePlan(t *testing.T) {
	path := writePlan(t, "trials: 3\nseed: 9\nshapes: [4x1, 2x4]\nprobe: false\nservers: [waitress]\nduration: 4s\n")
	got, err := mergedPlan(t, "--plan", path, "--trials", "7", "--workers", "2", "--servers", "uwsgi,waitress")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"trials": int64(7), "seed": int64(9), "shapes": []string{}, "workers": []string{"2"},
		"probe": false, "servers": []string{"uwsgi", "waitress"}, "duration": "4s", "warmup": "500ms"}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	// A flag given its default value still overrides.
	got, err = mergedPlan(t, "--plan", path, "--trials", "5")
	if err != nil {
		t.Fatal(err)
	}
	if got["trials"] != int64(5) {
		t.Errorf("--trials 5 (the default) did not override the file's 3: %v", got["trials"])
	}
}

func TestRunFlagChecks(t *testing.T) {
	for _, args := range [][]string{{"--trials", "-1"}, {"--duration", "0s"}, {"--rate", "-1"}, {"--port", "70000"},
		{"--shapes", "2x"}, {"--shapes", "2x1", "--workers", "2"}, {"--servers", "nosuch"}} {
		if _, err := mergedPlan(t, args...); err == nil {
			t.Errorf("%q: no error", args)
		} else if !strings.HasPrefix(err.Error(), "--") {
			t.Errorf("%q: %q does not name the flag", args, err)
		}
	}
}

func TestShapesFlag(t *testing.T) {
	fs, _, options := runFlagSet(io.Discard)
	if err := fs.Parse([]string{"--shapes", "5x1, 2X8"}); err != nil {
		t.Fatal(err)
	}
	o, _, _, err := options(false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []server.Shape{{Workers: 5, Threads: 1}, {Workers: 2, Threads: 8}}; !reflect.DeepEqual(o.Shapes, want) {
		t.Errorf("shapes %v, want %v", o.Shapes, want)
	}
}

// TestPlanFromResults: the plan as run, written back, is the same plan.
func TestPlanFromResults(t *testing.T) {
	path := writePlan(t, "trials: 3\nservers: [waitress, uwsgi]\nworkload: [\"GET /items\"]\nprofile: capacity=3,p99=1\nrate: 250.5\nprobe: false\n")
	settings, err := mergedPlan(t, "--plan", path, "--seed", "4")
	if err != nil {
		t.Fatal(err)
	}
	// As results.json stores it, and reads it back (numbers as float64).
	dir := t.TempDir()
	f := &results.File{Schema: results.Schema, Started: time.Now().UTC(), Runs: []results.Run{},
		Plan: results.Plan{AsRun: &results.AsRun{PlanFile: path, Flags: []string{"seed"}, Settings: settings}}}
	rpath := filepath.Join(dir, "results.json")
	if err := results.Write(rpath, f); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"plan", "--from", rpath}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	again, err := mergedPlan(t, "--plan", writePlan(t, out.String()))
	if err != nil {
		t.Fatalf("%v in\n%s", err, out.String())
	}
	if !reflect.DeepEqual(again, settings) {
		t.Errorf("written back\n%s\nreads as\n%v\nnot\n%v", out.String(), again, settings)
	}
	// And 'plan FILE' prints a plan that reads back the same.
	out.Reset()
	if err := run(context.Background(), []string{"plan", path}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := planfile.Parse("printed", out.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestBudgetTooShort: a budget even the smallest plan cannot fit is one
// clear line, before anything starts or is written.
func TestBudgetTooShort(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	err := run(context.Background(), []string{"run", "--servers", "waitress", "--budget", "20s", "--out", out}, io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "--budget 20s is too short: even the smallest plan (1 server,") {
		t.Fatalf("error %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("the refused run created %s", out)
	}
}

// TestRecordCuts: what a budget cut is what the plan as run says, in keys
// that read back.
func TestRecordCuts(t *testing.T) {
	settings, err := mergedPlan(t, "--workers", "3", "--threads", "1,8", "--trouble-repeat", "3")
	if err != nil {
		t.Fatal(err)
	}
	fs, _, options := runFlagSet(io.Discard)
	if err := fs.Parse([]string{"--trials", "3", "--shapes", "3x1", "--trouble-repeat", "1", "--trouble-cases", "worker-killed,overload"}); err != nil {
		t.Fatal(err)
	}
	cut, _, _, err := options(false)
	if err != nil {
		t.Fatal(err)
	}
	recordCuts(settings, cut, true)
	want := map[string]any{"trials": int64(3), "shapes": []string{"3x1"}, "workers": []string{}, "threads": []string{},
		"trouble-repeat": int64(1), "trouble-cases": []string{"worker-killed", "overload"}}
	for k, v := range want {
		if !reflect.DeepEqual(settings[k], v) {
			t.Errorf("%s = %v, want %v", k, settings[k], v)
		}
	}
	var buf bytes.Buffer
	fs2, _, _ := runFlagSet(io.Discard)
	if err := runSchema(fs2).Format(&buf, "cut", settings, planDoc.Sections); err != nil {
		t.Fatal(err)
	}
	if _, err := mergedPlan(t, "--plan", writePlan(t, buf.String())); err != nil {
		t.Errorf("the cut plan does not read back: %v\n%s", err, buf.String())
	}
}
