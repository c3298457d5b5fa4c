//go:build unix

package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// chromium finds the browser. Without one the test skips, except in CI
// (env CI set), where scripts/setup.sh installs it and a skip would hide a
// broken report.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WSGIBENCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; CI must install it (scripts/setup.sh)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// artifactDir is where screenshots go: $WSGIBENCH_ARTIFACTS when set (CI
// uploads it), else the test's temporary directory.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("WSGIBENCH_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// lockedBuffer collects the browser's stderr, written from exec's copier.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// browserSession starts headless Chromium for one test, bounded to a
// minute, closed (its stderr logged if the test failed) when the test
// ends; art is where the test keeps what it rendered.
func browserSession(t *testing.T) (ctx context.Context, b *browser, art string) {
	t.Helper()
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	art = artifactDir(t)
	stderr := &lockedBuffer{}
	b, err := startBrowser(exe, filepath.Join(t.TempDir(), "profile"), stderr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.close()
		cancel()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})
	return ctx, b, art
}

// TestHTMLInBrowser opens rendered reports in headless Chromium and checks
// what a reader would see: every plot drawn, nothing logged as an error,
// no request but the file itself, and hostile strings inert.
func TestHTMLInBrowser(t *testing.T) {
	ctx, b, art := browserSession(t)

	t.Run("fixture", func(t *testing.T) {
		f := loadFixture(t)
		pg := openReport(ctx, t, b, f, filepath.Join(art, "report-fixture.html"), 1280, 900)
		defer pg.checkClean(t)

		plots := pg.plots(t)
		if want := expectedPlots(f); len(plots) != want {
			t.Errorf("%d plots on the page, want %d", len(plots), want)
		}
		for _, p := range plots {
			if len(p.Items) != 1 {
				t.Errorf("plot %s holds %d canvas/svg elements, want 1", p.ID, len(p.Items))
				continue
			}
			it := p.Items[0]
			if it.W <= 0 || it.H <= 0 || it.PW <= 0 || it.PH <= 0 {
				t.Errorf("plot %s has no size: %+v", p.ID, it)
			}
			// A drawn chart covers a good part of its canvas (axes, bars,
			// lines, labels); an empty one covers none.
			if it.Inked < 0.02 {
				t.Errorf("plot %s looks blank: %.1f%% of its pixels drawn", p.ID, 100*it.Inked)
			}
		}
		var drawn struct{ Drawn, Failed string }
		if err := pg.eval(`({Drawn: document.documentElement.getAttribute('data-plots-drawn'), Failed: document.documentElement.getAttribute('data-plots-failed')})`, &drawn); err != nil {
			t.Fatal(err)
		}
		if drawn.Drawn != fmt.Sprint(expectedPlots(f)) || drawn.Failed != "0" {
			t.Errorf("report.js drew %s plots, %s failed", drawn.Drawn, drawn.Failed)
		}

		// The timeline selector switches runs.
		var switched bool
		if err := pg.eval(`(() => {
			const s = document.getElementById('timeline-run');
			const d = JSON.parse(document.getElementById('wsgibench-data').textContent);
			const tl = d.plots.find(p => p.kind === 'timeline');
			const ch = Chart.getChart(document.querySelector('#plot-timeline canvas'));
			const last = s.options.length - 1;
			s.value = String(last);
			s.dispatchEvent(new Event('change'));
			const ok = s.options.length === tl.runs.length && ch.data.datasets.length > 0 &&
				ch.data.datasets[0].backgroundColor === tl.runs[last].color;
			s.value = '0';
			s.dispatchEvent(new Event('change'));
			return ok && ch.data.datasets[0].backgroundColor === tl.runs[0].color;
		})()`, &switched); err != nil {
			t.Fatal(err)
		}
		if !switched {
			t.Error("choosing another run in the timeline selector did not redraw the timeline")
		}

		shot := filepath.Join(art, "report-fixture.png")
		pg.screenshot(t, shot)
		t.Logf("screenshot: %s", shot)

		// On a phone the page must not scroll sideways (wide tables scroll
		// inside their own box) and the plots must still draw.
		pg.viewport(t, 390, 844)
		var narrow struct {
			ScrollWidth, InnerWidth int
			MinPlotWidth            float64
		}
		if err := pg.eval(`(() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done({
			ScrollWidth: document.documentElement.scrollWidth, InnerWidth: window.innerWidth,
			MinPlotWidth: Math.min(...Array.from(document.querySelectorAll('.plot canvas')).map(c => c.getBoundingClientRect().width))
		})))))()`, &narrow); err != nil {
			t.Fatal(err)
		}
		if narrow.ScrollWidth > narrow.InnerWidth {
			t.Errorf("at %d px wide the page is %d px wide: it scrolls sideways", narrow.InnerWidth, narrow.ScrollWidth)
		}
		if narrow.MinPlotWidth < 200 {
			t.Errorf("at %d px wide a plot is only %.0f px wide", narrow.InnerWidth, narrow.MinPlotWidth)
		}
		narrowShot := filepath.Join(art, "report-fixture-narrow.png")
		pg.screenshot(t, narrowShot)
		t.Logf("narrow screenshot: %s", narrowShot)
	})

	t.Run("hostile", func(t *testing.T) {
		f := hostileFile(t)
		pg := openReport(ctx, t, b, f, filepath.Join(t.TempDir(), "report-hostile.html"), 1280, 900)
		defer pg.checkClean(t)
		var dom struct {
			Pwned    bool
			Injected int
			Scripts  int
			Styles   int
			Shown    bool
			Drawn    string
		}
		if err := pg.eval(`({
			Pwned: window.__pwned !== undefined,
			Injected: document.querySelectorAll('img, svg, iframe, object, embed').length,
			Scripts: document.scripts.length,
			Styles: document.querySelectorAll('style, link').length,
			Shown: document.body.textContent.includes(`+jsString(hostile[0])+`) && document.body.textContent.includes(`+jsString(hostile[1])+`),
			Drawn: document.documentElement.getAttribute('data-plots-drawn'),
		})`, &dom); err != nil {
			t.Fatal(err)
		}
		if dom.Pwned {
			t.Error("an injected script ran")
		}
		if dom.Injected != 0 {
			t.Errorf("%d injected elements in the DOM", dom.Injected)
		}
		if want := len(htmlLibraries) + 2; dom.Scripts != want {
			t.Errorf("%d script elements, want %d", dom.Scripts, want)
		}
		if dom.Styles != 1 {
			t.Errorf("%d style/link elements, want 1", dom.Styles)
		}
		if !dom.Shown {
			t.Error("the hostile strings are not shown as text")
		}
		if dom.Drawn != fmt.Sprint(expectedPlots(f)) {
			t.Errorf("drew %s plots with hostile labels, want %d", dom.Drawn, expectedPlots(f))
		}
		for _, e := range pg.events() {
			if e.Method == "Page.javascriptDialogOpening" {
				t.Errorf("a dialog opened: %s", e.Params)
			}
		}
	})
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// reportPage is one report open in its own browser tab.
type reportPage struct {
	ctx     context.Context
	b       *browser
	session string
	url     string
}

// openReport renders f to path and loads it in a new tab of the given size,
// waiting until report.js has drawn.
func openReport(ctx context.Context, t *testing.T, b *browser, f *results.File, path string, width, height int) *reportPage {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := HTML(out, f); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: abs}).String()

	var target struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatal(err)
	}
	var att struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	pg := &reportPage{ctx: ctx, b: b, session: att.SessionID, url: u}
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"} {
		if err := b.call(ctx, pg.session, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	pg.viewport(t, width, height)
	if err := b.call(ctx, pg.session, "Page.navigate", map[string]any{"url": u}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.waitEvent(ctx, pg.session, "Page.loadEventFired"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var drawn *string
		if err := pg.eval(`document.documentElement.getAttribute('data-plots-drawn')`, &drawn); err != nil {
			t.Fatal(err)
		}
		if drawn != nil {
			break
		}
		if time.Now().After(deadline) {
			pg.checkClean(t)
			t.Fatal("report.js never finished drawing (data-plots-drawn not set)")
		}
		time.Sleep(25 * time.Millisecond)
	}
	return pg
}

func (pg *reportPage) eval(expr string, v any) error {
	return pg.b.evaluate(pg.ctx, pg.session, expr, v)
}

func (pg *reportPage) events() []cdpMessage { return pg.b.eventsFor(pg.session) }

func (pg *reportPage) viewport(t *testing.T, width, height int) {
	t.Helper()
	if err := pg.b.call(pg.ctx, pg.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
	}, nil); err != nil {
		t.Fatal(err)
	}
}

