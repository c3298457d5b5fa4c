package plan

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// contender is a run with three identical trials: rps, p99 and memory.
// The trials vary a little, differently per server, so that paired
// comparisons have a spread to judge.
func contender(srv string, rps, p99 float64, mib int64) results.Run {
	run := results.Run{Server: srv, Shape: results.Shape{Workers: 1, Threads: 4}, Workload: "crud"}
	for k := range 6 {
		v := 1 + 0.02*float64((k*len(srv)+k*k)%4)
		run.Trials = append(run.Trials, results.Trial{Index: k, RPS: rps * v, Requests: int64(rps) * 2,
			LatencyMS: results.Latency{P50: p99 / 3, P99: p99 * v}, RSSPeakBytes: mib<<20 + int64(k)<<16})
	}
	return run
}

// A contender whose score before robustness trails the leader's by more
// than robustness could make up leaves the race before the trouble
// scenarios; one within reach stays, as does one level with the leader.
func TestReachStops(t *testing.T) {
	f := &results.File{Runs: []results.Run{
		contender("lead", 4000, 20, 20),
		contender("close", 3800, 21, 21),  // a few points behind: robustness could swing it
		contender("far", 1500, 60, 90),    // far behind on everything
		contender("level", 4010, 20, 20),  // level with the leader
		contender("stopped", 100, 500, 5), // out of the race already
	}}
	f.Runs[4].Stopped = &results.Stop{After: 3, Reason: "behind"}
	ranks, _, err := rank.Rank(f, rank.DefaultProfile, 100)
	if err != nil {
		t.Fatal(err)
	}
	score := map[string]float64{}
	for _, rk := range ranks {
		score[rk.Server] = rk.Score
	}
	stops := reachStops(f, rank.DefaultProfile, 100)
	// crud-behind-cache: robustness 1 of 12, correctness has no data
	// here, so the other weights with data are 10 (capacity 4, p99 3,
	// memory 2, errors 1): room = (100·1 + 2·11) / 10.
	room := (100.0 + 2*11) / 10
	for i, run := range f.Runs[:4] {
		gap := score["level"] - score[run.Server]
		if lead := max(score["lead"], score["level"]); lead > score["level"] {
			gap = lead - score[run.Server]
		}
		_, out := stops[i]
		if want := gap > room && run.Server != "level" && run.Server != "lead"; out != want {
			t.Errorf("%s (%.1f points behind, room %.1f): out of reach %v, want %v", run.Server, gap, room, out, want)
		}
	}
	s, ok := stops[2]
	if !ok {
		t.Fatalf("far was not stopped: scores %v", score)
	}
	if s.Metric != "score" || s.After != 6 || !strings.Contains(s.Reason, "no trouble result can bring it level") {
		t.Errorf("stop %+v", s)
	}
	if _, ok := stops[4]; ok {
		t.Errorf("a run out of the race already was stopped again")
	}

	// Trailing at the medians by more than the room, but so spread pair
	// by pair that it may trail by almost nothing: it stays.
	noisy := contender("noisy", 2600, 20, 20)
	for k, v := range []float64{1500, 4100, 2600, 4000, 1400, 2600} {
		noisy.Trials[k].RPS = v
	}
	g := &results.File{Runs: []results.Run{contender("lead", 4000, 20, 20), noisy, contender("far", 1500, 60, 90)}}
	_, trails, err := rank.Trails(g, rank.Options{Profile: rank.DefaultProfile, GoalMS: 100})
	if err != nil || len(trails) != 2 || trails[0].Server != "noisy" {
		t.Fatalf("trails %+v, %v", trails, err)
	}
	if trails[0].Gap <= room || trails[0].Least > room {
		t.Fatalf("noisy trails by %.1f at the medians and %.1f at least; the case wants more than %.1f and less", trails[0].Gap, trails[0].Least, room)
	}
	stops = reachStops(g, rank.DefaultProfile, 100)
	if _, out := stops[1]; out {
		t.Errorf("noisy (%.1f points behind at the medians, %.1f at least) was stopped", trails[0].Gap, trails[0].Least)
	}
	if s, out := stops[2]; !out || !strings.Contains(s.Reason, "at least") {
		t.Errorf("far: %+v", s)
	}

	// A profile without robustness: trouble changes nothing, so only
	// those within the ranking's own tie margin stay.
	stops = reachStops(f, "capacity=1", 100)
	if _, ok := stops[1]; !ok {
		t.Errorf("capacity only: close (5%% behind) stayed within reach")
	}
}

