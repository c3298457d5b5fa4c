package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// htmlPage is everything the template shows. Strings in it are plain text;
// html/template escapes them for wherever they land.
type htmlPage struct {
	Title     string
	Tool      string
	Started   string
	Finished  string
	Elapsed   string
	Complete  bool
	Workloads []string

	Verdict verdict
	Target  *targetView // the machine the verdict is for; nil in older files
	Glance  []glanceGroup
	// Racing is how trials were spent, who left the race, and the noise
	// (racing.go); RacingHead its noise table's columns.
	Racing     *raceView
	RacingHead []string

	Throughput []*plot
	Spectra    []*plot
	Knee       *plot
	Memory     *plot
	Timeline   *plot
	Matrices   []matrix

	Runs   []runRow
	Fronts *dataTable // direct vs behind the front; nil without a front
	// FrontsCaption says what the Fronts columns mean.
	FrontsCaption string
	// Absorbed is which trouble each front absorbed; nil without one.
	Absorbed        *dataTable
	AbsorbedCaption string
	Phases          *phaseView // where the trials' time went; nil in older files
	ShowLoad        bool       // runs differ in load model, connections or rate
	RunColumns      int        // columns of the runs table
	Failed          []failedRow
	Setup           []keyValue
	Order           string
	Commands        []command
	Notes           []string

	Data      chartData
	CSS       template.CSS  // set by renderHTML
	Scripts   []template.JS // libraries, then report.js
	CSP       string
	Libraries []library
}

// chartData is the page's JSON data block: what report.js draws.
type chartData struct {
	Plots []*plot `json:"plots"`
}

// plot is one chart: a container in the page and its data in the JSON.
type plot struct {
	ID     string        `json:"id"`
	Kind   string        `json:"kind"` // throughput, spectrum, knee, memory, timeline
	Title  string        `json:"title"`
	Unit   string        `json:"unit,omitempty"`
	Height int           `json:"height"` // CSS pixels
	Bars   []barRow      `json:"bars,omitempty"`
	Series []lineSeries  `json:"series,omitempty"`
	Goals  []float64     `json:"goals,omitempty"`
	Runs   []timelineRun `json:"runs,omitempty"`
	// SecondLabel names Bars[].Second (capacity, RSS) for the legend.
	SecondLabel string `json:"second_label,omitempty"`
	ValueLabel  string `json:"value_label,omitempty"`

	Caption string     `json:"-"`
	Table   *dataTable `json:"-"` // the same numbers, for readers without JavaScript
}

// barRow is one bar with optional whiskers and a companion bar.
type barRow struct {
	Label    string   `json:"label"`
	Color    string   `json:"color"`
	Value    float64  `json:"value"`
	Lo       *float64 `json:"lo,omitempty"`
	Hi       *float64 `json:"hi,omitempty"`
	Interval string   `json:"interval,omitempty"` // what Lo–Hi is: "95% CI" or a range
	Second   *float64 `json:"second,omitempty"`
	Note     string   `json:"note,omitempty"`
}

type lineSeries struct {
	Label  string  `json:"label"`
	Color  string  `json:"color"`
	Dash   []int   `json:"dash,omitempty"`
	Points []point `json:"points"`
}

type point struct {
	X   float64 `json:"x"`
	Y   float64 `json:"y"`
	Tag string  `json:"tag,omitempty"` // "p99.9", "max"
	// Capacity steps only.
	Pass     *bool    `json:"pass,omitempty"`
	Achieved *float64 `json:"achieved,omitempty"`
	ErrRate  *float64 `json:"error_rate,omitempty"`
	Best     bool     `json:"best,omitempty"` // the capacity the search settled on
}

type timelineRun struct {
	Label  string          `json:"label"`
	Color  string          `json:"color"`
	Trials []timelineTrial `json:"trials"`
}

type timelineTrial struct {
	Index  int       `json:"index"`
	OK     []int64   `json:"ok"`     // responses without error, per second
	Errors []int64   `json:"errors"` // per second
	P99    []float64 `json:"p99"`    // ms
}

type dataTable struct {
	Head []string
	Rows [][]string
}

// glanceGroup is the best value per question for one workload: facts
// beside the verdict, each with the runner-up so the reader sees the gap.
type glanceGroup struct {
	Workload string
	Cards    []glanceCard
}

// glanceCard crowns only what the ranking scores (rank.Unscored): a better
// raw number that it refuses is listed in Passed with why, never crowned.
type glanceCard struct {
	Question string
	Metric   string // the rank metric key the question is about
	Winner   string // "" when no run's value counts
	Color    int
	Value    string
	Interval string
	RunnerUp string
	Overlap  bool // the winner's and runner-up's 95% CIs overlap
	Passed   []passedOver
}

// passedOver is a raw number better than the card's winner that is not
// ranking evidence, and why.
type passedOver struct {
	Name, Value string
	Color       int
	Label       string // short: "left 24 of 32 connections unserved"
	Why         string // the ranking's words, for the tooltip
}

// matrix is a grid of outcomes from another suite (conformance probes,
// trouble scenarios): servers down, cases across. The section renders
// when matricesOf returns any.
type matrix struct {
	ID      string
	Title   string
	Caption string
	Columns []string
	Rows    []matrixRow
}

type matrixRow struct {
	Label string
	Color int
	Cells []matrixCell
}

