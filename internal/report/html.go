package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/wsgibench/wsgibench/internal/results"
)

// The page template, its stylesheet and script, and the chart library are
// embedded and inlined, so report.html is one file that opens offline, can
// be mailed or attached to a CI run, and never makes a network request (its
// Content-Security-Policy forbids any).
//
//go:embed assets/report.html.tmpl assets/report.css assets/report.js
//go:embed assets/factors.html.tmpl assets/factors.css
//go:embed assets/chart.umd.min.js assets/chartjs-chart-error-bars.umd.min.js
var htmlAssets embed.FS

// library is a vendored third-party script; its LICENSE sits beside it in
// assets/ and the page footer credits it.
type library struct {
	Name, Version, License, File string
}

// htmlLibraries are inlined in this order (the error-bar plugin registers
// itself with the global Chart that Chart.js defines). Update the versions
// here when re-vendoring; assets/README.md says how.
var htmlLibraries = []library{
	{Name: "Chart.js", Version: "4.6.1", License: "MIT", File: "assets/chart.umd.min.js"},
	{Name: "chartjs-chart-error-bars", Version: "4.4.5", License: "MIT", File: "assets/chartjs-chart-error-bars.umd.min.js"},
}

// HTML writes report.html: the verdict, plots of throughput and capacity
// with their confidence intervals, latency percentiles, the capacity knee,
// memory and per-second timelines, then every number in tables (readable
// without JavaScript) with the machine, plan, failures and warnings.
//
// The output depends on f alone (no clock, no map order), so the same
// results file always renders the same bytes. Every string from a server,
// the plan or the user is escaped by html/template; chart data travels as
// a JSON data block, never as generated script.
func HTML(w io.Writer, f *results.File) error {
	if f == nil {
		return errors.New("rendering HTML report: no results")
	}
	return writePage(w, buildPage(f))
}

// writePage inlines the assets into p and executes the template.
func writePage(w io.Writer, p *htmlPage) error {
	a, err := loadHTMLAssets()
	if err != nil {
		return err
	}
	if p.Data.Plots == nil {
		p.Data.Plots = []*plot{} // JSON [] rather than null
	}
	p.CSS = template.CSS(a.css + paletteCSS())
	p.Scripts = a.scripts
	p.Libraries = htmlLibraries
	p.CSP = contentSecurityPolicy(string(p.CSS), a.scripts)
	var buf bytes.Buffer
	if err := a.tmpl.Execute(&buf, p); err != nil {
		return fmt.Errorf("rendering HTML report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing HTML report: %w", err)
	}
	return nil
}

type htmlAssetSet struct {
	tmpl    *template.Template
	css     string
	scripts []template.JS // libraries first, then report.js
}

var loadHTMLAssets = sync.OnceValues(func() (htmlAssetSet, error) {
	var a htmlAssetSet
	read := func(name string) (string, error) {
		b, err := htmlAssets.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("HTML report asset: %w", err)
		}
		return string(b), nil
	}
	src, err := read("assets/report.html.tmpl")
	if err != nil {
		return a, err
	}
	a.tmpl, err = template.New("report.html").Funcs(htmlFuncs).Parse(src)
	if err != nil {
		return a, fmt.Errorf("HTML report template: %w", err)
	}
	if a.css, err = read("assets/report.css"); err != nil {
		return a, err
	}
	// The verdict's heatmap lead keeps its own template and styles.
	for _, extra := range []struct{ tmpl, css string }{{"assets/factors.html.tmpl", "assets/factors.css"}} {
		src, err := read(extra.tmpl)
		if err != nil {
			return a, err
		}
		if _, err := a.tmpl.New(extra.tmpl).Parse(src); err != nil {
			return a, fmt.Errorf("HTML report template %s: %w", extra.tmpl, err)
		}
		css, err := read(extra.css)
		if err != nil {
			return a, err
		}
		a.css += "\n" + css
	}
	files := []string{}
	for _, l := range htmlLibraries {
		files = append(files, l.File)
	}
	files = append(files, "assets/report.js")
	for _, name := range files {
		s, err := read(name)
		if err != nil {
			return a, err
		}
		s, err = inlineScript(name, s)
		if err != nil {
			return a, err
		}
		a.scripts = append(a.scripts, template.JS(s))
	}
	return a, nil
})

var sourceMapComment = regexp.MustCompile(`(?m)^//# sourceMappingURL=.*$`)

// inlineScript prepares a script for a <script> element: the source-map
// comment goes (it names a file that is not there, and devtools would try
// to fetch it), and text that would end or confuse the element is refused.
func inlineScript(name, s string) (string, error) {
	s = strings.TrimSpace(sourceMapComment.ReplaceAllString(s, ""))
	low := strings.ToLower(s)
	for _, bad := range []string{"</script", "<!--", "<script"} {
		if strings.Contains(low, bad) {
			return "", fmt.Errorf("HTML report asset %s contains %q and cannot be inlined", name, bad)
		}
	}
	return s, nil
}

// contentSecurityPolicy allows exactly the inlined stylesheet and scripts
// (by hash) and nothing else: no network, no other script. Even if some
// value escaped escaping, the browser would not run an injected script.
func contentSecurityPolicy(css string, scripts []template.JS) string {
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	var js []string
	for _, s := range scripts {
		js = append(js, hash(string(s)))
	}
	return "default-src 'none'; script-src " + strings.Join(js, " ") +
		"; style-src " + hash(css) + "; img-src data:; base-uri 'none'; form-action 'none'"
}

// palette gives each server one colour across every plot and table
// (Tableau 10: distinct, and readable on white). Beyond ten servers the
// colours repeat; plots then tell them apart by dash pattern and label.
var palette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
}

// paletteCSS defines the swatch classes c0…c9 used beside server names.
func paletteCSS() string {
	var b strings.Builder
	for i, c := range palette {
		fmt.Fprintf(&b, ".c%d{--c:%s}", i, c)
	}
	return "\n" + b.String() + "\n"
}

var htmlFuncs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
}

func sortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
