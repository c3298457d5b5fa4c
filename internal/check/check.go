// Package check answers "is this WSGI app portable across servers?": the
// advice that keeps a deployment free to swap servers is to target plain
// WSGI and make the app safe under threads, under several processes and
// under greenlets. Run gathers evidence for each, with the app's own
// requests:
//
//   - PEP 3333: every request through wsgiref.validate in one Python
//     process (status, headers, the iterable, close(), write(), reading
//     wsgi.input); each violation is named with the request that caused it.
//   - threads: gunicorn's gthread worker, one process with many threads.
//     The requests are sent one at a time, then many at once; a safe
//     request (GET, HEAD) must get the answer it got alone (when its answer
//     is stable at all), and nothing may fail with 5xx or leave a traceback
//     in the server's output that a serial run did not.
//   - processes: gunicorn's sync worker, two pre-forked processes, with
//     --preload so the app is imported before fork as uWSGI and mod_wsgi
//     do. Every safe request is answered by both workers in turn (one is
//     held busy by a half-sent request, so the other must answer); two
//     workers giving different stable answers keep state in process
//     memory. The file descriptors the app opened at import time and the
//     workers still hold (a database connection, a socket) are shared by
//     every worker.
//   - greenlets: gunicorn's gevent worker (monkey-patched) as for threads,
//     plus a stall test: the slowest request eight times at once. When it
//     overlaps under threads but runs one after another under gevent,
//     something blocks the event loop in C where gevent cannot patch it
//     (a database driver, a native sleep).
//
// The requests come as a plain list (Request), rendered from a workload
// today; a scenario file can render into the same list.
package check

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

//go:embed python/*.py
var files embed.FS

const (
	helper    = "wsgibench_portable.py"
	wrapSpec  = "wsgibench_portable:application"
	pidHeader = "X-Wsgibench-Pid"
)

// Options is what one check needs.
type Options struct {
	Python   string    // interpreter the app runs in (absolute path)
	App      string    // module:callable
	Dir      string    // directory the app is imported from
	Requests []Request // sent in this order; at least one
	// RequestsFrom says where Requests came from, for the record.
	RequestsFrom string
	// Env, when set, is called before the in-process run and before each
	// server start; what it returns (KEY=VALUE) is added to the
	// environment, e.g. a fresh copy of the app's database each time.
	Env  func(ctx context.Context) ([]string, error)
	Host string // loopback address servers bind to; default 127.0.0.1
	// Threads is the thread pool size and the concurrency of the
	// concurrent phases; default 16.
	Threads      int
	ReadyTimeout time.Duration // default 15 s (Django imports slowly on a busy machine)
	Timeout      time.Duration // per request; default 10 s
	Tag          string        // proc tag for the servers; default a fresh one
	Log          io.Writer     // progress lines; nil = none
}

// AppError is a fault of the app itself that stops the check before any
// model is judged: it cannot be imported, or it fails a request when
// called alone. Its message is one line.
type AppError struct{ Msg string }

func (e *AppError) Error() string { return e.Msg }

