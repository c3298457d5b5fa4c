package rank

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/stats"
)

// Each ranked server's measured value on each factor, scored against the
// best as the ranking scores metrics, and whether the data separate it
// from the next server down (see factors.go).

// values reads each ranked server's value on the factor and marks where
// the data separate it from the next server.
func (d factorDef) values(base *ranked) []FactorValue {
	r, fin := base.r, base.fin
	out := make([]FactorValue, len(fin))
	switch {
	case d.projection:
		for i, c := range fin {
			out[i] = r.parallelismValue(c)
		}
	case len(d.metrics) > 0:
		for i, c := range fin {
			key := d.metricOf(c)
			v, ok := c.val[key]
			if !ok {
				out[i].Why = "not measured"
				for _, m := range d.metrics {
					if why, ok := c.excluded[m]; ok {
						out[i].Why = why
						break
					}
				}
				continue
			}
			out[i] = FactorValue{Has: true, Value: v, Text: r.metricText(key, v), Short: shortText(key, v)}
		}
	case len(d.scenarios) > 0:
		for i, c := range fin {
			out[i] = r.scenarioValue(c, d.scenarios)
		}
	default:
		for i, c := range fin {
			out[i] = r.probeValue(c, d)
		}
	}
	// Scores against the best, higher better.
	higher := true
	if len(d.metrics) > 0 {
		m, _ := metricByKey(d.metrics[0])
		higher = m.HigherBetter
	}
	best := math.NaN()
	for _, v := range out {
		if v.Has && (math.IsNaN(best) || (higher && v.Value > best) || (!higher && v.Value < best)) {
			best = v.Value
		}
	}
	for i := range out {
		if !out[i].Has {
			continue
		}
		key := ""
		if len(d.metrics) > 0 {
			key = d.metricOf(fin[i])
		}
		switch {
		case key == Errors:
			out[i].Score = unit(Errors, out[i].Value, best)
		case higher && best > 0:
			out[i].Score = out[i].Value / best
		case higher:
			out[i].Score = 1
		case out[i].Value > 0:
			out[i].Score = best / out[i].Value
		default:
			out[i].Score = 1
		}
	}
	for i := 0; i+1 < len(fin); i++ {
		if out[i].Has && out[i+1].Has {
			out[i].Separated = d.separated(r, fin[i], fin[i+1], out[i], out[i+1])
		}
	}
	return out
}

// metricOf is the metric that stands for a metric factor for c: capacity
// where it was searched, else req/s; the first of the others.
func (d factorDef) metricOf(c *cand) string {
	for _, m := range d.metrics {
		if _, ok := c.val[m]; ok {
			return m
		}
	}
	return d.metrics[0]
}

// separated applies the ranking's own rules: the U test at α for sampled
// metrics, the capacity rule for searches, a CapacityMargin gap for one
// measurement each (ceilings, trouble scenarios run once), ranges that do
// not overlap for trouble scenarios repeated, any difference for the exact
// conformance probes.
func (d factorDef) separated(r *ranker, a, b *cand, fa, fb FactorValue) bool {
	va, vb := fa.Value, fb.Value
	switch {
	case len(d.metrics) > 0:
		key := d.metricOf(a)
		if key != d.metricOf(b) {
			return false
		}
		if key == Capacity && a.fromSearch && b.fromSearch {
			_, sep, _ := r.capacitySeparated(a, b)
			return sep
		}
		sa, sb := a.samples[key], b.samples[key]
		if len(sa) == 0 || len(sb) == 0 || va == vb {
			return false
		}
		return stats.MannWhitney(sa, sb) < r.alpha
	case len(d.probes) > 0 || d.otherProbes:
		return va != vb
	case fa.repeated && fb.repeated:
		return rangesApart(va, fa.lo, fa.hi, vb, fb.lo, fb.hi)
	}
	return math.Abs(va-vb) >= CapacityMargin*math.Max(math.Abs(va), math.Abs(vb))
}

func (r *ranker) metricText(key string, v float64) string {
	switch key {
	case Capacity, RPS:
		s := num(v) + " req/s"
		if r.projected() {
			s += fmt.Sprintf(" (projected for %d cores)", r.f.Target.CPUs)
		}
		return s
	case P50, P99:
		return fmt.Sprintf("%s ms", num(v))
	case Memory:
		return fmt.Sprintf("%s MiB", num(v/(1<<20)))
	case CPU:
		return fmt.Sprintf("%s ms per 1k req", num(v))
	case Errors:
		return ratePct(v) + " failed"
	}
	return num(v)
}

