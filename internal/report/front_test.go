package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

func TestTableNamesTheFront(t *testing.T) {
	hit := 0.3
	trial := results.Trial{RPS: 900, Requests: 900, DurationS: 1, LatencyMS: results.Latency{P50: 1, P99: 2},
		Front: &results.Front{Name: "varnish", ServerRPS: 600, HitRatio: &hit}}
	f := &results.File{Runs: []results.Run{
		{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 2}, Workload: "crud", Trials: []results.Trial{{RPS: 1000, Requests: 1000, DurationS: 1}}},
		{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 2}, Workload: "crud", Front: "varnish", Trials: []results.Trial{trial}},
		{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 2}, Workload: "crud", Front: "nginx", Error: "nginx refused to start: [emerg] x"},
	}}
	var b bytes.Buffer
	Table(&b, f)
	out := b.String()
	for _, want := range []string{"uwsgi behind varnish", "server saw 600 req/s, hits 30%", "FAILED uwsgi behind nginx 2x2: nginx refused to start"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestDirectVsFront: summary.md and report.html put each server behind its
// front beside the same server measured directly, with what the front
// absorbed and whether its keep-alive to the server worked.
func TestDirectVsFront(t *testing.T) {
	hit, reuse := 0.6, 0.98
	behind := func(rps, srv float64, bound bool) results.Trial {
		return results.Trial{RPS: rps, Requests: int64(rps), DurationS: 1, LatencyMS: results.Latency{P50: 1, P99: 9},
			Front: &results.Front{Name: "varnish", ServerRPS: srv, HitRatio: &hit, ReuseRatio: &reuse, CPUUse: 0.4, Bound: bound,
				Varnish: &results.VarnishCounters{FetchFailed: 2}}}
	}
	shape := results.Shape{Workers: 2, Threads: 4}
	f := &results.File{Runs: []results.Run{
		{Server: "gunicorn-gthread", Shape: shape, Workload: "crud", Trials: []results.Trial{
			{RPS: 2400, Requests: 2400, DurationS: 1, LatencyMS: results.Latency{P99: 20}},
			{RPS: 2430, Requests: 2430, DurationS: 1, LatencyMS: results.Latency{P99: 22}}}},
		{Server: "gunicorn-gthread", Shape: shape, Workload: "crud", Front: "varnish", Trials: []results.Trial{
			behind(930, 510, false), behind(940, 520, true)}},
	}}
	var md bytes.Buffer
	mdFronts(func(format string, a ...any) { fmt.Fprintf(&md, format, a...) }, f)
	want := "| gunicorn-gthread | 2x4 | crud | varnish | 2415 | 21.0 | 935 | 9.0 | 515 | 60% | 98% | 40% | 1 of 2 | 4 |"
	if !strings.Contains(md.String(), want) {
		t.Errorf("summary.md section lacks\n%s\n got:\n%s", want, md.String())
	}
	var page bytes.Buffer
	if err := HTML(&page, f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `<section id="fronts">`) || !strings.Contains(page.String(), "<td class=\"num\">515</td>") {
		t.Errorf("report.html lacks the direct-vs-front table")
	}
	f.Runs = f.Runs[:1]
	md.Reset()
	mdFronts(func(format string, a ...any) { fmt.Fprintf(&md, format, a...) }, f)
	if md.Len() != 0 {
		t.Errorf("a section without any front:\n%s", md.String())
	}
}

// TestAbsorbed: the verdict on each scenario behind a front is read from
// the two measured shares, and the front's counters come with it.
func TestAbsorbed(t *testing.T) {
	busy := &results.Front{Name: "varnish", ServerRequests: 0, CPUUse: 0.2,
		Varnish: &results.VarnishCounters{ClientRequests: 4900, FetchFailed: 4900, BackendBusy: 4900}}
	f := &results.File{Robustness: []results.Robustness{
		{Server: "gunicorn-sync", Scenarios: []results.TroubleCase{
			{ID: "slow-headers", Retained: 0.0}, {ID: "slow-body", Retained: 0.05}, {ID: "hung-request", Retained: 0.9},
			{ID: "worker-killed", Retained: 0.3}, {ID: "slow-threshold", Threshold: 3, ThresholdMax: 256, Unscored: true}}},
		{Server: "gunicorn-sync", Front: "varnish", Scenarios: []results.TroubleCase{
			{ID: "slow-headers", Retained: 1}, {ID: "slow-body", Retained: 0, Front: busy}, {ID: "hung-request", Retained: 0.95},
			{ID: "worker-killed", Retained: 0.6}, {ID: "slow-threshold", Threshold: 0, ThresholdMax: 256, Unscored: true}}},
	}}
	got := map[string]string{}
	for _, r := range absorbedRows(f) {
		got[r.Scenario] = r.Verdict
		if r.Scenario == "slow-body" && !strings.Contains(r.Counters, "4900 answered 503 by Varnish (backend busy 4900") {
			t.Errorf("slow-body counters %q", r.Counters)
		}
	}
	want := map[string]string{"slow-headers": "absorbed", "slow-body": "passed through", "hung-request": "nothing to absorb",
		"worker-killed": "partly", "slow-threshold": "absorbed"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	var md bytes.Buffer
	mdAbsorbed(func(format string, a ...any) { fmt.Fprintf(&md, format, a...) }, f)
	if !strings.Contains(md.String(), "| gunicorn-sync | varnish | slow-headers | 0% | 100% | absorbed |") {
		t.Errorf("summary.md:\n%s", md.String())
	}
}
