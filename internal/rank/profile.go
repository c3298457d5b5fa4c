package rank

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
)

// Metric keys, as used in weights ("capacity=3,p99=2").
const (
	Capacity    = "capacity"    // highest rate with p99 under the goal (req/s)
	RPS         = "rps"         // closed-loop throughput, 2xx responses/s
	P50         = "p50"         // median latency (ms)
	P99         = "p99"         // tail latency (ms)
	Memory      = "memory"      // peak PSS of the process tree (RSS if PSS was not measured)
	CPU         = "cpu"         // server CPU ms per 1000 responses
	Errors      = "errors"      // share of requests that failed
	Robustness  = "robustness"  // score from the robustness suite (0-1), when present
	Correctness = "correctness" // share of conformance probes passed (0-1), when present
)

// Metric describes how one metric is read and which way is better.
type Metric struct {
	Key          string
	Name         string // as it reads in a sentence
	HigherBetter bool
}

var metrics = []Metric{
	{Capacity, "capacity", true},
	{RPS, "req/s", true},
	{P50, "p50 latency", false},
	{P99, "p99 latency", false},
	{Memory, "memory", false},
	{CPU, "CPU per request", false},
	{Errors, "failed requests", false},
	{Robustness, "robustness", true},
	{Correctness, "correctness", true},
}

// Metrics lists every metric a profile can weight, in display order.
func Metrics() []Metric { return append([]Metric(nil), metrics...) }

func metricByKey(key string) (Metric, bool) {
	for _, m := range metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

// Profile is a named set of weights: what matters for one kind of
// deployment.
type Profile struct {
	Name        string
	Description string // completes "best for …"
	Weights     []results.Weight
}

// DefaultProfile fits the app wsgibench is built around: a CRUD app behind
// a cache, where the server must take the traffic that misses the cache at
// the latency goal, keep its tail short, fit in memory, and be robust and
// correct.
const DefaultProfile = "crud-behind-cache"

func w(pairs ...any) []results.Weight {
	var ws []results.Weight
	for i := 0; i < len(pairs); i += 2 {
		ws = append(ws, results.Weight{Metric: pairs[i].(string), Weight: float64(pairs[i+1].(int))})
	}
	return ws
}

var profiles = []Profile{
	{DefaultProfile, "a CRUD app behind a cache",
		w(Capacity, 4, P99, 3, Memory, 2, Errors, 1, Robustness, 1, Correctness, 1)},
	{"throughput", "raw throughput", w(RPS, 4, Capacity, 2, Errors, 1)},
	{"latency", "low latency", w(P99, 4, P50, 2, Capacity, 1, Errors, 1)},
	{"memory", "a small VPS, where memory is scarce", w(Memory, 4, Capacity, 2, P99, 1, Errors, 1)},
	{"efficiency", "CPU efficiency (cost per request)", w(CPU, 4, Memory, 2, Capacity, 1, Errors, 1)},
}

// Profiles lists the named profiles, the default first.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	for i, p := range profiles {
		p.Weights = append([]results.Weight(nil), p.Weights...)
		out[i] = p
	}
	return out
}

// ParseProfile reads a profile name, or custom weights such as
// "capacity=3,p99=2,memory=1"; "" is the default profile. Custom weights
// come back in the metrics' display order, without zero weights, so the
// same weights written differently rank the same.
func ParseProfile(s string) (Profile, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultProfile
	}
	if !strings.Contains(s, "=") {
		for _, p := range Profiles() {
			if p.Name == s {
				return p, nil
			}
		}
		return Profile{}, fmt.Errorf("unknown profile %q: use one of %s, or weights such as capacity=3,p99=2,memory=1", s, profileNames())
	}
	given := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Profile{}, fmt.Errorf("weights %q: empty entry between commas", s)
		}
		key, val, ok := strings.Cut(part, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" {
			return Profile{}, fmt.Errorf("weights: %q is not metric=weight (e.g. capacity=3)", part)
		}
		if _, ok := metricByKey(key); !ok {
			return Profile{}, fmt.Errorf("weights: unknown metric %q; metrics are %s", key, metricKeys())
		}
		if _, dup := given[key]; dup {
			return Profile{}, fmt.Errorf("weights: %s is given twice", key)
		}
		x, err := strconv.ParseFloat(val, 64)
		if err != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
			return Profile{}, fmt.Errorf("weights: %s=%s: the weight must be a number ≥ 0", key, val)
		}
		given[key] = x
	}
	p := Profile{Name: "custom", Description: "your weights"}
	for _, m := range metrics {
		if x := given[m.Key]; x > 0 {
			p.Weights = append(p.Weights, results.Weight{Metric: m.Key, Weight: x})
		}
	}
	if len(p.Weights) == 0 {
		return Profile{}, fmt.Errorf("weights %q: every weight is 0; give at least one metric a positive weight", s)
	}
	return p, nil
}

func profileNames() string {
	var names []string
	for _, p := range profiles {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

func metricKeys() string {
	var keys []string
	for _, m := range metrics {
		keys = append(keys, m.Key)
	}
	return strings.Join(keys, ", ")
}

// FormatWeights writes weights back in the form ParseProfile reads.
func FormatWeights(ws []results.Weight) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, w.Metric+"="+strconv.FormatFloat(w.Weight, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}
