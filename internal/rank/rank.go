package rank

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

const (
	// MinScoreGap is the least score difference, in points of 100, that
	// the significant differences between two servers must add up to for
	// one to be placed ahead; below it they tie. Loopback benchmarks
	// drift by a few percent between runs, and a 2-point edge is worth
	// less than that drift.
	MinScoreGap = 2.0
	// CapacityMargin is the least relative capacity difference that can
	// separate two servers: a capacity search is one measurement, not
	// repeated trials, so a small gap may be noise.
	CapacityMargin = 0.10
	// ErrorBudget is the error rate that scores 0 on the errors metric;
	// none scores 1, in between is linear. (Ratios to the best would make
	// 0.001% errors score the same as 50% next to a server with none.)
	ErrorBudget = 0.01
	// MinEvidence is the least share of the profile's weight a server's
	// scored metrics must carry for it to be ranked at all: a server
	// scored on errors alone must not tie for first on a throughput
	// profile because its throughput could not be measured.
	MinEvidence = 0.5
	// searchResolution brackets a capacity with no failing step recorded.
	searchResolution = 0.05
)

// Options choose what Rank ranks on.
type Options struct {
	Profile  string  // a profile name or weights; "" = DefaultProfile
	GoalMS   float64 // the p99 goal capacity was searched at; 0 = as recorded
	Workload string  // "" = crud, or else the first workload with trials
	Alpha    float64 // 0 = stats.Alpha
}

// Rank ranks the servers in f on profile (see the package doc). It reads
// the trials, not the stored summaries, so it never depends on them being
// filled. The error is for a bad profile or workload only.
func Rank(f *results.File, profile string, goalMS float64) ([]results.Rank, *results.Verdict, error) {
	return RankWith(f, Options{Profile: profile, GoalMS: goalMS})
}

// Apply fills f's run summaries, ranking and verdict: what a run calls
// when it finishes and what report calls to re-rank on another profile.
func Apply(f *results.File, profile string, goalMS float64) error {
	stats.SummarizeAll(f)
	Project(f)
	ranking, v, err := Rank(f, profile, goalMS)
	if err != nil {
		return err
	}
	if v != nil {
		if v.Firmness, err = Firmness(f, Options{Profile: profile, GoalMS: goalMS}, FirmnessResamples); err != nil {
			return err
		}
	}
	f.Ranking, f.Verdict = ranking, v
	return nil
}

// cand is one run as ranking evidence.
type cand struct {
	run      results.Run
	val      map[string]float64         // metric → median (or the capacity), when scored
	samples  map[string][]float64       // metric → per-trial values, for the U test
	byTrial  map[string]map[int]float64 // metric → trial index → value, for paired tests
	excluded map[string]string          // metric → why it is not scored
	score    float64
	// The capacity search's bracket: passed at capLo, failed at capHi.
	capLo, capHi float64
	fromSearch   bool
	shapes       int // shapes of this server measured
	probeFails   int // conformance probes failed
	// rob sums the scored trouble scenarios behind the robustness value;
	// robLo and robHi are that value with every scenario at the least and
	// at the most it kept over its runs (the value itself when run once).
	rob          spread
	robLo, robHi float64
}

func (c *cand) name() string { return c.run.Server }

type ranker struct {
	f       *results.File
	prof    Profile
	alpha   float64
	goal    float64
	weights []results.Weight // effective: only metrics with data, capacity folded into rps when there is no search
	total   float64          // Σ weights
	folded  bool             // capacity stands on req/s: no capacity search for some server
	front   string           // the front the ranked runs ran behind; "" direct
	notes   []string
}

// chooseFront is the front a workload's runs are ranked behind: the
// question is which server to deploy behind the user's proxy, so when
// the run measured servers behind one, those are the runs that answer it.
// Varnish, the front of the stack this tool is for, comes first.
func chooseFront(f *results.File, wl string) string {
	var fronts []string
	for _, run := range f.Runs {
		if run.Workload == wl && run.Front != "" && run.Front != "none" && !slices.Contains(fronts, run.Front) {
			fronts = append(fronts, run.Front)
		}
	}
	if len(fronts) == 0 {
		return ""
	}
	if slices.Contains(fronts, "varnish") {
		return "varnish"
	}
	slices.Sort(fronts)
	return fronts[0]
}

// frontOf is the front a run ran behind, "" when direct.
func frontOf(run results.Run) string {
	if run.Front == "none" {
		return ""
	}
	return run.Front
}

// RankWith is Rank with every option.
func RankWith(f *results.File, o Options) ([]results.Rank, *results.Verdict, error) {
	out, err := rankWith(f, o)
	if err != nil {
		return nil, nil, err
	}
	return out.ranking, out.verdict, nil
}

