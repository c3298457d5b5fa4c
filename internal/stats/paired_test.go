package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Exact signed-rank p-values against published values.
func TestSignedRank(t *testing.T) {
	// All 5 differences positive: W+ = 15, P(W+ ≥ 15) = 1/32.
	less, greater := signedRank([]float64{1, 2, 3, 4, 5})
	if math.Abs(greater-1.0/32) > 1e-12 || less != 1 {
		t.Errorf("all positive: p< %v, p> %v; want 1, 1/32", less, greater)
	}
	// n = 8, W+ = 3 (ranks 1, 2 positive): P(W+ ≤ 3) = 5/256.
	less, _ = signedRank([]float64{0.1, 0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8})
	if math.Abs(less-5.0/256) > 1e-12 {
		t.Errorf("n=8 W+=3: p< %v, want 5/256", less)
	}
	// Ties use the normal approximation and stay in [0, 1].
	less, greater = signedRank([]float64{1, 1, 1, -1, 2, 2})
	if less < 0 || less > 1 || greater < 0 || greater > 1 || greater > less {
		t.Errorf("ties: p< %v, p> %v", less, greater)
	}
}

func TestComparePaired(t *testing.T) {
	a := []float64{100, 200, 150, 120, 300, 80, 90, 250}
	b := make([]float64, len(a))
	for i, v := range a {
		b[i] = v * 1.12 * (1 + 0.002*float64(i-4)) // 12% ± 1%, distinct, drift cancelled
	}
	p := ComparePaired(a, b, 0.95)
	t.Log(p)
	if p.N != 8 || math.Abs(p.Ratio-1.12) > 0.02 || p.Lo > 1.12 || p.Hi < 1.12 || p.Lo < 1.08 || p.Hi > 1.16 {
		t.Errorf("%v: want about 1.12× with a tight interval", p)
	}
	if p.P > 0.01 || p.PGreater > 0.005 {
		t.Errorf("%v: want p = 2/256", p)
	}
	if p.Confidence < 0.95 {
		t.Errorf("coverage %v with 8 pairs, want ≥ 0.95", p.Confidence)
	}
	// Unpaired, the same numbers are too spread to tell apart.
	if c := Compare(a, b, 0.05); c.Significant {
		t.Errorf("unpaired comparison separated them (p=%v): the test data are not drifting enough", c.P)
	}
	if q := ComparePaired([]float64{1, 0}, []float64{2, 3}, 0.95); q.N != 1 {
		t.Errorf("a zero must drop its pair: %d pairs", q.N)
	}
}

// The interval's stated coverage holds: over many samples, a 95% interval
// for the ratio misses the true ratio at most about 5% of the time.
func TestPairedCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const runs, n, truth = 4000, 10, 1.1
	miss := 0
	for range runs {
		a, b := drifting(rng, n, truth, 0.05)
		p := ComparePaired(a, b, 0.95)
		if truth < p.Lo || truth > p.Hi {
			miss++
		}
	}
	if rate := float64(miss) / runs; rate > 0.065 {
		t.Errorf("the 95%% interval missed the true ratio %.1f%% of the time", 100*rate)
	}
}

// drifting makes n paired trials whose level drifts a lot from pair to pair
// (a shared machine: ×0.5 to ×2) while b/a stays ratio times a noise of sd.
func drifting(rng *rand.Rand, n int, ratio, sd float64) (a, b []float64) {
	for range n {
		level := 1000 * math.Exp(rng.Float64()*math.Ln2*2-math.Ln2)
		a = append(a, level*math.Exp(rng.NormFloat64()*sd))
		b = append(b, level*ratio*math.Exp(rng.NormFloat64()*sd))
	}
	return a, b
}

// race simulates the racing rule over looks at 6, 9 and 12 pairs and
// reports whether the challenger was ever dropped.
func race(rng *rand.Rand, r Race, ratio, sd float64) bool {
	a, b := drifting(rng, 12, ratio, sd)
	for _, n := range []int{6, 9, 12}[:r.Looks] {
		if drop, _ := r.Behind(a[:n], b[:n]); drop {
			return true
		}
	}
	return false
}

// The racing rule's error control, on synthetic samples: a challenger as
// good as the leader is dropped at most at the stated rate, however many
// looks are taken; one 20% behind is dropped nearly always.
func TestRaceErrorControl(t *testing.T) {
	r := Race{Alpha: 0.05, Looks: 3, MinEffect: 0.05}
	if r.MinPairs() > 6 {
		t.Fatalf("the first look at 6 pairs could never drop anything (needs %d)", r.MinPairs())
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const runs = 4000
	dropped := 0
	for range runs {
		if race(rng, r, 1, 0.1) {
			dropped++
		}
	}
	if rate := float64(dropped) / runs; rate > r.Alpha {
		t.Errorf("a true tie was broken %.1f%% of the time, want at most %.0f%%", 100*rate, 100*r.Alpha)
	}
	separated := 0
	for range runs {
		if race(rng, r, 0.8, 0.1) {
			separated++
		}
	}
	if rate := float64(separated) / runs; rate < 0.95 {
		t.Errorf("a challenger 20%% behind was dropped only %.1f%% of the time", 100*rate)
	}
	// Within the minimum effect, never dropped however clear.
	for range 100 {
		if race(rng, r, 0.97, 0.001) {
			t.Fatal("a challenger 3% behind was dropped though the minimum effect is 5%")
		}
	}
}
