package rank

import (
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

// A resample keeps trials that ran side by side together: the k-th trial
// of every run with the same count comes from the same round.
func TestResampleKeepsPairs(t *testing.T) {
	f := file(
		srv{name: "a", rps: []float64{100, 101, 102, 103, 104, 105}, p99: around(30, 1, 6), pssMiB: 100},
		srv{name: "b", rps: []float64{200, 201, 202, 203, 204, 205}, p99: around(30, 1, 6), pssMiB: 100},
	)
	slices.Reverse(f.Runs[1].Trials) // order in the file is not order of rounds
	before := slices.Clone(f.Runs[0].Trials)
	u := []float64{0.9, 0.9, 0.1, 0.5, 0.0, 0.99}
	g := resample(f, u)
	for k := range 6 {
		ta, tb := g.Runs[0].Trials[k], g.Runs[1].Trials[k]
		if ta.Index != k || tb.Index != k {
			t.Fatalf("trial %d has indexes %d, %d", k, ta.Index, tb.Index)
		}
		if tb.RPS-ta.RPS != 100 {
			t.Errorf("resampled trial %d pairs round %v of a with round %v of b", k, ta.RPS-100, tb.RPS-200)
		}
		if want := 100 + float64(int(u[k]*6)); ta.RPS != want {
			t.Errorf("trial %d is %v, want %v", k, ta.RPS, want)
		}
	}
	if !reflect.DeepEqual(f.Runs[0].Trials, before) {
		t.Error("resample changed the file it read")
	}
}

func TestFirmness(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a, b     []float64 // req/s per trial, ranked on rps alone
		same     [2]int    // the range Same must fall in, of 100
		aFirstAt int       // the least a must be first in
	}{
		// Every trial of a beats every trial of b by far: firm.
		{"far apart", []float64{300, 305, 310, 295, 302, 308}, []float64{200, 205, 199, 203, 201, 198}, [2]int{100, 100}, 100},
		// Interleaved: a tie that stays a tie in nearly every resample.
		{"the same", []float64{200, 202, 198, 201, 199, 203}, []float64{201, 199, 202, 198, 200, 197}, [2]int{80, 100}, 100},
		// a 10% ahead in five pairs of six, b ahead in the sixth by the
		// least: the signed-rank p is 0.0625 and they tie; a resample
		// without that pair ((5/6)^6, a third of them) separates them.
		{"near the threshold", []float64{220, 222, 218, 221, 219, 200}, []float64{200, 201, 199, 200, 198, 205}, [2]int{45, 85}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := file(srv{name: "a", rps: tc.a, p99: around(30, 0, len(tc.a)), pssMiB: 100},
				srv{name: "b", rps: tc.b, p99: around(30, 0, len(tc.b)), pssMiB: 100})
			f.Plan.Seed = 7
			fm, err := Firmness(f, Options{Profile: "rps=1"}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if fm.Resamples != 100 || fm.Same < tc.same[0] || fm.Same > tc.same[1] {
				t.Errorf("same first place in %d of %d resamples, want %d–%d", fm.Same, fm.Resamples, tc.same[0], tc.same[1])
			}
			if i := slices.IndexFunc(fm.InFirst, func(c results.ServerCount) bool { return c.Server == "a" }); i < 0 || fm.InFirst[i].Count < tc.aFirstAt {
				t.Errorf("a first in %+v, want at least %d", fm.InFirst, tc.aFirstAt)
			}
			again, _ := Firmness(f, Options{Profile: "rps=1"}, 100)
			if !reflect.DeepEqual(fm, again) {
				t.Errorf("two counts of one file differ: %+v, %+v", fm, again)
			}
			t.Logf("%+v", fm)
		})
	}
}

// BenchmarkFirmness re-ranks a results file named by FIRMNESS_FILE.
func BenchmarkFirmness(b *testing.B) {
	f, err := results.Read(os.Getenv("FIRMNESS_FILE"))
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, err := Firmness(f, Options{}, 10); err != nil {
			b.Fatal(err)
		}
	}
}
