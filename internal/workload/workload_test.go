package workload

import (
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/load"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec, name, err string
	}{
		{"crud", "crud", ""},
		{" db ", "db", ""},
		{"GET /api/x", "GET /api/x", ""},
		{"POST /items/{rand:1:9}", "POST /items/{rand:1:9}", ""},
		{"nosuch", "", "unknown workload"},
		{"get /x", "", "unknown workload"},
		{"GET x", "", "unknown workload"},
	} {
		w, err := Parse(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) err = %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || w.Name != tc.name {
			t.Errorf("Parse(%q) = %q, %v", tc.spec, w.Name, err)
		}
	}
}

// TestBuiltinsRender makes every built-in mix render through the load
// generator's own template compiler, so a typo in a variable fails here.
func TestBuiltinsRender(t *testing.T) {
	for _, w := range Builtins() {
		reqs, err := load.RenderSample(w.Mix, "127.0.0.1:8000", 1, 50)
		if err != nil {
			t.Errorf("%s: %v", w.Name, err)
			continue
		}
		for _, r := range reqs {
			if strings.Contains(r, "{rand") || strings.Contains(r, "{seq") {
				t.Errorf("%s: unrendered variable in %q", w.Name, r)
			}
		}
	}
}
