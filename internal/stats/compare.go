package stats

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// exactLimit is the most trials in all for which MannWhitney enumerates
// the permutation distribution; above it the normal approximation is
// accurate to well under the precision anyone reads a p-value at.
const exactLimit = 60

// Comparison is the answer to "did it change": the Mann-Whitney p-value
// and the relative change of the medians.
type Comparison struct {
	P           float64
	Alpha       float64
	Significant bool    // P < Alpha
	Delta       float64 // (median(b) - median(a)) / median(a); ±Inf from a median of 0
	N1, N2      int
	// Warnings say when the sample sizes could not have shown a
	// difference, so "~" is not mistaken for "the same".
	Warnings []string
}

// Compare tests whether b differs from a at level alpha.
func Compare(a, b []float64, alpha float64) Comparison {
	c := Comparison{P: MannWhitney(a, b), Alpha: alpha, N1: len(a), N2: len(b)}
	c.Significant = c.P < alpha
	ma, mb := Median(a), Median(b)
	switch {
	case math.IsNaN(ma) || math.IsNaN(mb):
		c.Delta = math.NaN()
	case ma == mb:
		c.Delta = 0
	case ma == 0:
		c.Delta = math.Inf(int(math.Copysign(1, mb)))
	default:
		c.Delta = (mb - ma) / math.Abs(ma)
	}
	if w := sampleSizeWarning(c.N1, c.N2, alpha, c.Significant); w != "" {
		c.Warnings = append(c.Warnings, w)
	}
	return c
}

// String formats c the way benchstat does: "+6.1% (p=0.0079 n=5)", or
// "~ (p=0.42 n=3+5)" when the difference is not significant.
func (c Comparison) String() string {
	n := strconv.Itoa(c.N1)
	if c.N1 != c.N2 {
		n = fmt.Sprintf("%d+%d", c.N1, c.N2)
	}
	d := "~"
	if c.Significant {
		d = FormatDelta(c.Delta)
	}
	return fmt.Sprintf("%s (p=%s n=%s)", d, FormatP(c.P), n)
}

// FormatDelta formats a relative change as a signed percentage.
func FormatDelta(d float64) string {
	switch {
	case math.IsNaN(d):
		return "?"
	case math.IsInf(d, 1):
		return "+∞"
	case math.IsInf(d, -1):
		return "-∞"
	case math.Abs(d) >= 0.0995: // would print as ±10.0%
		return fmt.Sprintf("%+.0f%%", d*100)
	}
	return fmt.Sprintf("%+.1f%%", d*100)
}

// FormatP formats a p-value with two significant digits.
func FormatP(p float64) string {
	switch {
	case math.IsNaN(p):
		return "?"
	case p < 0.001:
		return "<0.001"
	}
	s := strconv.FormatFloat(p, 'g', 2, 64)
	if v, _ := strconv.ParseFloat(s, 64); v >= 0.1 {
		return fmt.Sprintf("%.2f", v) // 0.10, not 0.1
	}
	return s
}

// sampleSizeWarning explains a non-significant result that the sample
// sizes made inevitable or likely.
func sampleSizeWarning(n1, n2 int, alpha float64, significant bool) string {
	if significant || n1 == 0 || n2 == 0 {
		return ""
	}
	rec := TrialsToSeparate(alpha)
	vs := fmt.Sprintf("%d vs %d trials", n1, n2)
	if minP := MinP(n1, n2); minP >= alpha {
		return fmt.Sprintf("%s cannot show a difference at α = %v (the smallest possible p is %s); run ≥ %d trials", vs, alpha, FormatP(minP), rec)
	}
	if oneSwapP(n1, n2) >= alpha {
		return fmt.Sprintf("%s show a difference only when every trial of one beats every trial of the other; run ≥ %d trials", vs, rec)
	}
	return ""
}

// MinP is the smallest two-sided p the U test can give for samples of n1
// and n2 without ties: both samples wholly apart.
func MinP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	return math.Min(1, 2/choose(n1+n2, n1))
}