// ranked is a ranking with the evidence behind it: fin[i] is the
// candidate ranking[i] stands for (what Factors reads to mark where the
// data separate neighbours).
type ranked struct {
	ranking []results.Rank
	verdict *results.Verdict
	r       *ranker
	fin     []*cand
}

func rankWith(f *results.File, o Options) (*ranked, error) {
	prof, err := ParseProfile(o.Profile)
	if err != nil {
		return nil, err
	}
	alpha := o.Alpha
	if alpha <= 0 {
		alpha = stats.Alpha
	}
	wl, err := chooseWorkload(f, o.Workload)
	if err != nil {
		return nil, err
	}
	v := &results.Verdict{
		Profile: prof.Name, Weights: prof.Weights, Workload: wl,
		Alpha: alpha, MinScoreGap: MinScoreGap,
	}
	r := &ranker{f: f, prof: prof, alpha: alpha, front: chooseFront(f, wl)}
	v.Front = r.front
	if r.front != "" {
		r.note(fmt.Sprintf("ranked as deployed: each server behind %s, the front this run measured it behind; runs without it are in the tables, not ranked", r.front))
	}
	cands, failed := r.collect(wl)
	r.goal = r.chooseGoal(cands, o.GoalMS)
	v.GoalP99MS = r.goal
	cands, v.CapacityFrom = r.capacity(cands)
	r.project(cands)
	if err := r.effectiveWeights(cands); err != nil && len(cands) > 0 {
		return nil, err
	}
	for _, fr := range failed {
		r.note(fmt.Sprintf("not ranked: %s %s failed: %s", fr.Server, fr.Shape, firstLine(fr.Error)))
	}
	fin := r.bestShapes(cands)
	ranking := r.place(fin)
	v.Headline = r.headline(wl, ranking, fin) + r.targetPhrase()
	if r.front != "" {
		v.Headline = "Behind " + r.front + ": " + v.Headline
	}
	if f.Machine.SharedCPUs {
		r.note(stats.SharedCPUsWarning + "; servers that use more CPU lose more to the competition, so the places are less sure than the tests say")
	}
	v.Notes = r.notes
	return &ranked{ranking: ranking, verdict: v, r: r, fin: fin}, nil
}

func (r *ranker) note(s string) {
	if !slices.Contains(r.notes, s) {
		r.notes = append(r.notes, s)
	}
}

// chooseWorkload: the one asked for, else crud, else the first in the
// plan's order, else the alphabetically first, among runs with trials.
func chooseWorkload(f *results.File, want string) (string, error) {
	have := map[string]bool{}
	var names []string
	for _, r := range f.Runs {
		if len(r.Trials) > 0 && !have[r.Workload] {
			have[r.Workload] = true
			names = append(names, r.Workload)
		}
	}
	sort.Strings(names)
	if want != "" {
		if !have[want] {
			return "", fmt.Errorf("workload %q has no finished trials in this file (have: %s)", want, strings.Join(names, ", "))
		}
		return want, nil
	}
	if have["crud"] {
		return "crud", nil
	}
	for _, w := range f.Plan.Workloads {
		if have[w] {
			return w, nil
		}
	}
	if len(names) > 0 {
		return names[0], nil
	}
	return "crud", nil
}

// collect turns the workload's runs into candidates, in a fixed order
// whatever the order of runs in the file.
func (r *ranker) collect(wl string) (cands []*cand, failed []results.Run) {
	var unranked []string
	for _, run := range r.f.Runs {
		switch {
		case run.Workload != wl, frontOf(run) != r.front:
		case run.NotForProduction != "":
			// Measured and shown, never recommended: the verdict answers
			// "what should I deploy".
			if !slices.Contains(unranked, run.Server) {
				unranked = append(unranked, run.Server)
			}
		case r.f.Check.Breaks(run.Model, run.Shape) != "" && len(run.Trials) > 0:
			// Measured and shown, never recommended: its concurrency
			// model breaks the app (package check found how).
			r.note(fmt.Sprintf("not recommended: %s %s, because %s", run.Server, run.Shape, r.f.Check.Breaks(run.Model, run.Shape)))
		case run.Error != "":
			failed = append(failed, run)
		case run.Stopped != nil:
			r.note(fmt.Sprintf("not ranked: %s, out of the race: %s", run.Key(), run.Stopped.Reason))
		case len(run.Trials) > 0:
			cands = append(cands, &cand{run: run})
		}
	}
	if len(unranked) > 0 {
		slices.Sort(unranked)
		r.note(fmt.Sprintf("not ranked, being development or reference servers that are not for production: %s (their numbers are in the tables)", JoinAnd(unranked)))
	}
	sort.Slice(cands, func(i, j int) bool { return runLess(cands[i].run, cands[j].run) })
	sort.Slice(failed, func(i, j int) bool { return runLess(failed[i], failed[j]) })
	pss := true
	for _, c := range cands {
		if mem, isPSS := stats.Memory(stats.Summarize(c.run, r.f.Machine)); !isPSS || mem.Median <= 0 {
			pss = false
		}
	}
	if !pss && len(cands) > 0 {
		r.note("memory is ranked on peak RSS: PSS was not measured for every server (RSS counts shared pages once per process, so it overstates pre-forking servers)")
	}
	shapes := map[string]int{}
	for _, c := range cands {
		shapes[c.name()]++
	}
	for _, c := range cands {
		r.extract(c, pss)
		c.shapes = shapes[c.name()]
	}
	return cands, failed
}

