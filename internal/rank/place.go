package rank

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// place orders the finalists by score, groups ties, and explains.
func (r *ranker) place(fin []*cand) []results.Rank {
	best := r.norms(fin)
	for _, c := range fin {
		c.score = r.scoreOf(c, best)
	}
	sort.SliceStable(fin, func(i, j int) bool {
		if fin[i].score != fin[j].score {
			return fin[i].score > fin[j].score
		}
		return fin[i].name() < fin[j].name()
	})
	n := len(fin)
	comparePairs := func() [][]pair {
		pairs := make([][]pair, n)
		for i := range fin {
			pairs[i] = make([]pair, n)
			for j := i + 1; j < n; j++ {
				pairs[i][j] = r.compare(fin[i], fin[j], best)
			}
		}
		return pairs
	}
	pairs := comparePairs()
	// Groups are layers: the first holds every server no other is placed
	// ahead of, the next every server only the first's are ahead of, and
	// so on; a group shares a position (1, 1, 3 …). Ties need not be
	// transitive, and joining only the group just above let a server tied
	// with the leader fall into the second place behind a server the
	// leader was ahead of (the exhaustive run of 2026-12-04: tornado 3×1
	// ahead of gunicorn-sync, both too close to call against waitress and
	// uWSGI, and a headline that named tornado alone).
	layer := layers(pairs)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return layer[order[x]] < layer[order[y]] })
	if !sort.IntsAreSorted(order) {
		fin, layer = permute(fin, order), permute(layer, order)
		pairs = comparePairs()
	}
	group := layer
	var groups [][]int
	for i := range fin {
		if group[i] == len(groups) {
			groups = append(groups, nil)
		}
		groups[group[i]] = append(groups[group[i]], i)
	}
	r.sampleSizeNote(fin, pairs)
	pos := make([]int, n)
	for i := range fin {
		pos[i] = groups[group[i]][0] + 1
	}
	out := make([]results.Rank, n)
	for i, c := range fin {
		rk := results.Rank{
			Position: pos[i],
			Server:   c.name(), Shape: c.run.Shape, Workload: c.run.Workload,
			Score:   math.Round(c.score*10) / 10,
			Metrics: r.metricsOf(c),
		}
		for _, j := range groups[group[i]] {
			if j != i {
				rk.TiedWith = append(rk.TiedWith, fin[j].name())
			}
		}
		rk.Reasons = r.reasons(i, fin, pairs, group, pos)
		out[i] = rk
	}
	return out
}

// layers gives each server, in score order, its layer: 0 for those no
// other server is placed ahead of, 1 for those only layer-0 servers are
// ahead of, and so on. A server is placed ahead only of one with a lower
// score (pair.ahead), so pairs[j][i] with j < i is every relation there is.
func layers(pairs [][]pair) []int {
	n := len(pairs)
	layer := make([]int, n)
	left := make([]bool, n) // not yet in a layer
	for i := range left {
		left[i] = true
	}
	for k, done := 0, 0; done < n; k++ {
		var this []int
		for i := range n {
			if !left[i] {
				continue
			}
			free := true
			for j := range i {
				if left[j] && pairs[j][i].ahead() {
					free = false
					break
				}
			}
			if free {
				this = append(this, i)
			}
		}
		for _, i := range this {
			layer[i], left[i] = k, false
		}
		done += len(this)
	}
	return layer
}

// permute is xs in the order given by the indexes in order.
func permute[T any](xs []T, order []int) []T {
	out := make([]T, len(xs))
	for k, i := range order {
		out[k] = xs[i]
	}
	return out
}

// view is the pair of i and j from i's side.
func view(pairs [][]pair, i, j int) pair {
	if i < j {
		return pairs[i][j]
	}
	p := pairs[j][i]
	f := p.flip()
	for _, d := range p.diffs {
		d.a, d.b, d.points = d.b, d.a, -d.points
		d.lo, d.hi = -d.hi, -d.lo
		d.failsA, d.failsB = d.failsB, d.failsA
		d.nameA, d.nameB, d.paired = d.nameB, d.nameA, flipPaired(d.paired)
		f.diffs = append(f.diffs, d)
	}
	return f
}

