package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/scenario"
)

// TestScenarioExample: --example prints the bundled crud scenario, which
// parses, and checking a file shows what it would send.
func TestScenarioExample(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"scenario", "--example"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Parse("example.yaml", out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "crud" || len(s.Flows) != 1 || s.Flows[0].Name != "lifecycle" {
		t.Errorf("example: %+v", s)
	}
	file := filepath.Join(t.TempDir(), "mine.yaml")
	os.WriteFile(file, out.Bytes(), 0o644)
	out.Reset()
	if err := run(context.Background(), []string{"scenario", "-n", "30", file}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `scenario "crud", 3 requests, 1 flows`) || !strings.Contains(out.String(), "DELETE /items/id") {
		t.Errorf("check output:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"scenario"}, &out, &errOut); err == nil {
		t.Error("no argument: no error")
	}
}

// boomApp answers /boom with a 500, /created with a 201 that carries no
// JSON, and anything else with 200.
const boomApp = `def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"boom: database unavailable\n"]
    if path == "/created":
        start_response("201 Created", [("Content-Type", "text/html")])
        return [b"<p>created</p>"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
`

// TestScenarioBadInput: a malformed scenario file fails before any server
// starts, at its line and column; a scenario request the app answers with
// 500, and a capture that finds nothing, fail in the preflight with the
// request, what was expected, what came back and the start of the body;
// each is one line, exit 1, nothing left running, and the results file
// records the scenario as run.
func TestScenarioBadInput(t *testing.T) {
	needServers(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "boom.py"), []byte(boomApp), 0o644)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	malformed := write("malformed.yaml", "requests:\n  - path: /\n    weight: -1\n")
	status := write("status.yaml", "name: boom\nrequests:\n  - {name: home, path: /, expect: 200}\n  - {name: boom, path: /boom, expect: 200}\n")
	capture := write("capture.yaml", "name: cap\nflows:\n  - name: order\n    steps:\n      - {name: create, method: POST, path: /created, expect: 201, capture: {id: {json: id}}}\n      - {name: read, path: '/x/{var:id}'}\n")
	quick := []string{"--app", "boom:application", "--chdir", dir, "--servers", "waitress", "--no-probe", "--no-trouble",
		"--no-capacity", "--no-ceiling", "--no-check", "--trials", "1", "--duration", "1s", "--warmup", "0s"}
	for _, tc := range []struct {
		name, file, want string
		ran              bool // a server was started, and results.json written
	}{
		{"malformed", malformed, malformed + ":3:13: weight -1: want a whole number from 1 to 1000000", false},
		{"500", status, `wsgibench: scenario boom on waitress: preflight: request "boom" (GET /boom): expected status 200, got 500; body starts "boom: database unavailable\n"`, true},
		{"capture", capture, `wsgibench: scenario cap on waitress: preflight: request "order/create" (POST /created): capture id {json: id} found not JSON in the 201 response; body starts "<p>created</p>"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			r := runBinary(t, 60*time.Second, append([]string{"run", "--scenario", tc.file, "--out", out}, quick...)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			if last := lastLine(r.stderr); !strings.Contains(last, tc.want) {
				t.Errorf("last line\n got %s\nwant %s", last, tc.want)
			}
			waitNoLeftovers(t, r.pid, 5*time.Second)
			data, err := os.ReadFile(filepath.Join(out, "results.json"))
			if !tc.ran {
				if err == nil {
					t.Errorf("a results file was written for a malformed scenario")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var f struct {
				Plan struct {
					Scenarios []struct{ Name, File, Source string }
				}
			}
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			src, _ := os.ReadFile(tc.file)
			if len(f.Plan.Scenarios) != 1 || f.Plan.Scenarios[0].Source != string(src) || f.Plan.Scenarios[0].File != tc.file {
				t.Errorf("results.json plan.scenarios = %+v", f.Plan.Scenarios)
			}
		})
	}
}
