package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCorruptResultsFile: report and compare given an empty, truncated,
// non-JSON or wrong-schema results file exit non-zero with one line that
// names the file (and where a JSON error is), and overwrite nothing.
func TestCorruptResultsFile(t *testing.T) {
	good := filepath.Join("..", "..", "internal", "report", "testdata", "results.json")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		content string
		want    string
	}{
		{"empty.json", "", "is empty"},
		{"truncated.json", string(b[:len(b)/2]), "(is the file truncated?)"},
		{"text.json", "Requests/sec: 12\n", "is not valid JSON at line 1, column 1, byte 1"},
		{"schema.json", `{"schema": "vegeta/v12", "runs": 3}`, `has schema "vegeta/v12"`},
		{"noschema.json", `{"runs": []}`, `has no "schema" field`},
		{"types.json", "{\"schema\": \"wsgibench/v1\",\n \"runs\": {}}", "runs (ending at line 2, column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(dir, tc.name)
			if err := os.WriteFile(bad, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			// An earlier report beside it must survive the failed one.
			out := t.TempDir()
			prior := filepath.Join(out, "summary.md")
			os.WriteFile(prior, []byte("earlier summary\n"), 0o644)
			for _, args := range [][]string{
				{"report", bad, "--out", out},
				{"compare", bad, good},
				{"compare", good, bad},
			} {
				r := runBinary(t, 30*time.Second, args...)
				if r.code != 1 {
					t.Errorf("%v: exit %d, want 1", args, r.code)
				}
				want := "wsgibench: " + bad + " "
				if lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], tc.want) {
					t.Errorf("%v: stderr %q, want one line starting %q and saying %q", args, r.stderr, want, tc.want)
				}
				if r.stdout != "" {
					t.Errorf("%v: wrote to stdout: %q", args, r.stdout)
				}
			}
			if b, _ := os.ReadFile(prior); string(b) != "earlier summary\n" {
				t.Errorf("the failed report overwrote summary.md: %q", b)
			}
			if _, err := os.Stat(filepath.Join(out, "report.html")); err == nil {
				t.Error("the failed report wrote report.html")
			}
		})
	}
}
