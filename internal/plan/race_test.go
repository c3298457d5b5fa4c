package plan

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

var testRules = raceRules{First: RaceFirst, Round: RaceRound, Max: RaceTrials, Alpha: RaceAlpha, MinEffect: RaceMinEffect, Metric: "rps"}

// fakeMachine plays a plan against servers of known speed on a drifting
// machine: every trial's req/s is the server's speed × the machine's level
// at that block × a little noise of its own. Only our scheduler runs; no
// server does.
type fakeMachine struct {
	speed []float64 // true req/s per cell
	noise float64   // per-trial log noise
	rng   *rand.Rand
	level map[int]float64 // block → the machine's level then
}

func (m *fakeMachine) trial(cell, t int) results.Trial {
	lv, ok := m.level[t]
	if !ok {
		lv = math.Exp(m.rng.Float64()*math.Ln2*2 - math.Ln2) // ×0.5 to ×2
		m.level[t] = lv
	}
	return results.Trial{Index: t, RPS: m.speed[cell] * lv * math.Exp(m.rng.NormFloat64()*m.noise)}
}

func fakeRuns(n int) []results.Run {
	runs := make([]results.Run, n)
	for i := range runs {
		runs[i] = results.Run{Server: string(rune('a' + i)), Shape: results.Shape{Workers: 1, Threads: 1}, Workload: "crud"}
	}
	return runs
}

// play runs nextRound to the end the way Execute does, returning the runs
// and every step taken.
func play(t *testing.T, m *fakeMachine, runs []results.Run, seed int64, rr raceRules) ([]results.Run, []Step) {
	t.Helper()
	var all []Step
	for range 100 {
		rd := nextRound(runs, seed, rr)
		for i, s := range rd.Stops {
			if runs[i].Stopped == nil {
				s := s
				runs[i].Stopped = &s
			}
		}
		if len(rd.Steps) == 0 {
			return runs, all
		}
		for _, st := range rd.Steps {
			if st.Trial != len(runs[st.Cell].Trials) {
				t.Fatalf("step %+v out of order: the run has %d trials", st, len(runs[st.Cell].Trials))
			}
			runs[st.Cell].Trials = append(runs[st.Cell].Trials, m.trial(st.Cell, st.Trial))
			all = append(all, st)
		}
	}
	t.Fatal("the race never ended")
	return nil, nil
}

func TestRaceClearLoserStopsAfterFirstRound(t *testing.T) {
	// a and b tie at the top; c runs at half their speed, d at a third.
	m := &fakeMachine{speed: []float64{1000, 1000, 500, 330}, noise: 0.05, rng: rand.New(rand.NewPCG(1, 1)), level: map[int]float64{}}
	runs, steps := play(t, m, fakeRuns(4), 7, testRules)
	for _, i := range []int{2, 3} {
		st := runs[i].Stopped
		if st == nil {
			t.Fatalf("run %s was not stopped: %d trials", runs[i].Server, len(runs[i].Trials))
		}
		if st.After != RaceFirst || len(runs[i].Trials) != RaceFirst {
			t.Errorf("run %s stopped after %d (has %d trials), want after the first round of %d", runs[i].Server, st.After, len(runs[i].Trials), RaceFirst)
		}
		if !strings.HasPrefix(st.Reason, "stopped after 3 trials: behind ") || !strings.Contains(st.Reason, "on throughput") || st.P <= 0 || st.P >= 0.025 {
			t.Errorf("reason: %q (p %v)", st.Reason, st.P)
		}
		if want := m.speed[i] / 1000; st.Ratio > want*1.2 || st.Ratio < want*0.8 || st.Lo > st.Ratio || st.Hi < st.Ratio {
			t.Errorf("run %s: ratio %.2f [%.2f, %.2f], true %.2f", runs[i].Server, st.Ratio, st.Lo, st.Hi, want)
		}
	}
	for _, i := range []int{0, 1} {
		if runs[i].Stopped != nil {
			t.Errorf("a tied leader was stopped: %s", runs[i].Stopped.Reason)
		}
		if len(runs[i].Trials) != RaceTrials {
			t.Errorf("contender %s got %d trials, want %d", runs[i].Server, len(runs[i].Trials), RaceTrials)
		}
	}
	if exhaustive := 4 * RaceTrials; len(steps) >= exhaustive {
		t.Errorf("racing took %d trials, exhaustive %d", len(steps), exhaustive)
	}
	// After the first round the contenders alternate in pairs: each block
	// of two holds trial t of both, in either order.
	for k := 4 * RaceFirst; k+1 < len(steps); k += 2 {
		a, b := steps[k], steps[k+1]
		if a.Trial != b.Trial || a.Cell == b.Cell || a.Cell > 1 || b.Cell > 1 {
			t.Fatalf("steps %d, %d = %+v, %+v: not a pair of the contenders", k, k+1, a, b)
		}
	}
}

