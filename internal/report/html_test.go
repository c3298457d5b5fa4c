package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"html"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wsgibench/wsgibench/internal/results"
)

var updateHTMLGolden = flag.Bool("update-html", false, "rewrite html_testdata/report.golden.html")

func renderString(t testing.TB, f *results.File) string {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var (
	scriptElem = regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`)
	styleElem  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	dataBlock  = regexp.MustCompile(`(?s)<script type="application/json" id="wsgibench-data">(.*?)</script>`)
)

// pageData decodes the page's JSON data block, as report.js does.
func pageData(t testing.TB, page string) chartData {
	t.Helper()
	m := dataBlock.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no JSON data block in the page")
	}
	var d chartData
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("data block is not JSON: %v", err)
	}
	return d
}

// expectedPlots counts the plots the fixture calls for, from the results
// alone (not from the page model): throughput and latency per workload,
// then one each for the capacity knee, memory and the timeline when there
// is data for them.
func expectedPlots(f *results.File) int {
	var workloads []string
	knee, memory, timeline := 0, 0, 0
	for _, r := range f.Runs {
		if len(r.Trials) > 0 && !slices.Contains(workloads, r.Workload) {
			workloads = append(workloads, r.Workload)
		}
		if r.Capacity != nil && len(r.Capacity.Steps) > 0 {
			knee = 1
		}
		for _, tr := range r.Trials {
			if tr.PSSPeakBytes > 0 || tr.RSSPeakBytes > 0 {
				memory = 1
			}
			if len(tr.Timeline) > 0 {
				timeline = 1
			}
		}
	}
	return 2*len(workloads) + knee + memory + timeline
}

func TestHTMLFixture(t *testing.T) {
	f := loadFixture(t)
	page := renderString(t, f)

	if again := renderString(t, f); again != page {
		t.Error("two renders of the same file differ: the output must be deterministic")
	}

	d := pageData(t, page)
	if got, want := len(d.Plots), expectedPlots(f); got != want {
		t.Errorf("%d plots in the data, want %d", got, want)
	}
	for _, p := range d.Plots {
		if n := strings.Count(page, `<div class="plot" id="`+p.ID+`"`); n != 1 {
			t.Errorf("plot %s has %d containers, want 1", p.ID, n)
		}
	}
	if n := strings.Count(page, `<div class="plot"`); n != len(d.Plots) {
		t.Errorf("%d plot containers, %d plots in the data", n, len(d.Plots))
	}

	for _, want := range []string{
		`id="verdict"`, "tie for second", `<td class="num pos">=2</td>`, "tied with uwsgi 4x4",
		`id="runs"`, `id="failed"`, "No module named &#39;cheroot&#39;", "killed by signal 11",
		`id="setup"`, "AMD EPYC 7763", `id="notes"`, "powersave",
		"high variance", "generator-bound in 1 of 5 trials",
		"Chart.js 4.6.1", "chartjs-chart-error-bars 4.4.5",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, r := range f.Runs {
		if !strings.Contains(page, html.EscapeString(r.Server)) {
			t.Errorf("page never names %s", r.Server)
		}
	}
	if strings.Contains(page, `id="suites"`) {
		t.Error("suites section shown without any suite data")
	}
	// NaN or Inf would mean a missing value formatted as a number.
	if m := regexp.MustCompile(`[>"\s(:–-](NaN|[+-]?Inf)\b`).FindString(pageMarkup(page)); m != "" {
		t.Errorf("page shows %q", m)
	}
}

// TestHTMLContentSecurityPolicy checks that the page's policy admits
// exactly the inlined scripts and stylesheet, and nothing from anywhere.
func TestHTMLContentSecurityPolicy(t *testing.T) {
	page := renderString(t, loadFixture(t))
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no Content-Security-Policy meta element")
	}
	csp := html.UnescapeString(m[1])
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	var executable int
	for _, s := range scriptElem.FindAllStringSubmatch(page, -1) {
		if strings.Contains(s[1], "application/json") {
			continue
		}
		executable++
		if !strings.Contains(csp, hash(s[2])) {
			t.Errorf("CSP does not admit inline script %.60q…", s[2])
		}
	}
	if want := len(htmlLibraries) + 1; executable != want {
		t.Errorf("%d executable scripts, want %d", executable, want)
	}
	st := styleElem.FindAllStringSubmatch(page, -1)
	if len(st) != 1 || !strings.Contains(csp, "style-src "+hash(st[0][1])) {
		t.Errorf("CSP does not admit the one stylesheet (%d <style> elements)", len(st))
	}
	for _, want := range []string{"default-src 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("CSP is too permissive: %s", csp)
	}
}

