package plan

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Even load across workers.
//
// Every trial's sampler keeps each process's own CPU time over the
// measured interval (proc.Stats.PerProcess). workerLoad turns that into
// shares of the workers' CPU time; balances flags runs in which a worker
// did far more than its fair share, and measures a flagged cell again with
// the server's remedy (server.Facts.Workers.Remedy) when it has one.

// helperCmds mark processes that run no app code whatever the server:
// Python's multiprocessing helpers (uvicorn's workers are spawned with
// multiprocessing and bring its resource tracker along).
var helperCmds = []string{"multiprocessing.resource_tracker", "multiprocessing.semaphore_tracker", "multiprocessing.forkserver"}

// Judging evenness needs enough CPU time: the kernel reports it in ticks
// of 10 ms (USER_HZ), and a share of a few ticks is noise.
const (
	tick = 10 * time.Millisecond
	// minTicks is the least CPU time of all workers together that is
	// judged: 0.3 s. It is a total, not a mean per worker: a server whose
	// one busy worker did everything on a busy machine (tornado's forked
	// workers, 0.5 CPU-s in a trial, all in one of six) must be judged.
	minTicks = 30
	// noiseSigmas: the busiest worker must exceed the mean by this many
	// standard deviations of a Poisson count of ticks as well.
	noiseSigmas = 4
)

