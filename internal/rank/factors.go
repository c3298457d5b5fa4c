package rank

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
)

// The differentiating factors: what separates these servers for this app,
// in order of how much each moved the ranking.
//
// A factor is a piece of the evidence the ranking already scores: one or
// more weighted metrics (capacity, p99, memory …), a group of trouble
// scenarios inside the robustness metric (slow clients, a killed worker),
// a group of conformance probes inside correctness (keep-alive), or the
// parallelism ceiling that carries throughput to the target's cores. Its
// effect is measured, not asserted: the servers are ranked again with the
// factor left out (weight 0, the scenarios or probes dropped from their
// mean, or throughput not credited for parallelism) and with it doubled
// (weight ×2, the scenarios or probes counted twice, the projection factor
// squared), and each variation is compared with the ranking as made:
// whether the winner changes, how many places servers move (the sum of
// |Δ position|), and how much their score gaps to the leader change (mean
// |Δ gap|, points of 100). Factors are ordered by winner changes, then
// places moved, then gap change, summed over both variations.

// Factor keys, in the order the issue names them (and the order used for
// factors whose effects are equal).
const (
	FactorParallelism = "parallelism"
	FactorCapacity    = "capacity"
	FactorLatency     = "latency"
	FactorMemory      = "memory"
	FactorSlowClients = "slow-clients"
	FactorKeepAlive   = "keep-alive"
	FactorCrash       = "crash-recovery"
	FactorConformance = "conformance"
	FactorHung        = "hung-request"
	FactorOverload    = "overload"
	FactorReload      = "reload"
	FactorCPU         = "cpu"
	FactorErrors      = "errors"
)

// Evidence names where in a report a factor's numbers are, for renderers
// to turn into links: each renderer maps these to its own anchors.
const (
	EvidenceCeilings    = "ceilings"    // the target machine's parallelism ceilings
	EvidenceThroughput  = "throughput"  // capacity and req/s
	EvidenceLatency     = "latency"     // latency percentiles
	EvidenceMemory      = "memory"      // memory
	EvidenceRuns        = "runs"        // the table of every run (CPU, errors)
	EvidenceRobustness  = "robustness"  // the trouble scenarios
	EvidenceConformance = "conformance" // the conformance probes
)

// factorDef says which evidence a factor is and how to vary it.
type factorDef struct {
	key, name, what, evidence string
	short, unit               string   // a column head: "p99", "ms"
	metrics                   []string // weighted metrics it is (capacity also covers rps)
	scenarios                 []string // trouble scenarios within robustness
	probes                    []string // conformance probes within correctness
	otherProbes               bool     // every probe not claimed by another factor
	projection                bool     // the parallelism credit in projected throughput
}

// keepAliveProbes are the conformance cases about connection reuse.
var keepAliveProbes = []string{"keep-alive", "pipelining", "chunked-trailer"}

var factorDefs = []factorDef{
	{key: FactorParallelism, short: "parallelism", unit: "cores", name: "concurrency model and parallelism ceiling", evidence: EvidenceCeilings, projection: true,
		what: "the cores the server's process tree could use with every CPU allowed; it carries throughput to the target's cores"},
	{key: FactorCapacity, short: "capacity", unit: "req/s", name: "capacity", evidence: EvidenceThroughput, metrics: []string{Capacity, RPS},
		what: "the highest rate served with p99 under the goal (closed-loop req/s where there was no search), projected to the target's cores when they are more than were measured"},
	{key: FactorLatency, short: "p99", unit: "ms", name: "tail latency", evidence: EvidenceLatency, metrics: []string{P99, P50},
		what: "p99 latency of the closed-loop trials (p50 too where the profile weights it)"},
	{key: FactorMemory, short: "memory", unit: "MiB", name: "memory at the ranked shape", evidence: EvidenceMemory, metrics: []string{Memory},
		what: "peak memory of the whole process tree (PSS) at the shape ranked"},
	{key: FactorSlowClients, short: "slow clients", unit: "kept · halved by", name: "slow-client tolerance", evidence: EvidenceRobustness, scenarios: []string{"slow-headers", "slow-body", "slow-threshold"},
		what: "the throughput ordinary clients kept while slow clients trickled headers or a body, and how many slow clients halve it"},
	{key: FactorKeepAlive, short: "keep-alive", unit: "passed", name: "keep-alive behaviour", evidence: EvidenceConformance, probes: keepAliveProbes,
		what: "the probes on connection reuse: keep-alive, pipelining, a connection kept usable after a chunked trailer"},
	{key: FactorCrash, short: "crash", unit: "kept", name: "crash recovery", evidence: EvidenceRobustness, scenarios: []string{"worker-killed"},
		what: "the throughput kept when the busiest worker is killed mid-load"},
	{key: FactorConformance, short: "conformance", unit: "passed", name: "conformance", evidence: EvidenceConformance, otherProbes: true,
		what: "the other HTTP/1.1, smuggling and PEP 3333 probes"},
	{key: FactorHung, short: "hung request", unit: "kept", name: "a hung request", evidence: EvidenceRobustness, scenarios: []string{"hung-request"},
		what: "the throughput kept while one request hangs in the app"},
	{key: FactorOverload, short: "overload", unit: "kept", name: "overload", evidence: EvidenceRobustness, scenarios: []string{"overload"},
		what: "the throughput kept when offered twice the server's capacity"},
	{key: FactorReload, short: "reload", unit: "kept", name: "graceful reload", evidence: EvidenceRobustness, scenarios: []string{"reload"},
		what: "the throughput kept while new app code is deployed"},
	{key: FactorCPU, short: "CPU", unit: "ms/1k", name: "CPU per request", evidence: EvidenceRuns, metrics: []string{CPU},
		what: "server CPU milliseconds per 1000 responses"},
	{key: FactorErrors, short: "errors", unit: "failed", name: "failed requests", evidence: EvidenceRuns, metrics: []string{Errors},
		what: "the share of requests that failed in the trials"},
}

