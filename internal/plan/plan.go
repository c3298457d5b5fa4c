// Package plan expands what a user asked for (servers, shapes, workloads,
// trials) into the cells of a comparison and runs them: each trial against a
// freshly started server, in an interleaved, seeded-random order so that
// drift on a shared machine (thermal throttling, a noisy neighbour) hits every
// server alike instead of whichever happened to run last. By default the
// trials are raced (race.go): every cell gets a first round, and only the
// cells that can still win get more, side by side in pairs; the capacity
// searches and trouble scenarios follow for those (contenders.go).
package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/front"
	"github.com/wsgibench/wsgibench/internal/probe"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/trouble"
	"github.com/wsgibench/wsgibench/internal/workload"
)

// Trial durations unless the user sets them: 2 s measured after a 0.5 s
// warm-up. A server starts fresh for every trial and is ready before the
// warm-up begins, which only has to fill its connections and caches; and
// many short trials, paired, separate servers better than a few long ones
// (the spread between trials, not within one, is what hides differences;
// README: racing).
const (
	DefaultDuration = 2 * time.Second
	DefaultWarmup   = 500 * time.Millisecond
	// DefaultCapacityProbe is the measured time per rate the capacity
	// search probes: 1 s holds thousands of requests at the rates these
	// servers reach, and the search bisects over 6 or so probes.
	DefaultCapacityProbe = time.Second
)

// Options is what the user asked for.
type Options struct {
	Python       string
	Servers      []string       // adapter IDs; empty = every available one
	Shapes       []server.Shape // requested shapes; empty = DefaultShapes
	Workloads    []string       // workload specs; empty = workload.Default
	Connections  int
	Rate         float64 // open-model target rate; 0 = closed model
	Duration     time.Duration
	Warmup       time.Duration
	Trials       int
	Seed         int64
	App          string // module:callable; empty = the bundled reference app
	Chdir        string // the user's app directory
	Host         string // loopback address to bind servers to
	Port         int    // 0 = a free port per trial
	ReadyPath    string // readiness probe path; default /plaintext for the bundled app, / otherwise
	ReadyTimeout time.Duration
	Timeout      time.Duration // per request
	Out          string        // output directory
	// Capacity search (see capacity.go): off with NoCapacity, and skipped
	// for open-model plans, which already fix the rate.
	NoCapacity     bool
	LatencyGoal    time.Duration // p99 goal; default 100ms
	CapacityProbe  time.Duration // measured time per probed rate; default DefaultCapacityProbe
	CapacityProbes int           // probes per search; default 8
	CapacityTop    int           // search only the top cells by throughput (0 = all; set by --budget)
	// Conformance probes (package probe), once per server: off with
	// NoProbe; ProbeCases narrows them (nil = every case).
	NoProbe    bool
	ProbeCases []probe.Case
	// SuitesOnly runs the suites (probes and trouble, less those turned
	// off) and nothing else: no trials, no capacity search (wsgibench
	// probe, wsgibench trouble).
	SuitesOnly bool
	// Trouble scenarios (package trouble), once per server: off with
	// NoTrouble; TroubleScenarios narrows them (nil = all).
	NoTrouble        bool
	TroubleScenarios []trouble.Scenario
	// Fronts are the proxies each trial runs behind (package front);
	// none measures the server directly. Several compare them: every cell
	// runs once per front. Empty means none.
	Fronts []front.Kind
	// TroubleRepeat runs each trouble scenario this many times and keeps
	// the median (default 1).
	TroubleRepeat int
	// Budget is the time a racing plan may take (--budget): the race ends
	// early and the suites shrink to keep to it while the run goes (see
	// deadline.go); 0 = none. A plan that does not race is fitted before it
	// starts only (package budget).
	Budget time.Duration

	// DB is the bundled app's database: "sqlite" (default) or "postgres";
	// DBDSN, if set, is the user's PostgreSQL server instead of a private
	// cluster (and implies postgres).
	DB    string
	DBDSN string
	// DBLatency is added to every round trip between the app and
	// PostgreSQL by a loopback proxy (0 = direct).
	DBLatency time.Duration
	// TargetCPUs is the core count of the machine the user deploys on
	// (see target.go); 0 = the CPUs this machine gives the server.
	TargetCPUs int
	// NoCeiling skips measuring each server's parallelism ceiling (see
	// ceiling.go); throughput for a larger target then is not projected.
	NoCeiling bool
	// CheckProjection measures capacity on every CPU this machine allows
	// and records how far the projection from the server's CPUs missed it.
	CheckProjection bool
	// NoRacing gives every cell all Trials (the exhaustive plan). Racing
	// (race.go) gives every cell a first round, then trials only to the
	// contenders, Trials at most; capacity searches and trouble scenarios
	// then run for contenders and the servers named in Servers only.
	NoRacing bool
	// Named are servers measured in full (capacity, trouble) whatever the
	// race: the ones the user named (wsgibench run --servers).
	Named []string
	// RaceMetric is what racing judges on, a key of RaceMetrics (rank's
	// metric names); default rps, the evidence behind capacity.
	RaceMetric string

	// Profile is the ranking profile the caller will rank with. The plan
	// does not rank; it records the profile with the options so that a
	// resumed run ranks alike.
	Profile string
	// Progress, if set, hears where the run is (see Progress).
	Progress Progress `json:"-"`
	// Resume continues the interrupted run in this results file (see
	// resume.go): its finished trials and suites are kept, the rest run.
	Resume *results.File `json:"-"`
	// NoCheck skips the app portability check (package check; see
	// check.go), which otherwise runs once before the trials.
	NoCheck bool

	// AsRun is recorded in the results file as the plan as run (the
	// merged plan file, flags and budget; see package planfile).
	AsRun *results.AsRun `json:"-"`
}

