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
	fronted := anyFronted(f.Conformance)
	head := "SERVER\tVERSION\tPASS\tWARN\tFAIL\tSCORE\tFAILED PROBES"
	if fronted {
		head += "\tTHE FRONT BLOCKED / NORMALISED / PASSED ON"
	}
	fmt.Fprintln(tw, head)
	for _, c := range f.Conformance {
		if c.Failed != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\tnot probed: %s\n", plain(behind(c.Server, c.Front)), plain(c.Version), plain(firstLine(c.Failed)))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f%%\t%s", plain(behind(c.Server, c.Front)), plain(c.Version), c.Pass, c.Warn, c.Fail,
			100*c.Score, plain(orDash(strings.Join(probeIDs(c.Cases, "fail"), ", "))))
		if fronted && c.Front != "" {
			fmt.Fprintf(tw, "\t%d / %d / %d", c.Blocked, c.Normalised, c.Passed)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func anyFronted(cs []results.Conformance) bool {
	for _, c := range cs {
		if c.Front != "" {
			return true
		}
	}
	return false
}

// passageWords says what a front did with a case, for a tooltip.
func passageWords(pc results.ProbeCase, front string) string {
	switch pc.Passage {
	case "blocked":
		return front + " answered it and passed nothing on; "
	case "normalised":
		return front + " passed it on and the verdict changed (directly: " + pc.Direct + "); "
	case "passed":
		return front + " passed it on; the server's verdict: "
	}
	return ""
}

// mdThroughFront writes what each front did with the probes: per server,
// how many cases it blocked, normalised and passed on, then every case it
// changed, beside the server's direct verdict.
func mdThroughFront(p func(string, ...any), f *results.File) {
	if !anyFronted(f.Conformance) {
		return
	}
	p("### The probes through the front\n\n")
	p("Each probe was sent to the server directly and again through the front. **Blocked**: the front answered it itself and passed nothing on (its counters: Varnish's backend requests, nginx's upstream attempts). **Normalised**: the front passed it on and the verdict changed from the direct one (it rewrote the request or the exchange). **Passed on**: the server got it and answered as it does directly.\n\n")
	p("| server | front | blocked | normalised | passed on | score directly → behind |\n|---|---|--:|--:|--:|---|\n")
	direct := map[string]float64{}
	for _, c := range f.Conformance {
		if c.Front == "" && c.Failed == "" {
			direct[c.Server] = c.Score
		}
	}
	for _, c := range f.Conformance {
		if c.Front == "" {
			continue
		}
		if c.Failed != "" {
			p("| %s | %s | - | - | - | not probed: %s |\n", mdText(c.Server), mdText(c.Front), mdText(firstLine(c.Failed)))
			continue
		}
		score := fmt.Sprintf("%.0f%%", 100*c.Score)
		if d, ok := direct[c.Server]; ok {
			score = fmt.Sprintf("%.0f%% → %.0f%%", 100*d, 100*c.Score)
		}
		p("| %s | %s | %d | %d | %d | %s |\n", mdText(c.Server), mdText(c.Front), c.Blocked, c.Normalised, c.Passed, score)
	}
	p("\n")
	for _, c := range f.Conformance {
		if c.Front == "" || c.Failed != "" {
			continue
		}
		var lines []string
		for _, pc := range c.Cases {
			if pc.Passage == "normalised" {
				lines = append(lines, fmt.Sprintf("  - **%s**: directly %s, behind %s %s: %s", mdText(pc.ID),
					outcomeMark(pc.Direct), mdText(c.Front), outcomeMark(pc.Outcome), mdText(pc.Detail)))
			}
		}
		if len(lines) > 0 {
			p("- **%s behind %s** changed:\n%s\n", mdText(c.Server), mdText(c.Front), strings.Join(lines, "\n"))
		}
	}
	p("\n")
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
			p("| %s %s | - | - | - | - | not probed: %s |\n", mdText(behind(c.Server, c.Front)), mdText(c.Version), mdText(firstLine(c.Failed)))
			continue
		}
		probed = append(probed, c)
		p("| %s %s | %d | %d | %d | %.0f%% | %s |\n", mdText(behind(c.Server, c.Front)), mdText(c.Version), c.Pass, c.Warn, c.Fail, 100*c.Score,
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
		p("%s = %s", string(rune('A'+i%26)), mdText(behind(c.Server, c.Front)))
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
		p("- **%s**\n%s\n", mdText(behind(c.Server, c.Front)), strings.Join(lines, "\n"))
	}
	p("\n")
	mdThroughFront(p, f)
}
