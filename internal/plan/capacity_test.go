package plan

import (
	"context"
	"slices"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsgibench/wsgibench/internal/load"

	"github.com/wsgibench/wsgibench/internal/results"
)

// simulated is a server whose p99 stays low until the knee, then explodes.
func simulated(knee float64, calls *int) capacityProber {
	return func(ctx context.Context, rate float64) (results.CapacityStep, error) {
		*calls++
		p99 := 5.0
		if rate > knee {
			p99 = 5 + (rate-knee)*10
		}
		s := results.CapacityStep{Rate: rate, Achieved: rate, P99MS: p99}
		s.Pass = p99 <= 100
		return s, nil
	}
}

func TestSearchCapacity(t *testing.T) {
	for _, tc := range []struct {
		name        string
		knee, hint  float64
		probes      int
		wantLo      float64
		wantHi      float64
		wantLimit   string
		wantMaxCall int
	}{
		// Pass limit is knee+9.5 (p99 = 100 there).
		{"knee above hint", 1500, 1000, 10, 1400, 1510, "p99", 10},
		{"knee below half the hint", 200, 1000, 10, 190, 210, "p99", 10},
		{"budget runs out while still passing", 1e9, 1000, 3, 1800, 1800, "probe budget (capacity is at least this)", 3},
		{"knee near the hint: few probes", 1000, 1000, 10, 950, 1010, "p99", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			c, err := searchCapacity(context.Background(), simulated(tc.knee, &calls), tc.hint, 100, tc.probes)
			if err != nil {
				t.Fatal(err)
			}
			if c.RPS < tc.wantLo || c.RPS > tc.wantHi {
				t.Errorf("capacity %.0f, want in [%.0f, %.0f]; steps %+v", c.RPS, tc.wantLo, tc.wantHi, c.Steps)
			}
			if c.Limit != tc.wantLimit {
				t.Errorf("limit %q, want %q", c.Limit, tc.wantLimit)
			}
			if calls > tc.wantMaxCall || len(c.Steps) != calls {
				t.Errorf("%d probes, %d steps recorded", calls, len(c.Steps))
			}
			// Every passing step is at or below the reported capacity.
			for _, s := range c.Steps {
				if s.Pass && s.Rate > c.RPS {
					t.Errorf("passing step %.0f above capacity %.0f", s.Rate, c.RPS)
				}
			}
		})
	}
}

func TestSearchCapacityStopsWhenGeneratorBound(t *testing.T) {
	calls := 0
	probe := func(ctx context.Context, rate float64) (results.CapacityStep, error) {
		calls++
		if rate > 800 {
			return results.CapacityStep{Rate: rate, Achieved: 800, P99MS: 3, GeneratorBound: true}, nil
		}
		return results.CapacityStep{Rate: rate, Achieved: rate, P99MS: 3, Pass: true}, nil
	}
	c, _ := searchCapacity(context.Background(), probe, 1000, 100, 10)
	if c.Limit != "generator-bound" || calls != 2 {
		t.Errorf("limit %q after %d probes; want generator-bound after 2 (800 pass, 1200 bound)", c.Limit, calls)
	}
}