// TestHTMLNoRemoteReferences: the page must work offline, so nothing in it,
// embedded libraries included, may point at the network.
func TestHTMLNoRemoteReferences(t *testing.T) {
	page := renderString(t, loadFixture(t))
	remote := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(?:src|href|action|poster|srcset|data|formaction|xlink:href)\s*=\s*["']?\s*(?:https?:)?//`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)url\(\s*["']?\s*(?:https?:)?//`),
		regexp.MustCompile(`(?i)<link\b`),
		regexp.MustCompile(`(?i)sourceMappingURL`),
	}
	for _, re := range remote {
		if loc := re.FindStringIndex(page); loc != nil {
			t.Errorf("remote reference %q at byte %d: %q", re, loc[0], page[max(0, loc[0]-40):min(len(page), loc[1]+40)])
		}
	}
	// The page's own markup (everything but the inlined libraries) names no
	// URL at all; the libraries may mention theirs in licence comments.
	own := pageMarkup(page)
	if i := strings.Index(own, "://"); i >= 0 {
		t.Errorf("page markup contains a URL: %q", own[max(0, i-40):min(len(own), i+40)])
	}
}

// Hostile strings as a server, its version, a warning or an error could
// carry them. Each one must come out as text.
var hostile = []string{
	`</script><script>window.__pwned=1;alert(1)</script>`,
	`<img src=x onerror="window.__pwned=2">`,
	`"><svg onload="window.__pwned=3">`,
	`'><iframe src="javascript:window.__pwned=4"></iframe>`,
	"</style><style>body{display:none}</style>\u2028<!--",
	`{{.Title}} ${alert(5)}`,
	// Markdown and HTML control characters, for summary.md.
	"<script>alert(1)</script>",
	"a | b | c\n| d | e |\r\n# heading\n> quote\n- item",
	"`code` ``more`` *bold* _em_ __strong__ ~~gone~~ \\| \\",
	"[x](javascript:alert(6)) ![i](x.png) <https://example.com> <!-- c --> <?php ?>",
	"&lt;script&gt; &amp; &#60;b&#62; &copy; R&D",
	"1. not a list",
	"\x1b[31mred\x1b[0m\x00 bell\a",
}

// hostileFile puts the hostile strings everywhere the report shows text
// from a server, the user or the plan.
func hostileFile(t testing.TB) *results.File {
	t.Helper()
	f := loadFixture(t)
	h := func(i int) string { return hostile[i%len(hostile)] }
	f.Tool = h(0)
	f.Warnings = append(f.Warnings, h(1), h(2))
	f.Machine.CPUModel = h(3)
	f.Machine.Hostname = h(4)
	f.Python.Executable = h(5)
	f.Plan.App = h(0)
	f.Plan.Order = append(f.Plan.Order, h(1))
	f.Verdict.Headline = h(2)
	f.Verdict.Notes = append(f.Verdict.Notes, h(3))
	f.Verdict.Profile = h(4)
	f.Ranking[0].Server = h(0)
	f.Ranking[0].Reasons = append(f.Ranking[0].Reasons, h(1))
	f.Ranking[1].TiedWith = []string{h(2)}
	for i := range f.Runs {
		r := &f.Runs[i]
		r.Server += h(i)
		r.Version = h(i + 1)
		r.Model = h(i + 2)
		r.Warnings = append(r.Warnings, h(i+3))
		r.Argv = append(r.Argv, h(i+4))
		r.Settings = map[string]string{h(i + 5): h(i)}
		if r.Error != "" {
			r.Error += "\n" + h(i)
		}
		if r.Summary != nil {
			r.Summary.Warnings = append(r.Summary.Warnings, h(i+1))
		}
		for j := range r.Trials {
			r.Trials[j].Warnings = append(r.Trials[j].Warnings, h(i+j))
		}
	}
	f.Runs[1].Workload = h(0) // workload names label plots and selectors
	// The suites carry what servers sent back to probes and clients.
	for i := range 3 {
		f.Conformance = append(f.Conformance, results.Conformance{
			Server: f.Runs[i].Server, Version: h(i + 1), Pass: 1, Fail: 1, Score: 0.5,
			Cases: []results.ProbeCase{
				{ID: "case-" + h(i), Group: "http", Title: h(i + 1), Ref: h(i + 2), Outcome: "fail", Detail: h(i + 3)},
				{ID: "ok", Group: "http", Title: "fine", Ref: "RFC 9112", Outcome: "warn", Detail: h(i + 4)},
			}})
		f.Robustness = append(f.Robustness, results.Robustness{
			Server: f.Runs[i].Server, Version: h(i), Shape: f.Runs[i].Shape, Score: 0.4,
			Scenarios: []results.TroubleCase{
				{ID: "slow-" + h(i+5), Title: h(i + 6), Retained: 0.2, Detail: h(i + 7), P99MS: 900},
				{ID: "hang", Title: "hung request", Error: h(i + 8)},
			}})
	}
	f.Conformance = append(f.Conformance, results.Conformance{Server: h(9), Version: h(10), Failed: h(11)})
	f.Robustness = append(f.Robustness, results.Robustness{Server: h(12), Version: h(0), Failed: h(1)})
	return f
}

