package results

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFrontRoundTrip: a trial behind a front keeps its counters through
// the file, and a direct trial writes no front at all.
func TestFrontRoundTrip(t *testing.T) {
	hit, reuse := 0.3, 1.0
	f := sample()
	direct := f.Runs[0]
	behind := f.Runs[0]
	behind.Front = "varnish"
	behind.Trials = []Trial{f.Runs[0].Trials[0]}
	behind.Trials[0].Front = &Front{Name: "varnish", Version: "7.1.1", Connection: "http keep-alive", CPUs: []int{0},
		SharesCPUs: true, CPUSeconds: 0.7, CPUUse: 0.24, ServerRequests: 1500, ServerRPS: 500, HitRatio: &hit, ReuseRatio: &reuse,
		Varnish: &VarnishCounters{ClientRequests: 2000, CacheHits: 500, CacheMisses: 1100, BackendReqs: 1500, BackendReuse: 1500, Bans: 400}}
	nginx := behind
	nginx.Front = "nginx"
	nginx.Trials = []Trial{f.Runs[0].Trials[0]}
	nginx.Trials[0].Front = &Front{Name: "nginx", Connection: "http keep-alive", ConnectionNote: "n", Bound: true,
		Nginx: &NginxCounters{Accepted: 4, Handled: 4, Requests: 2000, UpstreamRequests: 1990, Status502: 10, UpstreamErrors: 10}}
	f.Runs = []Run{direct, behind, nginx}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Runs, f.Runs) {
		t.Errorf("round trip changed the runs:\n got %+v\nwant %+v", got.Runs, f.Runs)
	}
	b, _ := os.ReadFile(path)
	for _, k := range []string{`"front": "varnish"`, `"front_bound": true`, `"backend_reuse": 1500`, `"hit_ratio": 0.3`, `"server_rps": 500`, `"upstream_requests": 1990`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("results.json lacks %s", k)
		}
	}
	if direct.Key() == behind.Key() || !strings.HasSuffix(behind.Key(), " behind varnish") {
		t.Errorf("keys %q and %q", direct.Key(), behind.Key())
	}
}
