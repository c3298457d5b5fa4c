package front

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

// varnishStorage is the cache: big enough for the bundled app's cacheable
// answers (10,000 items of ~100 bytes), small enough for a laptop.
const varnishStorage = "malloc,64m"

// varnishCC compiles the VCL without optimisation: compiling it is most of
// a private Varnish's start (about 1.5 s at Debian's -O2 on a busy 2-core
// machine, about 40% less at -O0), paid on every trial, while the code it
// makes runs a few branches per request, where -O2 gains nothing
// measurable. Only the benchmark's Varnish uses it; deploy/ leaves
// Varnish's default.
const varnishCC = "exec gcc -O0 -pthread -fpic -shared -Wl,-x -o %o %s"

// varnishSpec writes the VCL and returns varnishd's command line: the
// manager in the foreground (-F) so the reaper owns it, no jail (-j none:
// a private instance needs no privilege separation, and it works unprivileged),
// no management port (-T none), its own working directory (-n), which is
// also where varnishstat finds its counters.
func (f *Front) varnishSpec(s Spec) (proc.Spec, error) {
	bin, err := lookPath("varnishd")
	if err != nil {
		return proc.Spec{}, Check(Varnish)
	}
	if strings.TrimSpace(s.Config.VCL) == "" {
		return proc.Spec{}, fmt.Errorf("front varnish: no VCL to serve")
	}
	vcl := filepath.Join(s.Dir, "front.vcl")
	if err := os.WriteFile(vcl, []byte(s.Config.VCL), 0o644); err != nil {
		return proc.Spec{}, fmt.Errorf("front varnish: %w", err)
	}
	argv := []string{bin, "-F", "-j", "none", "-n", f.varnishDir(), "-a", f.addr,
		"-f", vcl, "-T", "none", "-s", varnishStorage, "-p", "cc_command=" + varnishCC}
	for _, p := range s.Config.VarnishParams {
		argv = append(argv, "-p", p)
	}
	return proc.Spec{Argv: argv, Dir: s.Dir}, nil
}

func (f *Front) varnishDir() string { return filepath.Join(f.dir, "varnish") }

// varnishCounters reads varnishstat -j into name → value.
func (f *Front) varnishCounters(ctx context.Context) (map[string]int64, error) {
	bin, err := lookPath("varnishstat")
	if err != nil {
		return nil, Check(Varnish)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-n", f.varnishDir(), "-t", "3", "-j", "-f", "MAIN.*")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("varnishstat: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseVarnishstat(out)
}

// parseVarnishstat reads varnishstat -j: since Varnish 6.5 the counters sit
// under "counters"; before, at the top level beside "timestamp".
func parseVarnishstat(b []byte) (map[string]int64, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("varnishstat -j: %w", err)
	}
	if c, ok := top["counters"]; ok {
		if err := json.Unmarshal(c, &top); err != nil {
			return nil, fmt.Errorf("varnishstat -j: counters: %w", err)
		}
	}
	out := map[string]int64{}
	for name, raw := range top {
		if !strings.Contains(name, ".") {
			continue // "version", "timestamp"
		}
		var c struct {
			Value *json.Number `json:"value"`
		}
		if err := json.Unmarshal(raw, &c); err != nil || c.Value == nil {
			continue
		}
		v, err := c.Value.Int64()
		if err != nil {
			continue
		}
		out[name] = v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("varnishstat -j: no counters")
	}
	return out, nil
}

// varnishDelta fills the counters from two snapshots.
func varnishDelta(before, after map[string]int64) *results.VarnishCounters {
	d := func(name string) int64 { return max(0, after["MAIN."+name]-before["MAIN."+name]) }
	return &results.VarnishCounters{
		ClientRequests: d("client_req"), CacheHits: d("cache_hit"), CacheMisses: d("cache_miss"),
		CacheHitPass: d("cache_hitpass"), Passes: d("s_pass"), BackendReqs: d("backend_req"),
		BackendConn: d("backend_conn"), BackendReuse: d("backend_reuse"), BackendRecycle: d("backend_recycle"),
		BackendFail: d("backend_fail"), BackendBusy: d("backend_busy"), BackendUnhealthy: d("backend_unhealthy"),
		BackendRetry: d("backend_retry"), FetchFailed: d("fetch_failed"), Synth: d("s_synth"),
		Client400: d("client_req_400"), Bans: d("bans_added"),
	}
}