func TestHTMLEscapesHostileStrings(t *testing.T) {
	f := hostileFile(t)
	page := renderString(t, f)

	// Only the page's own elements exist: the libraries, report.js and the
	// data block are the scripts; no image, frame or SVG was injected.
	if got, want := strings.Count(strings.ToLower(page), "<script"), len(htmlLibraries)+2; got != want {
		t.Errorf("%d <script elements, want %d", got, want)
	}
	if got := strings.Count(page, "</script>"); got != len(htmlLibraries)+2 {
		t.Errorf("%d </script> end tags, want %d", got, len(htmlLibraries)+2)
	}
	if got := strings.Count(strings.ToLower(page), "<style"); got != 1 {
		t.Errorf("%d <style elements, want 1", got)
	}
	for _, tag := range []string{"<img", "<svg", "<iframe"} {
		if strings.Contains(strings.ToLower(page), tag) {
			t.Errorf("page contains an injected %s element", tag)
		}
	}
	if strings.Contains(page, "<!--") {
		t.Error("an injected comment opener reached the page")
	}
	// The hostile text is shown, escaped: as text in the markup …
	for _, s := range hostile[:4] {
		if !strings.Contains(page, htmlTextEscape(s)) {
			t.Errorf("page does not show %q as text", s)
		}
	}
	// … and intact in the chart data, where the plots read labels from.
	d := pageData(t, page)
	var labels []string
	for _, p := range d.Plots {
		for _, b := range p.Bars {
			labels = append(labels, b.Label)
		}
		for _, s := range p.Series {
			labels = append(labels, s.Label)
		}
		for _, r := range p.Runs {
			labels = append(labels, r.Label)
		}
	}
	joined := strings.Join(labels, "\n")
	if !strings.Contains(joined, hostile[0]) || !strings.Contains(joined, hostile[1]) {
		t.Error("hostile server names did not round-trip through the chart data")
	}
	m := dataBlock.FindStringSubmatch(page)
	if strings.ContainsAny(m[1], "<>") {
		t.Error("the JSON data block contains a raw < or >")
	}
}

// pageMarkup is the page without the inlined scripts (the JSON data block
// stays): what the template wrote.
func pageMarkup(page string) string {
	return scriptElem.ReplaceAllStringFunc(page, func(s string) string {
		if strings.Contains(s, "application/json") {
			return s
		}
		return "<script>/* inlined script elided */</script>"
	})
}

// htmlTextEscape is how html/template writes text: it also escapes
// quotes and plus signs, which html.EscapeString does differently.
func htmlTextEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}

func TestHTMLEmptyAndFailedOnly(t *testing.T) {
	for name, f := range map[string]*results.File{
		"empty": {Schema: results.Schema, Tool: "test"},
		"failed only": {Schema: results.Schema, Tool: "test", Runs: []results.Run{
			{Server: "cheroot", Shape: results.Shape{Workers: 1, Threads: 4}, Workload: "crud", Error: "would not start"},
		}},
		"no histograms or summary": {Schema: results.Schema, Tool: "test", Runs: []results.Run{
			{Server: "waitress", Shape: results.Shape{Workers: 1, Threads: 4}, Workload: "crud", Trials: []results.Trial{
				{RPS: 900, Requests: 9000, LatencyMS: results.Latency{P50: 4, P90: 9, P99: 20, P999: 40, P9999: 60, Max: 80}},
			}},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			page := renderString(t, f)
			d := pageData(t, page)
			if d.Plots == nil {
				t.Error("plots is null; report.js expects a list")
			}
			if !strings.Contains(page, `id="runs"`) {
				t.Error("no runs section")
			}
		})
	}
}