// FactorTable is the differentiating factors of one ranking: what a
// renderer needs to say what separates the servers, in order.
type FactorTable struct {
	Profile  string
	Workload string
	// Servers are the ranked servers in ranking order.
	Servers []FactorServer
	Winners []string // the servers in first place
	// Factors are those with data for some server, ordered by effect.
	Factors []Factor
	// Unmeasured are the factors nothing in the file measured.
	Unmeasured []Factor
	// Profiles is the winner under each built-in profile.
	Profiles []ProfileWinner
	// Restated is set when the file's stored ranking differs from the
	// one these factors were measured against (it was made by another
	// version of the rules): Servers is then the ranking as this version
	// makes it, and a reader must be told.
	Restated bool
}

// FactorServer is one ranked server.
type FactorServer struct {
	Server   string
	Shape    results.Shape
	Model    string // its concurrency model
	Position int
	Score    float64
}

// Factor is one factor, its measured values and its measured effect.
type Factor struct {
	Key, Name string
	Short     string // a column head: "p99"
	Unit      string // of FactorValue.Short: "ms"
	What      string // what was measured, in plain words
	Evidence  string // Evidence* token: where its numbers are
	// Weighting says how the profile counts it ("weight 4 of 12", "part
	// of robustness, weight 1 of 12", "not weighted by this profile").
	Weighting string
	Weighted  bool // the profile counts it at all
	// Values are per server, in the order of FactorTable.Servers.
	Values           []FactorValue
	LeftOut, Doubled Variation
}

// FactorValue is one server's measured value on a factor.
type FactorValue struct {
	Has   bool
	Value float64 // in the factor's own unit
	Text  string  // the value in words: "1943 req/s", "kept 31%"
	Short string  // the value in the factor's Unit, for a table cell: "1943"
	// Score is the value against the best of the ranked servers, 0-1
	// (1 = best), the same scale the ranking scores metrics on.
	Score float64
	// Separated says the data separate this server from the next one in
	// the ranking on this factor (a test at α, or a wide enough gap for
	// single measurements; see separatedOn).
	Separated bool
	Why       string // why there is no value
	// repeated: a trouble scenarios' value, each scenario the median of
	// several runs; lo and hi are the value at their least and most.
	repeated bool
	lo, hi   float64
}

// Variation is the ranking with a factor left out or doubled, against the
// ranking as made.
type Variation struct {
	Winners       []string
	WinnerChanged bool
	Displaced     int     // Σ |Δ position| over servers ranked both times
	GapChange     float64 // mean |Δ (leader's score − score)|, points
	Moves         []Move  // servers whose place changed, in ranking order
	Err           string  // the variation could not be ranked
}

// Move is one server's change of place; To is 0 when it was not ranked.
type Move struct {
	Server   string
	From, To int
}

// ProfileWinner is who wins under one built-in profile.
type ProfileWinner struct {
	Profile, Description string
	Winners              []string
	Headline             string
	Err                  string
}

