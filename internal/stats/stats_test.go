package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

func seq(lo, hi int) []float64 {
	var xs []float64
	for i := lo; i <= hi; i++ {
		xs = append(xs, float64(i))
	}
	return xs
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 100}, 5},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) should be NaN")
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median must not reorder its input")
	}
}

// The intervals are the textbook order-statistic ones (e.g. Conover,
// Practical Nonparametric Statistics, table A3: n = 9 → ranks 2..8,
// n = 20 → ranks 6..15).
func TestMedianCI(t *testing.T) {
	tests := []struct {
		name       string
		xs         []float64
		med, lo, h float64
		conf       float64
	}{
		{"one", []float64{7}, 7, 7, 7, 0},
		{"two", []float64{3, 1}, 2, 1, 3, 0.5},
		{"three: [min,max] covers 75%", []float64{30, 10, 20}, 20, 10, 30, 0.75},
		{"five: [min,max] covers 93.75%", []float64{5, 1, 4, 2, 3}, 3, 1, 5, 0.9375},
		{"six: first to reach 95%", seq(1, 6), 3.5, 1, 6, 0.96875},
		{"eight: ranks 2..7 fall short, so 1..8", seq(1, 8), 4.5, 1, 8, 1 - 2.0/256},
		{"nine: ranks 2..8", seq(1, 9), 5, 2, 8, 1 - 2*10.0/512},
		{"ten: ranks 2..9", seq(1, 10), 5.5, 2, 9, 1 - 2*11.0/1024},
		{"twenty: ranks 6..15", seq(1, 20), 10.5, 6, 15, 1 - 2*21700.0/1048576},
		{"NaNs are ignored", []float64{math.NaN(), 3, 1, 2}, 2, 1, 3, 0.75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := MedianCI(tc.xs, 0.95)
			if e.Median != tc.med || e.Lo != tc.lo || e.Hi != tc.h || !near(e.Confidence, tc.conf, 1e-12) {
				t.Errorf("MedianCI(%v) = median %v [%v, %v] at %v; want %v [%v, %v] at %v",
					tc.xs, e.Median, e.Lo, e.Hi, e.Confidence, tc.med, tc.lo, tc.h, tc.conf)
			}
		})
	}
	if e := MedianCI(nil, 0.95); !math.IsNaN(e.Median) || e.N != 0 {
		t.Errorf("MedianCI(nil) = %+v, want NaN with N 0", e)
	}
}

func TestTrialsForCI(t *testing.T) {
	for _, tc := range []struct {
		conf float64
		want int
	}{{0.95, 6}, {0.99, 8}, {0.9, 5}} {
		if got := TrialsForCI(tc.conf); got != tc.want {
			t.Errorf("TrialsForCI(%v) = %d, want %d", tc.conf, got, tc.want)
		}
	}
}

// Exact values: 2/C(10,5) = 0.0079 and 2/C(6,3) = 0.1 as in any table of
// the U distribution (and scipy.stats.mannwhitneyu); the tied cases by
// enumerating every split of the pooled midranks (see the comment below).
func TestMannWhitney(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		want float64
	}{
		{"5 vs 5 wholly apart", seq(1, 5), seq(6, 10), 2.0 / 252},
		{"order does not matter", []float64{5, 3, 1, 4, 2}, []float64{9, 6, 10, 8, 7}, 2.0 / 252},
		{"swapped samples", seq(6, 10), seq(1, 5), 2.0 / 252},
		{"3 vs 3 wholly apart", seq(1, 3), seq(4, 6), 0.1},
		{"5 vs 5, one pair out of order", []float64{1, 2, 3, 4, 6}, []float64{5, 7, 8, 9, 10}, 4.0 / 252},
		{"4 vs 4 wholly apart", seq(1, 4), seq(5, 8), 2.0 / 70},
		{"identical", []float64{1, 1, 1}, []float64{1, 1, 1}, 1},
		{"interleaved", []float64{1, 4, 5, 8}, []float64{2, 3, 6, 7}, 1},
		// python: itertools.combinations over midranks, |R - mean| ≥ |R_obs - mean|
		{"ties across samples", []float64{1, 2, 2, 3, 3}, []float64{3, 4, 4, 5, 6}, 0.023809523809523808},
		{"many ties", []float64{10, 10, 10, 12}, []float64{10, 11, 12, 12, 13}, 0.2698412698412698},
		{"6 vs 7 with ties", []float64{2.5, 2.5, 3.1, 2.9, 2.7, 3.0}, []float64{3.0, 3.3, 3.1, 3.4, 3.6, 2.9, 3.5}, 0.017482517482517484},
		{"empty", nil, seq(1, 3), 1},
		// Normal approximation (N > 60): z = (|U - n1n2/2| - ½)/σ with the
		// tie-corrected σ, p = erfc(z/√2), computed independently in Python.
		{"35 vs 35 shifted by 4", seq(0, 34), seq(4, 38), 0.12233896416124505},
		{"36 vs 32 with ties", halves(36, 0), halves(32, 2), 0.43455393460984115},
		{"40 vs 40 far apart", seq(0, 39), seq(20, 59), 7.956952562825313e-09},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MannWhitney(tc.a, tc.b); !near(got, tc.want, 1e-9*math.Max(1, tc.want)) && !near(got, tc.want, 1e-12) {
				t.Errorf("MannWhitney = %.12g, want %.12g", got, tc.want)
			}
		})
	}
}

