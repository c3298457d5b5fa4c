package plan

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

func TestMain(m *testing.M) {
	proc.Main()
	os.Exit(m.Run())
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if testing.Short() {
		t.Skip("starts real servers")
	}
}

// TestExecuteTwoServers is the end-to-end path: detect, seed, start real
// servers, load them, sample their trees, stop them, write results.json.
func TestExecuteTwoServers(t *testing.T) {
	needPython(t)
	out := t.TempDir()
	o := Options{Python: "/usr/bin/python3", Servers: []string{"gunicorn-gthread", "waitress"},
		Shapes:   []server.Shape{{Workers: 2, Threads: 2}}, // one cell each: the default shapes are TestExecuteTargetCPUs's
		Duration: 1500 * time.Millisecond, Warmup: 300 * time.Millisecond, Trials: 2, Connections: 8, Out: out,
		CapacityProbe: 500 * time.Millisecond, CapacityProbes: 4, NoRacing: true}
	// One quick scenario: TestTroubleServers runs them all; a few probes:
	// TestProbeEveryServer runs them all.
	for _, sc := range trouble.Scenarios() {
		if sc.ID == "worker-killed" {
			o.TroubleScenarios = append(o.TroubleScenarios, sc)
		}
	}
	for _, c := range probe.Cases() {
		if c.ID == "keep-alive" || c.ID == "cl-and-te" || c.ID == "environ" {
			o.ProbeCases = append(o.ProbeCases, c)
		}
	}
	var log strings.Builder
	f, err := Execute(context.Background(), o, &log, "test")
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	disk, err := results.Read(filepath.Join(out, ResultsName))
	if err != nil {
		t.Fatal(err)
	}
	if !disk.Complete || len(disk.Runs) != len(f.Runs) {
		t.Fatalf("file on disk: complete=%v runs=%d", disk.Complete, len(disk.Runs))
	}
	for _, r := range disk.Runs {
		if r.Error != "" {
			t.Errorf("%s: %s", r.Key(), r.Error)
			continue
		}
		if len(r.Trials) != 2 {
			t.Errorf("%s: %d trials", r.Key(), len(r.Trials))
		}
		if r.Capacity == nil || len(r.Capacity.Steps) == 0 {
			t.Errorf("%s: no capacity search", r.Key())
		}
		for _, tr := range r.Trials {
			if tr.Requests <= 0 || tr.LatencyMS.P50 <= 0 || tr.LatencyMS.P50 > tr.LatencyMS.P99 ||
				tr.RSSPeakBytes <= 0 || tr.CPUSeconds <= 0 || tr.RPS <= 0 {
				t.Errorf("%s trial %d implausible: %+v", r.Key(), tr.Index, tr)
			}
			if tr.Errors.Total > tr.Requests/100 {
				t.Errorf("%s trial %d: %d errors of %d requests (%v)", r.Key(), tr.Index, tr.Errors.Total, tr.Requests, tr.StatusCounts)
			}
		}
	}
	if len(disk.Robustness) != 2 {
		t.Errorf("%d servers tried under trouble, want 2", len(disk.Robustness))
	}
	if len(disk.Conformance) != 2 {
		t.Errorf("%d servers probed, want 2", len(disk.Conformance))
	}
	for _, c := range disk.Conformance {
		if c.Failed != "" || len(c.Cases) == 0 || c.Score <= 0 {
			t.Errorf("conformance of %s: %+v", c.Server, c)
		}
	}
	if left := proc.Tagged(""); len(left) > 0 {
		t.Logf("tagged processes (any run): %v", left)
	}
}

// TestExecuteRacing races a production server against a development one
// with real servers: the development server gets one trial and leaves the
// race at the first look, keeping it, and is not searched or troubled;
// the contender left alone is, and gets no more trials than the round.
func TestExecuteRacing(t *testing.T) {
	needPython(t)
	out := t.TempDir()
	o := Options{Python: "/usr/bin/python3", Servers: []string{"waitress", "wsgiref"},
		Shapes: []server.Shape{{Workers: 1, Threads: 4}}, Duration: time.Second, Warmup: 200 * time.Millisecond,
		Trials: 6, Connections: 4, Out: out, CapacityProbe: 400 * time.Millisecond, CapacityProbes: 3,
		NoProbe: true, NoCeiling: true, TroubleRepeat: 1, NoCheck: true}
	for _, sc := range trouble.Scenarios() {
		if sc.ID == "worker-killed" {
			o.TroubleScenarios = append(o.TroubleScenarios, sc)
		}
	}
	// Selected, not named (Options.Named): racing decides what is
	// measured in full.
	var log strings.Builder
	f, err := Execute(context.Background(), o, &log, "test")
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	if f.Plan.Racing == nil || f.Plan.Racing.First != RaceFirst {
		t.Fatalf("plan racing %+v", f.Plan.Racing)
	}
	for _, r := range f.Runs {
		if r.Error != "" {
			t.Fatalf("%s: %s", r.Key(), r.Error)
		}
		if want := map[bool]int{true: devTrials, false: RaceFirst}[r.NotForProduction != ""]; len(r.Trials) != want {
			t.Errorf("%s: %d trials, want %d", r.Key(), len(r.Trials), want)
		}
		switch r.Server {
		case "wsgiref":
			if r.Stopped == nil || !strings.Contains(r.Stopped.Reason, "development server") {
				t.Errorf("wsgiref not stopped as a development server: %+v", r.Stopped)
			}
			if r.Capacity != nil {
				t.Error("wsgiref's capacity was searched though it left the race")
			}
		case "waitress":
			if r.Stopped != nil {
				t.Errorf("waitress stopped: %s", r.Stopped.Reason)
			}
			if r.Capacity == nil {
				t.Error("the contender's capacity was not searched")
			}
		}
	}
	var skipped []string
	for _, nm := range f.NotMeasured {
		skipped = append(skipped, nm.Server+" "+nm.What)
		if !strings.Contains(nm.Why, "development server") {
			t.Errorf("not measured without the reason: %+v", nm)
		}
	}
	if want := []string{"wsgiref capacity search", "wsgiref trouble scenarios"}; !slices.Equal(skipped, want) {
		t.Errorf("not measured: %v, want %v", skipped, want)
	}
	if len(f.Robustness) != 1 || f.Robustness[0].Server != "waitress" {
		t.Errorf("trouble ran for %+v, want waitress only", f.Robustness)
	}
}