type matrixCell struct {
	Text  string
	Class string // pass, fail, warn, na
	Title string // detail on hover
}

// columnsOf orders the IDs of every row's cases by first appearance, and
// indexes them.
func columnsOf(rows [][]string) ([]string, map[string]int) {
	var cols []string
	index := map[string]int{}
	for _, ids := range rows {
		for _, id := range ids {
			if _, ok := index[id]; !ok {
				index[id] = len(cols)
				cols = append(cols, id)
			}
		}
	}
	return cols, index
}

// naRow is a matrix row whose n cells all say not run (why, if known),
// for the caller to fill.
func naRow(label string, color, n int, why string) matrixRow {
	row := matrixRow{Label: label, Color: color, Cells: make([]matrixCell, n)}
	for i := range row.Cells {
		row.Cells[i] = matrixCell{Text: "·", Class: "na", Title: "not run: " + why}
	}
	return row
}

// matricesOf returns the suite matrices in f: the conformance probes, and
// the portability check when it ran.
func matricesOf(f *results.File, colorOf map[string]int) []matrix {
	out := conformanceMatrix(f, colorOf)
	if m := checkMatrix(f.Check); m != nil {
		out = append(out, *m)
	}
	return out
}

func conformanceMatrix(f *results.File, colorOf map[string]int) []matrix {
	if len(f.Conformance) == 0 {
		return nil
	}
	m := matrix{ID: "matrix-conformance", Title: "Conformance: HTTP/1.1 and PEP 3333",
		Caption: "✓ pass, ! warn (legal or harmless behind a strict proxy), ✗ fail (the rule is broken), · not run; behind a front, ⊘ the front answered the case itself (coloured by what the client got). " +
			"Hover a cell for what was seen; summary.md lists every failure in words and results.json the rule each probe cites."}
	var ids [][]string
	for _, c := range f.Conformance {
		ids = append(ids, probeIDs(c.Cases, ""))
	}
	var col map[string]int
	m.Columns, col = columnsOf(ids)
	for _, c := range f.Conformance {
		label := behind(c.Server, c.Front)
		if c.Failed == "" {
			label = fmt.Sprintf("%s (%.0f%%)", label, 100*c.Score)
			if c.Front != "" {
				label = fmt.Sprintf("%s; blocked %d, normalised %d", label, c.Blocked, c.Normalised)
			}
		}
		row := naRow(label, colorOf[c.Server], len(m.Columns), c.Failed)
		for _, pc := range c.Cases {
			cls := pc.Outcome
			if cls != "pass" && cls != "warn" && cls != "fail" {
				cls = "na"
			}
			text := outcomeMark(pc.Outcome)
			if pc.Passage == "blocked" {
				text = "⊘" // the front answered it: the server's verdict is not in it
			}
			row.Cells[col[pc.ID]] = matrixCell{Text: text, Class: cls,
				Title: pc.Title + " (" + pc.Ref + "): " + passageWords(pc, c.Front) + pc.Detail}
		}
		m.Rows = append(m.Rows, row)
	}
	return []matrix{m}
}

type runRow struct {
	Server, Version, Model, Shape, Workload, Load string
	Color                                         int
	Trials                                        int
	RPS, RPSInterval                              string
	RPSTag                                        string // see estimate.tag
	P50, P99, P99Interval, P999                   string
	ErrorRate                                     string
	PSS, RSS                                      string
	CPUPerK                                       string
	Capacity, CapacityGoal                        string
	// The values the ranking does not score, and why (rank.Unscored).
	RPSNot, P99Not, CapacityNot *rank.Exclusion
	Projected                   string // throughput projected for the target, labelled
	Failed                      bool
	Group                       string // the workload, on the first row of each when there are several
	Notes                       []int
}

type failedRow struct {
	Server, Version, Shape, Workload string
	Color                            int
	Trials                           int
	Error                            string
}

type keyValue struct{ Key, Value string }

type command struct {
	Run      string
	Argv     string
	Settings []keyValue
}

// estimate is a run's value for one quantity: the median with a 95%
// confidence interval from Run.Summary, or, without one, the median and
// the min–max range of the trials.
type estimate struct {
	Median, Lo, Hi float64
	CI             bool    // Lo–Hi is a confidence interval of the median, not just a range
	Confidence     float64 // its coverage
	N              int
	OK             bool
}

