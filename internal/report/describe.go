package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// The plan in words, shared by summary.md and report.html so both say the
// same thing about how the numbers were made.

// describeApp names the app that was served.
func describeApp(f *results.File) string {
	app := f.Plan.App
	if f.Plan.Bundled {
		app += " (bundled reference CRUD app, " + describeDB(f.Database) + ")"
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

// describeDB names the bundled app's database; files from before it was
// recorded ran on SQLite.
func describeDB(d *results.Database) string {
	if d == nil || d.Kind != "postgres" {
		return "SQLite"
	}
	ver, _, _ := strings.Cut(d.Version, " ")
	s := strings.TrimSpace("PostgreSQL " + ver)
	if d.Private {
		s += " in a private cluster"
		if strings.Contains(strings.Join(d.Settings, " "), "fsync=off") {
			s += " with fsync off"
		}
	} else if d.DSN != "" {
		s += " at " + d.DSN
	}
	if d.AddedRTT > 0 {
		s += fmt.Sprintf(" (+%v per round trip)", time.Duration(d.AddedRTT))
	}
	if d.Driver != "" {
		s += ", " + d.Driver
	}
	return s
}
