// Command paired reads the results.json of bench/paired.sh (one server, two
// workloads whose requests cost a known amount of CPU more or less, trials
// interleaved in pairs) and shows how many trials the paired test needs to
// separate them, against the unpaired one.
//
// For each n it takes every window of n consecutive pairs in the run and
// counts how often each test separates the two at p < 0.05 in the true
// direction (B, whose requests cost more, slower), and apart how often in
// the wrong one: the Mann-Whitney U test on the two samples (unpaired), the
// Wilcoxon signed-rank test and the paired t-test on the within-pair
// log-ratios (paired). It also prints
// the between-trial spread of each cell and the spread of the within-pair
// log-ratios against what it would be unpaired.
//
// usage: go run ./bench/paired results.json
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "paired:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: paired results.json")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var f results.File
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	var runs []results.Run
	for _, r := range f.Runs {
		if len(r.Trials) >= 2 {
			runs = append(runs, r)
		}
	}
	if len(runs) != 2 {
		return fmt.Errorf("want 2 runs with trials, have %d", len(runs))
	}
	a, c := pairs(runs[0], runs[1])
	n := len(a)
	fmt.Printf("A = %s, B = %s: %d pairs\n", runs[0].Key(), runs[1].Key(), n)
	fmt.Printf("medians: A %.0f req/s, B %.0f req/s, B/A %.3f\n", stats.Median(a), stats.Median(c), stats.Median(c)/stats.Median(a))
	pp := stats.ComparePaired(a, c, 0.95)
	fmt.Printf("B/A pair by pair over all pairs: %v\n", pp)
	sa, sc, w := logSD(a), logSD(c), logRatioSD(a, c)
	fmt.Printf("spread between trials (sd of log req/s): A %.1f%%, B %.1f%%; within pairs %.1f%%, unpaired %.1f%%: pairing removed %.0f%% of the spread\n",
		100*sa, 100*sc, 100*w, 100*math.Hypot(sa, sc), 100*(1-w/math.Hypot(sa, sc)))
	// The truth is known: B's requests cost more, so B is slower. A window
	// counts as separated when the test says so in that direction; one
	// that "separates" the other way is counted apart (a wrong verdict).
	fmt.Printf("\n%3s %8s %18s %18s %18s   (right direction / wrong direction)\n", "n", "windows", "unpaired U", "signed-rank", "paired t")
	firstU, firstW, firstT := 0, 0, 0
	for k := 2; k <= n; k++ {
		var total int
		var u, wr, tt, uBad, wrBad, ttBad int
		for s := 0; s+k <= n; s++ {
			x, y := a[s:s+k], c[s:s+k]
			total++
			slower := stats.Median(y) < stats.Median(x)
			if stats.MannWhitney(x, y) < stats.Alpha {
				if slower {
					u++
				} else {
					uBad++
				}
			}
			q := stats.ComparePaired(x, y, 0.95)
			if q.P < stats.Alpha {
				if q.Ratio < 1 {
					wr++
				} else {
					wrBad++
				}
			}
			if p, ratio := pairedT(x, y); p < stats.Alpha {
				if ratio < 1 {
					tt++
				} else {
					ttBad++
				}
			}
		}
		fmt.Printf("%3d %8d %9.0f%% / %3.0f%% %9.0f%% / %3.0f%% %9.0f%% / %3.0f%%\n", k, total,
			pct(u, total), pct(uBad, total), pct(wr, total), pct(wrBad, total), pct(tt, total), pct(ttBad, total))
		if firstU == 0 && 2*u > total {
			firstU = k
		}
		if firstW == 0 && 2*wr > total {
			firstW = k
		}
		if firstT == 0 && 2*tt > total {
			firstT = k
		}
	}
	fmt.Printf("\nfewest trials per cell separating B < A in most windows (0 = never): unpaired U %d, signed-rank %d, paired t %d\n", firstU, firstW, firstT)
	return nil
}

func pct(k, n int) float64 { return 100 * float64(k) / float64(n) }

// pairs are the two runs' req/s at the trial indexes both have.
func pairs(x, y results.Run) (a, b []float64) {
	byIdx := map[int]float64{}
	for _, t := range x.Trials {
		byIdx[t.Index] = t.RPS
	}
	var idx []int
	for _, t := range y.Trials {
		if _, ok := byIdx[t.Index]; ok {
			idx = append(idx, t.Index)
		}
	}
	slices.Sort(idx)
	byY := map[int]float64{}
	for _, t := range y.Trials {
		byY[t.Index] = t.RPS
	}
	for _, i := range idx {
		a, b = append(a, byIdx[i]), append(b, byY[i])
	}
	return a, b
}

func logSD(xs []float64) float64 {
	var l []float64
	for _, x := range xs {
		l = append(l, math.Log(x))
	}
	return stats.StdDev(l)
}

func logRatioSD(a, b []float64) float64 {
	var l []float64
	for i := range a {
		l = append(l, math.Log(b[i]/a[i]))
	}
	return stats.StdDev(l)
}

// pairedT is the two-sided paired t-test p-value on the log-ratios, and
// the geometric mean ratio b/a.
func pairedT(a, b []float64) (float64, float64) {
	var l []float64
	for i := range a {
		l = append(l, math.Log(b[i]/a[i]))
	}
	var m float64
	for _, x := range l {
		m += x
	}
	m /= float64(len(l))
	s := stats.StdDev(l)
	if s == 0 {
		return 0, math.Exp(m)
	}
	t := m / (s / math.Sqrt(float64(len(l))))
	return 2 * stats.StudentCDF(-math.Abs(t), float64(len(l)-1)), math.Exp(m)
}
