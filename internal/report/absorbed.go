package report

import (
	"fmt"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
)

// absorbedRow is one trouble scenario on one server, directly and behind a
// front: whether the front absorbed the trouble, and what its counters
// show it did during the trouble window.
type absorbedRow struct {
	Server, Front, Scenario string
	Direct, Behind          string // what the other clients kept
	Verdict                 string
	Counters                string // the front's counters over the window, in words
}

// absorbedRows pairs every scenario run behind a front with the same
// server's direct run of it. The verdict is stated from the measured
// shares alone: "absorbed" when the clients behind the front kept at least
// 80% while directly they kept less; "partly" when behind the front they
// kept at least 20 points more; "passed through" otherwise; "nothing to
// absorb" when the server kept 80% on its own.
func absorbedRows(f *results.File) []absorbedRow {
	direct := map[string]results.TroubleCase{}
	for _, r := range f.Robustness {
		if r.Front == "" && r.Failed == "" {
			for _, sc := range r.Scenarios {
				direct[r.Server+"|"+sc.ID] = sc
			}
		}
	}
	var rows []absorbedRow
	for _, r := range f.Robustness {
		if r.Front == "" || r.Failed != "" {
			continue
		}
		for _, sc := range r.Scenarios {
			d, ok := direct[r.Server+"|"+sc.ID]
			if !ok || sc.Error != "" || d.Error != "" {
				continue
			}
			rows = append(rows, absorbedRow{Server: r.Server, Front: r.Front, Scenario: sc.ID,
				Direct: retainedText(d), Behind: retainedText(sc), Verdict: absorbedVerdict(d, sc),
				Counters: frontWords(sc.Front)})
		}
	}
	return rows
}

func absorbedVerdict(direct, behind results.TroubleCase) string {
	if behind.ThresholdMax > 0 {
		// A count of slow clients: 0 means none up to the most tried
		// took the others down.
		switch {
		case direct.Threshold == 0:
			return "nothing to absorb"
		case behind.Threshold == 0:
			return "absorbed"
		case behind.Threshold > direct.Threshold:
			return "partly"
		}
		return "passed through"
	}
	switch {
	case direct.Retained >= 0.8:
		return "nothing to absorb"
	case behind.Retained >= 0.8:
		return "absorbed"
	case behind.Retained >= direct.Retained+0.2:
		return "partly"
	}
	return "passed through"
}

// frontWords says what a front's counters show it did over a window.
func frontWords(fr *results.Front) string {
	if fr == nil {
		return "-"
	}
	var parts []string
	if v := fr.Varnish; v != nil {
		parts = append(parts, fmt.Sprintf("%d client requests, %d passed to the server", v.ClientRequests, fr.ServerRequests))
		if v.CacheHits > 0 {
			parts = append(parts, fmt.Sprintf("%d cache hits", v.CacheHits))
		}
		if v.FetchFailed > 0 {
			parts = append(parts, fmt.Sprintf("%d answered 503 by Varnish (backend busy %d, connect failed %d)", v.FetchFailed, v.BackendBusy, v.BackendFail))
		}
		parts = append(parts, fmt.Sprintf("backend connections %d opened, %d reused", v.BackendConn, v.BackendReuse))
	}
	if n := fr.Nginx; n != nil {
		parts = append(parts, fmt.Sprintf("%d client requests, %d passed to the server", n.Requests, fr.ServerRequests))
		if n.Status502+n.Status504 > 0 {
			parts = append(parts, fmt.Sprintf("%d answered 502 and %d 504 by nginx", n.Status502, n.Status504))
		}
		if n.UpstreamTimeouts > 0 {
			parts = append(parts, fmt.Sprintf("%d upstream timeouts", n.UpstreamTimeouts))
		}
	}
	parts = append(parts, fmt.Sprintf("front CPU %.0f%%", 100*fr.CPUUse))
	return strings.Join(parts, "; ")
}

// absorbedHead is the table's header in summary.md and report.html.
var absorbedHead = []string{"server", "front", "scenario", "kept directly", "kept behind the front", "the front", "its counters during the trouble"}

func (r absorbedRow) cells() []string {
	return []string{r.Server, r.Front, r.Scenario, r.Direct, r.Behind, r.Verdict, r.Counters}
}

const absorbedExplain = "Each scenario ran once directly and once through the front, on a fresh server each time. Absorbed: behind the front the other clients kept at least 80% while directly they kept less; partly: at least 20 points more behind the front; passed through: not; nothing to absorb: the server kept 80% on its own. The counters are the front's over the trouble window only."

// mdAbsorbed writes which trouble each front absorbed, in summary.md.
func mdAbsorbed(p func(string, ...any), f *results.File) {
	rows := absorbedRows(f)
	if len(rows) == 0 {
		return
	}
	p("\n### What the front absorbed\n\n%s\n\n", absorbedExplain)
	p("| %s |\n|---|---|---|--:|--:|---|---|\n", strings.Join(absorbedHead, " | "))
	for _, r := range rows {
		c := r.cells()
		for i := range c {
			c[i] = mdText(c[i])
		}
		p("| %s |\n", strings.Join(c, " | "))
	}
	p("\n")
}

// absorbedTable is the same for report.html.
func absorbedTable(f *results.File) *dataTable {
	rows := absorbedRows(f)
	if len(rows) == 0 {
		return nil
	}
	t := &dataTable{Head: absorbedHead}
	for _, r := range rows {
		t.Rows = append(t.Rows, r.cells())
	}
	return t
}
