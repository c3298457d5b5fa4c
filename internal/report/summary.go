// Package report renders a results file for people: summary.md for a
// terminal or a pull-request comment, and a table on stdout. It depends on
// the results file and statistics only, never on running anything, so
// `wsgibench report` re-renders exactly what `wsgibench run` wrote.
package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Row is one run summarised over its trials.
type Row struct {
	Run      results.Run
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
// and sorted by throughput within it.
func Rows(f *results.File) []Row {
	var rows []Row
	for _, r := range f.Runs {
		if len(r.Trials) == 0 {
			continue
		}
		row := Row{Run: r, Trials: len(r.Trials)}
		var rps, p50, p99, pss, rss, cpu []float64
		var cpuTotal float64
		for _, t := range r.Trials {
			rps = append(rps, t.RPS)
			p50 = append(p50, t.LatencyMS.P50)
			p99 = append(p99, t.LatencyMS.P99)
			pss = append(pss, float64(t.PSSPeakBytes))
			rss = append(rss, float64(t.RSSPeakBytes))
			cpu = append(cpu, t.CPUSeconds)
			cpuTotal += t.CPUSeconds
			row.Errors += t.Errors.Total
			row.Requests += t.Requests
			row.Conns += t.ConnectionsOpened
			if t.GeneratorBound {
				row.Bound++
			}
			row.Warnings = append(row.Warnings, t.Warnings...)
		}
		row.RPS, row.P50, row.P99 = stats.Median(rps), stats.Median(p50), stats.Median(p99)
		row.PSS, row.RSS, row.CPU = stats.Median(pss), stats.Median(rss), stats.Median(cpu)
		if row.Requests > 0 {
			row.CPUPerK = cpuTotal * 1000 / float64(row.Requests) * 1000
		}
		row.Warnings = dedupe(append(row.Warnings, r.Warnings...))
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Run.Workload != rows[j].Run.Workload {
			return rows[i].Run.Workload < rows[j].Run.Workload
		}
		return rows[i].RPS > rows[j].RPS
	})
	return rows
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

// Table prints the summary as an aligned table (for stdout).
func Table(w io.Writer, f *results.File) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SERVER\tSHAPE\tWORKLOAD\treq/s\tp50 ms\tp99 ms\terrors\tmemory\tCPU s\tCPU ms/1k req\t")
	for _, r := range Rows(f) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.2f\t%.2f\t%d\t%s\t%.2f\t%.0f\t%s\n",
			r.Run.Server, r.Run.Shape, r.Run.Workload, r.RPS, r.P50, r.P99, r.Errors,
			Bytes(r.PSS), r.CPU, r.CPUPerK, marks(r))
	}
	tw.Flush()
	for _, r := range f.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "FAILED %s %s: %s\n", r.Server, r.Shape, firstLine(r.Error))
		}
	}
}

