package rank

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

// tradeOff: "big" has twice the capacity, "lean" a quarter of the memory.
// On capacity=4,memory=2 big wins; without capacity, or with memory
// doubled, lean does.
func tradeOff() *results.File {
	return file(
		srv{name: "big", rps: around(3000, 10, 5), p99: around(30, 0.2, 5), pssMiB: 200, capacity: 2600},
		srv{name: "lean", rps: around(1500, 10, 5), p99: around(30, 0.2, 5), pssMiB: 50, capacity: 1300},
	)
}

// troubled: the same trials; a fails under slow clients, b loses more to
// a killed worker. b wins on the mean; without slow clients, a does.
func troubled() *results.File {
	f := file(
		srv{name: "a", rps: around(1000, 10, 5), p99: around(30, 0.2, 5), pssMiB: 100},
		srv{name: "b", rps: around(1000, 10, 5), p99: around(30, 0.2, 5), pssMiB: 100},
	)
	rob := func(server string, slow, killed float64) results.Robustness {
		return results.Robustness{Server: server, Score: (slow + killed) / 2, Scenarios: []results.TroubleCase{
			{ID: "slow-headers", Retained: slow},
			{ID: "worker-killed", Retained: killed, Recovered: true},
			{ID: "slow-threshold", Unscored: true, Threshold: 2, ThresholdMax: 64},
		}}
	}
	f.Robustness = []results.Robustness{rob("a", 0.1, 0.95), rob("b", 0.9, 0.5)}
	return f
}

func TestFactors(t *testing.T) {
	type want struct {
		leftOut, doubled string // winners after the variation, joined by ","
	}
	tests := []struct {
		name    string
		f       *results.File
		profile string
		first   string          // the factor ordered first
		want    map[string]want // by factor key
		winners map[string]string
	}{
		{
			name: "capacity against memory", f: tradeOff(), profile: "capacity=4,memory=2",
			first: FactorCapacity,
			want: map[string]want{
				FactorCapacity: {leftOut: "lean", doubled: "big"},
				FactorMemory:   {leftOut: "big", doubled: "lean"},
				FactorLatency:  {leftOut: "big", doubled: "big"},
			},
			winners: map[string]string{DefaultProfile: "big", "memory": "lean", "throughput": "big"},
		},
		{
			name: "parallelism carries a forked server past a single process", f: projectedFile(4), profile: "capacity=1",
			first: FactorParallelism,
			want: map[string]want{
				FactorParallelism: {leftOut: "single", doubled: "forked"},
				FactorCapacity:    {leftOut: "", doubled: "forked"}, // nothing else weighted
			},
		},
		{
			name: "slow clients decide", f: troubled(), profile: "rps=1,robustness=4",
			first: FactorSlowClients,
			want: map[string]want{
				FactorSlowClients: {leftOut: "a", doubled: "b"},
				FactorCrash:       {leftOut: "b", doubled: "a,b"}, // a scores higher, but within 10%: a tie
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := Factors(tc.f, Options{Profile: tc.profile})
			if err != nil {
				t.Fatal(err)
			}
			if len(tab.Factors) == 0 || tab.Factors[0].Key != tc.first {
				var keys []string
				for _, fa := range tab.Factors {
					keys = append(keys, fa.Key)
				}
				t.Fatalf("factors in order %v, want %s first", keys, tc.first)
			}
			for key, w := range tc.want {
				i := slices.IndexFunc(tab.Factors, func(fa Factor) bool { return fa.Key == key })
				if i < 0 {
					t.Errorf("factor %s missing", key)
					continue
				}
				fa := tab.Factors[i]
				if got := strings.Join(fa.LeftOut.Winners, ","); got != w.leftOut {
					t.Errorf("%s left out: winners %q, want %q (%s)", key, got, w.leftOut, fa.LeftOut.Describe())
				}
				if got := strings.Join(fa.Doubled.Winners, ","); got != w.doubled {
					t.Errorf("%s doubled: winners %q, want %q (%s)", key, got, w.doubled, fa.Doubled.Describe())
				}
				base := strings.Join(tab.Winners, ",")
				if fa.LeftOut.Err == "" && fa.LeftOut.WinnerChanged != (w.leftOut != base) {
					t.Errorf("%s left out: WinnerChanged = %v with winners %q against %q", key, fa.LeftOut.WinnerChanged, w.leftOut, base)
				}
			}
			// Factors are in order of effect.
			for i := 1; i < len(tab.Factors); i++ {
				a, b := tab.Factors[i-1], tab.Factors[i]
				wa, da, _ := a.effect()
				wb, db, _ := b.effect()
				if wa < wb || (wa == wb && da < db) {
					t.Errorf("%s (%d, %d) ordered before %s (%d, %d)", a.Key, wa, da, b.Key, wb, db)
				}
			}
			for p, w := range tc.winners {
				i := slices.IndexFunc(tab.Profiles, func(pw ProfileWinner) bool { return pw.Profile == p })
				if i < 0 || strings.Join(tab.Profiles[i].Winners, ",") != w {
					t.Errorf("profile %s: %+v, want winner %s", p, tab.Profiles, w)
				}
			}
			if len(tab.Profiles) != len(Profiles()) {
				t.Errorf("%d profile winners, want %d", len(tab.Profiles), len(Profiles()))
			}
		})
	}
}

