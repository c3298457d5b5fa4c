package stats_test

import (
	"fmt"

	"github.com/wsgibench/wsgibench/internal/stats"
)

func ExampleMedianCI() {
	// Five trials cannot give a 95% interval: [min, max] is the best there
	// is, and it holds the median with 93.75% confidence.
	e := stats.MedianCI([]float64{2040, 1985, 2102, 2010, 1990}, stats.Confidence)
	fmt.Printf("%.0f [%.0f, %.0f] at %.2f%%\n", e.Median, e.Lo, e.Hi, e.Confidence*100)
	// Output: 2010 [1985, 2102] at 93.75%
}

func ExampleCompare() {
	old := []float64{2040, 1985, 2102, 2010, 1990}
	new := []float64{2210, 2190, 2250, 2301, 2205}
	fmt.Println(stats.Compare(old, new, stats.Alpha))

	// Three trials each can never separate: the output says so.
	c := stats.Compare(old[:3], new[:3], stats.Alpha)
	fmt.Println(c)
	fmt.Println(c.Warnings[0])
	// Output:
	// +10% (p=0.0079 n=5)
	// ~ (p=0.10 n=3)
	// 3 vs 3 trials cannot show a difference at α = 0.05 (the smallest possible p is 0.10); run ≥ 5 trials
}
