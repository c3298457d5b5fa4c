package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

func TestTableNamesTheFront(t *testing.T) {
	hit := 0.3
	trial := results.Trial{RPS: 900, Requests: 900, DurationS: 1, LatencyMS: results.Latency{P50: 1, P99: 2},
		Front: &results.Front{Name: "varnish", ServerRPS: 600, HitRatio: &hit}}
	f := &results.File{Runs: []results.Run{
		{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 2}, Workload: "crud", Trials: []results.Trial{{RPS: 1000, Requests: 1000, DurationS: 1}}},
		{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 2}, Workload: "crud", Front: "varnish", Trials: []results.Trial{trial}},
		{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 2}, Workload: "crud", Front: "nginx", Error: "nginx refused to start: [emerg] x"},
	}}
	var b bytes.Buffer
	Table(&b, f)
	out := b.String()
	for _, want := range []string{"uwsgi behind varnish", "server saw 600 req/s, hits 30%", "FAILED uwsgi behind nginx 2x2: nginx refused to start"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