// A tie is not broken: over many seeds, two servers of the same speed on
// a drifting machine both get every trial nearly always (at most at the
// stated rate is one dropped).
func TestRaceTieNotBroken(t *testing.T) {
	const plays = 200
	broken := 0
	for s := range plays {
		m := &fakeMachine{speed: []float64{1000, 1000}, noise: 0.1, rng: rand.New(rand.NewPCG(uint64(s), 9)), level: map[int]float64{}}
		runs, _ := play(t, m, fakeRuns(2), int64(s), testRules)
		if runs[0].Stopped != nil || runs[1].Stopped != nil {
			broken++
		}
	}
	if rate := float64(broken) / plays; rate > RaceAlpha {
		t.Errorf("a tie was broken in %d of %d races", broken, plays)
	}
}

// A server 20% behind, within-pair noise 5%, leaves the race by the second
// look.
func TestRaceSeparatesTwentyPercent(t *testing.T) {
	const plays = 100
	out := 0
	for s := range plays {
		m := &fakeMachine{speed: []float64{1000, 800}, noise: 0.05, rng: rand.New(rand.NewPCG(uint64(s), 3)), level: map[int]float64{}}
		runs, _ := play(t, m, fakeRuns(2), int64(s), testRules)
		if runs[1].Stopped != nil && runs[0].Stopped == nil {
			out++
		}
	}
	if out < 95 {
		t.Errorf("the server 20%% behind left the race in only %d of %d", out, plays)
	}
}

// The scheduler is a function of the seed and the finished trials: the
// same state gives the same steps and stops, and a state replayed from
// half of a run's trials (a resume) continues exactly as the run did.
func TestRaceDeterministic(t *testing.T) {
	speed := []float64{1000, 950, 500, 900, 300}
	m := &fakeMachine{speed: speed, noise: 0.05, rng: rand.New(rand.NewPCG(4, 4)), level: map[int]float64{}}
	runs, steps := play(t, m, fakeRuns(len(speed)), 11, testRules)
	if again, _ := play(t, m, cloneRuns(runs), 11, testRules); !reflect.DeepEqual(again, runs) {
		t.Fatal("playing a finished race again changed it")
	}
	// Replay the first half of the steps into fresh runs, then ask.
	half := fakeRuns(len(speed))
	for _, st := range steps[:len(steps)/2] {
		half[st.Cell].Trials = append(half[st.Cell].Trials, runs[st.Cell].Trials[st.Trial])
	}
	a, b := nextRound(half, 11, testRules), nextRound(cloneRuns(half), 11, testRules)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same trials gave different decisions")
	}
	if len(a.Steps) == 0 || !reflect.DeepEqual(a.Steps, steps[len(steps)/2:len(steps)/2+len(a.Steps)]) {
		t.Errorf("resumed steps %v differ from the run's %v", a.Steps, steps[len(steps)/2:])
	}
	if c := nextRound(half, 12, testRules); reflect.DeepEqual(c.Steps, a.Steps) && len(c.Steps) > 2 {
		t.Error("another seed gave the same order")
	}
}

func cloneRuns(runs []results.Run) []results.Run {
	out := make([]results.Run, len(runs))
	for i, r := range runs {
		out[i] = r
		out[i].Trials = append([]results.Trial(nil), r.Trials...)
		out[i].Stopped = nil
	}
	return out
}

