//go:build ignore

// genfixtures writes the realistic results files the report, rank and
// compare tests read: results.json (7 servers, 9 runs, 5 trials each,
// capacity searches, one generator-bound server, one failed run) and
// results-3trials.json (an older run with 3 trials, one server fewer, one
// more that worked then, no capacity search for it).
//
//	cd internal/report && go run ./testdata/genfixtures.go
//
// The numbers are seeded, so the files only change when this does.
package main

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

type spec struct {
	server, version, model, lang string
	shape                        results.Shape
	rps, sd                      float64 // median req/s and relative spread
	p50, p99                     float64 // ms
	pssMiB                       float64
	procs                        int
	cpuMsPerReq                  float64
	knee                         float64 // capacity at the goal; 0 = no search
	genLimit                     float64 // the generator's ceiling in the search; 0 = none
	bound                        []int   // generator-bound trials
	errors                       map[int]results.Errors
	fail                         string
}

var specs = []spec{
	{server: "uwsgi", version: "2.0.28", model: "process+thread", lang: "C", shape: results.Shape{Workers: 9, Threads: 1},
		rps: 1980, sd: 0.02, p50: 14.5, p99: 41, pssMiB: 205, procs: 10, cpuMsPerReq: 1.85},
	{server: "uwsgi", version: "2.0.28", model: "process+thread", lang: "C", shape: results.Shape{Workers: 4, Threads: 8},
		rps: 2240, sd: 0.015, p50: 12.8, p99: 33, pssMiB: 131, procs: 5, cpuMsPerReq: 1.72, knee: 1960},
	{server: "gunicorn-gthread", version: "23.0.0", model: "process+thread", lang: "Python", shape: results.Shape{Workers: 9, Threads: 1},
		rps: 1850, sd: 0.02, p50: 15.8, p99: 44, pssMiB: 236, procs: 10, cpuMsPerReq: 1.98},
	{server: "gunicorn-gthread", version: "23.0.0", model: "process+thread", lang: "Python", shape: results.Shape{Workers: 4, Threads: 8},
		rps: 2190, sd: 0.02, p50: 13.1, p99: 34.5, pssMiB: 134, procs: 5, cpuMsPerReq: 1.80, knee: 1900},
	{server: "gunicorn-sync", version: "23.0.0", model: "process", lang: "Python", shape: results.Shape{Workers: 9, Threads: 1},
		rps: 1760, sd: 0.025, p50: 17, p99: 52, pssMiB: 228, procs: 10, cpuMsPerReq: 1.95, knee: 1500},
	{server: "waitress", version: "3.0.2", model: "thread", lang: "Python", shape: results.Shape{Workers: 1, Threads: 8},
		rps: 1020, sd: 0.03, p50: 30, p99: 72, pssMiB: 46, procs: 1, cpuMsPerReq: 2.6, knee: 820,
		errors: map[int]results.Errors{3: {Total: 4, Timeout: 4}}},
	{server: "cheroot", version: "10.0.1", model: "thread", lang: "Python", shape: results.Shape{Workers: 1, Threads: 8},
		rps: 985, sd: 0.03, p50: 31, p99: 75, pssMiB: 44, procs: 1, cpuMsPerReq: 2.7, knee: 790},
	{server: "granian", version: "1.7.0", model: "process+thread", lang: "Rust (hyper/tokio)", shape: results.Shape{Workers: 4, Threads: 1},
		rps: 2650, sd: 0.02, p50: 10.5, p99: 27, pssMiB: 168, procs: 5, cpuMsPerReq: 1.5, knee: 3100, genLimit: 2450, bound: []int{1, 3}},
	{server: "mod_wsgi", version: "5.0.2", model: "process+thread", lang: "C (Apache httpd)", shape: results.Shape{Workers: 4, Threads: 8},
		fail: "starting mod_wsgi: httpd exited with status 1: AH00526: Syntax error on line 12 of httpd.conf: Invalid command 'WSGIDaemonProcess'\nfull output in the log"},
}

const goalMS = 100

func main() {
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	write("testdata/results.json", build(specs, 5, base, 42))

	// The older run: 3 trials, no cheroot, mod_wsgi still worked (without
	// a capacity search), uwsgi was an older, slower release.
	var old []spec
	for _, s := range specs {
		switch s.server {
		case "cheroot":
			continue
		case "mod_wsgi":
			s.fail = ""
			s.rps, s.sd, s.p50, s.p99, s.pssMiB, s.procs, s.cpuMsPerReq = 2050, 0.02, 14, 36, 150, 6, 1.8
		case "uwsgi":
			s.version = "2.0.26"
			s.rps, s.p99, s.knee = s.rps*0.88, s.p99*1.15, s.knee*0.88
		}
		s.bound = s.bound[:0:0]
		if s.server == "granian" {
			s.bound = []int{1}
		}
		old = append(old, s)
	}
	write("testdata/results-3trials.json", build(old, 3, base.AddDate(0, 0, -14), 7))
}