// Run checks the app and returns the table. An *AppError means the app
// itself is broken; other errors mean the check could not run.
func Run(ctx context.Context, o Options) (*results.Check, error) {
	if len(o.Requests) == 0 {
		return nil, errors.New("check: no requests to send")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Threads <= 0 {
		o.Threads = 16
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 15 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Tag == "" {
		o.Tag = fmt.Sprintf("wsgibench-%d-check-%x", os.Getpid(), rand.Uint32())
	}
	if !strings.Contains(o.App, ":") {
		o.App += ":application"
	}
	work, err := os.MkdirTemp("", "wsgibench-check-")
	if err != nil {
		return nil, err
	}
	c := &checker{o: o, work: work}
	defer c.close()
	if err := c.writeHelper(); err != nil {
		return nil, err
	}
	res := &results.Check{App: o.App, RequestsFrom: o.RequestsFrom}
	for _, r := range o.Requests {
		res.Requests = append(res.Requests, r.String())
	}

	fmt.Fprintf(o.Log, "check: PEP 3333 (wsgiref.validate, %d requests in one process)\n", len(o.Requests))
	pep, serial, err := c.validate(ctx)
	if err != nil {
		return nil, err
	}
	res.Models = append(res.Models, pep)
	defer func() { res.Warnings = c.warnings }()
	c.ready = readyTarget(o.Requests, serial)
	if c.ready == "" {
		return nil, &AppError{Msg: "no GET request of the check answered 2xx in a plain serial call, so no server can be seen to be ready; give a --workload with a path your app answers"}
	}

	mods := c.modules(ctx)
	if !mods["gunicorn"] {
		why := fmt.Sprintf("gunicorn is not importable by %s", o.Python)
		for _, m := range []string{results.CheckProcess, results.CheckThread, results.CheckGreenlet} {
			res.Models = append(res.Models, results.CheckModel{Model: m, Verdict: results.CheckSkipped, How: why})
		}
		return res, ctx.Err()
	}
	fmt.Fprintln(o.Log, "check: processes (gunicorn sync, 2 workers, --preload)")
	res.Models = append(res.Models, c.processes(ctx))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "check: threads (gunicorn gthread, 1 process x %d threads)\n", o.Threads)
	threads, stallT := c.threads(ctx)
	res.Models = append(res.Models, threads)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !mods["gevent"] {
		res.Models = append(res.Models, results.CheckModel{Model: results.CheckGreenlet, Verdict: results.CheckSkipped,
			How: fmt.Sprintf("gevent is not importable by %s", o.Python)})
	} else {
		fmt.Fprintln(o.Log, "check: greenlets (gunicorn gevent, monkey-patched)")
		res.Models = append(res.Models, c.greenlets(ctx, stallT))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

type checker struct {
	o        Options
	work     string
	ready    string   // the readiness path: a GET that answered 2xx alone
	n        int      // servers started, to name their directories
	warnings []string // oddities worth a line that judge no model
}

func (c *checker) helperDir() string { return filepath.Join(c.work, "py") }

func (c *checker) writeHelper() error {
	if err := os.MkdirAll(c.helperDir(), 0o755); err != nil {
		return err
	}
	data, err := files.ReadFile("python/" + helper)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.helperDir(), helper), data, 0o644)
}

// close sweeps for any server process left (proc guarantees none; a find
// is a bug worth saying) and removes the work directory.
func (c *checker) close() {
	if n := proc.KillTagged(c.o.Tag); n > 0 {
		fmt.Fprintf(c.o.Log, "check: warning: killed %d leftover server processes\n", n)
	}
	os.RemoveAll(c.work)
}

func (c *checker) env(ctx context.Context, extra ...string) ([]string, error) {
	env := append([]string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}, extra...)
	if c.o.Env != nil {
		more, err := c.o.Env(ctx)
		if err != nil {
			return nil, err
		}
		env = append(env, more...)
	}
	return mergeEnv(os.Environ(), env...), nil
}

// modules says which of gunicorn and gevent the interpreter can import.
func (c *checker) modules(ctx context.Context) map[string]bool {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	script := `import importlib.util as u
for m in ("gunicorn", "gevent"):
    print(m, u.find_spec(m) is not None)`
	out, _ := exec.CommandContext(ctx, c.o.Python, "-c", script).Output()
	have := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutSuffix(strings.TrimSpace(line), " True"); ok {
			have[name] = true
		}
	}
	return have
}

// answer is what the in-process run saw for one request.
type answer struct {
	Status     int      `json:"status"`
	Digest     string   `json:"digest"`
	Sample     string   `json:"sample"`
	Violations []string `json:"violations"`
	Error      string   `json:"error"`
	Traceback  string   `json:"traceback"`
}