// --no-racing is exhaustive: every cell gets every trial, in Order's
// interleaving, and nothing is stopped, however clear the loser.
func TestNoRacingExhaustive(t *testing.T) {
	rr := testRules
	rr.Off, rr.Max = true, 5
	m := &fakeMachine{speed: []float64{1000, 100, 1000}, noise: 0.05, rng: rand.New(rand.NewPCG(2, 2)), level: map[int]float64{}}
	runs, steps := play(t, m, fakeRuns(3), 3, rr)
	if !reflect.DeepEqual(steps, Order(3, 5, 3)) {
		t.Errorf("steps %v, want Order's %v", steps, Order(3, 5, 3))
	}
	for _, r := range runs {
		if len(r.Trials) != 5 || r.Stopped != nil {
			t.Errorf("%s: %d trials, stopped %v", r.Server, len(r.Trials), r.Stopped)
		}
	}
}

// Development servers and failed runs leave the race; a run whose
// throughput measured the load generator is not judged on it.
func TestRaceUnrankable(t *testing.T) {
	runs := fakeRuns(4)
	runs[1].NotForProduction = "a reference server"
	runs[2].Error = "would not start"
	for i := range RaceFirst {
		runs[0].Trials = append(runs[0].Trials, results.Trial{Index: i, RPS: 1000 + float64(i)})
		runs[1].Trials = append(runs[1].Trials, results.Trial{Index: i, RPS: 2000})
		runs[3].Trials = append(runs[3].Trials, results.Trial{Index: i, RPS: 100 + float64(i), GeneratorBound: true})
	}
	rd := nextRound(runs, 1, testRules)
	if s, ok := rd.Stops[1]; !ok || !strings.Contains(s.Reason, "development server") {
		t.Errorf("the development server was not stopped: %+v", rd.Stops)
	}
	if _, ok := rd.Stops[3]; ok {
		t.Error("a generator-bound run was judged on throughput")
	}
	for _, st := range rd.Steps {
		if st.Cell == 1 || st.Cell == 2 {
			t.Errorf("step %+v for a run out of the race", st)
		}
	}
	if len(rd.Steps) != 2*RaceRound {
		t.Errorf("%d steps, want %d for the two left", len(rd.Steps), 2*RaceRound)
	}
}

// Lower-is-better metrics race on their reciprocal, and the reason gives
// the metric's own ratio.
func TestRaceLowerIsBetter(t *testing.T) {
	rr := testRules
	rr.Metric = "p99"
	runs := fakeRuns(2)
	for i := range RaceFirst {
		f := 1 + 0.01*float64(i)
		runs[0].Trials = append(runs[0].Trials, results.Trial{Index: i, RPS: 100, LatencyMS: results.Latency{P99: 10 * f}})
		runs[1].Trials = append(runs[1].Trials, results.Trial{Index: i, RPS: 100, LatencyMS: results.Latency{P99: 30 * f * (1 + 0.02*float64(i%2))}})
	}
	rd := nextRound(runs, 1, rr)
	s, ok := rd.Stops[1]
	if !ok || s.Ratio < 2.8 || s.Ratio > 3.2 || !strings.Contains(s.Reason, "on p99 latency") {
		t.Errorf("slower server: %+v", rd.Stops)
	}
	if len(rd.Steps) != 0 {
		t.Errorf("one contender left, yet steps %v", rd.Steps)
	}
}

// Runs race within their workload: a fast plaintext cell does not stop a
// crud cell at a tenth of its req/s.
func TestRaceWithinWorkload(t *testing.T) {
	runs := fakeRuns(3)
	runs[0].Workload, runs[1].Workload, runs[2].Workload = "plaintext", "crud", "crud"
	for i := range RaceFirst {
		f := 1 + 0.01*float64(i)
		runs[0].Trials = append(runs[0].Trials, results.Trial{Index: i, RPS: 10000 * f})
		runs[1].Trials = append(runs[1].Trials, results.Trial{Index: i, RPS: 1000 * f})
		runs[2].Trials = append(runs[2].Trials, results.Trial{Index: i, RPS: 980 * f * (1 + 0.005*float64(i%2))})
	}
	rd := nextRound(runs, 1, testRules)
	if len(rd.Stops) != 0 {
		t.Errorf("stops across workloads: %+v", rd.Stops)
	}
	if len(rd.Steps) != 2*RaceRound {
		t.Errorf("%d steps, want the crud pair's %d (plaintext has no rival left)", len(rd.Steps), 2*RaceRound)
	}
}

