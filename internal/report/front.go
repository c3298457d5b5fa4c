package report

import (
	"fmt"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// serverLabel names a run's server, with the front it was measured
// behind: "uwsgi behind varnish".
func serverLabel(r results.Run) string { return behind(r.Server, r.Front) }

// behind names a server with the front it was measured behind, if any;
// runs, probes and trouble scenarios alike.
func behind(server, front string) string {
	if front == "" {
		return server
	}
	return server + " behind " + front
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

// frontRow is one server measured behind a front, beside the same server,
// shape and workload measured directly when the file has it: what the
// front absorbed, what the server still carried, and whether the
// front-to-server keep-alive worked. Medians over the trials.
type frontRow struct {
	Server, Shape, Workload, Front string
	DirectRPS, DirectP99           string // "-" without a direct run
	RPS, P99                       string // what the front's clients got
	ServerRPS                      string // what reached the server
	Hits, Reuse                    string // cache hit ratio, backend connection reuse
	CPU                            string // the front's CPU use of its share
	Bound                          string // front-bound trials, "n of N"
	Refused                        string // what the front answered itself with an error
}

// frontRows builds the direct-vs-front model from the runs with a front.
func frontRows(f *results.File) []frontRow {
	direct := map[string]results.Run{}
	for _, r := range f.Runs {
		if r.Front == "" {
			direct[r.Server+"|"+r.Shape.String()+"|"+r.Workload] = r
		}
	}
	var rows []frontRow
	for _, r := range f.Runs {
		if r.Front == "" || len(r.Trials) == 0 {
			continue
		}
		row := frontRow{Server: r.Server, Shape: r.Shape.String(), Workload: r.Workload, Front: r.Front,
			DirectRPS: "-", DirectP99: "-", Hits: "-", Reuse: "-"}
		if d, ok := direct[r.Server+"|"+r.Shape.String()+"|"+r.Workload]; ok && len(d.Trials) > 0 {
			row.DirectRPS, row.DirectP99 = trialMedian(d.Trials, rpsOf, "%.0f"), trialMedian(d.Trials, p99Of, "%.1f")
		}
		row.RPS, row.P99 = trialMedian(r.Trials, rpsOf, "%.0f"), trialMedian(r.Trials, p99Of, "%.1f")
		var srv, hit, reuse, cpu []float64
		bound, refused := 0, int64(0)
		for _, t := range r.Trials {
			fr := t.Front
			if fr == nil {
				continue
			}
			srv, cpu = append(srv, fr.ServerRPS), append(cpu, fr.CPUUse)
			if fr.HitRatio != nil {
				hit = append(hit, *fr.HitRatio)
			}
			if fr.ReuseRatio != nil {
				reuse = append(reuse, *fr.ReuseRatio)
			}
			if fr.Bound {
				bound++
			}
			if v := fr.Varnish; v != nil {
				refused += v.FetchFailed
			}
			if n := fr.Nginx; n != nil {
				refused += n.Status502 + n.Status504
			}
		}
		row.ServerRPS = fmt.Sprintf("%.0f", stats.Median(srv))
		row.CPU = fmt.Sprintf("%.0f%%", 100*stats.Median(cpu))
		if len(hit) > 0 {
			row.Hits = fmt.Sprintf("%.0f%%", 100*stats.Median(hit))
		}
		if len(reuse) > 0 {
			row.Reuse = fmt.Sprintf("%.0f%%", 100*stats.Median(reuse))
		}
		row.Bound = fmt.Sprintf("%d of %d", bound, len(r.Trials))
		row.Refused = fmt.Sprintf("%d", refused)
		rows = append(rows, row)
	}
	return rows
}

func rpsOf(t results.Trial) float64 { return t.RPS }
func p99Of(t results.Trial) float64 { return t.LatencyMS.P99 }

func trialMedian(ts []results.Trial, v func(results.Trial) float64, format string) string {
	xs := make([]float64, len(ts))
	for i, t := range ts {
		xs[i] = v(t)
	}
	return fmt.Sprintf(format, stats.Median(xs))
}

// frontHead is the direct-vs-front table's header, shared by summary.md
// and report.html.
var frontHead = []string{"server", "shape", "workload", "front", "direct req/s", "direct p99 ms",
	"behind req/s", "behind p99 ms", "server saw req/s", "cache hits", "backend reuse", "front CPU", "front-bound", "front errors"}

func (r frontRow) cells() []string {
	return []string{r.Server, r.Shape, r.Workload, r.Front, r.DirectRPS, r.DirectP99, r.RPS, r.P99,
		r.ServerRPS, r.Hits, r.Reuse, r.CPU, r.Bound, r.Refused}
}

// frontExplain says what the direct-vs-front columns mean.
const frontExplain = "Medians over the trials. *Server saw* is what the front passed on (with a cache, the load the server actually carried); *cache hits* is Varnish's hits over lookups; *backend reuse* is the share of the front's requests to the server sent on a connection already open (front-to-server keep-alive works when it is near 100%; nginx does not count it); *front CPU* is the front's use of the CPUs it had; a *front-bound* trial measured the front and is not ranked on throughput; *front errors* are requests the front answered itself with 502/503/504 because the server would not take them."

// mdFronts writes the direct-vs-front section of summary.md.
func mdFronts(p func(string, ...any), f *results.File) {
	rows := frontRows(f)
	if len(rows) == 0 {
		return
	}
	p("## Direct vs behind the front\n\n%s\n\n", frontExplain)
	p("|")
	for _, h := range frontHead {
		p(" %s |", h)
	}
	p("\n|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		p("|")
		for _, c := range r.cells() {
			p(" %s |", mdText(c))
		}
		p("\n")
	}
	p("\n")
}

// frontTable is the same section for report.html.
func frontTable(f *results.File) *dataTable {
	rows := frontRows(f)
	if len(rows) == 0 {
		return nil
	}
	t := &dataTable{Head: frontHead}
	for _, r := range rows {
		t.Rows = append(t.Rows, r.cells())
	}
	return t
}