func (r *ranker) reasons(i int, fin []*cand, pairs [][]pair, group, pos []int) []string {
	var out []string
	c := fin[i]
	// Behind: the nearest server above that is ahead of it.
	for j := i - 1; j >= 0; j-- {
		if group[j] < group[i] && pairs[j][i].ahead() {
			out = append(out, fmt.Sprintf("behind %s: %s", fin[j].name(), r.describe(view(pairs, i, j), true)))
			break
		}
	}
	// Tied: its group first, then servers placed elsewhere that it still
	// cannot be told apart from (ties need not be transitive).
	var level, alsoLevel []int
	for j := range fin {
		if j == i {
			continue
		}
		same := group[j] == group[i]
		if !same && (view(pairs, i, j).ahead() || view(pairs, j, i).ahead()) {
			continue
		}
		p := view(pairs, i, j)
		if countSeparated(p) == 0 {
			if same {
				level = append(level, j)
			} else {
				alsoLevel = append(alsoLevel, j)
			}
			continue
		}
		prefix := "tied with " + fin[j].name()
		if !same {
			prefix = fmt.Sprintf("also too close to call against %s (place %d)", fin[j].name(), pos[j])
		}
		out = append(out, prefix+": "+r.tieWhy(p, fin[j].name()))
	}
	sepWord := fmt.Sprintf("no weighted metric separates them at α = %v", r.alpha)
	if len(level) > 0 {
		s := "tied with " + JoinAnd(names(fin, level)) + ": " + sepWord
		if u := r.unclearList(view(pairs, i, level[0]).diffs); len(level) == 1 && u != "" {
			s += " — " + u
		}
		out = append(out, s)
	}
	if len(alsoLevel) > 0 {
		var ns []string
		for _, j := range alsoLevel {
			ns = append(ns, fmt.Sprintf("%s (place %d)", fin[j].name(), pos[j]))
		}
		out = append(out, "also too close to call against "+JoinAnd(ns)+": "+sepWord)
	}
	// Ahead: the nearest server below that it is ahead of.
	for j := i + 1; j < len(fin); j++ {
		if group[j] > group[i] && pairs[i][j].ahead() {
			out = append(out, fmt.Sprintf("ahead of %s: %s", fin[j].name(), r.describe(pairs[i][j], false)))
			break
		}
	}
	// What it was not scored on, and why.
	out = append(out, r.unscored(c)...)
	if v, ok := c.val[Capacity]; ok && c.fromSearch && v == 0 {
		out = append(out, fmt.Sprintf("no rate its capacity search tried met p99 ≤ %s ms", num(r.goal)))
	}
	if c.shapes > 1 {
		if c.fromSearch {
			out = append(out, fmt.Sprintf("ranked at %s, where its capacity was searched (%d shapes measured)", c.run.Shape, c.shapes))
		} else {
			out = append(out, fmt.Sprintf("ranked at %s, the best of its %d measured shapes", c.run.Shape, c.shapes))
		}
	}
	return out
}

func names(fin []*cand, idx []int) []string {
	var out []string
	for _, j := range idx {
		out = append(out, fin[j].name())
	}
	return out
}

func countSeparated(p pair) int {
	n := 0
	for _, d := range p.diffs {
		if d.separated {
			n++
		}
	}
	return n
}

// tieWhy explains a tie where the data do separate some metrics.
func (r *ranker) tieWhy(p pair, other string) string {
	if (p.gap >= MinScoreGap && p.lo < MinScoreGap) || (p.gap <= -MinScoreGap && p.hi > -MinScoreGap) {
		// Ahead at the measured values, not across what the data allow.
		who, lo, hi := "it", p.lo, p.hi
		if p.gap < 0 {
			who, lo, hi = other, -p.hi, -p.lo
		}
		return fmt.Sprintf("what the data separate puts %s ahead by %.1f points at the measured values, but within the differences' intervals its lead ranges from %s to %s points, short of the %v needed at its low end: %s",
			who, math.Floor(math.Abs(p.gap)*10)/10, signed(lo), signed(hi), MinScoreGap, r.describe(p, p.gap < 0))
	}
	if p.gap <= -MinScoreGap {
		return fmt.Sprintf("what the data separate favours %s despite its lower score: %s", other, r.describe(p, true))
	}
	var pro, con int
	for _, d := range p.diffs {
		if d.separated && d.points > 0 {
			pro++
		} else if d.separated && d.points < 0 {
			con++
		}
	}
	if (pro == 0 || con == 0) && p.gap >= MinScoreGap {
		// The separated evidence favours this one, but what the data cannot
		// separate gives the other the higher score: neither order is proven.
		return fmt.Sprintf("what the data separate favours it by %.1f points, yet %s scores higher overall: %s",
			math.Floor(p.gap*10)/10, other, r.describe(p, false))
	}
	if pro == 0 || con == 0 {
		who := "it"
		if p.gap < 0 {
			who = other
		}
		return fmt.Sprintf("what the data separate puts %s ahead by only %.1f points, under the %v needed: %s", who, math.Floor(math.Abs(p.gap)*10)/10, MinScoreGap, r.describe(p, p.gap < 0))
	}
	return "the differences pull both ways: " + r.describe(p, false)
}

