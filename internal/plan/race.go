package plan

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Racing spends trials where they can still change the verdict. Every cell
// gets a first round of trials; after it, and after each later round, a
// cell significantly and substantially behind the leader on the raced
// metric stops getting trials (stats.Race: the paired comparison with the
// leader, trial t against trial t, at a Bonferroni level over the looks),
// as does a development server, which is never a candidate. Contenders get
// more trials, a round at a time, until one is left or they reach the
// plan's most trials per cell. See the rank package doc for the error
// control.
//
// The scheduler is nextRound, a pure function of the finished trials and
// the seed: a run resumed from its results file, with the same trials,
// makes the same decisions and runs the same next steps.

// Racing defaults: the first round, the later rounds, the family error
// rate per challenger, and the least shortfall that stops a cell.
const (
	RaceFirst     = 3
	RaceRound     = 3
	RaceTrials    = 8 // most trials per contender when racing, unless --trials says
	RaceAlpha     = 0.05
	RaceMinEffect = 0.10
)

// raceRules is how a plan races; the zero value (Off) is exhaustive.
type raceRules struct {
	Off          bool
	First, Round int
	Max          int // most trials per cell (Options.Trials)
	Alpha        float64
	MinEffect    float64
	Metric       string // the metric raced on (rank's keys): rps, p50, p99, memory, cpu, or score
	// Weights combine the metrics into the raced score when Metric is
	// rank.RaceScore (rank.RaceWeights of the profile).
	Weights map[string]float64
}

// looks are the trial counts at which the rule is applied, and the last,
// at which the race ends: 3, 6, 8 for the defaults.
func (rr raceRules) sizes() []int {
	first := min(max(rr.First, 1), rr.Max)
	var out []int
	for n := first; ; n += max(rr.Round, 1) {
		if n >= rr.Max {
			return append(out, rr.Max)
		}
		out = append(out, n)
	}
}

// race is the rule with its Bonferroni divisor: the looks that can stop a
// cell (every size but the last, after which no trial is due anyway).
func (rr raceRules) race() stats.Race {
	return stats.Race{Alpha: rr.Alpha, Looks: max(1, len(rr.sizes())-1), MinEffect: rr.MinEffect}
}

// record is what the results file says about the racing.
func (rr raceRules) record(named []string) *results.Racing {
	if rr.Off {
		return nil
	}
	return &results.Racing{First: rr.sizes()[0], Round: rr.Round, Looks: rr.race().Looks,
		Alpha: rr.Alpha, MinEffect: rr.MinEffect, Metric: rr.Metric, Named: named}
}

// round is what the scheduler decided from the finished trials.
type round struct {
	Steps []Step               // the next trials, in order; none: nothing is due
	Stops map[int]results.Stop // every run stopped so far, by index
	Look  int                  // the look the steps lead up to, 1-based
}

// nextRound decides, from the runs' finished trials alone, which runs are
// out of the race and which trials are next: the missing trials of the
// first look whose trials are not all in. A run with an Error gets no more
// trials. Trials are laid out in blocks, block t holding trial t of every
// cell due one, in a seeded-random order of its own: with two contenders
// left that is A B, B A, … — pairs back to back, order drawn per pair.
func nextRound(runs []results.Run, seed int64, rr raceRules) round {
	out := round{Stops: map[int]results.Stop{}}
	if rr.Off {
		for _, st := range Order(len(runs), rr.Max, seed) {
			if runs[st.Cell].Error == "" && st.Trial >= len(runs[st.Cell].Trials) {
				out.Steps = append(out.Steps, st)
			}
		}
		out.Look = 1
		return out
	}
	sizes := rr.sizes()
	settled := map[int]bool{} // alone in its race: more trials change nothing
	for j, n := range sizes {
		// due: runs that get trials; judged: also runs that failed after
		// this look, as they were at it (a leader then, a rival), so a
		// failure later does not rewrite what this look decided.
		var due, judged []int
		for i, run := range runs {
			if _, stopped := out.Stops[i]; stopped || settled[i] {
				continue
			}
			switch {
			case run.Error == "":
				due, judged = append(due, i), append(judged, i)
			case len(run.Trials) >= n:
				judged = append(judged, i)
			}
		}
		if len(due) == 0 {
			return out
		}
		out.Look = j + 1
		if steps := blocks(runs, due, n, seed); len(steps) > 0 {
			out.Steps = steps
			return out
		}
		if j == len(sizes)-1 {
			return out
		}
		for i, s := range judgeLook(runs, judged, n, rr) {
			if runs[i].Error == "" {
				out.Stops[i] = s
			}
		}
		for _, i := range alone(runs, judged, out.Stops) {
			settled[i] = true
		}
	}
	return out
}

// devTrials is how many trials a development server gets in a race: it is
// never a candidate, and one trial puts its numbers in the tables.
const devTrials = 1

