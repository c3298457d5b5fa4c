package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/budget"
	"github.com/wsgibench/wsgibench/internal/deploy"
	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/plan"
	"github.com/wsgibench/wsgibench/internal/planfile"
	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/report"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/workload"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, fo, options := runFlagSet(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	resume := fs.Lookup("resume").Value.String()
	var stored plan.Options
	if resume != "" {
		var err error
		if stored, err = resumeOptions(fs, args, resume, fo, planfile.Given(fs)); err != nil {
			return err
		}
	}
	o, profile, limit, err := options(resume != "")
	if err != nil {
		return err
	}
	if resume != "" {
		if err := sameOptions(stored, o, resume); err != nil {
			return err
		}
		if o.NeedsPassword() {
			return fmt.Errorf("--resume %s: the run's --db-dsn carried a password, which results.json does not keep; give --db-dsn again (or put the password in PGPASSWORD or ~/.pgpass)", resume)
		}
		return runPlan(ctx, o, profile, stdout, stderr)
	}
	if o, err = fitPlan(ctx, o, limit, stderr); err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			// Ctrl-C while detecting the servers: say that, not the symptom.
			err = fmt.Errorf("interrupted before any trial finished: %w", ctx.Err())
		}
		return err
	}
	return runPlan(ctx, o, profile, stdout, stderr)
}

// fitPlan prints the run's estimated wall time before anything starts and,
// with a budget, cuts the plan to fit it (package budget), saying what it
// will and will not measure; the plan as run records the cuts.
func fitPlan(ctx context.Context, o plan.Options, limit time.Duration, stderr io.Writer) (plan.Options, error) {
	m, err := plan.PreviewCells(ctx, o)
	if err != nil {
		return o, err
	}
	est := budget.Of(o, m, budget.Measured)
	if limit > 0 {
		fit, err := budget.FitTo(limit, o, m, budget.Measured)
		if err != nil {
			return o, err
		}
		fit.Describe(stderr)
		o, est = fit.Options, fit.Estimate
		o.AsRun.Budget, o.AsRun.Cuts = results.Duration(limit), fit.Cuts
		recordCuts(o.AsRun.Settings, o, len(fit.Cuts) > 0)
	} else {
		fmt.Fprintf(stderr, "wsgibench: %s (--budget fits the plan to the time you have)\n", est.Line())
	}
	o.AsRun.Estimate = results.Duration(est.Total().Round(time.Second))
	return o, nil
}

// recordCuts writes what a budget cut into the plan as run, in plan-file
// keys, so that 'plan --from' gives the plan that ran.
func recordCuts(settings map[string]any, o plan.Options, cut bool) {
	if !cut {
		return
	}
	settings["trials"] = int64(o.Trials)
	settings["trouble-repeat"] = int64(o.TroubleRepeat)
	if len(o.Shapes) > 0 {
		var shapes []string
		for _, s := range o.Shapes {
			shapes = append(shapes, s.String())
		}
		settings["shapes"], settings["workers"], settings["threads"] = shapes, []string{}, []string{}
	}
	if o.TroubleScenarios != nil {
		ids := []string{}
		for _, sc := range o.TroubleScenarios {
			ids = append(ids, sc.ID)
		}
		settings["trouble-cases"] = ids
	}
}