func build(specs []spec, trials int, start time.Time, seed int64) *results.File {
	rng := rand.New(rand.NewPCG(uint64(seed), 99))
	f := &results.File{
		Schema: results.Schema, Tool: "wsgibench 0.3.0", Started: start, Complete: true,
		Machine: results.Machine{
			Hostname: "bench-1", OS: "linux", Kernel: "6.8.0-49-generic", Arch: "amd64",
			CPUModel: "AMD EPYC 7B13 64-Core Processor", CPUs: 8, MemoryBytes: 16 << 30,
			ServerCPUs: []int{0, 1, 2, 3}, GeneratorCPUs: []int{4, 5, 6, 7},
		},
		Python: results.Python{Executable: "/opt/venv/bin/python3", Version: "3.12.3", Prefix: "/opt/venv", Venv: true},
		Plan: results.Plan{
			App: "wsgibench_app:application", Bundled: true, Workloads: []string{"crud"}, Connections: 32,
			Duration: results.Duration(10 * time.Second), Warmup: results.Duration(3 * time.Second),
			Trials: trials, Seed: seed,
		},
	}
	// Trials run interleaved in a seeded order, as the plan does.
	type step struct{ cell, trial int }
	var order []step
	for c := range specs {
		for t := 0; t < trials; t++ {
			order = append(order, step{c, t})
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	f.Runs = make([]results.Run, len(specs))
	for i, s := range specs {
		f.Runs[i] = results.Run{
			Server: s.server, Version: s.version, Model: s.model, Language: s.lang, Shape: s.shape,
			Workload: "crud", LoadModel: "closed", Connections: 32,
			Argv: []string{s.server, "--workers", fmt.Sprint(s.shape.Workers), "--threads", fmt.Sprint(s.shape.Threads)},
		}
		if s.fail != "" {
			f.Runs[i].Error = s.fail
		}
	}
	at := start
	for _, st := range order {
		s := specs[st.cell]
		run := &f.Runs[st.cell]
		f.Plan.Order = append(f.Plan.Order, fmt.Sprintf("%d/%d", st.cell, st.trial))
		at = at.Add(14 * time.Second)
		if s.fail != "" {
			continue
		}
		run.Trials = append(run.Trials, trial(rng, s, st.trial, at))
	}
	for i, s := range specs {
		run := &f.Runs[i]
		// Trials are stored in the order they ran; index is their number.
		sortTrials(run.Trials)
		if s.knee > 0 {
			run.Capacity = search(rng, s)
		}
	}
	f.Finished = at.Add(time.Minute)
	return f
}

func sortTrials(ts []results.Trial) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Index < ts[j-1].Index; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func trial(rng *rand.Rand, s spec, i int, at time.Time) results.Trial {
	noise := func(sd float64) float64 { return 1 + sd*rng.NormFloat64() }
	bound := false
	for _, b := range s.bound {
		bound = bound || b == i
	}
	rps := s.rps * noise(s.sd)
	if bound {
		rps = math.Min(rps, 2480*noise(0.005))
	}
	const secs = 10.0
	e := s.errors[i]
	ok := int64(rps * secs)
	req := ok + e.Status
	p50 := s.p50 * noise(0.03)
	p99 := s.p99 * noise(0.06)
	pss := s.pssMiB * noise(0.004) * (1 << 20)
	t := results.Trial{
		Index: i, Started: at, Requests: req, DurationS: secs, RPS: round(float64(ok)/secs, 1),
		Errors: e, StatusCounts: map[string]int64{"200": ok}, ConnectionsOpened: 32,
		LatencyMS: results.Latency{
			Mean: round(p50*1.1, 2), P50: round(p50, 2), P75: round(p50*1.4, 2), P90: round(p50*1.9, 2),
			P99: round(p99, 2), P999: round(p99*1.6, 2), P9999: round(p99*2.3, 2), Max: round(p99*3.1, 2),
		},
		RSSPeakBytes: int64(pss*1.55) &^ 4095, PSSPeakBytes: int64(pss) &^ 4095,
		CPUSeconds: round(s.cpuMsPerReq*float64(req)/1000*noise(0.01), 3), Processes: s.procs,
		GeneratorCPUS: round(secs*(0.25+rps/4000), 2), GeneratorBound: bound,
	}
	if e.Status > 0 {
		t.StatusCounts["500"] = e.Status
	}
	if bound {
		t.GeneratorCPUS = round(secs*0.93, 2)
		t.Warnings = []string{"load generator used 93% of its CPU"}
	}
	return t
}

// search replays the capacity search's step-up-then-bisect against a
// server whose p99 passes the goal up to its knee.
func search(rng *rand.Rand, s spec) *results.Capacity {
	c := &results.Capacity{GoalP99MS: goalMS, MaxErrorRate: 0.001}
	rate := math.Max(s.rps/2, 10)
	pass, fail := 0.0, math.Inf(1)
	for i := 0; i < 8; i++ {
		r := math.Round(rate)
		st := results.CapacityStep{Rate: r, Achieved: r}
		switch {
		case s.genLimit > 0 && r > s.genLimit:
			st.Achieved, st.P99MS, st.GeneratorBound = s.genLimit, round(s.p99*0.9, 2), true
		case r <= s.knee:
			st.P99MS = round(s.p99*0.4*(1+math.Pow(r/s.knee, 6))*(1+0.05*rng.NormFloat64()), 2)
			st.Pass = true
		default:
			st.P99MS = round(goalMS*(1+8*(r-s.knee)/s.knee), 2)
			st.Achieved = round(r*0.995, 1)
		}
		c.Steps = append(c.Steps, st)
		if st.Pass {
			pass, c.RPS = r, r
		} else {
			fail = r
			c.Limit = "p99"
			if st.GeneratorBound {
				c.Limit = "generator-bound"
				break
			}
		}
		switch {
		case math.IsInf(fail, 1):
			rate = pass * 1.5
		case fail-pass <= 0.05*pass:
			return c
		default:
			rate = (pass + fail) / 2
		}
	}
	return c
}

func write(name string, f *results.File) {
	if err := results.Write(name, f); err != nil {
		log.Fatal(err)
	}
}
