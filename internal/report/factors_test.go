package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// The factors section of summary.md for the 17-server fixture, as a
// golden file: go test ./internal/report -run FactorsGolden -update.
func TestFactorsMarkdownGolden(t *testing.T) {
	f := factorsFixture(t)
	var b bytes.Buffer
	if err := Markdown(&b, f); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	// summary.md opens with the verdict's headline, then the factors.
	head := "# wsgibench results\n\n## Verdict\n\n**" + mdText(f.Verdict.Headline) + "**\n\n### What separates these servers, in order\n"
	if !strings.HasPrefix(md, head) {
		t.Fatalf("summary.md does not open with the headline and the factors:\n%s", md[:min(len(md), 600)])
	}
	start := strings.Index(md, "### What separates")
	end := strings.Index(md[start:], "**Winner under each profile:**")
	if end < 0 {
		t.Fatal("no per-profile winners")
	}
	end += start + strings.Index(md[start+end:], "\n\n") + 2
	section := md[start:end]
	// The per-pair reasons stay below.
	if i := strings.Index(md, "  - behind "); i >= 0 && i < end {
		t.Error("a per-pair reason comes before the factors")
	}
	if n := strings.Count(section, "\n| "); n != 17+1 {
		t.Errorf("the factor table has %d rows, want 17 servers and a head", n-1)
	}
	golden(t, "factors.golden.md", []byte(section))
}

// The HTML verdict lead for the same fixture, as a golden file.
func TestFactorsHTMLGolden(t *testing.T) {
	f := factorsFixture(t)
	var b bytes.Buffer
	if err := HTML(&b, f); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	start := strings.Index(page, `<div id="verdict-lead"`)
	if start < 0 {
		t.Fatal("no verdict lead in the page")
	}
	end := strings.Index(page[start:], "</ol>\n</details>")
	if end < 0 {
		t.Fatal("no end to the verdict lead")
	}
	end += start + len("</ol>\n</details>")
	lead := page[start:end]
	if n := len(regexp.MustCompile(`<tr( class="tied")?><td class="num pos">`).FindAllString(lead, -1)); n != 17 {
		t.Errorf("the heatmap has %d server rows, want 17", n)
	}
	// The lead comes before the ranking and its folded reasons.
	if r := strings.Index(page, `<table class="ranking">`); r >= 0 && r < start {
		t.Error("the ranking table comes before the heatmap")
	}
	if strings.Contains(page, `<td><ul class="reasons">`) {
		t.Error("per-pair reasons are not folded")
	}
	golden(t, "factors-verdict.golden.html", []byte(lead))
}

// Every factor with data is a heatmap column, in the order of the
// summary's list, and each cell's class follows its score.
func TestFactorsViewMatchesModel(t *testing.T) {
	f := factorsFixture(t)
	v := factorsOf(f, map[string]int{})
	if v == nil {
		t.Fatal("no factors view")
	}
	if len(v.Rows) != 17 || len(v.Columns) == 0 {
		t.Fatalf("%d rows, %d columns", len(v.Rows), len(v.Columns))
	}
	for i, c := range v.Columns {
		if c.N != i+1 || c.Href == "" {
			t.Errorf("column %d: %+v", i, c)
		}
	}
	for _, tc := range []struct {
		score float64
		want  string
	}{{0, "h0"}, {0.04, "h0"}, {0.06, "h1"}, {0.5, "h5"}, {0.96, "h10"}, {1, "h10"}, {1.3, "h10"}, {-1, "h0"}} {
		if got := heatClass(tc.score); got != tc.want {
			t.Errorf("heatClass(%v) = %s, want %s", tc.score, got, tc.want)
		}
	}
	var seps int
	for _, r := range v.Rows {
		for _, c := range r.Cells {
			if c.Separated {
				seps++
			}
		}
	}
	if seps == 0 {
		t.Error("no cell is marked separated in a fixture with clear differences")
	}
}