// halves is x//2 + shift for x in 0..n-1: pairs of ties.
func halves(n, shift int) []float64 {
	var xs []float64
	for x := 0; x < n; x++ {
		xs = append(xs, float64(x/2+shift))
	}
	return xs
}

// At the switch from exact to approximate, the two agree closely, so the
// p-value does not jump when a 31st trial is added.
func TestMannWhitneyApproximationAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		var a, b []float64
		for j := 0; j < 30; j++ {
			a = append(a, math.Round(rng.NormFloat64()*10))
			b = append(b, math.Round(rng.NormFloat64()*10+float64(i%5)*2))
		}
		ex, ap := mannWhitney(a, b, true), mannWhitney(a, b, false)
		if !near(ex, ap, 0.01) {
			t.Errorf("case %d: exact p %.4f, approximate %.4f", i, ex, ap)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name    string
		a, b    []float64
		sig     bool
		delta   float64
		str     string
		warning string
	}{
		{"5 vs 5 apart", seq(100, 104), seq(110, 114), true, 10.0 / 102, "+9.8% (p=0.0079 n=5)", ""},
		{"3 vs 3 can never separate", seq(100, 102), seq(200, 202), false, 100.0 / 101, "~ (p=0.10 n=3)",
			"3 vs 3 trials cannot show a difference at α = 0.05 (the smallest possible p is 0.10); run ≥ 5 trials"},
		{"4 vs 4 only when wholly apart", []float64{1, 2, 3, 5}, []float64{4, 6, 7, 8}, false, 1.6, "~ (p=0.057 n=4)",
			"4 vs 4 trials show a difference only when every trial of one beats every trial of the other; run ≥ 5 trials"},
		{"3 vs 5 mixed sizes", seq(10, 12), seq(20, 24), true, 1.0, "+100% (p=0.036 n=3+5)", ""},
		{"no change", []float64{1, 4, 5, 8, 9}, []float64{2, 3, 6, 7, 10}, false, 1.0 / 5, "~ (p=1.00 n=5)", ""},
		{"decrease", seq(200, 205), seq(100, 105), true, -100.0 / 202.5, "-49% (p=0.0022 n=6)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.a, tc.b, Alpha)
			if c.Significant != tc.sig || !near(c.Delta, tc.delta, 1e-9) {
				t.Errorf("Compare: significant %v delta %v; want %v %v", c.Significant, c.Delta, tc.sig, tc.delta)
			}
			if s := c.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
			got := strings.Join(c.Warnings, "; ")
			if got != tc.warning {
				t.Errorf("warnings = %q, want %q", got, tc.warning)
			}
		})
	}
}

func TestTrialsToSeparate(t *testing.T) {
	if n := TrialsToSeparate(0.05); n != 5 {
		t.Errorf("TrialsToSeparate(0.05) = %d, want 5", n)
	}
	if p := MinP(3, 3); !near(p, 0.1, 1e-12) {
		t.Errorf("MinP(3,3) = %v, want 0.1", p)
	}
	if p := MinP(5, 5); !near(p, 2.0/252, 1e-12) {
		t.Errorf("MinP(5,5) = %v, want 2/252", p)
	}
}

