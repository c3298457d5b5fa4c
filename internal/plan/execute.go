package plan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/deploy"
	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/pgsql"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/pyapp"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/workload"
)

// ResultsName is the results file's name inside the output directory.
const ResultsName = "results.json"

// withDefaults fills what the user left unset.
func (o Options) withDefaults() Options {
	if o.Connections <= 0 {
		o.Connections = 32
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Trials <= 0 {
		o.Trials = 5
		if !o.NoRacing {
			o.Trials = RaceTrials
		}
	}
	if o.RaceMetric == "" {
		o.RaceMetric = "rps"
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if len(o.Workloads) == 0 {
		if o.App == "" {
			o.Workloads = []string{workload.Default}
		} else {
			o.Workloads = []string{"GET /"}
		}
	}
	if o.ReadyPath == "" {
		o.ReadyPath = "/"
		if o.App == "" {
			o.ReadyPath = "/plaintext"
		}
	}
	if o.Out == "" {
		o.Out = "wsgibench-out"
	}
	if o.DB == "" {
		o.DB = DBSQLite
		if o.DBDSN != "" {
			o.DB = DBPostgres
		}
	}
	if o.LatencyGoal <= 0 {
		o.LatencyGoal = 100 * time.Millisecond
	}
	if o.CapacityProbe <= 0 {
		o.CapacityProbe = DefaultCapacityProbe
	}
	if o.CapacityProbes <= 0 {
		o.CapacityProbes = 8
	}
	if len(o.Fronts) == 0 {
		o.Fronts = []front.Kind{front.None}
	}
	return o
}

// Execute runs the plan and returns the results file it wrote to
// Out/results.json. The file is rewritten after every finished trial; on
// cancellation the returned error wraps context.Canceled and the file holds
// every trial that finished.
func Execute(ctx context.Context, o Options, log io.Writer, tool string) (*results.File, error) {
	began := time.Now()
	r, cells, err := prepare(ctx, o, log)
	if err != nil {
		return nil, err
	}
	defer r.close()
	o = r.o
	rules := r.raceRules()
	if o.Budget > 0 && r.races() && o.Resume == nil {
		r.deadline = deadline{end: began.Add(o.Budget)}
	}
	det := r.det
	srvCPUs, genCPUs, shared := r.cpus.server, r.cpus.generator, r.cpus.shared
	if !shared {
		if err := load.PinSelf(genCPUs); err != nil {
			fmt.Fprintf(log, "wsgibench: warning: could not pin the load generator to CPUs %v: %v\n", genCPUs, err)
		}
	}
	chosen := map[string]bool{}
	for _, c := range cells {
		chosen[c.Status.Adapter.ID] = true
	}

	file := &results.File{
		Schema: results.Schema, Tool: tool, Started: time.Now().UTC(),
		Machine: describeMachine(),
		Python: results.Python{Executable: det.Python.Executable, Version: det.Python.Version,
			Prefix: det.Python.Prefix, Venv: det.Python.InVenv()},
		Plan: results.Plan{App: r.app, AppDir: r.userAppDir(), Bundled: o.App == "", Workloads: o.Workloads,
			Connections: o.Connections, Rate: o.Rate, Duration: results.Duration(o.Duration),
			Warmup: results.Duration(o.Warmup), Trials: o.Trials, Seed: o.Seed, Racing: rules.record(o.Named)},
		Database: r.dbInfo,
	}
	file.Plan.Scenarios = scenarioRecords(cells)
	file.Machine.ServerCPUs, file.Machine.GeneratorCPUs, file.Machine.SharedCPUs = srvCPUs, genCPUs, shared
	file.Plan.AsRun = o.AsRun
	file.Target = r.target.record()
	if shared {
		file.Warnings = append(file.Warnings, "server and load generator share one CPU: they compete, and absolute numbers understate the server")
	}
	loadModel := "closed"
	if o.Rate > 0 {
		loadModel = "open"
	}
	for _, c := range cells {
		if o.SuitesOnly {
			break
		}
		a := c.Status.Adapter
		file.Runs = append(file.Runs, results.Run{
			Server: a.ID, Version: c.Status.Version, Model: string(a.Model), Language: a.Language,
			Shape: results.Shape(c.Shape), Workload: c.Workload.Name, LoadModel: loadModel,
			Connections: o.Connections, Rate: o.Rate, Front: frontName(c.Front), Trials: []results.Trial{},
		})
		if a.DevOnly != "" {
			run := &file.Runs[len(file.Runs)-1]
			run.NotForProduction = a.DevOnly
			run.Warnings = []string{"not for production: " + a.DevOnly}
		}
	}
	unlock, err := lockOut(o.Out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := recordRequest(file, o); err != nil {
		return nil, err
	}
	if o.Resume != nil {
		if file, err = resumeFrom(o.Resume, file); err != nil {
			return nil, err
		}
	}
	outPath := filepath.Join(o.Out, ResultsName)
	if err := results.Write(outPath, file); err != nil {
		return nil, err
	}
	if o.SuitesOnly {
		fmt.Fprintf(log, "wsgibench: %s for %d servers; Python %s\n", suiteNames(o), len(chosen), det.Python.Executable)
	} else {
		fmt.Fprintf(log, "wsgibench: %d servers, %d cells, %s of %s (+%s warm-up); Python %s; server CPUs %v, generator CPUs %v\n",
			len(chosen), len(cells), rules.describe(len(cells)), o.Duration, o.Warmup, det.Python.Executable, srvCPUs, genCPUs)
	}
	if !o.SuitesOnly {
		r.announce(cells, expectedTrials(file.Runs, rules))
	} else {
		r.announce(cells, 0)
	}

	noStart := map[string]string{} // server → why it would not start
	noFront := map[string]string{} // server and front → why the front would not start
	triedServers := map[string]bool{}
	anyStarted := false
	// runSteps runs the trials a step source gives, writing the results
	// file after each: the race's rounds, then the final round (reach.go).
	runSteps := func(steps stepSource) error {
		for i, st := range steps.all() {
			if ctx.Err() != nil {
				break
			}
			c, run := cells[st.Cell], &file.Runs[st.Cell]
			r.progress().Step(StepEvent{Phase: PhaseTrials, Index: i, Of: steps.known(), Cell: c.Key(), Trial: st.Trial + 1, Trials: o.Trials})
			if run.Error != "" {
				continue // it failed before; do not keep trying
			}
			if why, ok := noStart[c.Status.Adapter.ID]; ok {
				// One shape of this server would not start; the others would
				// only spend another readiness timeout each saying the same.
				run.Error = "not started: " + why
				continue
			}
			if why, ok := noFront[c.Status.Adapter.ID+" "+string(c.Front)]; ok {
				run.Error = why
				continue
			}
			prefix := fmt.Sprintf("[%d/%d] %-18s %-6s %-9s trial %d/%d", i+1, steps.known(), c.Status.Adapter.ID, c.Shape, c.Workload.Name, st.Trial+1, o.Trials)
			if c.hasFront() {
				prefix = fmt.Sprintf("[%d/%d] %-18s %-6s %-9s %-7s trial %d/%d", i+1, steps.known(), c.Status.Adapter.ID, c.Shape, c.Workload.Name, c.Front, st.Trial+1, o.Trials)
			}
			triedServers[c.Status.Adapter.ID] = true
			trial, launch, err := r.trial(ctx, c, st.Trial)
			if ctx.Err() != nil {
				break // an interrupted trial is not a finished one
			}
			if pe := (*preflightError)(nil); errors.As(err, &pe) {
				if werr := results.Write(outPath, file); werr != nil {
					return werr
				}
				return pe
			}
			if de := (*dbError)(nil); errors.As(err, &de) {
				if werr := results.Write(outPath, file); werr != nil {
					return werr
				}
				return fmt.Errorf("%w; %d finished trials are in %s", de, countTrials(file), outPath)
			}
			if run.Argv == nil {
				run.Argv, run.Settings = launch.Argv, launch.Settings
			}
			file.Plan.Order = append(file.Plan.Order, fmt.Sprintf("%d/%d", st.Cell, st.Trial))
			if err != nil {
				run.Error = err.Error()
				fmt.Fprintf(log, "%s  FAILED: %s\n", prefix, oneLine(err.Error()))
				var fe *frontError
				if errors.As(err, &fe) {
					noFront[c.Status.Adapter.ID+" "+string(c.Front)] = oneLine(err.Error())
				}
				var se *startError
				if errors.As(err, &se) {
					noStart[c.Status.Adapter.ID] = fmt.Sprintf("with shape %s it failed: %s", c.Shape, oneLine(err.Error()))
					if len(noStart) >= appSuspect && len(noStart) == len(triedServers) && !anyStarted {
						if werr := results.Write(outPath, file); werr != nil {
							return werr
						}
						return fmt.Errorf("the first %d servers all failed to start, so the app itself is the likely cause; %s: %s",
							len(noStart), c.Status.Adapter.ID, oneLine(err.Error()))
					}
				}
			} else {
				anyStarted = true
				run.Trials = append(run.Trials, trial)
				fmt.Fprintf(log, "%s  %8.0f req/s  p50 %7.2f ms  p99 %8.2f ms  errors %d%s\n", prefix,
					trial.RPS, trial.LatencyMS.P50, trial.LatencyMS.P99, trial.Errors.Total, flags(trial))
			}
			r.progress().Step(StepEvent{Phase: PhaseTrials, Index: i, Of: steps.known(), Cell: c.Key(), Trial: st.Trial + 1, Trials: o.Trials,
				Done: true, Failed: err != nil})
			if err := results.Write(outPath, file); err != nil {
				return err
			}
		}
		return nil
	}
	if err := runSteps(r.raceSteps(file, rules)); err != nil { // rounds, decided as trials finish (race.go)
		return file, err
	}
	// The order keeps a budget's cuts to what matters least: the capacity
	// searches and probes decide which contenders can still win (reach.go)
	// before the ceilings, remedies and trouble scenarios are spent on them.
	if !o.NoCheck && anyStarted && ctx.Err() == nil {
		if err := r.portability(ctx, file, outPath); err != nil {
			return file, err
		}
	}
	if !o.NoCapacity && !o.SuitesOnly && o.Rate == 0 && ctx.Err() == nil {
		r.skipRuns(file, "capacity search")
		if err := r.capacities(ctx, cells, file, outPath); err != nil {
			return file, err
		}
	}
	suiteCells := cells
	if !o.SuitesOnly {
		suiteCells = r.fullSuiteCells(cells, file.Runs)
	}
	if !o.NoProbe && ctx.Err() == nil {
		if err := r.conformance(ctx, unfinishedSuite(suiteCells, conformed(file)), file, outPath); err != nil {
			return file, err
		}
	}
	if !o.SuitesOnly && ctx.Err() == nil {
		r.stopOutOfReach(file)
		if err := runSteps(r.finalRound(file)); err != nil {
			return file, err
		}
		// Judged again with the final round's trials, whose pairs narrow
		// the intervals reach takes the least gap from: the trouble
		// scenarios run only for the servers that can still win.
		r.stopOutOfReach(file)
		suiteCells = r.fullSuiteCells(cells, file.Runs)
		if !o.NoTrouble {
			r.skipServers(file, "trouble scenarios")
		}
		if err := results.Write(outPath, file); err != nil {
			return file, err
		}
		if err := r.balances(ctx, cells, file, outPath); err != nil {
			return file, err
		}
	}
	if !o.NoCeiling && !o.SuitesOnly && ctx.Err() == nil {
		if err := r.ceilings(ctx, cells, file, outPath); err != nil {
			return file, err
		}
		if o.CheckProjection && ctx.Err() == nil {
			if err := r.checkProjections(ctx, cells, file, outPath); err != nil {
				return file, err
			}
		}
	}
	if !o.NoTrouble && ctx.Err() == nil {
		if err := r.robustness(ctx, unfinishedSuite(suiteCells, troubled(file)), file, outPath); err != nil {
			return file, err
		}
	}
	file.Finished = time.Now().UTC()
	file.Complete = ctx.Err() == nil
	if err := results.Write(outPath, file); err != nil {
		return file, err
	}
	if ctx.Err() != nil {
		return file, fmt.Errorf("interrupted; %d finished trials are in %s: %w", countTrials(file), outPath, ctx.Err())
	}
	return file, nil
}

// prepare validates the options, detects servers, expands the cells, and
// sets up the app in a private temporary directory. The caller must close
// the runner.
func prepare(ctx context.Context, o Options, log io.Writer) (*runner, []Cell, error) {
	o = o.withDefaults()
	if err := load.CheckLoopback(o.Host); err != nil {
		return nil, nil, err
	}
	if err := checkDB(o); err != nil {
		return nil, nil, err
	}
	wls := make([]workload.Workload, 0, len(o.Workloads))
	for _, spec := range o.Workloads {
		w, err := workload.Parse(spec)
		if err != nil {
			return nil, nil, err
		}
		if w.Bundled && o.App != "" {
			return nil, nil, fmt.Errorf("workload %s needs the bundled app's endpoints; with --app use --workload \"GET /your/path\"", w.Name)
		}
		wls = append(wls, w)
	}
	if o.Port != 0 {
		if err := proc.CheckPortFree(net.JoinHostPort(o.Host, fmt.Sprint(o.Port))); err != nil {
			return nil, nil, err
		}
	}
	det, statuses, err := detect(ctx, o.Python) // the preview's, if there was one
	if err != nil {
		return nil, nil, err
	}
	chosen, err := Select(statuses, o.Servers)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, nil, fmt.Errorf("output directory: %w", err)
	}
	allCPUs := allowedCPUs()
	srvCPUs, genCPUs, shared := SplitCPUs(allCPUs)
	tgt, err := resolveTarget(o.TargetCPUs, srvCPUs, genCPUs, allCPUs)
	if err != nil {
		return nil, nil, err
	}
	srvCPUs, genCPUs = tgt.pin, tgt.generator
	shapes := o.Shapes
	if len(shapes) == 0 {
		shapes = DefaultShapes(tgt.cpus)
	}
	if err := checkFronts(o.Fronts); err != nil {
		return nil, nil, err
	}
	cells := withFronts(Cells(chosen, shapes, wls), o.Fronts)
	work, err := os.MkdirTemp("", "wsgibench-")
	if err != nil {
		return nil, nil, err
	}
	r := &runner{o: o, det: det, work: work, log: log,
		tag: fmt.Sprintf("wsgibench-%d-%x", os.Getpid(), rand.Uint32())}
	r.cpus.server, r.cpus.generator, r.cpus.shared = srvCPUs, genCPUs, shared
	r.dbConns = dbConnections(cells, o)
	r.target, r.cpus.all = tgt, allCPUs
	if err := r.prepareApp(ctx); err != nil {
		r.close()
		return nil, nil, err
	}
	return r, cells, nil
}

// close removes the temporary directory after a last sweep for processes:
// proc guarantees none is left already; if the sweep ever finds one, that
// is a bug worth shouting about.
func (r *runner) close() {
	r.closeDB()
	if n := proc.KillTagged(r.tag); n > 0 {
		fmt.Fprintf(r.log, "wsgibench: warning: killed %d leftover server processes\n", n)
	}
	if n := proc.KillTagged(r.frontTag()); n > 0 {
		fmt.Fprintf(r.log, "wsgibench: warning: killed %d leftover front processes\n", n)
	}
	os.RemoveAll(r.work)
}

// capacities searches the capacity of the cells measured in full (every
// cell that has trials, without racing; see searchShapes with it), writing
// the results file after each search.
func (r *runner) capacities(ctx context.Context, cells []Cell, file *results.File, outPath string) error {
	hints := capacityCells(file.Runs)
	best := r.searchShapes(file.Runs)
	idx := make([]int, 0, len(hints))
	for i := range hints {
		if r.inFull(file.Runs[i]) && best[i] && !capacityDone(file.Runs[i]) {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	idx = topCells(idx, hints, r.o.CapacityTop)
	r.progress().Phase(PhaseCapacity, len(idx))
	for n, i := range idx {
		if ctx.Err() != nil {
			return nil
		}
		c := cells[i]
		r.progress().Step(StepEvent{Phase: PhaseCapacity, Index: n, Of: len(idx), Cell: c.Key()})
		began := time.Now()
		capy, err := r.capacity(ctx, c, hints[i])
		if ctx.Err() != nil {
			return nil // an interrupted search is not a result
		}
		run := &file.Runs[i]
		prefix := fmt.Sprintf("[capacity %d/%d] %-18s %-6s %-9s", n+1, len(idx), c.Status.Adapter.ID, c.Shape, c.Workload.Name)
		if err != nil {
			run.Warnings = append(run.Warnings, "capacity search failed: "+oneLine(err.Error()))
			fmt.Fprintf(r.log, "%s  FAILED: %s\n", prefix, oneLine(err.Error()))
		} else {
			run.Capacity = capy
			fmt.Fprintf(r.log, "%s  %8.0f req/s at p99 ≤ %v (limit: %s; %d probes, %s)\n", prefix, capy.RPS,
				r.o.LatencyGoal, capy.Limit, len(capy.Steps), time.Since(began).Round(time.Second))
		}
		if err := results.Write(outPath, file); err != nil {
			return err
		}
	}
	return nil
}

func countTrials(f *results.File) int {
	n := 0
	for _, r := range f.Runs {
		n += len(r.Trials)
	}
	return n
}

func flags(t results.Trial) string {
	var s []string
	if t.GeneratorBound {
		s = append(s, "GENERATOR-BOUND")
	}
	if t.Front != nil {
		s = append(s, fmt.Sprintf("server saw %.0f req/s", t.Front.ServerRPS))
		if t.Front.HitRatio != nil {
			s = append(s, fmt.Sprintf("hits %.0f%%", 100**t.Front.HitRatio))
		}
		if t.Front.Bound {
			s = append(s, "FRONT-BOUND")
		}
	}
	if t.WorkerLoad != nil && t.WorkerLoad.Uneven {
		s = append(s, fmt.Sprintf("UNEVEN WORKERS %.1f× fair", t.WorkerLoad.MaxOverFair))
	}
	if len(t.Warnings) > 0 {
		s = append(s, fmt.Sprintf("%d warnings", len(t.Warnings)))
	}
	if len(s) == 0 {
		return ""
	}
	return "  [" + strings.Join(s, ", ") + "]"
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// runner holds what every trial of one Execute shares.
type runner struct {
	o    Options
	det  *server.Detection
	work string // private temporary directory, removed at the end
	log  io.Writer
	tag  string
	cpus struct {
		server, generator []int
		all               []int // every CPU this process was allowed before pinning
		shared            bool
	}
	app        string // module:callable
	appDir     string
	templateDB string // seeded once; copied fresh for every trial (SQLite)
	pg         *pgsql.DB
	dbConns    int               // max_connections for a private cluster
	dbInfo     *results.Database // for the results file
	n          int               // launches so far, to name their directories
	target     target            // the machine the verdict is for
	preflown   map[string]bool   // scenario workloads already tried once
	deadline   deadline          // a racing plan's budget, kept while it runs
}

// pinCPUs is where to pin servers: nowhere when they share the CPUs with
// the generator anyway.
func (r *runner) pinCPUs() []int {
	if r.cpus.shared {
		return nil
	}
	return r.cpus.server
}

func (r *runner) userAppDir() string {
	if r.o.App == "" {
		return ""
	}
	return r.appDir
}

// prepareApp writes and seeds the bundled app (once per run, not per
// worker or trial), or locates the user's, and imports it once so a bad
// module:callable fails here in a second with Python's own words.
func (r *runner) prepareApp(ctx context.Context) error {
	py := r.det.Python.Executable
	if r.o.App == "" {
		r.app = pyapp.Module + ":" + pyapp.Callable
		r.appDir = filepath.Join(r.work, "app")
		if err := pyapp.Write(r.appDir); err != nil {
			return err
		}
		if err := r.prepareDB(ctx); err != nil {
			return err
		}
	} else {
		if !strings.Contains(r.o.App, ":") {
			r.o.App += ":application"
		}
		r.app = r.o.App
		dir := r.o.Chdir
		if dir == "" {
			dir = "."
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return fmt.Errorf("--chdir %s is not a directory", abs)
		}
		r.appDir = abs
	}
	// The checker (and the probe app) live apart from the app so they
	// never shadow a module.
	if err := pyapp.Write(r.checkDir()); err != nil {
		return err
	}
	if err := pyapp.Check(ctx, py, r.checkDir(), r.appDir, r.app); err != nil {
		return fmt.Errorf("--app %s: %w", r.app, err)
	}
	return nil
}

// mergeEnv sets KEY=VALUE pairs over a base environment.
func mergeEnv(base []string, sets ...string) []string {
	out := make([]string, 0, len(base)+len(sets))
	keys := map[string]bool{}
	for _, kv := range sets {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !keys[k] {
			out = append(out, kv)
		}
	}
	return append(out, sets...)
}

// started is a server that answered its readiness probe, and the front in
// front of it when its cell has one.
type started struct {
	group  *proc.Group
	addr   string
	launch server.Launch
	front  *front.Front
	// upstream is the unix socket the server also listens on for nginx,
	// when its experts connect nginx that way (see frontSocket).
	upstream deploy.Upstream
	phases   results.Phases // the database copy, start and readiness so far
}

// target is where the load goes: the front when there is one.
func (s *started) target() string {
	if s.front != nil {
		return s.front.Addr()
	}
	return s.addr
}

// stop stops the front, then the server.
func (s *started) stop() {
	if s.front != nil {
		s.front.Stop()
	}
	if s.group != nil {
		s.group.Stop()
	}
}

// start launches a cell's server afresh around the app under test (fresh
// database copy, fresh port, its own directory) and waits until it
// answers. The caller stops it.
func (r *runner) start(ctx context.Context, c Cell) (*started, error) {
	return r.startOn(ctx, c, nil)
}

func suiteNames(o Options) string {
	switch {
	case o.NoProbe && o.NoTrouble:
		return "no suite"
	case o.NoTrouble:
		return "conformance probes"
	case o.NoProbe:
		return "trouble scenarios"
	}
	return "conformance probes and trouble scenarios"
}

// servedCells keeps the cells of servers that finished a trial: the suites
// judge servers for the verdict, and one that never served the app has no
// place in it (and a run whose servers cannot start must fail fast).
func servedCells(cells []Cell, runs []results.Run) []Cell {
	served := map[string]bool{}
	for i, run := range runs {
		if len(run.Trials) > 0 {
			served[cells[i].Status.Adapter.ID] = true
		}
	}
	var out []Cell
	for _, c := range cells {
		if served[c.Status.Adapter.ID] {
			out = append(out, c)
		}
	}
	return out
}

// checkDir holds wsgibench's own Python files: the import checker and the
// probe app, apart from the app under test.
func (r *runner) checkDir() string { return filepath.Join(r.work, "check") }

// appSpec is what a launch serves.
type appSpec struct {
	app, dir string   // module:callable, and where it is imported from
	ready    string   // the readiness path
	db       bool     // give it a fresh copy of the bundled app's database
	env      []string // more KEY=VALUE for the app
	port     int      // the port to bind; 0 picks r.o.Port or a free one
	cpus     []int    // where the server may run; nil = the server's CPUs
}

func (r *runner) launch(ctx context.Context, c Cell, as appSpec) (*started, error) {
	a := c.Status.Adapter
	port := cmp.Or(as.port, r.o.Port)
	if port == 0 {
		p, err := proc.FreePort(r.o.Host)
		if err != nil {
			return nil, err
		}
		port = p
	}
	r.n++
	dir := filepath.Join(r.work, fmt.Sprintf("%03d-%s", r.n, a.ID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "db", "app.db")
	appEnv := append([]string{"PYTHONUNBUFFERED=1"}, as.env...)
	clock := newPhaseClock()
	if as.db {
		env, err := r.freshDB(ctx, db)
		if err != nil {
			return nil, err
		}
		appEnv = append(appEnv, env...)
	}
	dbTime := clock.lap()
	target := server.Target{
		Python: r.det.Python, App: as.app, AppDir: as.dir, Host: r.o.Host, Port: port, Dir: dir,
		Env: appEnv, Tools: c.Status.Tools, Root: os.Geteuid() == 0,
	}
	up := frontSocket(c, dir)
	target.FrontSocket = up.Socket
	launch, err := a.Command(target, c.Shape)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.ID, err)
	}
	if c.Remedy {
		launch = withRemedy(launch, a.Facts.Workers.Remedy)
	}
	s := &started{addr: target.Addr(), launch: launch, upstream: up}
	s.phases.DB = dbTime
	for name, content := range launch.Files {
		// Owner-only: a file may carry the app's environment, and with it
		// a database password (mod_wsgi's app.wsgi does).
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return s, err
		}
		if err := giveTo(path, launch.RunAs); err != nil {
			return s, fmt.Errorf("%s: %w", a.ID, err)
		}
	}
	if launch.NeedsWorldReadable {
		if err := r.openUp(dir, db, as); err != nil {
			return s, err
		}
	}
	pythonPath := as.dir
	if old := os.Getenv("PYTHONPATH"); old != "" {
		pythonPath += ":" + old
	}
	env := mergeEnv(os.Environ(), append(append(appEnv, "PYTHONPATH="+pythonPath), launch.Env...)...)
	cpus := r.pinCPUs()
	if as.cpus != nil {
		cpus = as.cpus
	}
	g, err := proc.Start(ctx, proc.Spec{
		Name: a.ID, Argv: launch.Argv, Env: env, Dir: as.dir, CPUs: cpus, Tag: r.tag,
		LogFile: filepath.Join(dir, "server.log"),
	})
	if err != nil {
		return s, fmt.Errorf("starting %s: %w", a.ID, err)
	}
	s.group = g
	s.phases.Start = clock.lap()
	if err := proc.WaitHTTP(ctx, g, s.addr, as.ready, r.o.ReadyTimeout); err != nil {
		// Nothing was served, so nothing needs a graceful end.
		g.Kill()
		return s, err
	}
	waitWorkers(ctx, g, c.Shape.Workers, r.o.ReadyTimeout)
	s.phases.Ready = clock.lap()
	return s, nil
}

// startError is a server that would not start or never became ready, as
// opposed to one that started and then failed under load.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// appSuspect is how many servers failing to start in a row, with none
// started yet, make the app the suspect and end the run.
const appSuspect = 3

// trial starts the server afresh, warms it up, measures one interval while
// sampling its process tree, and stops it.
func (r *runner) trial(ctx context.Context, c Cell, index int) (results.Trial, server.Launch, error) {
	a := c.Status.Adapter
	clock := newPhaseClock()
	s, err := r.start(ctx, c)
	if s == nil {
		return results.Trial{}, server.Launch{}, &startError{err}
	}
	if err != nil {
		return results.Trial{}, s.launch, &startError{err}
	}
	g := s.group
	defer s.stop()
	ph := s.phases
	clock.lap()
	if c.hasFront() {
		if s.front, err = r.startFront(ctx, c, s); err != nil {
			return results.Trial{}, s.launch, &frontError{err}
		}
		ph.Front = clock.lap()
	}
	if err := r.preflight(ctx, c, s); err != nil {
		return results.Trial{}, s.launch, err
	}
	cfg := load.Config{Addr: s.target(), Mix: c.Workload.Mix, Connections: r.o.Connections, Rate: r.o.Rate,
		Timeout: r.o.Timeout, Seed: r.o.Seed + int64(index)}
	if r.o.Warmup > 0 {
		cfg.Duration = r.o.Warmup
		if _, err := load.Run(ctx, cfg); err != nil {
			return results.Trial{}, s.launch, fmt.Errorf("%s warm-up: %w", a.ID, err)
		}
		ph.Warmup = clock.lap()
	}
	meter, err := startMeter(ctx, s.front)
	if err != nil {
		return results.Trial{}, s.launch, fmt.Errorf("%s: reading %s's counters: %w", a.ID, c.Front, err)
	}
	startedAt := time.Now().UTC()
	clock.lap()
	sampler := g.StartSampling(200 * time.Millisecond)
	cfg.Duration = r.o.Duration
	res, err := load.Run(ctx, cfg)
	usage := sampler.Stop()
	frontUsage, interval := meter.stopSampling()
	ph.Measure = clock.lap()
	if err != nil {
		return results.Trial{}, s.launch, fmt.Errorf("%s: load: %w", a.ID, err)
	}
	frontResult, err := meter.result(ctx, frontUsage, interval)
	if err != nil {
		return results.Trial{}, s.launch, fmt.Errorf("%s: reading %s's counters: %w", a.ID, c.Front, err)
	}
	clock.lap() // reading the front's counters is bookkeeping
	var warnings []string
	select {
	case <-g.Done():
		warnings = append(warnings, fmt.Sprintf("the server exited during the trial: %s", strings.Join(g.Output(3), " | ")))
	default:
	}
	if s.front != nil {
		select {
		case <-s.front.Group().Done():
			warnings = append(warnings, fmt.Sprintf("%s exited during the trial: %s", c.Front, strings.Join(s.front.Group().Output(3), " | ")))
		default:
		}
		s.front.Stop()
	}
	if err := r.stopAfterTrial(c, g); err != nil {
		warnings = append(warnings, "stopping the server: "+err.Error())
	}
	ph.Stop = clock.lap()
	ph.Total = clock.total()
	t := convert(res, usage)
	t.Phases = &ph
	t.WorkerLoad = workerLoad(usage.PerProcess, a.Facts.Workers)
	t.Front = frontResult
	if frontResult != nil {
		warnings = append(warnings, front.Warnings(*frontResult)...)
	}
	if frontResult != nil && frontResult.Bound {
		warnings = append(warnings, fmt.Sprintf("%s used %.0f%% of its CPUs: the trial measured the front, not the server", c.Front, 100*frontResult.CPUUse))
	}
	t.Index, t.Started = index, startedAt
	t.Warnings = append(t.Warnings, warnings...)
	if h := nagleHint(t, len(r.cpus.server)); h != "" {
		t.Warnings = append(t.Warnings, h)
	}
	if res.Requests == 0 {
		return t, s.launch, fmt.Errorf("%s answered no request in %s (errors: %+v)", a.ID, r.o.Duration, res.Errors)
	}
	return t, s.launch, nil
}

// openUp lets a server that drops root privileges (Apache's children run as
// www-data) read the app and write the database. Only wsgibench's own
// temporary files are touched, never the user's app directory.
// giveTo makes path owned by the named user (and its primary group), for a
// server whose app runs as that user; "" leaves it as it is.
func giveTo(path, name string) error {
	if name == "" {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("user %s: uid %q gid %q", name, u.Uid, u.Gid)
	}
	return os.Chown(path, uid, gid)
}

func (r *runner) openUp(dir, db string, as appSpec) error {
	for _, d := range []string{r.work, dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			return err
		}
	}
	if as.dir != r.userAppDir() {
		if err := os.Chmod(as.dir, 0o755); err != nil {
			return err
		}
	}
	if as.db && r.templateDB != "" {
		if err := os.Chmod(filepath.Dir(db), 0o777); err != nil {
			return err
		}
		if err := os.Chmod(db, 0o666); err != nil {
			return err
		}
	}
	return nil
}