// effect is a factor's ordering key: winner changes, places moved and gap
// change over both variations, largest first.
func (f Factor) effect() (int, int, float64) {
	w := 0
	for _, v := range []Variation{f.LeftOut, f.Doubled} {
		if v.WinnerChanged {
			w++
		}
	}
	return w, f.LeftOut.Displaced + f.Doubled.Displaced, f.LeftOut.GapChange + f.Doubled.GapChange
}

// Moved says whether varying the factor changed anything at all.
func (f Factor) Moved() bool {
	w, d, g := f.effect()
	return w > 0 || d > 0 || g >= 0.05
}

// FactorsFor is Factors for the ranking f.Verdict records (the default
// profile when it has none).
func FactorsFor(f *results.File) (*FactorTable, error) {
	t, err := Factors(f, storedOptions(f))
	if err == nil && f.Ranking != nil {
		t.Restated = len(f.Ranking) != len(t.Servers)
		for i := 0; !t.Restated && i < len(f.Ranking); i++ {
			a, b := f.Ranking[i], t.Servers[i]
			t.Restated = a.Server != b.Server || a.Position != b.Position || math.Abs(a.Score-b.Score) > 0.05
		}
	}
	return t, err
}

// Factors measures what each factor did to the ranking with options o
// (see the comment at the top of this file). It reads f and never
// changes it.
func Factors(f *results.File, o Options) (*FactorTable, error) {
	base, err := rankWith(f, o)
	if err != nil {
		return nil, err
	}
	prof, _ := ParseProfile(o.Profile)
	wl := base.verdict.Workload
	o.Workload, o.GoalMS, o.Alpha = wl, base.verdict.GoalP99MS, base.r.alpha
	t := &FactorTable{Profile: prof.Name, Workload: wl, Winners: winners(base.ranking)}
	for i, rk := range base.ranking {
		t.Servers = append(t.Servers, FactorServer{Server: rk.Server, Shape: rk.Shape, Model: base.fin[i].run.Model, Position: rk.Position, Score: rk.Score})
	}
	for _, d := range factorDefs {
		fa := Factor{Key: d.key, Name: d.name, Short: d.short, Unit: d.unit, What: d.what, Evidence: d.evidence}
		fa.Values = d.values(base)
		has := slices.ContainsFunc(fa.Values, func(v FactorValue) bool { return v.Has })
		fa.Weighting, fa.Weighted = d.weighting(base.r, prof)
		if !has {
			t.Unmeasured = append(t.Unmeasured, fa)
			continue
		}
		fa.LeftOut = d.vary(f, o, prof, 0, base.ranking)
		fa.Doubled = d.vary(f, o, prof, 2, base.ranking)
		t.Factors = append(t.Factors, fa)
	}
	sort.SliceStable(t.Factors, func(i, j int) bool {
		wi, di, gi := t.Factors[i].effect()
		wj, dj, gj := t.Factors[j].effect()
		if wi != wj {
			return wi > wj
		}
		if di != dj {
			return di > dj
		}
		return math.Round(gi*10) > math.Round(gj*10)
	})
	for _, p := range Profiles() {
		pw := ProfileWinner{Profile: p.Name, Description: p.Description}
		po := o
		po.Profile = p.Name
		if out, err := rankWith(f, po); err != nil {
			pw.Err = err.Error()
		} else {
			pw.Winners, pw.Headline = winners(out.ranking), out.verdict.Headline
		}
		t.Profiles = append(t.Profiles, pw)
	}
	return t, nil
}

func winners(rk []results.Rank) []string {
	var out []string
	for _, r := range rk {
		if r.Position == 1 {
			out = append(out, r.Server)
		}
	}
	return out
}

// weighting says how the profile counts the factor.
func (d factorDef) weighting(r *ranker, prof Profile) (string, bool) {
	total := 0.0
	for _, w := range prof.Weights {
		total += w.Weight
	}
	of := func(key string) float64 {
		for _, w := range prof.Weights {
			if w.Metric == key {
				return w.Weight
			}
		}
		return 0
	}
	switch {
	case d.projection:
		if !r.projected() {
			return "not used: throughput was measured on the target's cores, so it already includes the parallelism", false
		}
		wt := of(Capacity) + of(RPS)
		return fmt.Sprintf("multiplies projected throughput, weight %s of the profile's %s", num(wt), num(total)), wt > 0
	case len(d.metrics) > 0:
		wt := 0.0
		for _, m := range d.metrics {
			wt += of(m)
		}
		if wt == 0 {
			return "not weighted by this profile", false
		}
		return fmt.Sprintf("weight %s of the profile's %s", num(wt), num(total)), true
	case len(d.scenarios) > 0:
		if wt := of(Robustness); wt > 0 {
			return fmt.Sprintf("part of robustness, weight %s of the profile's %s", num(wt), num(total)), true
		}
		return "part of robustness, which this profile does not weight", false
	default:
		if wt := of(Correctness); wt > 0 {
			return fmt.Sprintf("part of correctness, weight %s of the profile's %s", num(wt), num(total)), true
		}
		return "part of correctness, which this profile does not weight", false
	}
}

