package report

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// factorServer is one server of the 17-server fixture: what a default run
// on this 2-core machine with --target-cpus 4 records, in round numbers.
type factorServer struct {
	name, model    string
	workers, thr   int
	rpsPerCore     float64 // closed-loop req/s on the one measured CPU
	p99            float64 // ms
	pssMiB         float64 // whole tree
	ceiling        float64 // cores with every CPU allowed
	machineBound   bool
	slow, killed   float64 // retained under slow clients, a killed worker
	hung, overload float64
	threshold      int // slow clients that halve its throughput (0: none up to 64)
	probeFails     int
	keepAliveFail  bool
}

var factorServers = []factorServer{
	{"gunicorn-sync", "process", 9, 1, 610, 48, 190, 2, true, 0.05, 0.8, 0.85, 0.7, 9, 2, false},
	{"gunicorn-gthread", "process+thread", 4, 8, 640, 41, 120, 2, true, 0.55, 0.75, 0.9, 0.75, 0, 2, false},
	{"gunicorn-gevent", "process+greenlet", 4, 0, 700, 39, 130, 2, true, 0.92, 0.75, 0.95, 0.6, 0, 3, false},
	{"gunicorn-eventlet", "process+greenlet", 4, 0, 660, 44, 135, 2, true, 0.9, 0.72, 0.95, 0.55, 0, 4, false},
	{"uwsgi", "process+thread", 4, 8, 720, 36, 110, 2, true, 0.5, 0.85, 0.9, 0.8, 0, 1, false},
	{"uwsgi-gevent", "process+greenlet", 4, 0, 760, 35, 115, 2, true, 0.93, 0.84, 0.95, 0.7, 0, 1, false},
	{"mod_wsgi", "process+thread", 4, 8, 600, 50, 150, 2, true, 0.97, 0.9, 0.9, 0.85, 0, 0, false},
	{"waitress", "thread", 1, 8, 820, 33, 45, 1.02, false, 0.95, 0, 0.9, 0.8, 0, 1, false},
	{"cheroot", "thread", 1, 8, 790, 34, 44, 1.05, false, 0.3, 0, 0.85, 0.75, 8, 2, false},
	{"granian", "process+thread", 4, 1, 900, 28, 160, 2, true, 0.9, 0.7, 0.8, 0.65, 0, 5, true},
	{"bjoern", "event loop", 1, 1, 1100, 22, 25, 1.0, false, 0.02, 0, 0.05, 0.5, 1, 9, true},
	{"meinheld", "greenlet", 1, 0, 980, 26, 30, 1.0, false, 0.6, 0, 0.1, 0.55, 0, 8, false},
	{"tornado", "event loop", 4, 1, 580, 52, 140, 2, true, 0.85, 0.65, 0.25, 0.5, 0, 6, false},
	{"twisted", "thread", 1, 8, 520, 60, 55, 1.1, false, 0.88, 0, 0.85, 0.6, 0, 4, false},
	{"gevent-pywsgi", "greenlet", 1, 0, 690, 40, 38, 1.0, false, 0.9, 0, 0.15, 0.6, 0, 3, false},
	{"eventlet", "greenlet", 1, 0, 640, 45, 40, 1.0, false, 0.88, 0, 0.12, 0.55, 0, 5, false},
	{"pyruvate", "thread", 2, 4, 870, 30, 60, 1.9, false, 0.4, 0.5, 0.8, 0.7, 4, 7, true},
}

// fixtureProbeIDs is the fixture's conformance suite: the keep-alive probes and
// others, failed from the end of the list.
var fixtureProbeIDs = []string{"keep-alive", "pipelining", "chunked-trailer", "chunked-request", "chunk-extension", "expect-100",
	"head", "response-framing", "http10-client", "absolute-form", "missing-host", "garbage", "header-without-colon",
	"huge-header", "many-headers", "cl-and-te", "te-space-before-colon", "te-unknown", "cl-duplicate", "cl-sign",
	"chunk-size-0x", "unread-body", "obs-fold", "nul-in-header", "cr-in-header", "underscore-header"}

