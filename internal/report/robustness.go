package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/wsgibench/wsgibench/internal/results"
)

// retainedClass grades a scenario's retained share for the matrices: kept
// most of its throughput, lost much, or was stalled.
func retainedClass(t results.TroubleCase) string {
	switch {
	case t.Error != "":
		return "na"
	case t.ThresholdMax > 0:
		// A handful of slow clients taking a server down is a fail; a few
		// dozen, a warning; none up to the most tried, a pass.
		switch {
		case t.Threshold == 0:
			return "pass"
		case t.Threshold <= 8:
			return "fail"
		}
		return "warn"
	case t.Retained >= 0.8:
		return "pass"
	case t.Retained >= 0.3:
		return "warn"
	}
	return "fail"
}

func retainedText(t results.TroubleCase) string {
	if t.Error != "" {
		return "·"
	}
	if t.Outcome != "" {
		return fmt.Sprintf("%s %.0f%%", t.Outcome, 100*t.Retained)
	}
	if t.ThresholdMax > 0 {
		if t.Threshold == 0 {
			return fmt.Sprintf("> %d slow", t.ThresholdMax)
		}
		return fmt.Sprintf("%d slow", t.Threshold)
	}
	return fmt.Sprintf("%.0f%%", 100*t.Retained)
}

// scenarioIDs lists each server's scenario IDs.
func scenarioIDs(f *results.File) [][]string {
	var out [][]string
	for _, r := range f.Robustness {
		var ids []string
		for _, sc := range r.Scenarios {
			ids = append(ids, sc.ID)
		}
		out = append(out, ids)
	}
	return out
}