func TestFormatP(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		want string
	}{{0.0079365, "0.0079"}, {0.1, "0.10"}, {0.4206, "0.42"}, {0.036, "0.036"}, {1, "1.00"}, {0.0004, "<0.001"}, {math.NaN(), "?"}} {
		if got := FormatP(tc.p); got != tc.want {
			t.Errorf("FormatP(%v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func trial(rps, p99 float64, pss int64) results.Trial {
	return results.Trial{
		Requests: int64(rps * 10), DurationS: 10, RPS: rps, CPUSeconds: 8,
		LatencyMS: results.Latency{P50: p99 / 4, P99: p99, P999: p99 * 2}, PSSPeakBytes: pss, RSSPeakBytes: pss * 2,
	}
}

func TestSummarize(t *testing.T) {
	steady := results.Run{Trials: []results.Trial{
		trial(1000, 20, 100<<20), trial(1010, 20.5, 100<<20), trial(990, 19.5, 101<<20),
		trial(1005, 20.2, 100<<20), trial(995, 19.8, 100<<20), trial(1002, 20.1, 100<<20),
	}}
	s := Summarize(steady, results.Machine{})
	if s.RPS.Median != 1001 || s.RPS.Lo != 990 || s.RPS.Hi != 1010 || s.RPS.N != 6 {
		t.Errorf("RPS = %+v", s.RPS)
	}
	if s.PSSBytes.Median != 100<<20 {
		t.Errorf("PSS = %+v", s.PSSBytes)
	}
	// 8 CPU seconds for 10000 responses = 800 ms per 1000; the median of
	// 6 is between the trials at 10000 and 10020 responses.
	if !near(s.CPUMsPerKReq.Median, (800+8e6/10020)/2, 1e-9) {
		t.Errorf("CPU ms/1k = %+v", s.CPUMsPerKReq)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("steady run warned: %q", s.Warnings)
	}

	noisy := results.Run{Front: "nginx", Trials: []results.Trial{trial(1000, 20, 100<<20), trial(700, 40, 100<<20), trial(1100, 20, 100<<20)}}
	noisy.Trials[1].GeneratorBound = true
	noisy.Trials[0].Front = &results.Front{Name: "nginx", Bound: true}
	noisy.Trials[2].Errors = results.Errors{Total: 7, Reset: 5, Timeout: 2}
	s = Summarize(noisy, results.Machine{SharedCPUs: true})
	want := []string{
		"3 trials: too few for a 95% confidence interval (need ≥ 6); intervals shown are [min, max], which hold the median with 75% confidence",
		"high variance: the interval spans more than 10% of the median (req/s 40%, p99 100%, CPU per request 52%)",
		"failed requests in 1 of 3 trials (7 in all: 5 reset, 2 timeout)",
		"the load generator was the bottleneck in 1 of 3 trials (≥ 90% of its CPU): req/s and latency there measure the generator, not the server",
		"nginx in front was the bottleneck in 1 of 3 trials (≥ 90% of its CPUs): req/s and latency there measure the front, not the server",
		SharedCPUsWarning,
	}
	if !slices.Equal(s.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", s.Warnings, want)
	}
	if s.ErrorRate.Hi == 0 {
		t.Errorf("error rate not counted: %+v", s.ErrorRate)
	}
}

func TestSummarizeAll(t *testing.T) {
	f := &results.File{Runs: []results.Run{
		{Server: "a", Trials: []results.Trial{trial(1, 1, 1)}},
		{Server: "b", Error: "would not start", Summary: &results.Summary{}},
	}}
	SummarizeAll(f)
	if f.Runs[0].Summary == nil || f.Runs[0].Summary.RPS.Median != 1 {
		t.Errorf("run with a trial: summary %+v", f.Runs[0].Summary)
	}
	if f.Runs[1].Summary != nil {
		t.Errorf("run without trials kept a summary")
	}
}

func TestStdDev(t *testing.T) {
	if got := StdDev([]float64{2, 4, 4, 4, 5, 5, 7, 9}); math.Abs(got-2.138) > 0.001 {
		t.Errorf("StdDev = %v, want 2.138 (sample, n-1)", got)
	}
	if got := StdDev([]float64{1}); !math.IsNaN(got) {
		t.Errorf("StdDev of one value = %v, want NaN", got)
	}
}