func fromSummary(e results.Estimate) (estimate, bool) {
	if e.N == 0 || !finite(e.Median) || !finite(e.Lo) || !finite(e.Hi) || e.Lo > e.Hi ||
		(e.Lo == 0 && e.Hi == 0 && e.Median != 0) {
		return estimate{}, false
	}
	conf := e.Confidence
	if conf == 0 {
		conf = 0.95 // written before Confidence existed
	}
	return estimate{Median: e.Median, Lo: e.Lo, Hi: e.Hi, CI: true, Confidence: conf, N: e.N, OK: true}, true
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func fromTrials(xs []float64) estimate {
	if len(xs) == 0 {
		return estimate{}
	}
	return estimate{Median: stats.Median(xs), Lo: slices.Min(xs), Hi: slices.Max(xs), N: len(xs), OK: true}
}

// interval describes Lo–Hi in words, for captions and tooltips.
func (e estimate) interval() string {
	if e.CI {
		if e.Confidence >= 0.95 {
			return "95% CI of the median"
		}
		return fmt.Sprintf("%s CI of the median (min–max of %d trials)", confidencePct(e.Confidence), e.N)
	}
	if e.N == 1 {
		return "one trial"
	}
	return fmt.Sprintf("min–max of %d trials (no CI)", e.N)
}

func (e estimate) whiskers() (lo, hi *float64) {
	if !e.OK || e.N < 2 {
		return nil, nil
	}
	l, h := e.Lo, e.Hi
	return &l, &h
}

// runView is one run with everything derived from its trials.
type runView struct {
	run      *results.Run
	label    string
	color    int
	dash     int
	rps      estimate
	p50, p99 estimate
	p999     estimate
	pss, rss estimate
	cpuPerK  estimate
	errRate  estimate
	bound    int
	spectrum []point
	specFrom string
	notes    []int
}

// Spectrum quantiles (percent). Plotted at x = 100/(100−q) on a log axis,
// so each further "nine" gets the same width; max sits one decade on.
var spectrumQ = []float64{50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.25, 99.5, 99.75, 99.9, 99.925, 99.95, 99.975, 99.99}

const spectrumMaxX = 1e5

func spectrumTag(q float64) string {
	return "p" + strconv.FormatFloat(q, 'f', -1, 64)
}

// mergedHistogram merges the run's trial histograms (µs). Trials whose
// histogram is missing or unreadable are counted in bad.
func mergedHistogram(r *results.Run) (h *hdrhistogram.Histogram, used, bad int) {
	for _, t := range r.Trials {
		if t.Histogram == "" {
			bad++
			continue
		}
		th, err := decodeHistogram(t.Histogram)
		if err != nil {
			bad++
			continue
		}
		if h == nil {
			h = hdrhistogram.New(th.LowestTrackableValue(), th.HighestTrackableValue(), int(th.SignificantFigures()))
		}
		if dropped := h.Merge(th); dropped > 0 {
			bad++
			continue
		}
		used++
	}
	return h, used, bad
}

// decodeHistogram reads Trial.Histogram. hdrhistogram's Encode already
// returns base64; files whose writer base64-encoded that once more are
// read too, so their tails are not lost.
func decodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err == nil {
		return h, nil
	}
	inner, err2 := base64.StdEncoding.DecodeString(s)
	if err2 != nil {
		return nil, err
	}
	if h, err2 := hdrhistogram.Decode(inner); err2 == nil {
		return h, nil
	}
	return nil, err
}

type noteSet struct{ notes []string }

func (n *noteSet) add(s string) int {
	if i := slices.Index(n.notes, s); i >= 0 {
		return i + 1
	}
	n.notes = append(n.notes, s)
	return len(n.notes)
}

func buildPage(f *results.File) *htmlPage {
	v := verdictOf(f)
	p := &htmlPage{
		Title:    "wsgibench report",
		Tool:     f.Tool,
		Complete: f.Complete,
		Verdict:  v,
		Target:   targetOf(f),
		Racing:   raceViewOf(f), RacingHead: noiseHead,
	}
	if !f.Started.IsZero() {
		p.Started = f.Started.UTC().Format("2006-01-02 15:04 MST")
	}
	if !f.Finished.IsZero() {
		p.Finished = f.Finished.UTC().Format("2006-01-02 15:04 MST")
		if !f.Started.IsZero() && f.Finished.After(f.Started) {
			p.Elapsed = f.Finished.Sub(f.Started).Round(time.Second).String()
		}
	}

	// One colour per server, by name, so the same server keeps its colour
	// when other servers come and go between runs.
	var names []string
	for _, r := range f.Runs {
		if !slices.Contains(names, r.Server) {
			names = append(names, r.Server)
		}
	}
	slices.Sort(names)
	colorOf := map[string]int{}
	for i, n := range names {
		colorOf[n] = i % len(palette)
	}
	p.Verdict.Factors = factorsOf(f, colorOf)
	p.Verdict.Entries = slices.Clone(v.Entries)
	for i := range p.Verdict.Entries {
		e := &p.Verdict.Entries[i]
		e.Color, e.HasColor = colorOf[e.Server]
	}

	var notes noteSet
	views := runViews(f, colorOf, &notes)

	for _, rv := range views {
		if !slices.Contains(p.Workloads, rv.run.Workload) {
			p.Workloads = append(p.Workloads, rv.run.Workload)
		}
	}
	slices.Sort(p.Workloads)
	multiWorkload := len(p.Workloads) > 1
	for _, rv := range views {
		rv.label = rv.run.Server + " " + rv.run.Shape.String()
		if multiWorkload {
			rv.label += " · " + rv.run.Workload
		}
	}

	// Rows by workload, then throughput, as in summary.md.
	slices.SortStableFunc(views, func(a, b *runView) int {
		if a.run.Workload != b.run.Workload {
			return strings.Compare(a.run.Workload, b.run.Workload)
		}
		switch {
		case a.rps.Median > b.rps.Median:
			return -1
		case a.rps.Median < b.rps.Median:
			return 1
		}
		return 0
	})

	for i, rv := range views {
		row := rowOf(rv)
		row.Projected = projectedCell(f, *rv.run)
		if len(p.Runs) > 0 && row.Load != p.Runs[0].Load {
			p.ShowLoad = true
		}
		if multiWorkload && (i == 0 || views[i-1].run.Workload != rv.run.Workload) {
			row.Group = rv.run.Workload
		}
		p.Runs = append(p.Runs, row)
	}
	p.RunColumns = 12
	if p.ShowLoad {
		p.RunColumns++
	}
	p.Glance = glance(views, p.Workloads)
	p.Throughput = throughputPlots(views, p.Workloads)
	p.Spectra = spectrumPlots(views, p.Workloads)
	p.Knee = kneePlot(views)
	p.Memory = memoryPlot(views)
	p.Timeline = timelinePlot(views)
	p.Matrices = append(matricesOf(f, colorOf), robustnessMatrix(f, colorOf)...)
	p.Fronts, p.FrontsCaption = frontTable(f), strings.NewReplacer("*", "").Replace(frontExplain)
	p.Absorbed, p.AbsorbedCaption = absorbedTable(f), absorbedExplain
	p.Matrices = append(p.Matrices, workersMatrix(f, colorOf)...)

	for _, group := range [][]*plot{p.Throughput, p.Spectra, {p.Knee, p.Memory, p.Timeline}} {
		for _, pl := range group {
			if pl != nil {
				p.Data.Plots = append(p.Data.Plots, pl)
			}
		}
	}

	for _, r := range f.Runs {
		if r.Error != "" {
			p.Failed = append(p.Failed, failedRow{
				Server: r.Server, Version: r.Version, Shape: r.Shape.String(), Workload: r.Workload,
				Color: colorOf[r.Server], Trials: len(r.Trials), Error: r.Error,
			})
		}
	}
	p.Setup, p.Order = setupOf(f)
	p.Phases = phasesOf(f)
	for _, r := range f.Runs {
		if len(r.Argv) == 0 && len(r.Settings) == 0 {
			continue
		}
		c := command{Run: r.Key(), Argv: shellJoin(r.Argv)}
		for _, k := range sortedKeys(r.Settings) {
			c.Settings = append(c.Settings, keyValue{k, r.Settings[k]})
		}
		p.Commands = append(p.Commands, c)
	}
	if f.Machine.SharedCPUs {
		notes.add("The server and the load generator shared CPUs: they competed, so absolute numbers understate the servers.")
	}
	for _, w := range f.Warnings {
		notes.add(w)
	}
	p.Notes = notes.notes
	return p
}

