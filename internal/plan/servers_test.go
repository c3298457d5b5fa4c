package plan

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/server"
)

// TestEveryServerServes starts every available adapter around the bundled
// app through the same path a run uses, checks it answers /plaintext, /db
// and a write, stops it, and checks no process of it is left.
func TestEveryServerServes(t *testing.T) {
	needPython(t)
	ctx := context.Background()
	r, cells := prepared(t, Options{Shapes: []server.Shape{{Workers: 2, Threads: 2}}})
	if len(cells) < 14 {
		t.Errorf("only %d servers available; setup should provide at least 14", len(cells))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range cells {
		t.Run(c.Status.Adapter.ID, func(t *testing.T) {
			s, err := r.start(ctx, c)
			if err != nil {
				if s != nil && s.group != nil {
					t.Logf("output:\n%s", strings.Join(s.group.Output(20), "\n"))
				}
				t.Fatal(err)
			}
			base := "http://" + s.addr
			for _, tc := range []struct{ method, path, body, want string }{
				{"GET", "/plaintext", "", "Hello, World!"},
				{"GET", "/db", "", `"randomNumber"`},
				{"POST", "/items", `{"name":"x","price_cents":1,"qty":2}`, `"name": "x"`},
			} {
				req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
				if tc.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
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
			if err := s.group.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			if left := s.group.Pids(); len(left) > 0 {
				t.Errorf("processes left after stop: %v", left)
			}
			if left := proc.Tagged(r.tag); len(left) > 0 {
				t.Errorf("tagged processes left after stop: %v", left)
				fmt.Println(left)
			}
		})
	}
}

// prepared is prepare for a test: the Debian interpreter, no log, and the
// runner closed when the test ends.
func prepared(t *testing.T, o Options) (*runner, []Cell) {
	t.Helper()
	o.Python, o.Out = "/usr/bin/python3", t.TempDir()
	if o.ReadyTimeout == 0 {
		// A server's start-up is CPU-bound (imports); with both cores
		// busy it takes several times as long as on a quiet machine, and
		// a test is about what the server does once up.
		o.ReadyTimeout = 30 * time.Second
	}
	r, cells, err := prepare(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r, cells
}