func runLess(a, b results.Run) bool {
	if a.Server != b.Server {
		return a.Server < b.Server
	}
	if a.Shape.Workers != b.Shape.Workers {
		return a.Shape.Workers < b.Shape.Workers
	}
	return a.Shape.Threads < b.Shape.Threads
}

// extract reads the per-trial evidence of every metric but capacity.
func (r *ranker) extract(c *cand, pss bool) {
	c.val, c.samples, c.excluded = map[string]float64{}, map[string][]float64{}, map[string]string{}
	c.byTrial = map[string]map[int]float64{}
	col := func(key string, f func(results.Trial) (float64, bool)) {
		var xs []float64
		by := map[int]float64{}
		for _, t := range c.run.Trials {
			if v, ok := f(t); ok {
				xs = append(xs, v)
				by[t.Index] = v
			}
		}
		c.byTrial[key] = by
		if len(xs) == 0 {
			return
		}
		med := stats.Median(xs)
		if med <= 0 && key != Errors && key != RPS {
			return // not measured (0 req/s is a measurement: the worst one)
		}
		c.val[key], c.samples[key] = med, xs
	}
	// What Unscored refuses is left out, with its reason: the same
	// predicate keeps the reports from crowning it.
	scored := func(key string, f func(results.Trial) (float64, bool)) {
		if e := Unscored(c.run, key); e != nil {
			c.excluded[key] = e.Why
			return
		}
		col(key, f)
	}
	scored(RPS, func(t results.Trial) (float64, bool) { return t.RPS, true })
	scored(P50, func(t results.Trial) (float64, bool) { return t.LatencyMS.P50, true })
	scored(P99, func(t results.Trial) (float64, bool) { return t.LatencyMS.P99, true })
	col(Memory, func(t results.Trial) (float64, bool) {
		if pss {
			return float64(t.PSSPeakBytes), true
		}
		return float64(t.RSSPeakBytes), true
	})
	col(CPU, stats.CPUMsPerKReq)
	col(Errors, stats.ErrorRate)
	r.correctness(c)
	r.robustness(c)
}

// robustness reads the server's trouble scenarios, when it was tried:
// one measurement per scenario, or the median of a few runs of each, so a
// difference separates two servers only when wide or outside the runs'
// ranges (see compare).
func (r *ranker) robustness(c *cand) {
	var found []results.Robustness
	for _, rob := range r.f.Robustness {
		if rob.Server == c.name() {
			found = append(found, rob)
		}
	}
	frontFirst(found, r.front, func(rob results.Robustness) string { return rob.Front })
	for _, rob := range found {
		if rob.Failed != "" {
			c.excluded[Robustness] = "it could not be tried: " + firstLine(rob.Failed)
			return
		}
		for _, sc := range rob.Scenarios {
			if sc.Error == "" && !sc.Unscored {
				c.val[Robustness] = rob.Score
				c.rob, c.robLo, c.robHi = repeatRange(rob)
				return
			}
		}
		return
	}
}

// scenariosPhrase says what two robustness values average: "on average
// over 4 scenarios", or "over 4 and 7" when the two differ (a budget keeps
// the same scenarios for every server, so they rarely do).
func scenariosPhrase(a, b int) string {
	switch {
	case a == b && a == 1:
		return "in 1 scenario"
	case a == b:
		return fmt.Sprintf("on average over %d scenarios", a)
	}
	return fmt.Sprintf("on average over %d and %d scenarios", a, b)
}

// rangesApart: two means of trouble scenarios, each scenario repeated,
// are apart when the higher one with every scenario at its least (aLo or
// bLo) is above the other with every scenario at its most (see doc.go for
// the error rate). The robustness metric and the factor table's trouble
// factors both separate by it.
func rangesApart(va, aLo, aHi, vb, bLo, bHi float64) bool {
	if vb > va {
		va, aLo, aHi, vb, bLo, bHi = vb, bLo, bHi, va, aLo, aHi
	}
	return va != vb && aLo > bHi
}

