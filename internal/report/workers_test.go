package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

// A run flagged for uneven workers shows in summary.md and report.html with
// its figures and what the remedy did; a file without any shows nothing.
func TestWorkerLoadShown(t *testing.T) {
	f := &results.File{Schema: results.Schema, Complete: true, Plan: results.Plan{Workloads: []string{"plaintext"}, Trials: 3}}
	r := results.Run{Server: "gunicorn-gthread", Version: "20.1.0", Shape: results.Shape{Workers: 3, Threads: 2}, Workload: "plaintext",
		LoadModel: "closed", Connections: 6}
	for i, shares := range [][]float64{{.34, .33, .33}, {1, 0, 0}, {.36, .33, .31}} {
		l := &results.WorkerLoad{Workers: 3, Shares: shares, MaxOverFair: 3 * shares[0], Uneven: shares[0] > .5}
		r.Trials = append(r.Trials, results.Trial{Index: i, RPS: 2000, Requests: 6000, DurationS: 3, WorkerLoad: l})
	}
	r.Balance = &results.Balance{Trials: 3, Uneven: 1, MedianMaxOverFair: 1.02, WorstMaxOverFair: 3,
		Remedy: &results.RemedyResult{Argv: []string{"--reuse-port"}, Trials: 3, MaxOverFair: 2.9,
			Verdict: "with --reuse-port: did not help, uneven in 2 of 3 trials"}}
	f.Runs = []results.Run{r}
	var md, page bytes.Buffer
	if err := Markdown(&md, f); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Worker load", "| gunicorn-gthread | 3x2 | plaintext | 1 of 3 ⚠ | 1.02 (3.00) | with --reuse-port: did not help, uneven in 2 of 3 trials |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{`id="matrix-workers"`, "100/0/0%", "1 of 3", "2.90×"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}

	f.Runs[0].Balance = nil
	md.Reset()
	page.Reset()
	if err := Markdown(&md, f); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, f); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "Worker load") || strings.Contains(page.String(), "matrix-workers") {
		t.Error("a file without worker balance shows a worker-load section")
	}
}