func TestTroubleRepeat(t *testing.T) {
	runs := fakeRuns(3)
	runs[1].Stopped = &results.Stop{After: 3, Reason: "behind"}
	runs[2].NotForProduction = "dev"
	for _, c := range []struct {
		o    Options
		want []int
	}{
		{Options{Trials: 8}, []int{3, 1, 1}},
		{Options{Trials: 8, TroubleRepeat: 2}, []int{2, 2, 2}},
		{Options{Trials: 8, NoRacing: true}, []int{1, 1, 1}},
		{Options{Trials: 3}, []int{1, 1, 1}}, // one round: no race, no contenders
	} {
		r := &runner{o: c.o}
		for i, want := range c.want {
			if got := r.troubleRepeat(runs[i].Server, runs); got != want {
				t.Errorf("%+v: %s repeats %d, want %d", c.o, runs[i].Server, got, want)
			}
		}
	}
}

// Resuming at any point continues as the run did: for every prefix of an
// uninterrupted race (played the way Execute plays it, a round at a time,
// with one run failing mid-race and its remaining steps skipped), the
// scheduler asked afresh from the prefix's trials names the step the run
// took next.
func TestRaceResumeAnywhere(t *testing.T) {
	failed := 0
	for seed := range int64(12) {
		if resumeAnywhere(t, seed) {
			failed++
		}
	}
	if failed < 10 {
		t.Errorf("the failing run reached its failing trial in only %d of 12 races", failed)
	}
}

// resumeAnywhere plays one race and checks every prefix; false when the
// run meant to fail left the race before it could.
func resumeAnywhere(t *testing.T, seed int64) bool {
	t.Helper()
	speed := []float64{1000, 980, 450, 1000, 950}
	m := &fakeMachine{speed: speed, noise: 0.05, rng: rand.New(rand.NewPCG(uint64(seed), 8)), level: map[int]float64{}}
	failAt := map[[2]int]bool{{3, 3}: true} // run 3 fails at its trial 3, the first of the second round
	runs := fakeRuns(len(speed))
	var taken []Step
	type event struct {
		st    Step
		trial *results.Trial
	}
	var events []event
	for range 100 {
		rd := nextRound(runs, seed, testRules)
		for i, s := range rd.Stops {
			if runs[i].Stopped == nil {
				s := s
				runs[i].Stopped = &s
			}
		}
		if len(rd.Steps) == 0 {
			break
		}
		for _, st := range rd.Steps {
			if runs[st.Cell].Error != "" {
				continue // as Execute does: it failed before
			}
			taken = append(taken, st)
			if failAt[[2]int{st.Cell, st.Trial}] {
				runs[st.Cell].Error = "crashed"
				events = append(events, event{st, nil})
				continue
			}
			tr := m.trial(st.Cell, st.Trial)
			runs[st.Cell].Trials = append(runs[st.Cell].Trials, tr)
			events = append(events, event{st, &tr})
		}
	}
	if runs[3].Error == "" {
		return false
	}
	for k := range events {
		state := fakeRuns(len(speed))
		for _, e := range events[:k] {
			if e.trial == nil {
				state[e.st.Cell].Error = "crashed"
			} else {
				state[e.st.Cell].Trials = append(state[e.st.Cell].Trials, *e.trial)
			}
		}
		rd := nextRound(state, seed, testRules)
		if len(rd.Steps) == 0 || rd.Steps[0] != taken[k] {
			t.Fatalf("seed %d: resumed after %d steps: next %v, the run took %v", seed, k, rd.Steps, taken[k])
		}
	}
	final := nextRound(runs, seed, testRules)
	if len(final.Steps) != 0 {
		t.Errorf("seed %d: a finished race has steps left: %v", seed, final.Steps)
	}
	return true
}

