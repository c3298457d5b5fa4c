package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// raceView is the racing and noise section, one model for Markdown and
// HTML: how the plan raced, which runs left the race and why, what was
// not measured, and how much noise the trials had and pairing removed.
type raceView struct {
	Line    string     // how the plan spent its trials
	Stopped [][]string // run, trials, why it left the race
	Skipped [][]string // server or run, what, why
	Leader  string     // the run the others are compared with
	Noise   [][]string // run, trials, between-trial spread, ratio to the leader, within-pair spread, unpaired spread
	Summary string     // how much pairing removed, over all runs
}

// noiseHead are the noise table's columns.
var noiseHead = []string{"run", "trials", "spread between trials", "/ leader, pair by pair", "spread within pairs", "spread unpaired"}

// raceViewOf builds the section, or nil for a file without trials.
func raceViewOf(f *results.File) *raceView {
	if len(f.Runs) == 0 {
		return nil
	}
	v := &raceView{}
	if rc := f.Plan.Racing; rc != nil {
		looks := []string{strconv.Itoa(rc.First)}
		for n := rc.First + rc.Round; len(looks) < rc.Looks; n += rc.Round {
			looks = append(looks, strconv.Itoa(n))
		}
		v.Line = fmt.Sprintf("Racing on %s: %d trials for every cell, then contenders %d more per round up to %d; after %s trials a cell behind the leader at one-sided p < %s/%d (Bonferroni over %d looks) and by at least %.0f%% left the race.",
			raceMetricName(rc.Metric), rc.First, rc.Round, f.Plan.Trials, strings.Join(looks, " and "),
			stats.FormatP(rc.Alpha), rc.Looks, rc.Looks, 100*rc.MinEffect)
		if ar := f.Plan.AsRun; rc.Ended != "" && (ar == nil || len(ar.Cuts) == 0) {
			v.Line += " The race ended early, by " + rc.Ended + "." // else among the cuts below
		}
	} else if f.Plan.Trials > 0 {
		v.Line = fmt.Sprintf("No racing: every cell was due %d trials.", f.Plan.Trials)
	}
	if ar := f.Plan.AsRun; ar != nil && ar.Budget > 0 {
		if len(ar.Cuts) == 0 {
			v.Line += fmt.Sprintf(" Budget %s: nothing was cut.", time.Duration(ar.Budget))
		} else {
			v.Line += fmt.Sprintf(" Budget %s, so: %s.", time.Duration(ar.Budget), strings.Join(ar.Cuts, "; "))
		}
	}
	for _, r := range f.Runs {
		if r.Stopped != nil {
			v.Stopped = append(v.Stopped, []string{r.Key(), strconv.Itoa(len(r.Trials)), r.Stopped.Reason})
		}
	}
	slices.SortFunc(v.Stopped, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	for _, nm := range f.NotMeasured {
		who := nm.Server
		if nm.Run != "" {
			who = nm.Run
		}
		v.Skipped = append(v.Skipped, []string{who, nm.What, nm.Why})
	}
	v.noise(f)
	if v.Line == "" && len(v.Noise) == 0 {
		return nil
	}
	return v
}

func raceMetricName(key string) string {
	switch key {
	case rank.RPS, "":
		return "throughput (req/s)"
	case rank.P50, rank.P99:
		return key + " latency"
	case rank.CPU:
		return "CPU per request"
	case rank.RaceScore:
		return "the profile's weights over what every trial measures (closed-loop req/s standing for capacity, latency, memory, CPU)"
	}
	return key
}

// noise fills the noise table: each run's spread between trials (the
// standard deviation of log req/s, as a percentage), and against the
// leader the ratio pair by pair with the spread of the within-pair
// log-ratios next to what it would be unpaired, √(s_a² + s_b²).
func (v *raceView) noise(f *results.File) {
	wl, front := "", ""
	if f.Verdict != nil {
		wl, front = f.Verdict.Workload, f.Verdict.Front
	}
	var runs []results.Run
	for _, r := range f.Runs {
		if len(r.Trials) >= 2 && (wl == "" || r.Workload == wl) && (r.Front == front || (front == "" && r.Front == "none")) {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return
	}
	slices.SortFunc(runs, func(a, b results.Run) int { return strings.Compare(a.Key(), b.Key()) })
	lead := -1
	if len(f.Ranking) > 0 {
		top := f.Ranking[0]
		lead = slices.IndexFunc(runs, func(r results.Run) bool { return r.Server == top.Server && r.Shape == top.Shape })
	}
	if lead < 0 {
		best := math.Inf(-1)
		for i, r := range runs {
			if m := stats.Median(runRPS(r)); rank.Unscored(r, rank.RPS) == nil && m > best {
				lead, best = i, m
			}
		}
	}
	if lead < 0 {
		lead = 0
	}
	L := runs[lead]
	v.Leader = L.Key()
	sL := logSpread(runRPS(L))
	var within, unpaired []float64
	for i, r := range runs {
		row := []string{r.Key(), strconv.Itoa(len(r.Trials)), spreadPct(logSpread(runRPS(r))), "leader", "–", "–"}
		if i != lead {
			a, b := pairedRPS(L, r)
			row[3], row[4], row[5] = "unpaired", "–", "–"
			if len(a) >= 2 {
				p := stats.ComparePaired(a, b, stats.Confidence)
				w := logRatioSpread(a, b)
				u := math.Hypot(sL, logSpread(runRPS(r)))
				row[3] = fmt.Sprintf("%.2f× [%.2f, %.2f], %d pairs", p.Ratio, p.Lo, p.Hi, p.N)
				row[4], row[5] = spreadPct(w), spreadPct(u)
				if finite(w) && finite(u) && u > 0 {
					within, unpaired = append(within, w), append(unpaired, u)
				}
			}
		}
		v.Noise = append(v.Noise, row)
	}
	if len(within) > 0 {
		w, u := stats.Median(within), stats.Median(unpaired)
		if w < u {
			v.Summary = fmt.Sprintf("Against the leader (%s), comparing pair by pair cut the spread of a comparison from %s unpaired to %s (medians over %d runs): pairing removed %.0f%% of the noise, the machine's drift that trials side by side share.",
				v.Leader, spreadPct(u), spreadPct(w), len(within), 100*(1-w/u))
		} else {
			v.Summary = fmt.Sprintf("Against the leader (%s), the spread of a comparison was %s pair by pair and %s unpaired (medians over %d runs): pairing removed nothing, so the noise was each trial's own, not drift of the machine that trials side by side share.",
				v.Leader, spreadPct(w), spreadPct(u), len(within))
		}
	}
}

func runRPS(r results.Run) []float64 {
	var xs []float64
	for _, t := range r.Trials {
		xs = append(xs, t.RPS)
	}
	return xs
}

// pairedRPS are a's and b's req/s at the trial indexes both have.
func pairedRPS(a, b results.Run) (xa, xb []float64) {
	byIdx := map[int]float64{}
	for _, t := range a.Trials {
		byIdx[t.Index] = t.RPS
	}
	for _, t := range b.Trials {
		if v, ok := byIdx[t.Index]; ok {
			xa, xb = append(xa, v), append(xb, t.RPS)
		}
	}
	return xa, xb
}

// logSpread is the sample standard deviation of log(x) over positive x.
func logSpread(xs []float64) float64 {
	var ls []float64
	for _, x := range xs {
		if x > 0 {
			ls = append(ls, math.Log(x))
		}
	}
	return stats.StdDev(ls)
}

func logRatioSpread(a, b []float64) float64 {
	var ls []float64
	for i := range a {
		if a[i] > 0 && b[i] > 0 {
			ls = append(ls, math.Log(b[i]/a[i]))
		}
	}
	return stats.StdDev(ls)
}

// spreadPct writes a log standard deviation as a percentage: ±12%.
func spreadPct(s float64) string {
	if !finite(s) {
		return "–"
	}
	return fmt.Sprintf("±%.0f%%", 100*(math.Exp(s)-1))
}

// mdRacing writes the section in Markdown.
func mdRacing(p func(string, ...any), f *results.File) {
	v := raceViewOf(f)
	if v == nil {
		return
	}
	p("## Racing and noise\n\n")
	if v.Line != "" {
		p("%s\n\n", mdText(v.Line))
	}
	if len(v.Stopped) > 0 {
		p("| left the race | trials | why |\n|---|--:|---|\n")
		for _, r := range v.Stopped {
			p("| %s | %s | %s |\n", mdText(r[0]), r[1], mdText(r[2]))
		}
		p("\n")
	}
	if len(v.Skipped) > 0 {
		p("Not measured, on purpose:\n\n")
		for _, r := range v.Skipped {
			p("- **%s**: no %s (%s)\n", mdText(r[0]), mdText(r[1]), mdText(r[2]))
		}
		p("\n")
	}
	if len(v.Noise) > 0 {
		p("Noise in req/s: the spread between trials of each run (standard deviation of log req/s), and against the leader the ratio pair by pair (trials with the same index ran side by side) with the spread of the within-pair ratios next to what it would be unpaired.\n\n")
		p("| %s |\n|---|--:|--:|--:|--:|--:|\n", strings.Join(noiseHead, " | "))
		for _, r := range v.Noise {
			p("| %s | %s | %s | %s | %s | %s |\n", mdText(r[0]), r[1], r[2], r[3], r[4], r[5])
		}
		p("\n")
		if v.Summary != "" {
			p("%s\n\n", mdText(v.Summary))
		}
	}
}
