package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wsgibench/wsgibench/internal/results"
)

// verdict is File.Verdict and File.Ranking as the page shows them.
type verdict struct {
	Headline string
	Firmness string     // how often resamples of the trials gave the same first place
	Basis    []keyValue // profile, weights, workload, goal, tests
	Notes    []string
	Entries  []rankEntry
	Factors  *factorsView // what separates the servers, in order; nil without a ranking
}

// rankEntry is one place in the ranking.
type rankEntry struct {
	Position int
	Tied     bool // shares its position with another entry
	Server   string
	Shape    string
	Workload string
	Score    string  // formatted, out of 100
	ScoreVal float64 // for the meter
	Reasons  []string
	TiedWith []string
	Color    int // the server's colour, when it has runs in the file
	HasColor bool
}

func verdictOf(f *results.File) verdict {
	var v verdict
	if vd := f.Verdict; vd != nil {
		v.Headline = vd.Headline
		v.Firmness = firmnessText(vd.Firmness)
		v.Notes = vd.Notes
		add := func(k, val string) {
			if val != "" {
				v.Basis = append(v.Basis, keyValue{k, val})
			}
		}
		add("Profile", vd.Profile)
		var ws []string
		for _, w := range vd.Weights {
			if w.Weight != 0 {
				ws = append(ws, w.Metric+" ×"+strconv.FormatFloat(w.Weight, 'g', -1, 64))
			}
		}
		add("Weights", strings.Join(ws, " · "))
		add("Workload", vd.Workload)
		if vd.GoalP99MS > 0 {
			add("Latency goal", "p99 ≤ "+num(vd.GoalP99MS)+" ms")
		}
		add("Capacity from", vd.CapacityFrom)
		add("Target", targetLine(f))
		var tests []string
		if vd.Alpha > 0 {
			tests = append(tests, "differences tested at α = "+strconv.FormatFloat(vd.Alpha, 'g', -1, 64))
		}
		if vd.MinScoreGap > 0 {
			tests = append(tests, "a lead under "+strconv.FormatFloat(vd.MinScoreGap, 'g', -1, 64)+" points on the separated metrics, at the ends of their intervals, is a tie")
		}
		add("Ties", strings.Join(tests, "; "))
	}
	positions := map[string]int{}
	for _, r := range f.Ranking {
		positions[r.Workload+"\x00"+strconv.Itoa(r.Position)]++
	}
	for _, r := range f.Ranking {
		v.Entries = append(v.Entries, rankEntry{
			Position: r.Position,
			Tied:     len(r.TiedWith) > 0 || positions[r.Workload+"\x00"+strconv.Itoa(r.Position)] > 1,
			Server:   r.Server,
			Shape:    r.Shape.String(),
			Workload: r.Workload,
			Score:    strconv.FormatFloat(r.Score, 'f', 1, 64),
			ScoreVal: max(0, min(100, r.Score)),
			Reasons:  r.Reasons,
			TiedWith: r.TiedWith,
		})
	}
	return v
}

// num formats a number with about three significant digits, without
// exponent notation for the magnitudes a report shows.
func num(x float64) string {
	switch a := abs(x); {
	case a == 0:
		return "0"
	case a >= 100:
		return commas(fmt.Sprintf("%.0f", x))
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	case a >= 1:
		return fmt.Sprintf("%.2f", x)
	case a >= 0.01:
		return fmt.Sprintf("%.3f", x)
	default:
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// commas groups the integer digits of a formatted number in thousands.
func commas(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