// oneSwapP is the two-sided p when one pair of trials is out of order
// (U = 1): four arrangements of C(n1+n2, n1) are at least that extreme.
func oneSwapP(n1, n2 int) float64 {
	return math.Min(1, 4/choose(n1+n2, n1))
}

// TrialsToSeparate is the fewest trials per side for which a difference
// is still significant at alpha with one trial out of order: 5 at 0.05.
// (4 vs 4 can be significant, but only if the trials separate perfectly.)
func TrialsToSeparate(alpha float64) int {
	n := 2
	for oneSwapP(n, n) >= alpha && n < 100 {
		n++
	}
	return n
}

// MannWhitney returns the two-sided p-value of the Mann-Whitney U test
// (Wilcoxon rank-sum) that a and b come from the same distribution.
// Ties get midranks. Up to exactLimit values in all, p is exact: the
// share of all ways to split the pooled ranks into groups of len(a) and
// len(b) whose rank sum is at least as far from its mean as the one seen.
// Above that, the normal approximation with tie and continuity correction.
// Empty samples give 1.
func MannWhitney(a, b []float64) float64 {
	return mannWhitney(a, b, len(a)+len(b) <= exactLimit)
}

func mannWhitney(a, b []float64, exact bool) float64 {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	type obs struct {
		v   float64
		inA bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := n1 + n2
	// Doubled midranks stay integers: a tie group at 0-based positions
	// i..j has midrank (i+1 + j+1)/2.
	rank2 := make([]int, n)
	var tieTerm float64 // Σ (t³ - t) over tie groups
	for i := 0; i < n; {
		j := i
		for j+1 < n && all[j+1].v == all[i].v {
			j++
		}
		for k := i; k <= j; k++ {
			rank2[k] = i + j + 2
		}
		t := float64(j - i + 1)
		tieTerm += t*t*t - t
		i = j + 1
	}
	var r2A int // doubled rank sum of a
	for k, o := range all {
		if o.inA {
			r2A += rank2[k]
		}
	}
	if exact {
		return exactP(rank2, n1, r2A)
	}
	u := float64(r2A)/2 - float64(n1*(n1+1))/2
	mu := float64(n1*n2) / 2
	nf := float64(n)
	v := float64(n1*n2) / 12 * ((nf + 1) - tieTerm/(nf*(nf-1)))
	if v <= 0 {
		return 1
	}
	z := math.Max(0, math.Abs(u-mu)-0.5) / math.Sqrt(v)
	return math.Min(1, math.Erfc(z/math.Sqrt2))
}

// exactP counts, over all subsets of size k of the (doubled) ranks, those
// whose sum is at least as far from the mean as obs.
func exactP(rank2 []int, k, obs int) float64 {
	total := 0
	for _, r := range rank2 {
		total += r
	}
	// ways[j][s]: subsets of j ranks seen so far summing to s.
	ways := make([][]float64, k+1)
	for j := range ways {
		ways[j] = make([]float64, total+1)
	}
	ways[0][0] = 1
	for _, r := range rank2 {
		for j := k; j >= 1; j-- {
			row, prev := ways[j], ways[j-1]
			for s := total; s >= r; s-- {
				row[s] += prev[s-r]
			}
		}
	}
	mean2 := k * (len(rank2) + 1) // doubled mean rank sum: k(n+1)/2, doubled
	dev := obs - mean2
	if dev < 0 {
		dev = -dev
	}
	var extreme, all float64
	for s, w := range ways[k] {
		if w == 0 {
			continue
		}
		all += w
		d := s - mean2
		if d < 0 {
			d = -d
		}
		if d >= dev {
			extreme += w
		}
	}
	return math.Min(1, extreme/all)
}

// choose is the binomial coefficient, exact while it fits in a float64
// mantissa.
func choose(n, k int) float64 {
	k = min(k, n-k)
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}
