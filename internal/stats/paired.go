package stats

import (
	"fmt"
	"math"
	"slices"
)

// Paired is the comparison of two servers whose trials ran back to back in
// pairs (A then B, or B then A, in random order): the i-th trial of each
// saw the same state of the machine, so the ratio within a pair cancels the
// machine's drift, which on a shared machine is most of the spread between
// trials of one server.
type Paired struct {
	N int // pairs used (pairs with a zero or missing value are dropped)
	// Ratio is the Hodges-Lehmann estimate of b/a: the exponential of the
	// median of the Walsh averages of the log-ratios. Lo and Hi bound it
	// with at least Confidence coverage (exact, from the signed-rank
	// distribution); with too few pairs for that, [Lo, Hi] is the widest
	// interval there is and Confidence says what it covers.
	Ratio, Lo, Hi, Confidence float64
	// P is the two-sided Wilcoxon signed-rank p-value of "the log-ratio is
	// centred on 0"; PLess and PGreater are the one-sided ones (b smaller,
	// b larger).
	P, PLess, PGreater float64
}

// String is "1.12× [1.05, 1.19] (p=0.0078, 8 pairs)".
func (p Paired) String() string {
	if p.N == 0 {
		return "no pairs"
	}
	return fmt.Sprintf("%.2f× [%.2f, %.2f] (p=%s, %d pairs)", p.Ratio, p.Lo, p.Hi, FormatP(p.P), p.N)
}

// ComparePaired compares b with a pair by pair: a[i] and b[i] were measured
// back to back. Only positive values can form a ratio; a pair with any
// other is dropped.
func ComparePaired(a, b []float64, confidence float64) Paired {
	var d []float64
	for i := range min(len(a), len(b)) {
		if a[i] > 0 && b[i] > 0 && !math.IsInf(a[i], 0) && !math.IsInf(b[i], 0) {
			d = append(d, math.Log(b[i]/a[i]))
		}
	}
	n := len(d)
	if n == 0 {
		nan := math.NaN()
		return Paired{Ratio: nan, Lo: nan, Hi: nan, P: 1, PLess: 1, PGreater: 1}
	}
	out := Paired{N: n}
	out.PLess, out.PGreater = signedRank(d)
	out.P = math.Min(1, 2*math.Min(out.PLess, out.PGreater))

	// Walsh averages (d_i + d_j)/2, i ≤ j: their median is the
	// Hodges-Lehmann estimate, and order statistics of them give the
	// interval that inverts the signed-rank test.
	w := make([]float64, 0, n*(n+1)/2)
	for i := range n {
		for j := i; j < n; j++ {
			w = append(w, (d[i]+d[j])/2)
		}
	}
	slices.Sort(w)
	m := len(w)
	hl := w[m/2]
	if m%2 == 0 {
		hl = (w[m/2-1] + w[m/2]) / 2
	}
	k, cov := walshOrder(n, confidence)
	out.Ratio, out.Lo, out.Hi, out.Confidence = math.Exp(hl), math.Exp(w[k]), math.Exp(w[m-1-k]), cov
	return out
}

