package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

// suitesFile is a results file of the suites alone, with a server-supplied
// detail that would break a table or a page if it were not escaped.
func suitesFile() *results.File {
	return &results.File{
		Schema: results.Schema,
		Conformance: []results.Conformance{
			{Server: "strict", Version: "1.0", Pass: 2, Score: 1, Cases: []results.ProbeCase{
				{ID: "head", Group: "http", Title: "no body after HEAD", Ref: "RFC 9110", Outcome: "pass", Detail: "ok"},
				{ID: "cl-sign", Group: "smuggling", Title: "rejects +5", Ref: "RFC 9110", Outcome: "pass", Detail: "400"},
			}},
			{Server: "sloppy", Version: "2.0", Pass: 0, Warn: 1, Fail: 1, Score: 0.25, Cases: []results.ProbeCase{
				{ID: "head", Group: "http", Title: "no body after HEAD", Ref: "RFC 9110", Outcome: "warn", Detail: "closed | then <svg onload=x>"},
				{ID: "cl-sign", Group: "smuggling", Title: "rejects +5", Ref: "RFC 9110", Outcome: "fail", Detail: "accepted"},
			}},
			{Server: "broken", Failed: "not started: boom"},
		},
		Robustness: []results.Robustness{
			{Server: "strict", Shape: results.Shape{Workers: 3, Threads: 1}, Score: 0.5, Scenarios: []results.TroubleCase{
				{ID: "slow-headers", Title: "slow clients", Retained: 0, Detail: "stalled <b>", P99MS: 3000},
				{ID: "worker-killed", Title: "kill", Retained: 1, Detail: "fine"},
			}},
			{Server: "sloppy", Failed: "not started: boom"},
		},
	}
}

func TestSuitesMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, suitesFile()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## Conformance: HTTP/1.1 and PEP 3333",
		"| sloppy 2.0 | 0 | 1 | 1 | 25% | cl-sign |",
		"| broken  | - | - | - | - | not probed: not started: boom |",
		"closed \\| then", // a pipe in a detail stays in its cell
		"## Under trouble",
		"| strict  | 3x1 | 50% | 0% ✗ | 100% ✓ |",
		"  - slow-headers: stalled &lt;b> (p99 3000 ms)", // a server's words are text, not markup
		"- **Suites only**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "## Verdict") {
		t.Error("a suites-only file got a verdict section")
	}
}

func TestSuitesHTML(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, suitesFile()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`id="matrix-conformance"`, `id="matrix-robustness"`, "sloppy (25%)", `class="cell fail"`, "0%"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(page, "<svg onload") || strings.Contains(page, "stalled <b>") {
		t.Error("a server's words reached the page unescaped")
	}
}

func TestSuitesTables(t *testing.T) {
	var b bytes.Buffer
	ConformanceTable(&b, suitesFile())
	RobustnessTable(&b, suitesFile())
	out := b.String()
	for _, want := range []string{"SCORE", "sloppy", "cl-sign", "not probed: not started: boom", "SLOW-HEADERS", "not tried: not started: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("tables lack %q:\n%s", want, out)
		}
	}
}

// A scenario run once is flagged as such, in the terminal table and in
// summary.md; medians of several are not.
func TestSingleRunNotice(t *testing.T) {
	for _, repeats := range []int{0, 1, 3} {
		f := suitesFile()
		for i := range f.Robustness {
			for j := range f.Robustness[i].Scenarios {
				f.Robustness[i].Scenarios[j].Repeats = repeats
			}
		}
		var b bytes.Buffer
		RobustnessTable(&b, f)
		want := repeats <= 1
		if got := strings.Contains(b.String(), "single runs:"); got != want {
			t.Errorf("repeats %d: table notice %v, want %v:\n%s", repeats, got, want, b.String())
		}
		var md bytes.Buffer
		if err := Markdown(&md, f); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(md.String(), "Some scenarios ran once"); got != want {
			t.Errorf("repeats %d: summary notice %v, want %v", repeats, got, want)
		}
	}
}
