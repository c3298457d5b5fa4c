package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/server"
)

// TestScenarioEveryServer starts every available server mode around the
// bundled app through the path a run uses; each serves /plaintext and /db,
// then the bundled crud scenario, whose lifecycle
// flow creates an item and reads, updates and deletes it by the id its
// create returned, against every available server mode: the preflight
// passes, and a short load gets no status the scenario did not expect.
// The app answers DELETE with 204 only when the item exists (404
// otherwise), so deletes answered 204 and none 404 show the captured ids
// reached the app and named the items the flow created, and the app's own
// table holds no more items than before, give or take the flows cut off at
// the end: the creates were undone by deletes of their ids. Each server gets a
// second of load, so the test stays within seconds per server.
func TestScenarioEveryServer(t *testing.T) {
	needPython(t)
	ctx := context.Background()
	r, cells := prepared(t, Options{Shapes: []server.Shape{{Workers: 2, Threads: 2}}})
	if len(cells) < 14 {
		t.Errorf("only %d servers available; setup should provide at least 14", len(cells))
	}
	for _, c := range cells {
		t.Run(c.Status.Adapter.ID, func(t *testing.T) {
			if c.Workload.Scenario == nil || c.Workload.Name != "crud" {
				t.Fatalf("the default workload is not the crud scenario: %+v", c.Workload)
			}
			s, err := r.start(ctx, c)
			if err != nil {
				if s != nil && s.group != nil {
					t.Logf("output:\n%s", strings.Join(s.group.Output(20), "\n"))
				}
				t.Fatal(err)
			}
			defer s.stop()
			// It serves the bundled app's plain endpoints, through the
			// path a run uses (folded in from what was
			// TestEveryServerServes: one start per server for both).
			client := &http.Client{Timeout: 10 * time.Second}
			for _, tc := range []struct{ method, path, body, want string }{
				{"GET", "/plaintext", "", "Hello, World!"},
				{"GET", "/db", "", `"randomNumber"`},
			} {
				req, _ := http.NewRequest(tc.method, "http://"+s.addr+tc.path, strings.NewReader(tc.body))
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("%s %s: %v", tc.method, tc.path, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 || !strings.Contains(strings.ReplaceAll(string(body), `":"`, `": "`), tc.want) {
					t.Errorf("%s %s: %d %q", tc.method, tc.path, resp.StatusCode, body)
				}
			}
			if u, err := s.group.Usage(); err != nil || u.RSSBytes <= 0 || u.Procs < 1 {
				t.Errorf("usage = %+v, %v", u, err)
			}
			if err := r.preflight(ctx, c, s); err != nil {
				t.Fatal(err)
			}
			r.preflown = nil // the next server is tried too
			res, err := load.Run(ctx, load.Config{Addr: s.addr, Mix: c.Workload.Mix, Connections: 4,
				Duration: time.Second, Timeout: 10 * time.Second, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d responses, statuses %v, flows %+v, errors %+v", res.Requests, res.StatusCounts, res.Flows, res.Errors)
			if res.Errors.Unexpected != 0 || len(res.CaptureMisses) != 0 {
				t.Errorf("unexpected statuses %v, capture misses %v", res.Unexpected, res.CaptureMisses)
			}
			// A busy machine may let a slow server finish few flows in a
			// second, but every server finishes some.
			if res.Flows.Completed < 1 || res.StatusCounts[201] < 1 {
				t.Errorf("no lifecycle flow completed: flows %+v, statuses %v", res.Flows, res.StatusCounts)
			}
			if res.StatusCounts[204] < res.Flows.Completed || res.StatusCounts[404] != 0 {
				t.Errorf("deletes: %d answered 204 and %d 404, for %d completed flows", res.StatusCounts[204], res.StatusCounts[404], res.Flows.Completed)
			}
			// Server-side: the items the flows created are gone again. The
			// seed holds 10,000 items; past them are only the flows' own,
			// and at most the ones of flows cut off by the end of the run
			// (one per connection) may remain.
			list := func(offset int) []int64 {
				resp, err := http.Get(fmt.Sprintf("http://%s/items?limit=100&offset=%d", s.addr, offset))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var page struct{ Items []struct{ ID int64 } }
				if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, it := range page.Items {
					ids = append(ids, it.ID)
				}
				return ids
			}
			if seed := list(9999); len(seed) == 0 || seed[0] != 10000 {
				t.Fatalf("the listing does not show the seed's last item 10000: %v", seed)
			}
			var page struct{ Items []int64 }
			page.Items = list(10000)
			created, deleted := res.StatusCounts[201], res.StatusCounts[204]
			if left := int64(len(page.Items)); left > 4 || left < created-deleted-4 || left > created-deleted+4 {
				t.Errorf("%d items left past the seed after %d creates and %d deletes: the deletes did not remove the created items", left, created, deleted)
			}
			if err := s.group.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			if left := s.group.Pids(); len(left) > 0 {
				t.Errorf("processes left after stop: %v", left)
			}
			if left := proc.Tagged(r.tag); len(left) > 0 {
				t.Errorf("tagged processes left after stop: %v", left)
			}
		})
	}
}
