package plan

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// Within reach: after a race, the capacity searches and the probes, the
// trouble scenarios (the costliest suite: about a minute per server, three
// with the median of 3) are all that is left to add to the ranking, and
// robustness carries only its weight in the profile. A contender whose
// score before robustness trails the leader's by more than a perfect
// robustness score next to the leader's worst could make up, plus the
// ranking's MinScoreGap, cannot reach the leader's place whatever its
// scenarios show; it leaves the race there, keeping everything measured,
// and the scenarios run for the servers that can still win.
//
// With w the robustness weight and W the other weights with data, a
// server's final score is (S'·W + 100·w·ρ) / (W + w), where S' is its score
// before robustness and ρ ∈ [0, 1] its robustness relative to the best. It
// can come level with the leader L only if S'_L − S' ≤ (100·w + g·(W + w)) / W,
// g = MinScoreGap. A server the ranking places level with the leader
// already (too close to call) stays whatever its score.
//
// S'_L − S' is taken at its least across what the data allow
// (rank.Trails): every metric at the end of its interval most in the
// trailing server's favour. At the medians of 3 trials each, uWSGI once
// trailed waitress by 11.8 points against 11.3 of room and was cut, while
// the exhaustive run tied the two for first.
//
// The scores before robustness are those of the servers still in the race;
// taking a server out changes no other server's measurements, though it can
// change the best value a metric is scored against (as racing does).

// reachStops are the contending servers out of reach of the leader, by
// run index, each with why. None when the profile cannot rank the file.
func reachStops(file *results.File, profile string, goalMS float64) map[int]results.Stop {
	prof, err := rank.ParseProfile(profile)
	if err != nil {
		return nil
	}
	leader, trails, err := rank.Trails(file, rank.Options{Profile: profile, GoalMS: goalMS})
	if err != nil || len(trails) == 0 {
		return nil
	}
	var w, others float64
	for _, wt := range prof.Weights {
		switch {
		case wt.Metric == rank.Robustness:
			w += wt.Weight
		case wt.Metric == rank.Correctness && len(file.Conformance) == 0:
			// No probes: the ranking leaves its weight out, and so must
			// W (a larger W would shrink the room, and stop too many).
		default:
			others += wt.Weight
		}
	}
	if others <= 0 {
		return nil
	}
	room := (100*w + rank.MinScoreGap*(others+w)) / others
	fronts := map[string]bool{}
	for _, run := range file.Runs {
		if run.Workload == trails[0].Run.Workload {
			fronts[run.Front] = true
		}
	}
	if len(fronts) > 1 {
		return nil // fronts compared: the scenarios run behind each, and reach is per front
	}
	out := map[int]results.Stop{}
	for _, tr := range trails {
		if tr.Tied || tr.Least <= room {
			continue
		}
		for i, run := range file.Runs {
			if run.Server != tr.Server || run.Workload != tr.Run.Workload || run.Stopped != nil || run.Error != "" || len(run.Trials) == 0 {
				continue
			}
			out[i] = results.Stop{After: len(run.Trials), Behind: leader, Metric: "score",
				Reason: fmt.Sprintf("out of reach after %s and its capacity search and probes: at least %.1f points behind %s before robustness (%.1f at the medians; the least is every metric at the end of its interval most in its favour), and robustness can make up at most %.1f (weight %g of %g), so no trouble result can bring it level",
					trialsWord(len(run.Trials)), tr.Least, leader, tr.Gap, room, w, w+others)}
		}
	}
	return out
}