// runFlagSet defines run's flags. A plan file (--plan) sets the same flags
// (package planfile), so options merges it: flags given on the command
// line win over the file, the file over the defaults. It returns the
// options, the ranking profile and the time budget (0 = none).
func runFlagSet(stderr io.Writer) (*flag.FlagSet, *plan.Options, func(resuming bool) (plan.Options, string, time.Duration, error)) {
	fs := newFlagSet("run", stderr)
	var o plan.Options
	fs.StringVar(&o.Python, "python", "", "Python interpreter the app runs in (default: $VIRTUAL_ENV's python, else /usr/bin/python3)")
	servers := fs.String("servers", "", "comma-separated server IDs (default: every available one; see 'wsgibench servers')")
	workers := fs.String("workers", "", "processes per server, comma-separated list (overrides the default shapes)")
	threads := fs.String("threads", "", "threads per process, comma-separated list (overrides the default shapes)")
	workloads := fs.String("workload", "", "comma-separated workloads: crud (default), plaintext, json, db, queries, fortunes, updates, io, cpu; a scenario FILE.yaml; or \"GET /path\" for your app")
	scenarioFile := fs.String("scenario", "", "a scenario file of your app's requests and flows (see 'wsgibench scenario --example'); runs besides any --workload")
	fs.DurationVar(&o.Duration, "duration", plan.DefaultDuration, "measured time per trial")
	fs.DurationVar(&o.Warmup, "warmup", plan.DefaultWarmup, "unmeasured load before each trial")
	fs.IntVar(&o.Connections, "connections", 32, "concurrent connections")
	fs.Float64Var(&o.Rate, "rate", 0, "open-model target rate in req/s (0 = closed loop)")
	fs.IntVar(&o.Trials, "trials", 0, "most trials per server, shape and workload (default 8 when racing: 3 for every cell, more for contenders; 5 with --no-racing, which gives every cell all of them)")
	fs.BoolVar(&o.NoRacing, "no-racing", false, "give every cell all its trials, capacity search and trouble scenarios, instead of stopping those significantly behind the leader")
	fs.Int64Var(&o.Seed, "seed", 1, "seed for trial order and request variables")
	fs.StringVar(&o.App, "app", "", "your WSGI app as module:callable (default: the bundled reference CRUD app)")
	fs.StringVar(&o.DB, "db", "", "the bundled app's database: sqlite (default), or postgres: a private cluster, or your server with --db-dsn")
	fs.StringVar(&o.DBDSN, "db-dsn", "", "with --db postgres: your PostgreSQL server as a libpq DSN or postgresql:// URI; wsgibench creates and drops databases of its own there (or, without CREATEDB, schemas). Keep the password in PGPASSWORD or ~/.pgpass")
	fs.DurationVar(&o.DBLatency, "db-latency", 0, "with --db postgres: add this to every round trip between app and database (a loopback proxy; whole ms), as for a database on another host")
	fs.StringVar(&o.Chdir, "chdir", "", "directory to import --app from (default: current directory)")
	fs.StringVar(&o.Host, "host", "127.0.0.1", "loopback address servers bind to")
	fs.IntVar(&o.Port, "port", 0, "port servers bind to (default: a free port per trial)")
	fs.StringVar(&o.ReadyPath, "ready-path", "", "path polled until the server answers 2xx (default /plaintext, or / with --app)")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 10*time.Second, "how long a server may take to become ready")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.DurationVar(&o.LatencyGoal, "latency-goal", 100*time.Millisecond, "p99 goal for the capacity search")
	noCapacity := fs.Bool("no-capacity", false, "skip the capacity search (highest open-model rate meeting --latency-goal)")
	fs.BoolVar(&o.NoProbe, "no-probe", false, "skip the HTTP/1.1 and PEP 3333 conformance probes (about 5 s per server)")
	fs.BoolVar(&o.NoCheck, "no-check", false, "skip the app portability check (PEP 3333, and safe under processes, threads and greenlets: see wsgibench check; about 10 s)")
	fs.BoolVar(&o.NoTrouble, "no-trouble", false, "skip the trouble scenarios: slow clients, a hung request, a killed worker, overload, reload (about a minute per server)")
	fs.IntVar(&o.TroubleRepeat, "trouble-repeat", 0, "run each trouble scenario this many times and keep the median (default 3 for a race's contenders, else 1)")
	troubleCases := fs.String("trouble-cases", "", "comma-separated trouble scenarios to run (default: all; see wsgibench trouble --list)")
	fs.IntVar(&o.TargetCPUs, "target-cpus", 0, "cores of the machine you deploy on: shapes are sized for it, and throughput is projected to it when this machine cannot give the server that many (default: the CPUs this machine gives the server)")
	fs.BoolVar(&o.NoCeiling, "no-ceiling", false, "skip measuring each server's parallelism ceiling (the cores it can use; about 5 s per server and shape)")
	fs.BoolVar(&o.CheckProjection, "check-projection", false, "also measure capacity on every CPU of this machine and record how far the projection from the server's CPUs missed it")
	fs.DurationVar(&o.CapacityProbe, "capacity-probe", plan.DefaultCapacityProbe, "measured time per rate probed by the capacity search")
	fronts := fs.String("front", "none", "proxy in front of each server: none, varnish or nginx; a comma list compares them (none,varnish)")
	profile := fs.String("profile", rank.DefaultProfile, "ranking priorities: "+profileNames()+", or weights like capacity=3,p99=2,memory=1")
	fs.StringVar(&o.Out, "out", "wsgibench-out", "output directory for results.json and summary.md")
	fs.String("resume", "", "continue the interrupted run whose output directory this is: its finished trials and suites are kept, the rest of its plan runs, and the verdict covers both. The plan comes from its results.json; other options given must agree with it")
	shapes := fs.String("shapes", "", "comma-separated shapes as processes x threads, e.g. 5x1,2x8 (overrides the default shapes; --workers and --threads cross two lists instead)")
	planPath := fs.String("plan", "", "plan file (YAML) fixing everything a run needs; flags given here override it (see 'wsgibench plan --example')")
	budget := fs.Duration("budget", DefaultBudget, "the time the run may take: the plan is cut to fit and says so before it starts, and a race ends early and its suites shrink to keep to it (not set with --no-racing: no limit; 0 = no limit)")
	// resuming: the options were loaded from the interrupted run's file
	// into o (see resumeOptions), and only the flags given on the command
	// line are laid over them, to be checked against it; no plan file or
	// budget applies.
	return fs, &o, func(resuming bool) (plan.Options, string, time.Duration, error) {
		given := planfile.Given(fs)
		// take says whether a flag's value goes into the options: always,
		// except when resuming, where the file's value stands unless the
		// flag was given.
		take := func(names ...string) bool {
			for _, n := range names {
				if given[n] {
					return true
				}
			}
			return !resuming
		}
		schema := runSchema(fs)
		for name := range given {
			if err := schema.Check(name, fs.Lookup(name).Value.String()); err != nil {
				if strings.Contains(err.Error(), "--"+name) {
					return o, "", 0, err // it names the flag already
				}
				return o, "", 0, fmt.Errorf("--%s: %w", name, err)
			}
		}
		var planFile string
		budgetSet := planfile.Given(fs)["budget"]
		if *planPath != "" {
			if resuming {
				return o, "", 0, fmt.Errorf("--plan and --resume: a resumed run keeps the plan it started with")
			}
			pf, err := planfile.Load(*planPath)
			if err != nil {
				return o, "", 0, err
			}
			if err := schema.Apply(pf, given); err != nil {
				return o, "", 0, err
			}
			for _, e := range pf.Entries {
				budgetSet = budgetSet || e.Key == "budget"
			}
			planFile = *planPath
		}
		if resuming && given["budget"] {
			return o, "", 0, fmt.Errorf("--budget and --resume: a resumed run keeps the plan it started with")
		}
		var err error
		if take("no-capacity") {
			o.NoCapacity = *noCapacity
		}
		if take("trouble-cases") {
			if o.TroubleScenarios, err = pickScenarios(splitList(*troubleCases)); err != nil {
				return o, "", 0, fmt.Errorf("--trouble-cases: %w", err)
			}
		}
		if take("servers") {
			o.Servers = splitList(*servers)
			o.Named = o.Servers // measured in full whatever the race
		}
		if take("workload", "scenario") {
			o.Workloads = splitList(*workloads)
			if *scenarioFile != "" {
				if !workload.IsFile(*scenarioFile) {
					return o, "", 0, fmt.Errorf("--scenario %s: want a .yaml or .yml file", *scenarioFile)
				}
				if _, err := workload.FromFile(*scenarioFile); err != nil {
					return o, "", 0, err // checked before any server starts
				}
				o.Workloads = append(o.Workloads, *scenarioFile)
			}
		}
		if *shapes != "" && (*workers != "" || *threads != "") {
			return o, "", 0, fmt.Errorf("--shapes and --workers/--threads both set: give one")
		}
		if take("workers", "threads", "shapes") {
			if o.Shapes, err = parseShapes(*workers, *threads); err != nil {
				return o, "", 0, err
			}
			if *shapes != "" {
				o.Shapes, _ = parseShapeList(*shapes) // checked above
			}
		}
		if take("front") {
			if o.Fronts, err = front.ParseKinds(*fronts); err != nil {
				return o, "", 0, err
			}
		}
		if take("profile") {
			o.Profile = *profile
		}
		if o.Profile == "" { // a file recorded without one
			o.Profile = rank.DefaultProfile
		}
		prof, perr := rank.ParseProfile(o.Profile)
		if perr != nil {
			return o, "", 0, perr
		}
		o.RaceMetric = rank.RaceMetric(prof)
		if !resuming {
			o.AsRun = &results.AsRun{PlanFile: planFile, Settings: schema.Settings()}
			for name := range given {
				if !schema.Omit[name] {
					o.AsRun.Flags = append(o.AsRun.Flags, name)
				}
			}
			slices.Sort(o.AsRun.Flags)
		}
		limit := *budget
		if resuming || (o.NoRacing && !budgetSet) {
			limit = 0 // the exhaustive plan takes the time it takes
		}
		o.Budget = limit
		return o, o.Profile, limit, nil
	}
}

