package report

import (
	"fmt"

	"github.com/wsgibench/wsgibench/internal/results"
)

// The plan in words, shared by summary.md and report.html so both say the
// same thing about how the numbers were made.

// describeApp names the app that was served.
func describeApp(f *results.File) string {
	app := f.Plan.App
	if f.Plan.Bundled {
		app += " (bundled reference CRUD app, SQLite)"
	} else if f.Plan.AppDir != "" {
		app += " in " + f.Plan.AppDir
	}
	return app
}

// describeLoad names the load model.
func describeLoad(f *results.File) string {
	if f.Plan.Rate > 0 {
		return fmt.Sprintf("open loop at %.0f req/s over %d connections (latency from the intended send time)", f.Plan.Rate, f.Plan.Connections)
	}
	return fmt.Sprintf("closed loop, %d connections", f.Plan.Connections)
}