// stopOutOfReach takes the contenders out of reach out of the race, before
// the trouble scenarios: racing plans only, and only when the scenarios
// will run (they are what reach saves).
func (r *runner) stopOutOfReach(file *results.File) {
	if !r.races() || r.o.NoTrouble {
		return
	}
	stops := reachStops(file, r.o.Profile, float64(r.o.LatencyGoal.Milliseconds()))
	idx := make([]int, 0, len(stops))
	for i := range stops {
		if !slices.Contains(r.o.Named, file.Runs[i].Server) {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	for _, i := range idx {
		s := stops[i]
		file.Runs[i].Stopped = &s
		fmt.Fprintf(r.log, "[reach] %s: %s\n", file.Runs[i].Key(), s.Reason)
	}
}

// stepSource gives trials to run: the race's rounds (raceSteps), or the
// final round (finalSteps).
type stepSource interface {
	all() iter.Seq2[int, Step]
	known() int // steps known so far, for the progress line
}

// The final round. A race the budget ended early leaves its contenders
// with the first round's trials, too few for the ranking to separate the
// servers that can still win (3 against 3 can never reach p < 0.05 in a
// rank-sum test). Once reach has left only those, each gets trials up to
// the race's second look at the shape it is ranked at, in paired blocks
// as in the race, while the time left still covers their ceilings and
// trouble scenarios run once. Without a budget the race went to its last
// look and the round has nothing to add.
type finalSteps struct {
	r     *runner
	file  *results.File
	steps []Step
}

// finalRound lays out the final round's trials: the runs measured in full
// at their ranked shape (searchShapes), up to RaceFirst + RaceRound trials
// (or the plan's most, if fewer).
func (r *runner) finalRound(file *results.File) *finalSteps {
	fs := &finalSteps{r: r, file: file}
	if !r.races() {
		return fs
	}
	ranked := r.searchShapes(file.Runs)
	var due []int
	for i, run := range file.Runs {
		if ranked[i] && r.inFull(run) && run.Error == "" {
			due = append(due, i)
		}
	}
	if len(due) < 2 {
		return fs // one server left: nothing to separate
	}
	fs.steps = blocks(file.Runs, due, min(r.o.Trials, RaceFirst+RaceRound), r.o.Seed)
	return fs
}

func (s *finalSteps) known() int { return len(s.steps) }

// all yields the steps while the budget lasts, whole blocks at a time so
// that every trial has its partners.
func (s *finalSteps) all() iter.Seq2[int, Step] {
	return func(yield func(int, Step) bool) {
		servers := map[string]bool{}
		for _, st := range s.steps {
			servers[s.file.Runs[st.Cell].Server] = true
		}
		block := -1
		for i, st := range s.steps {
			if st.Trial != block {
				block = st.Trial
				if !s.r.finalGoesOn(len(servers), s.blockLen(i)) {
					s.r.cut(s.file, fmt.Sprintf("the final round of the servers within reach stopped at %d of %d trials: the time budget", i, len(s.steps)))
					return
				}
			}
			if !yield(i, st) {
				return
			}
		}
	}
}

// blockLen is how many steps from i on share its block.
func (s *finalSteps) blockLen(i int) int {
	n := 0
	for _, st := range s.steps[i:] {
		if st.Trial != s.steps[i].Trial {
			break
		}
		n++
	}
	return n
}

// finalGoesOn says whether a block of n trials fits before the least the
// servers within reach still need after the final round (finalNeed).
func (r *runner) finalGoesOn(servers, n int) bool {
	if !r.deadline.set() {
		return true
	}
	trial := r.o.Warmup + r.o.Duration + costTrialFixed
	return r.deadline.left() > r.finalNeed(servers)+time.Duration(n)*trial
}

// finalNeed is the least the servers within reach still need after the
// final round: their ceilings, unless the budget leaves them out, and the
// trouble scenario a budget gives up last, once. The final round comes
// before the rest of the trouble scenarios because it decides more of the
// verdict: with 3 trials each no sampled metric can separate two servers
// (no rank-sum test of 3 against 3 reaches p < 0.05), so capacity, p99,
// memory and errors (10 of the default profile's 12 weights) all tie and
// the verdict rests on the probes and the scenarios. The 10-minute run of
// 2026-12-04 gave the final round 0 of 18 trials for the scenarios' sake.
// The scenarios then get what is left (troubleFit), after reach has had
// the final round's trials to judge by.
func (r *runner) finalNeed(servers int) time.Duration {
	var each time.Duration
	if !r.o.NoCeiling && !r.budgetSkipsCeilings() {
		each += costCeiling
	}
	if !r.o.NoTrouble {
		each += r.leastTrouble()
	}
	return time.Duration(servers)*each + costFixed/2
}
