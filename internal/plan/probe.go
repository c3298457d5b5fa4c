package plan

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/pyapp"
	"github.com/wsgibench/wsgibench/internal/results"
	"golang.org/x/sys/unix"
)

// suiteServer is a server serving the probe app, as packages probe and
// trouble drive it; Restart replaces one a probe or a scenario knocked
// over.
type suiteServer struct {
	r     *runner
	cell  Cell
	as    appSpec
	s     *started
	front *front.Front // in front of s when the cell has a front; its clients go through it
	// life is the context the server was last started with: a server
	// lives until it ends (package proc stops it then), so a restart in
	// Reload launches with it rather than with the reload's own, shorter
	// one, which would stop the new server as soon as the reload was over.
	life context.Context
}

// Addr is where the suite's clients connect: the front, when there is one.
func (p *suiteServer) Addr() string {
	if p.front != nil {
		return p.front.Addr()
	}
	return p.s.addr
}
func (p *suiteServer) Workers() []int { return p.s.group.Workers() }
func (p *suiteServer) Main() int      { return p.s.group.Pid() }

func (p *suiteServer) Restart(ctx context.Context) error {
	p.stop()
	return p.start(ctx)
}

// start launches the server around the suite's app, then its front.
func (p *suiteServer) start(ctx context.Context) error {
	p.life = ctx
	s, err := p.r.launch(ctx, p.cell, p.as)
	if err != nil {
		if s != nil && s.group != nil {
			s.group.Stop()
		}
		return err
	}
	p.s = s
	if p.cell.hasFront() {
		if p.front, err = p.r.startFront(ctx, p.cell, s); err != nil {
			p.stop()
			return fmt.Errorf("starting %s in front: %w", p.cell.Front, err)
		}
	}
	return nil
}

// Reload reloads the app by the server's own graceful means, the signal
// its record names, sent to its main process. A server without one is
// restarted the way it would be in production: stopped (gracefully), then
// started again on the same port. That launch takes the context the suite
// started the server with, not ctx: package proc stops a server when its
// launch context ends, and ctx (the reload's own) ends as soon as the
// reload has been checked. ctx is not used otherwise; the restart's
// readiness is bounded by the run's ready timeout.
func (p *suiteServer) Reload(ctx context.Context) (how string, graceful bool, err error) {
	a := p.cell.Status.Adapter
	if name := a.Facts.Reload.Signal; name != "" {
		sig := unix.SignalNum(name)
		if sig == 0 {
			return "", false, fmt.Errorf("%s: unknown reload signal %q", a.ID, name)
		}
		if err := unix.Kill(p.Main(), sig); err != nil {
			return "", false, fmt.Errorf("%s: sending %s: %w", a.ID, name, err)
		}
		return name + " to the main process", true, nil
	}
	_, port, err := net.SplitHostPort(p.s.addr)
	if err != nil {
		return "", false, err
	}
	as := p.as
	as.port, _ = strconv.Atoi(port)
	// Only the server restarts: a front in front of it stays up, as in
	// production, and finds the new server on the same port.
	if p.s.group != nil {
		p.s.group.Stop()
	}
	s, err := p.r.launch(p.life, p.cell, as)
	if err != nil {
		if s != nil && s.group != nil {
			s.group.Stop()
		}
		return "", false, fmt.Errorf("restarting on port %s: %w", port, err)
	}
	p.s = s
	return "no graceful reload: stopped, then started again on the same port", false, nil
}

func (p *suiteServer) stop() {
	if p.front != nil {
		p.front.Stop()
		p.front = nil
	}
	if p.s != nil && p.s.group != nil {
		p.s.group.Stop()
	}
}

// startSuite starts c's server around the probe app, for a suite.
func (r *runner) startSuite(ctx context.Context, c Cell) (*suiteServer, error) {
	marks := filepath.Join(r.work, "probe-marks-"+c.Status.Adapter.ID)
	if err := os.MkdirAll(marks, 0o777); err == nil {
		os.Chmod(marks, 0o777) // Apache's children write here as www-data
	}
	ps := &suiteServer{r: r, cell: c, as: appSpec{
		app: pyapp.ProbeSpec, dir: r.checkDir(), ready: "/plaintext",
		env: []string{pyapp.EnvProbeDir + "=" + marks},
	}}
	if err := ps.start(ctx); err != nil {
		return nil, err
	}
	return ps, nil
}

// probeCells picks, for each server, the cells it is probed in: its first
// in the plan, directly, then once behind each front the plan names.
// Conformance is the server's, not the shape's, so once each is enough;
// the direct probes come first because a case behind a front is judged
// against the server's direct verdict (see probe.Through).
func probeCells(cells []Cell) []Cell {
	seen := map[string]bool{}
	var direct, behind []Cell
	for _, c := range cells {
		id := c.Status.Adapter.ID
		if !seen[id] {
			seen[id] = true
			d := c
			d.Front = ""
			direct = append(direct, d)
		}
		if k := id + "|" + string(c.Front); c.hasFront() && !seen[k] {
			seen[k] = true
			behind = append(behind, c)
		}
	}
	return append(direct, behind...)
}

// Mark and Forwarded let the probes count what the suite's front passes on
// to the server around each case (probe.Front).
func (p *suiteServer) Mark(ctx context.Context) (any, error) {
	if p.front == nil {
		return nil, fmt.Errorf("no front")
	}
	return p.front.Quiet(ctx)
}

