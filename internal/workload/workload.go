// Package workload names the request mixes wsgibench puts on a server.
//
// The default, crud, is what an ordinary CRUD app behind a cache sees at its
// origin: mostly single-row reads, some listing, and a lifecycle flow that
// creates an item, reads, updates and deletes it by the id it got back. It
// is a scenario file (scenarios/crud.yaml) embedded in the binary, so the
// bundled mix and a user's own file are read by the same parser and
// `wsgibench scenario --example` prints exactly what runs. The others
// isolate one cost each (framework overhead, one query, many queries,
// template rendering, waiting on I/O, burning CPU) so a reader can tell why
// servers differ on crud.
package workload

import (
	_ "embed"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/scenario"
)

//go:embed scenarios/crud.yaml
var crudYAML []byte

// Example is the bundled crud scenario file, as `wsgibench scenario
// --example` prints it.
func Example() []byte { return crudYAML }

// fromScenario makes a workload of a parsed scenario.
func fromScenario(s *scenario.Scenario, bundled bool) Workload {
	return Workload{Name: s.Name, Description: s.Description, Mix: s.Mix(), Bundled: bundled, Scenario: s}
}

func mustCrud() Workload {
	s, err := scenario.Parse("crud.yaml", crudYAML)
	if err != nil {
		panic("the embedded crud scenario: " + err.Error())
	}
	return fromScenario(s, true)
}

// FromFile reads a scenario file as a workload.
func FromFile(path string) (Workload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Workload{}, fmt.Errorf("scenario: %w", err)
	}
	s, err := scenario.Parse(path, data)
	if err != nil {
		return Workload{}, err
	}
	return fromScenario(s, false), nil
}

// IsFile reports whether a workload argument names a scenario file.
func IsFile(spec string) bool {
	return strings.HasSuffix(spec, ".yaml") || strings.HasSuffix(spec, ".yml")
}

// Workload is a named, weighted mix of requests.
type Workload struct {
	Name        string
	Description string
	Mix         []load.Template
	// Bundled workloads need the bundled reference app's endpoints.
	Bundled bool
	// Scenario is the file the workload was read from, if it was; a run
	// tries its requests once before measuring and records its text.
	Scenario *scenario.Scenario
}

var builtin = map[string]Workload{
	"crud": mustCrud(),
	"plaintext": {Name: "plaintext", Bundled: true, Description: "GET /plaintext: server and WSGI overhead only",
		Mix: []load.Template{{Method: "GET", Path: "/plaintext"}}},
	"json": {Name: "json", Bundled: true, Description: "GET /json: serialise a small object",
		Mix: []load.Template{{Method: "GET", Path: "/json"}}},
	"db": {Name: "db", Bundled: true, Description: "GET /db: one random-row query",
		Mix: []load.Template{{Method: "GET", Path: "/db"}}},
	"queries": {Name: "queries", Bundled: true, Description: "GET /queries?n=10: ten queries per request",
		Mix: []load.Template{{Method: "GET", Path: "/queries?n=10"}}},
	"fortunes": {Name: "fortunes", Bundled: true, Description: "GET /fortunes: query, sort and render an escaped HTML template",
		Mix: []load.Template{{Method: "GET", Path: "/fortunes"}}},
	"updates": {Name: "updates", Bundled: true, Description: "GET /updates?n=5: five reads and writes in one transaction",
		Mix: []load.Template{{Method: "GET", Path: "/updates?n=5"}}},
	"io": {Name: "io", Bundled: true, Description: "GET /sleep?ms=20: a request that waits 20 ms on I/O (a slow upstream)",
		Mix: []load.Template{{Method: "GET", Path: "/sleep?ms=20"}}},
	"cpu": {Name: "cpu", Bundled: true, Description: "GET /cpu?us=2000: 2 ms of pure-Python CPU work",
		Mix: []load.Template{{Method: "GET", Path: "/cpu?us=2000"}}},
}

// Default is the workload used when none is named.
const Default = "crud"

// Names lists the built-in workloads.
func Names() []string {
	var n []string
	for k := range builtin {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Parse resolves a workload argument: a built-in name, a scenario file
// (FILE.yaml or FILE.yml), or "METHOD /path" (for your own app), e.g.
// "GET /api/items/{rand:1:500}".
func Parse(spec string) (Workload, error) {
	spec = strings.TrimSpace(spec)
	if w, ok := builtin[spec]; ok {
		return w, nil
	}
	if IsFile(spec) {
		return FromFile(spec)
	}
	method, path, ok := strings.Cut(spec, " ")
	path = strings.TrimSpace(path)
	if !ok || !strings.HasPrefix(path, "/") || method == "" || strings.ToUpper(method) != method {
		return Workload{}, fmt.Errorf("unknown workload %q: use one of %s, a scenario FILE.yaml, or \"GET /path\"", spec, strings.Join(Names(), ", "))
	}
	return Workload{Name: spec, Description: "a single request: " + spec,
		Mix: []load.Template{{Method: method, Path: path}}}, nil
}

// Builtins returns every built-in workload, sorted by name.
func Builtins() []Workload {
	var out []Workload
	for _, n := range Names() {
		out = append(out, builtin[n])
	}
	return out
}