func TestFailReason(t *testing.T) {
	for _, tc := range []struct {
		s    results.CapacityStep
		want string
	}{
		{results.CapacityStep{Rate: 100, Achieved: 100, P99MS: 500}, "p99"},
		{results.CapacityStep{Rate: 100, Achieved: 100, P99MS: 5, ErrorRate: 0.01}, "errors"},
		{results.CapacityStep{Rate: 100, Achieved: 50, P99MS: 5}, "rate not achieved"},
		{results.CapacityStep{Rate: 100, Achieved: 50, P99MS: 5, GeneratorBound: true}, "generator-bound"},
	} {
		if got := failReason(tc.s, 100); got != tc.want {
			t.Errorf("failReason(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	lat := func(ms int64) *hdrhistogram.Histogram {
		h := load.NewHistogram()
		for i := 0; i < 100; i++ {
			h.RecordValue(ms * 1000)
		}
		return h
	}
	for _, tc := range []struct {
		name string
		res  load.Result
		pass bool
	}{
		{"in flight at the end is fine", load.Result{TargetRate: 1000, Elapsed: 2 * time.Second, Requests: 1940, Unfinished: 60,
			OldestUnfinished: 60 * time.Millisecond, Latency: lat(50)}, true},
		{"sends fell behind", load.Result{TargetRate: 1000, Elapsed: 2 * time.Second, Requests: 1800, Unfinished: 10,
			Latency: lat(50)}, false},
		{"a request stuck past the goal", load.Result{TargetRate: 1000, Elapsed: 2 * time.Second, Requests: 1990, Unfinished: 10,
			OldestUnfinished: 1500 * time.Millisecond, Latency: lat(50)}, false},
		{"p99 over goal", load.Result{TargetRate: 1000, Elapsed: 2 * time.Second, Requests: 2000, Latency: lat(150)}, false},
		{"errors over budget", load.Result{TargetRate: 1000, Elapsed: 2 * time.Second, Requests: 2000, Errors: load.Errors{Status: 10},
			Latency: lat(5)}, false},
	} {
		if s := judge(&tc.res, 100); s.Pass != tc.pass {
			t.Errorf("%s: pass=%v, want %v (%+v)", tc.name, s.Pass, tc.pass, s)
		}
	}
}

// The search's first failure at or below the closed-loop throughput is
// probed again; a failure above it, or a second one, is believed at once.
func TestSearchCapacityRetriesTheFirstFailure(t *testing.T) {
	for _, tc := range []struct {
		name        string
		hint        float64
		flaky       map[float64]int // rate -> failures before it passes
		wantRates   []float64
		wantRPS     float64
		wantRetried int
	}{
		// A fresh server fails its first window at 800 and passes the
		// repeat: the search goes on up, as if it had passed.
		{"first window spurious", 1000, map[float64]int{800: 1},
			[]float64{800, 800, 1200, 1000, 1100, 1150}, 1150, 1},
		// It fails again: believed, and the search goes down from there.
		{"first failure real", 1000, map[float64]int{800: 2},
			[]float64{800, 800, 400, 600, 700, 750, 775}, 775, 1},
		// Only once a search: 1000 fails the first time too (it passes
		// on the next probe) but is believed.
		{"only the first failure", 1000, map[float64]int{800: 1, 1000: 1},
			[]float64{800, 800, 1200, 1000, 900, 950, 975}, 975, 1},
		// Above the closed-loop throughput a failure is expected: no repeat.
		{"above the hint", 700, map[float64]int{},
			[]float64{560, 840, 1260, 1050, 1155, 1208}, 1155, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[float64]int{}
			probe := func(ctx context.Context, rate float64) (results.CapacityStep, error) {
				seen[rate]++
				pass := rate <= 1180 && seen[rate] > tc.flaky[rate]
				return results.CapacityStep{Rate: rate, Achieved: rate, P99MS: 5, Pass: pass}, nil
			}
			c, err := searchCapacity(context.Background(), probe, tc.hint, 100, 10)
			if err != nil {
				t.Fatal(err)
			}
			var rates []float64
			retried := 0
			for _, s := range c.Steps {
				rates = append(rates, s.Rate)
				if s.Retried {
					retried++
					if s.Pass {
						t.Errorf("step %+v passed and is marked retried", s)
					}
				}
			}
			if !slices.Equal(rates, tc.wantRates) || c.RPS != tc.wantRPS || retried != tc.wantRetried {
				t.Errorf("rates %v capacity %.0f retried %d; want %v, %.0f, %d", rates, c.RPS, retried, tc.wantRates, tc.wantRPS, tc.wantRetried)
			}
		})
	}
}