// vary ranks again with the factor multiplied by mult (0: left out, 2:
// doubled) and compares with base.
func (d factorDef) vary(f *results.File, o Options, prof Profile, mult float64, base []results.Rank) Variation {
	g, vo := f, o
	scale := 1.0
	switch {
	case d.projection:
		g = scaleProjection(f, mult)
	case len(d.metrics) > 0:
		var ws []results.Weight
		for _, w := range prof.Weights {
			if slices.Contains(d.metrics, w.Metric) {
				w.Weight *= mult
			}
			if w.Weight > 0 {
				ws = append(ws, w)
			}
		}
		if len(ws) == 0 {
			return Variation{Err: "nothing else is weighted: there is no ranking without it"}
		}
		vo.Profile = FormatWeights(ws)
		// A score is a weighted mean, so changing one weight rescales
		// every gap even when all servers score the same on the factor;
		// gaps are compared in the base ranking's weight units, so such a
		// factor moves nothing.
		scale = totalWeight(ws) / totalWeight(prof.Weights)
	case len(d.scenarios) > 0:
		g = weighScenarios(f, d.scenarios, mult)
	default:
		g = weighProbes(f, d, mult)
	}
	out, err := rankWith(g, vo)
	if err != nil {
		return Variation{Err: firstLine(err.Error())}
	}
	return compareRankings(base, out.ranking, scale)
}

func totalWeight(ws []results.Weight) float64 {
	var t float64
	for _, w := range ws {
		t += w.Weight
	}
	return t
}