// spread sums scored trouble scenarios: how many, their medians, the least
// and the most each kept over its runs, and the fewest runs any of them is
// the median of.
type spread struct {
	n           int
	sum, lo, hi float64
	repeats     int
}

func (s *spread) add(sc results.TroubleCase) {
	if r := max(sc.Repeats, 1); s.n == 0 || r < s.repeats {
		s.repeats = r
	}
	s.n++
	s.sum += sc.Retained
	s.lo += min(sc.RetainedLo, sc.Retained)
	s.hi += max(sc.RetainedHi, sc.Retained)
}

// repeated: every scenario added was the median of two runs or more.
func (s spread) repeated() bool { return s.n > 0 && s.repeats >= 2 }

// repeatRange sums rob's scored scenarios and, when every one was
// repeated, gives rob's score with each scenario at the least and at the
// most it kept over its runs (else the score itself). The range is taken
// about the stored score (weighScenarios shifts it to weigh a factor) by
// the plain means' distances, so it moves with it.
func repeatRange(rob results.Robustness) (s spread, lo, hi float64) {
	for _, sc := range rob.Scenarios {
		if sc.Error == "" && !sc.Unscored {
			s.add(sc)
		}
	}
	if !s.repeated() {
		return s, rob.Score, rob.Score
	}
	n := float64(s.n)
	return s, rob.Score - (s.sum-s.lo)/n, rob.Score + (s.hi-s.sum)/n
}

// frontFirst orders a server's suite records so the one measured behind
// the ranked front comes first: the suites count behind that front when
// they ran there, and directly otherwise.
func frontFirst[T any](recs []T, ranked string, frontOf func(T) string) {
	slices.SortStableFunc(recs, func(a, b T) int {
		am, bm := frontOf(a) == ranked, frontOf(b) == ranked
		switch {
		case am && !bm:
			return -1
		case bm && !am:
			return 1
		}
		return 0
	})
}

// correctness reads the server's conformance probes, when it was probed.
// They are exact requests, not samples: a score is the same every run
// (see package probe), so it carries no trials.
func (r *ranker) correctness(c *cand) {
	var found []results.Conformance
	for _, conf := range r.f.Conformance {
		if conf.Server == c.name() {
			found = append(found, conf)
		}
	}
	frontFirst(found, r.front, func(conf results.Conformance) string { return conf.Front })
	for _, conf := range found {
		if conf.Failed != "" {
			c.excluded[Correctness] = "it could not be probed: " + firstLine(conf.Failed)
			return
		}
		if conf.Pass+conf.Warn+conf.Fail == 0 {
			return
		}
		c.val[Correctness] = conf.Score
		c.probeFails = conf.Fail
		return
	}
}

// chooseGoal is the goal asked for, else the one the first capacity
// search used; a note says which searches used another.
func (r *ranker) chooseGoal(cands []*cand, asked float64) float64 {
	goal := asked
	if goal <= 0 {
		for _, c := range cands {
			if c.run.Capacity != nil && c.run.Capacity.GoalP99MS > 0 {
				goal = c.run.Capacity.GoalP99MS
				break
			}
		}
	}
	var other []string
	for _, c := range cands {
		if cp := c.run.Capacity; cp != nil && goal > 0 && cp.GoalP99MS != goal {
			other = append(other, fmt.Sprintf("%s (%s ms)", c.name(), num(cp.GoalP99MS)))
		}
	}
	if len(other) > 0 {
		r.note(fmt.Sprintf("capacity was searched at another p99 goal than %s ms for %s: those capacities do not compare like with like", num(goal), strings.Join(other, ", ")))
	}
	return goal
}

