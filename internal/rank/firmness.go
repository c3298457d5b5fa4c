package rank

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
)

// FirmnessResamples is how many resamples Apply draws: enough to tell a
// first place that comes out nearly always from one that comes out half
// the time (a share from 100 draws is within ±10 points at 95%), few
// enough to re-rank in a second or two.
const FirmnessResamples = 100

// Firmness ranks f again on resamples of its trials and counts how often
// the first place comes out the same. A verdict's places rest on tests at
// α and on score gaps at the ends of intervals; evidence near either
// threshold can go the other way in another run of the same plan (two
// exhaustive runs of 2026-12-04/05 on the same machine named different
// first places: waitress with uWSGI, and waitress with tornado). Resampling
// says how near the thresholds this run's evidence was, from the run
// alone.
//
// Each resample draws every run's trials with replacement (the bootstrap).
// Trials that ran side by side stay side by side: one sequence of draws
// picks the same positions in every run, so runs that ran in the same
// rounds (a race's contenders, an exhaustive plan's cells) keep their
// pairs. Capacity searches, trouble scenarios and conformance probes are
// single measurements with nothing to resample, and are held as measured:
// the count speaks for the trials' noise only. The draws are seeded from
// the plan's seed, so a report of the same file says the same.
func Firmness(f *results.File, o Options, resamples int) (*results.Firmness, error) {
	base, err := rankWith(f, o)
	if err != nil || len(base.ranking) == 0 {
		return nil, err
	}
	want := firstPlace(base.ranking)
	seed := uint64(f.Plan.Seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := &results.Firmness{Resamples: resamples}
	counts := map[string]int{}
	longest := 0
	for _, run := range f.Runs {
		longest = max(longest, len(run.Trials))
	}
	u := make([]float64, longest)
	for range resamples {
		for k := range u {
			u[k] = rng.Float64()
		}
		got, err := rankWith(resample(f, u), o)
		if err != nil {
			return nil, err
		}
		first := firstPlace(got.ranking)
		if slices.Equal(first, want) {
			out.Same++
		}
		for _, s := range first {
			counts[s]++
		}
	}
	for s, n := range counts {
		out.InFirst = append(out.InFirst, results.ServerCount{Server: s, Count: n})
	}
	slices.SortFunc(out.InFirst, func(a, b results.ServerCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Server, b.Server)
	})
	return out, nil
}

// firstPlace is the servers ranked first, sorted.
func firstPlace(rk []results.Rank) []string {
	out := winners(rk)
	slices.Sort(out)
	return out
}

// resample is f with every run's trials drawn again: the run's k-th trial
// is the one at position ⌊u[k]·n⌋ of its n trials in index order, given
// index k. Runs are copied; nothing of f is changed.
func resample(f *results.File, u []float64) *results.File {
	g := *f
	g.Runs = slices.Clone(f.Runs)
	for i := range g.Runs {
		n := len(f.Runs[i].Trials)
		if n == 0 {
			continue
		}
		old := slices.Clone(f.Runs[i].Trials)
		slices.SortStableFunc(old, func(a, b results.Trial) int { return a.Index - b.Index })
		trials := make([]results.Trial, n)
		for k := range n {
			t := old[min(int(u[k]*float64(n)), n-1)]
			t.Index = k
			trials[k] = t
		}
		g.Runs[i].Trials = trials
	}
	return &g
}
