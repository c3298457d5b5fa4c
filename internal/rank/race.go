package rank

// RaceMetric is the metric a racing plan judges trials on for profile p:
// its heaviest-weighted metric that every trial measures (capacity stands
// on closed-loop req/s, which the capacity search is run around; errors,
// robustness and correctness are not raced on). rps when none is.
func RaceMetric(p Profile) string {
	best, w := RPS, 0.0
	for _, x := range p.Weights {
		key := x.Metric
		switch key {
		case Capacity:
			key = RPS
		case RPS, P50, P99, Memory, CPU:
		default:
			continue
		}
		if x.Weight > w {
			best, w = key, x.Weight
		}
	}
	return best
}
