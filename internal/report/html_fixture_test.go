package report

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsgibench/wsgibench/internal/results"
)

// The fixture is generated, not hand-written, so it is internally
// consistent (percentiles match histograms, summaries match trials) and
// can be regenerated when the schema grows:
//
//	go test ./internal/report -run TestHTMLFixtureRegen -regen-html-fixture
var regenFixture = flag.Bool("regen-html-fixture", false, "rewrite html_testdata/results.json from the generator")

const fixturePath = "html_testdata/results.json"

func TestHTMLFixtureRegen(t *testing.T) {
	if !*regenFixture {
		t.Skip("pass -regen-html-fixture to rewrite " + fixturePath)
	}
	b, err := fixtureJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixturePath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", fixturePath, len(b))
}

func loadFixture(t testing.TB) *results.File {
	t.Helper()
	f, err := results.Read(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type fixtureRun struct {
	server, version, model string
	workers, threads       int
	workload               string
	rps, cv                float64 // median throughput and its trial-to-trial variation
	p50ms, tail            float64 // typical latency, and how heavy the tail is
	pssMiB, rssMiB         float64 // per process
	cpuMsPerReq            float64
	capacity               float64 // where latency breaks (0: no capacity search)
	noSummary              bool
	failAfter              int // trials before the server crashed (0: never)
	errorsPerTrial         int64
	bound                  int // generator-bound trials
	warnings               []string
}

var fixtureRuns = []fixtureRun{
	{server: "gunicorn-sync", version: "23.0.0", model: "process", workers: 4, threads: 1, workload: "crud",
		rps: 2130, cv: 0.02, p50ms: 29, tail: 1.2, pssMiB: 21, rssMiB: 38, cpuMsPerReq: 1.75},
	{server: "gunicorn-sync", version: "23.0.0", model: "process", workers: 8, threads: 1, workload: "crud",
		rps: 3890, cv: 0.025, p50ms: 15.5, tail: 1.4, pssMiB: 19, rssMiB: 38, cpuMsPerReq: 1.8},
	{server: "gunicorn-gthread", version: "23.0.0", model: "process+thread", workers: 4, threads: 4, workload: "crud",
		rps: 5120, cv: 0.03, p50ms: 11.8, tail: 1.6, pssMiB: 24, rssMiB: 41, cpuMsPerReq: 1.6, capacity: 4700},
	{server: "gunicorn-gthread", version: "23.0.0", model: "process+thread", workers: 8, threads: 4, workload: "crud",
		rps: 5360, cv: 0.035, p50ms: 11.2, tail: 1.9, pssMiB: 22, rssMiB: 41, cpuMsPerReq: 1.65},
	{server: "uwsgi", version: "2.0.28", model: "process+thread", workers: 4, threads: 4, workload: "crud",
		rps: 5310, cv: 0.03, p50ms: 11.4, tail: 1.3, pssMiB: 17, rssMiB: 30, cpuMsPerReq: 1.5, capacity: 5000,
		warnings: []string{"uwsgi logged 3 'listen queue of socket is full' messages"}},
	{server: "mod_wsgi", version: "5.0.2", model: "process+thread", workers: 4, threads: 8, workload: "crud",
		rps: 4720, cv: 0.04, p50ms: 12.9, tail: 2.2, pssMiB: 31, rssMiB: 52, cpuMsPerReq: 1.9, capacity: 4100},
	{server: "waitress", version: "3.0.2", model: "thread", workers: 1, threads: 8, workload: "crud",
		rps: 1480, cv: 0.06, p50ms: 42, tail: 1.8, pssMiB: 36, rssMiB: 44, cpuMsPerReq: 0.68, noSummary: true,
		errorsPerTrial: 37},
	{server: "granian", version: "2.2.5", model: "process+thread", workers: 4, threads: 1, workload: "crud",
		rps: 6080, cv: 0.02, p50ms: 10.1, tail: 1.1, pssMiB: 26, rssMiB: 35, cpuMsPerReq: 1.3, capacity: 5700, bound: 1},
	{server: "cheroot", version: "10.0.1", model: "thread", workers: 1, threads: 16, workload: "crud"},
	{server: "granian", version: "2.2.5", model: "process+thread", workers: 4, threads: 1, workload: "plaintext",
		rps: 41200, cv: 0.02, p50ms: 1.45, tail: 1.2, pssMiB: 24, rssMiB: 33, cpuMsPerReq: 0.19},
	{server: "uwsgi", version: "2.0.28", model: "process+thread", workers: 4, threads: 4, workload: "plaintext",
		rps: 30900, cv: 0.03, p50ms: 1.9, tail: 1.5, pssMiB: 15, rssMiB: 28, cpuMsPerReq: 0.24, failAfter: 3},
	{server: "gunicorn-gthread", version: "23.0.0", model: "process+thread", workers: 4, threads: 4, workload: "plaintext",
		rps: 18700, cv: 0.03, p50ms: 3.2, tail: 1.7, pssMiB: 22, rssMiB: 39, cpuMsPerReq: 0.42},
}

func fixtureFile() *results.File {
	rng := rand.New(rand.NewPCG(42, 2026))
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	f := &results.File{
		Schema: results.Schema, Tool: "v0.3.0", Started: start, Complete: true,
		Machine: results.Machine{
			Hostname: "bench-01", OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0-28-amd64", Arch: "amd64",
			CPUModel: "AMD EPYC 7763 64-Core Processor", CPUs: 16, MemoryBytes: 64 << 30,
			ServerCPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}, GeneratorCPUs: []int{8, 9, 10, 11, 12, 13, 14, 15},
		},
		Python: results.Python{Executable: "/usr/bin/python3", Version: "3.11.2", Prefix: "/usr"},
		Plan: results.Plan{
			App: "wsgibench_app:app", Bundled: true, Workloads: []string{"crud", "plaintext"}, Connections: 64,
			Duration: results.Duration(10 * time.Second), Warmup: results.Duration(3 * time.Second), Trials: 5, Seed: 42,
		},
		Warnings: []string{"CPU frequency governor is \"powersave\" on CPUs 0-15: expect more variance between trials"},
	}
	clock := start
	for ri, fr := range fixtureRuns {
		r := results.Run{
			Server: fr.server, Version: fr.version, Model: fr.model, Language: "Python",
			Shape: results.Shape{Workers: fr.workers, Threads: fr.threads}, Workload: fr.workload,
			LoadModel: "closed", Connections: 64, Warnings: fr.warnings,
			Argv: []string{"/usr/bin/python3", "-m", fr.server, "--bind", "127.0.0.1:8001", "wsgibench_app:app"},
			Settings: map[string]string{
				"workers": fmt.Sprint(fr.workers), "threads": fmt.Sprint(fr.threads), "keepalive": "on",
			},
		}
		if fr.server == "cheroot" {
			r.Error = "starting cheroot: server exited with status 1 before it was ready\n" +
				"Traceback (most recent call last):\n  File \"/tmp/wsgibench/run_cheroot.py\", line 3, in <module>\n" +
				"    from cheroot import wsgi\nModuleNotFoundError: No module named 'cheroot'"
			f.Runs = append(f.Runs, r)
			continue
		}
		ntrials := 5
		if fr.failAfter > 0 {
			ntrials = fr.failAfter
			r.Error = fmt.Sprintf("%s crashed in trial %d: worker 2 (pid 48113) killed by signal 11 (SIGSEGV); the supervisor did not restart it", fr.server, fr.failAfter+1)
		}
		for ti := range ntrials {
			r.Trials = append(r.Trials, fixtureTrial(rng, fr, ti, clock))
			clock = clock.Add(14 * time.Second)
			f.Plan.Order = append(f.Plan.Order, fmt.Sprintf("%d/%d", ri, ti))
		}
		if !fr.noSummary && fr.failAfter == 0 {
			r.Summary = fixtureSummary(r.Trials)
		}
		if fr.capacity > 0 {
			r.Capacity = fixtureCapacity(rng, fr)
		}
		f.Runs = append(f.Runs, r)
	}
	f.Finished = clock.Add(9 * time.Minute)
	fixtureVerdict(f)
	rng.Shuffle(len(f.Plan.Order), func(i, j int) { f.Plan.Order[i], f.Plan.Order[j] = f.Plan.Order[j], f.Plan.Order[i] })
	return f
}

func fixtureTrial(rng *rand.Rand, fr fixtureRun, index int, started time.Time) results.Trial {
	const secs = 10
	rps := fr.rps * (1 + fr.cv*rng.NormFloat64())
	requests := int64(rps * secs)
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	const samples = 20000
	weight := max(1, requests/samples)
	stall := fr.p50ms * (4 + 4*fr.tail) // an occasional pause (GC, a slow query)
	for range samples {
		v := fr.p50ms * math.Exp(0.32*fr.tail*rng.NormFloat64())
		if rng.Float64() < 0.0015*fr.tail {
			v += stall * rng.ExpFloat64()
		}
		h.RecordValues(max(1, int64(v*1000)), weight)
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		panic(err)
	}
	msAt := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	t := results.Trial{
		Index: index, Started: started, Requests: requests + fr.errorsPerTrial, DurationS: secs, RPS: float64(requests) / secs,
		Errors:       results.Errors{Total: fr.errorsPerTrial, Reset: fr.errorsPerTrial},
		StatusCounts: map[string]int64{"200": requests}, ConnectionsOpened: 64 + fr.errorsPerTrial,
		LatencyMS: results.Latency{Mean: h.Mean() / 1000, P50: msAt(50), P75: msAt(75), P90: msAt(90), P99: msAt(99),
			P999: msAt(99.9), P9999: msAt(99.99), Max: float64(h.Max()) / 1000},
		Histogram:     string(enc), // Encode returns base64 already
		PSSPeakBytes:  int64((fr.pssMiB*float64(fr.workers) + 9) * (1 + 0.02*rng.NormFloat64()) * (1 << 20)),
		RSSPeakBytes:  int64((fr.rssMiB*float64(fr.workers) + 14) * (1 + 0.01*rng.NormFloat64()) * (1 << 20)),
		CPUSeconds:    float64(requests) * fr.cpuMsPerReq / 1000,
		Processes:     fr.workers + 1,
		GeneratorCPUS: float64(requests) * 0.00011,
	}
	if index < fr.bound {
		t.GeneratorBound = true
		t.Warnings = append(t.Warnings, "load generator CPU at 93%")
	}
	for s := range secs {
		ramp := 1.0
		if s == 0 {
			ramp = 0.93
		}
		n := int64(rps * ramp * (1 + 0.03*rng.NormFloat64()))
		p99 := t.LatencyMS.P99 * (1 + 0.12*rng.NormFloat64())
		if rng.Float64() < 0.08*fr.tail {
			p99 *= 2.5 // a second with a stall in it
		}
		var errs int64
		if fr.errorsPerTrial > 0 && s == 6 {
			errs = fr.errorsPerTrial
		}
		t.Timeline = append(t.Timeline, results.Second{Requests: n + errs, Errors: errs, P99MS: math.Round(p99*100) / 100})
	}
	return t
}

// fixtureSummary reduces trials the simple way: median, and the order
// statistics that bracket it (for five trials, min and max are a 94% CI).
func fixtureSummary(trials []results.Trial) *results.Summary {
	est := func(get func(results.Trial) float64) results.Estimate {
		var xs []float64
		for _, t := range trials {
			xs = append(xs, get(t))
		}
		slices.Sort(xs)
		n := len(xs)
		med := xs[n/2]
		if n%2 == 0 {
			med = (xs[n/2-1] + xs[n/2]) / 2
		}
		return results.Estimate{Median: med, Lo: xs[0], Hi: xs[n-1], N: n, Confidence: 1 - 2/math.Pow(2, float64(n))}
	}
	s := &results.Summary{
		RPS:          est(func(t results.Trial) float64 { return t.RPS }),
		P50MS:        est(func(t results.Trial) float64 { return t.LatencyMS.P50 }),
		P99MS:        est(func(t results.Trial) float64 { return t.LatencyMS.P99 }),
		P999MS:       est(func(t results.Trial) float64 { return t.LatencyMS.P999 }),
		PSSBytes:     est(func(t results.Trial) float64 { return float64(t.PSSPeakBytes) }),
		RSSBytes:     est(func(t results.Trial) float64 { return float64(t.RSSPeakBytes) }),
		CPUSeconds:   est(func(t results.Trial) float64 { return t.CPUSeconds }),
		CPUMsPerKReq: est(func(t results.Trial) float64 { return t.CPUSeconds * 1e6 / float64(t.Requests) }),
		ErrorRate:    est(func(t results.Trial) float64 { return float64(t.Errors.Total) / float64(t.Requests) }),
	}
	if spread := (s.RPS.Hi - s.RPS.Lo) / s.RPS.Median; spread > 0.08 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("high variance: trials spread %.0f%% around the median", spread*100))
	}
	return s
}