// The values are what the ranking scored, with separation marks by the
// ranking's own rules.
func TestFactorValues(t *testing.T) {
	tab, err := Factors(projectedFile(4), Options{Profile: "capacity=1"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) Factor {
		for _, fa := range append(tab.Factors, tab.Unmeasured...) {
			if fa.Key == key {
				return fa
			}
		}
		t.Fatalf("no factor %s", key)
		return Factor{}
	}
	if got := []string{tab.Servers[0].Server, tab.Servers[1].Server}; !slices.Equal(got, []string{"forked", "single"}) {
		t.Fatalf("servers %v", got)
	}
	par := get(FactorParallelism)
	if v := par.Values; !v[0].Has || v[0].Value != 4 || v[1].Value != 1 || !strings.Contains(v[0].Text, "capped at the target's 4") {
		t.Errorf("parallelism values %+v", v)
	}
	if !par.Values[0].Separated || par.Values[0].Score != 1 || par.Values[1].Score != 0.25 {
		t.Errorf("parallelism marks/scores %+v", par.Values)
	}
	capf := get(FactorCapacity)
	if v := capf.Values[0]; v.Value != 2800 || !strings.Contains(v.Text, "projected for 4 cores") {
		t.Errorf("capacity value %+v", v)
	}
	if capf.Values[0].Separated != true {
		t.Errorf("capacity 2800 vs 900, 5 trials each, is not marked separated: %+v", capf.Values)
	}
	if m := get(FactorSlowClients); len(m.Values) != 2 || m.Values[0].Has {
		t.Errorf("slow clients were not tried, yet %+v", m.Values)
	}
	if i := slices.IndexFunc(tab.Unmeasured, func(fa Factor) bool { return fa.Key == FactorSlowClients }); i < 0 {
		t.Error("slow clients not listed as unmeasured")
	}

	tr, err := Factors(troubled(), Options{Profile: "rps=1,robustness=4"})
	if err != nil {
		t.Fatal(err)
	}
	for _, fa := range tr.Factors {
		if fa.Key != FactorSlowClients {
			continue
		}
		if v := fa.Values; v[0].Text != "kept 90%; 2 slow clients halve its throughput" || !v[0].Separated || math.Abs(v[1].Score-0.1/0.9) > 1e-9 {
			t.Errorf("slow clients values %+v", v)
		}
	}
}

// A trouble factor whose scenarios were repeated separates two servers by
// the ranges over the runs, as the ranking does; run once, by the margin.
func TestFactorScenarioRanges(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hi, lo    results.TroubleCase // the hung request, for the higher and the lower server
		separated bool
	}{
		{"repeated, 5% apart, ranges apart", sc("hung-request", .95, .94, .96, 3), sc("hung-request", .90, .89, .91, 3), true},
		{"run once, 5% apart", sc("hung-request", .95, .94, .96, 0), sc("hung-request", .90, .89, .91, 0), false},
		{"repeated, 16% apart, ranges overlap", sc("hung-request", .95, .80, 1, 3), sc("hung-request", .80, .70, .85, 3), false},
		{"run once, 16% apart", sc("hung-request", .95, .80, 1, 0), sc("hung-request", .80, .70, .85, 0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := file(
				srv{name: "a", rps: around(1000, 10, 5), p99: around(30, 0.2, 5), pssMiB: 100},
				srv{name: "b", rps: around(1000, 10, 5), p99: around(30, 0.2, 5), pssMiB: 100},
			)
			f.Robustness = []results.Robustness{robustnessOf("a", tc.hi), robustnessOf("b", tc.lo)}
			tab, err := Factors(f, Options{Profile: "rps=1,robustness=4"})
			if err != nil {
				t.Fatal(err)
			}
			if tab.Servers[0].Server != "a" {
				t.Fatalf("servers %+v", tab.Servers)
			}
			i := slices.IndexFunc(tab.Factors, func(fa Factor) bool { return fa.Key == FactorHung })
			if i < 0 {
				t.Fatal("no hung-request factor")
			}
			if got := tab.Factors[i].Values[0].Separated; got != tc.separated {
				t.Errorf("separated = %v, want %v: %+v", got, tc.separated, tab.Factors[i].Values)
			}
		})
	}
}

