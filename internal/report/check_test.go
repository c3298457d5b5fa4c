package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

func checkFixture() *results.Check {
	return &results.Check{App: "app:application", RequestsFrom: "workload GET /items",
		Models: []results.CheckModel{
			{Model: results.CheckPEP3333, Verdict: results.CheckSafe, How: "wsgiref.validate"},
			{Model: results.CheckProcess, Verdict: results.CheckUnsafe, How: "gunicorn sync",
				Evidence: []results.CheckEvidence{{Request: "GET /items", What: `worker 1 answered 200 "<script>[1]</script>" but worker 2 answered 200 "[]"`}}},
			{Model: results.CheckThread, Verdict: results.CheckSafe, How: "gunicorn gthread"},
			{Model: results.CheckGreenlet, Verdict: results.CheckSkipped, How: "gevent is not importable"},
		}}
}

// TestCheckTable: the terminal table has a row per model with its verdict,
// and each finding under it with the request that showed it.
func TestCheckTable(t *testing.T) {
	var b bytes.Buffer
	CheckTable(&b, checkFixture())
	out := b.String()
	for _, want := range []string{"SAFE UNDER", "process servers   UNSAFE", "greenlet servers  not checked",
		"  process servers: GET /items: worker 1 answered"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckInReports: summary.md has the portability section with the
// evidence as text, and report.html the matrix, its evidence escaped.
func TestCheckInReports(t *testing.T) {
	f := &results.File{Schema: results.Schema, Check: checkFixture()}
	var md, page bytes.Buffer
	if err := Markdown(&md, f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Portability") || !strings.Contains(md.String(), "| process servers | UNSAFE |") {
		t.Errorf("summary.md lacks the portability table:\n%s", md.String())
	}
	if strings.Contains(md.String(), "<script>") {
		t.Error("summary.md carries the app's markup as markup")
	}
	if err := HTML(&page, f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `id="matrix-check"`) || strings.Contains(page.String(), "<script>[1]") {
		t.Error("report.html lacks the check's matrix, or carries the app's markup")
	}
}
