package report

import (
	"fmt"

	"github.com/wsgibench/wsgibench/internal/results"
)

// mdOverloadReload lists, for every server, its slow-client threshold, how
// it met the overload and what a reload cost, whatever the share kept: the outcome (shed, queued,
// fell over), the recovery time and whether new code was served say more
// than the percentage.
func mdOverloadReload(p func(string, ...any), f *results.File) {
	var lines []string
	for _, r := range f.Robustness {
		for _, sc := range r.Scenarios {
			if sc.Error != "" || (sc.ID != "overload" && sc.ID != "reload" && sc.ID != "slow-threshold") {
				continue
			}
			lines = append(lines, fmt.Sprintf("- **%s** %s, %s: %s", mdText(behind(r.Server, r.Front)), r.Shape, mdText(sc.ID), mdText(sc.Detail)))
		}
	}
	if len(lines) == 0 {
		return
	}
	p("\nSlow-client threshold (how many slow clients take the others below half their throughput; not in the score), overload (twice the capacity, then half of it) and reload (new code mid-load), server by server:\n\n")
	for _, l := range lines {
		p("%s\n", l)
	}
}