// At the first look (the paired t-test) a run whose workers were unevenly
// loaded neither leads nor is stopped on a shortfall a start's luck could
// explain: three trials of tornado 8×1 in its high mode once stopped
// uWSGI 1×8 at 0.87×. A clear loser is stopped all the same, even or not.
func TestRaceUnevenAtTheFirstLook(t *testing.T) {
	trials := func(uneven bool, rps ...float64) []results.Trial {
		var out []results.Trial
		for i, v := range rps {
			out = append(out, results.Trial{Index: i, RPS: v, WorkerLoad: &results.WorkerLoad{Uneven: uneven, MaxOverFair: 1}})
		}
		return out
	}
	runs := fakeRuns(5)
	runs[0].Trials = trials(true, 4600, 4500, 4550)  // uneven, caught in its high mode
	runs[1].Trials = trials(false, 4000, 3950, 3960) // even, 0.87× of it
	runs[2].Trials = trials(false, 1600, 1580, 1620) // even, far behind
	runs[3].Trials = trials(true, 900, 1000, 950)    // uneven, far behind whatever its mode
	runs[4].Trials = trials(true, 3400, 3600, 3500)  // uneven, 0.88×, its best near the leader's worst
	stops := judgeGroup(runs, []int{0, 1, 2, 3, 4}, RaceFirst, testRules)
	for i, want := range []bool{false, false, true, true, false} {
		if _, got := stops[i]; got != want {
			t.Errorf("run %d stopped %v, want %v (%v)", i, got, want, stops[i].Reason)
		}
	}
	for _, i := range []int{2, 3} {
		if s, ok := stops[i]; ok && s.Behind != runs[1].Key() {
			t.Errorf("run %d stopped behind %s, want behind the best even run %s", i, s.Behind, runs[1].Key())
		}
	}
	// Without the flags, the same numbers stop the 0.87× run: the rule
	// the flags relax.
	for i := range runs {
		for k := range runs[i].Trials {
			runs[i].Trials[k].WorkerLoad.Uneven = false
		}
	}
	plain := judgeGroup(runs, []int{0, 1, 2, 3, 4}, RaceFirst, testRules)
	for _, i := range []int{1, 4} {
		if _, ok := plain[i]; !ok {
			t.Errorf("run %d, even, was not stopped behind a steady leader; the test no longer shows the rule", i)
		}
	}
	// At a signed-rank look every run is judged alike: six pairs of the
	// uneven leader in its high mode stop the run behind it.
	six := fakeRuns(2)
	six[0].Trials = trials(true, 4600, 4500, 4550, 4620, 4480, 4590)
	six[1].Trials = trials(false, 4000, 3950, 3960, 4010, 3900, 3990)
	if _, ok := judgeGroup(six, []int{0, 1}, 6, testRules)[1]; !ok {
		t.Errorf("at six pairs, the uneven leader did not stop the run behind it")
	}
}

// Raced on the profile's score over what the trials measure, a server
// behind the throughput leader but far ahead on p99 is not stopped; the
// throughput leader with four times its p99 is. On req/s alone the first
// look stops the other way round (gevent 1×1 stopped uWSGI 1×8 at 0.88×
// on 2026-12-04; the exhaustive run ties uWSGI for first).
func TestRaceOnTheScore(t *testing.T) {
	trials := func(rps, p99 float64) []results.Trial {
		var out []results.Trial
		for i, k := range []float64{1, 0.99, 1.01} {
			out = append(out, results.Trial{Index: i, RPS: rps * k, LatencyMS: results.Latency{P50: p99 / 3, P99: p99 * (2 - k)},
				PSSPeakBytes: 30 << 20})
		}
		return out
	}
	runs := fakeRuns(3)
	runs[0].Trials = trials(4600, 50) // the throughput leader, its tail long
	runs[1].Trials = trials(4050, 12) // 0.88× its req/s, a quarter of its p99
	runs[2].Trials = trials(2000, 20) // behind on both
	score := testRules
	score.Metric, score.Weights = rank.RaceScore, map[string]float64{"rps": 4, "p99": 3, "memory": 2}
	stops := judgeGroup(runs, []int{0, 1, 2}, RaceFirst, score)
	if _, ok := stops[1]; ok {
		t.Errorf("on the score, the run ahead on p99 was stopped: %s", stops[1].Reason)
	}
	for _, i := range []int{0, 2} {
		s, ok := stops[i]
		if !ok {
			t.Errorf("on the score, run %d was not stopped", i)
			continue
		}
		if s.Behind != runs[1].Key() || !strings.Contains(s.Reason, "the trials' score (peak memory ×2, p99 ×3, req/s ×4)") {
			t.Errorf("run %d: %s", i, s.Reason)
		}
	}
	byRPS := judgeGroup(runs, []int{0, 1, 2}, RaceFirst, testRules)
	if _, ok := byRPS[1]; !ok {
		t.Errorf("on req/s alone the 0.88× run was not stopped; the test no longer shows the difference")
	}
}
