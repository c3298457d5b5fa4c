package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/wsgibench/wsgibench/internal/results"
)

// outcomeMark is a probe outcome as one character for the matrices.
func outcomeMark(o string) string {
	switch o {
	case "pass":
		return "✓"
	case "warn":
		return "!"
	case "fail":
		return "✗"
	}
	return "·"
}

// probeIDs lists the IDs of the cases with outcome ("" for all).
func probeIDs(cs []results.ProbeCase, outcome string) []string {
	var ids []string
	for _, c := range cs {
		if outcome == "" || c.Outcome == outcome {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// ConformanceTable prints each probed server's tally (for stdout).
func ConformanceTable(w io.Writer, f *results.File) {
	if len(f.Conformance) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tVERSION\tPASS\tWARN\tFAIL\tSCORE\tFAILED PROBES")
	for _, c := range f.Conformance {
		if c.Failed != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\tnot probed: %s\n", plain(c.Server), plain(c.Version), plain(firstLine(c.Failed)))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f%%\t%s\n", plain(c.Server), plain(c.Version), c.Pass, c.Warn, c.Fail,
			100*c.Score, plain(strings.Join(probeIDs(c.Cases, "fail"), ", ")))
	}
	tw.Flush()
}

// mdConformance writes the conformance section of summary.md: a tally per
// server, the matrix of every probe, and what each failure and warning was.
func mdConformance(p func(string, ...any), f *results.File) {
	if len(f.Conformance) == 0 {
		return
	}
	p("## Conformance: HTTP/1.1 and PEP 3333\n\n")
	p("Each server served wsgibench's probe app and got the same exact requests; ✓ pass, ! warn (legal or harmless behind a strict proxy, worth knowing), ✗ fail (the rule cited is broken), · not run. Score = (pass + warn/2) / cases run.\n\n")
	p("| server | pass | warn | fail | score | failed |\n|---|--:|--:|--:|--:|---|\n")
	var probed []results.Conformance
	for _, c := range f.Conformance {
		if c.Failed != "" {
			p("| %s %s | - | - | - | - | not probed: %s |\n", mdText(c.Server), mdText(c.Version), mdText(firstLine(c.Failed)))
			continue
		}
		probed = append(probed, c)
		p("| %s %s | %d | %d | %d | %.0f%% | %s |\n", mdText(c.Server), mdText(c.Version), c.Pass, c.Warn, c.Fail, 100*c.Score,
			orDash(mdText(strings.Join(probeIDs(c.Cases, "fail"), ", "))))
	}
	p("\n")
	if len(probed) == 0 {
		return
	}
	// The matrix: a row per probe, a column per server.
	p("| probe | rule |")
	for i := range probed {
		p(" %s |", string(rune('A'+i%26)))
	}
	p("\n|---|---|")
	for range probed {
		p(":-:|")
	}
	p("\n")
	var rows []results.ProbeCase
	seen := map[string]bool{}
	for _, c := range probed {
		for _, pc := range c.Cases {
			if !seen[pc.ID] {
				seen[pc.ID] = true
				rows = append(rows, pc)
			}
		}
	}
	for _, row := range rows {
		p("| %s — %s | %s |", mdText(row.ID), mdText(row.Title), mdText(row.Ref))
		for _, c := range probed {
			mark := "·"
			for _, pc := range c.Cases {
				if pc.ID == row.ID {
					mark = outcomeMark(pc.Outcome)
				}
			}
			p(" %s |", mark)
		}
		p("\n")
	}
	p("\nColumns: ")
	for i, c := range probed {
		if i > 0 {
			p(", ")
		}
		p("%s = %s", string(rune('A'+i%26)), mdText(c.Server))
	}
	p(".\n\n")
	p("What the failures and warnings were:\n\n")
	for _, c := range probed {
		var lines []string
		for _, pc := range c.Cases {
			if pc.Outcome == "fail" || pc.Outcome == "warn" {
				lines = append(lines, fmt.Sprintf("  - %s **%s**: %s", outcomeMark(pc.Outcome), mdText(pc.ID), mdText(pc.Detail)))
			}
		}
		if len(lines) == 0 {
			continue
		}
		p("- **%s**\n%s\n", mdText(c.Server), strings.Join(lines, "\n"))
	}
	p("\n")
}