// The runner stops the out-of-reach runs, except a server the user named.
func TestStopOutOfReach(t *testing.T) {
	f := &results.File{Runs: []results.Run{contender("lead", 4000, 20, 20), contender("far", 1500, 60, 90), contender("named", 1400, 60, 90)}}
	r := &runner{o: Options{Trials: RaceTrials, Profile: rank.DefaultProfile, LatencyGoal: 100 * time.Millisecond, Named: []string{"named"}}, log: &strings.Builder{}}
	r.stopOutOfReach(f)
	if f.Runs[1].Stopped == nil || f.Runs[0].Stopped != nil || f.Runs[2].Stopped != nil {
		t.Errorf("stopped: lead %v, far %v, named %v; want far only", f.Runs[0].Stopped, f.Runs[1].Stopped, f.Runs[2].Stopped)
	}
	// Without racing (or trials for a second look), or without trouble
	// to save, nothing stops.
	for _, o := range []Options{{NoRacing: true, Trials: RaceTrials}, {NoTrouble: true, Trials: RaceTrials}, {Trials: 3}} {
		f := &results.File{Runs: []results.Run{contender("lead", 4000, 20, 20), contender("far", 1500, 60, 90)}}
		o.Profile = rank.DefaultProfile
		(&runner{o: o, log: &strings.Builder{}}).stopOutOfReach(f)
		if f.Runs[1].Stopped != nil {
			t.Errorf("%+v: stopped %v", o, f.Runs[1].Stopped)
		}
	}
}

// In a race the capacity is searched at each contending server's best
// shape only; every shape without racing or for a server named.
func TestSearchShapes(t *testing.T) {
	runs := []results.Run{
		contender("a", 3000, 20, 20), contender("a", 3500, 20, 20), // a's second shape is its best
		contender("b", 5000, 20, 20), contender("b", 2000, 20, 20),
		contender("c", 9000, 20, 20), contender("c", 1000, 20, 20),
	}
	runs[4].Stopped = &results.Stop{After: 3} // c's best shape left the race: its other one is searched
	r := &runner{o: Options{Trials: RaceTrials}}
	got := r.searchShapes(runs)
	want := map[int]bool{1: true, 2: true, 5: true}
	if len(got) != len(want) {
		t.Errorf("searched %v, want %v", got, want)
	}
	for i := range want {
		if !got[i] {
			t.Errorf("searched %v, want %v", got, want)
		}
	}
	// The shape the ranking picks on the trials' evidence, not the one
	// with most req/s: d's second shape is 3% faster but has twice the
	// p99 and three times the memory.
	lean := []results.Run{contender("d", 3000, 15, 20), contender("d", 3100, 30, 60), contender("e", 2000, 20, 20)}
	lean[1].Shape = results.Shape{Workers: 3, Threads: 1}
	if got := (&runner{o: Options{Trials: RaceTrials, LatencyGoal: 100 * time.Millisecond}}).searchShapes(lean); !got[0] || got[1] {
		t.Errorf("searched %v, want d's first shape (the ranked one)", got)
	}
	if got := (&runner{o: Options{Trials: 3}}).searchShapes(runs); len(got) != len(runs) {
		t.Errorf("3 trials, no second look: searched %v, want every run", got)
	}
	r.o.Named = []string{"b"}
	if got := r.searchShapes(runs); !got[2] || !got[3] {
		t.Errorf("named b: searched %v, want both of b's shapes", got)
	}
	r.o = Options{NoRacing: true}
	if got := r.searchShapes(runs); len(got) != len(runs) {
		t.Errorf("no racing: searched %v, want every run", got)
	}
}

