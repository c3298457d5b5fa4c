package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

// knownOutcomes are behaviours of the Debian 12 packages, each confirmed
// by hand with raw requests when the probes were written. A probe whose
// judging drifts shows here; on other versions the facts do not apply and
// are skipped.
var knownOutcomes = []struct {
	server, version, probe string
	want                   probe.Outcome
}{
	{"gunicorn-sync", "20.1.0", "keep-alive", probe.Warn},          // Connection: close by design
	{"gunicorn-sync", "20.1.0", "cl-sign", probe.Fail},             // int("+5")
	{"gunicorn-gthread", "20.1.0", "pipelining", probe.Fail},       // the 2nd request waits for more bytes
	{"gunicorn-gthread", "20.1.0", "head", probe.Fail},             // the app's body follows the HEAD response
	{"waitress", "2.1.2", "cl-and-te", probe.Fail},                 // chunked, then serves the rest
	{"waitress", "2.1.2", "chunked-request", probe.Pass},           //
	{"twisted", "22.4.0", "head", probe.Pass},                      //
	{"paste", "3.5.2", "unread-body", probe.Fail},                  // the unread body is parsed as a request
	{"werkzeug", "2.2.2", "http10-client", probe.Fail},             // chunked to an HTTP/1.0 client
	{"uvicorn", "0.17.6", "iterable-close", probe.Fail},            // close() never called
	{"wsgiref", "Python 3.11.2", "keep-alive", probe.Warn},         // HTTP/1.0 server
	{"hypercorn", "0.13.2", "environ", probe.Pass},                 // wsgibench's bridge builds the environ
	{"mod_wsgi", "4.9.4 (Apache/2.4.71)", "cl-and-te", probe.Pass}, //
}

// TestProbeEveryServer runs every probe against every available server,
// as run does: each case must reach a verdict (none left not run, no
// server that cannot be probed), and the known behaviours must hold.
func TestProbeEveryServer(t *testing.T) {
	needPython(t)
	ctx := context.Background()
	r, cells := prepared(t, Options{Shapes: []server.Shape{{Workers: 1, Threads: 2}}})
	for _, c := range probeCells(cells) {
		id := c.Status.Adapter.ID
		t.Run(id, func(t *testing.T) {
			conf := r.probeOne(ctx, c, probe.Cases())
			if conf.Failed != "" {
				t.Fatal(conf.Failed)
			}
			if n := conf.Pass + conf.Warn + conf.Fail; n != len(probe.Cases()) || conf.Error != 0 {
				t.Errorf("%d of %d cases judged, %d not run", n, len(probe.Cases()), conf.Error)
			}
			got := map[string]string{}
			var fails []string
			for _, pc := range conf.Cases {
				got[pc.ID] = pc.Outcome
				if pc.Outcome != "pass" {
					fails = append(fails, pc.ID+"="+pc.Outcome)
				}
				if strings.Contains(pc.Detail, "stopped answering") {
					t.Errorf("%s: %s", pc.ID, pc.Detail)
				}
			}
			t.Logf("%s %s: score %.2f; %s", id, conf.Version, conf.Score, strings.Join(fails, " "))
			for _, k := range knownOutcomes {
				if k.server == id && k.version == conf.Version && got[k.probe] != string(k.want) {
					t.Errorf("%s: %s, want %s", k.probe, got[k.probe], k.want)
				}
			}
			if left := proc.Tagged(r.tag); len(left) > 0 {
				t.Errorf("tagged processes left after probing: %v", left)
			}
		})
	}
}

// Only servers that finished a trial are judged by the suites: one that
// never served the app is out of the verdict already, and a run whose
// servers cannot start must fail fast.
func TestServedCells(t *testing.T) {
	cell := func(id string) Cell { return Cell{Status: server.Status{Adapter: &server.Adapter{ID: id}}} }
	cells := []Cell{cell("a"), cell("a"), cell("b"), cell("c")}
	runs := []results.Run{{Trials: nil}, {Trials: []results.Trial{{}}}, {Error: "never ready"}, {Trials: []results.Trial{{}}}}
	var got []string
	for _, c := range servedCells(cells, runs) {
		got = append(got, c.Status.Adapter.ID)
	}
	if strings.Join(got, ",") != "a,a,c" {
		t.Errorf("served cells %v, want a,a,c", got)
	}
}