type plotSize struct {
	ID    string
	Items []struct {
		W, H   float64 // CSS pixels on the page
		PW, PH int     // backing store
		Inked  float64 // share of pixels not transparent
	}
}

func (pg *reportPage) plots(t *testing.T) []plotSize {
	t.Helper()
	var out []plotSize
	err := pg.eval(`Array.from(document.querySelectorAll('.plot')).map(el => ({
		ID: el.id,
		Items: Array.from(el.querySelectorAll('canvas, svg')).map(c => {
			const r = c.getBoundingClientRect();
			let inked = 1;
			if (c.tagName === 'CANVAS' && c.width && c.height) {
				const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
				let n = 0;
				for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
				inked = n / (c.width * c.height);
			}
			return {W: r.width, H: r.height, PW: c.width || 0, PH: c.height || 0, Inked: inked};
		}),
	}))`, &out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (pg *reportPage) screenshot(t *testing.T, path string) {
	t.Helper()
	var m struct {
		CSSContentSize struct{ Width, Height float64 } `json:"cssContentSize"`
	}
	if err := pg.b.call(pg.ctx, pg.session, "Page.getLayoutMetrics", nil, &m); err != nil {
		t.Fatal(err)
	}
	var shot struct{ Data string }
	if err := pg.b.call(pg.ctx, pg.session, "Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": m.CSSContentSize.Width, "height": m.CSSContentSize.Height, "scale": 1},
	}, &shot); err != nil {
		t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkClean fails the test for anything the page logged as an error,
// any uncaught exception, and any request other than for the file itself.
func (pg *reportPage) checkClean(t *testing.T) {
	t.Helper()
	for _, e := range pg.events() {
		switch e.Method {
		case "Runtime.exceptionThrown":
			var p struct {
				ExceptionDetails struct {
					Text      string
					Exception struct{ Description string }
				}
			}
			json.Unmarshal(e.Params, &p)
			t.Errorf("uncaught exception: %s %s", p.ExceptionDetails.Text, p.ExceptionDetails.Exception.Description)
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string
				Args []struct {
					Value       any
					Description string
				}
			}
			json.Unmarshal(e.Params, &p)
			var parts []string
			for _, a := range p.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, fmt.Sprint(a.Value))
				}
			}
			switch p.Type {
			case "error", "assert":
				t.Errorf("console.%s: %s", p.Type, strings.Join(parts, " "))
			case "warning":
				t.Logf("console.warn: %s", strings.Join(parts, " "))
			}
		case "Log.entryAdded":
			var p struct {
				Entry struct{ Level, Source, Text, URL string }
			}
			json.Unmarshal(e.Params, &p)
			if p.Entry.Level == "error" {
				t.Errorf("browser log (%s): %s %s", p.Entry.Source, p.Entry.Text, p.Entry.URL)
			}
		case "Network.requestWillBeSent":
			var p struct {
				Request struct{ URL string }
			}
			json.Unmarshal(e.Params, &p)
			if u, _, _ := strings.Cut(p.Request.URL, "#"); u != pg.url {
				t.Errorf("the page requested %s", p.Request.URL)
			}
		}
	}
}