// fixtureCapacity steps the rate up until p99 breaks the goal, then
// bisects, like the real search.
func fixtureCapacity(rng *rand.Rand, fr fixtureRun) *results.Capacity {
	const goal = 50.0
	c := &results.Capacity{GoalP99MS: goal, MaxErrorRate: 0.001}
	probe := func(rate float64) bool {
		load := rate / fr.capacity
		p99 := fr.p50ms * 0.3 * fr.tail * (1 + 0.05*rng.NormFloat64()) / math.Pow(math.Max(0.01, 1.05-load), 1.5)
		achieved := math.Min(rate, fr.capacity*1.12) * (1 - 0.004*rng.Float64())
		errRate := 0.0
		if load > 1.1 {
			errRate = 0.002 * (load - 1.1) * 10
			p99 = math.Max(p99, 900+300*load)
		}
		st := results.CapacityStep{Rate: rate, Achieved: math.Round(achieved), P99MS: math.Round(p99*100) / 100, ErrorRate: errRate}
		st.Pass = st.P99MS <= goal && errRate <= c.MaxErrorRate && achieved >= 0.97*rate
		c.Steps = append(c.Steps, st)
		return st.Pass
	}
	lo, hi := 0.0, 0.0
	for rate := 1000.0; rate <= 64000; rate *= 2 {
		if !probe(rate) {
			hi = rate
			break
		}
		lo = rate
	}
	for range 4 {
		mid := math.Round((lo+hi)/2/50) * 50
		if probe(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	c.RPS = lo
	c.Limit = "p99"
	return c
}

func fixtureJSON() ([]byte, error) {
	b, err := json.MarshalIndent(fixtureFile(), "", "  ")
	return append(b, '\n'), err
}

// fixtureVerdict is a ranking of the crud runs with a tie for second.
func fixtureVerdict(f *results.File) {
	f.Verdict = &results.Verdict{
		Headline: "granian 4x1 takes the most load at the p99 goal; uwsgi 4x4 and gunicorn-gthread 8x4 tie for second.",
		Profile:  "crud-behind-cache",
		Weights: []results.Weight{{Metric: "capacity", Weight: 4}, {Metric: "p99", Weight: 3}, {Metric: "memory", Weight: 2},
			{Metric: "errors", Weight: 1}},
		Workload: "crud", GoalP99MS: 50, Alpha: 0.05, MinScoreGap: 2,
		CapacityFrom: "capacity search where it ran, closed-loop req/s otherwise",
		Notes:        []string{"5 trials per run: intervals are [min, max], a 94% CI; 6 trials reach 95%."},
	}
	shape := func(w, t int) results.Shape { return results.Shape{Workers: w, Threads: t} }
	f.Ranking = []results.Rank{
		{Position: 1, Server: "granian", Shape: shape(4, 1), Workload: "crud", Score: 91.4,
			Reasons: []string{"highest capacity at the p99 goal (5,000 req/s), clear of the next", "lowest p99"}},
		{Position: 2, Server: "uwsgi", Shape: shape(4, 4), Workload: "crud", Score: 78.2,
			Reasons: []string{"least memory of the top four"}, TiedWith: []string{"gunicorn-gthread 8x4"}},
		{Position: 2, Server: "gunicorn-gthread", Shape: shape(8, 4), Workload: "crud", Score: 77.1,
			Reasons: []string{"more req/s than uwsgi 4x4 but not significantly (p = 0.31)"}, TiedWith: []string{"uwsgi 4x4"}},
		{Position: 4, Server: "gunicorn-gthread", Shape: shape(4, 4), Workload: "crud", Score: 70.3,
			Reasons: []string{"capacity 3,750 req/s, 12% below uwsgi 4x4"}},
		{Position: 5, Server: "mod_wsgi", Shape: shape(4, 8), Workload: "crud", Score: 58.9,
			Reasons: []string{"longest p99.9 of the process+thread servers"}},
		{Position: 6, Server: "gunicorn-sync", Shape: shape(8, 1), Workload: "crud", Score: 44.0},
		{Position: 7, Server: "gunicorn-sync", Shape: shape(4, 1), Workload: "crud", Score: 31.5},
		{Position: 8, Server: "waitress", Shape: shape(1, 8), Workload: "crud", Score: 12.6,
			Reasons: []string{"reset connections in every trial"}},
	}
}
