package report

import (
	"fmt"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
)

// balanced lists the runs with a worker balance (multi-process servers whose
// trials were judged), in file order.
func balanced(f *results.File) []results.Run {
	var out []results.Run
	for _, r := range f.Runs {
		if r.Balance != nil {
			out = append(out, r)
		}
	}
	return out
}

// remedyText is what the server's remedy did for a flagged run.
func remedyText(b *results.Balance) string {
	switch {
	case !b.Flagged():
		return "-"
	case b.Remedy == nil:
		return "no remedy offered"
	}
	return b.Remedy.Verdict
}

func balanceClass(b *results.Balance) string {
	switch {
	case b.Uneven == 0:
		return "pass"
	case 2*b.Uneven < b.Trials:
		return "warn"
	}
	return "fail"
}

// mdWorkers writes the worker-load section of summary.md.
func mdWorkers(p func(string, ...any), f *results.File) {
	runs := balanced(f)
	if len(runs) == 0 {
		return
	}
	p("## Worker load\n\n")
	p("How evenly each multi-process server's workers shared the CPU time of a trial. **max÷fair** is the busiest worker's share divided by the fair share (1/workers): 1 is even; the number of workers means one worker did everything while the others idled. A trial is uneven at ≥ %.1f×, or when a worker idled, beyond clock-tick noise; such a server's throughput depends on where its connections landed, and on more cores than busy workers the idle workers' cores go unused.\n\n", results.UnevenMaxOverFair)
	p("| server | shape | workload | uneven trials | max÷fair median (worst) | with the server's remedy |\n")
	p("|---|---|---|--:|--:|---|\n")
	for _, r := range runs {
		b := r.Balance
		mark := ""
		if b.Flagged() {
			mark = " ⚠"
		}
		p("| %s | %s | %s | %d of %d%s | %.2f (%.2f) | %s |\n", mdText(serverLabel(r)), r.Shape, mdText(r.Workload),
			b.Uneven, b.Trials, mark, b.MedianMaxOverFair, b.WorstMaxOverFair, mdText(remedyText(b)))
	}
	p("\n")
}

// workersMatrix is the worker-load grid for report.html.
func workersMatrix(f *results.File, colorOf map[string]int) []matrix {
	runs := balanced(f)
	if len(runs) == 0 {
		return nil
	}
	m := matrix{ID: "matrix-workers", Title: "Worker load: the busiest worker's share ÷ the fair share",
		Caption: fmt.Sprintf("1 is even; the number of workers means one worker did everything. A trial is uneven at ≥ %.1f× or with an idle worker "+
			"(green: no uneven trial; amber: some; red: half or more). Hover for the shares.", results.UnevenMaxOverFair),
		Columns: []string{"uneven trials", "median", "worst", "with remedy"}}
	for _, r := range runs {
		b := r.Balance
		var shares []string
		for _, t := range r.Trials {
			if l := t.WorkerLoad; l != nil && l.Note == "" {
				shares = append(shares, sharesText(l))
			}
		}
		title := "worker CPU shares per trial: " + strings.Join(shares, "; ")
		row := matrixRow{Label: fmt.Sprintf("%s %s %s", serverLabel(r), r.Shape, r.Workload), Color: colorOf[r.Server]}
		cls := balanceClass(b)
		row.Cells = []matrixCell{
			{Text: fmt.Sprintf("%d of %d", b.Uneven, b.Trials), Class: cls, Title: title},
			{Text: fmt.Sprintf("%.2f×", b.MedianMaxOverFair), Class: cls, Title: title},
			{Text: fmt.Sprintf("%.2f×", b.WorstMaxOverFair), Class: cls, Title: title},
			remedyCell(b),
		}
		m.Rows = append(m.Rows, row)
	}
	return []matrix{m}
}

func remedyCell(b *results.Balance) matrixCell {
	rem := b.Remedy
	switch {
	case !b.Flagged():
		return matrixCell{Text: "-", Class: "na", Title: "not needed"}
	case rem == nil:
		return matrixCell{Text: "none", Class: "na", Title: "the server offers no remedy wsgibench knows"}
	case rem.Trials == 0:
		return matrixCell{Text: "·", Class: "na", Title: rem.Verdict}
	case rem.Helped:
		return matrixCell{Text: fmt.Sprintf("%.2f×", rem.MaxOverFair), Class: "pass", Title: rem.Verdict}
	}
	return matrixCell{Text: fmt.Sprintf("%.2f×", rem.MaxOverFair), Class: "fail", Title: rem.Verdict}
}

// sharesText is "62/37/1%".
func sharesText(l *results.WorkerLoad) string {
	parts := make([]string, len(l.Shares))
	for i, s := range l.Shares {
		parts[i] = fmt.Sprintf("%.0f", 100*s)
	}
	return strings.Join(parts, "/") + "%"
}
