package rank

// RaceScore is the race metric that combines what every trial measures
// with the profile's weights (RaceWeights), as the ranking's score does.
const RaceScore = "score"

// RaceMetric is the metric a racing plan judges trials on for profile p:
// RaceScore when the profile weights more than one metric that every trial
// measures, else that metric; rps when none is.
//
// Racing on one metric stopped servers the verdict would have kept: on
// 2026-12-04 gevent 1×1 led the first look on closed-loop req/s and
// stopped uWSGI 1×8 at 0.88× its req/s, though uWSGI's p99 was a quarter
// of gevent's; gevent itself was out of reach of first place once its
// capacity search came in, and the exhaustive run ties uWSGI 1×8 for
// first.
func RaceMetric(p Profile) string {
	w := RaceWeights(p)
	switch len(w) {
	case 0:
		return RPS
	case 1:
		for k := range w {
			return k
		}
	}
	return RaceScore
}

// RaceWeights are p's weights on the metrics every trial measures:
// capacity stands on closed-loop req/s, which the capacity search is run
// around, and adds to its weight; errors, robustness and correctness are
// not raced on.
func RaceWeights(p Profile) map[string]float64 {
	out := map[string]float64{}
	for _, x := range p.Weights {
		key := x.Metric
		switch key {
		case Capacity:
			key = RPS
		case RPS, P50, P99, Memory, CPU:
		default:
			continue
		}
		if x.Weight > 0 {
			out[key] += x.Weight
		}
	}
	return out
}
