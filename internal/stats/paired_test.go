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

// Student's t against tabled quantiles.
func TestStudentCDF(t *testing.T) {
	for _, c := range []struct{ t, df, want float64 }{
		{0, 3, 0.5}, {1, 1, 0.75}, {-4.302653, 2, 0.025}, {2.015048, 5, 0.95},
		{-2.262157, 9, 0.025}, {1.959964, 1e6, 0.975},
	} {
		if got := StudentCDF(c.t, c.df); math.Abs(got-c.want) > 1e-5 {
			t.Errorf("StudentCDF(%v, %v) = %v, want %v", c.t, c.df, got, c.want)
		}
	}
}

// raceAt runs the rule at the plan's looks (after 3, 6 and 8 pairs, the
// default racing schedule) and reports whether the challenger was ever
// dropped, and at which look.
func raceAt(r Race, looks []int, a, b []float64) (bool, int) {
	for i, n := range looks {
		if l := r.Look(a[:n], b[:n]); l.Drop {
			return true, i
		}
	}
	return false, -1
}

// heavy is drifting with Student-t(3) noise instead of normal: outliers
// of the kind a neighbour's burst makes, which the paired t-test of the
// early looks assumes away.
func heavy(rng *rand.Rand, n int, ratio, sd float64) (a, b []float64) {
	t3 := func() float64 {
		z := rng.NormFloat64()
		var c float64
		for range 3 {
			x := rng.NormFloat64()
			c += x * x
		}
		return z / math.Sqrt(c/3) / math.Sqrt(3) // unit variance
	}
	for range n {
		level := 1000 * math.Exp(rng.Float64()*math.Ln2*2-math.Ln2)
		a = append(a, level*math.Exp(t3()*sd))
		b = append(b, level*ratio*math.Exp(t3()*sd))
	}
	return a, b
}

// The schedule the plan races with mixes tests: the paired t-test at 3
// pairs, the signed-rank test at 6 and 8. A true tie is broken at most at
// rate α, with normal or heavy-tailed noise; a challenger 20% behind is
// dropped in nearly every race, and a clear loser (half the leader) at
// the first look.
func TestRaceScheduleErrorControl(t *testing.T) {
	r := Race{Alpha: 0.05, Looks: 3, MinEffect: 0.10}
	looks := []int{3, 6, 8}
	if r.MinPairs() > 6 {
		t.Fatalf("the signed-rank test needs %d pairs: the second look could not drop anything", r.MinPairs())
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const runs = 4000
	for _, gen := range []struct {
		name string
		f    func(*rand.Rand, int, float64, float64) ([]float64, []float64)
	}{{"normal", drifting}, {"heavy-tailed", heavy}} {
		broken := 0
		for range runs {
			a, b := gen.f(rng, 8, 1, 0.1)
			if drop, _ := raceAt(r, looks, a, b); drop {
				broken++
			}
		}
		t.Logf("%s noise: tie broken in %.2f%% of races", gen.name, 100*float64(broken)/runs)
		if rate := float64(broken) / runs; rate > r.Alpha {
			t.Errorf("%s noise: a true tie was broken %.1f%% of the time, want at most %.0f%%", gen.name, 100*rate, 100*r.Alpha)
		}
		// A tie with a minimum effect far below the noise: the level
		// itself is what holds, not the minimum effect.
		r0 := r
		r0.MinEffect = 0
		broken = 0
		for range runs {
			a, b := gen.f(rng, 8, 1, 0.1)
			if drop, _ := raceAt(r0, looks, a, b); drop {
				broken++
			}
		}
		t.Logf("%s noise, no minimum effect: tie broken in %.2f%% of races", gen.name, 100*float64(broken)/runs)
		if rate := float64(broken) / runs; rate > r.Alpha {
			t.Errorf("%s noise, no minimum effect: a true tie was broken %.1f%% of the time, want at most %.0f%%", gen.name, 100*rate, 100*r.Alpha)
		}
	}
	separated, first := 0, 0
	for range runs {
		a, b := drifting(rng, 8, 0.8, 0.05)
		if drop, _ := raceAt(r, looks, a, b); drop {
			separated++
		}
		a, b = drifting(rng, 8, 0.5, 0.05)
		if drop, at := raceAt(r, looks, a, b); drop && at == 0 {
			first++
		}
	}
	t.Logf("20%% behind: dropped in %.1f%% of races; half the leader: at the first look in %.1f%%", 100*float64(separated)/runs, 100*float64(first)/runs)
	if rate := float64(separated) / runs; rate < 0.95 {
		t.Errorf("a challenger 20%% behind was dropped in only %.1f%% of races", 100*rate)
	}
	if rate := float64(first) / runs; rate < 0.95 {
		t.Errorf("a challenger at half the leader was dropped at the first look in only %.1f%% of races", 100*rate)
	}
}