// workerLoad reduces one trial's per-process CPU times; nil when the app
// ran in a single process (or in one worker beside a master), where there
// is nothing to spread.
func workerLoad(procs []proc.ProcCPU, w server.Workers) *results.WorkerLoad {
	var total, mainCPU, helperCPU time.Duration
	var workers []time.Duration
	for _, p := range procs {
		total += p.CPU
		switch {
		case p.Main:
			mainCPU += p.CPU
		case isHelper(p.Cmd, w):
			helperCPU += p.CPU
		default:
			workers = append(workers, p.CPU)
		}
	}
	slices.SortFunc(workers, func(a, b time.Duration) int { return cmp.Compare(b, a) })
	assumed := ""
	if w.Helpers > 0 && len(workers) > w.Helpers {
		for _, c := range workers[:w.Helpers] {
			helperCPU += c
		}
		workers = workers[w.Helpers:]
		who := "process was"
		if w.Helpers > 1 {
			who = fmt.Sprintf("%d processes were", w.Helpers)
		}
		assumed = fmt.Sprintf("the busiest %s taken for %s", who, w.HelpersWhy)
	}
	if len(workers) < 2 {
		return nil
	}
	l := evenness(workers)
	l.Assumed = assumed
	if total > 0 {
		l.MainShare = float64(mainCPU) / float64(total)
		l.HelperShare = float64(helperCPU) / float64(total)
	}
	if l.Note == "" {
		l.Uneven = unevenBeyondNoise(workers, l.MaxOverFair, l.Idle)
	}
	return l
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func isHelper(cmd string, w server.Workers) bool {
	for _, h := range helperCmds {
		if strings.Contains(cmd, h) {
			return true
		}
	}
	return w.Cmd != "" && !strings.Contains(cmd, w.Cmd)
}

// evenness computes the shares and figures of a set of workers' CPU
// times, and notes when there is too little CPU time to judge them.
func evenness(cpu []time.Duration) *results.WorkerLoad {
	n := len(cpu)
	var sum time.Duration
	for _, c := range cpu {
		sum += c
	}
	l := &results.WorkerLoad{Workers: n, Shares: make([]float64, n), CPUSeconds: sum.Seconds()}
	if sum <= 0 {
		l.Note = "not judged: the workers used no CPU time"
		return l
	}
	for i, c := range cpu {
		l.Shares[i] = float64(c) / float64(sum)
	}
	slices.SortFunc(l.Shares, func(a, b float64) int { return cmp.Compare(b, a) })
	fair := 1 / float64(n)
	l.MaxOverFair = l.Shares[0] / fair
	var ss float64
	for _, s := range l.Shares {
		ss += (s - fair) * (s - fair)
		if s < fair/10 {
			l.Idle++
		}
	}
	l.CV = math.Sqrt(ss/float64(n)) / fair
	if sum < minTicks*tick {
		l.Note = fmt.Sprintf("not judged: the %d workers used %.2f CPU-seconds, under %.1f", n, sum.Seconds(), (minTicks * tick).Seconds())
	}
	return l
}

// unevenBeyondNoise: the busiest worker did at least
// results.UnevenMaxOverFair times its fair share, or a worker idled (under
// a tenth of it), and some worker (the busiest, or an idle one) is further
// from the mean than chance would put it: noiseSigmas standard deviations
// of a Poisson count of ticks.
func unevenBeyondNoise(cpu []time.Duration, maxOverFair float64, idle int) bool {
	if maxOverFair < results.UnevenMaxOverFair && idle == 0 {
		return false
	}
	var sum time.Duration
	for _, c := range cpu {
		sum += c
	}
	mean := float64(sum) / float64(len(cpu)) / float64(tick)
	var dev float64
	for _, c := range cpu {
		dev = max(dev, math.Abs(float64(c)/float64(tick)-mean))
	}
	return dev >= noiseSigmas*math.Sqrt(mean)
}

// balance summarizes a run's judged trials; nil when none was judged.
func balance(trials []results.Trial) *results.Balance {
	var ratios []float64
	b := &results.Balance{}
	for _, t := range trials {
		l := t.WorkerLoad
		if l == nil || l.Note != "" {
			continue
		}
		b.Trials++
		if l.Uneven {
			b.Uneven++
		}
		ratios = append(ratios, l.MaxOverFair)
		b.WorstMaxOverFair = max(b.WorstMaxOverFair, l.MaxOverFair)
	}
	if b.Trials == 0 {
		return nil
	}
	b.MedianMaxOverFair = stats.Median(ratios)
	return b
}

// unevenWarning is the run warning for a flagged run.
func unevenWarning(b *results.Balance) string {
	return fmt.Sprintf("workers unevenly loaded in %d of %d trials (busiest worker up to %.1f× its fair share): "+
		"keep-alive connections stayed on the workers that accepted them while others idled, so throughput depends on where they landed; "+
		"on more cores than busy workers the idle workers' cores go unused (a projection to more cores assumes an even spread)",
		b.Uneven, b.Trials, b.WorstMaxOverFair)
}

// remedyTrials bounds the extra trials a flagged cell gets with its remedy.
const remedyTrials = 3

// balances flags the runs whose workers were unevenly loaded and measures
// each flagged cell again with the server's remedy, writing the results
// file after each.
func (r *runner) balances(ctx context.Context, cells []Cell, file *results.File, outPath string) error {
	ranked := r.searchShapes(file.Runs) // in a race, the shape each server is ranked at
	for i := range file.Runs {
		if ctx.Err() != nil {
			return nil
		}
		run := &file.Runs[i]
		if run.Balance != nil {
			continue // judged before the run was interrupted and resumed
		}
		run.Balance = balance(run.Trials)
		if !run.Balance.Flagged() {
			continue
		}
		run.Warnings = append(run.Warnings, unevenWarning(run.Balance))
		c := cells[i]
		rem := c.Status.Adapter.Facts.Workers.Remedy
		// A run that left the race is not measured further, with or
		// without the remedy.
		if !rem.Has() || run.Error != "" || run.Stopped != nil || !ranked[i] {
			continue
		}
		c.Remedy = true
		res := &results.RemedyResult{Argv: rem.Argv, What: rem.What, CPUs: len(r.cpus.server)}
		if r.cpus.shared {
			res.CPUs = len(r.cpus.all)
		}
		var rps []float64
		for k := range min(remedyTrials, r.o.Trials) {
			t, _, err := r.trial(ctx, c, k)
			if ctx.Err() != nil {
				return nil // an interrupted measurement is not a result
			}
			if err != nil {
				res.Error = oneLine(err.Error())
				break
			}
			res.Trials++
			rps = append(rps, t.RPS)
			if t.WorkerLoad != nil {
				res.Loads = append(res.Loads, *t.WorkerLoad)
			}
			fmt.Fprintf(r.log, "[remedy %s] %-18s %-6s %-9s trial %d  %8.0f req/s%s\n", strings.Join(rem.Argv, " "),
				c.Status.Adapter.ID, c.Shape, c.Workload.Name, k+1, t.RPS, loadNote(t.WorkerLoad))
		}
		compareRemedy(res, run, rps)
		run.Balance.Remedy = res
		if err := results.Write(outPath, file); err != nil {
			return err
		}
	}
	return nil
}

// compareRemedy fills the comparison of the remedy trials with the run's.
func compareRemedy(res *results.RemedyResult, run *results.Run, rps []float64) {
	var base []float64
	for _, t := range run.Trials {
		base = append(base, t.RPS)
	}
	res.BaselineRPS = stats.Median(base)
	res.BaselineMaxOverFair = run.Balance.MedianMaxOverFair
	if len(rps) > 0 {
		res.RPS = stats.Median(rps)
	}
	var ratios []float64
	judged := 0
	for _, l := range res.Loads {
		if l.Note != "" {
			continue
		}
		judged++
		ratios = append(ratios, l.MaxOverFair)
		if l.Uneven {
			res.Uneven++
		}
	}
	if len(ratios) > 0 {
		res.MaxOverFair = stats.Median(ratios)
	}
	flag := strings.Join(res.Argv, " ")
	switch {
	case res.Trials == 0:
		res.Verdict = fmt.Sprintf("with %s: could not be measured: %s", flag, res.Error)
		return
	case judged == 0:
		res.Verdict = fmt.Sprintf("with %s: %.0f req/s (without: %.0f); evenness could not be judged", flag, res.RPS, res.BaselineRPS)
		return
	}
	// Throughput on this machine's few CPUs is no test of a remedy meant
	// for many cores (on one CPU, fewer busy processes switch less), and
	// three trials on a busy machine are noisy: it only must not be
	// significantly lower.
	cmpRPS := stats.Compare(base, rps, remedyAlpha)
	res.RPSChange = cmpRPS.String()
	slower := cmpRPS.Significant && cmpRPS.Delta < 0
	res.Helped = res.Uneven == 0 && run.Balance.Uneven > 0 && !slower
	change := "did not help"
	switch {
	case res.Helped:
		change = "helped"
	case res.Uneven == 0 && slower:
		change = "evened the load but cost throughput"
	}
	res.Verdict = fmt.Sprintf("with %s: %s, uneven in %d of %d trials (without: %d of %d), busiest worker %.1f× its fair share (without: %.1f×), %.0f req/s (without: %.0f; %s) on %s",
		flag, change, res.Uneven, judged, run.Balance.Uneven, run.Balance.Trials, res.MaxOverFair, res.BaselineMaxOverFair,
		res.RPS, res.BaselineRPS, res.RPSChange, plural(res.CPUs, "CPU", "CPUs"))
}

// remedyAlpha is the significance level at which a remedy's trials count
// as slower than the run's.
const remedyAlpha = 0.05

// loadNote is the trial log's mention of the worker shares.
func loadNote(l *results.WorkerLoad) string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(l.Shares))
	for i, s := range l.Shares {
		parts[i] = fmt.Sprintf("%.0f", 100*s)
	}
	s := fmt.Sprintf("  workers %s%%", strings.Join(parts, "/"))
	if l.Uneven {
		s += " UNEVEN"
	}
	return s
}

// withRemedy adds the remedy to a launch's command line and settings.
func withRemedy(l server.Launch, rem server.Remedy) server.Launch {
	l.Argv = append(slices.Clip(l.Argv), rem.Argv...)
	if rem.Setting != "" {
		settings := make(map[string]string, len(l.Settings)+1)
		for k, v := range l.Settings {
			settings[k] = v
		}
		settings[rem.Setting] = rem.Value
		l.Settings = settings
	}
	return l
}
