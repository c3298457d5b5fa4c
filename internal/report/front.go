package report

import (
	"fmt"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// serverLabel names a run's server, with the front it was measured
// behind: "uwsgi behind varnish".
func serverLabel(r results.Run) string {
	if r.Front == "" {
		return r.Server
	}
	return r.Server + " behind " + r.Front
}

// frontMarks is the terminal table's note for a run behind a front: what
// the server actually carried, the cache's hit ratio, and whether the front
// was the bottleneck. Medians would hide a bound trial, so it is counted.
func frontMarks(r results.Run) string {
	var srv, hit []float64
	bound := 0
	for _, t := range r.Trials {
		if t.Front == nil {
			continue
		}
		srv = append(srv, t.Front.ServerRPS)
		if t.Front.HitRatio != nil {
			hit = append(hit, *t.Front.HitRatio)
		}
		if t.Front.Bound {
			bound++
		}
	}
	if len(srv) == 0 {
		return ""
	}
	s := fmt.Sprintf("server saw %.0f req/s", stats.Median(srv))
	if len(hit) > 0 {
		s += fmt.Sprintf(", hits %.0f%%", 100*stats.Median(hit))
	}
	if bound > 0 {
		s += fmt.Sprintf(", front-bound in %d trials", bound)
	}
	return s
}
