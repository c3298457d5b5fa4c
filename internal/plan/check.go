package plan

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/wsgibench/wsgibench/internal/check"
	"github.com/wsgibench/wsgibench/internal/results"
)

// portability runs the app portability check (package check) once, after
// the trials (an app no server could start fails there first, as before),
// with requests rendered from the plan's workloads, and
// records it: the ranking keeps servers whose concurrency model breaks the
// app out of the verdict. An app that fails alone (an exception or a 5xx
// for one of the workload's requests) ends the run here, in one line: no
// server can be judged on it. A check that cannot run is a warning.
func (r *runner) portability(ctx context.Context, file *results.File, outPath string) error {
	reqs, from, err := check.FromWorkloads(r.o.Workloads, r.o.App == "", check.DefaultRequests, r.o.Seed)
	if err != nil {
		return err
	}
	n := 0
	o := check.Options{Python: r.det.Python.Executable, App: r.app, Dir: r.appDir, Requests: reqs, RequestsFrom: from,
		Host: r.o.Host, Tag: r.tag + "-check", Log: r.log}
	if r.o.App == "" {
		o.Env = func(ctx context.Context) ([]string, error) {
			n++
			return r.freshDB(ctx, filepath.Join(r.work, fmt.Sprintf("check-%d", n), "db", "app.db"))
		}
	}
	res, err := check.Run(ctx, o)
	var ae *check.AppError
	switch {
	case errors.As(err, &ae):
		return err
	case err != nil && ctx.Err() != nil:
		return nil // the interruption is reported by the caller
	case err != nil:
		file.Warnings = append(file.Warnings, "the portability check could not run: "+oneLine(err.Error()))
	default:
		file.Check = res
	}
	return results.Write(outPath, file)
}
