package report

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// untrustworthyFile is the HTML fixture plus the two kinds of run whose
// raw numbers look best and must not be crowned: paste, which served 8 of
// 32 connections and left 24 unserved (so its p99 describes only the
// clients it chose to serve), and wsgiref, a reference server that is not
// for production, fastest and smallest on paper. The ranking is redone, as
// a run would.
func untrustworthyFile(t *testing.T) *results.File {
	t.Helper()
	f := loadFixture(t)
	var model results.Run
	for _, r := range f.Runs {
		if r.Server == "uwsgi" && r.Workload == "crud" {
			model = r
		}
	}
	mk := func(server string, shape results.Shape, rps, p99 float64, pss int64, change func(*results.Trial)) results.Run {
		r := model
		r.Server, r.Shape, r.Version, r.Connections, r.Summary, r.Capacity = server, shape, "1.0", 32, nil, nil
		r.Trials = slices.Clone(model.Trials)
		for i := range r.Trials {
			tr := &r.Trials[i]
			tr.RPS = rps + float64(i)
			tr.LatencyMS.P50, tr.LatencyMS.P99 = p99/3, p99+float64(i)/10
			tr.PSSPeakBytes, tr.Histogram, tr.Timeline = pss, "", nil
			change(tr)
		}
		return r
	}
	f.Runs = append(f.Runs,
		mk("paste", results.Shape{Workers: 1, Threads: 10}, 900, 2, 300<<20, func(tr *results.Trial) { tr.StarvedConnections = 24 }),
		mk("wsgiref", results.Shape{Workers: 1, Threads: 1}, 9000, 1, 5<<20, func(*results.Trial) {}),
	)
	f.Runs[len(f.Runs)-1].NotForProduction = "wsgiref is the standard library's reference server"
	if err := rank.Apply(f, "", 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStarvedServerNeverCrowned: no card, plot label or table place in
// report.html or summary.md crowns a number the ranking does not score,
// and where such a number is the best raw one, it is shown with why.
func TestStarvedServerNeverCrowned(t *testing.T) {
	f := untrustworthyFile(t)
	runOf := map[string]results.Run{}
	for _, r := range f.Runs {
		runOf[r.Workload+" "+r.Server+" "+r.Shape.String()] = r
	}

	p := buildPage(f)
	var p99Card *glanceCard
	for _, g := range p.Glance {
		for i, c := range g.Cards {
			if c.Winner != "" {
				run, ok := runOf[g.Workload+" "+c.Winner]
				if !ok {
					t.Fatalf("card %q crowns %q, which is no run of %s", c.Question, c.Winner, g.Workload)
				}
				if e := rank.Unscored(run, c.Metric); e != nil {
					t.Errorf("card %q (%s) crowns %s, whose %s the ranking does not score: %s", c.Question, g.Workload, c.Winner, c.Metric, e.Why)
				}
			}
			if g.Workload == "crud" && c.Metric == rank.P99 {
				p99Card = &g.Cards[i]
			}
		}
	}
	if p99Card == nil {
		t.Fatal("no lowest-p99 card for crud")
	}
	var passed []string
	for _, x := range p99Card.Passed {
		passed = append(passed, x.Name+": "+x.Label)
	}
	for _, want := range []string{"wsgiref 1x1: not for production", "paste 1x10: left 24 of 32 connections unserved"} {
		if !slices.Contains(passed, want) {
			t.Errorf("the p99 card passes over %q, want it to say %q", passed, want)
		}
	}
	for _, pl := range p.Spectra {
		for _, s := range pl.Series {
			if strings.HasPrefix(s.Label, "paste ") && !strings.Contains(s.Label, "not scored: left 24 of 32 connections unserved") {
				t.Errorf("the latency plot labels paste %q, without saying its p99 is not scored", s.Label)
			}
		}
	}

	page := renderString(t, f)
	for _, want := range []string{
		"paste 1x10: 2.20 ms, not counted: left 24 of 32 connections unserved",
		`title="not scored: it left connections unserved in 5 of 5 trials, so its closed-loop percentiles describe only the clients it served"`,
		"wsgiref 1x1: 9,002 req/s, not counted: not for production",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{`<div class="winner"><span class="sw c` + fmt.Sprint(colorIndex(f, "paste")) + `"></span>paste`,
		`<div class="winner"><span class="sw c` + fmt.Sprint(colorIndex(f, "wsgiref")) + `"></span>wsgiref`} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html crowns %q", bad)
		}
	}

	var b bytes.Buffer
	if err := Markdown(&b, f); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if strings.Contains(f.Verdict.Headline, "paste") || strings.Contains(f.Verdict.Headline, "wsgiref") {
		t.Errorf("the headline names paste or wsgiref: %s", f.Verdict.Headline)
	}
	for _, r := range f.Ranking {
		if r.Server == "wsgiref" || (r.Server == "paste" && r.Position == 1) {
			t.Errorf("ranked %s at %d", r.Server, r.Position)
		}
	}
	for _, want := range []string{
		"| – | wsgiref 1.0 [",
		"paste 1x10: p50 and p99 not scored by the ranking: it left connections unserved in 5 of 5 trials",
		"wsgiref 1x1: not ranked, so none of its numbers is a verdict: it is a development or reference server",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	// The crud table's first number goes to the fastest scored run, not
	// to wsgiref nor to granian, whose crud req/s was generator-bound.
	crud := md[strings.Index(md, "## Workload: crud"):]
	crud = crud[:strings.Index(crud[3:], "\n## ")+3]
	first := ""
	for _, line := range strings.Split(crud, "\n") {
		if strings.HasPrefix(line, "| 1 | ") {
			first = line
		}
	}
	if first == "" || strings.Contains(first, "wsgiref") || strings.Contains(first, "granian") {
		t.Errorf("summary.md's crud table places %q first:\n%s", first, crud)
	}
}

// When no run's value counts, the card crowns nobody and says why.
func TestGlanceNobodyCounts(t *testing.T) {
	f := untrustworthyFile(t)
	var only []results.Run
	for _, r := range f.Runs {
		if r.Server == "wsgiref" {
			only = append(only, r)
		}
	}
	f.Runs, f.Verdict, f.Ranking = only, nil, nil
	p := buildPage(f)
	if len(p.Glance) != 1 {
		t.Fatalf("%d glance groups", len(p.Glance))
	}
	for _, c := range p.Glance[0].Cards {
		if c.Winner != "" || len(c.Passed) != 1 || c.Passed[0].Label != "not for production" {
			t.Errorf("card %q: winner %q, passed %+v", c.Question, c.Winner, c.Passed)
		}
	}
	if page := renderString(t, f); !strings.Contains(page, "no result the ranking counts") {
		t.Error("the page does not say that no result counts")
	}
}

func colorIndex(f *results.File, server string) int {
	var names []string
	for _, r := range f.Runs {
		if !slices.Contains(names, r.Server) {
			names = append(names, r.Server)
		}
	}
	slices.Sort(names)
	return slices.Index(names, server) % len(palette)
}
