package results

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestAsRunRoundTrip: the plan as run survives the file (numbers come back
// as JSON numbers, lists as lists).
func TestAsRunRoundTrip(t *testing.T) {
	in := &File{Schema: Schema, Started: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), Runs: []Run{},
		Plan: Plan{Trials: 3, AsRun: &AsRun{PlanFile: "plan.yaml", Flags: []string{"seed"},
			Settings: map[string]any{"trials": 3, "servers": []string{"waitress"}, "probe": false, "duration": "3s"},
			Estimate: Duration(9*time.Minute + 41*time.Second), Budget: Duration(10 * time.Minute),
			Cuts: []string{"3 trials per cell instead of 5"}}}}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := Write(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	got := out.Plan.AsRun
	if got == nil {
		t.Fatal("no as_run")
	}
	want := map[string]any{"trials": 3.0, "servers": []any{"waitress"}, "probe": false, "duration": "3s"}
	if !reflect.DeepEqual(got.Settings, want) {
		t.Errorf("settings %v, want %v", got.Settings, want)
	}
	if got.PlanFile != "plan.yaml" || !reflect.DeepEqual(got.Flags, []string{"seed"}) || got.Estimate != in.Plan.AsRun.Estimate ||
		got.Budget != in.Plan.AsRun.Budget || !reflect.DeepEqual(got.Cuts, in.Plan.AsRun.Cuts) {
		t.Errorf("as_run %+v, want %+v", got, in.Plan.AsRun)
	}
}