// TestHTMLHistogramSpectrum checks the latency spectrum comes from the
// merged histograms: its p99 lies within the trials' own p99s, and its max
// is the largest trial max.
func TestHTMLHistogramSpectrum(t *testing.T) {
	f := loadFixture(t)
	r := &f.Runs[0]
	var notes noteSet
	views := runViews(&results.File{Runs: []results.Run{*r}}, map[string]int{}, &notes)
	if len(views) != 1 {
		t.Fatal("no view")
	}
	var p99s, maxes []float64
	for _, tr := range r.Trials {
		p99s = append(p99s, tr.LatencyMS.P99)
		maxes = append(maxes, tr.LatencyMS.Max)
	}
	var p99, maxv float64
	for _, pt := range views[0].spectrum {
		switch pt.Tag {
		case "p99":
			p99 = pt.Y
		case "max":
			maxv = pt.Y
		}
	}
	if p99 < slices.Min(p99s) || p99 > slices.Max(p99s) {
		t.Errorf("merged p99 %.3f outside the trials' p99s %v", p99, p99s)
	}
	if maxv != slices.Max(maxes) {
		t.Errorf("merged max %.3f, want the largest trial max %.3f", maxv, slices.Max(maxes))
	}
	if !strings.HasPrefix(views[0].specFrom, "merged histograms of 5") {
		t.Errorf("spectrum from %q", views[0].specFrom)
	}

	// A writer that base64-encoded the (already base64) encoding once
	// more: still read.
	double := *r
	double.Trials = slices.Clone(r.Trials)
	for i := range double.Trials {
		double.Trials[i].Histogram = base64.StdEncoding.EncodeToString([]byte(double.Trials[i].Histogram))
	}
	if h, used, bad := mergedHistogram(&double); h == nil || used != 5 || bad != 0 {
		t.Errorf("double-encoded histograms: used %d, bad %d", used, bad)
	}
	// Garbage: counted as bad, the spectrum falls back to trial percentiles.
	junk := *r
	junk.Trials = slices.Clone(r.Trials)
	for i := range junk.Trials {
		junk.Trials[i].Histogram = "not a histogram"
	}
	v := runViews(&results.File{Runs: []results.Run{junk}}, map[string]int{}, &notes)
	if !strings.HasPrefix(v[0].specFrom, "median of the trials") {
		t.Errorf("junk histograms: spectrum from %q", v[0].specFrom)
	}
}