// DefaultShapes sizes shapes to the target's cores (not this machine's):
// one that is all processes (gunicorn's rule of thumb, 2×CPUs+1) and one
// that is threads in a process per core. Adapters map each onto what they support (see
// server.Adapter.Effective), so every server is offered the same total
// concurrency.
func DefaultShapes(serverCPUs int) []server.Shape {
	c := max(serverCPUs, 1)
	return []server.Shape{{Workers: 2*c + 1, Threads: 1}, {Workers: c, Threads: 8}}
}

// Cell is one (server, effective shape, workload, front) combination.
type Cell struct {
	Status   server.Status
	Shape    server.Shape
	Workload workload.Workload
	Front    front.Kind // "" or none: the server measured directly
	// Remedy: launch with the server's remedy for uneven worker load
	// (Facts.Workers.Remedy), for the measurement beside a flagged run.
	Remedy bool
}

// Key names a cell in messages.
func (c Cell) Key() string {
	k := fmt.Sprintf("%s %s %s", c.Status.Adapter.ID, c.Shape, c.Workload.Name)
	if c.hasFront() {
		k += " behind " + string(c.Front)
	}
	return k
}

func (c Cell) hasFront() bool { return c.Front != "" && c.Front != front.None }

// Step is one trial of one cell.
type Step struct {
	Cell  int // index into the cells
	Trial int
}

// Select picks the adapters to run. Unknown IDs and unavailable servers that
// were named explicitly are errors; with no names, every available server.
func Select(statuses []server.Status, names []string) ([]server.Status, error) {
	if len(names) == 0 {
		var out []server.Status
		for _, s := range statuses {
			if s.Available {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no WSGI server is available for this Python; run scripts/setup.sh or pip install one")
		}
		return out, nil
	}
	byID := map[string]server.Status{}
	for _, s := range statuses {
		byID[s.Adapter.ID] = s
	}
	var out []server.Status
	for _, n := range names {
		s, ok := byID[n]
		if !ok {
			return nil, fmt.Errorf("unknown server %q (known: %s)", n, strings.Join(server.IDs(), ", "))
		}
		if !s.Available {
			return nil, fmt.Errorf("server %s is not available: %s", n, s.Reason)
		}
		if !slices.ContainsFunc(out, func(o server.Status) bool { return o.Adapter.ID == n }) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Cells expands servers × shapes × workloads, mapping each requested shape
// to the server's effective one and dropping duplicates (waitress offered
// 3×1 and 1×3 runs 1×3 once).
func Cells(servers []server.Status, shapes []server.Shape, workloads []workload.Workload) []Cell {
	var cells []Cell
	for _, s := range servers {
		var seen []server.Shape
		for _, req := range shapes {
			eff := s.Adapter.Effective(req)
			if slices.Contains(seen, eff) {
				continue
			}
			seen = append(seen, eff)
			for _, w := range workloads {
				cells = append(cells, Cell{Status: s, Shape: eff, Workload: w})
			}
		}
	}
	return cells
}

// Order interleaves trials: round t runs trial t of every cell, in a
// seeded-random permutation per round. The same seed gives the same order.
func Order(cells, trials int, seed int64) []Step {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x77736769))
	var steps []Step
	for t := 0; t < trials; t++ {
		for _, c := range rng.Perm(cells) {
			steps = append(steps, Step{Cell: c, Trial: t})
		}
	}
	return steps
}

// SplitCPUs divides the CPUs this process may use between the server and the
// load generator. The generator gets a quarter (at least one), the server
// the rest; with a single CPU they share it, which the results say.
func SplitCPUs(cpus []int) (server, generator []int, shared bool) {
	switch len(cpus) {
	case 0:
		return nil, nil, true
	case 1:
		return cpus, cpus, true
	}
	g := max(1, len(cpus)/4)
	return slices.Clone(cpus[:len(cpus)-g]), slices.Clone(cpus[len(cpus)-g:]), false
}