// describe says how a compares to b: the separated differences, largest
// first, then what the data cannot tell apart. For a server placed behind
// b, what puts it behind comes first.
func (r *ranker) describe(p pair, behind bool) string {
	var pro, con, unclear []mdiff
	for _, d := range p.diffs {
		switch {
		case d.separated && d.points >= 0:
			pro = append(pro, d)
		case d.separated:
			con = append(con, d)
		default:
			unclear = append(unclear, d)
		}
	}
	byPoints := func(ds []mdiff) {
		sort.SliceStable(ds, func(i, j int) bool { return math.Abs(ds[i].points) > math.Abs(ds[j].points) })
	}
	byPoints(pro)
	byPoints(con)
	first, second, join := pro, con, "but "
	if behind {
		first, second, join = con, pro, "though "
	}
	var parts []string
	if len(first) > 0 {
		parts = append(parts, r.phrases(first))
	}
	if len(second) > 0 {
		if len(first) == 0 {
			join = ""
		}
		parts = append(parts, join+r.phrases(second))
	}
	if u := r.unclear(unclear); u != "" {
		parts = append(parts, u)
	}
	if len(parts) == 0 {
		return "no metric in common to compare"
	}
	return strings.Join(parts, "; ")
}

func (r *ranker) phrases(ds []mdiff) string {
	var s []string
	for _, d := range ds {
		s = append(s, r.phrase(d))
	}
	return strings.Join(s, ", ")
}

func (r *ranker) unclear(ds []mdiff) string {
	if u := r.unclearList(ds); u != "" {
		return "no clear difference in " + u
	}
	return ""
}

func (r *ranker) unclearList(ds []mdiff) string {
	var s []string
	for _, d := range ds {
		if d.separated || (d.key == Errors && d.allZero) {
			continue // "no clear difference in failed requests" when neither had any says nothing
		}
		why := evidenceWhy(d)
		if pp := r.pairedPhrase(d); pp != "" {
			why += "; " + pp
		}
		s = append(s, fmt.Sprintf("%s (%s)", r.metricLabel(d.key), why))
	}
	return strings.Join(s, ", ")
}

func evidenceWhy(d mdiff) string {
	switch {
	case d.why != "" && !math.IsNaN(d.p):
		return fmt.Sprintf("%s; req/s p = %s", d.why, stats.FormatP(d.p))
	case d.why != "":
		return d.why
	case math.IsNaN(d.p):
		return "one measurement each, under " + pct(CapacityMargin) + " apart"
	}
	return "p = " + stats.FormatP(d.p)
}

// phrase says one separated difference in words, from a's side:
// "34% more capacity at p99 ≤ 50 ms (2400 vs 1790 req/s; req/s p = 0.0079)".
func (r *ranker) phrase(d mdiff) string {
	m, _ := metricByKey(d.key)
	better := (d.a > d.b) == m.HigherBetter
	if d.key == Errors {
		word := "fewer"
		if !better {
			word = "more"
		}
		return fmt.Sprintf("%s failed requests (%s vs %s; p = %s)", word, ratePct(d.a), ratePct(d.b), stats.FormatP(d.p))
	}
	if d.key == Robustness {
		word := "more"
		if !better {
			word = "less"
		}
		return fmt.Sprintf("kept %s of its throughput under trouble (%s vs %s %s; %s)", word, pct(d.a), pct(d.b), d.over, d.measured)
	}
	if d.key == Correctness {
		word := "higher"
		if !better {
			word = "lower"
		}
		return fmt.Sprintf("%s conformance score (%s vs %s; fails %d vs %d probes)", word, pct(d.a), pct(d.b), d.failsA, d.failsB)
	}
	up := d.a > d.b
	var word string
	switch d.key {
	case Capacity, Memory, CPU:
		word = map[bool]string{true: "more", false: "less"}[up]
	default:
		word = map[bool]string{true: "higher", false: "lower"}[up]
	}
	rel := math.Inf(1)
	if d.b != 0 {
		rel = math.Abs(d.a-d.b) / math.Abs(d.b)
	}
	what := r.metricLabel(d.key)
	paired := ""
	if pp := r.pairedPhrase(d); pp != "" {
		paired = "; " + pp
	}
	if d.key == Capacity {
		return fmt.Sprintf("%s %s %s (%s vs %s req/s; req/s p = %s%s)", pct(rel), word, what, num(d.a), num(d.b), stats.FormatP(d.p), paired)
	}
	if math.IsNaN(d.p) {
		return fmt.Sprintf("%s %s %s (one measurement each)", pct(rel), word, what)
	}
	return fmt.Sprintf("%s %s %s (p = %s%s)", pct(rel), word, what, stats.FormatP(d.p), paired)
}

