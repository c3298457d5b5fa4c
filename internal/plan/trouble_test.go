package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/server"
	"github.com/wsgibench/wsgibench/internal/trouble"
)

// TestTroubleServers runs every scenario against servers of three models,
// as run does: each scenario must run, and the one behaviour every
// account of these servers agrees on must show: slow clients stall
// gunicorn's sync workers (its documentation asks for a buffering proxy
// in front for that reason) and do not stall waitress, which buffers
// requests in its event loop before a thread sees them.
func TestTroubleServers(t *testing.T) {
	needPython(t)
	ctx := context.Background()
	r, cells := prepared(t, Options{Servers: []string{"gunicorn-sync", "waitress", "uwsgi"},
		Shapes: []server.Shape{{Workers: 3, Threads: 1}}})
	got := map[string]map[string]float64{}
	for _, c := range probeCells(cells) {
		id := c.Status.Adapter.ID
		t.Run(id, func(t *testing.T) {
			rob := r.troubleOne(ctx, c, trouble.Scenarios())
			if rob.Failed != "" {
				t.Fatal(rob.Failed)
			}
			got[id] = map[string]float64{}
			var line []string
			for _, sc := range rob.Scenarios {
				if sc.Error != "" {
					t.Errorf("%s: %s", sc.ID, sc.Error)
					continue
				}
				got[id][sc.ID] = sc.Retained
				line = append(line, sc.ID+": "+sc.Detail)
			}
			t.Logf("%s %s score %.2f\n%s", id, rob.Shape, rob.Score, strings.Join(line, "\n"))
			if len(rob.Scenarios) != len(trouble.Scenarios()) {
				t.Errorf("%d scenarios of %d", len(rob.Scenarios), len(trouble.Scenarios()))
			}
			if left := proc.Tagged(r.tag); len(left) > 0 {
				t.Errorf("tagged processes left: %v", left)
			}
		})
	}
	if g, w := got["gunicorn-sync"]["slow-headers"], got["waitress"]["slow-headers"]; !(g < 0.3 && w > 0.7) {
		t.Errorf("slow headers: gunicorn-sync kept %.0f%%, waitress %.0f%%; want a stall and no stall", 100*g, 100*w)
	}
}