// capacity decides where the capacity metric comes from. From the
// capacity search when every server has one (and then each server is
// ranked at a shape that was searched); otherwise from closed-loop req/s
// for every server, so all compare like with like.
func (r *ranker) capacity(cands []*cand) ([]*cand, string) {
	if r.weightOf(Capacity) == 0 || len(cands) == 0 {
		return cands, ""
	}
	searched := map[string]bool{}
	var servers []string
	for _, c := range cands {
		if !slices.Contains(servers, c.name()) {
			servers = append(servers, c.name())
		}
		if c.run.Capacity != nil {
			searched[c.name()] = true
		}
	}
	var missing []string
	for _, s := range servers {
		if !searched[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		if len(searched) == 0 {
			r.note("no capacity search in this file: capacity is ranked on closed-loop req/s (the median over trials) instead")
		} else {
			r.note(fmt.Sprintf("no capacity search for %s: capacity is ranked on closed-loop req/s for every server instead, so all compare like with like", JoinAnd(missing)))
		}
		r.folded = true
		return cands, "closed-loop req/s"
	}
	var kept []*cand
	for _, c := range cands {
		cp := c.run.Capacity
		if cp == nil {
			continue // not searched at this shape; ranked where it was
		}
		kept = append(kept, c)
		c.fromSearch = true
		if e := Unscored(c.run, Capacity); e != nil {
			c.excluded[Capacity] = e.Why
		} else {
			c.val[Capacity] = cp.RPS
			c.samples[Capacity] = c.samples[RPS]
			c.capLo, c.capHi = bracket(cp)
		}
	}
	return kept, "capacity search"
}

func searchGeneratorBound(cp *results.Capacity) bool {
	if cp.Limit == "generator-bound" {
		return true
	}
	for _, s := range cp.Steps {
		if s.GeneratorBound {
			return true
		}
	}
	return false
}

// bracket is what the search knows: the capacity passed at lo and failed
// at hi (+Inf when it never failed below its ceiling or budget).
func bracket(cp *results.Capacity) (lo, hi float64) {
	lo, hi = cp.RPS, math.Inf(1)
	for _, s := range cp.Steps {
		if !s.Pass && s.Rate > lo && s.Rate < hi {
			hi = s.Rate
		}
	}
	open := cp.Limit == "search ceiling" || strings.HasPrefix(cp.Limit, "probe budget")
	if math.IsInf(hi, 1) && !open {
		hi = lo * (1 + searchResolution)
	}
	return lo, hi
}

func (r *ranker) weightOf(key string) float64 {
	for _, w := range r.prof.Weights {
		if w.Metric == key {
			return w.Weight
		}
	}
	return 0
}

// effectiveWeights drops metrics nobody has data for (saying so) and, when
// capacity stands on req/s, folds its weight into req/s so the same
// evidence is not listed twice.
func (r *ranker) effectiveWeights(cands []*cand) error {
	var none []string
	for _, w := range r.prof.Weights {
		key := w.Metric
		if r.folded && key == Capacity {
			key = RPS
		}
		has, why := false, ""
		for _, c := range cands {
			if _, ok := c.val[key]; ok {
				has = true
			} else if e, ok := c.excluded[key]; ok && why == "" {
				why = e
			}
		}
		switch {
		case !has && why != "":
			r.note(fmt.Sprintf("%s is not scored for any server: %s", metricName(w.Metric, r.goal), why))
			continue
		case !has:
			none = append(none, w.Metric)
			continue
		}
		if i := slices.IndexFunc(r.weights, func(x results.Weight) bool { return x.Metric == key }); i >= 0 {
			r.weights[i].Weight += w.Weight
		} else {
			r.weights = append(r.weights, results.Weight{Metric: key, Weight: w.Weight})
		}
		r.total += w.Weight
	}
	if len(none) > 0 {
		verb := "has"
		if len(none) > 1 {
			verb = "have"
		}
		r.note(fmt.Sprintf("%s %s no data in this file: %s left out of the scores", JoinAnd(none), verb, plural(len(none), "its weight is", "their weights are")))
		if slices.Contains(none, Robustness) {
			// Say what that leaves unjudged: the ranking must not read as a
			// clean bill of health for a server that one slow client stalls.
			r.note("behaviour under trouble (slow clients, overload, a killed worker, reloads) was not measured: " +
				"a server that serves one request at a time, or one thread per connection, can rank well here and still be stalled by a single slow client")
		}
	}
	if len(r.weights) == 0 {
		return fmt.Errorf("profile %s (%s): none of its metrics has data in this file", r.prof.Name, FormatWeights(r.prof.Weights))
	}
	return nil
}

func metricName(key string, goal float64) string {
	m, _ := metricByKey(key)
	if key == Capacity && goal > 0 {
		return fmt.Sprintf("capacity at p99 ≤ %s ms", num(goal))
	}
	return m.Name
}

// norms returns each weighted metric's reference value among cs: the
// best, against which each candidate scores 0-1.
func (r *ranker) norms(cs []*cand) map[string]float64 {
	best := map[string]float64{}
	for _, w := range r.weights {
		m, _ := metricByKey(w.Metric)
		first := true
		for _, c := range cs {
			v, ok := c.val[w.Metric]
			if !ok {
				continue
			}
			if first || (m.HigherBetter && v > best[w.Metric]) || (!m.HigherBetter && v < best[w.Metric]) {
				best[w.Metric] = v
				first = false
			}
		}
	}
	return best
}

// unit scores one metric 0-1: the share of the best (higher is better),
// or best over value (lower is better); errors against ErrorBudget.
func unit(key string, v, best float64) float64 {
	m, _ := metricByKey(key)
	switch {
	case key == Errors:
		return math.Max(0, 1-v/ErrorBudget)
	case m.HigherBetter && best > 0:
		return v / best
	case m.HigherBetter:
		return 1 // every value is 0: all equal
	case v > 0:
		return best / v
	}
	return 1
}

// scoreOf is 100 × the weighted mean of the metrics c has data for.
func (r *ranker) scoreOf(c *cand, best map[string]float64) float64 {
	var sum, wsum float64
	for _, w := range r.weights {
		v, ok := c.val[w.Metric]
		if !ok {
			continue
		}
		sum += w.Weight * unit(w.Metric, v, best[w.Metric])
		wsum += w.Weight
	}
	if wsum == 0 {
		return 0
	}
	return 100 * sum / wsum
}

// evidence is the number of weighted metrics c is scored on.
func (r *ranker) evidence(c *cand) int {
	n := 0
	for _, w := range r.weights {
		if _, ok := c.val[w.Metric]; ok {
			n++
		}
	}
	return n
}

// bestShapes keeps one candidate per server: the shape with the most
// scored metrics, then the best score against all shapes of all servers.
func (r *ranker) bestShapes(cands []*cand) []*cand {
	best := r.norms(cands)
	for _, c := range cands {
		c.score = r.scoreOf(c, best)
	}
	var fin []*cand
	for i := 0; i < len(cands); {
		j := i
		for j < len(cands) && cands[j].name() == cands[i].name() {
			j++
		}
		pick := cands[i]
		for _, c := range cands[i+1 : j] {
			if e, pe := r.evidence(c), r.evidence(pick); e > pe || (e == pe && c.score > pick.score) {
				pick = c
			}
		}
		i = j
		if ew := r.evidenceWeight(pick); ew < MinEvidence*r.total {
			r.note(fmt.Sprintf("not ranked: %s, whose scored metrics carry only %s of the profile's weight of %s (%s)",
				pick.name(), num(ew), num(r.total), strings.Join(r.unscored(pick), "; ")))
			continue
		}
		fin = append(fin, pick)
	}
	return fin
}

// evidenceWeight is the weight of the metrics c is scored on.
func (r *ranker) evidenceWeight(c *cand) float64 {
	var ew float64
	for _, w := range r.weights {
		if _, ok := c.val[w.Metric]; ok {
			ew += w.Weight
		}
	}
	return ew
}

// unscored says which weighted metrics c is not scored on and why, one
// entry per reason: "req/s and capacity not scored: …".
func (r *ranker) unscored(c *cand) []string {
	byWhy := map[string][]string{}
	var whys []string
	for _, w := range r.weights {
		if _, ok := c.val[w.Metric]; ok {
			continue
		}
		why, ok := c.excluded[w.Metric]
		if !ok {
			why = "not measured"
		}
		if _, seen := byWhy[why]; !seen {
			whys = append(whys, why)
		}
		name := r.metricLabel(w.Metric)
		if r.folded && w.Metric == RPS && r.weightOf(Capacity) > 0 {
			name = "req/s (and capacity, which stands on it)"
		}
		byWhy[why] = append(byWhy[why], name)
	}
	var out []string
	for _, why := range whys {
		out = append(out, fmt.Sprintf("%s not scored: %s", JoinAnd(byWhy[why]), why))
	}
	return out
}

// mdiff is one metric's difference between a (higher placed) and b.
type mdiff struct {
	key       string
	a, b      float64 // values
	p         float64 // NaN when there is nothing to test
	separated bool
	points    float64 // score points the metric gives a over b (negative: b over a)
	// lo, hi bound points: the same difference taken at the ends of what
	// the data allow (span); both are points when there is nothing to
	// bound it with.
	lo, hi float64
	why    string // why a capacity difference does not count
	// measured says what single measurements rest on ("one measurement
	// each", "each scenario the median of 3 runs, ranges …"), for reasons.
	measured string
	over     string // robustness: "on average over 4 scenarios", what the values average
	// paired is a's value over b's trial by trial, when their trials ran
	// in pairs (see pairs.go); nameA and nameB say who a and b are.
	paired       *stats.Paired
	nameA, nameB string
	allZero      bool // every trial of both was 0 (no failed requests)
	// failsA, failsB: conformance probes each failed (correctness only).
	failsA, failsB int
}

type pair struct {
	diffs []mdiff
	gap   float64 // Σ points over separated metrics
	// lo, hi bound gap: Σ of the separated metrics' lo and hi, every
	// metric at the end of its interval that favours a least (lo) or most
	// (hi).
	lo, hi float64
}

// ahead is the definition of "placed ahead": the metrics the data
// separate at α add up to at least MinScoreGap points for a, even with
// each of them at the end of its interval that favours a least. Two
// servers whose separated differences pull both ways are ordered by the
// weights only when the net holds across what the data allow: 24% or 45%
// lower p99 are both "separated", and one can outweigh 43% less memory
// while the other cannot.
func (p pair) ahead() bool { return p.lo >= MinScoreGap }

// flip is the pair from b's side.
func (p pair) flip() pair {
	return pair{gap: -p.gap, lo: -p.hi, hi: -p.lo}
}

func (r *ranker) compare(a, b *cand, best map[string]float64) pair {
	var p pair
	for _, w := range r.weights {
		va, okA := a.val[w.Metric]
		vb, okB := b.val[w.Metric]
		if !okA || !okB {
			continue
		}
		d := mdiff{key: w.Metric, a: va, b: vb, p: math.NaN(), nameA: a.name(), nameB: b.name()}
		if w.Metric == Robustness {
			d.over = scenariosPhrase(a.rob.n, b.rob.n)
		}
		d.points = 100 * w.Weight * (unit(w.Metric, va, best[w.Metric]) - unit(w.Metric, vb, best[w.Metric])) / r.total
		sa, sb := a.samples[w.Metric], b.samples[w.Metric]
		d.allZero = len(sa) > 0 && len(sb) > 0 && slices.Max(sa) == 0 && slices.Max(sb) == 0 && slices.Min(sa) == 0 && slices.Min(sb) == 0
		switch {
		case a.fromSearch && w.Metric == Capacity:
			d.p, d.separated, d.why = r.capacitySeparated(a, b)
			_, d.paired = r.test(a, b, RPS)
		case w.Metric == Correctness:
			// The same exact requests to both: any difference is a
			// difference in behaviour, not noise.
			d.separated = va != vb
			d.failsA, d.failsB = a.probeFails, b.probeFails
			if !d.separated {
				d.why = "the same conformance score"
			}
		case len(sa) > 0 && len(sb) > 0:
			d.p, d.paired = r.test(a, b, w.Metric)
			d.separated = d.p < r.alpha && d.points != 0
		case w.Metric == Robustness && a.rob.repeated() && b.rob.repeated():
			// Each scenario repeated: the runs' ranges are the evidence.
			d.separated = rangesApart(va, a.robLo, a.robHi, vb, b.robLo, b.robHi)
			d.measured = fmt.Sprintf("each scenario the median of %s, %s vs %s over them",
				runsOf(min(a.rob.repeats, b.rob.repeats)), pctRange(a.robLo, a.robHi), pctRange(b.robLo, b.robHi))
			if !d.separated {
				d.why = d.measured + ": they overlap"
			}
		default: // one measurement each: only a wide gap counts
			d.separated = math.Abs(va-vb) >= CapacityMargin*math.Max(math.Abs(va), math.Abs(vb))
			d.measured = "one measurement each" // not separated: evidenceWhy says so, with the margin
		}
		d.lo, d.hi = r.span(a, b, w, d, best)
		if d.separated {
			// A separated metric counts at worst for nothing, never
			// against the side its test found.
			p.gap += d.points
			if d.points > 0 {
				p.lo, p.hi = p.lo+math.Max(d.lo, 0), p.hi+d.hi
			} else {
				p.lo, p.hi = p.lo+d.lo, p.hi+math.Min(d.hi, 0)
			}
		}
		p.diffs = append(p.diffs, d)
	}
	return p
}

// span is the range of points a metric gives a over b across what the
// data allow, holding the point value: the pairs' ratio interval for trial
// metrics, the searches' brackets for capacity (passed at one rate, failed
// at the next), the runs' ranges for trouble scenarios repeated. Single
// measurements (robustness run once, correctness, errors) have no
// interval: they span their points alone.
func (r *ranker) span(a, b *cand, w results.Weight, d mdiff, best map[string]float64) (lo, hi float64) {
	var rLo, rHi float64 // a's value over b's
	switch {
	case d.key == Capacity && a.fromSearch:
		// The brackets are one search's resolution; a search repeated
		// varies more than that (waitress 1x3: 4112, 3941 and 5150 req/s
		// in three runs), at least as much as the closed-loop trials do
		// pair by pair, so the interval is the wider of the two.
		rLo, rHi = a.capLo/b.capHi, a.capHi/b.capLo
		if pp := d.paired; pp != nil && pp.N >= 2 && pp.Ratio > 0 && d.b > 0 {
			c := d.a / d.b
			rLo, rHi = math.Min(rLo, c*pp.Lo/pp.Ratio), math.Max(rHi, c*pp.Hi/pp.Ratio)
		}
	case d.paired != nil && d.paired.N >= 2:
		rLo, rHi = d.paired.Lo, d.paired.Hi
	case d.key == Robustness && a.rob.repeated() && b.rob.repeated() && a.robHi > 0 && b.robHi > 0:
		rLo, rHi = a.robLo/b.robHi, a.robHi/b.robLo // b.robLo = 0: +Inf, which at leaves out
	default:
		return d.points, d.points
	}
	at := func(ratio float64) float64 {
		// Both values moved apart (or together) about their geometric
		// mean, so the result does not depend on which one is held.
		if !(ratio > 0) || math.IsInf(ratio, 0) || math.IsNaN(ratio) || d.a <= 0 || d.b <= 0 {
			return math.NaN()
		}
		m, s := math.Sqrt(d.a*d.b), math.Sqrt(ratio)
		return 100 * w.Weight * (unit(d.key, m*s, best[d.key]) - unit(d.key, m/s, best[d.key])) / r.total
	}
	lo, hi = d.points, d.points
	for _, e := range []float64{at(rLo), at(rHi)} {
		if !math.IsNaN(e) {
			lo, hi = math.Min(lo, e), math.Max(hi, e)
		}
	}
	return lo, hi
}

// Trail is how far one ranked server's score trails the first's.
type Trail struct {
	Server string
	Run    results.Run // the run it is ranked at
	Tied   bool        // placed level with the first (too close to call)
	// Gap is the score difference at the medians; Least is the least it
	// can be across what the data allow: every weighted metric, separated
	// or not, at the end of its interval that favours the trailing server
	// most (the pairs' ratio interval, the capacity searches' brackets;
	// single measurements at their value).
	Gap, Least float64
}

// Trails ranks f and says, for every server below the first, how far it
// trails. Package plan's reach rule reads Least: a contender is cut only
// when even the gap the data allow at its most favourable is more than
// robustness could make up. With 3 trials each the medians' gap is noise
// enough to cut a server the exhaustive run ties for first (uWSGI, 11.8
// points behind waitress against 11.3 of room, in one default run).
func Trails(f *results.File, o Options) (leader string, out []Trail, err error) {
	rw, err := rankWith(f, o)
	if err != nil || len(rw.fin) < 2 {
		return "", nil, err
	}
	r, fin := rw.r, rw.fin
	best := r.norms(fin)
	for j := 1; j < len(fin); j++ {
		p := r.compare(fin[0], fin[j], best)
		gap := fin[0].score - fin[j].score
		least := gap
		for _, d := range p.diffs {
			least -= d.points - d.lo // how much less the leader's edge can be
		}
		out = append(out, Trail{Server: fin[j].name(), Run: fin[j].run,
			Tied: rw.ranking[j].Position == rw.ranking[0].Position,
			Gap:  gap, Least: least})
	}
	return fin[0].name(), out, nil
}

// capacitySeparated: a capacity search is one measurement, so a capacity
// difference counts only when the searches do not overlap (one server
// held a rate the other failed), the rate the higher one held is at least
// CapacityMargin above the rate the lower one failed, and the repeated
// closed-loop trials agree at α. The p is that of the trials.
func (r *ranker) capacitySeparated(a, b *cand) (p float64, separated bool, why string) {
	va, vb := a.val[Capacity], b.val[Capacity]
	hi, lo := a, b
	if vb > va {
		hi, lo = b, a
	}
	p = math.NaN()
	if len(a.samples[RPS]) > 0 && len(b.samples[RPS]) > 0 {
		p, _ = r.test(a, b, RPS)
	}
	switch {
	case va == vb:
		return p, false, "the same"
	case hi.capLo < lo.capHi:
		return p, false, "within the searches' resolution"
	case !(hi.capLo >= (1+CapacityMargin)*lo.capHi):
		// At the ends of the brackets that favour the higher one least:
		// the rate it held against the rate the other failed. A search
		// repeated moves by more than its bracket, so the point values
		// 10% apart are not enough (3,995 and 4,430 req/s, brackets
		// 3,995–4,095 and 4,430–4,547, separated uWSGI from waitress in one
		// ten-minute run; the exhaustive run had them 4% apart).
		return p, false, fmt.Sprintf("less than %.0f%% apart across the searches' brackets", CapacityMargin*100)
	case math.IsNaN(p):
		return p, false, "no repeated trials to confirm it"
	case p >= r.alpha:
		return p, false, "the closed-loop trials do not confirm it"
	case !(stats.Median(hi.samples[RPS]) > stats.Median(lo.samples[RPS])):
		return p, false, "the closed-loop trials point the other way"
	}
	return p, true, ""
}
