package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// racedFile is a racing plan's file: a and b raced to 8 trials on a
// drifting machine (b 12% faster within each pair), c left the race after
// 3 and was not searched.
func racedFile() *results.File {
	f := &results.File{Schema: results.Schema, Complete: true,
		Plan: results.Plan{Workloads: []string{"crud"}, Trials: 8, Connections: 8,
			Racing: &results.Racing{First: 3, Round: 3, Looks: 2, Alpha: 0.05, MinEffect: 0.1, Metric: "rps"}}}
	mk := func(name string, speed float64, n int) results.Run {
		r := results.Run{Server: name, Shape: results.Shape{Workers: 2, Threads: 4}, Workload: "crud", LoadModel: "closed", Connections: 8}
		for i := range n {
			level := math.Exp(math.Sin(float64(i)*2.1) * 0.5) // the machine's drift, shared by trial i of every run
			own := 1 + 0.004*float64((i*7+len(name))%5)
			rps := speed * level * own
			r.Trials = append(r.Trials, results.Trial{Index: i, RPS: rps, Requests: int64(rps * 3), DurationS: 3,
				LatencyMS: results.Latency{P50: 2, P99: 10}, PSSPeakBytes: 50 << 20, RSSPeakBytes: 60 << 20, CPUSeconds: 1})
		}
		return r
	}
	f.Runs = []results.Run{mk("a", 2000, 8), mk("b", 2240, 8), mk("c", 700, 3)}
	f.Runs[2].Stopped = &results.Stop{After: 3, Behind: f.Runs[1].Key(), Metric: "rps", Ratio: 0.31, Lo: 0.3, Hi: 0.33, P: 0.004, Test: "paired t",
		Reason: "stopped after 3 trials: behind b 2x4 crud on throughput, 0.31× its req/s [0.30, 0.33] pair by pair (paired t p = 0.004, 3 pairs; level 0.025)"}
	f.NotMeasured = []results.NotMeasured{{Server: "c", Run: f.Runs[2].Key(), What: "capacity search", Why: "out of the race: " + f.Runs[2].Stopped.Reason}}
	return f
}

func TestRacingInReports(t *testing.T) {
	f := racedFile()
	if err := rank.Apply(f, "throughput", 100); err != nil {
		t.Fatal(err)
	}
	var md, page bytes.Buffer
	if err := Markdown(&md, f); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Racing on throughput (req/s): 3 trials for every cell, then contenders 3 more per round up to 8; after 3 and 6 trials",
		"| c 2x4 crud | 3 | stopped after 3 trials: behind b 2x4 crud on throughput, 0.31× its req/s",
		"**c 2x4 crud**: no capacity search (out of the race: stopped after 3 trials",
		"| a 2x4 crud | 8 |",
		"b / a throughput 1.12×",
		"pairing removed",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	if strings.Contains(md.String(), "pairing removed nothing") {
		t.Error("drift shared by every run, yet pairing removed nothing")
	}
	h := page.String()
	for _, want := range []string{`<section id="racing">`, "stopped after 3 trials: behind b 2x4 crud", "no capacity search", "pairing removed"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if len(f.Ranking) != 2 {
		t.Errorf("ranking %+v: the stopped run must not be ranked", f.Ranking)
	}
}