// DefaultBudget is a racing run's time budget unless --budget (or a plan
// file) says otherwise: the default comparison answers in ten minutes on
// two cores (README: the default comparison).
const DefaultBudget = 10 * time.Minute

// runPlan runs the merged plan and writes the results and reports.
func runPlan(ctx context.Context, o plan.Options, profile string, stdout, stderr io.Writer) error {
	logw, progress, stopProgress := startProgress(stderr)
	o.Progress = progress
	if f := o.Resume; f != nil {
		fmt.Fprintf(logw, "wsgibench: resuming %s: %d of %d trials finished (started %s); the rest of the plan runs\n",
			o.Out, len(f.Plan.Order), len(f.Runs)*f.Plan.Trials, f.Started.Local().Format(time.DateTime))
	}
	file, err := plan.Execute(ctx, o, logw, version)
	stopProgress()
	if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		// Whatever failed was cut short by Ctrl-C; say that, not the symptom.
		err = fmt.Errorf("interrupted before any trial finished: %w", ctx.Err())
	}
	if file != nil {
		// The verdict is derived from the trials and stored with them;
		// an interrupted run is ranked on what finished (and says so).
		goal := float64(o.LatencyGoal) / float64(time.Millisecond)
		if rerr := rank.Apply(file, profile, goal); rerr != nil {
			fmt.Fprintf(stderr, "wsgibench: warning: ranking: %v\n", rerr)
		}
		if werr := results.Write(filepath.Join(o.Out, plan.ResultsName), file); werr != nil && err == nil {
			err = werr
		}
		if werr := writeReports(o.Out, file); werr != nil && err == nil {
			err = werr
		}
		fmt.Fprintln(stdout)
		report.Table(stdout, file)
		suiteTables(stdout, file)
		fmt.Fprintf(stdout, "\nresults: %s\nsummary: %s\nreport:  %s\ndeploy:  %s\n", filepath.Join(o.Out, plan.ResultsName),
			filepath.Join(o.Out, "summary.md"), filepath.Join(o.Out, "report.html"), filepath.Join(o.Out, "deploy"))
	}
	if err != nil {
		return err
	}
	return failures(file)
}

