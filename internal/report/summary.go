// Package report renders a results file for people: summary.md for a
// terminal or a pull-request comment, a table on stdout, and the
// comparison of two results files. It depends on the results file and
// statistics only, never on running anything, so `wsgibench report`
// re-renders exactly what `wsgibench run` wrote: the same file gives the
// same bytes (nothing here reads the clock or iterates a map unsorted).
package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Row is one run summarised over its trials.
type Row struct {
	Run      results.Run
	Summary  results.Summary // medians with 95% confidence intervals
	Trials   int
	RPS      float64 // median 2xx responses per second
	P50, P99 float64 // median of the trials' percentiles, ms
	Errors   int64   // summed over trials
	Requests int64   // summed over trials
	PSS, RSS float64 // median peak bytes of the whole process tree
	CPU      float64 // median CPU seconds of the process tree per trial
	CPUPerK  float64 // CPU milliseconds per 1000 requests
	Conns    int64   // connections opened, summed
	Bound    int     // trials where the generator was the bottleneck
	Warnings []string
}

// Rows summarises every run with at least one trial, grouped by workload
// and sorted by throughput within it. The summary is the run's stored one,
// or computed from the trials when there is none.
func Rows(f *results.File) []Row {
	var rows []Row
	for _, r := range f.Runs {
		if len(r.Trials) == 0 {
			continue
		}
		s := summaryOf(r, f.Machine)
		row := Row{Run: r, Summary: s, Trials: len(r.Trials)}
		var cpuTotal float64
		for _, t := range r.Trials {
			cpuTotal += t.CPUSeconds
			row.Errors += t.Errors.Total
			row.Requests += t.Requests
			row.Conns += t.ConnectionsOpened
			if t.GeneratorBound {
				row.Bound++
			}
			row.Warnings = append(row.Warnings, t.Warnings...)
		}
		row.RPS, row.P50, row.P99 = s.RPS.Median, s.P50MS.Median, s.P99MS.Median
		row.PSS, row.RSS, row.CPU = s.PSSBytes.Median, s.RSSBytes.Median, s.CPUSeconds.Median
		if row.Requests > 0 {
			row.CPUPerK = cpuTotal * 1000 / float64(row.Requests) * 1000
		}
		row.Warnings = dedupe(append(row.Warnings, r.Warnings...))
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].Run, rows[j].Run
		if a.Workload != b.Workload {
			return a.Workload < b.Workload
		}
		if rows[i].RPS != rows[j].RPS {
			return rows[i].RPS > rows[j].RPS
		}
		return a.Key() < b.Key()
	})
	return rows
}

func summaryOf(r results.Run, m results.Machine) results.Summary {
	if r.Summary != nil {
		return *r.Summary
	}
	return stats.Summarize(r, m)
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Table prints the summary as an aligned table (for stdout), then the
// verdict's headline when the file has one.
func Table(w io.Writer, f *results.File) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SERVER\tSHAPE\tWORKLOAD\treq/s\tp50 ms\tp99 ms\terrors\tmemory\tCPU s\tCPU ms/1k req\t")
	for _, r := range Rows(f) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.2f\t%.2f\t%d\t%s\t%.2f\t%.0f\t  %s\n",
			plain(serverLabel(r.Run)), r.Run.Shape, plain(r.Run.Workload), r.RPS, r.P50, r.P99, r.Errors,
			Bytes(r.PSS), r.CPU, r.CPUPerK, marks(r))
	}
	tw.Flush()
	tableTarget(w, f)
	for _, r := range f.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "FAILED %s %s: %s\n", plain(serverLabel(r)), r.Shape, plain(firstLine(r.Error)))
		}
	}
	if f.Verdict != nil && f.Verdict.Headline != "" {
		fmt.Fprintf(w, "\n%s\n", plain(f.Verdict.Headline))
		if t := firmnessText(f.Verdict.Firmness); t != "" {
			fmt.Fprintf(w, "%s\n", plain(t))
		}
	}
}