// signedRank returns the one-sided Wilcoxon signed-rank p-values for "the
// differences tend to be negative" and "... positive". Zero differences are
// dropped. Without ties among |d| the distribution is enumerated exactly;
// with ties, midranks and the normal approximation with the tie correction.
func signedRank(d []float64) (pLess, pGreater float64) {
	type item struct{ abs, sign float64 }
	var xs []item
	for _, v := range d {
		if v != 0 {
			xs = append(xs, item{math.Abs(v), math.Copysign(1, v)})
		}
	}
	n := len(xs)
	if n == 0 {
		return 1, 1
	}
	slices.SortFunc(xs, func(a, b item) int {
		switch {
		case a.abs < b.abs:
			return -1
		case a.abs > b.abs:
			return 1
		}
		return 0
	})
	// Midranks; wPlus is the sum of the ranks of positive differences.
	var wPlus, tieTerm float64
	ties := false
	for i := 0; i < n; {
		j := i
		for j < n && xs[j].abs == xs[i].abs {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1..j
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		for k := i; k < j; k++ {
			if xs[k].sign > 0 {
				wPlus += rank
			}
		}
		i = j
	}
	if !ties && n <= 60 {
		counts := rankSumCounts(n)
		all := math.Pow(2, float64(n))
		w := int(math.Round(wPlus))
		var le, ge float64
		for s, c := range counts {
			if s <= w {
				le += c
			}
			if s >= w {
				ge += c
			}
		}
		return le / all, ge / all
	}
	fn := float64(n)
	mean := fn * (fn + 1) / 4
	sd := math.Sqrt(fn*(fn+1)*(2*fn+1)/24 - tieTerm/48)
	if sd == 0 {
		return 1, 1
	}
	// Continuity correction of a half.
	zLess := (wPlus - mean + 0.5) / sd
	zGreater := (wPlus - mean - 0.5) / sd
	return normCDF(zLess), 1 - normCDF(zGreater)
}

// rankSumCounts returns, for each s, how many subsets of the ranks 1..n
// sum to s: the signed-rank statistic's null distribution times 2^n.
func rankSumCounts(n int) []float64 {
	total := n * (n + 1) / 2
	counts := make([]float64, total+1)
	counts[0] = 1
	for r := 1; r <= n; r++ {
		for s := total; s >= r; s-- {
			counts[s] += counts[s-r]
		}
	}
	return counts
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// walshOrder returns the 0-based order k of the Walsh averages such that
// [w(k), w(m-1-k)] covers the centre with probability ≥ confidence, and
// that coverage; with too few pairs, k = 0 and the smaller coverage of the
// whole range. It uses the exact signed-rank distribution (no ties).
func walshOrder(n int, confidence float64) (int, float64) {
	counts := rankSumCounts(n)
	total := len(counts) - 1
	all := math.Pow(2, float64(n))
	// With 0-based k, the interval [w(k), w(m-1-k)] has coverage
	// 1 - 2·P(W ≤ k), W the signed-rank statistic under the null.
	cum := counts[0]
	best, cov := 0, 1-2*cum/all
	for k := 1; k <= total/2; k++ {
		cum += counts[k]
		c := 1 - 2*cum/all
		if c < confidence {
			break
		}
		best, cov = k, c
	}
	return best, cov
}

// Race is the sequential rule by which contenders stop getting trials: at
// each of at most Looks rounds, a server is dropped when its paired
// comparison with the leader shows it behind at one-sided level
// Alpha/Looks (Bonferroni over the looks: the chance of ever dropping a
// server that is truly as good as the leader stays under Alpha however the
// looks fall), and behind by at least MinEffect.
//
// The test at a look is the exact Wilcoxon signed-rank test on the
// log-ratios when there are enough pairs for it to reach the level
// (MinPairs); with fewer, where no signed-rank p-value could, it is the
// one-sided paired t-test on the log-ratios, which assumes them roughly
// normal (a ratio of two throughputs measured side by side is: the
// drift is divided out, what is left is many small delays). Each look's
// test holds its level, so the union bound over looks holds either way.
type Race struct {
	Alpha     float64 // e.g. 0.05
	Looks     int     // the most rounds at which the rule is applied
	MinEffect float64 // e.g. 0.10: a server 5% behind is never dropped
}

// Look is one application of the rule to one challenger.
type Look struct {
	Drop   bool
	P      float64 // the one-sided p-value the rule used ("challenger is behind")
	Test   string  // "signed-rank" or "paired t"
	Level  float64 // Alpha/Looks
	Paired         // the ratio challenger/leader with its interval
}

// Behind reports whether a server with paired samples b is to be dropped
// against the leader's a, where higher is better, with the comparison.
func (r Race) Behind(a, b []float64) (bool, Paired) {
	l := r.Look(a, b)
	return l.Drop, l.Paired
}

// Look applies the rule to paired samples: a the leader's, b the
// challenger's, higher is better.
func (r Race) Look(a, b []float64) Look {
	p := ComparePaired(a, b, 1-r.Alpha)
	l := Look{Paired: p, Level: r.Alpha / float64(max(1, r.Looks)), P: 1}
	if p.N == 0 {
		return l
	}
	if p.N >= r.MinPairs() {
		l.Test, l.P = "signed-rank", p.PLess
	} else {
		l.Test, l.P = "paired t", pairedTLess(a, b)
	}
	l.Drop = l.P < l.Level && p.Ratio <= 1-r.MinEffect
	return l
}

// MinPairs is the fewest pairs with which the signed-rank test can drop
// anything: its smallest one-sided p-value with n pairs is 2^-n.
func (r Race) MinPairs() int {
	level := r.Alpha / float64(max(1, r.Looks))
	n := 1
	for math.Pow(2, -float64(n)) >= level {
		n++
	}
	return n
}

// pairedTLess is the one-sided p-value of the paired t-test that the
// log-ratios log(b/a) are centred below 0. With one pair, or pairs that
// agree exactly, there is no spread to test against: 1, or 0 when every
// ratio is the same below 1.
func pairedTLess(a, b []float64) float64 {
	var d []float64
	for i := range min(len(a), len(b)) {
		if a[i] > 0 && b[i] > 0 && !math.IsInf(a[i], 0) && !math.IsInf(b[i], 0) {
			d = append(d, math.Log(b[i]/a[i]))
		}
	}
	n := len(d)
	if n < 2 {
		return 1
	}
	var mean float64
	for _, v := range d {
		mean += v
	}
	mean /= float64(n)
	var ss float64
	for _, v := range d {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	if sd == 0 {
		if mean < 0 {
			return 0
		}
		return 1
	}
	t := mean / (sd / math.Sqrt(float64(n)))
	return StudentCDF(t, float64(n-1))
}

// StudentCDF is P(T ≤ t) for Student's t with df degrees of freedom.
func StudentCDF(t, df float64) float64 {
	x := df / (df + t*t)
	tail := 0.5 * regIncBeta(df/2, 0.5, x) // P(T > |t|)
	if t > 0 {
		return 1 - tail
	}
	return tail
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by
// its continued fraction (Lentz's method).
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	lga, _ := math.Lgamma(a)
	lgb, _ := math.Lgamma(b)
	lgab, _ := math.Lgamma(a + b)
	front := math.Exp(lgab - lga - lgb + a*math.Log(x) + b*math.Log(1-x))
	if x > (a+1)/(a+b+2) {
		return 1 - regIncBeta(b, a, 1-x)
	}
	const tiny, eps = 1e-300, 1e-15
	f, c, d := 1.0, 1.0, 0.0
	for i := 0; i <= 400; i++ {
		m := float64(i / 2)
		var num float64
		switch {
		case i == 0:
			num = 1
		case i%2 == 0:
			num = m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		default:
			num = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		}
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		d = 1 / d
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		cd := c * d
		f *= cd
		if math.Abs(1-cd) < eps {
			break
		}
	}
	return front * (f - 1) / a
}
