package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/wsgibench/wsgibench/internal/results"
)

// checkLabels name the check's rows for a reader.
var checkLabels = map[string]string{
	results.CheckPEP3333:  "PEP 3333",
	results.CheckProcess:  "process servers",
	results.CheckThread:   "thread servers",
	results.CheckGreenlet: "greenlet servers",
}

func checkLabel(m string) string {
	if l, ok := checkLabels[m]; ok {
		return l
	}
	return m
}

func checkVerdict(v string) string {
	if v == results.CheckUnsafe {
		return "UNSAFE"
	}
	return v
}

// CheckTable prints the portability check (for stdout): one row per
// model with its verdict and how it was judged, then each finding under
// the row it belongs to.
func CheckTable(w io.Writer, c *results.Check) {
	if c == nil {
		return
	}
	fmt.Fprintf(w, "Is %s portable across WSGI servers? (requests: %s)\n", plain(c.App), plain(c.RequestsFrom))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SAFE UNDER\tVERDICT\tHOW")
	for _, m := range c.Models {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", checkLabel(m.Model), checkVerdict(m.Verdict), plain(m.How))
	}
	tw.Flush()
	for _, m := range c.Models {
		for _, e := range m.Evidence {
			req := ""
			if e.Request != "" {
				req = plain(e.Request) + ": "
			}
			fmt.Fprintf(w, "  %s: %s%s\n", checkLabel(m.Model), req, plain(e.What))
		}
	}
	for _, s := range c.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", plain(s))
	}
}

// mdCheck writes the portability section of summary.md.
func mdCheck(p func(string, ...any), f *results.File) {
	c := f.Check
	if c == nil {
		return
	}
	p("## Portability: is the app safe under process, thread and greenlet servers?\n\n")
	p("`wsgibench check` ran the app's requests (%s) through each model; a server whose model the app is unsafe under is not recommended.\n\n", mdText(c.RequestsFrom))
	p("| safe under | verdict | how | evidence |\n|---|---|---|---|\n")
	for _, m := range c.Models {
		ev := "–"
		if len(m.Evidence) > 0 {
			ev = ""
			for i, e := range m.Evidence {
				if i > 0 {
					ev += "<br>"
				}
				if e.Request != "" {
					ev += mdText(e.Request) + ": "
				}
				ev += mdText(e.What)
			}
		}
		p("| %s | %s | %s | %s |\n", checkLabel(m.Model), checkVerdict(m.Verdict), mdText(m.How), ev)
	}
	p("\n")
}

// checkMatrix shows the portability check in the report's suites: one row
// (the app), a column per model, the evidence on hover and in the caption.
func checkMatrix(c *results.Check) *matrix {
	if c == nil || len(c.Models) == 0 {
		return nil
	}
	m := &matrix{ID: "matrix-check", Title: "Portability: is the app safe under process, thread and greenlet servers?"}
	row := matrixRow{Label: c.App}
	var words []string
	for _, cm := range c.Models {
		m.Columns = append(m.Columns, checkLabel(cm.Model))
		cell := matrixCell{Text: "·", Class: "na", Title: cm.How}
		switch cm.Verdict {
		case results.CheckSafe:
			cell.Text, cell.Class = "✓", "pass"
		case results.CheckUnsafe:
			cell.Text, cell.Class = "✗", "fail"
		}
		for _, e := range cm.Evidence {
			w := e.What
			if e.Request != "" {
				w = e.Request + ": " + w
			}
			cell.Title += "\n" + w
			words = append(words, checkLabel(cm.Model)+": "+w)
		}
		row.Cells = append(row.Cells, cell)
	}
	m.Rows = []matrixRow{row}
	m.Caption = "✓ safe, ✗ unsafe, · not checked (requests: " + c.RequestsFrom + "). A server whose model the app is unsafe under is not recommended."
	if len(words) > 0 {
		m.Caption += " Evidence: " + strings.Join(words, "; ")
	}
	return m
}