// Weighing scenarios or probes by 1 gives back the stored scores, so a
// factor's effect is the variation's alone.
func TestWeighIdentity(t *testing.T) {
	f := troubled()
	f.Robustness[0].Score = 0.61 // stored scores may carry repeats' medians
	g := weighScenarios(f, []string{"slow-headers"}, 1)
	if g.Robustness[0].Score != 0.61 || f.Robustness[0].Score != 0.61 {
		t.Errorf("mult 1 changed the score: %v", g.Robustness[0].Score)
	}
	g = weighScenarios(f, []string{"slow-headers"}, 0)
	if want := 0.61 + 0.95 - 0.525; math.Abs(g.Robustness[0].Score-want) > 1e-9 {
		t.Errorf("left out: score %v, want %v", g.Robustness[0].Score, want)
	}
	g = weighScenarios(f, []string{"slow-headers", "worker-killed"}, 0)
	if g.Robustness[0].Scenarios != nil || f.Robustness[0].Scenarios == nil {
		t.Error("with every scored scenario left out the server must have none (and f must keep its own)")
	}

	cases := []results.ProbeCase{
		{ID: "keep-alive", Outcome: "fail"}, {ID: "pipelining", Outcome: "pass"},
		{ID: "head", Outcome: "pass"}, {ID: "garbage", Outcome: "warn"}, {ID: "te-unknown", Outcome: "error"},
	}
	f.Conformance = []results.Conformance{{Server: "a", Cases: cases, Pass: 2, Warn: 1, Fail: 1, Score: 2.5 / 4}}
	ka := factorDefs[slices.IndexFunc(factorDefs, func(d factorDef) bool { return d.key == FactorKeepAlive })]
	tests := []struct {
		mult, want float64
	}{
		{1, 2.5 / 4},
		{0, 1.5 / 2}, // head pass, garbage warn
		{2, 3.5 / 6}, // keep-alive and pipelining twice
	}
	for _, tc := range tests {
		g := weighProbes(f, ka, tc.mult)
		if math.Abs(g.Conformance[0].Score-tc.want) > 1e-9 {
			t.Errorf("keep-alive ×%v: score %v, want %v", tc.mult, g.Conformance[0].Score, tc.want)
		}
	}
	if f.Conformance[0].Score != 2.5/4 {
		t.Error("weighProbes changed f")
	}
}

