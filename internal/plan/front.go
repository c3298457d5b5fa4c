package plan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/deploy"
	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

// frontTag marks the fronts' process trees: a tag names one live group, and
// the front runs beside the server, which carries the runner's own tag.
func (r *runner) frontTag() string { return r.tag + "-front" }

// withFronts repeats every cell once per front, so "--front none,varnish"
// compares each server directly and behind Varnish in the same interleaved
// order. Only none leaves the cells as they are.
func withFronts(cells []Cell, fronts []front.Kind) []Cell {
	if len(fronts) == 0 || (len(fronts) == 1 && fronts[0] == front.None) {
		return cells
	}
	out := make([]Cell, 0, len(cells)*len(fronts))
	for _, c := range cells {
		for _, f := range fronts {
			c.Front = f
			out = append(out, c)
		}
	}
	return out
}

// frontName is the front as results record it: "" for none.
func frontName(k front.Kind) string {
	if k == front.None {
		return ""
	}
	return string(k)
}

// checkFronts fails in one line, before any server starts, when a front
// cannot run on this machine.
func checkFronts(fronts []front.Kind) error {
	for _, f := range fronts {
		if f == front.None {
			continue
		}
		if err := front.Check(f); err != nil {
			return err
		}
	}
	return nil
}

// maxSocketPath is the longest unix socket path bind(2) takes (sun_path
// is 108 bytes with its NUL).
const maxSocketPath = 107

// frontSocket is the unix socket c's server also listens on when nginx is
// in front and its record says its experts connect nginx that way
// (gunicorn: HTTP over a unix socket; uWSGI: its uwsgi protocol); none
// otherwise, and none when dir is too deep for a socket path (the front
// then reaches the server over TCP, and connection says so).
func frontSocket(c Cell, dir string) deploy.Upstream {
	if c.Front != front.Nginx {
		return deploy.Upstream{}
	}
	reach, ok := c.Status.Adapter.Facts.NginxReach()
	if !ok {
		return deploy.Upstream{}
	}
	path := filepath.Join(dir, "front.sock")
	if len(path) > maxSocketPath {
		return deploy.Upstream{}
	}
	return deploy.Upstream{Protocol: reach.Protocol, Socket: path}
}

// connection says how the front reaches the server, the way the server's
// experts deploy it, and why it differs when it does. What deploy's site
// decides (upstream keepalive or not) is read from the site itself.
func connection(k front.Kind, facts server.Facts, up deploy.Upstream, cfg front.Config) (how, note string) {
	keep := strings.Contains(cfg.NginxSite, "\n    keepalive ")
	switch {
	case k == front.Nginx && up.Protocol == server.UWSGI:
		how = "uwsgi protocol over a unix socket, one connection per request"
	case k == front.Nginx && up.Socket != "" && keep:
		how = "http keep-alive over a unix socket"
	case k == front.Nginx && up.Socket != "":
		how = "http over a unix socket, one connection per request (the server closes each)"
	case keep:
		how = "http keep-alive"
	default:
		how = "http, one connection per request (the server closes each)"
	}
	if reach, ok := facts.NginxReach(); ok && k == front.Nginx && up.Socket == "" {
		note = fmt.Sprintf("its experts connect nginx over %s; measured over loopback TCP because the run's directory is too deep for a unix socket path", reach.Protocol)
	}
	return how, note
}

// startFront puts c's front in front of the started server s: the
// configuration deploy writes for this server at this shape, pointing at
// its loopback address, on the server's CPUs. ctx must outlive the front.
func (r *runner) startFront(ctx context.Context, c Cell, s *started) (*front.Front, error) {
	a := c.Status.Adapter
	dir := filepath.Join(r.work, fmt.Sprintf("%03d-%s-%s", r.n, a.ID, c.Front))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg, err := front.FromDeploy(deploy.Input{
		Server: a.ID, Version: c.Status.Version, Shape: results.Shape(c.Shape),
		Settings: s.launch.Settings, Argv: s.launch.Argv, App: r.app,
		Listen: s.addr, HealthPath: r.o.ReadyPath, Upstream: s.upstream,
		// The concurrency the run offers: deploy sizes the proxy's
		// connection cap so that a load the server is measured serving
		// gets through it.
		Evidence: deploy.Evidence{Connections: r.o.Connections, Workload: c.Workload.Name},
	}, filepath.Join(dir, "deploy"))
	if err != nil {
		return nil, err
	}
	how, note := connection(c.Front, a.Facts, s.upstream, cfg)
	return front.Start(ctx, front.Spec{
		Kind: c.Front, Dir: dir, Host: r.o.Host, Config: cfg,
		CPUs: r.pinCPUs(), ServerCPUs: r.pinCPUs(), Tag: r.frontTag(),
		ReadyPath: r.o.ReadyPath, ReadyTimeout: r.o.ReadyTimeout,
		Connection: how, ConnectionNote: note,
	})
}

// frontError is a front that would not start in front of a ready server:
// the front's or its config's fault, not the server's.
type frontError struct{ err error }

func (e *frontError) Error() string { return e.err.Error() }
func (e *frontError) Unwrap() error { return e.err }

// frontMeter measures the front over one interval: its counters before
// and after, and its process tree's CPU.
type frontMeter struct {
	f       *front.Front
	before  front.Snapshot
	sampler *proc.Sampler
	began   time.Time
}

func startMeter(ctx context.Context, f *front.Front) (*frontMeter, error) {
	if f == nil {
		return nil, nil
	}
	before, err := f.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return &frontMeter{f: f, before: before, sampler: f.Group().StartSampling(200 * time.Millisecond), began: time.Now()}, nil
}

// stopSampling ends the CPU sampling at the end of the load, before the
// counters are read (reading them costs the front a little CPU).
func (m *frontMeter) stopSampling() (proc.Stats, time.Duration) {
	if m == nil {
		return proc.Stats{}, 0
	}
	return m.sampler.Stop(), time.Since(m.began)
}

func (m *frontMeter) result(ctx context.Context, usage proc.Stats, interval time.Duration) (*results.Front, error) {
	if m == nil {
		return nil, nil
	}
	after, err := m.f.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	fr, err := m.f.Result(m.before, after, usage.CPU, interval)
	if err != nil {
		return nil, err
	}
	return &fr, nil
}
