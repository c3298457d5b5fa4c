package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

func phaseFile(front bool) *results.File {
	ph := func(ready, stop float64) *results.Phases {
		p := &results.Phases{DB: 0.002, Start: 0.01, Ready: ready, Warmup: 1, Measure: 3, Stop: stop}
		if front {
			p.Front = 0.5
		}
		p.Total = p.DB + p.Start + p.Ready + p.Front + p.Warmup + p.Measure + p.Stop
		return p
	}
	return &results.File{Schema: results.Schema, Complete: true, Runs: []results.Run{
		{Server: "waitress", Shape: results.Shape{Workers: 1, Threads: 4}, Workload: "crud", Trials: []results.Trial{
			{Phases: ph(0.1, 0.02)}, {Phases: ph(0.3, 0.04)}, {Phases: ph(0.2, 0.03)},
		}},
		{Server: "gunicorn-sync", Shape: results.Shape{Workers: 3, Threads: 1}, Workload: "crud", Trials: []results.Trial{
			{Phases: ph(0.6, 0.05)}, {}, // a trial from before phases were recorded
		}},
	}}
}

func TestPhases(t *testing.T) {
	v := phasesOf(phaseFile(false))
	if v == nil {
		t.Fatal("no phase table")
	}
	wantHead := []string{"server", "trials", "database s", "start s", "ready s", "warm-up s", "measure s", "stop s", "total s", "fixed cost"}
	if !slices.Equal(v.Head, wantHead) {
		t.Errorf("head %v", v.Head)
	}
	want := [][]string{
		{"waitress", "3", "0.00", "0.01", "0.20", "1.00", "3.00", "0.03", "4.24", "29%"},
		{"gunicorn-sync", "1", "0.00", "0.01", "0.60", "1.00", "3.00", "0.05", "4.66", "36%"},
		{"all trials", "4", "0.00", "0.01", "0.25", "1.00", "3.00", "0.04", "4.30", "30%"},
	}
	if len(v.Rows) != len(want) {
		t.Fatalf("rows %v", v.Rows)
	}
	for i := range want {
		if !slices.Equal(v.Rows[i], want[i]) {
			t.Errorf("row %d = %v, want %v", i, v.Rows[i], want[i])
		}
	}
	if v := phasesOf(phaseFile(true)); !slices.Contains(v.Head, "front s") || v.Rows[0][5] != "0.50" {
		t.Errorf("front column: %v %v", v.Head, v.Rows[0])
	}

	var md, page bytes.Buffer
	if err := Markdown(&md, phaseFile(false)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Where the time went") || !strings.Contains(md.String(), "| gunicorn-sync | 1 | 0.00 | 0.01 | 0.60 |") {
		t.Errorf("summary.md has no phase table:\n%s", md.String())
	}
	if err := HTML(&page, phaseFile(false)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `<section id="phases">`) || !strings.Contains(page.String(), "<td class=\"num\">0.60</td>") {
		t.Error("report.html has no phase table")
	}

	old := phaseFile(false)
	for i := range old.Runs {
		for j := range old.Runs[i].Trials {
			old.Runs[i].Trials[j].Phases = nil
		}
	}
	md.Reset()
	page.Reset()
	Markdown(&md, old)
	HTML(&page, old)
	if phasesOf(old) != nil || strings.Contains(md.String(), "Where the time went") || strings.Contains(page.String(), `id="phases"`) {
		t.Error("a file without phases shows a phase table")
	}
}