// validate calls every request once, serially, through wsgiref.validate
// in one Python process. A request that fails there (5xx or an exception)
// fails the whole check: the models can only be compared on requests the
// app answers when nothing else is going on.
func (c *checker) validate(ctx context.Context) (results.CheckModel, []answer, error) {
	row := results.CheckModel{Model: results.CheckPEP3333,
		How: fmt.Sprintf("wsgiref.validate around the app, %d requests in one process", len(c.o.Requests))}
	in, err := json.Marshal(c.o.Requests)
	if err != nil {
		return row, nil, err
	}
	env, err := c.env(ctx, "PYTHONPATH="+c.o.Dir)
	if err != nil {
		return row, nil, err
	}
	// Each call has o.Timeout in Python; this bounds imports and the rest.
	limit := time.Minute + time.Duration(len(c.o.Requests))*c.o.Timeout
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(tctx, c.o.Python, filepath.Join(c.helperDir(), helper), "validate", c.o.App,
		strconv.FormatFloat(c.o.Timeout.Seconds(), 'f', -1, 64))
	cmd.Dir, cmd.Env, cmd.Stdin = c.o.Dir, env, bytes.NewReader(in)
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	killGroup(cmd) // anything the app's module started in the background
	if ctx.Err() != nil {
		return row, nil, ctx.Err()
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 2 && lastLine(stderr.String()) != "" {
			return row, nil, &AppError{Msg: fmt.Sprintf("--app %s: %s", c.o.App, lastLine(stderr.String()))}
		}
		if tctx.Err() != nil {
			return row, nil, &AppError{Msg: fmt.Sprintf("--app %s: %d requests called in one process took longer than %s", c.o.App, len(c.o.Requests), limit)}
		}
		return row, nil, fmt.Errorf("--app %s: the in-process run failed: %w: %s", c.o.App, err, lastLine(stderr.String()))
	}
	var out struct{ Results []answer }
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out.Results) != len(c.o.Requests) {
		return row, nil, fmt.Errorf("--app %s: the in-process run printed no results (%v): %s", c.o.App, err, lastLine(stderr.String()))
	}
	seen := map[string]bool{}
	for i, a := range out.Results {
		req := c.o.Requests[i]
		if a.Status >= 500 {
			msg := fmt.Sprintf("--app %s: %s answered %d in a plain serial call", c.o.App, req, a.Status)
			switch {
			case a.Error != "":
				msg += " (" + a.Error + ")"
			case strings.Contains(stderr.String(), "Traceback"):
				msg += " (" + lastLine(stderr.String()) + ")"
			}
			return row, nil, &AppError{Msg: msg + "; the check needs requests the app answers"}
		}
		if a.Error != "" && len(a.Violations) == 0 {
			return row, nil, &AppError{Msg: fmt.Sprintf("--app %s: %s raised in a plain serial call: %s", c.o.App, req, a.Error)}
		}
		for _, v := range a.Violations {
			if seen[v] {
				continue // one line per kind of violation, with the first request that showed it
			}
			seen[v] = true
			if harmless(v) {
				c.warnings = append(c.warnings, fmt.Sprintf("%s: %s (wsgiref.validate is stricter than HTTP here, and Flask and Django both do it: no server rejects it)", req, oneLine(v)))
				continue
			}
			row.Evidence = append(row.Evidence, results.CheckEvidence{Request: req.String(), What: oneLine(v)})
		}
	}
	row.Verdict = verdict(row.Evidence)
	return row, out.Results, nil
}

// harmless says whether a wsgiref.validate complaint is one no server acts
// on: a Content-Type on a 204 or 304 response, which HTTP allows a server
// to drop and which the common frameworks send by default.
func harmless(v string) bool {
	return strings.HasPrefix(v, "Content-Type header found in a 204 response") ||
		strings.HasPrefix(v, "Content-Type header found in a 304 response")
}

// readyTarget is the first GET that answered 2xx in process.
func readyTarget(reqs []Request, serial []answer) string {
	for i, r := range reqs {
		if r.Method == "GET" && serial[i].Status/100 == 2 {
			return r.Target
		}
	}
	return ""
}

func verdict(ev []results.CheckEvidence) string {
	if len(ev) > 0 {
		return results.CheckUnsafe
	}
	return results.CheckSafe
}

// mergeEnv sets KEY=VALUE pairs over a base environment.
func mergeEnv(base []string, sets ...string) []string {
	keys := map[string]bool{}
	for _, kv := range sets {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	out := make([]string, 0, len(base)+len(sets))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !keys[k] {
			out = append(out, kv)
		}
	}
	return append(out, sets...)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
