package budget

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Line is the estimate in one line, printed at the start of every run.
func (e Estimate) Line() string {
	parts := []string{fmt.Sprintf("%d trials %s", e.TrialCount, short(e.Trials))}
	if e.Racing {
		parts[0] = fmt.Sprintf("about %d trials as races usually go %s", e.TrialCount, short(e.Trials))
	}
	add := func(d time.Duration, what string) {
		if d > 0 {
			parts = append(parts, what+" "+short(d))
		}
	}
	add(e.Probes, "probes")
	add(e.Trouble, "trouble")
	add(e.Capacity, "capacity")
	add(e.Ceilings, "ceilings")
	return fmt.Sprintf("estimated wall time about %s: %s", short(e.Total()), strings.Join(parts, ", "))
}

// Describe writes the block printed before a budgeted run starts: what it
// will measure, with the estimate of each part, and what it will not.
func (f Fit) Describe(w io.Writer) {
	e := f.Estimate
	if len(f.Cuts) == 0 {
		fmt.Fprintf(w, "wsgibench: budget %s: the whole plan fits; %s\n", short(f.Budget), e.Line())
		return
	}
	fmt.Fprintf(w, "wsgibench: budget %s: the plan is cut to fit, estimated %s (as asked it would take about %s).\n",
		short(f.Budget), short(e.Total()), short(f.Uncut.Total()))
	fmt.Fprintln(w, "  will measure:")
	if e.Racing {
		fmt.Fprintf(w, "    %d servers, %s, racing: %d trials per cell, then contenders to the most: about %d trials (%s)\n",
			e.Servers, plural(e.Cells, "cell"), e.TrialsPerCell, e.TrialCount, short(e.Trials))
	} else {
		fmt.Fprintf(w, "    %d servers, %s, %d trials per cell: %d trials (%s)\n", e.Servers, plural(e.Cells, "cell"),
			e.TrialsPerCell, e.TrialCount, short(e.Trials))
	}
	if e.Probed > 0 {
		fmt.Fprintf(w, "    conformance probes of %d servers (%s)\n", e.Probed, short(e.Probes))
	}
	if e.TroubleTargets > 0 {
		times := "once"
		if e.Repeat > 1 {
			times = fmt.Sprintf("%d times, median kept", e.Repeat)
		}
		fmt.Fprintf(w, "    trouble: %s, %s, on %d servers (%s)\n", strings.Join(e.Scenarios, ", "), times, e.TroubleTargets, short(e.Trouble))
	}
	if e.CapacityCells > 0 {
		which := fmt.Sprintf("every cell (%d)", e.CapacityCells)
		if e.CapacityCells < e.Cells {
			which = fmt.Sprintf("the top %s by throughput", plural(e.CapacityCells, "cell"))
		}
		fmt.Fprintf(w, "    capacity of %s (%s)\n", which, short(e.Capacity))
	}
	if e.CeilingCells > 0 {
		fmt.Fprintf(w, "    parallelism ceilings of %s (%s)\n", plural(e.CeilingCells, "cell"), short(e.Ceilings))
	}
	fmt.Fprintln(w, "  will not measure (cut in this order):")
	for _, c := range f.Cuts {
		fmt.Fprintf(w, "    %s\n", c)
	}
}