// Under a budget the trouble scenarios shrink to the time left: the
// median of 3, else once, else scenarios dropped in trouble.DropOrder.
func TestTroubleFit(t *testing.T) {
	all := trouble.Scenarios()
	byID := map[string]trouble.Scenario{}
	for _, sc := range all {
		byID[sc.ID] = sc
	}
	lastTwo := trouble.TotalCost([]trouble.Scenario{byID["overload"], byID["reload"]})
	for _, tc := range []struct {
		name      string
		left      time.Duration
		repeat    int
		scenarios int
		cut       string
	}{
		{"room for 3", time.Hour, 3, len(all), ""},
		{"room for once", 3*trouble.TotalCost(all) + costFixed, 1, len(all), "each trouble scenario run once"},
		{"room for two scenarios", 3*lastTwo + costFixed/2 + time.Second, 1, 2, "trouble scenarios left out"},
		{"no room: one kept", time.Second, 1, 1, "trouble scenarios left out"},
	} {
		r := &runner{o: Options{}, deadline: deadline{end: time.Now().Add(tc.left)}}
		rep, scs, cut := r.troubleFit(3, 3, all)
		if rep != tc.repeat || len(scs) != tc.scenarios || !strings.Contains(cut, tc.cut) {
			t.Errorf("%s: ×%d, %d scenarios, cut %q; want ×%d, %d, %q", tc.name, rep, len(scs), cut, tc.repeat, tc.scenarios, tc.cut)
		}
		if len(scs) == 2 && !(scs[0].ID == "overload" && scs[1].ID == "reload") {
			t.Errorf("%s: kept %s and %s; overload and reload are the last DropOrder gives up", tc.name, scs[0].ID, scs[1].ID)
		}
		if len(scs) == 1 && scs[0].ID != "reload" {
			t.Errorf("%s: kept %s; reload is the last DropOrder gives up", tc.name, scs[0].ID)
		}
	}
	// No budget, or a repeat the user asked for: the plan's own choice.
	r := &runner{o: Options{TroubleRepeat: 5}, deadline: deadline{end: time.Now().Add(time.Second)}}
	if rep, scs, cut := r.troubleFit(3, 5, all); rep != 5 || len(scs) != len(all) || cut != "" {
		t.Errorf("--trouble-repeat 5 under a budget: ×%d, %d scenarios, %q", rep, len(scs), cut)
	}
	r = &runner{}
	if rep, scs, cut := r.troubleFit(3, 3, all); rep != 3 || len(scs) != len(all) || cut != "" {
		t.Errorf("no budget: ×%d, %d scenarios, %q", rep, len(scs), cut)
	}
}

// The race ends when the time left no longer covers the suites of the
// servers still in it; never in the first round.
func TestRaceEndsAtTheBudget(t *testing.T) {
	runs := fakeRuns(4)
	for i := range runs {
		runs[i].Trials = []results.Trial{{Index: 0, RPS: 1000}, {Index: 1, RPS: 1000}, {Index: 2, RPS: 1000}}
	}
	f := &results.File{Runs: runs, Plan: results.Plan{Racing: testRules.record(nil)}}
	r := &runner{o: Options{Trials: RaceTrials, Seed: 1}, log: &strings.Builder{}}
	r.deadline = deadline{end: time.Now().Add(reserve(4, (&runner{}).scoredScenarios()) - time.Second)}
	s := r.raceSteps(f, testRules)
	n := 0
	for range s.all() {
		n++
	}
	if n != 0 || f.Plan.Racing.Ended == "" || f.Plan.AsRun == nil || len(f.Plan.AsRun.Cuts) != 1 {
		t.Errorf("short of the reserve: %d steps, ended %q, cuts %v; want none, a reason, one cut", n, f.Plan.Racing.Ended, f.Plan.AsRun)
	}
	// A resumed file whose race ended takes no more trials either.
	n = 0
	r.deadline = deadline{}
	for range r.raceSteps(f, testRules).all() {
		n++
	}
	if n != 0 {
		t.Errorf("resumed after the race ended: %d steps", n)
	}
	// With room, the second round goes on; past the budget, a first
	// round still runs.
	for _, tc := range []struct {
		name string
		f    *results.File
		left time.Duration
	}{
		{"with an hour left, the race goes on", &results.File{Runs: runs}, time.Hour},
		{"past the budget, the first round runs", &results.File{Runs: fakeRuns(3)}, -time.Minute},
	} {
		tc.f.Plan.Racing = testRules.record(nil)
		r.deadline = deadline{end: time.Now().Add(tc.left)}
		n := 0
		for range r.raceSteps(tc.f, testRules).all() {
			n++
			break
		}
		if n != 1 {
			t.Errorf("%s: no step", tc.name)
		}
	}
}

