package report

import (
	"fmt"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// phaseView is the "where the time went" table: the median of each phase
// of a trial, per server and over all trials, so the fixed cost of a
// trial (starting, readying and stopping a fresh server) is seen beside
// the measured interval it buys. Nil when no trial recorded its phases.
type phaseView struct {
	Head    []string
	Rows    [][]string
	Caption string
}

// phaseColumns are results.Phases' fields in the order a trial passes them.
var phaseColumns = []struct {
	head string
	get  func(results.Phases) float64
}{
	{"database", func(p results.Phases) float64 { return p.DB }},
	{"start", func(p results.Phases) float64 { return p.Start }},
	{"ready", func(p results.Phases) float64 { return p.Ready }},
	{"front", func(p results.Phases) float64 { return p.Front }},
	{"warm-up", func(p results.Phases) float64 { return p.Warmup }},
	{"measure", func(p results.Phases) float64 { return p.Measure }},
	{"stop", func(p results.Phases) float64 { return p.Stop }},
	{"total", func(p results.Phases) float64 { return p.Total }},
}

func phasesOf(f *results.File) *phaseView {
	var servers []string
	byServer := map[string][]results.Phases{}
	var all []results.Phases
	front := false
	for _, r := range f.Runs {
		for _, t := range r.Trials {
			if t.Phases == nil {
				continue
			}
			if _, ok := byServer[r.Server]; !ok {
				servers = append(servers, r.Server)
			}
			byServer[r.Server] = append(byServer[r.Server], *t.Phases)
			all = append(all, *t.Phases)
			front = front || t.Phases.Front > 0
		}
	}
	if len(all) == 0 {
		return nil
	}
	v := &phaseView{Head: []string{"server", "trials"}}
	for _, c := range phaseColumns {
		if c.head == "front" && !front {
			continue
		}
		v.Head = append(v.Head, c.head+" s")
	}
	v.Head = append(v.Head, "fixed cost")
	row := func(name string, ps []results.Phases) []string {
		out := []string{name, fmt.Sprint(len(ps))}
		for _, c := range phaseColumns {
			if c.head == "front" && !front {
				continue
			}
			out = append(out, fmt.Sprintf("%.2f", medianOf(ps, c.get)))
		}
		return append(out, fmt.Sprintf("%.0f%%", 100*medianOf(ps, fixedShare)))
	}
	for _, s := range servers {
		v.Rows = append(v.Rows, row(s, byServer[s]))
	}
	if len(servers) > 1 {
		v.Rows = append(v.Rows, row("all trials", all))
	}
	v.Caption = "Medians over trials, in seconds. Every trial runs on a freshly started server: it gets a fresh copy of the seeded database, " +
		"starts, answers the readiness probe with all its workers up, is warmed up, measured, and stopped. " +
		"Fixed cost is the share of a trial's time spent outside the measured interval."
	return v
}

func fixedShare(p results.Phases) float64 {
	if p.Total <= 0 {
		return 0
	}
	return p.Fixed() / p.Total
}

func medianOf(ps []results.Phases, get func(results.Phases) float64) float64 {
	xs := make([]float64, len(ps))
	for i, p := range ps {
		xs[i] = get(p)
	}
	return stats.Median(xs)
}

// mdPhases writes the phase table as Markdown.
func mdPhases(p func(string, ...any), f *results.File) {
	v := phasesOf(f)
	if v == nil {
		return
	}
	p("## Where the time went\n\n")
	p("%s\n\n", v.Caption)
	p("|")
	for _, h := range v.Head {
		p(" %s |", h)
	}
	p("\n|---|")
	for range v.Head[1:] {
		p("--:|")
	}
	p("\n")
	for _, r := range v.Rows {
		p("| %s |", mdText(r[0]))
		for _, c := range r[1:] {
			p(" %s |", c)
		}
		p("\n")
	}
	p("\n")
}
