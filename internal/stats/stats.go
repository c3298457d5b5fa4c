// Package stats summarises repeated trials and compares them, the way
// benchstat does for Go benchmarks, because benchmark numbers are not
// normally distributed and trials are few.
//
// Medians, not means: one trial disturbed by a noisy neighbour should not
// move the answer. Each median comes with a distribution-free 95%
// confidence interval from order statistics: with n trials, the interval
// [x(k), x(n-k+1)] holds the true median with probability
// 1 - 2·P(Binomial(n, ½) < k), whatever the distribution. Five trials or
// fewer cannot reach 95% (the widest interval, [min, max], covers 94% at
// n = 5 and 75% at n = 3); then the summary says so in a warning and still
// reports [min, max] with its actual confidence.
//
// Two sets of trials are compared with the Mann-Whitney U test (two-sided;
// exact permutation p-value, ties included, for up to 60 trials in all,
// else the normal approximation with tie and continuity correction). A
// difference is significant when p < α (0.05). With 3 trials against 3
// the smallest possible p is 0.10, so nothing can be shown: Compare says
// so and recommends at least 5 trials, the fewest for which one trial out
// of order still leaves a detectable difference.
//
// Warnings travel with each result instead of aborting: too few trials,
// high variance, failed requests, trials where the load generator was the
// bottleneck, and CPUs shared between the generator and the server.
package stats

import (
	"math"
	"slices"
)

// Confidence is the level of every interval; Alpha the significance level
// of every comparison.
const (
	Confidence = 0.95
	Alpha      = 0.05
)

// Median of xs; NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Max of xs; NaN for none.
func Max(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Max(xs)
}

// StdDev is the sample standard deviation of xs (n − 1 in the
// denominator); NaN for fewer than two values.
func StdDev(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}
