// Package workload names the request mixes wsgibench puts on a server.
//
// The default, crud, is what an ordinary CRUD app behind a cache sees at its
// origin: mostly single-row reads, some listing, some writes. The others
// isolate one cost each (framework overhead, one query, many queries,
// template rendering, waiting on I/O, burning CPU) so a reader can tell why
// servers differ on crud.
package workload

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wsgibench/wsgibench/internal/load"
)

// Workload is a named, weighted mix of requests.
type Workload struct {
	Name        string
	Description string
	Mix         []load.Template
	// Bundled workloads need the bundled reference app's endpoints.
	Bundled bool
}

const jsonHeader = "Content-Type: application/json"

var builtin = map[string]Workload{
	"crud": {Name: "crud", Bundled: true,
		Description: "60% read one item, 15% list a page, 10% create, 10% update, 5% render fortunes",
		Mix: []load.Template{
			{Name: "read", Weight: 60, Method: "GET", Path: "/items/{rand:1:10000}"},
			{Name: "list", Weight: 15, Method: "GET", Path: "/items?limit=20&offset={rand:0:9980}"},
			{Name: "create", Weight: 10, Method: "POST", Path: "/items", Header: []string{jsonHeader},
				Body: `{"name":"item-{seq}","price_cents":{rand:100:99999},"qty":{rand:1:100}}`},
			{Name: "update", Weight: 10, Method: "PUT", Path: "/items/{rand:1:10000}", Header: []string{jsonHeader},
				Body: `{"name":"updated-{seq}","price_cents":{rand:100:99999},"qty":{rand:1:100}}`},
			{Name: "fortunes", Weight: 5, Method: "GET", Path: "/fortunes"},
		}},
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

// Parse resolves a workload argument: a built-in name, or "METHOD /path"
// (for your own app), e.g. "GET /api/items/{rand:1:500}".
func Parse(spec string) (Workload, error) {
	spec = strings.TrimSpace(spec)
	if w, ok := builtin[spec]; ok {
		return w, nil
	}
	method, path, ok := strings.Cut(spec, " ")
	path = strings.TrimSpace(path)
	if !ok || !strings.HasPrefix(path, "/") || method == "" || strings.ToUpper(method) != method {
		return Workload{}, fmt.Errorf("unknown workload %q: use one of %s, or \"GET /path\"", spec, strings.Join(Names(), ", "))
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
