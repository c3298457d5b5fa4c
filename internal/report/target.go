package report

import (
	"fmt"
	"io"

	"github.com/wsgibench/wsgibench/internal/results"
)

// The target machine (results.Target) in the reports: which core count the
// verdict is for, each server's parallelism ceiling, how throughput was
// carried there, and how well that carrying did where this machine could
// check it. Projected values are always labelled as projected.

// projected says whether f's throughput for the target is projected.
func projected(f *results.File) bool { return f.Target != nil && f.Target.Projected }

// projectedLabel is the label every projected value carries.
func projectedLabel(f *results.File) string {
	return fmt.Sprintf("projected for %d cores", f.Target.CPUs)
}

// targetLine says in one line what the numbers are for.
func targetLine(f *results.File) string {
	t := f.Target
	switch {
	case t == nil:
		return ""
	case t.Projected:
		return fmt.Sprintf("%d cores: shapes and memory measured at the %d-core shapes; capacity and req/s projected from %d measured CPU(s) and each server's parallelism ceiling",
			t.CPUs, t.CPUs, t.MeasuredCPUs)
	}
	cores := "cores"
	if t.CPUs == 1 {
		cores = "core"
	}
	return fmt.Sprintf("%d %s, measured on %d", t.CPUs, cores, t.MeasuredCPUs)
}

// projectedCell is a run's projected throughput for tables: "2292 req/s,
// capacity 1800 (projected for 4 cores)", or "" when not projected.
func projectedCell(f *results.File, r results.Run) string {
	if !projected(f) {
		return ""
	}
	p := r.Projection
	if p == nil || !p.Projected {
		if len(r.Trials) == 0 {
			return ""
		}
		return "not projected (no ceiling)"
	}
	s := fmt.Sprintf("%.0f req/s", p.RPS)
	if r.Capacity != nil {
		s += fmt.Sprintf(", capacity %.0f", p.CapacityRPS)
	}
	return fmt.Sprintf("%s (×%.2f, %s)", s, p.Factor, projectedLabel(f))
}

// mdTarget writes the target section: assumptions, ceilings and checks.
func mdTarget(p func(string, ...any), f *results.File) {
	t := f.Target
	if t == nil && len(f.Ceilings) == 0 {
		return
	}
	p("## Target machine and parallelism ceilings\n\n")
	if t != nil {
		p("- **Target:** %s\n", targetLine(f))
		if t.Assumptions != "" {
			p("- **Projection (projected values are marked as such everywhere):** %s\n", t.Assumptions)
		}
		p("\n")
	}
	if len(f.Ceilings) > 0 {
		p("Parallelism ceiling: the CPU-seconds per second each server's process tree burned with every CPU of this machine allowed. A GIL-bound process stays near 1; a pre-forked server approaches min(processes, cores). Machine-bound: every CPU was busy (server, generator and other programs), so the server could have used more.\n\n")
		p("| server | shape | workload | ceiling (cores) | of CPUs | req/s | generator (cores) | other programs (cores) | machine-bound |\n")
		p("|---|---|---|--:|--:|--:|--:|--:|---|\n")
		for _, c := range f.Ceilings {
			if c.Error != "" {
				p("| %s | %s | %s | failed: %s | | | | | |\n", c.Server, c.Shape, c.Workload, firstLine(c.Error))
				continue
			}
			p("| %s | %s | %s | %.2f | %d | %.0f | %.2f | %.2f | %s |\n", c.Server, c.Shape, c.Workload, c.Cores, len(c.CPUs),
				c.RPS, c.GeneratorCores, c.OtherCores, map[bool]string{true: "yes", false: "no"}[c.MachineBound])
		}
		p("\n")
	}
	if len(f.ProjectionChecks) > 0 {
		p("Projection check on this machine: capacity predicted from the measurement on fewer CPUs and the ceiling, then measured.\n\n")
		p("| server | shape | measured on | capacity there | ceiling | predicted on | predicted | measured | error | CPU ms per 1k req (from → to) | note |\n")
		p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, c := range f.ProjectionChecks {
			p("| %s | %s | %d | %.0f | %.2f | %d | %.0f | %.0f | %+.1f%% | %.0f → %.0f | %s |\n", c.Server, c.Shape, c.FromCPUs, c.Measured1,
				c.Ceiling, c.ToCPUs, c.Predicted, c.Measured, 100*c.Error, c.CPUMsPerKReqFrom, c.CPUMsPerKReqTo, c.Note)
		}
		p("\n")
		p("The same on closed-loop req/s (the trials on fewer CPUs against the ceiling measurement on all), and projected to the cores the generator and other programs left free during that measurement:\n\n")
		p("| server | shape | predicted | measured | error | cores left free | predicted for them | error |\n")
		p("|---|---|--:|--:|--:|--:|--:|--:|\n")
		for _, c := range f.ProjectionChecks {
			if c.MeasuredRPS > 0 {
				p("| %s | %s | %.0f | %.0f | %+.1f%% | %.2f | %.0f | %+.1f%% |\n", c.Server, c.Shape, c.PredictedRPS, c.MeasuredRPS,
					100*c.RPSError, c.AvailableCores, c.PredictedAvailableRPS, 100*c.AvailableError)
			}
		}
		p("\n")
	}
}

