package plan

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/wsgibench/wsgibench/internal/load"
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
	if err := load.CheckLoopback(o.Host); err != nil {
		return Preview{}, err
	}
	if err := checkDB(o); err != nil {
		return Preview{}, err
	}
	if err := checkFronts(o.Fronts); err != nil {
		return Preview{}, err
	}
	wls := make([]workload.Workload, 0, len(o.Workloads))
	for _, spec := range o.Workloads {
		w, err := workload.Parse(spec)
		if err != nil {
			return Preview{}, err
		}
		if w.Bundled && o.App != "" {
			return Preview{}, fmt.Errorf("workload %s needs the bundled app's endpoints; with --app use --workload \"GET /your/path\"", w.Name)
		}
		wls = append(wls, w)
	}
	det, statuses, err := server.Detect(ctx, o.Python)
	if err != nil {
		return Preview{}, err
	}
	previewed.Lock()
	previewed.python, previewed.venv, previewed.det, previewed.statuses = o.Python, os.Getenv("VIRTUAL_ENV"), det, statuses
	previewed.Unlock()
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

// previewed is the last preview's server detection, handed to the Execute
// that follows it (once) so that a run does not detect twice (~2 s).
var previewed struct {
	sync.Mutex // guards the fields
	python     string
	venv       string
	det        *server.Detection
	statuses   []server.Status
}

// detect is server.Detect, or the preview's result for the same Python.
func detect(ctx context.Context, python string) (*server.Detection, []server.Status, error) {
	previewed.Lock()
	det, statuses := previewed.det, previewed.statuses
	same := det != nil && previewed.python == python && previewed.venv == os.Getenv("VIRTUAL_ENV")
	previewed.det, previewed.statuses = nil, nil
	previewed.Unlock()
	if same {
		return det, statuses, nil
	}
	return server.Detect(ctx, python)
}
