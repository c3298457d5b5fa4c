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

	// The published parser-flaw classes (probe/parsing.go), each
	// confirmed by hand with raw sockets against the server started as
	// wsgibench starts it.
	{"cheroot", "9.0.0+ds1", "te-chunked-twice", probe.Fail},      // SMUGGLED served after "chunked, chunked" + CL
	{"cheroot", "9.0.0+ds1", "trailer-smuggle", probe.Fail},       // SMUGGLED served from the trailer section
	{"cheroot", "9.0.0+ds1", "cl-space-before-colon", probe.Fail}, // "Content-Length : 45" frames 45 bytes
	{"cheroot", "9.0.0+ds1", "nul-method", probe.Fail},            // REQUEST_METHOD "G\x00T"
	{"eventlet", "0.33.1", "cl-space-before-colon", probe.Fail},   // field ignored, body served as a request
	{"eventlet", "0.33.1", "cr-splits-header", probe.Fail},        // the app sees X-Smuggled
	{"gevent", "22.10.2", "te-nbsp", probe.Fail},                  // "\xa0chunked" is chunked: SMUGGLED served
	{"gevent", "22.10.2", "te-two-lines", probe.Fail},             // "chunked,chunked" ignored: the chunk is answered 400
	{"gevent", "22.10.2", "trailer-smuggle", probe.Fail},          // the trailer section is answered as a request (CVE-2023-41419)
	{"gunicorn-sync", "20.1.0", "cl-plus-underscore", probe.Fail}, // int("+1_0") == 10
	{"gunicorn-sync", "20.1.0", "chunk-size-space", probe.Fail},   // int(" 5", 16)
	{"gunicorn-sync", "20.1.0", "te-chunked-twice", probe.Warn},   // 500, not 400/501
	{"paste", "3.5.2", "pipeline-after-error", probe.Fail},        // Content-Length: abc, then SMUGGLED served
	{"tornado", "6.2", "te-two-lines", probe.Fail},                // GHSA-753j-mpmx-qq6g: the chunk is answered 400
	{"tornado", "6.2", "chunk-size-underscore", probe.Fail},       // GHSA-qppv-j76h-2rpx: 0_5 read as 5
	{"twisted", "22.4.0", "chunk-size-sign", probe.Pass},          // fixed in 22.4.0 (CVE-2022-24801)
	{"twisted", "22.4.0", "nul-method", probe.Fail},               // REQUEST_METHOD "G\x00T"
	{"waitress", "2.1.2", "te-chunked-twice", probe.Fail},         // as cl-and-te: SMUGGLED served
	{"waitress", "2.1.2", "chunk-size-sign", probe.Pass},          // fixed in 2.1.1 (CVE-2022-24761)
	{"werkzeug", "2.2.2", "te-nbsp", probe.Fail},                  // .strip() makes "\xa0chunked" chunked
	{"werkzeug", "2.2.2", "chunk-size-overflow", probe.Fail},      // the server process dies (SIGSEGV) when the client hangs up
	{"wsgiref", "Python 3.11.2", "cr-splits-header", probe.Fail},  // python/cpython#114782
	{"uvicorn", "0.17.6", "te-chunked-twice", probe.Pass},
}

// knownCrashes are probes known to kill a server version (confirmed by
// hand like knownOutcomes): their "stopped answering" and the restart
// are the finding, not a probe misbehaving.
var knownCrashes = []struct{ server, version, probe string }{
	{"werkzeug", "2.2.2", "chunk-size-overflow"}, // SIGSEGV once the client hangs up
}

func knownCrash(server, version, id string) bool {
	for _, k := range knownCrashes {
		if k.server == server && k.version == version && k.probe == id {
			return true
		}
	}
	return false
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
			conf := r.probeOne(ctx, c, probe.Cases(), nil)
			if conf.Failed != "" {
				t.Fatal(conf.Failed)
			}
			if n := conf.Pass + conf.Warn + conf.Fail; n != len(probe.Cases()) || conf.Error != 0 {
				t.Errorf("%d of %d cases judged, %d not run", n, len(probe.Cases()), conf.Error)
			}
			got := map[string]string{}
			var fails []string
			// A known crash lands when the server notices the client hung
			// up, which on a busy machine can be after the runner's check
			// that it still answers: then the next case sees it stop. That
			// case's verdict is the crash's, and the crashing case may
			// read warn instead of fail.
			late := map[string]bool{}
			for i, pc := range conf.Cases {
				got[pc.ID] = pc.Outcome
				if pc.Outcome != "pass" {
					fails = append(fails, pc.ID+"="+pc.Outcome)
				}
				if !strings.Contains(pc.Detail, "stopped answering") || knownCrash(id, conf.Version, pc.ID) {
					continue
				}
				if i > 0 && knownCrash(id, conf.Version, conf.Cases[i-1].ID) && conf.Cases[i-1].Outcome != string(probe.Fail) {
					late[conf.Cases[i-1].ID], late[pc.ID] = true, true
					t.Logf("%s: the crash %s causes was seen one case late: %s", pc.ID, conf.Cases[i-1].ID, pc.Detail)
					continue
				}
				t.Errorf("%s: %s", pc.ID, pc.Detail)
			}
			t.Logf("%s %s: score %.2f; %s", id, conf.Version, conf.Score, strings.Join(fails, " "))
			for _, k := range knownOutcomes {
				if k.server == id && k.version == conf.Version && got[k.probe] != string(k.want) && !late[k.probe] {
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