// targetView is the target section of report.html.
type targetView struct {
	Line, Assumptions string
	// Measured captions the plots, which show measured values only.
	Measured string
	Ceilings [][]string
	Checks   [][]string
}

func targetOf(f *results.File) *targetView {
	if f.Target == nil && len(f.Ceilings) == 0 {
		return nil
	}
	v := &targetView{Line: targetLine(f)}
	if f.Target != nil {
		v.Assumptions = f.Target.Assumptions
	}
	if projected(f) {
		v.Measured = fmt.Sprintf("These plots show what was measured, on %d CPU(s); the values %s are in the verdict and the runs table.",
			f.Target.MeasuredCPUs, projectedLabel(f))
	}
	for _, c := range f.Ceilings {
		if c.Error != "" {
			v.Ceilings = append(v.Ceilings, []string{c.Server, c.Shape.String(), "failed: " + firstLine(c.Error), "", "", "", ""})
			continue
		}
		v.Ceilings = append(v.Ceilings, []string{c.Server, c.Shape.String(), fmt.Sprintf("%.2f of %d", c.Cores, len(c.CPUs)),
			num(c.RPS), fmt.Sprintf("%.2f", c.GeneratorCores), fmt.Sprintf("%.2f", c.OtherCores),
			map[bool]string{true: "yes", false: "no"}[c.MachineBound]})
	}
	for _, c := range f.ProjectionChecks {
		note := c.Note
		if c.MeasuredRPS > 0 {
			note += fmt.Sprintf("; closed loop: predicted %s req/s, measured %s (%+.1f%%; %+.1f%% for the %.2f cores left free)",
				num(c.PredictedRPS), num(c.MeasuredRPS), 100*c.RPSError, 100*c.AvailableError, c.AvailableCores)
		}
		v.Checks = append(v.Checks, []string{c.Server, c.Shape.String(), fmt.Sprintf("%s on %d", num(c.Measured1), c.FromCPUs),
			fmt.Sprintf("%.2f", c.Ceiling), fmt.Sprintf("%s on %d", num(c.Predicted), c.ToCPUs), num(c.Measured),
			fmt.Sprintf("%+.1f%%", 100*c.Error), note})
	}
	return v
}

// tableTarget follows the terminal table with the target's throughput
// when it is projected, each line saying so.
func tableTarget(w io.Writer, f *results.File) {
	if f.Target == nil {
		return
	}
	fmt.Fprintf(w, "target: %s\n", targetLine(f))
	if !projected(f) {
		return
	}
	for _, r := range f.Runs {
		if c := projectedCell(f, r); c != "" {
			fmt.Fprintf(w, "  %s %s %s: %s\n", r.Server, r.Shape, r.Workload, c)
		}
	}
}
