package report

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/rank"
	"github.com/wsgibench/wsgibench/internal/results"
)

// FuzzRender: any file the results reader accepts renders (summary.md,
// report.html, the stdout tables, a comparison with itself, a re-ranking)
// without a panic, and report.html keeps only its own scripts. A results
// file can be edited by hand or come from another machine; `wsgibench
// report` must fail with an error or render it, never crash.
//
//	go test ./internal/report -run XXX -fuzz FuzzRender -fuzztime 1m -fuzzminimizetime 20x
//
// (A render takes milliseconds, so minimizing a large input the default
// way stalls the run for a minute at a time.)
func FuzzRender(f *testing.F) {
	for _, p := range []string{"testdata/results-3trials.json", "../results/testdata/fuzz/FuzzParse/valid-small"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if strings.HasPrefix(string(b), "go test fuzz v1") {
			continue // the corpus format; its seed runs in package results
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"wsgibench/v1","runs":[{"server":"<script>","shape":{"workers":-1,"threads":-1},"workload":"","trials":[{"rps":1e308,"requests":-1,"starved_connections":5,"histogram":"x"}],"capacity":{"goal_p99_ms":-1,"steps":[{"rate":0,"pass":true}]}}]}`))
	f.Add([]byte(`{"schema":"wsgibench/v1","ranking":[{"position":-3,"score":1e309}],"verdict":{"weights":[{"metric":"x","weight":-1}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := results.Parse("fuzz.json", b)
		if err != nil {
			return
		}
		render := func(file *results.File) {
			var md, page, tbl, cmp bytes.Buffer
			if err := Markdown(&md, file); err != nil {
				t.Fatal(err)
			}
			if err := HTML(&page, file); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(strings.ToLower(page.String()), "<script"); n != len(htmlLibraries)+2 {
				t.Fatalf("report.html has %d <script elements", n)
			}
			Table(&tbl, file)
			ConformanceTable(&tbl, file)
			RobustnessTable(&tbl, file)
			if err := Compare(&cmp, "a", file, "b", file, 0); err != nil {
				t.Fatal(err)
			}
		}
		render(file)
		if rank.Apply(file, "", 0) == nil {
			render(file)
		}
	})
}
