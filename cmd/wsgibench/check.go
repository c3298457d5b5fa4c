package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wsgibench/wsgibench/internal/check"
	"github.com/wsgibench/wsgibench/internal/pyapp"
	"github.com/wsgibench/wsgibench/internal/report"
	"github.com/wsgibench/wsgibench/internal/server"
)

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	app := fs.String("app", "", "your WSGI app as module:callable (default: the bundled reference CRUD app)")
	chdir := fs.String("chdir", "", "directory to import --app from (default: current directory)")
	python := fs.String("python", "", "Python interpreter the app runs in (default: $VIRTUAL_ENV's python, else /usr/bin/python3)")
	workloads := fs.String("workload", "", "comma-separated workloads whose requests the check sends: \"GET /path\" for your app (default \"GET /\"), or a bundled one (default crud) without --app")
	n := fs.Int("requests", check.DefaultRequests, "requests rendered from each workload")
	seed := fs.Int64("seed", 1, "seed for the request variables")
	threads := fs.Int("threads", 16, "threads in the thread server, and requests sent at once")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > 1000 {
		return fmt.Errorf("--requests: %d is not from 1 to 1000", *n)
	}
	if *threads < 2 || *threads > 256 {
		return fmt.Errorf("--threads: %d is not from 2 to 256", *threads)
	}
	py, err := server.ResolvePython(*python)
	if err != nil {
		return err
	}
	reqs, from, err := check.FromWorkloads(splitList(*workloads), *app == "", *n, *seed)
	if err != nil {
		return err
	}
	o := check.Options{Python: py, App: *app, Dir: *chdir, Requests: reqs, RequestsFrom: from,
		Threads: *threads, Timeout: *timeout, Log: stderr}
	if *app == "" {
		work, err := os.MkdirTemp("", "wsgibench-check-app-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		if o.App, o.Dir, o.Env, err = bundledApp(ctx, py, work); err != nil {
			return err
		}
	} else {
		dir := *chdir
		if dir == "" {
			dir = "."
		}
		if o.Dir, err = filepath.Abs(dir); err != nil {
			return err
		}
		if fi, err := os.Stat(o.Dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("--chdir %s is not a directory", o.Dir)
		}
	}
	res, err := check.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	report.CheckTable(stdout, res)
	if !res.Portable() {
		var bad []string
		for _, m := range res.Models {
			if m.Verdict != "safe" {
				bad = append(bad, m.Verdict+" under "+m.Model)
			}
		}
		return fmt.Errorf("%s is not portable across WSGI servers: %s", res.App, strings.Join(bad, ", "))
	}
	return nil
}

// bundledApp writes and seeds the reference app in work and returns its
// spec, directory and an environment giving each phase a fresh database.
func bundledApp(ctx context.Context, python, work string) (string, string, func(context.Context) ([]string, error), error) {
	dir := filepath.Join(work, "app")
	if err := pyapp.Write(dir); err != nil {
		return "", "", nil, err
	}
	tmpl := filepath.Join(work, "template.db")
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := pyapp.Seed(sctx, python, dir, tmpl); err != nil {
		return "", "", nil, err
	}
	var k atomic.Int64
	env := func(context.Context) ([]string, error) {
		db := filepath.Join(work, fmt.Sprintf("db-%d", k.Add(1)), "app.db")
		if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
			return nil, err
		}
		if err := pyapp.CopyDB(tmpl, db); err != nil {
			return nil, err
		}
		return []string{pyapp.EnvDB + "=" + db}, nil
	}
	return pyapp.Spec, dir, env, nil
}
