package plan

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Parallelism ceiling: how many cores a server can actually use. The
// trials pin the server to the CPUs the generator leaves it, which on a
// small machine is one; there a single process loses nothing to the GIL
// and a pre-forked server gains nothing from its processes. The ceiling is
// measured with the server allowed on every CPU of this machine and more
// connections than it has processes, as the CPU-seconds per second its
// whole process tree burns: a GIL-bound process stays near 1.0, a
// pre-forked one approaches min(processes, cores). The generator then
// shares the CPUs; its share, and whatever else the machine was doing,
// are measured and recorded beside the ceiling, and a ceiling that filled
// every CPU is marked machine-bound (the server could have used more).

// machineBoundShare is how full the allowed CPUs must be (server,
// generator and other load together) for the machine, not the server, to
// be the limit.
const machineBoundShare = 0.85

// busyOtherWarn is how much CPU other programs may take during a ceiling
// measurement before it carries a warning.
const busyOtherWarn = 0.25

// ceilingCells picks one cell per (server, shape) among cells whose server
// served trials: the first workload's, which is the one ranked by default.
func ceilingCells(cells []Cell, runs []results.Run) []Cell {
	var out []Cell
	seen := map[string]bool{}
	for _, c := range servedCells(cells, runs) {
		k := c.Status.Adapter.ID + " " + c.Shape.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// ceilings measures every server's ceiling at each of its shapes, writing
// the results file after each.
func (r *runner) ceilings(ctx context.Context, cells []Cell, file *results.File, outPath string) error {
	if r.skipCeilings(file) {
		return nil
	}
	var racing []Cell
	full := r.fullShapes(cells, file.Runs)
	for _, c := range ceilingCells(cells, file.Runs) {
		if full[c.Status.Adapter.ID+" "+c.Shape.String()] {
			racing = append(racing, c)
		}
	}
	todo := unfinishedCeilings(racing, file.Ceilings)
	r.progress().Phase(PhaseCeiling, len(todo))
	for n, c := range todo {
		if ctx.Err() != nil {
			return nil
		}
		r.progress().Step(StepEvent{Phase: PhaseCeiling, Index: n, Of: len(todo), Cell: c.Key()})
		ce := r.ceiling(ctx, c)
		if ctx.Err() != nil {
			return nil // an interrupted measurement is not a result
		}
		file.Ceilings = append(file.Ceilings, ce)
		prefix := fmt.Sprintf("[ceiling %d/%d] %-18s %-6s %-9s", n+1, len(todo), c.Status.Adapter.ID, c.Shape, c.Workload.Name)
		if ce.Error != "" {
			fmt.Fprintf(r.log, "%s  FAILED: %s\n", prefix, ce.Error)
		} else {
			bound := ""
			if ce.MachineBound {
				bound = " (machine-bound: it could use more)"
			}
			fmt.Fprintf(r.log, "%s  %.2f cores of %d%s; generator %.2f, other %.2f; %.0f req/s\n",
				prefix, ce.Cores, len(ce.CPUs), bound, ce.GeneratorCores, ce.OtherCores, ce.RPS)
		}
		if err := results.Write(outPath, file); err != nil {
			return err
		}
	}
	return nil
}

// startOn starts a cell's server like start, but allowed on cpus.
func (r *runner) startOn(ctx context.Context, c Cell, cpus []int) (*started, error) {
	return r.launch(ctx, c, appSpec{app: r.app, dir: r.appDir, ready: r.o.ReadyPath, db: true, cpus: cpus})
}

// shareCPUs lets the generator run on every allowed CPU, for measurements
// where the server must have them all; the returned func pins it back.
func (r *runner) shareCPUs(all []int) func() {
	if r.cpus.shared {
		return func() {}
	}
	if err := load.PinSelf(all); err != nil {
		fmt.Fprintf(r.log, "wsgibench: warning: could not let the generator onto CPUs %v: %v\n", all, err)
	}
	return func() {
		if err := load.PinSelf(r.cpus.generator); err != nil {
			fmt.Fprintf(r.log, "wsgibench: warning: could not pin the load generator back to CPUs %v: %v\n", r.cpus.generator, err)
		}
	}
}

// ceiling measures one cell's ceiling on a fresh server.
func (r *runner) ceiling(ctx context.Context, c Cell) results.Ceiling {
	all := r.cpus.all
	ce := results.Ceiling{Server: c.Status.Adapter.ID, Shape: results.Shape(c.Shape), Workload: c.Workload.Name,
		CPUs: all, SharedWithGenerator: true, Connections: max(r.o.Connections, 2*c.Shape.Workers)}
	defer r.shareCPUs(all)()
	s, err := r.startOn(ctx, c, all)
	if err != nil {
		ce.Error = oneLine(err.Error())
		if s != nil && s.group != nil {
			s.group.Stop()
		}
		return ce
	}
	defer s.group.Stop()
	cfg := load.Config{Addr: s.addr, Mix: c.Workload.Mix, Connections: ce.Connections, Timeout: r.o.Timeout, Seed: r.o.Seed}
	if warm := max(r.o.Warmup, 300*time.Millisecond); warm > 0 {
		cfg.Duration = warm
		if _, err := load.Run(ctx, cfg); err != nil {
			ce.Error = "warm-up: " + oneLine(err.Error())
			return ce
		}
	}
	cfg.Duration = r.o.Duration
	busy0, berr := cpuBusy(all)
	began := time.Now()
	sampler := s.group.StartSampling(200 * time.Millisecond)
	res, err := load.Run(ctx, cfg)
	usage := sampler.Stop()
	busy1, berr1 := cpuBusy(all)
	elapsed := time.Since(began).Seconds()
	if err != nil {
		ce.Error = "load: " + oneLine(err.Error())
		return ce
	}
	select {
	case <-s.group.Done():
		ce.Error = "the server exited during the measurement: " + lastOutput(s)
		return ce
	default:
	}
	ce.DurationS = elapsed
	ce.Processes = usage.MaxProcs
	ce.Cores = usage.CPU.Seconds() / elapsed
	ce.GeneratorCores = res.GeneratorCPU.Seconds() / elapsed
	if res.Elapsed > 0 {
		ce.RPS = float64(res.Requests-res.Errors.Status-res.Errors.Unexpected) / res.Elapsed.Seconds()
	}
	if berr == nil && berr1 == nil {
		ce.OtherCores = max(0, (busy1-busy0)/elapsed-ce.Cores-ce.GeneratorCores)
	}
	ce.MachineBound = ce.Cores+ce.GeneratorCores+ce.OtherCores >= machineBoundShare*float64(len(all))
	if res.Requests == 0 {
		ce.Error = "no request was answered"
	}
	if ce.OtherCores > busyOtherWarn {
		ce.Warnings = append(ce.Warnings, fmt.Sprintf("other programs used %.2f cores meanwhile, which the server could not", ce.OtherCores))
	}
	if res.GeneratorBound {
		ce.Warnings = append(ce.Warnings, "the load generator was CPU-bound: the ceiling may read low")
	}
	if res.Errors.Total() > 0 {
		ce.Warnings = append(ce.Warnings, fmt.Sprintf("%d requests failed", res.Errors.Total()))
	}
	return ce
}

// checkProjections validates the projection on this machine: for each
// measured ceiling whose cell has a capacity on the pinned CPUs, predict
// the capacity on every CPU this machine allows, then measure it (server
// and generator sharing them) and record the error.
func (r *runner) checkProjections(ctx context.Context, cells []Cell, file *results.File, outPath string) error {
	all := r.cpus.all
	from := max(len(r.cpus.server), 1)
	if len(all) <= from {
		file.Warnings = append(file.Warnings, fmt.Sprintf("projection check skipped: the server was measured on all %d CPUs this machine allows", len(all)))
		return nil
	}
	tg := results.Target{CPUs: len(all), MeasuredCPUs: from, Projected: true}
	for _, ce := range file.Ceilings {
		if ctx.Err() != nil {
			return nil
		}
		if ce.Error != "" {
			continue
		}
		i := cellIndex(cells, ce)
		if i < 0 || file.Runs[i].Capacity == nil || file.Runs[i].Capacity.RPS <= 0 {
			continue
		}
		run := file.Runs[i]
		p := rank.ProjectionFor(file, run, tg)
		if p == nil {
			continue
		}
		chk := results.ProjectionCheck{Server: ce.Server, Shape: ce.Shape, Workload: ce.Workload, FromCPUs: from, ToCPUs: len(all),
			Measured1: run.Capacity.RPS, Ceiling: p.Ceiling, Predicted: p.CapacityRPS}
		var perK []float64
		for _, t := range run.Trials {
			if v, ok := stats.CPUMsPerKReq(t); ok {
				perK = append(perK, v)
			}
		}
		if len(perK) > 0 && ce.RPS > 0 {
			chk.CPUMsPerKReqFrom, chk.CPUMsPerKReqTo = stats.Median(perK), ce.Cores/ce.RPS*1e6
		}
		closedCheck(&chk, ce, p)
		restore := r.shareCPUs(all)
		cpu0 := selfCPU()
		began := time.Now()
		capy, err := r.capacityOn(ctx, cells[i], p.CapacityRPS, all)
		chk.GeneratorCores = (selfCPU() - cpu0).Seconds() / time.Since(began).Seconds()
		restore()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil || capy == nil || capy.RPS <= 0 {
			why := "no rate passed"
			if err != nil {
				why = oneLine(err.Error())
			}
			chk.Note = "the capacity search on all CPUs failed: " + why
		} else {
			chk.Measured = capy.RPS
			chk.Error = (chk.Predicted - chk.Measured) / chk.Measured
			// The generator took its share of the CPUs the server was
			// measured on; with it taken out of the prediction too:
			adj := chk.Predicted * (float64(len(all)) - chk.GeneratorCores) / float64(len(all))
			chk.Note = fmt.Sprintf("measured with the generator sharing the %d CPUs (it used %.2f cores on average over the search); "+
				"with that share taken out of the prediction (%.0f req/s) the error is %+.1f%%; the capacity search resolves rates within %.0f%%",
				len(all), chk.GeneratorCores, adj, 100*(adj-chk.Measured)/chk.Measured, 100*capacityResolution)
		}
		file.ProjectionChecks = append(file.ProjectionChecks, chk)
		fmt.Fprintf(r.log, "[projection check] %-18s %-6s capacity predicted %.0f req/s on %d CPUs from %.0f on %d (ceiling %.2f), measured %.0f: error %+.1f%%; "+
			"closed loop predicted %.0f, measured %.0f: error %+.1f%% (%+.1f%% for the %.2f cores left free)\n",
			chk.Server, chk.Shape, chk.Predicted, chk.ToCPUs, chk.Measured1, chk.FromCPUs, chk.Ceiling, chk.Measured, 100*chk.Error,
			chk.PredictedRPS, chk.MeasuredRPS, 100*chk.RPSError, 100*chk.AvailableError, chk.AvailableCores)
		if err := results.Write(outPath, file); err != nil {
			return err
		}
	}
	return nil
}

// cellIndex finds the cell a ceiling was measured on.
func cellIndex(cells []Cell, ce results.Ceiling) int {
	for i, c := range cells {
		if c.Status.Adapter.ID == ce.Server && results.Shape(c.Shape) == ce.Shape && c.Workload.Name == ce.Workload {
			return i
		}
	}
	return -1
}

// closedCheck fills the closed-loop half of a projection check from the
// trials' projection and the ceiling measurement on every CPU.
func closedCheck(chk *results.ProjectionCheck, ce results.Ceiling, p *results.Projection) {
	if p.RPS <= 0 || p.Factor <= 0 || ce.RPS <= 0 {
		return
	}
	chk.PredictedRPS, chk.MeasuredRPS = p.RPS, ce.RPS
	chk.RPSError = (p.RPS - ce.RPS) / ce.RPS
	chk.AvailableCores = max(0, float64(len(ce.CPUs))-ce.GeneratorCores-ce.OtherCores)
	base := p.RPS / p.Factor // the measured median on FromCPUs
	den := math.Min(float64(chk.FromCPUs), p.Ceiling)
	if den > 0 {
		chk.PredictedAvailableRPS = base * math.Min(chk.AvailableCores, p.Ceiling) / den
		chk.AvailableError = (chk.PredictedAvailableRPS - ce.RPS) / ce.RPS
	}
}