// shortText is a metric's value in its factor's unit.
func shortText(key string, v float64) string {
	switch key {
	case Memory:
		return num(v / (1 << 20))
	case Errors:
		return ratePct(v)
	}
	return num(v)
}

// parallelismValue is the cores the ranking credits c with: its ceiling,
// capped at the target's cores when there is a target.
func (r *ranker) parallelismValue(c *cand) FactorValue {
	ce, _, ok := ceilingOf(r.f, c.run)
	if !ok {
		return FactorValue{Why: "its parallelism ceiling was not measured"}
	}
	v, capped := ce, ""
	if t := r.f.Target; t != nil && t.CPUs > 0 && float64(t.CPUs) < ce {
		v, capped = float64(t.CPUs), fmt.Sprintf(", capped at the target's %d", t.CPUs)
	}
	model := ""
	if c.run.Model != "" {
		model = c.run.Model + " " + c.run.Shape.String() + ": "
	}
	return FactorValue{Has: true, Value: v, Text: fmt.Sprintf("%s%.2f cores%s", model, ce, capped), Short: fmt.Sprintf("%.2f", v)}
}

// scenarioValue is the mean share the victims kept over ids, for the
// robustness entry the ranking reads (behind its front first).
func (r *ranker) scenarioValue(c *cand, ids []string) FactorValue {
	var found []results.Robustness
	for _, rob := range r.f.Robustness {
		if rob.Server == c.name() && rob.Failed == "" {
			found = append(found, rob)
		}
	}
	slices.SortStableFunc(found, func(a, b results.Robustness) int {
		switch am, bm := a.Front == r.front, b.Front == r.front; {
		case am && !bm:
			return -1
		case bm && !am:
			return 1
		}
		return 0
	})
	if len(found) == 0 {
		return FactorValue{Why: "not tried"}
	}
	var s spread
	var extra []string
	halved := "" // the slow-client threshold, for the short form
	for _, sc := range found[0].Scenarios {
		if !slices.Contains(ids, sc.ID) || sc.Error != "" {
			continue
		}
		if sc.ID == "slow-threshold" {
			switch {
			case sc.Threshold > 0:
				extra = append(extra, fmt.Sprintf("%d slow %s halve its throughput", sc.Threshold, plural(sc.Threshold, "client", "clients")))
				halved = fmt.Sprintf(" · %d", sc.Threshold)
			case sc.ThresholdMax > 0:
				extra = append(extra, fmt.Sprintf("%d slow clients do not halve its throughput", sc.ThresholdMax))
				halved = fmt.Sprintf(" · >%d", sc.ThresholdMax)
			}
		}
		if sc.Unscored {
			continue
		}
		s.add(sc)
		if sc.ID == "worker-killed" && !sc.Recovered {
			extra = append(extra, "did not recover")
		}
	}
	if s.n == 0 {
		return FactorValue{Why: "not tried"}
	}
	n := float64(s.n)
	v := s.sum / n
	text := "kept " + pct(v)
	if len(extra) > 0 {
		text += "; " + strings.Join(extra, "; ")
	}
	fv := FactorValue{Has: true, Value: v, Text: text, Short: fmt.Sprintf("%.0f%%", v*100) + halved}
	if s.repeated() {
		fv.repeated, fv.lo, fv.hi = true, s.lo/n, s.hi/n
	}
	return fv
}

// probeValue is c's score on d's probes alone.
func (r *ranker) probeValue(c *cand, d factorDef) FactorValue {
	for _, conf := range r.f.Conformance {
		if conf.Server != c.name() || conf.Failed != "" {
			continue
		}
		var pass, warn, fail int
		for _, pc := range conf.Cases {
			if !d.claims(pc.ID) {
				continue
			}
			switch pc.Outcome {
			case "pass":
				pass++
			case "warn":
				warn++
			case "fail":
				fail++
			}
		}
		n := pass + warn + fail
		if n == 0 {
			break
		}
		v := (float64(pass) + float64(warn)/2) / float64(n)
		text := fmt.Sprintf("%d of %d pass", pass, n)
		if warn > 0 {
			text += fmt.Sprintf(", %d warn", warn)
		}
		if d.key == FactorKeepAlive {
			// What the trials saw of it (not scored: shown for the reader).
			var conns, reqs int64
			for _, tr := range c.run.Trials {
				conns += tr.ConnectionsOpened
				reqs += tr.Requests
			}
			if reqs > 0 && conns > 0 {
				text += fmt.Sprintf("; the trials opened %s connections per 1000 requests", num(float64(conns)*1000/float64(reqs)))
			}
		}
		return FactorValue{Has: true, Value: v, Text: text, Short: fmt.Sprintf("%d/%d", pass, n)}
	}
	return FactorValue{Why: "not probed"}
}
