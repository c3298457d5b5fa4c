//go:build unix

package report

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

// TestVerdictFitsOneScreen opens the report of a realistic 17-server run
// at 1400×900 and checks that the verdict's lead, the heatmap of servers ×
// factors with the factors in order and their effects, is on the first
// screen whole: its box ends inside the viewport, nothing in it scrolls
// sideways, and every server row is drawn. The screenshot is kept in the
// artifacts directory (the test's temporary directory unless
// WSGIBENCH_ARTIFACTS is set).
func TestVerdictFitsOneScreen(t *testing.T) {
	ctx, b, art := browserSession(t)
	const width, height = 1400, 900
	pg := openReport(ctx, t, b, factorsFixture(t), filepath.Join(art, "report-17-servers.html"), width, height)
	defer pg.checkClean(t)

	var box struct {
		Found                     bool
		Top, Bottom, Left, Right  float64
		InnerWidth, InnerHeight   int
		ScrollWidth, ClientWidth  int
		Rows, Columns, Separated  int
		HeadBottom, FootBottom    float64
		SmallestCellW, FontSizePx float64
	}
	if err := pg.eval(`(() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
		window.scrollTo(0, 0);
		const lead = document.getElementById('verdict-lead');
		if (!lead) return done({Found: false});
		const r = lead.getBoundingClientRect();
		const wrap = lead.querySelector('.heat-wrap');
		const table = lead.querySelector('table.heat');
		const cells = Array.from(table.querySelectorAll('tbody td'));
		done({
			Found: true, Top: r.top, Bottom: r.bottom, Left: r.left, Right: r.right,
			InnerWidth: window.innerWidth, InnerHeight: window.innerHeight,
			ScrollWidth: wrap.scrollWidth, ClientWidth: wrap.clientWidth,
			Rows: table.querySelectorAll('tbody tr').length,
			Columns: table.querySelectorAll('thead th.fc').length,
			Separated: table.querySelectorAll('td.sep').length,
			HeadBottom: table.tHead.getBoundingClientRect().bottom,
			FootBottom: table.tFoot.getBoundingClientRect().bottom,
			SmallestCellW: Math.min(...cells.map(c => c.getBoundingClientRect().width)),
			FontSizePx: parseFloat(getComputedStyle(table).fontSize),
		});
	}))))()`, &box); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(art, "verdict-1400x900.png")
	pg.screenshotViewport(t, shot)
	t.Logf("verdict lead %+v; screenshot: %s", box, shot)
	switch {
	case !box.Found:
		t.Fatal("no #verdict-lead on the page")
	case box.InnerWidth != width || box.InnerHeight != height:
		t.Fatalf("viewport %d×%d, want %d×%d", box.InnerWidth, box.InnerHeight, width, height)
	}
	if box.Bottom > float64(height) || box.Right > float64(width) || box.Top < 0 || box.Left < 0 {
		t.Errorf("the verdict lead spans (%.0f, %.0f)–(%.0f, %.0f): it does not fit the %d×%d screen", box.Left, box.Top, box.Right, box.Bottom, width, height)
	}
	if box.FootBottom > float64(height) {
		t.Errorf("the factors' effects (the heatmap's last row) end at %.0f px, below the %d px screen", box.FootBottom, height)
	}
	if box.ScrollWidth > box.ClientWidth {
		t.Errorf("the heatmap scrolls sideways: %d px wide in %d", box.ScrollWidth, box.ClientWidth)
	}
	if box.Rows != 17 || box.Columns < 8 || box.Separated == 0 {
		t.Errorf("heatmap has %d rows, %d factor columns, %d separation marks; want 17 rows, ≥ 8 columns, some marks", box.Rows, box.Columns, box.Separated)
	}
	// Fitting by shrinking the text until nobody can read it is no fit.
	if box.FontSizePx < 12 || box.SmallestCellW < 30 {
		t.Errorf("heatmap text %.1f px, narrowest cell %.0f px: too small to read", box.FontSizePx, box.SmallestCellW)
	}
}

// screenshotViewport saves what the first screen shows.
func (pg *reportPage) screenshotViewport(t *testing.T, path string) {
	t.Helper()
	var shot struct{ Data string }
	if err := pg.b.call(pg.ctx, pg.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		t.Fatal(err)
	}
	writePNG(t, path, shot.Data)
}

func writePNG(t *testing.T, path, b64 string) {
	t.Helper()
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