// blocks lays out the trials the due runs lack up to n: block t holds
// trial t of each run that lacks it, in an order drawn from (seed, t) over
// all the runs, so a block half run and resumed, or one a run dropped out
// of, keeps its order.
func blocks(runs []results.Run, due []int, n int, seed int64) []Step {
	var steps []Step
	for t := 0; t < n; t++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x72616365^uint64(t)))
		for _, i := range rng.Perm(len(runs)) {
			if slices.Contains(due, i) && len(runs[i].Trials) <= t && (t < devTrials || runs[i].NotForProduction == "") {
				steps = append(steps, Step{Cell: i, Trial: t})
			}
		}
	}
	return steps
}

// alone are the due runs, not stopped, whose race (workload and front) has
// at most one contender left: nothing more can change its verdict.
func alone(runs []results.Run, due []int, stops map[int]results.Stop) []int {
	group := func(i int) string { return runs[i].Workload + "\x00" + runs[i].Front }
	k := map[string]int{}
	for _, i := range due {
		if _, stopped := stops[i]; !stopped && runs[i].NotForProduction == "" {
			k[group(i)]++
		}
	}
	var out []int
	for _, i := range due {
		if _, stopped := stops[i]; !stopped && k[group(i)] <= 1 {
			out = append(out, i)
		}
	}
	return out
}