func TestCompareRankings(t *testing.T) {
	rk := func(pairs ...any) []results.Rank {
		var out []results.Rank
		for i := 0; i < len(pairs); i += 3 {
			out = append(out, results.Rank{Server: pairs[i].(string), Position: pairs[i+1].(int), Score: float64(pairs[i+2].(int))})
		}
		return out
	}
	base := rk("a", 1, 90, "b", 2, 80, "c", 3, 60)
	tests := []struct {
		name string
		v    []results.Rank
		want Variation
	}{
		{"same", rk("a", 1, 90, "b", 2, 80, "c", 3, 60), Variation{Winners: []string{"a"}}},
		{"gaps only", rk("a", 1, 100, "b", 2, 80, "c", 3, 70), Variation{Winners: []string{"a"}, GapChange: (0 + 10 + 0) / 3.0}},
		{"swap at the top", rk("b", 1, 90, "a", 2, 85, "c", 3, 60), Variation{
			Winners: []string{"b"}, WinnerChanged: true, Displaced: 2, GapChange: round2((5 + 10 + 0) / 3.0),
			Moves: []Move{{"a", 1, 2}, {"b", 2, 1}}}},
		{"tie for first", rk("a", 1, 90, "c", 1, 89, "b", 3, 80), Variation{
			Winners: []string{"a", "c"}, WinnerChanged: true, Displaced: 3, GapChange: round2((0 + 0 + 29) / 3.0),
			Moves: []Move{{"b", 2, 3}, {"c", 3, 1}}}},
		{"dropped", rk("a", 1, 90, "b", 2, 80), Variation{Winners: []string{"a"}, Moves: []Move{{"c", 3, 0}}}},
	}
	for _, tc := range tests {
		got := compareRankings(base, tc.v, 1)
		tc.want.GapChange = round2(tc.want.GapChange)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// FactorsFor reads the options back from the stored verdict, custom
// weights included, and changes nothing in the file.
func TestFactorsFor(t *testing.T) {
	f := tradeOff()
	if err := Apply(f, "capacity=4,memory=2", 0); err != nil {
		t.Fatal(err)
	}
	before := positions(f.Ranking)
	tab, err := FactorsFor(f)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Profile != "custom" || strings.Join(tab.Winners, ",") != "big" {
		t.Errorf("profile %s winners %v", tab.Profile, tab.Winners)
	}
	if positions(f.Ranking) != before {
		t.Error("FactorsFor changed the ranking")
	}
}

// A stored ranking made by other rules is flagged, not silently replaced.
func TestFactorsRestated(t *testing.T) {
	f := tradeOff()
	if err := Apply(f, "capacity=4,memory=2", 0); err != nil {
		t.Fatal(err)
	}
	if tab, _ := FactorsFor(f); tab.Restated {
		t.Error("a ranking made by these rules is flagged as restated")
	}
	f.Ranking[0].Score += 3
	if tab, _ := FactorsFor(f); !tab.Restated {
		t.Error("a stored ranking with other scores is not flagged")
	}
}

// TestEqualFactorMovesNothing: a factor on which every server scores the
// same (no failed requests anywhere) changes no gap when left out or
// doubled, though the weighted mean's denominator changes with it; it must
// not be ordered above a factor that does separate the servers.
func TestEqualFactorMovesNothing(t *testing.T) {
	tab, err := Factors(tradeOff(), Options{Profile: "capacity=4,memory=2,errors=1"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, f := range tab.Factors {
		pos[f.Key] = i
		// Scores are stored to 0.1 point: what is left is rounding.
		if f.Key == FactorErrors && (f.LeftOut.GapChange > 0.1 || f.Doubled.GapChange > 0.1 || f.LeftOut.Displaced != 0) {
			t.Errorf("errors, equal for both servers, moved gaps by %v and %v", f.LeftOut.GapChange, f.Doubled.GapChange)
		}
	}
	if e, ok := pos[FactorErrors]; ok && (e < pos[FactorCapacity] || e < pos[FactorMemory]) {
		t.Errorf("errors ordered before a factor that separates the servers: %v", pos)
	}
}
