package rank

import (
	"slices"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

// TestRankCheckBreaksModel: a server whose concurrency model the
// portability check found unsafe for the app is measured but not ranked,
// and the verdict says why in its place; a model the app is safe under is
// ranked as before.
func TestRankCheckBreaksModel(t *testing.T) {
	f := clearWinner(5)
	for i := range f.Runs {
		f.Runs[i].Model, f.Runs[i].Shape = "process", results.Shape{Workers: 4, Threads: 1}
	}
	threaded := srv{name: "threaded", shape: results.Shape{Workers: 1, Threads: 16},
		rps: around(9000, 10, 5), p99: around(5, 0.1, 5), pssMiB: 10, capacity: 8000}.run()
	threaded.Model = "thread"
	f.Runs = append(f.Runs, threaded)
	f.Check = &results.Check{App: "app:application", Models: []results.CheckModel{
		{Model: results.CheckProcess, Verdict: results.CheckSafe},
		{Model: results.CheckThread, Verdict: results.CheckUnsafe, Evidence: []results.CheckEvidence{
			{Request: "GET /items/3", What: "alone 200, at once 200 with another item"}}},
	}}
	rk, v := must(t, f, "")
	if got := positions(rk); got != "fast=1 mid=2 slow=3" {
		t.Errorf("positions %s", got)
	}
	if !slices.ContainsFunc(v.Notes, func(n string) bool {
		return strings.Contains(n, "not recommended: threaded 1x16") && strings.Contains(n, "not safe under threads (GET /items/3")
	}) {
		t.Errorf("notes %q", v.Notes)
	}
}

func TestCheckBreaks(t *testing.T) {
	c := &results.Check{Models: []results.CheckModel{
		{Model: results.CheckProcess, Verdict: results.CheckUnsafe, Evidence: []results.CheckEvidence{{What: "state"}}},
		{Model: results.CheckThread, Verdict: results.CheckSafe},
		{Model: results.CheckGreenlet, Verdict: results.CheckUnsafe, Evidence: []results.CheckEvidence{{What: "stall"}}},
	}}
	for _, tc := range []struct {
		model string
		shape results.Shape
		want  string // a word the reason must hold, "" = not broken
	}{
		{"process", results.Shape{Workers: 5, Threads: 1}, "processes"},
		{"thread", results.Shape{Workers: 1, Threads: 8}, ""},
		{"process+thread", results.Shape{Workers: 2, Threads: 8}, "processes"},
		{"greenlet", results.Shape{Workers: 1, Threads: 1}, "greenlets"},
		{"single", results.Shape{Workers: 1, Threads: 1}, ""},
		{"process", results.Shape{Workers: 1, Threads: 1}, ""},
		{"event-loop", results.Shape{Workers: 2, Threads: 1}, "processes"},
		{"thread", results.Shape{Workers: 1, Threads: 0}, ""}, // threads are safe in c
	} {
		got := c.Breaks(tc.model, tc.shape)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s %v: %q, want %q", tc.model, tc.shape, got, tc.want)
		}
	}
	var none *results.Check
	if none.Breaks("process", results.Shape{Workers: 9}) != "" {
		t.Error("no check breaks something")
	}
}