func marks(r Row) string {
	if r.Bound > 0 {
		return "generator-bound"
	}
	return ""
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

// Markdown writes summary.md.
func Markdown(w io.Writer, f *results.File) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# wsgibench results\n\n")
	m := f.Machine
	p("- **Machine:** %s, %d CPUs, %s RAM, %s %s (%s)\n", orDash(m.CPUModel), m.CPUs, Bytes(float64(m.MemoryBytes)), m.OS, m.Kernel, m.Arch)
	if m.SharedCPUs {
		p("- **CPUs:** server and load generator shared CPUs %v: they competed, so absolute numbers understate the servers\n", m.ServerCPUs)
	} else {
		p("- **CPUs:** servers pinned to %v, load generator to %v\n", m.ServerCPUs, m.GeneratorCPUs)
	}
	venv := ""
	if f.Python.Venv {
		venv = ", virtualenv"
	}
	p("- **Python:** %s (%s%s)\n", f.Python.Executable, f.Python.Version, venv)
	app := f.Plan.App
	if f.Plan.Bundled {
		app += " (bundled reference CRUD app, SQLite)"
	} else if f.Plan.AppDir != "" {
		app += " in " + f.Plan.AppDir
	}
	p("- **App:** %s\n", app)
	load := fmt.Sprintf("closed loop, %d connections", f.Plan.Connections)
	if f.Plan.Rate > 0 {
		load = fmt.Sprintf("open loop at %.0f req/s over %d connections (latency from intended send time)", f.Plan.Rate, f.Plan.Connections)
	}
	p("- **Load:** %s; %d trials × %s after %s warm-up each, every trial on a freshly started server, interleaved in seeded-random order (seed %d)\n",
		load, f.Plan.Trials, time.Duration(f.Plan.Duration), time.Duration(f.Plan.Warmup), f.Plan.Seed)
	if !f.Complete {
		p("- **Incomplete:** the run was interrupted; this shows the trials that finished\n")
	}
	p("\n")

	rows := Rows(f)
	var notes []string
	note := func(s string) int {
		for i, n := range notes {
			if n == s {
				return i + 1
			}
		}
		notes = append(notes, s)
		return len(notes)
	}
	workloads := map[string][]Row{}
	var order []string
	for _, r := range rows {
		if _, ok := workloads[r.Run.Workload]; !ok {
			order = append(order, r.Run.Workload)
		}
		workloads[r.Run.Workload] = append(workloads[r.Run.Workload], r)
	}
	for _, wl := range order {
		p("## Workload: %s\n\n", wl)
		p("| # | server | shape | model | req/s | p50 ms | p99 ms | errors | memory (PSS) | CPU s | CPU ms per 1k req | conns opened |\n")
		p("|--:|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for i, r := range workloads[wl] {
			var refs []string
			if r.Bound > 0 {
				refs = append(refs, fmt.Sprint(note("generator-bound: the load generator used ≥ 90% of its CPU in some trials, so the server may be faster than shown; not ranked on throughput")))
			}
			for _, w := range r.Warnings {
				refs = append(refs, fmt.Sprint(note(r.Run.Server+": "+w)))
			}
			foot := ""
			if len(refs) > 0 {
				foot = " [" + strings.Join(refs, ",") + "]"
			}
			p("| %d | %s %s%s | %s | %s | %.0f | %.2f | %.2f | %d | %s | %.2f | %.0f | %d |\n",
				i+1, r.Run.Server, r.Run.Version, foot, r.Run.Shape, r.Run.Model, r.RPS, r.P50, r.P99, r.Errors,
				Bytes(r.PSS), r.CPU, r.CPUPerK, r.Conns)
		}
		p("\n")
	}
	var failed []results.Run
	for _, r := range f.Runs {
		if r.Error != "" {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		p("## Failed\n\n")
		for _, r := range failed {
			p("- **%s %s %s**: %s\n", r.Server, r.Shape, r.Workload, firstLine(r.Error))
		}
		p("\n")
	}
	for _, w := range f.Warnings {
		note(w)
	}
	if len(notes) > 0 {
		p("## Notes\n\n")
		for i, n := range notes {
			p("%d. %s\n", i+1, n)
		}
		p("\n")
	}
	p("## How to read this\n\n")
	p("- **req/s**: 2xx responses per second, median over trials. Errors never count as throughput.\n")
	p("- **p50 / p99 ms**: median over trials of each trial's latency percentile. Closed loop: from send to full response. Open loop: from the *intended* send time, so server stalls show (no coordinated omission).\n")
	p("- **errors**: failed requests summed over trials (connect, reset, timeout, non-2xx, protocol); see results.json for classes.\n")
	p("- **memory (PSS)**: peak proportional set size of the server's whole process tree (master, workers, Apache children), median over trials; shared pages are split between processes, not counted once per worker.\n")
	p("- **CPU s**: CPU time of the whole process tree during the measured interval (median); **CPU ms per 1k req** is its efficiency.\n")
	p("- **conns opened**: TCP connections the generator had to open; ≈ requests means the server closes every connection (no keep-alive).\n")
	p("- **shape**: processes × threads as the server actually ran it (`conn` = one thread per connection).\n")
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
