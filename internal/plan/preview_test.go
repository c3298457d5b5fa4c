package plan

import (
	"context"
	"testing"

	"github.com/wsgibench/wsgibench/internal/server"
)

// TestPreviewCells: the preview expands as Execute does, and hands its
// detection to the next Execute once.
func TestPreviewCells(t *testing.T) {
	o := Options{Python: "/usr/bin/python3", Servers: []string{"waitress", "gunicorn-gthread"},
		Shapes: []server.Shape{{Workers: 3, Threads: 1}, {Workers: 1, Threads: 8}}}
	p, err := PreviewCells(context.Background(), o)
	if err != nil {
		t.Skipf("no servers to preview: %v", err)
	}
	// waitress runs 3x1 as 1x3: still two shapes each.
	if len(p.Cells) != 4 || len(p.FirstShape) != 2 || len(p.Shapes) != 2 {
		t.Errorf("%d cells, %d with the first shape, %d shapes; want 4, 2, 2", len(p.Cells), len(p.FirstShape), len(p.Shapes))
	}
	previewed.Lock()
	cached := previewed.det
	previewed.Unlock()
	if cached == nil {
		t.Fatal("the preview kept no detection")
	}
	if det, _, err := detect(context.Background(), "/usr/bin/python3"); err != nil || det != cached {
		t.Errorf("detect did not hand over the preview's detection")
	}
	previewed.Lock()
	kept := previewed.det != nil
	previewed.Unlock()
	if kept {
		t.Errorf("the detection was handed over but kept: a later run would reuse it")
	}
	if _, err := PreviewCells(context.Background(), Options{Host: "10.1.1.1"}); err == nil {
		t.Errorf("a preview accepted a host off loopback")
	}
}