// RobustnessTable prints each server's scenario results (for stdout).
func RobustnessTable(w io.Writer, f *results.File) {
	if len(f.Robustness) == 0 {
		return
	}
	ids, _ := columnsOf(scenarioIDs(f))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	head := make([]string, len(ids))
	for i, id := range ids {
		head[i] = strings.ToUpper(plain(id))
	}
	fmt.Fprintf(tw, "SERVER\tSHAPE\tSCORE\t%s\n", strings.Join(head, "\t"))
	for _, r := range f.Robustness {
		if r.Failed != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\tnot tried: %s\n", plain(behind(r.Server, r.Front)), r.Shape, plain(firstLine(r.Failed)))
			continue
		}
		cells := make([]string, len(ids))
		for i, id := range ids {
			cells[i] = "-"
			for _, sc := range r.Scenarios {
				if sc.ID == id {
					cells[i] = retainedText(sc)
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", plain(behind(r.Server, r.Front)), r.Shape, scoreText(r), strings.Join(cells, "\t"))
	}
	tw.Flush()
	if onceOnly(f) {
		fmt.Fprintln(w, "single runs: a cell can be 20 points off the next identical run; trouble --repeat 3 (run --trouble-repeat 3) keeps the median of three fresh runs")
	}
}

// mdRobustness writes the trouble section of summary.md.
func mdRobustness(p func(string, ...any), f *results.File) {
	if len(f.Robustness) == 0 {
		return
	}
	p("## Under trouble\n\n")
	p("Each server (fresh for every scenario) served a few closed-loop clients alone for a baseline, then while trouble was made; each cell is the share of the baseline throughput those clients kept (✓ ≥ 80%%, ! ≥ 30%%, ✗ below). The score is the mean.\n\n")
	if onceOnly(f) {
		p("Some scenarios ran once. One run of a scenario on a freshly started server can be 20 points or more off the next, identical one; the median of three fresh runs (`trouble --repeat 3`, or `run --trouble-repeat 3`) kept most cells of three identical runs within 10 points of each other (README: how repeatable the scores are). Compare single-run cells only where they differ by much more.\n\n")
	}
	ids, _ := columnsOf(scenarioIDs(f))
	titles := map[string]string{}
	for _, r := range f.Robustness {
		for _, sc := range r.Scenarios {
			titles[sc.ID] = sc.Title
		}
	}
	p("| server | shape | score |")
	for _, id := range ids {
		p(" %s |", mdText(id))
	}
	p("\n|---|---|--:|")
	for range ids {
		p("--:|")
	}
	p("\n")
	for _, r := range f.Robustness {
		if r.Failed != "" {
			p("| %s %s | %s | - | not tried: %s |\n", mdText(behind(r.Server, r.Front)), mdText(r.Version), r.Shape, mdText(firstLine(r.Failed)))
			continue
		}
		p("| %s %s | %s | %s |", mdText(behind(r.Server, r.Front)), mdText(r.Version), r.Shape, scoreText(r))
		for _, id := range ids {
			cell := "-"
			for _, sc := range r.Scenarios {
				if sc.ID == id {
					cell = retainedText(sc) + " " + map[string]string{"pass": "✓", "warn": "!", "fail": "✗", "na": ""}[retainedClass(sc)]
				}
			}
			p(" %s |", strings.TrimSpace(cell))
		}
		p("\n")
	}
	p("\n")
	for _, id := range ids {
		p("- **%s**: %s\n", mdText(id), mdText(titles[id]))
	}
	mdAbsorbed(p, f)
	mdOverloadReload(p, f)
	p("\nWhat was seen, where the clients lost more than a fifth:\n\n")
	for _, r := range f.Robustness {
		var lines []string
		for _, sc := range r.Scenarios {
			switch {
			case sc.Error != "":
				lines = append(lines, fmt.Sprintf("  - %s: could not run: %s", mdText(sc.ID), mdText(firstLine(sc.Error))))
			case sc.Retained < 0.8:
				lines = append(lines, fmt.Sprintf("  - %s: %s (p99 %.0f ms)", mdText(sc.ID), mdText(sc.Detail), sc.P99MS))
			}
		}
		if len(lines) > 0 {
			p("- **%s** %s\n%s\n", mdText(behind(r.Server, r.Front)), r.Shape, strings.Join(lines, "\n"))
		}
	}
	p("\n")
}

// robustnessMatrix is the trouble suite for report.html.
func robustnessMatrix(f *results.File, colorOf map[string]int) []matrix {
	if len(f.Robustness) == 0 {
		return nil
	}
	var col map[string]int
	m := matrix{ID: "matrix-robustness", Title: "Under trouble: throughput the other clients kept",
		Caption: "Each cell: the share of a few closed-loop clients' baseline throughput they kept while the scenario ran " +
			"(green ≥ 80%, amber ≥ 30%, red below). Hover for what was done and seen."}
	m.Columns, col = columnsOf(scenarioIDs(f))
	for _, r := range f.Robustness {
		label := behind(r.Server, r.Front)
		if r.Failed == "" {
			label = fmt.Sprintf("%s %s (%s)", behind(r.Server, r.Front), r.Shape, scoreText(r))
		}
		row := naRow(label, colorOf[r.Server], len(m.Columns), r.Failed)
		for _, sc := range r.Scenarios {
			title := sc.Title + ": " + sc.Detail
			if sc.Front != nil {
				title += " — " + r.Front + ": " + frontWords(sc.Front)
			}
			if sc.Error != "" {
				title = sc.Title + ": could not run: " + sc.Error
			}
			row.Cells[col[sc.ID]] = matrixCell{Text: retainedText(sc), Class: retainedClass(sc), Title: title}
		}
		m.Rows = append(m.Rows, row)
	}
	return []matrix{m}
}

// scoreText is a server's robustness score, or "-" when no scenario that
// counts in it ran (only the slow-client threshold, say).
func scoreText(r results.Robustness) string {
	for _, sc := range r.Scenarios {
		if sc.Error == "" && !sc.Unscored {
			return fmt.Sprintf("%.0f%%", 100*r.Score)
		}
	}
	return "-"
}

// onceOnly reports whether any scenario that ran was run once rather than
// as the median of several.
func onceOnly(f *results.File) bool {
	for _, r := range f.Robustness {
		for _, sc := range r.Scenarios {
			if sc.Error == "" && sc.Repeats <= 1 {
				return true
			}
		}
	}
	return false
}