func runViews(f *results.File, colorOf map[string]int, notes *noteSet) []*runView {
	shapesOf := map[string][]string{} // server → its shapes, for dash patterns
	serverIndex := map[string]int{}   // server → its place in name order
	var names []string
	for _, r := range f.Runs {
		s := r.Shape.String()
		if !slices.Contains(shapesOf[r.Server], s) {
			shapesOf[r.Server] = append(shapesOf[r.Server], s)
		}
		if !slices.Contains(names, r.Server) {
			names = append(names, r.Server)
		}
	}
	slices.Sort(names)
	for i, n := range names {
		serverIndex[n] = i
	}
	var views []*runView
	for i := range f.Runs {
		r := &f.Runs[i]
		if len(r.Trials) == 0 {
			continue
		}
		// Shapes of one server differ by dash; so do servers past the
		// palette's end, which share colours with earlier ones.
		rv := &runView{run: r, color: colorOf[r.Server], dash: slices.Index(shapesOf[r.Server], r.Shape.String()) + serverIndex[r.Server]/len(palette)}
		var rps, p50, p99, p999, pss, rss, cpuK, errRate []float64
		var warnings []string
		for _, t := range r.Trials {
			rps = append(rps, t.RPS)
			p50 = append(p50, t.LatencyMS.P50)
			p99 = append(p99, t.LatencyMS.P99)
			p999 = append(p999, t.LatencyMS.P999)
			pss = append(pss, float64(t.PSSPeakBytes))
			rss = append(rss, float64(t.RSSPeakBytes))
			if t.Requests > 0 {
				cpuK = append(cpuK, t.CPUSeconds*1e6/float64(t.Requests))
				errRate = append(errRate, float64(t.Errors.Total)/float64(t.Requests+t.Errors.Connect))
			}
			if t.GeneratorBound {
				rv.bound++
			}
			warnings = append(warnings, t.Warnings...)
		}
		rv.rps, rv.p50, rv.p99, rv.p999 = fromTrials(rps), fromTrials(p50), fromTrials(p99), fromTrials(p999)
		rv.pss, rv.rss, rv.cpuPerK, rv.errRate = fromTrials(pss), fromTrials(rss), fromTrials(cpuK), fromTrials(errRate)
		if s := r.Summary; s != nil {
			for _, x := range []struct {
				dst *estimate
				src results.Estimate
			}{
				{&rv.rps, s.RPS}, {&rv.p50, s.P50MS}, {&rv.p99, s.P99MS}, {&rv.p999, s.P999MS},
				{&rv.pss, s.PSSBytes}, {&rv.rss, s.RSSBytes}, {&rv.cpuPerK, s.CPUMsPerKReq}, {&rv.errRate, s.ErrorRate},
			} {
				if e, ok := fromSummary(x.src); ok {
					*x.dst = e
				}
			}
			warnings = append(warnings, s.Warnings...)
		}
		warnings = append(warnings, r.Warnings...)
		if rv.bound > 0 {
			warnings = append(warnings, fmt.Sprintf("generator-bound in %d of %d trials: the load generator used ≥ 90%% of its CPU, so the server may be faster than shown", rv.bound, len(r.Trials)))
		}

		h, used, bad := mergedHistogram(r)
		if h != nil && h.TotalCount() > 0 {
			for _, q := range spectrumQ {
				rv.spectrum = append(rv.spectrum, point{X: 100 / (100 - q), Y: float64(h.ValueAtQuantile(q)) / 1000, Tag: spectrumTag(q)})
			}
			rv.spectrum = append(rv.spectrum, point{X: spectrumMaxX, Y: float64(h.Max()) / 1000, Tag: "max"})
			rv.specFrom = fmt.Sprintf("merged histograms of %d trials", used)
			if bad > 0 {
				warnings = append(warnings, fmt.Sprintf("latency spectrum from %d of %d trials: the other histograms were missing or unreadable", used, len(r.Trials)))
			}
		} else {
			med := func(get func(results.Latency) float64) float64 {
				var xs []float64
				for _, t := range r.Trials {
					xs = append(xs, get(t.LatencyMS))
				}
				return stats.Median(xs)
			}
			for _, q := range []struct {
				q   float64
				get func(results.Latency) float64
			}{
				{50, func(l results.Latency) float64 { return l.P50 }},
				{75, func(l results.Latency) float64 { return l.P75 }},
				{90, func(l results.Latency) float64 { return l.P90 }},
				{99, func(l results.Latency) float64 { return l.P99 }},
				{99.9, func(l results.Latency) float64 { return l.P999 }},
				{99.99, func(l results.Latency) float64 { return l.P9999 }},
			} {
				rv.spectrum = append(rv.spectrum, point{X: 100 / (100 - q.q), Y: med(q.get), Tag: spectrumTag(q.q)})
			}
			rv.spectrum = append(rv.spectrum, point{X: spectrumMaxX, Y: med(func(l results.Latency) float64 { return l.Max }), Tag: "max"})
			rv.specFrom = "median of the trials' own percentiles (no histograms)"
		}
		// A log axis cannot show zero.
		rv.spectrum = slices.DeleteFunc(rv.spectrum, func(pt point) bool { return !(pt.Y > 0) || math.IsInf(pt.Y, 0) })

		seen := map[string]bool{}
		for _, w := range warnings {
			if w == "" || seen[w] {
				continue
			}
			seen[w] = true
			rv.notes = append(rv.notes, notes.add(r.Server+" "+r.Shape.String()+" "+r.Workload+": "+w))
		}
		views = append(views, rv)
	}
	return views
}

