package rank

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

// A run a racing plan stopped is shown, not ranked: the verdict says why,
// and Unscored refuses its numbers so no report crowns them.
func TestRankStoppedRun(t *testing.T) {
	f := clearWinner(8)
	stop := &results.Stop{After: 3, Reason: "stopped after 3 trials: behind fast 2x4 crud on throughput, 0.33× its req/s [0.30, 0.36] pair by pair (paired t p = 0.004, 3 pairs; level 0.025)"}
	f.Runs[2].Stopped = stop
	f.Runs[2].Trials = f.Runs[2].Trials[:3]
	rk, v := must(t, f, "")
	if got := positions(rk); got != "fast=1 mid=2" {
		t.Errorf("positions %s", got)
	}
	found := false
	for _, n := range v.Notes {
		found = found || strings.Contains(n, "not ranked: slow 2x4 crud, out of the race: "+stop.Reason)
	}
	if !found {
		t.Errorf("no note for the stopped run: %q", v.Notes)
	}
	if e := Unscored(f.Runs[2], RPS); e == nil || !strings.Contains(e.Label, "out of the race after 3 trials") {
		t.Errorf("Unscored = %+v", e)
	}
}

// Paired trials on a drifting machine: trial t of both servers saw the
// same level (×0.5 to ×2), b runs 12% faster within each pair. Unpaired,
// the drift hides the difference; pair by pair it is plain, and the
// reason gives the ratio with its interval.
func TestRankPairedSeparatesDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var ra, rb, pa []float64
	for i := range 8 {
		level := math.Exp(rng.Float64()*math.Ln2*2 - math.Ln2)
		ra = append(ra, 2000*level*(1+0.003*float64(i%3)))
		rb = append(rb, 2240*level*(1-0.003*float64(i%2)))
		pa = append(pa, 20)
	}
	f := file(srv{name: "a", rps: ra, p99: pa, pssMiB: 100}, srv{name: "b", rps: rb, p99: pa, pssMiB: 100})
	rk, _ := must(t, f, "throughput")
	if got := positions(rk); got != "b=1 a=2" {
		t.Fatalf("positions %s; reasons %q", got, rk[0].Reasons)
	}
	r := strings.Join(rk[0].Reasons, " | ")
	if !strings.Contains(r, "b / a throughput 1.1") || !strings.Contains(r, "pair by pair, 8 pairs") {
		t.Errorf("reasons %q: want the ratio pair by pair", r)
	}
	// Shuffle b's trials' indexes: the pairs no longer ran side by side,
	// and the same numbers no longer separate.
	perm := rng.Perm(8)
	for i := range f.Runs[1].Trials {
		f.Runs[1].Trials[i].Index = perm[i] + 100
	}
	rk, _ = must(t, f, "throughput")
	if got := positions(rk); got != "b=1 a=1" {
		t.Errorf("unpaired positions %s, want a tie", got)
	}
}

func TestRaceMetric(t *testing.T) {
	for _, c := range []struct{ profile, want string }{
		{"", RaceScore}, {"throughput", RPS}, {"latency", RaceScore}, {"memory", RaceScore}, {"efficiency", RaceScore},
		{"robustness=3,errors=1", RPS}, {"p99=2,errors=1", P99}, {"capacity=1,rps=2", RPS},
	} {
		p, err := ParseProfile(c.profile)
		if err != nil {
			t.Fatal(err)
		}
		if got := RaceMetric(p); got != c.want {
			t.Errorf("RaceMetric(%s) = %s, want %s", c.profile, got, c.want)
		}
	}
	p, _ := ParseProfile(DefaultProfile)
	if w := RaceWeights(p); len(w) != 3 || w[RPS] != 4 || w[P99] != 3 || w[Memory] != 2 {
		t.Errorf("RaceWeights(%s) = %v, want rps 4 (capacity), p99 3, memory 2", DefaultProfile, w)
	}
}