// compareRankings measures how far rk moved from base; rk's scores are
// multiplied by scale to put them in base's units (see vary).
func compareRankings(base, rk []results.Rank, scale float64) Variation {
	v := Variation{Winners: winners(rk)}
	bw := winners(base)
	v.WinnerChanged = !sameSet(bw, v.Winners)
	pos, score := map[string]int{}, map[string]float64{}
	for _, r := range rk {
		pos[r.Server], score[r.Server] = r.Position, r.Score
	}
	top := func(xs []results.Rank) float64 {
		if len(xs) == 0 {
			return 0
		}
		return xs[0].Score
	}
	bt, vt := top(base), top(rk)
	var gaps float64
	n := 0
	for _, r := range base {
		p, ok := pos[r.Server]
		if !ok {
			v.Moves = append(v.Moves, Move{Server: r.Server, From: r.Position})
			continue
		}
		if p != r.Position {
			v.Displaced += abs(p - r.Position)
			v.Moves = append(v.Moves, Move{Server: r.Server, From: r.Position, To: p})
		}
		gaps += math.Abs(scale*(vt-score[r.Server]) - (bt - r.Score))
		n++
	}
	if n > 0 {
		v.GapChange = math.Round(gaps/float64(n)*100) / 100
	}
	return v
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// scaleProjection raises every run's projection factor to the power k:
// k = 0 credits no server for parallelism (throughput as measured per
// core), k = 2 counts the ceiling twice. f itself is not changed.
func scaleProjection(f *results.File, k float64) *results.File {
	g := *f
	g.Runs = slices.Clone(f.Runs)
	for i := range g.Runs {
		p := g.Runs[i].Projection
		if p == nil {
			p = projectionOf(f, g.Runs[i])
		}
		if p == nil || !p.Projected {
			continue
		}
		q := *p
		q.Factor = math.Pow(p.Factor, k)
		g.Runs[i].Projection = &q
	}
	return &g
}

// weighScenarios counts the named trouble scenarios mult times in each
// server's robustness mean. The stored score is corrected by the change
// the weights make, so mult = 1 reproduces it exactly; when nothing is
// left to average, the server has no robustness value.
func weighScenarios(f *results.File, ids []string, mult float64) *results.File {
	g := *f
	g.Robustness = slices.Clone(f.Robustness)
	for i := range g.Robustness {
		rob := &g.Robustness[i]
		plain, _, ok := retainedMean(rob.Scenarios, nil, 1)
		if !ok {
			continue
		}
		weighed, n, ok := retainedMean(rob.Scenarios, ids, mult)
		if !ok || n == 0 {
			rob.Scenarios = nil // nothing scored is left
			continue
		}
		rob.Score = rob.Score + weighed - plain
	}
	return &g
}

// retainedMean is the mean of the scored scenarios' Retained, those named
// in ids weighted mult; n is the total weight.
func retainedMean(scs []results.TroubleCase, ids []string, mult float64) (mean, n float64, ok bool) {
	var sum float64
	for _, sc := range scs {
		if sc.Error != "" || sc.Unscored {
			continue
		}
		ok = true
		w := 1.0
		if slices.Contains(ids, sc.ID) {
			w = mult
		}
		sum += w * sc.Retained
		n += w
	}
	if n == 0 {
		return 0, 0, ok
	}
	return sum / n, n, ok
}

// claims says whether a probe belongs to factor d.
func (d factorDef) claims(id string) bool {
	if d.otherProbes {
		return !slices.Contains(keepAliveProbes, id)
	}
	return slices.Contains(d.probes, id)
}

// weighProbes counts d's conformance probes mult times in each server's
// score ((pass + warn/2) / (pass + warn + fail)), corrected like
// weighScenarios so that mult = 1 gives the stored score.
func weighProbes(f *results.File, d factorDef, mult float64) *results.File {
	g := *f
	g.Conformance = slices.Clone(f.Conformance)
	for i := range g.Conformance {
		c := &g.Conformance[i]
		plain, _ := probeScore(c.Cases, func(string) float64 { return 1 })
		weighed, n := probeScore(c.Cases, func(id string) float64 {
			if d.claims(id) {
				return mult
			}
			return 1
		})
		if math.IsNaN(plain) {
			continue // no cases recorded: nothing to split
		}
		if n == 0 {
			c.Pass, c.Warn, c.Fail = 0, 0, 0 // nothing scored is left
			continue
		}
		c.Score += weighed - plain
	}
	return &g
}

// probeScore is the weighted probe score of cases, NaN when none counts.
func probeScore(cases []results.ProbeCase, weight func(id string) float64) (score, n float64) {
	var sum float64
	counted := false
	for _, pc := range cases {
		var v float64
		switch pc.Outcome {
		case "pass":
			v = 1
		case "warn":
			v = 0.5
		case "fail":
		default:
			continue
		}
		counted = true
		w := weight(pc.ID)
		sum += w * v
		n += w
	}
	switch {
	case !counted:
		return math.NaN(), 0
	case n == 0:
		return 0, 0
	}
	return sum / n, n
}

// Describe says what a variation did, in plain words.
func (v Variation) Describe() string {
	if v.Err != "" {
		return "cannot be ranked: " + v.Err
	}
	var parts []string
	if v.WinnerChanged {
		parts = append(parts, "first place goes to "+JoinAnd(v.Winners))
	} else {
		parts = append(parts, "the same winner")
	}
	switch {
	case v.Displaced == 0 && len(v.Moves) == 0:
		parts = append(parts, "no server changes place")
	default:
		var ms []string
		for _, m := range v.Moves {
			if m.To == 0 {
				ms = append(ms, fmt.Sprintf("%s %d→not ranked", m.Server, m.From))
			} else {
				ms = append(ms, fmt.Sprintf("%s %d→%d", m.Server, m.From, m.To))
			}
		}
		if len(ms) > 4 {
			ms = append(ms[:4], fmt.Sprintf("%d more", len(ms)-4))
		}
		parts = append(parts, fmt.Sprintf("places move by %d in all (%s)", v.Displaced, strings.Join(ms, ", ")))
	}
	parts = append(parts, fmt.Sprintf("gaps to the leader change by %.1f points on average", v.GapChange))
	return strings.Join(parts, "; ")
}

// storedOptions are the options of the ranking f.Verdict records (the
// default profile when it has none).
func storedOptions(f *results.File) Options {
	o := Options{}
	if v := f.Verdict; v != nil {
		o = Options{Profile: v.Profile, GoalMS: v.GoalP99MS, Workload: v.Workload, Alpha: v.Alpha}
		if v.Profile == "custom" || v.Profile == "" {
			o.Profile = FormatWeights(v.Weights)
		}
	}
	return o
}

// Restate ranks f again by this version's rules, on the profile, goal,
// workload and α its stored verdict names: a file written by an older
// version keeps the ranking that version made.
func Restate(f *results.File) ([]results.Rank, *results.Verdict, error) {
	return RankWith(f, storedOptions(f))
}

// RestateFirmness is Firmness on the options Restate ranks with.
func RestateFirmness(f *results.File, resamples int) (*results.Firmness, error) {
	return Firmness(f, storedOptions(f), resamples)
}