func rowOf(rv *runView) runRow {
	r := rv.run
	load := fmt.Sprintf("closed, %d conns", r.Connections)
	if r.LoadModel == "open" || r.Rate > 0 {
		load = fmt.Sprintf("open, %s req/s, %d conns", num(r.Rate), r.Connections)
	}
	row := runRow{
		Server: r.Server, Version: r.Version, Model: r.Model, Shape: r.Shape.String(), Workload: r.Workload,
		Load: load, Color: rv.color, Trials: len(r.Trials), Failed: r.Error != "", Notes: rv.notes,
		RPS: num(rv.rps.Median), RPSTag: rv.rps.tag(),
		P50: ms(rv.p50), P99: ms(rv.p99), P999: ms(rv.p999),
		PSS: Bytes(rv.pss.Median), RSS: Bytes(rv.rss.Median),
		CPUPerK: "-", ErrorRate: "-", Capacity: "-",
	}
	row.RPSNot, row.P99Not = rank.Unscored(*r, rank.RPS), rank.Unscored(*r, rank.P99)
	if r.Capacity != nil {
		row.CapacityNot = rank.Unscored(*r, rank.Capacity)
	}
	if rv.rps.N > 1 {
		row.RPSInterval = num(rv.rps.Lo) + "–" + num(rv.rps.Hi)
	}
	if rv.p99.N > 1 && rv.p99.Hi > 0 {
		row.P99Interval = ms(estimate{Median: rv.p99.Lo, OK: true}) + "–" + ms(estimate{Median: rv.p99.Hi, OK: true})
	}
	if rv.cpuPerK.OK {
		row.CPUPerK = num(rv.cpuPerK.Median)
	}
	if rv.errRate.OK {
		row.ErrorRate = percent(rv.errRate.Median)
	}
	if c := r.Capacity; c != nil {
		row.Capacity = num(c.RPS)
		row.CapacityGoal = "p99 ≤ " + num(c.GoalP99MS) + " ms"
		if c.Limit != "" {
			row.CapacityGoal += "; above it: " + c.Limit
		}
	}
	return row
}

// tag is the short mark beside an interval in tables: nothing for a 95%
// CI, the coverage when it is less, "range" for a plain min–max.
func (e estimate) tag() string {
	switch {
	case !e.CI:
		return "range"
	case e.Confidence >= 0.95:
		return ""
	}
	return confidencePct(e.Confidence)
}

func confidencePct(c float64) string {
	return strconv.FormatFloat(math.Floor(c*1000)/10, 'f', -1, 64) + "%"
}

func ms(e estimate) string {
	if !e.OK || math.IsNaN(e.Median) {
		return "-"
	}
	return num(e.Median)
}

func percent(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x < 0.0001:
		return "<0.01%"
	}
	return strconv.FormatFloat(x*100, 'g', 3, 64) + "%"
}

