package plan

import (
	"context"
	"slices"

	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/workload"
)

// Preview is what Execute would run on this machine, expanded without
// preparing the app or starting anything: what a run's estimate and a
// --budget are computed from (package budget).
type Preview struct {
	Shapes []Shape // the requested shapes (the defaults when none were given)
	// Cells are every cell; FirstShape the cells with only the first
	// requested shape, as a budget that keeps one shape would run.
	Cells, FirstShape []Cell
}

// Shape is a requested processes × threads shape.
type Shape = server.Shape

// PreviewCells detects the servers and expands the options into cells as
// prepare does, and checks what prepare checks before anything starts.
func PreviewCells(ctx context.Context, o Options) (Preview, error) {
	o = o.withDefaults()
	wls := make([]workload.Workload, 0, len(o.Workloads))
	for _, spec := range o.Workloads {
		w, err := workload.Parse(spec)
		if err != nil {
			return Preview{}, err
		}
		wls = append(wls, w)
	}
	_, statuses, err := server.Detect(ctx, o.Python)
	if err != nil {
		return Preview{}, err
	}
	chosen, err := Select(statuses, o.Servers)
	if err != nil {
		return Preview{}, err
	}
	shapes := o.Shapes
	if len(shapes) == 0 {
		all := allowedCPUs()
		srv, gen, _ := SplitCPUs(all)
		tgt, err := resolveTarget(o.TargetCPUs, srv, gen, all)
		if err != nil {
			return Preview{}, err
		}
		shapes = DefaultShapes(tgt.cpus)
	}
	p := Preview{Shapes: slices.Clone(shapes)}
	p.Cells = withFronts(Cells(chosen, shapes, wls), o.Fronts)
	p.FirstShape = withFronts(Cells(chosen, shapes[:1], wls), o.Fronts)
	return p, nil
}