// marks says which of the row's numbers the ranking does not score.
func marks(r Row) string {
	var out []string
	for _, m := range []string{"", rank.RPS, rank.P99} {
		if e := rank.Unscored(r.Run, m); e != nil && !slices.Contains(out, e.Label) {
			out = append(out, e.Label)
		}
	}
	if fm := frontMarks(r.Run); fm != "" {
		out = append(out, fm)
	}
	return strings.Join(out, "; ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Bytes formats a byte count in binary units.
func Bytes(b float64) string {
	if math.IsNaN(b) || b <= 0 {
		return "-"
	}
	const unit = 1024
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= unit && i < len(units)-1 {
		b /= unit
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", b, units[i])
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// mdInterval formats an estimate as "1234 ±3%": the median and the
// interval's larger distance from it, relative to it. One trial has no
// interval.
func mdInterval(e results.Estimate, format func(float64) string) string {
	if e.N == 0 || math.IsNaN(e.Median) {
		return "-"
	}
	s := format(e.Median)
	if e.N < 2 || e.Median == 0 {
		return s
	}
	half := math.Max(e.Hi-e.Median, e.Median-e.Lo) / math.Abs(e.Median)
	switch {
	case half*100 < 0.95:
		return s + fmt.Sprintf(" ±%.1f%%", half*100)
	}
	return s + fmt.Sprintf(" ±%.0f%%", half*100)
}

func mdFixed(places int) func(float64) string {
	return func(v float64) string { return strconv.FormatFloat(v, 'f', places, 64) }
}

// mdNotes numbers footnotes in order of first use.
type mdNotes struct{ list []string }

func (n *mdNotes) ref(s string) int {
	for i, x := range n.list {
		if x == s {
			return i + 1
		}
	}
	n.list = append(n.list, s)
	return len(n.list)
}

// Markdown writes summary.md: the verdict first, then the setup, a table
// per workload with medians and their confidence intervals, failed runs,
// and footnotes. Without a stored verdict (a file from before rankings,
// or an interrupted run) it ranks on the default profile, without
// changing f.
func Markdown(w io.Writer, f *results.File) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("# wsgibench results\n\n")
	probesOnly := len(f.Runs) == 0 && (len(f.Conformance) > 0 || len(f.Robustness) > 0) // wsgibench probe or trouble
	if !probesOnly {
		mdVerdict(p, f)
		mdTarget(p, f)
	}

	p("## Setup\n\n")
	m := f.Machine
	p("- **Machine:** %s, %d CPUs, %s RAM, %s %s (%s)\n", mdText(orDash(m.CPUModel)), m.CPUs, Bytes(float64(m.MemoryBytes)), mdText(m.OS), mdText(m.Kernel), mdText(m.Arch))
	if m.SharedCPUs {
		p("- **CPUs:** server and load generator shared CPUs %v: they competed, so absolute numbers understate the servers\n", m.ServerCPUs)
	} else {
		p("- **CPUs:** servers pinned to %v, load generator to %v\n", m.ServerCPUs, m.GeneratorCPUs)
	}
	venv := ""
	if f.Python.Venv {
		venv = ", virtualenv"
	}
	p("- **Python:** %s (%s%s)\n", mdText(f.Python.Executable), mdText(f.Python.Version), venv)
	if probesOnly {
		p("- **App:** wsgibench's probe app (wsgibench_probe), the same for every server\n")
	} else {
		p("- **App:** %s\n", mdText(describeApp(f)))
	}
	if probesOnly {
		p("- **Suites only** (wsgibench probe or trouble): no trials, so no verdict\n")
	} else {
		load := describeLoad(f)
		if rc := f.Plan.Racing; rc != nil {
			p("- **Load:** %s; racing: %d trials for every cell, up to %d for contenders, × %s after %s warm-up each, every trial on a freshly started server, in rounds of seeded-random order, contenders side by side in pairs (seed %d)\n",
				load, rc.First, f.Plan.Trials, time.Duration(f.Plan.Duration), time.Duration(f.Plan.Warmup), f.Plan.Seed)
		} else {
			p("- **Load:** %s; %d trials × %s after %s warm-up each, every trial on a freshly started server, interleaved in seeded-random order (seed %d)\n",
				load, f.Plan.Trials, time.Duration(f.Plan.Duration), time.Duration(f.Plan.Warmup), f.Plan.Seed)
		}
	}
	if !f.Complete {
		p("- **Incomplete:** the run was interrupted; this shows the trials that finished\n")
	}
	p("\n")

	rows := Rows(f)
	// Each warning is one footnote, named after the runs that have it
	// unless every run does.
	type warned struct {
		row  int
		text string
	}
	var all []warned
	who := map[string][]string{}
	for i, r := range rows {
		ws := dedupe(append(append([]string(nil), r.Summary.Warnings...), r.Warnings...))
		if c := r.Run.Capacity; c != nil && c.Limit != "" && c.Limit != "p99" {
			ws = append(ws, fmt.Sprintf("capacity search stopped by %s above %.0f req/s", c.Limit, c.RPS))
		}
		ws = append(ws, unscoredNotes(r.Run)...)
		for _, s := range ws {
			all = append(all, warned{i, s})
			who[s] = append(who[s], r.Run.Server+" "+r.Run.Shape.String())
		}
	}
	var notes mdNotes
	refs := make([][]int, len(rows))
	for _, x := range all {
		text := x.text
		if len(who[text]) < len(rows) {
			text = strings.Join(who[text], ", ") + ": " + text
		}
		refs[x.row] = append(refs[x.row], notes.ref(text))
	}
	var order []string
	byWorkload := map[string][]int{}
	for i, r := range rows {
		if _, ok := byWorkload[r.Run.Workload]; !ok {
			order = append(order, r.Run.Workload)
		}
		byWorkload[r.Run.Workload] = append(byWorkload[r.Run.Workload], i)
	}
	for _, wl := range order {
		capacity := false
		for _, i := range byWorkload[wl] {
			capacity = capacity || rows[i].Run.Capacity != nil
		}
		p("## Workload: %s\n\n", mdText(wl))
		p("Medians over trials ± the larger half of their 95%% confidence interval (see the notes when there are too few trials for 95%%).\n\n")
		capHead, capAlign := "", ""
		if capacity {
			capHead, capAlign = " capacity req/s |", "--:|"
		}
		if projected(f) {
			capHead, capAlign = capHead+" "+projectedLabel(f)+" |", capAlign+"--:|"
		}
		p("| # | server | shape | model | req/s | p50 ms | p99 ms |%s errors | memory (PSS) | CPU ms per 1k req | conns opened |\n", capHead)
		p("|--:|---|---|---|--:|--:|--:|%s--:|--:|--:|--:|\n", capAlign)
		// Rows are in order of req/s; only req/s the ranking scores gets
		// a number, so a generator-bound or development server is never
		// "1" here.
		n := 0
		for _, i := range byWorkload[wl] {
			r := rows[i]
			place := "–"
			if rank.Unscored(r.Run, rank.RPS) == nil {
				n++
				place = strconv.Itoa(n)
			}
			foot := ""
			if len(refs[i]) > 0 {
				var s []string
				for _, x := range refs[i] {
					s = append(s, strconv.Itoa(x))
				}
				foot = " [" + strings.Join(s, ",") + "]"
			}
			capCell := ""
			if capacity {
				capCell = " - |"
				if c := r.Run.Capacity; c != nil {
					capCell = fmt.Sprintf(" %.0f |", c.RPS)
				}
			}
			if projected(f) {
				capCell += " " + orDash(projectedCell(f, r.Run)) + " |"
			}
			mem, _ := stats.Memory(r.Summary)
			p("| %s | %s %s%s | %s | %s | %s | %s | %s |%s %d | %s | %s | %d |\n",
				place, mdText(r.Run.Server), mdText(r.Run.Version), foot, r.Run.Shape, mdText(r.Run.Model),
				mdInterval(r.Summary.RPS, mdFixed(0)), mdInterval(r.Summary.P50MS, mdFixed(2)), mdInterval(r.Summary.P99MS, mdFixed(2)),
				capCell, r.Errors, mdInterval(mem, Bytes), mdInterval(r.Summary.CPUMsPerKReq, mdFixed(0)), r.Conns)
		}
		p("\n")
	}
	mdFronts(p, f)
	mdWorkers(p, f)
	mdCheck(p, f)
	mdConformance(p, f)
	mdRobustness(p, f)
	if !probesOnly {
		mdRacing(p, f)
	}
	var failed []results.Run
	for _, r := range f.Runs {
		if r.Error != "" {
			failed = append(failed, r)
		}
	}
	sort.SliceStable(failed, func(i, j int) bool { return failed[i].Key() < failed[j].Key() })
	if len(failed) > 0 {
		p("## Failed\n\n")
		for _, r := range failed {
			p("- **%s %s %s**: %s\n", mdText(r.Server), r.Shape, mdText(r.Workload), mdText(firstLine(r.Error)))
		}
		p("\n")
	}
	mdPhases(p, f)
	for _, w := range f.Warnings {
		notes.ref(w)
	}
	if len(notes.list) > 0 {
		p("## Notes\n\n")
		for i, n := range notes.list {
			p("%d. %s\n", i+1, mdText(n))
		}
		p("\n")
	}
	p("## How to read this\n\n")
	p("- **Verdict**: servers ranked at their best measured shape on the profile's weighted metrics, each scored against the best server (100 = best on every metric). A place is ahead of another only where a test separates them (p < α: the Wilcoxon signed-rank test on trials paired side by side when there are 6 pairs or more, else the Mann-Whitney U test) on metrics worth at least %v score points, even with each such metric at the end of its interval least in the leader's favour; otherwise they tie and share a place. A capacity search is one measurement, so capacity separates servers only when the searches do not overlap, differ by ≥ %.0f%%, and the repeated closed-loop trials agree. Robustness, the trouble scenarios' mean, separates servers only when ≥ %.0f%% apart if each scenario ran once, and when run several times only where the ranges over those runs do not overlap.\n", rank.MinScoreGap, rank.CapacityMargin*100, rank.CapacityMargin*100)
	p("- **± x%%**: the 95%% confidence interval of the median over trials, from order statistics (no assumption about the distribution). With fewer than %d trials no interval reaches 95%%: ± then spans the lowest to the highest trial, with the confidence the notes give.\n", stats.TrialsForCI(stats.Confidence))
	p("- **#**: the order by req/s among the runs whose req/s the ranking scores; – marks one it does not (generator-bound, a development server, a failed run), with why in the notes. No number here is a verdict unless the ranking scored it.\n")
	p("- **req/s**: 2xx responses per second. Errors never count as throughput.\n")
	p("- **p50 / p99 ms**: median over trials of each trial's latency percentile. Closed loop: from send to full response. Open loop: from the *intended* send time, so server stalls show (no coordinated omission).\n")
	p("- **capacity req/s**: the highest open-loop rate at which p99 stayed under the latency goal with errors under 0.1%%, searched at each server's best closed-loop shape.\n")
	p("- **errors**: failed requests summed over trials (connect, reset, timeout, non-2xx, protocol); see results.json for classes.\n")
	p("- **memory (PSS)**: peak proportional set size of the server's whole process tree (master, workers, Apache children); shared pages are split between processes, not counted once per worker.\n")
	p("- **CPU ms per 1k req**: CPU time of the whole process tree during the measured interval, per 1000 responses: its efficiency.\n")
	p("- **conns opened**: TCP connections the generator had to open; ≈ requests means the server closes every connection (no keep-alive).\n")
	p("- **shape**: processes × threads as the server actually ran it (`conn` = one thread per connection).\n")
	return err
}

// unscoredNotes says which of the run's values in the table the ranking
// leaves out, and why (rank.Unscored): one note per reason.
func unscoredNotes(run results.Run) []string {
	if e := rank.Unscored(run, ""); e != nil {
		return []string{"not ranked, so none of its numbers is a verdict: " + e.Why}
	}
	keys := []string{rank.RPS, rank.P50, rank.P99}
	names := map[string]string{rank.RPS: "req/s", rank.P50: "p50", rank.P99: "p99", rank.Capacity: "capacity"}
	if run.Capacity != nil {
		keys = append(keys, rank.Capacity)
	}
	var whys []string
	byWhy := map[string][]string{}
	for _, k := range keys {
		if e := rank.Unscored(run, k); e != nil {
			if _, seen := byWhy[e.Why]; !seen {
				whys = append(whys, e.Why)
			}
			byWhy[e.Why] = append(byWhy[e.Why], names[k])
		}
	}
	var out []string
	for _, why := range whys {
		ns := byWhy[why]
		list := strings.Join(ns, " and ")
		if len(ns) > 2 {
			list = strings.Join(ns[:len(ns)-1], ", ") + " and " + ns[len(ns)-1]
		}
		out = append(out, list+" not scored by the ranking: "+why)
	}
	return out
}

// mdVerdict writes the verdict section: the stored one, or a fresh
// ranking on the default profile.
func mdVerdict(p func(string, ...any), f *results.File) {
	v, ranking := f.Verdict, f.Ranking
	if v == nil {
		var err error
		ranking, v, err = rank.Rank(f, "", 0)
		if err != nil || v == nil {
			return
		}
		v.Firmness, _ = rank.Firmness(f, rank.Options{}, rank.FirmnessResamples)
	}
	p("## Verdict\n\n")
	p("**%s**\n\n", mdText(v.Headline))
	mdFactors(p, f) // what separates them, in order: first, before the per-pair reasons
	if t := firmnessText(v.Firmness); t != "" {
		p("%s\n\n", mdText(t))
	}
	if len(ranking) == 0 {
		mdVerdictNotes(p, v)
		return
	}
	var ws []string
	for _, w := range v.Weights {
		ws = append(ws, fmt.Sprintf("%s ×%s", mdText(w.Metric), strconv.FormatFloat(w.Weight, 'g', -1, 64)))
	}
	basis := fmt.Sprintf("Profile %s (%s) on workload %s", mdCode(v.Profile), strings.Join(ws, ", "), mdCode(v.Workload))
	if v.GoalP99MS > 0 {
		basis += fmt.Sprintf("; latency goal p99 ≤ %s ms", strconv.FormatFloat(v.GoalP99MS, 'g', -1, 64))
	}
	switch v.CapacityFrom {
	case "":
	case "capacity search":
		basis += "; capacity from the capacity search"
	default:
		basis += "; capacity stands on " + mdText(v.CapacityFrom)
	}
	p("%s. Places differ only where the data separate servers at α = %s by at least %s score points; otherwise they tie.\n\n",
		basis, strconv.FormatFloat(v.Alpha, 'g', -1, 64), strconv.FormatFloat(v.MinScoreGap, 'g', -1, 64))

	// Columns: the score, then the weighted metrics the ranking has values for.
	type col struct {
		key, head string
		format    func(float64) string
	}
	cols := []col{
		{rank.Capacity, "capacity req/s", mdFixed(0)},
		{rank.RPS, "req/s", mdFixed(0)},
		{rank.P50, "p50 ms", mdFixed(2)},
		{rank.P99, "p99 ms", mdFixed(2)},
		{rank.Memory, "memory", Bytes},
		{rank.CPU, "CPU ms per 1k req", mdFixed(0)},
		{rank.Errors, "failed", func(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }},
		{rank.Robustness, "robustness", mdFixed(2)},
		{rank.Correctness, "correctness", mdFixed(2)},
	}
	weighted := map[string]bool{}
	for _, w := range v.Weights {
		weighted[w.Metric] = true
	}
	var shown []col
	if v.CapacityFrom != "" && v.CapacityFrom != "capacity search" {
		cols[0].head = "req/s (as capacity)"
	}
	if projected(f) {
		cols[0].head += " (" + projectedLabel(f) + ")"
		cols[1].head += " (" + projectedLabel(f) + ")"
	}
	for _, c := range cols {
		has := false
		for _, r := range ranking {
			_, ok := r.Metrics[c.key]
			has = has || ok
		}
		if has && weighted[c.key] {
			shown = append(shown, c)
		}
	}
	p("| place | server | shape | score |")
	for _, c := range shown {
		p(" %s |", c.head)
	}
	p(" tied with |\n|--:|---|---|--:|")
	for range shown {
		p("--:|")
	}
	p("---|\n")
	for _, r := range ranking {
		place := strconv.Itoa(r.Position)
		if len(r.TiedWith) > 0 {
			place += " (tie)"
		}
		p("| %s | %s | %s | %.1f |", place, mdText(r.Server), r.Shape, r.Score)
		for _, c := range shown {
			if x, ok := r.Metrics[c.key]; ok {
				p(" %s |", c.format(x))
			} else {
				p(" not scored |")
			}
		}
		p(" %s |\n", orDash(mdText(strings.Join(r.TiedWith, ", "))))
	}
	p("\n")
	for _, r := range ranking {
		// Not a Markdown ordered list: renderers would renumber the ties.
		p("- **%d. %s** (%s), score %.1f\n", r.Position, mdText(r.Server), r.Shape, r.Score)
		for _, reason := range r.Reasons {
			p("  - %s\n", mdText(reason))
		}
	}
	p("\n")
	mdVerdictNotes(p, v)
}

func mdVerdictNotes(p func(string, ...any), v *results.Verdict) {
	if len(v.Notes) > 0 {
		p("Notes on this ranking:\n\n")
	}
	for _, n := range v.Notes {
		p("- %s\n", mdText(n))
	}
	if len(v.Notes) > 0 {
		p("\n")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Compare writes what changed between two results files, the way
// benchstat does: per workload and metric, each (server, shape) with its
// old and new median ± confidence interval, the change, and the
// Mann-Whitney p-value; "~" where the trials cannot show a difference at
// alpha. Capacity, one search per file, gets no p. Runs in only one file,
// or failed in one, are listed as such. Like Markdown, the same files give
// the same bytes.
func Compare(w io.Writer, oldName string, old *results.File, newName string, cur *results.File, alpha float64) error {
	if alpha <= 0 {
		alpha = stats.Alpha
	}
	var out strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&out, format, a...) }
	p("old: %s (%s)\n", oldName, diffFileLine(old))
	p("new: %s (%s)\n", newName, diffFileLine(cur))
	for _, n := range diffSetupNotes(old, cur) {
		p("note: %s\n", plain(n))
	}
	if v := verdictChange(old, cur); v != "" {
		p("%s\n", v)
	}

	type both struct {
		old, cur *results.Run
	}
	byKey := map[string]*both{}
	var keys []results.Run // one run per key, for sorting
	add := func(r *results.Run, isOld bool) {
		b, ok := byKey[r.Key()]
		if !ok {
			b = &both{}
			byKey[r.Key()] = b
			keys = append(keys, *r)
		}
		if isOld {
			b.old = r
		} else {
			b.cur = r
		}
	}
	for i := range old.Runs {
		add(&old.Runs[i], true)
	}
	for i := range cur.Runs {
		add(&cur.Runs[i], false)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Workload != b.Workload {
			return a.Workload < b.Workload
		}
		if a.Server != b.Server {
			return a.Server < b.Server
		}
		if a.Shape.Workers != b.Shape.Workers {
			return a.Shape.Workers < b.Shape.Workers
		}
		return a.Shape.Threads < b.Shape.Threads
	})
	var notes mdNotes
	sup := func(refs []int) string {
		if len(refs) == 0 {
			return ""
		}
		var s []string
		for _, r := range dedupeInts(refs) {
			s = append(s, superscript(r))
		}
		return " " + strings.Join(s, " ")
	}
	ciNote := func(e results.Estimate) []int {
		if e.N > 1 && e.Confidence < stats.Confidence {
			return []int{notes.ref(fmt.Sprintf("%d trials: ± spans the lowest to the highest trial, which holds the median with %.0f%% confidence (need ≥ %d trials for %.0f%%)",
				e.N, e.Confidence*100, stats.TrialsForCI(stats.Confidence), stats.Confidence*100))}
		}
		return nil
	}
	runNotes := func(which string, r *results.Run) []int {
		var refs []int
		bound, failed := 0, 0
		for _, t := range r.Trials {
			if t.GeneratorBound {
				bound++
			}
			if t.Errors.Total > 0 {
				failed++
			}
		}
		if bound > 0 {
			refs = append(refs, notes.ref(fmt.Sprintf("%s: the load generator was the bottleneck in %d of %d trials, so req/s and latency there measure the generator", which, bound, len(r.Trials))))
		}
		if failed > 0 {
			refs = append(refs, notes.ref(fmt.Sprintf("%s: failed requests in %d of %d trials", which, failed, len(r.Trials))))
		}
		return refs
	}

	metrics := []struct {
		head   string
		trial  func(results.Trial) (float64, bool)
		format func(float64) string
	}{
		{"req/s (higher is better)", func(t results.Trial) (float64, bool) { return t.RPS, true }, mdFixed(0)},
		{"p50 ms (lower is better)", func(t results.Trial) (float64, bool) { return t.LatencyMS.P50, true }, mdFixed(2)},
		{"p99 ms (lower is better)", func(t results.Trial) (float64, bool) { return t.LatencyMS.P99, true }, mdFixed(2)},
		{"memory, peak PSS (lower is better)", func(t results.Trial) (float64, bool) {
			if t.PSSPeakBytes > 0 {
				return float64(t.PSSPeakBytes), true
			}
			return float64(t.RSSPeakBytes), t.RSSPeakBytes > 0
		}, Bytes},
		{"CPU ms per 1k req (lower is better)", stats.CPUMsPerKReq, mdFixed(0)},
		{"failed requests (lower is better)", stats.ErrorRate, func(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }},
	}
	col := func(r *results.Run, f func(results.Trial) (float64, bool)) []float64 {
		var xs []float64
		for _, t := range r.Trials {
			if v, ok := f(t); ok {
				xs = append(xs, v)
			}
		}
		return xs
	}
	for i := 0; i < len(keys); {
		wl := keys[i].Workload
		j := i
		for j < len(keys) && keys[j].Workload == wl {
			j++
		}
		group := keys[i:j]
		i = j
		var paired []results.Run
		var only []string
		for _, k := range group {
			b := byKey[k.Key()]
			oldOK := b.old != nil && len(b.old.Trials) > 0
			curOK := b.cur != nil && len(b.cur.Trials) > 0
			name := plain(k.Server) + " " + k.Shape.String()
			switch {
			case oldOK && curOK:
				paired = append(paired, k)
			case b.cur == nil:
				only = append(only, "only in old: "+name)
			case b.old == nil:
				only = append(only, "only in new: "+name)
			case !curOK && b.cur.Error != "":
				only = append(only, "failed in new: "+name+": "+plain(firstLine(b.cur.Error)))
			case !oldOK && b.old.Error != "":
				only = append(only, "failed in old: "+name+": "+plain(firstLine(b.old.Error)))
			default:
				only = append(only, "no finished trials in one file: "+name)
			}
		}
		for _, m := range metrics {
			p("\n%s: %s\n", plain(wl), m.head)
			tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "server\tshape\told\tnew\tvs old")
			for _, k := range paired {
				b := byKey[k.Key()]
				a, c := col(b.old, m.trial), col(b.cur, m.trial)
				if len(a) == 0 || len(c) == 0 {
					continue
				}
				eo, en := stats.MedianCI(a, stats.Confidence), stats.MedianCI(c, stats.Confidence)
				cmpRes := stats.Compare(a, c, alpha)
				var dRefs []int
				for _, w := range cmpRes.Warnings {
					dRefs = append(dRefs, notes.ref(w))
				}
				label := plain(k.Server) + sup(append(runNotes("old", b.old), runNotes("new", b.cur)...))
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", label, k.Shape,
					mdInterval(eo, m.format)+sup(ciNote(eo)), mdInterval(en, m.format)+sup(ciNote(en)), cmpRes.String()+sup(dRefs))
			}
			tw.Flush()
		}
		var caps []results.Run
		goal := 0.0
		for _, k := range paired {
			b := byKey[k.Key()]
			if b.old.Capacity != nil || b.cur.Capacity != nil {
				caps = append(caps, k)
				for _, c := range []*results.Capacity{b.old.Capacity, b.cur.Capacity} {
					if c != nil && goal == 0 {
						goal = c.GoalP99MS
					}
				}
			}
		}
		if len(caps) > 0 {
			p("\n%s: capacity req/s at p99 ≤ %s ms (higher is better; one search per file, so no p)\n", plain(wl), strconv.FormatFloat(goal, 'g', -1, 64))
			tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "server\tshape\told\tnew\tvs old")
			for _, k := range caps {
				b := byKey[k.Key()]
				cell := func(c *results.Capacity) string {
					if c == nil {
						return "-"
					}
					s := strconv.FormatFloat(c.RPS, 'f', 0, 64)
					if c.Limit != "" && c.Limit != "p99" {
						s += sup([]int{notes.ref("capacity search stopped by " + c.Limit)})
					}
					if c.GoalP99MS != goal {
						s += sup([]int{notes.ref(fmt.Sprintf("searched at p99 ≤ %s ms", strconv.FormatFloat(c.GoalP99MS, 'g', -1, 64)))})
					}
					return s
				}
				delta := ""
				switch oc, nc := b.old.Capacity, b.cur.Capacity; {
				case oc == nil || nc == nil:
				case oc.RPS == nc.RPS:
					delta = "no change"
				case oc.RPS > 0:
					delta = stats.FormatDelta((nc.RPS - oc.RPS) / oc.RPS)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", plain(k.Server), k.Shape, cell(b.old.Capacity), cell(b.cur.Capacity), delta)
			}
			tw.Flush()
		}
		if len(only) > 0 {
			p("\n")
			for _, s := range only {
				p("%s\n", s)
			}
		}
	}
	if len(notes.list) > 0 {
		p("\n")
		for i, n := range notes.list {
			p("%s %s\n", superscript(i+1), n)
		}
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// verdictChange says whether the two files put the same servers first: the
// question a second run of a comparison asks first. Shapes are named but
// not compared (a server's best shape may change between runs while the
// advice, which server, stands). Empty when either file has no ranking.
//
// Both files are ranked again by this version's rules, each on the profile
// its verdict names, so a change in the rules between the two versions that
// wrote them is not read as a change in the servers; where that moves a
// file's first place from the one it stores, the line says so.
func verdictChange(old, cur *results.File) string {
	var restated []string
	first := func(which string, f *results.File) (names []string, shown string) {
		if f.Verdict == nil {
			return nil, ""
		}
		top := func(ranking []results.Rank) (names, parts []string) {
			for _, rk := range ranking {
				if rk.Position == 1 {
					names = append(names, rk.Server)
					parts = append(parts, plain(rk.Server)+" "+rk.Shape.String())
				}
			}
			return names, parts
		}
		stored, _ := top(f.Ranking)
		ranking, _, err := rank.Restate(f)
		if err != nil || len(ranking) == 0 {
			ranking = f.Ranking
		}
		names, parts := top(ranking)
		if !slices.Equal(stored, names) {
			restated = append(restated, fmt.Sprintf("%s's file stores %s, ranked by another version of the rules", which, rank.JoinAnd(stored)))
		}
		shown = rank.JoinAnd(parts)
		if len(parts) > 1 {
			shown += " (tie)"
		}
		return names, shown
	}
	a, as := first("old", old)
	b, bs := first("new", cur)
	if len(a) == 0 || len(b) == 0 {
		return ""
	}
	s := fmt.Sprintf("first place: old %s; new %s: ", as, bs)
	var onlyOld, onlyNew []string
	for _, n := range a {
		if !slices.Contains(b, n) {
			onlyOld = append(onlyOld, plain(n))
		}
	}
	for _, n := range b {
		if !slices.Contains(a, n) {
			onlyNew = append(onlyNew, plain(n))
		}
	}
	switch {
	case len(onlyOld) == 0 && len(onlyNew) == 0:
		s += "the same servers"
	case len(onlyOld) == 0:
		s += "new adds " + rank.JoinAnd(onlyNew)
	case len(onlyNew) == 0:
		s += "new drops " + rank.JoinAnd(onlyOld)
	default:
		s += "different: only old has " + rank.JoinAnd(onlyOld) + ", only new " + rank.JoinAnd(onlyNew)
	}
	if changed := append(onlyOld, onlyNew...); len(changed) > 0 {
		s += firmnessOfChange(old, cur, changed)
	}
	if old.Verdict.Profile != cur.Verdict.Profile || old.Verdict.Workload != cur.Verdict.Workload {
		s += fmt.Sprintf(" (ranked differently: old %s on %s, new %s on %s)", plain(old.Verdict.Profile), plain(old.Verdict.Workload), plain(cur.Verdict.Profile), plain(cur.Verdict.Workload))
	}
	if len(restated) > 0 {
		s += " (" + plain(strings.Join(restated, "; ")) + ")"
	}
	return s
}

// firmnessOfChange says how often each server whose place changed was
// first over resamples of either run's own trials: a server first in 43
// and 100 of 100 was near the tests' thresholds in both runs, one first in
// 0 and 100 moved by more than the trials' noise (capacity searches,
// trouble scenarios, or the machine between the runs).
func firmnessOfChange(old, cur *results.File, changed []string) string {
	fo, err1 := rank.RestateFirmness(old, rank.FirmnessResamples)
	fc, err2 := rank.RestateFirmness(cur, rank.FirmnessResamples)
	if err1 != nil || err2 != nil || fo == nil || fc == nil {
		return ""
	}
	count := func(fm *results.Firmness, server string) int {
		for _, sc := range fm.InFirst {
			if plain(sc.Server) == server {
				return sc.Count
			}
		}
		return 0
	}
	var parts []string
	for _, n := range changed {
		parts = append(parts, fmt.Sprintf("%s in %d of %d (old) and %d of %d (new)", n, count(fo, n), fo.Resamples, count(fc, n), fc.Resamples))
	}
	return "; first over resamples of each run's trials: " + strings.Join(parts, ", ")
}

func diffFileLine(f *results.File) string {
	parts := []string{f.Started.UTC().Format("2006-01-02 15:04 UTC")}
	if f.Tool != "" {
		parts = append(parts, f.Tool)
	}
	if f.Plan.Trials > 0 {
		parts = append(parts, fmt.Sprintf("%d trials per run", f.Plan.Trials))
	}
	if !f.Complete {
		parts = append(parts, "incomplete")
	}
	return strings.Join(parts, ", ")
}

// diffSetupNotes says what differs between the two runs besides the
// servers: a change there may explain a change in the numbers.
func diffSetupNotes(a, b *results.File) []string {
	var out []string
	diff := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s differs: %s (old) vs %s (new)", what, orDash(x), orDash(y)))
		}
	}
	machine := func(m results.Machine) string {
		return fmt.Sprintf("%s, %d CPUs, server CPUs %v", m.CPUModel, m.CPUs, m.ServerCPUs)
	}
	diff("machine", machine(a.Machine), machine(b.Machine))
	diff("Python", a.Python.Version, b.Python.Version)
	diff("app", a.Plan.App, b.Plan.App)
	load := func(p results.Plan) string {
		s := fmt.Sprintf("%d connections, %s trials", p.Connections, time.Duration(p.Duration))
		if p.Rate > 0 {
			s += fmt.Sprintf(" at %.0f req/s", p.Rate)
		}
		return s
	}
	diff("load", load(a.Plan), load(b.Plan))
	if a.Machine.SharedCPUs || b.Machine.SharedCPUs {
		out = append(out, "server and load generator shared CPUs in at least one run: the numbers understate the servers")
	}
	return out
}

func dedupeInts(xs []int) []int {
	var out []int
	for _, x := range xs {
		if len(out) == 0 || !containsInt(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// superscript writes n in superscript digits, as benchstat marks notes.
func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	d := []rune(digits)
	var b strings.Builder
	for _, c := range strconv.Itoa(n) {
		b.WriteRune(d[c-'0'])
	}
	return b.String()
}

// firmnessText says how often the verdict's first place came out again
// over resamples of the trials, and who was first how often: "How firm:
// this first place came out in 58 of 100 resamples of the trials
// (capacity searches, trouble scenarios and probes held as measured);
// first in them: waitress 100, uwsgi 64, tornado 22." Empty without it.
func firmnessText(fm *results.Firmness) string {
	if fm == nil || fm.Resamples == 0 {
		return ""
	}
	var first []string
	for _, sc := range fm.InFirst {
		first = append(first, fmt.Sprintf("%s %d", sc.Server, sc.Count))
	}
	return fmt.Sprintf("How firm: this first place came out in %d of %d resamples of the trials "+
		"(capacity searches, trouble scenarios and probes held as measured); first in them: %s.",
		fm.Same, fm.Resamples, strings.Join(first, ", "))
}