func glance(views []*runView, workloads []string) []glanceGroup {
	var groups []glanceGroup
	for _, wl := range workloads {
		var in []*runView
		for _, rv := range views {
			if rv.run.Workload == wl {
				in = append(in, rv)
			}
		}
		g := glanceGroup{Workload: wl}
		add := func(question, metric string, get func(*runView) estimate, higher bool, format func(float64) string) {
			var cand []*runView
			for _, rv := range in {
				if e := get(rv); e.OK && e.Median > 0 {
					cand = append(cand, rv)
				}
			}
			if len(cand) == 0 {
				return
			}
			slices.SortStableFunc(cand, func(a, b *runView) int {
				x, y := get(a).Median, get(b).Median
				if higher {
					x, y = y, x
				}
				switch {
				case x < y:
					return -1
				case x > y:
					return 1
				}
				return 0
			})
			name := func(rv *runView) string { return rv.run.Server + " " + rv.run.Shape.String() }
			c := glanceCard{Question: question, Metric: metric}
			// Walk from the best raw number down: what the ranking does not
			// score is passed over, with why, until the first that counts.
			var scored []*runView
			for _, rv := range cand {
				if e := rank.Unscored(*rv.run, metric); e != nil {
					if len(scored) == 0 {
						c.Passed = append(c.Passed, passedOver{Name: name(rv), Value: format(get(rv).Median), Color: rv.color, Label: e.Label, Why: e.Why})
					}
					continue
				}
				scored = append(scored, rv)
			}
			if len(scored) > 0 {
				best := get(scored[0])
				c.Winner, c.Color, c.Value = name(scored[0]), scored[0].color, format(best.Median)
				if best.N > 1 {
					c.Interval = span(format, best.Lo, best.Hi) + ": " + best.interval()
				}
				if len(scored) > 1 {
					next := get(scored[1])
					c.RunnerUp = name(scored[1]) + ": " + format(next.Median)
					c.Overlap = best.CI && next.CI && best.Lo <= next.Hi && next.Lo <= best.Hi
				}
			}
			g.Cards = append(g.Cards, c)
		}
		add("Most throughput", rank.RPS, func(rv *runView) estimate { return rv.rps }, true, func(x float64) string { return num(x) + " req/s" })
		add("Lowest p99 latency", rank.P99, func(rv *runView) estimate { return rv.p99 }, false, func(x float64) string { return num(x) + " ms" })
		add("Least memory (PSS)", rank.Memory, func(rv *runView) estimate { return rv.pss }, false, Bytes)
		add("Highest capacity", rank.Capacity, func(rv *runView) estimate {
			if c := rv.run.Capacity; c != nil && c.RPS > 0 {
				return estimate{Median: c.RPS, OK: true, N: 1}
			}
			return estimate{}
		}, true, func(x float64) string { return num(x) + " req/s" })
		if len(g.Cards) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}

// unscoredMark is what a plot label adds when the ranking does not score
// the run's value of metric, so no bar or line stands out unexplained.
func unscoredMark(rv *runView, metric string) string {
	if e := rank.Unscored(*rv.run, metric); e != nil {
		return " (not scored: " + e.Label + ")"
	}
	return ""
}

// span writes lo–hi with the unit once: "5,906–6,303 req/s".
func span(format func(float64) string, lo, hi float64) string {
	l, h := format(lo), format(hi)
	if i := strings.LastIndexByte(l, ' '); i > 0 && strings.HasSuffix(h, l[i:]) {
		l = l[:i]
	}
	return l + "–" + h
}

func barHeight(n int) int { return 70 + 30*n }

func throughputPlots(views []*runView, workloads []string) []*plot {
	var out []*plot
	for i, wl := range workloads {
		pl := &plot{ID: fmt.Sprintf("plot-throughput-%d", i), Kind: "throughput", Unit: "req/s",
			Title: "Throughput · " + wl, ValueLabel: "throughput (median)"}
		var intervals []string
		var capacity int
		for _, rv := range views {
			if rv.run.Workload != wl {
				continue
			}
			b := barRow{Label: rv.run.Server + " " + rv.run.Shape.String(), Color: palette[rv.color], Value: rv.rps.Median, Interval: rv.rps.interval()}
			b.Lo, b.Hi = rv.rps.whiskers()
			if b.Lo != nil && !slices.Contains(intervals, b.Interval) {
				intervals = append(intervals, b.Interval)
			}
			if c := rv.run.Capacity; c != nil {
				x := c.RPS
				b.Second = &x
				b.Note = fmt.Sprintf("capacity at p99 ≤ %s ms", num(c.GoalP99MS))
				capacity++
			}
			b.Label += unscoredMark(rv, rank.RPS)
			pl.Bars = append(pl.Bars, b)
		}
		if len(pl.Bars) == 0 {
			continue
		}
		if capacity > 0 {
			pl.Title = "Throughput and capacity · " + wl
			pl.SecondLabel = "capacity (open model, p99 goal)"
		}
		rows := len(pl.Bars)
		if capacity > 0 {
			rows *= 2 // a capacity bar beside the throughput bar
		}
		pl.Height = barHeight(rows)
		pl.Caption = "Bars are medians over trials" + whiskerCaption(intervals) + " Where two runs' whiskers overlap, the difference between them is not established."
		if capacity > 0 {
			pl.Caption += " Pale bars are capacity: the highest open-model rate that met the p99 goal."
		}
		out = append(out, pl)
	}
	return out
}

func spectrumPlots(views []*runView, workloads []string) []*plot {
	var out []*plot
	for i, wl := range workloads {
		pl := &plot{ID: fmt.Sprintf("plot-spectrum-%d", i), Kind: "spectrum", Unit: "ms", Height: 380,
			Title: "Latency percentiles · " + wl}
		pl.Table = &dataTable{Head: []string{"run", "p50", "p90", "p99", "p99.9", "p99.99", "max", "from"}}
		var sources []string
		for _, rv := range views {
			if rv.run.Workload != wl || len(rv.spectrum) == 0 {
				continue
			}
			label := rv.run.Server + " " + rv.run.Shape.String() + unscoredMark(rv, rank.P99)
			pl.Series = append(pl.Series, lineSeries{Label: label,
				Color: palette[rv.color], Dash: dashes[rv.dash%len(dashes)], Points: rv.spectrum})
			row := []string{label}
			for _, tag := range []string{"p50", "p90", "p99", "p99.9", "p99.99", "max"} {
				cell := "-"
				for _, pt := range rv.spectrum {
					if pt.Tag == tag {
						cell = num(pt.Y)
					}
				}
				row = append(row, cell)
			}
			row = append(row, rv.specFrom)
			pl.Table.Rows = append(pl.Table.Rows, row)
			if !slices.Contains(sources, rv.specFrom) {
				sources = append(sources, rv.specFrom)
			}
		}
		if len(pl.Series) == 0 {
			continue
		}
		pl.Caption = "Latency (ms, log scale) at each percentile; every further nine gets the same width, so the tail is as visible as the median. "
		if len(pl.Series) > 0 && allHistograms(sources) {
			pl.Caption += "From all trials' HdrHistograms merged per run, so the tail is exact, not an average of percentiles."
		} else {
			pl.Caption += "Runs without histograms show the median of their trials' own percentiles (see the table)."
		}
		out = append(out, pl)
	}
	return out
}

// whiskerCaption says what the whiskers in a plot are.
func whiskerCaption(intervals []string) string {
	switch len(intervals) {
	case 0:
		return "."
	case 1:
		return "; whiskers: " + intervals[0] + "."
	}
	return "; whiskers: " + strings.Join(intervals, ", or ") + " (each bar's tooltip says which)."
}

func allHistograms(sources []string) bool {
	for _, s := range sources {
		if !strings.HasPrefix(s, "merged") {
			return false
		}
	}
	return true
}

// dashes tell apart shapes of one server (and servers past ten colours).
var dashes = [][]int{nil, {8, 4}, {2, 3}, {10, 3, 2, 3}}

func kneePlot(views []*runView) *plot {
	pl := &plot{ID: "plot-knee", Kind: "knee", Unit: "ms", Height: 400, Title: "Latency against offered rate (the knee)"}
	pl.Table = &dataTable{Head: []string{"run", "offered req/s", "achieved req/s", "p99 ms", "errors", "within goal"}}
	for _, rv := range views {
		c := rv.run.Capacity
		if c == nil || len(c.Steps) == 0 {
			continue
		}
		steps := slices.Clone(c.Steps)
		slices.SortStableFunc(steps, func(a, b results.CapacityStep) int {
			switch {
			case a.Rate < b.Rate:
				return -1
			case a.Rate > b.Rate:
				return 1
			}
			return 0
		})
		s := lineSeries{Label: rv.label, Color: palette[rv.color], Dash: dashes[rv.dash%len(dashes)]}
		if oneWorkload(views, func(rv *runView) bool { return rv.run.Capacity != nil && len(rv.run.Capacity.Steps) > 0 }) {
			s.Label = rv.run.Server + " " + rv.run.Shape.String()
		}
		s.Label += unscoredMark(rv, rank.Capacity)
		for _, st := range steps {
			pass, achieved, errRate := st.Pass, st.Achieved, st.ErrorRate
			if st.P99MS > 0 {
				s.Points = append(s.Points, point{X: st.Rate, Y: st.P99MS, Pass: &pass, Achieved: &achieved, ErrRate: &errRate,
					Best: st.Pass && st.Rate == c.RPS})
			}
			verdict := "no"
			if st.Pass {
				verdict = "yes"
			}
			if st.GeneratorBound {
				verdict += " (generator-bound)"
			}
			if st.Retried {
				verdict += " (probed again)"
			}
			pl.Table.Rows = append(pl.Table.Rows, []string{rv.label, num(st.Rate), num(st.Achieved), num(st.P99MS), percent(st.ErrorRate), verdict})
		}
		if len(s.Points) > 0 {
			pl.Series = append(pl.Series, s)
		}
		if !slices.Contains(pl.Goals, c.GoalP99MS) && c.GoalP99MS > 0 {
			pl.Goals = append(pl.Goals, c.GoalP99MS)
		}
	}
	if len(pl.Series) == 0 {
		return nil
	}
	slices.Sort(pl.Goals)
	pl.Caption = "p99 latency (log scale) at each rate the capacity search offered (open model, latency from the intended send time). " +
		"Filled points met the goal, crosses failed it; the diamond is the capacity the search settled on. The dashed line is the p99 goal."
	return pl
}

// oneWorkload reports whether the runs that pass keep all share a workload.
func oneWorkload(views []*runView, keep func(*runView) bool) bool {
	wl := ""
	for _, rv := range views {
		if !keep(rv) {
			continue
		}
		if wl != "" && rv.run.Workload != wl {
			return false
		}
		wl = rv.run.Workload
	}
	return true
}

func memoryPlot(views []*runView) *plot {
	pl := &plot{ID: "plot-memory", Kind: "memory", Unit: "MiB", Title: "Memory per server (peak, whole process tree)",
		ValueLabel: "PSS peak (median)", SecondLabel: "RSS peak (median)"}
	var intervals []string
	for _, rv := range views {
		if !(rv.pss.Median > 0 || rv.rss.Median > 0) {
			continue
		}
		const mib = 1 << 20
		b := barRow{Label: rv.label + unscoredMark(rv, rank.Memory), Color: palette[rv.color], Value: rv.pss.Median / mib, Interval: rv.pss.interval()}
		if lo, hi := rv.pss.whiskers(); lo != nil {
			l, h := *lo/mib, *hi/mib
			b.Lo, b.Hi = &l, &h
		}
		if b.Lo != nil && !slices.Contains(intervals, b.Interval) {
			intervals = append(intervals, b.Interval)
		}
		r := rv.rss.Median / mib
		b.Second = &r
		b.Note = fmt.Sprintf("%d processes", maxProcs(rv.run))
		pl.Bars = append(pl.Bars, b)
	}
	if len(pl.Bars) == 0 {
		return nil
	}
	// Order by PSS: memory is a question of its own, not of throughput.
	slices.SortStableFunc(pl.Bars, func(a, b barRow) int {
		switch {
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	pl.Height = barHeight(2 * len(pl.Bars))
	pl.Caption = "PSS (proportional set size) splits shared pages between the processes that share them, so pre-forked workers are not counted once per worker; RSS counts them in full. "
	pl.Caption += "Bars are medians over trials" + whiskerCaption(intervals)
	return pl
}

func maxProcs(r *results.Run) int {
	n := 0
	for _, t := range r.Trials {
		n = max(n, t.Processes)
	}
	return n
}

func timelinePlot(views []*runView) *plot {
	pl := &plot{ID: "plot-timeline", Kind: "timeline", Height: 420, Title: "Per-second throughput and p99, trial by trial"}
	for _, rv := range views {
		tr := timelineRun{Label: rv.label, Color: palette[rv.color]}
		for _, t := range rv.run.Trials {
			if len(t.Timeline) == 0 {
				continue
			}
			tt := timelineTrial{Index: t.Index}
			for _, s := range t.Timeline {
				tt.OK = append(tt.OK, max(0, s.Requests-s.Errors))
				tt.Errors = append(tt.Errors, s.Errors)
				tt.P99 = append(tt.P99, s.P99MS)
			}
			tr.Trials = append(tr.Trials, tt)
		}
		if len(tr.Trials) > 0 {
			pl.Runs = append(pl.Runs, tr)
		}
	}
	if len(pl.Runs) == 0 {
		return nil
	}
	pl.Caption = "Each trial's measured seconds, one line per trial: successful responses per second (top) and the p99 latency of the requests in that second (bottom); errors per second in red when there are any. " +
		"A trial that sags, spikes or drifts shows here before it shows in a median."
	return pl
}

func setupOf(f *results.File) ([]keyValue, string) {
	m := f.Machine
	var kv []keyValue
	add := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			kv = append(kv, keyValue{k, v})
		}
	}
	add("Machine", fmt.Sprintf("%s, %d CPUs, %s RAM", orDash(m.CPUModel), m.CPUs, Bytes(float64(m.MemoryBytes))))
	add("System", strings.Join(nonEmpty([]string{m.OS, m.Kernel, m.Arch}), " "))
	add("Host", m.Hostname)
	if m.SharedCPUs {
		add("CPUs", fmt.Sprintf("server and load generator shared CPUs %s", cpuList(m.ServerCPUs)))
	} else if len(m.ServerCPUs) > 0 {
		add("CPUs", fmt.Sprintf("server pinned to %s, load generator to %s", cpuList(m.ServerCPUs), cpuList(m.GeneratorCPUs)))
	}
	py := f.Python.Executable
	if f.Python.Version != "" {
		py += " (" + f.Python.Version
		if f.Python.Venv {
			py += ", virtualenv"
		}
		py += ")"
	}
	add("Python", py)
	add("App", describeApp(f))
	add("Workloads", strings.Join(f.Plan.Workloads, ", "))
	add("Load", describeLoad(f))
	add("Trials", fmt.Sprintf("%d × %s after %s warm-up, each on a freshly started server, in seeded random order (seed %d)",
		f.Plan.Trials, time.Duration(f.Plan.Duration), time.Duration(f.Plan.Warmup), f.Plan.Seed))
	add("Tool", f.Tool)
	return kv, strings.Join(f.Plan.Order, " ")
}

func cpuList(cpus []int) string {
	if len(cpus) == 0 {
		return "-"
	}
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			parts = append(parts, strconv.Itoa(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// shellJoin renders argv so it can be pasted into a POSIX shell.
func shellJoin(argv []string) string {
	var out []string
	for _, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
		}) < 0 {
			out = append(out, a)
			continue
		}
		out = append(out, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return strings.Join(out, " ")
}