// factorsFixture is a realistic ranked file with 17 servers, 5 trials
// each, capacity searches, ceilings and a projected 4-core target,
// conformance probes and trouble scenarios: what the verdict's lead must
// fit on one screen with. Seeded, so the same every time.
func factorsFixture(t testing.TB) *results.File {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 17))
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	f := &results.File{
		Schema: results.Schema, Tool: "test", Started: start, Finished: start.Add(2 * time.Hour), Complete: true,
		Machine: results.Machine{Hostname: "bench", OS: "linux", Arch: "amd64", CPUs: 2, ServerCPUs: []int{0}, GeneratorCPUs: []int{1}},
		Plan:    results.Plan{Workloads: []string{"crud"}, Trials: 5, Duration: results.Duration(10 * time.Second), Seed: 1},
		Target:  &results.Target{CPUs: 4, MeasuredCPUs: 1, Projected: true},
	}
	for _, s := range factorServers {
		shape := results.Shape{Workers: s.workers, Threads: s.thr}
		run := results.Run{Server: s.name, Version: "1.0", Model: s.model, Language: "python", Shape: shape,
			Workload: "crud", LoadModel: "closed", Connections: 32}
		for i := range 5 {
			rps := s.rpsPerCore * (1 + 0.02*rng.NormFloat64())
			p99 := s.p99 * (1 + 0.03*rng.NormFloat64())
			req := int64(rps * 10)
			run.Trials = append(run.Trials, results.Trial{
				Index: i, Started: start.Add(time.Duration(i) * time.Minute), Requests: req, DurationS: 10, RPS: rps,
				LatencyMS:    results.Latency{P50: p99 / 3, P99: p99, Max: p99 * 2},
				PSSPeakBytes: int64(s.pssMiB*(1<<20)) + int64(rng.IntN(1<<19)), RSSPeakBytes: int64(s.pssMiB * 1.6 * (1 << 20)),
				CPUSeconds: float64(req) * (1.2 + 0.2*rng.Float64()) / 1000, Processes: max(1, s.workers),
				ConnectionsOpened: 32,
			})
		}
		capacity := math.Round(s.rpsPerCore * 0.85)
		run.Capacity = &results.Capacity{GoalP99MS: 100, MaxErrorRate: 0.001, RPS: capacity, Limit: "p99", Steps: []results.CapacityStep{
			{Rate: capacity, Achieved: capacity, P99MS: 60, Pass: true},
			{Rate: capacity * 1.04, Achieved: capacity * 1.03, P99MS: 140},
		}}
		f.Runs = append(f.Runs, run)
		f.Ceilings = append(f.Ceilings, results.Ceiling{Server: s.name, Shape: shape, Workload: "crud", CPUs: []int{0, 1},
			Connections: 64, DurationS: 5, Cores: s.ceiling, Processes: max(1, s.workers), MachineBound: s.machineBound})

		conf := results.Conformance{Server: s.name, Version: "1.0", Shape: shape}
		for i, id := range fixtureProbeIDs {
			out := "pass"
			switch {
			case s.keepAliveFail && (id == "keep-alive" || id == "pipelining"):
				out = "fail"
			case i >= len(fixtureProbeIDs)-s.probeFails:
				out = "fail"
			case i == 12 && s.probeFails > 3:
				out = "warn"
			}
			conf.Cases = append(conf.Cases, results.ProbeCase{ID: id, Group: "http", Title: id, Outcome: out})
			switch out {
			case "pass":
				conf.Pass++
			case "warn":
				conf.Warn++
			default:
				conf.Fail++
			}
		}
		conf.Score = (float64(conf.Pass) + float64(conf.Warn)/2) / float64(conf.Pass+conf.Warn+conf.Fail)
		f.Conformance = append(f.Conformance, conf)

		rob := results.Robustness{Server: s.name, Version: "1.0", Shape: shape}
		add := func(id string, kept float64) {
			rob.Scenarios = append(rob.Scenarios, results.TroubleCase{ID: id, Title: id, BaselineRPS: s.rpsPerCore,
				TroubleRPS: s.rpsPerCore * kept, Retained: kept, Recovered: kept > 0.3})
		}
		add("slow-headers", s.slow)
		add("slow-body", math.Min(1, s.slow*1.05))
		add("hung-request", s.hung)
		if s.workers > 1 {
			add("worker-killed", s.killed)
		}
		add("overload", s.overload)
		rob.Scenarios = append(rob.Scenarios, results.TroubleCase{ID: "slow-threshold", Title: "slow-threshold",
			Unscored: true, Threshold: s.threshold, ThresholdMax: 64})
		var sum float64
		n := 0
		for _, sc := range rob.Scenarios {
			if !sc.Unscored {
				sum += sc.Retained
				n++
			}
		}
		rob.Score = sum / float64(n)
		f.Robustness = append(f.Robustness, rob)
	}
	if err := rank.Apply(f, "", 0); err != nil {
		t.Fatal(err)
	}
	return f
}
