package workload

import (
	"os"
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

// TestCrudScenario: the bundled crud mix is the embedded scenario, with the
// lifecycle flow on the created id, and its shares of requests stay close to
// the mix it replaced (60% reads, 15% lists, 10% creates, 10% updates, 5%
// fortunes).
func TestCrudScenario(t *testing.T) {
	w, err := Parse("crud")
	if err != nil {
		t.Fatal(err)
	}
	if w.Scenario == nil || !w.Bundled || string(Example()) != w.Scenario.Source {
		t.Fatalf("crud is not the embedded scenario: %+v", w)
	}
	share := map[string]float64{}
	total := 0.0
	for _, tm := range w.Mix {
		if len(tm.Steps) == 0 {
			share[tm.Name] += float64(tm.Weight)
			total += float64(tm.Weight)
			continue
		}
		if tm.Name != "lifecycle" {
			t.Errorf("unexpected flow %q", tm.Name)
		}
		var names []string
		for _, st := range tm.Steps {
			names = append(names, st.Method+" "+st.Name)
			share[st.Name] += float64(tm.Weight)
			total += float64(tm.Weight)
		}
		if got := strings.Join(names, ", "); got != "POST create, GET read, PUT update, DELETE delete" {
			t.Errorf("lifecycle steps %s", got)
		}
		if !strings.Contains(tm.Steps[3].Path, "{var:id}") || tm.Steps[0].Capture[0].JSON != "id" {
			t.Errorf("the flow does not use the captured id: %+v", tm.Steps)
		}
	}
	for name, want := range map[string]float64{"read": 0.60, "list": 0.15, "create": 0.10, "update": 0.10, "fortunes": 0.05} {
		if got := share[name] / total; got < want-0.05 || got > want+0.05 {
			t.Errorf("%s: %.0f%% of requests, was %.0f%%", name, 100*got, 100*want)
		}
	}
}

func TestScenarioFile(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/shop.yaml"
	if err := os.WriteFile(good, []byte("requests:\n  - {name: home, path: /}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Parse(good)
	if err != nil || w.Name != "shop" || w.Bundled || len(w.Mix) != 1 {
		t.Errorf("Parse(%s) = %+v, %v", good, w, err)
	}
	bad := dir + "/bad.yml"
	os.WriteFile(bad, []byte("requests:\n  - path: /\n    weight: -1\n"), 0o644)
	if _, err := Parse(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":3:13: weight -1") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := Parse(dir + "/none.yaml"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}