func TestHTMLMatrices(t *testing.T) {
	f := loadFixture(t)
	p := buildPage(f)
	p.Matrices = []matrix{{
		ID: "matrix-conformance", Title: "Conformance", Caption: "HTTP/1.1 probes.",
		Columns: []string{"chunked body", "Expect: 100-continue", hostile[0]},
		Rows: []matrixRow{{Label: "uwsgi", Color: 5, Cells: []matrixCell{
			{Text: "pass", Class: "pass"}, {Text: "fail", Class: "fail", Title: hostile[2]}, {Text: "–", Class: "na"},
		}}},
	}}
	var buf bytes.Buffer
	if err := writePage(&buf, p); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{`id="suites"`, `href="#suites"`, `id="matrix-conformance"`, `<td class="cell fail" title="&#34;&gt;&lt;svg`, "Expect: 100-continue"} {
		if !strings.Contains(page, want) {
			t.Errorf("matrix page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "<svg") {
		t.Error("matrix cell title injected an element")
	}
}

func TestHTMLVerdictOf(t *testing.T) {
	f := &results.File{
		Verdict: &results.Verdict{Headline: "h", Profile: "p", Weights: []results.Weight{{Metric: "capacity", Weight: 4}, {Metric: "p99", Weight: 0}},
			GoalP99MS: 50, Alpha: 0.05, MinScoreGap: 2},
		Ranking: []results.Rank{
			{Position: 1, Server: "a", Score: 90},
			{Position: 2, Server: "b", Score: 80},
			{Position: 2, Server: "c", Score: 79.5}, // tie without tied_with: same position
			{Position: 4, Server: "d", Score: 120},  // out of range: the meter clamps
		},
	}
	v := verdictOf(f)
	var tied []bool
	for _, e := range v.Entries {
		tied = append(tied, e.Tied)
	}
	if !slices.Equal(tied, []bool{false, true, true, false}) {
		t.Errorf("tied = %v", tied)
	}
	if v.Entries[3].ScoreVal != 100 {
		t.Errorf("score meter not clamped: %v", v.Entries[3].ScoreVal)
	}
	var basis []string
	for _, kv := range v.Basis {
		basis = append(basis, kv.Key+"="+kv.Value)
	}
	want := []string{"Profile=p", "Weights=capacity ×4", "Latency goal=p99 ≤ 50.0 ms", "Ties=differences tested at α = 0.05; a lead under 2 points on the separated metrics, at the ends of their intervals, is a tie"}
	if !slices.Equal(basis, want) {
		t.Errorf("basis = %q, want %q", basis, want)
	}
	if v := verdictOf(&results.File{}); len(v.Entries) != 0 || v.Headline != "" {
		t.Errorf("no verdict: got %+v", v)
	}
}

func TestHTMLFormatting(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{
		{0, "0"}, {0.00123, "0.00123"}, {0.5, "0.500"}, {3.14159, "3.14"}, {42.42, "42.4"},
		{999.6, "1,000"}, {1234567, "1,234,567"}, {-1500, "-1,500"},
	} {
		if got := num(c.x); got != c.want {
			t.Errorf("num(%v) = %q, want %q", c.x, got, c.want)
		}
	}
	if got := span(Bytes, 43.4*(1<<20), 45.8*(1<<20)); got != "43.4–45.8 MiB" {
		t.Errorf("span = %q", got)
	}
	if got := span(Bytes, 900*(1<<10), 1.5*(1<<20)); got != "900.0 KiB–1.5 MiB" {
		t.Errorf("span = %q", got)
	}
	if got := cpuList([]int{0, 1, 2, 3, 8, 10, 11}); got != "0-3,8,10-11" {
		t.Errorf("cpuList = %q", got)
	}
	if got := shellJoin([]string{"gunicorn", "-w", "4", "app:app", "it's", ""}); got != `gunicorn -w 4 app:app 'it'\''s' ''` {
		t.Errorf("shellJoin = %q", got)
	}
	if got := (estimate{CI: true, Confidence: 0.9375, N: 5}).interval(); got != "93.7% CI of the median (min–max of 5 trials)" {
		t.Errorf("interval = %q", got)
	}
}

// TestHTMLGolden keeps the page's own markup (the template's output, with
// the inlined libraries, script and stylesheet elided) in a golden file,
// so changes to the structure show up in review.
//
//	go test ./internal/report -run TestHTMLGolden -update-html
func TestHTMLGolden(t *testing.T) {
	page := renderString(t, loadFixture(t))
	own := styleElem.ReplaceAllString(pageMarkup(page), "<style>/* inlined stylesheet elided */</style>")
	own = regexp.MustCompile(`'sha256-[A-Za-z0-9+/=]+'|&#39;sha256-[^&]+&#39;`).ReplaceAllString(own, "'sha256-…'")
	const golden = "html_testdata/report.golden.html"
	if *updateHTMLGolden {
		if err := os.WriteFile(golden, []byte(own), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-html to create it)", err)
	}
	if string(want) != own {
		t.Errorf("page markup differs from %s; if intended, run go test ./internal/report -run TestHTMLGolden -update-html and review the diff", golden)
	}
}

// A capacity step the search probed again is shown as such in the knee
// plot's table, so a failure left of a pass at the same rate reads right.
func TestKneeTableMarksRetriedSteps(t *testing.T) {
	run := &results.Run{Server: "tornado", Shape: results.Shape{Workers: 3, Threads: 1}, Capacity: &results.Capacity{
		GoalP99MS: 100, RPS: 4000, Steps: []results.CapacityStep{
			{Rate: 3400, Achieved: 2600, P99MS: 366, Retried: true},
			{Rate: 3400, Achieved: 3400, P99MS: 9, Pass: true},
			{Rate: 4000, Achieved: 4000, P99MS: 40, Pass: true},
		}}}
	pl := kneePlot([]*runView{{run: run, label: "tornado 3x1"}})
	var verdicts []string
	for _, row := range pl.Table.Rows {
		verdicts = append(verdicts, row[1]+" "+row[len(row)-1])
	}
	if want := []string{"3,400 no (probed again)", "3,400 yes", "4,000 yes"}; !slices.Equal(verdicts, want) {
		t.Errorf("knee table %q, want %q", verdicts, want)
	}
}