// failures turns failed runs into the closing error line: the failure itself
// when there is one (or all failed alike), else a count and the first one.
func failures(f *results.File) error {
	var failed []results.Run
	reasons := map[string]bool{}
	for _, r := range f.Runs {
		if r.Error != "" {
			failed = append(failed, r)
			reasons[r.Server+"\x00"+normalizeFailure(r.Error)] = true
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(reasons) == 1:
		r := failed[0]
		if len(failed) == 1 {
			return fmt.Errorf("%s %s: %s", r.Server, r.Shape, firstLine(r.Error))
		}
		return fmt.Errorf("%d of %d runs failed alike, e.g. %s %s: %s", len(failed), len(f.Runs), r.Server, r.Shape, firstLine(r.Error))
	}
	r := failed[0]
	return fmt.Errorf("%d of %d runs failed (see summary.md), first %s %s: %s", len(failed), len(f.Runs), r.Server, r.Shape, firstLine(r.Error))
}

// normalizeFailure drops what differs between otherwise identical failures
// (ports, durations) so they group.
func normalizeFailure(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, firstLine(s))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// suiteTables prints the suites' tables, each after a blank line.
func suiteTables(w io.Writer, f *results.File) {
	if f.Check != nil {
		fmt.Fprintln(w)
		report.CheckTable(w, f.Check)
	}
	if len(f.Conformance) > 0 {
		fmt.Fprintln(w)
		report.ConformanceTable(w, f)
	}
	if len(f.Robustness) > 0 {
		fmt.Fprintln(w)
		report.RobustnessTable(w, f)
	}
}

// writeReports renders summary.md and report.html from the results alone.
func writeReports(dir string, f *results.File) error {
	var md, page bytes.Buffer
	if err := report.Markdown(&md, f); err != nil {
		return fmt.Errorf("summary.md: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	if err := report.HTML(&page, f); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), page.Bytes(), 0o644); err != nil {
		return err
	}
	return writeDeploy(filepath.Join(dir, "deploy"), f)
}

// writeDeploy writes the top-ranked server's production configuration at
// its measured shape (and a Varnish VCL and systemd unit for it). With no
// ranking (nothing finished) there is nothing to recommend.
func writeDeploy(dir string, f *results.File) error {
	top, err := deploy.Recommended(f)
	if err != nil {
		return nil
	}
	in, err := deploy.FromResults(f, top)
	if err != nil {
		return fmt.Errorf("deploy config: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if _, err := deploy.Generate(dir, in); err != nil {
		return fmt.Errorf("deploy config: %w", err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseInts(flag, s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("--%s: %q is not a number from 1 to 1024", flag, p)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseShapes crosses --workers and --threads lists; either alone keeps
// the other at 1.
func parseShapes(workers, threads string) ([]server.Shape, error) {
	ws, err := parseInts("workers", workers)
	if err != nil {
		return nil, err
	}
	ts, err := parseInts("threads", threads)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 && len(ts) == 0 {
		return nil, nil
	}
	if len(ws) == 0 {
		ws = []int{1}
	}
	if len(ts) == 0 {
		ts = []int{1}
	}
	var shapes []server.Shape
	for _, w := range ws {
		for _, t := range ts {
			shapes = append(shapes, server.Shape{Workers: w, Threads: t})
		}
	}
	return shapes, nil
}

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	out := fs.String("out", "", "directory to write summary.md and report.html into (default: the results file's directory)")
	profile := fs.String("profile", "", "re-rank with other priorities (default: the ranking stored in the file)")
	goal := fs.Duration("latency-goal", 0, "with --profile: the p99 goal (default: the one the capacity search used)")
	// Accept the results file before or after the flags.
	var path string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		path, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flagErrHelp) {
			return errHelp
		}
		return errUsageShown
	}
	if path == "" && fs.NArg() > 0 {
		path = fs.Arg(0)
	}
	if path == "" {
		return fmt.Errorf("report: which results file? usage: wsgibench report results.json [--out DIR]")
	}
	f, err := results.Read(path)
	if err != nil {
		return err
	}
	if *profile != "" {
		if err := rank.Apply(f, *profile, float64(*goal)/float64(time.Millisecond)); err != nil {
			return err
		}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeReports(dir, f); err != nil {
		return err
	}
	if len(f.Runs) > 0 {
		report.Table(stdout, f)
	}
	suiteTables(stdout, f)
	fmt.Fprintf(stdout, "\nsummary: %s\nreport:  %s\n", filepath.Join(dir, "summary.md"), filepath.Join(dir, "report.html"))
	return nil
}

func profileNames() string {
	var names []string
	for _, p := range rank.Profiles() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}