func (p *suiteServer) Forwarded(ctx context.Context, mark any) (int64, error) {
	before, ok := mark.(front.Snapshot)
	if !ok || p.front == nil {
		return 0, fmt.Errorf("no front snapshot")
	}
	after, err := p.front.Quiet(ctx)
	if err != nil {
		return 0, err
	}
	return p.front.Forwarded(before, after)
}

// troubleCells picks, for each server and front, the first cell: the
// scenarios run once directly and once through each front, to show which
// trouble the front absorbs.
func troubleCells(cells []Cell) []Cell {
	seen := map[string]bool{}
	var out []Cell
	for _, c := range cells {
		if k := c.Status.Adapter.ID + "|" + string(c.Front); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// eachServer runs one suite on every server, once each at its first cell:
// run gives the server's log line (or why it failed) and keeps its result
// in file, which is written after each server. An interrupted server is
// not a result and is not kept.
func (r *runner) eachServer(ctx context.Context, suite string, servers []Cell, file *results.File, outPath string,
	run func(c Cell) (line, failed string, keep func())) error {
	r.progress().Phase(suite, len(servers))
	for n, c := range servers {
		if ctx.Err() != nil {
			return nil
		}
		r.progress().Step(StepEvent{Phase: suite, Index: n, Of: len(servers), Cell: serverName(c)})
		began := time.Now()
		line, failed, keep := run(c)
		if ctx.Err() != nil {
			return nil
		}
		keep()
		name := c.Status.Adapter.ID
		if c.hasFront() {
			name += " behind " + string(c.Front)
		}
		prefix := fmt.Sprintf("[%s %d/%d] %-18s", suite, n+1, len(servers), name)
		if failed != "" {
			fmt.Fprintf(r.log, "%s  FAILED: %s\n", prefix, oneLine(failed))
		} else {
			fmt.Fprintf(r.log, "%s  %s (%s)\n", prefix, line, time.Since(began).Round(100*time.Millisecond))
		}
		if err := results.Write(outPath, file); err != nil {
			return err
		}
	}
	return nil
}

// conformance runs the probes against every server, serving the probe app
// (not the app under test: the probes ask what the server hands any app).
func (r *runner) conformance(ctx context.Context, cells []Cell, file *results.File, outPath string) error {
	cases := probe.Cases()
	if r.o.ProbeCases != nil {
		cases = r.o.ProbeCases
	}
	return r.eachServer(ctx, "probes", probeCells(cells), file, outPath, func(c Cell) (string, string, func()) {
		conf := r.probeOne(ctx, c, cases, directOutcomes(file.Conformance, c.Status.Adapter.ID))
		var failed []string
		for _, pc := range conf.Cases {
			if pc.Outcome == string(probe.Fail) {
				failed = append(failed, pc.ID)
			}
		}
		line := fmt.Sprintf("%d pass, %d warn, %d fail", conf.Pass, conf.Warn, conf.Fail)
		if conf.Error > 0 {
			line += fmt.Sprintf(", %d not run", conf.Error)
		}
		if len(failed) > 0 {
			line += " (" + strings.Join(failed, ", ") + ")"
		}
		if c.hasFront() {
			line = fmt.Sprintf("%s blocked %d, normalised %d, passed on %d; %s", c.Front, conf.Blocked, conf.Normalised, conf.Passed, line)
		}
		return line, conf.Failed, func() { file.Conformance = append(file.Conformance, conf) }
	})
}

// directOutcomes is each case's outcome when server was probed directly.
func directOutcomes(confs []results.Conformance, server string) map[string]probe.Outcome {
	out := map[string]probe.Outcome{}
	for _, conf := range confs {
		if conf.Server != server || conf.Front != "" {
			continue
		}
		for _, pc := range conf.Cases {
			out[pc.ID] = probe.Outcome(pc.Outcome)
		}
	}
	return out
}

// probeOne probes c's server, through c's front when it has one; direct
// holds the server's direct outcomes, to tell what the front changed.
func (r *runner) probeOne(ctx context.Context, c Cell, cases []probe.Case, direct map[string]probe.Outcome) results.Conformance {
	a := c.Status.Adapter
	conf := results.Conformance{Server: a.ID, Front: frontName(c.Front), Version: c.Status.Version, Shape: results.Shape(c.Shape)}
	ps, err := r.startSuite(ctx, c)
	if err != nil {
		conf.Failed = "not started: " + err.Error()
		return conf
	}
	defer ps.stop()
	var o probe.Options
	if c.hasFront() {
		o.Front = ps
	}
	res := probe.Run(ctx, ps, cases, o)
	for _, pr := range res {
		pc := results.ProbeCase{
			ID: pr.Case.ID, Group: string(pr.Case.Group), Title: pr.Case.Title, Ref: pr.Case.Ref,
			Outcome: string(pr.Outcome), Detail: pr.Detail, Forwarded: pr.Forwarded,
		}
		if c.hasFront() {
			pass := probe.Through(pr, direct[pr.Case.ID])
			pc.Passage = string(pass)
			switch pass {
			case probe.Blocked:
				conf.Blocked++
			case probe.Normalised:
				conf.Normalised++
				pc.Direct = string(direct[pr.Case.ID])
			case probe.Passed:
				conf.Passed++
			}
		}
		conf.Cases = append(conf.Cases, pc)
	}
	t := probe.Count(res)
	conf.Pass, conf.Warn, conf.Fail, conf.Error = t.Pass, t.Warn, t.Fail, t.Error
	conf.Score, _ = probe.Score(t)
	return conf
}
