package stats

import (
	"math"
	"slices"

	"github.com/wsgibench/wsgibench/internal/results"
)

// MedianCI returns the median of xs with a distribution-free confidence
// interval from order statistics. When len(xs) is too small to reach the
// confidence asked for, it returns the widest interval there is, [min, max],
// and sets Confidence to what that interval actually covers; the caller
// warns (see TrialsForCI). NaNs are ignored.
func MedianCI(xs []float64, confidence float64) results.Estimate {
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		nan := math.NaN()
		return results.Estimate{Median: nan, Lo: nan, Hi: nan}
	}
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	k, cov := medianOrder(n, confidence)
	return results.Estimate{Median: med, Lo: s[k-1], Hi: s[n-k], N: n, Confidence: cov}
}

// medianOrder returns the largest 1-based order k such that
// [x(k), x(n-k+1)] holds the median with probability ≥ confidence, with
// that probability; when even [min, max] falls short, k = 1 and its
// smaller coverage.
func medianOrder(n int, confidence float64) (k int, coverage float64) {
	if n < 2 {
		return 1, 0
	}
	k, coverage = 1, orderCoverage(n, 1)
	for j := 2; j <= (n+1)/2; j++ {
		c := orderCoverage(n, j)
		if c < confidence {
			break
		}
		k, coverage = j, c
	}
	return k, coverage
}

// orderCoverage is P(x(k) ≤ median ≤ x(n-k+1)) = 1 - 2·P(B ≤ k-1) for
// B ~ Binomial(n, ½): the median lies outside only if fewer than k
// samples fall on one side of it.
func orderCoverage(n, k int) float64 {
	tail := 0.0
	for i := 0; i < k; i++ {
		tail += binomHalf(n, i)
	}
	return math.Max(0, 1-2*tail)
}

// binomHalf is P(B = i) for B ~ Binomial(n, ½).
func binomHalf(n, i int) float64 {
	return math.Exp(lchoose(n, i) - float64(n)*math.Ln2)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// TrialsForCI is the fewest trials whose [min, max] reaches the
// confidence: 6 for 0.95.
func TrialsForCI(confidence float64) int {
	n := 2
	for orderCoverage(n, 1) < confidence && n < 1000 {
		n++
	}
	return n
}
