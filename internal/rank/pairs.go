package rank

import (
	"fmt"
	"math"
	"slices"

	"github.com/wsgibench/wsgibench/internal/stats"
)

// Trials of two runs with the same index ran in the same round of the
// plan (block t of a race, round t of an exhaustive plan), side by side
// on the machine, so their ratio cancels the machine's drift: the
// comparison is made pair by pair (see the package doc).

// pairedMin is the fewest pairs with which the two-sided signed-rank test
// can reach alpha: its smallest p-value with n pairs is 2^(1-n).
func pairedMin(alpha float64) int {
	n := 1
	for math.Pow(2, 1-float64(n)) >= alpha {
		n++
	}
	return n
}

// pairsOf are a's and b's values of key at the trial indexes both have,
// in index order.
func pairsOf(a, b *cand, key string) (xa, xb []float64) {
	ba, bb := a.byTrial[key], b.byTrial[key]
	var idx []int
	for i := range ba {
		if _, ok := bb[i]; ok {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	for _, i := range idx {
		xa, xb = append(xa, ba[i]), append(xb, bb[i])
	}
	return xa, xb
}

// test is the p-value that a and b differ on key, and a's value over b's
// pair by pair when their trials pair. It is the Wilcoxon signed-rank test
// on the pairs' log-ratios when there are enough pairs for it to reach α;
// otherwise the Mann-Whitney test on all trials, which with few trials
// can separate what few pairs cannot (5 against 5 reach p = 0.008; 5
// pairs no lower than 0.0625). The choice depends on the counts only,
// never on the values.
func (r *ranker) test(a, b *cand, key string) (float64, *stats.Paired) {
	if key == Errors {
		// Mostly zeros, which form no ratio: the rank-sum test over all
		// trials, as before.
		return stats.MannWhitney(a.samples[key], b.samples[key]), nil
	}
	xa, xb := pairsOf(a, b, key)
	var pp *stats.Paired
	if len(xa) >= 2 {
		q := stats.ComparePaired(xb, xa, stats.Confidence) // xa/xb
		if q.N >= 2 {
			pp = &q
		}
	}
	if pp != nil && pp.N >= pairedMin(r.alpha) {
		return pp.P, pp
	}
	return stats.MannWhitney(a.samples[key], b.samples[key]), pp
}

// flipPaired is p from the other side: b over a.
func flipPaired(p *stats.Paired) *stats.Paired {
	if p == nil {
		return nil
	}
	q := *p
	q.Ratio, q.Lo, q.Hi = 1/p.Ratio, 1/p.Hi, 1/p.Lo
	q.PLess, q.PGreater = p.PGreater, p.PLess
	return &q
}

// pairedPhrase is "waitress / uwsgi throughput 1.12× [1.05, 1.19] pair by
// pair, 8 pairs", or "" when the trials did not pair.
func (r *ranker) pairedPhrase(d mdiff) string {
	// Throughput only: it is what drifts most with the machine, and what
	// the racing judged; the other metrics' tests pair too, unsaid.
	if d.paired == nil || (d.key != RPS && d.key != Capacity) {
		return ""
	}
	cover := ""
	if d.paired.Confidence < stats.Confidence {
		// Too few pairs for a 95% interval: the range, with what it covers.
		cover = fmt.Sprintf(", a %.0f%% interval", 100*d.paired.Confidence)
	}
	return fmt.Sprintf("%s / %s throughput %.2f× [%.2f, %.2f] pair by pair, %d pairs%s",
		d.nameA, d.nameB, d.paired.Ratio, d.paired.Lo, d.paired.Hi, d.paired.N, cover)
}