// A development server gets one trial in a race: never a candidate, its
// numbers are in the tables.
func TestDevServerOneTrial(t *testing.T) {
	runs := fakeRuns(3)
	runs[2].NotForProduction = "a reference server"
	m := &fakeMachine{speed: []float64{1000, 1000, 1000}, noise: 0.01, rng: rand.New(rand.NewPCG(7, 7)), level: map[int]float64{}}
	runs, _ = play(t, m, runs, 1, testRules)
	if n := len(runs[2].Trials); n != 1 {
		t.Errorf("the development server got %d trials, want 1", n)
	}
	if s := runs[2].Stopped; s == nil || s.After != 1 || !strings.Contains(s.Reason, "after 1 trial:") {
		t.Errorf("its stop: %+v", s)
	}
}

// After reach, the servers left get trials up to the race's second look at
// the shape they are ranked at, in paired blocks, while the budget lasts.
func TestFinalRound(t *testing.T) {
	runs := []results.Run{contender("a", 3000, 20, 20), contender("a", 3500, 20, 20), contender("b", 5000, 20, 20), contender("c", 100, 90, 90)}
	for i := range runs {
		runs[i].Trials = runs[i].Trials[:3]
	}
	runs[3].Stopped = &results.Stop{After: 3, Reason: "out of reach"}
	f := &results.File{Runs: runs}
	r := &runner{o: Options{Trials: RaceTrials, Seed: 1, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second}, log: &strings.Builder{}}
	fs := r.finalRound(f)
	var got []Step
	for _, st := range fs.all() {
		got = append(got, st)
	}
	// a's ranked shape is its second (more req/s); b's only; c is out.
	if len(got) != 6 {
		t.Fatalf("steps %v, want trials 4–6 of runs 1 and 2", got)
	}
	for k, st := range got {
		if st.Cell != 1 && st.Cell != 2 || st.Trial != 3+k/2 {
			t.Errorf("step %d = %+v, want trial %d of run 1 or 2, blocks of two", k, st, 3+k/2)
		}
	}
	// A budget without room for a block beside what the servers still
	// need (a block of two trials is 5.6 s here): no trials, and a cut.
	r.deadline = deadline{end: time.Now().Add(time.Hour)} // a budget: what finalNeed keeps back depends on it
	r.deadline = deadline{end: time.Now().Add(r.finalNeed(2) + 4*time.Second)}
	got = got[:0]
	for _, st := range r.finalRound(f).all() {
		got = append(got, st)
	}
	if len(got) != 0 || f.Plan.AsRun == nil || len(f.Plan.AsRun.Cuts) != 1 || !strings.Contains(f.Plan.AsRun.Cuts[0], "final round") {
		t.Errorf("tight budget: steps %v, cuts %v; want none and a cut", got, f.Plan.AsRun)
	}
	// One server left: nothing to separate.
	f.Runs[2].Stopped = &results.Stop{After: 3}
	if fs := r.finalRound(f); len(fs.steps) != 0 {
		t.Errorf("one server left: %d steps", len(fs.steps))
	}
}

// The final round keeps back only the least the servers within reach still
// need: under a budget that projects nothing the ceilings are left out, and
// of the trouble scenarios the one DropOrder gives up last (reload), once.
func TestFinalNeedIsTheLeast(t *testing.T) {
	var reload trouble.Scenario
	for _, sc := range trouble.Scenarios() {
		if sc.ID == "reload" {
			reload = sc
		}
	}
	r := &runner{deadline: deadline{end: time.Now().Add(time.Hour)}}
	if got, want := r.finalNeed(3), 3*reload.Cost+costFixed/2; got != want {
		t.Errorf("under a budget: %v, want 3 × reload's %v + %v", got, reload.Cost, costFixed/2)
	}
	if all := 3*(r.scoredScenarios()+costCeiling) + costFixed/2; r.finalNeed(3) >= all {
		t.Errorf("the least (%v) is not less than every scenario and a ceiling (%v)", r.finalNeed(3), all)
	}
	r.o.NoTrouble = true
	if got := r.finalNeed(3); got != costFixed/2 {
		t.Errorf("no trouble: %v, want %v", got, costFixed/2)
	}
	r = &runner{o: Options{TroubleScenarios: []trouble.Scenario{reload}}, target: target{projected: true}, deadline: deadline{end: time.Now().Add(time.Hour)}}
	if got, want := r.finalNeed(2), 2*(reload.Cost+costCeiling)+costFixed/2; got != want {
		t.Errorf("projected: %v, want the ceilings too, %v", got, want)
	}
}