// metricsOf records what c was scored on, for readers of results.json.
func (r *ranker) metricsOf(c *cand) map[string]float64 {
	m := map[string]float64{}
	for k, v := range c.val {
		m[k] = v
	}
	if r.folded {
		if v, ok := c.val[RPS]; ok {
			m[Capacity] = v
		}
	}
	return m
}

// sampleSizeNote says when the trial counts made ties unavoidable.
func (r *ranker) sampleSizeNote(fin []*cand, pairs [][]pair) {
	if len(fin) < 2 {
		return
	}
	minN, maxN := math.MaxInt, 0
	for _, c := range fin {
		minN, maxN = min(minN, len(c.run.Trials)), max(maxN, len(c.run.Trials))
	}
	rec := stats.TrialsToSeparate(r.alpha)
	trials := strconv.Itoa(minN)
	if minN != maxN {
		trials = fmt.Sprintf("%d to %d", minN, maxN)
	}
	switch {
	case stats.MinP(maxN, maxN) >= r.alpha:
		r.note(fmt.Sprintf("with %s trials per run no difference can reach p < %v (the smallest possible p is %s), so every place is a tie by construction: run ≥ %d trials to separate servers",
			trials, r.alpha, stats.FormatP(stats.MinP(maxN, maxN)), rec))
	case minN < rec:
		r.note(fmt.Sprintf("some runs have only %d trials: against them a difference shows only if every trial of one server beats every trial of the other; run ≥ %d trials", minN, rec))
	}
}

// NameTiesUpTo is how many servers tied for first a headline still names.
// "all 3 tie" read as if every server had tied, when a race had ranked
// only its three finalists; past a handful, a list no longer helps.
const NameTiesUpTo = 4

func (r *ranker) headline(wl string, ranking []results.Rank, fin []*cand) string {
	switch len(ranking) {
	case 0:
		return fmt.Sprintf("Nothing to rank: no run of workload %s finished a trial.", wl)
	case 1:
		return fmt.Sprintf("Only %s finished trials of workload %s: there is nothing to compare it with.", ranking[0].Server, wl)
	}
	var top []string
	for _, rk := range ranking {
		if rk.Position == 1 {
			top = append(top, fmt.Sprintf("%s (%s)", rk.Server, rk.Shape))
		}
	}
	var s string
	switch {
	case len(top) == 1:
		next := ""
		for _, rk := range ranking[1:] {
			next = rk.Server
			break
		}
		s = fmt.Sprintf("Best for %s: %s, ahead of %s.", r.prof.Description, top[0], next)
	case len(top) == len(ranking) && len(top) > NameTiesUpTo:
		s = fmt.Sprintf("No server is measurably best for %s: all %d tie.", r.prof.Description, len(ranking))
	default:
		s = fmt.Sprintf("No single best server for %s: %s tie for first place.", r.prof.Description, JoinAnd(top))
	}
	maxN := 0
	for _, c := range fin {
		maxN = max(maxN, len(c.run.Trials))
	}
	if len(top) > 1 && stats.MinP(maxN, maxN) >= r.alpha {
		s += fmt.Sprintf(" %d trials per run cannot separate them: run ≥ %d.", maxN, stats.TrialsToSeparate(r.alpha))
	}
	return s
}

// num formats a value with at most 3 significant digits after the point
// for small numbers, and none for large ones.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100 || a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// pct formats a relative difference (0.34 → "34%").
func pct(rel float64) string {
	switch {
	case math.IsInf(rel, 0):
		return "infinitely"
	case rel >= 0.0995:
		return fmt.Sprintf("%.0f%%", rel*100)
	}
	return fmt.Sprintf("%.1f%%", rel*100)
}

// pctRange formats a range of shares (0.63, 0.66 → "63–66%").
func pctRange(lo, hi float64) string {
	a, b := fmt.Sprintf("%.0f", lo*100), fmt.Sprintf("%.0f", hi*100)
	if a == b {
		return a + "%"
	}
	return a + "–" + b + "%"
}

func runsOf(n int) string {
	if n == 1 {
		return "one run"
	}
	return fmt.Sprintf("%d runs", n)
}

func ratePct(rate float64) string { return fmt.Sprintf("%.2f%%", rate*100) }

// JoinAnd joins words as a sentence lists them: "a, b and c".
func JoinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > 160 {
		s = string(r[:157]) + "..."
	}
	return s
}

// signed is a score gap in points with its sign: "+7.4", "−1.2".
func signed(v float64) string {
	v = math.Round(v*10) / 10
	if v < 0 {
		return "−" + strconv.FormatFloat(-v, 'f', 1, 64)
	}
	return "+" + strconv.FormatFloat(v, 'f', 1, 64)
}
