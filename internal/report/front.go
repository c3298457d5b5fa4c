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
// the server actually carried and the cache's hit ratio (a front-bound
// trial is marked by rank.Unscored, as every unscored value is).
func frontMarks(r results.Run) string {
	var srv, hit []float64
	for _, t := range r.Trials {
		if t.Front == nil {
			continue
		}
		srv = append(srv, t.Front.ServerRPS)
		if t.Front.HitRatio != nil {
			hit = append(hit, *t.Front.HitRatio)
		}
	}
	if len(srv) == 0 {
		return ""
	}
	s := fmt.Sprintf("server saw %.0f req/s", stats.Median(srv))
	if len(hit) > 0 {
		s += fmt.Sprintf(", hits %.0f%%", 100*stats.Median(hit))
	}
	return s
}