// judgeLook applies the rule at the look after n trials, to the first n
// trials of each due run: which runs stop, and why. Runs race within their
// workload and front only (a plaintext cell must not stop a crud cell).
func judgeLook(runs []results.Run, due []int, n int, rr raceRules) map[int]results.Stop {
	stops := map[int]results.Stop{}
	groups := map[string][]int{}
	var order []string
	for _, i := range due {
		run := runs[i]
		if run.NotForProduction != "" {
			k := min(n, len(run.Trials))
			stops[i] = results.Stop{After: k,
				Reason: fmt.Sprintf("stopped after %s: a development server (%s), never a candidate", trialsWord(k), run.NotForProduction)}
			continue
		}
		k := run.Workload + "\x00" + run.Front
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	for _, k := range order {
		for i, s := range judgeGroup(runs, groups[k], n, rr) {
			stops[i] = s
		}
	}
	return stops
}

// judgeGroup judges runs of one workload and front against their leader.
//
// A look with too few pairs for the signed-rank test is decided by the
// paired t-test, which takes the log-ratios for roughly normal. A run whose
// workers shared the connections unevenly breaks that: its throughput
// depends on where the connections landed at each start (tornado 8×1 gave
// 2,570–4,599 req/s over five starts), so three trials can all catch it in
// one mode. Three pairs against tornado 8×1 in its high mode once stopped
// uWSGI 1×8, 0.87× with p = 0.012, which the exhaustive run put first. At
// such a look, then, a run with an uneven trial is not the leader others
// are stopped against (the best even one is), and is itself stopped only
// when even its best trial trails the leader's worst by the minimum effect,
// which no start's luck explains. The later looks, by the signed-rank test,
// judge every run alike.
func judgeGroup(runs []results.Run, group []int, n int, rr raceRules) map[int]results.Stop {
	stops := map[int]results.Stop{}
	m := raceMetricOf(rr.Metric)
	if m.key == rank.RaceScore {
		m.name = scoreName(rr.Weights)
	}
	race := rr.race()
	tLook := n < race.MinPairs()
	samples := groupSamples(runs, group, n, m, rr.Weights)
	uneven := map[int]bool{} // at a t-test look only
	even := 0
	for i := range samples {
		uneven[i] = tLook && unevenTrials(runs[i].Trials[:n])
		if !uneven[i] {
			even++
		}
	}
	leader, best := -1, 0.0
	for _, i := range group {
		xs, ok := samples[i]
		if !ok || (uneven[i] && even > 0) {
			continue // an uneven run is no leader to stop others against (above)
		}
		if med := stats.Median(xs); leader < 0 || med > best {
			leader, best = i, med
		}
	}
	if leader < 0 {
		return stops
	}
	for _, i := range group {
		xs, ok := samples[i]
		if !ok || i == leader {
			continue
		}
		l := race.Look(samples[leader], xs)
		if !l.Drop {
			continue
		}
		if uneven[i] && slices.Max(xs) > (1-rr.MinEffect)*slices.Min(samples[leader]) {
			continue // an uneven run whose best trial a start's luck could explain
		}
		ratio, lo, hi := l.Ratio, l.Lo, l.Hi
		if !m.higher {
			ratio, lo, hi = 1/ratio, 1/hi, 1/lo // back to the metric's own ratio
		}
		stops[i] = results.Stop{
			After: n, Behind: runs[leader].Key(), Metric: m.key, Ratio: ratio, Lo: lo, Hi: hi, P: l.P, Test: l.Test,
			Reason: fmt.Sprintf("stopped after %s: behind %s on %s, %.2f× its %s [%.2f, %.2f] pair by pair (%s p = %s, %d pairs; level %s)",
				trialsWord(n), runs[leader].Key(), m.name, ratio, m.unit, lo, hi, l.Test, stats.FormatP(l.P), l.N, stats.FormatP(l.Level)),
		}
	}
	return stops
}

// groupSamples are the group's first n trials as higher-is-better values of
// m, by run; a run whose trials are not evidence on m is left out (it races
// on, unjudged). For the raced score each trial's value is the weighted
// mean, over the weighted metrics, of its value over the best run's median
// at this look, as the ranking scores a server against the best: a trial
// at the best median on every metric scores 1. Each trial's score stands on
// that trial alone, so trial t of two runs still pair.
func groupSamples(runs []results.Run, group []int, n int, m raceMetric, weights map[string]float64) map[int][]float64 {
	out := map[int][]float64{}
	if m.key != rank.RaceScore {
		for _, i := range group {
			if xs, ok := raceSamples(runs[i].Trials[:n], m); ok {
				out[i] = xs
			}
		}
		return out
	}
	keys := slices.Sorted(maps.Keys(weights))
	per := map[string]map[int][]float64{} // metric → run → samples
	best := map[string]float64{}
	for _, k := range keys {
		per[k] = map[int][]float64{}
		for _, i := range group {
			if xs, ok := raceSamples(runs[i].Trials[:n], raceMetricOf(k)); ok {
				per[k][i] = xs
				best[k] = max(best[k], stats.Median(xs))
			}
		}
	}
	var wsum float64
	for _, k := range keys {
		wsum += weights[k]
	}
	for _, i := range group {
		xs := make([]float64, n)
		ok := wsum > 0
		for _, k := range keys {
			v, has := per[k][i]
			if !has || best[k] <= 0 {
				ok = false
				break
			}
			for t := range xs {
				xs[t] += weights[k] * v[t] / best[k] / wsum
			}
		}
		if ok {
			out[i] = xs
		}
	}
	return out
}

// unevenTrials says whether any of the trials found the server's workers
// unevenly loaded (results.WorkerLoad.Uneven).
func unevenTrials(trials []results.Trial) bool {
	for _, t := range trials {
		if t.WorkerLoad != nil && t.WorkerLoad.Uneven {
			return true
		}
	}
	return false
}

func trialsWord(n int) string {
	if n == 1 {
		return "1 trial"
	}
	return fmt.Sprintf("%d trials", n)
}

// raceMetric is a metric the plan can race on: per-trial values, and
// whether higher is better.
type raceMetric struct {
	key, name, unit string
	higher          bool
	of              func(results.Trial) (float64, bool)
}

var raceMetrics = []raceMetric{
	{"rps", "throughput", "req/s", true, func(t results.Trial) (float64, bool) { return t.RPS, true }},
	{"p50", "p50 latency", "p50", false, func(t results.Trial) (float64, bool) { return t.LatencyMS.P50, t.StarvedConnections == 0 }},
	{"p99", "p99 latency", "p99", false, func(t results.Trial) (float64, bool) { return t.LatencyMS.P99, t.StarvedConnections == 0 }},
	{"memory", "memory", "peak memory", false, func(t results.Trial) (float64, bool) {
		if t.PSSPeakBytes > 0 {
			return float64(t.PSSPeakBytes), true
		}
		return float64(t.RSSPeakBytes), true
	}},
	{"cpu", "CPU per request", "CPU per request", false, stats.CPUMsPerKReq},
}

// RaceMetrics are the keys racing can use, in rank's names.
func RaceMetrics() []string {
	out := []string{rank.RaceScore}
	for _, m := range raceMetrics {
		out = append(out, m.key)
	}
	return out
}

// scoreMetric is the raced score (rank.RaceScore): its values come from
// groupSamples, not from one trial alone.
var scoreMetric = raceMetric{key: rank.RaceScore, name: "the trials' weighted score", unit: "score", higher: true}

// scoreName names the raced score with its weights: "the trials' score
// (peak memory ×2, p99 ×3, req/s ×4)".
func scoreName(weights map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(weights)) {
		parts = append(parts, fmt.Sprintf("%s ×%g", raceMetricOf(k).unit, weights[k]))
	}
	return "the trials' score (" + strings.Join(parts, ", ") + ")"
}

func raceMetricOf(key string) raceMetric {
	if key == rank.RaceScore {
		return scoreMetric
	}
	for _, m := range raceMetrics {
		if m.key == key {
			return m
		}
	}
	return raceMetrics[0]
}

// raceSamples are the trials' values as higher-is-better numbers (the
// reciprocal for lower-is-better metrics, so one rule serves all), or
// false when a trial is not evidence on the metric: a trial that measured
// the load generator or the front, not the server, or one where the
// server left clients unserved (their latency is not in the percentiles).
func raceSamples(trials []results.Trial, m raceMetric) ([]float64, bool) {
	var xs []float64
	for _, t := range trials {
		if m.key == "rps" && (t.GeneratorBound || (t.Front != nil && t.Front.Bound)) {
			return nil, false
		}
		v, ok := m.of(t)
		if !ok || v < 0 || math.IsNaN(v) {
			return nil, false
		}
		if !m.higher {
			if v == 0 {
				return nil, false
			}
			v = 1 / v
		}
		xs = append(xs, v)
	}
	return xs, len(xs) > 0
}
