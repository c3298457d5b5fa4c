package deploy

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

var update = flag.Bool("update", false, "rewrite golden files")

// measuredTarget is the machine a fictional benchmark ran on: a virtualenv,
// the user's app, a loopback port and temporary launch directory that must
// not leak into production configs.
func measuredTarget() server.Target {
	return server.Target{
		Python: server.Python{Executable: "/srv/myapp/venv/bin/python", Version: "3.11.2",
			Prefix: "/srv/myapp/venv", BasePrefix: "/usr"},
		App: "myapp.wsgi:application", AppDir: "/srv/myapp",
		Host: "127.0.0.1", Port: 41234, Dir: "/tmp/wsgibench-x/launch-7",
		Env: []string{"MYAPP_DB=/srv/myapp/data.db"},
		Tools: server.Tools{"uwsgi": "/usr/bin/uwsgi", "uwsgi-plugin": "python311", "somaxconn": "4096",
			"apache": "/usr/sbin/apache2", "apache-modules": "/usr/lib/apache2/modules",
			"mod_wsgi": "/usr/lib/apache2/modules/mod_wsgi.so-3.11"},
	}
}

// resultsFor builds a results file holding one finished run of a, the way
// plan.Execute records it: the adapter's own argv and settings.
func resultsFor(t *testing.T, a *server.Adapter, tg server.Target, req server.Shape) (*results.File, results.Shape) {
	t.Helper()
	s := a.Effective(req)
	l, err := a.Command(tg, s)
	if err != nil {
		t.Fatalf("%s: %v", a.ID, err)
	}
	version := map[string]string{"gunicorn": "20.1.0", "uwsgi": "2.0.21-debian", "mod_wsgi": "4.9.4 (Apache/2.4.62)",
		"waitress": "2.1.2", "hypercorn": "0.13.2", "uvicorn": "0.17.6"}[a.Family]
	if version == "" {
		version = "1.0"
	}
	est := func(m float64) results.Estimate { return results.Estimate{Median: m, Lo: m * 0.95, Hi: m * 1.05, N: 5} }
	shape := results.Shape(s)
	f := &results.File{
		Schema: results.Schema, Tool: "0.1.0", Started: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Complete: true,
		Machine: results.Machine{CPUs: 8, CPUModel: "Test CPU", ServerCPUs: []int{0, 1, 2, 3}},
		Python: results.Python{Executable: tg.Python.Executable, Version: tg.Python.Version,
			Prefix: tg.Python.Prefix, Venv: tg.Python.InVenv()},
		Plan: results.Plan{App: tg.App, AppDir: tg.AppDir, Workloads: []string{"crud"}, Connections: 64, Trials: 5},
		Runs: []results.Run{
			// Another workload's run of the same cell, and another server,
			// to check FromResults picks the right one.
			{Server: "other", Shape: shape, Workload: "crud"},
			{Server: a.ID, Version: "1.2.3", Model: string(a.Model), Shape: shape, Workload: "plaintext", Error: "crashed"},
			{Server: a.ID, Version: version, Model: string(a.Model), Language: a.Language, Shape: shape,
				Workload: "crud", LoadModel: "closed", Connections: 64, Argv: l.Argv, Settings: l.Settings,
				Trials: make([]results.Trial, 5),
				Summary: &results.Summary{RPS: est(2345), P50MS: est(3.2), P99MS: est(11.5), P999MS: est(20.25),
					PSSBytes: est(150 << 20), RSSBytes: est(200 << 20), CPUMsPerKReq: est(410), ErrorRate: est(0)},
			},
		},
	}
	f.Verdict = &results.Verdict{Headline: a.ID + " serves the crud workload best on this machine.", Profile: "balanced", Workload: "crud"}
	f.Ranking = []results.Rank{
		{Position: 1, Server: a.ID, Shape: shape, Workload: "crud", Score: 87.5,
			Reasons: []string{"highest throughput within the latency goal", "p99 12% lower than the runner-up"}},
		{Position: 2, Server: "other", Shape: shape, Workload: "crud", Score: 80},
	}
	return f, shape
}

func goldenInput(t *testing.T, a *server.Adapter) Input {
	t.Helper()
	f, _ := resultsFor(t, a, measuredTarget(), server.Shape{Workers: 4, Threads: 8})
	r, err := Recommended(f)
	if err != nil {
		t.Fatal(err)
	}
	in, err := FromResults(f, r)
	if err != nil {
		t.Fatal(err)
	}
	// The app's environment is not in the results file (it may hold
	// secrets); the caller supplies it.
	in.Env = map[string]string{"MYAPP_DB": "/srv/myapp/data.db"}
	return in
}

// TestGolden renders every server's deployment into testdata/<id>/, so any
// change to a generated file is a reviewable diff (go test
// ./internal/deploy -update to accept it).
func TestGolden(t *testing.T) {
	for _, a := range server.All() {
		t.Run(a.ID, func(t *testing.T) {
			in := goldenInput(t, a)
			dir := t.TempDir()
			files, err := Generate(dir, in)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", a.ID)
			if *update {
				os.RemoveAll(golden)
				if err := os.MkdirAll(golden, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, path := range files {
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Base(path)
				gpath := filepath.Join(golden, name)
				if *update {
					if err := os.WriteFile(gpath, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(gpath)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if string(got) != string(want) {
					t.Errorf("%s/%s differs from the golden file; run go test ./internal/deploy -update and review the diff.\n%s",
						a.ID, name, firstDiff(string(want), string(got)))
				}
			}
			if !*update {
				entries, _ := os.ReadDir(golden)
				if len(entries) != len(files) {
					t.Errorf("generated %d files, golden has %d (stale files? run -update)", len(files), len(entries))
				}
			}
		})
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return ""
}

// TestFilesPerFamily pins which files each kind of server gets: the
// contract of the issue.
func TestFilesPerFamily(t *testing.T) {
	common := []string{"varnish.vcl", "varnish.service.conf", "nginx.conf", "README.md"}
	want := map[string][]string{
		"gunicorn-sync":    {"gunicorn.conf.py", "wsgibench-app.service"},
		"gunicorn-gthread": {"gunicorn.conf.py", "wsgibench-app.service"},
		"uwsgi":            {"uwsgi.ini", "wsgibench-app.service"},
		"mod_wsgi":         {"wsgibench-mod_wsgi.conf", "app.wsgi"},
		"waitress":         {"waitress.sh", "wsgibench-app.service"},
		"cheroot":          {"cheroot.sh", "wsgibench-app.service"},
		"uvicorn":          {"uvicorn.sh", "wsgibench-app.service"},
		"hypercorn":        {"hypercorn.sh", "wsgibench_asgi_bridge.py", "wsgibench-app.service"},
		"granian":          {"granian.sh", "wsgibench-app.service"},
		"gevent":           {"serve.py", "wsgibench-app.service"},
		"werkzeug":         {"serve.py", "wsgibench-app.service"},
		"wsgiref":          {"serve.py", "wsgibench-app.service"},
		"bjoern":           {"serve.py", "wsgibench-app.service"},
	}
	for id, names := range want {
		a, ok := server.Lookup(id)
		if !ok {
			t.Fatalf("no adapter %s", id)
		}
		files, err := Generate(t.TempDir(), goldenInput(t, a))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, filepath.Base(f))
		}
		if w := strings.Join(append(append([]string{}, names...), common...), " "); strings.Join(got, " ") != w {
			t.Errorf("%s: files %v, want %v", id, got, w)
		}
	}
}

// TestEveryAdapterHasAGenerator keeps a new server adapter from shipping
// without deploy support.
func TestEveryAdapterHasAGenerator(t *testing.T) {
	for _, a := range server.All() {
		if a.Facts.Deploy.Config == server.ConfigNone {
			t.Errorf("adapter %s (family %s) has no deploy generator", a.ID, a.Family)
		}
	}
}

// TestBridgeCopy keeps the shipped WSGI-to-ASGI bridge identical to the one
// hypercorn was measured through.

func TestProxyRules(t *testing.T) {
	tests := []struct {
		id         string
		reuse      bool
		idle       time.Duration
		firstByte  time.Duration
		maxConns   int
		stopSignal string
	}{
		// keepalive 5 → idle 4; timeout 60 → first byte 65; 4×8 threads → 64.
		{"gunicorn-gthread", true, 4 * time.Second, 65 * time.Second, 64, "SIGTERM"},
		// The sync worker closes every connection: nothing to race. It runs
		// 4 at once, and was measured serving 64 clients (the backlog holds
		// the rest): a cap of 8 would turn that load into 503s.
		{"gunicorn-sync", false, 60 * time.Second, 65 * time.Second, 64, "SIGTERM"},
		// Greenlets: the worker_connections pool is the limit.
		{"gunicorn-gevent", true, 4 * time.Second, 65 * time.Second, 4000, "SIGTERM"},
		// uWSGI's HTTP router with a bare --http-keepalive closes idle
		// connections after http-timeout (60 s, measured: 60.06 s), which
		// is also how long it waits for a worker's answer: idle 59, first
		// byte 65. (With http11-socket it was socket-timeout, 4 s; see
		// TestUWSGIHTTP11Results.)
		{"uwsgi", true, 59 * time.Second, 65 * time.Second, 64, "SIGTERM"},
		{"mod_wsgi", true, 4 * time.Second, 65 * time.Second, 64, ""},
		// waitress's channel-timeout 60 → 59; one process of 32 threads.
		{"waitress", true, 59 * time.Second, 60 * time.Second, 64, "SIGTERM"},
		// cheroot: default timeout 10 s; stops gracefully on SIGINT.
		{"cheroot", true, 9 * time.Second, 60 * time.Second, 64, "SIGINT"},
		// A thread per connection: the measured concurrency.
		{"werkzeug", false, 60 * time.Second, 60 * time.Second, 64, "SIGTERM"},
		{"wsgiref", false, 60 * time.Second, 60 * time.Second, 64, "SIGTERM"},
		{"tornado", true, 4 * time.Second, 60 * time.Second, 64, "SIGTERM"},
	}
	for _, tt := range tests {
		a, _ := server.Lookup(tt.id)
		p, err := newPlan(goldenInput(t, a))
		if err != nil {
			t.Fatal(err)
		}
		x := p.Proxy
		if x.Reuse != tt.reuse || x.IdleTimeout != tt.idle || x.FirstByte != tt.firstByte || x.MaxConnections != tt.maxConns {
			t.Errorf("%s: reuse %v idle %v first byte %v max %d; want %v %v %v %d",
				tt.id, x.Reuse, x.IdleTimeout, x.FirstByte, x.MaxConnections, tt.reuse, tt.idle, tt.firstByte, tt.maxConns)
		}
		if x.Reuse && x.IdleTimeout >= p.T.KeepAlive && p.T.KeepAlive > 0 {
			t.Errorf("%s: idle timeout %v not shorter than keep-alive %v", tt.id, x.IdleTimeout, p.T.KeepAlive)
		}
		if p.T.Request > 0 && x.FirstByte < p.T.Request {
			t.Errorf("%s: first byte %v shorter than the request timeout %v", tt.id, x.FirstByte, p.T.Request)
		}
		if tt.stopSignal == "" {
			if p.Unit != nil {
				t.Errorf("%s: a unit, but Apache runs it", tt.id)
			}
		} else if p.Unit.KillSignal != tt.stopSignal || p.Unit.TimeoutStopSec <= int(p.T.Graceful/time.Second) {
			t.Errorf("%s: stop %s after %ds (graceful %v); want %s", tt.id, p.Unit.KillSignal, p.Unit.TimeoutStopSec, p.T.Graceful, tt.stopSignal)
		}
	}
}

func TestKeepAliveTooShort(t *testing.T) {
	a, _ := server.Lookup("gunicorn-gthread")
	in := goldenInput(t, a)
	in.Settings = map[string]string{"keepalive": "1"}
	p, err := newPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) == 0 {
		t.Error("a 1 s keep-alive cannot be undercut by Varnish (minimum 1 s): expected a warning")
	}
}

func TestFromResultsErrors(t *testing.T) {
	if _, err := Recommended(&results.File{}); err == nil {
		t.Error("no ranking: want an error")
	}
	a, _ := server.Lookup("waitress")
	f, shape := resultsFor(t, a, measuredTarget(), server.Shape{Workers: 1, Threads: 4})
	if _, err := FromResults(f, results.Rank{Server: "waitress", Shape: results.Shape{Workers: 9, Threads: 9}}); err == nil {
		t.Error("a shape that was not run: want an error")
	}
	if _, err := FromResults(f, results.Rank{Server: "waitress", Shape: shape, Workload: "plaintext"}); err == nil || !strings.Contains(err.Error(), "crashed") {
		t.Errorf("a run that failed: want its error, got %v", err)
	}
	in, err := FromResults(f, results.Rank{Server: "waitress", Shape: shape})
	if err != nil || in.Argv == nil {
		t.Errorf("no workload given: want the finished run, got %v %v", in.Argv, err)
	}
	if in.PythonHome != "/srv/myapp/venv" || in.AppDir != "/srv/myapp" || in.Evidence.Summary == nil {
		t.Errorf("FromResults lost the interpreter, app directory or summary: %+v", in)
	}
}

func TestInputRejected(t *testing.T) {
	a, _ := server.Lookup("gunicorn-gthread")
	for name, mutate := range map[string]func(*Input){
		"relative app dir":   func(in *Input) { in.AppDir = "srv/app" },
		"space in path":      func(in *Input) { in.ConfigDir = "/etc/my app" },
		"newline in env":     func(in *Input) { in.Env = map[string]string{"A": "x\nExecStart=/bin/sh"} },
		"no port":            func(in *Input) { in.Listen = "127.0.0.1" },
		"unknown server":     func(in *Input) { in.Server = "nosuch"; in.Argv = nil },
		"health path":        func(in *Input) { in.HealthPath = "health" },
		"quote in user":      func(in *Input) { in.User = `a"b` },
		"unmeasurable shape": func(in *Input) { in.Shape = results.Shape{} },
	} {
		in := goldenInput(t, a)
		mutate(&in)
		if _, err := Generate(t.TempDir(), in); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestHandBuiltInput: without a results file, the adapter's own command
// line stands in for the measured one.
func TestHandBuiltInput(t *testing.T) {
	dir := t.TempDir()
	files, err := Generate(dir, Input{Server: "uwsgi", Shape: results.Shape{Workers: 2, Threads: 4}, App: "app:application"})
	if err != nil {
		t.Fatal(err)
	}
	ini, _ := os.ReadFile(filepath.Join(dir, "uwsgi.ini"))
	// The adapter measures the HTTP router; http-keepalive must be written
	// as a number (uWSGI reads "true" as 0: keep-alive off).
	for _, want := range []string{"http = 127.0.0.1:8000", "\nhttp-keepalive = 1\n", "processes = 2", "threads = 4", "wsgi = app:application", "chdir = /srv/app"} {
		if !strings.Contains(string(ini), want) {
			t.Errorf("uwsgi.ini lacks %q", want)
		}
	}
	if len(files) == 0 {
		t.Error("no files")
	}
}

// TestNoBenchmarkPathsLeak: the benchmark's port and launch directory must
// appear only in the comments quoting the measured command line.
func TestNoBenchmarkPathsLeak(t *testing.T) {
	for _, a := range server.All() {
		files, err := Generate(t.TempDir(), goldenInput(t, a))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			b, _ := os.ReadFile(path)
			for i, line := range strings.Split(string(b), "\n") {
				code := strings.TrimSpace(line)
				if strings.HasPrefix(code, "#") || strings.HasPrefix(code, ";") || strings.HasPrefix(code, "//") {
					continue
				}
				if strings.Contains(code, "41234") || strings.Contains(code, "/tmp/wsgibench-x") {
					if filepath.Base(path) == "README.md" {
						continue // quotes the measured command line in a code block
					}
					t.Errorf("%s %s:%d uses the benchmark's address or directory: %s", a.ID, filepath.Base(path), i+1, line)
				}
			}
		}
	}
}

// With a capacity search, the proxy's cap lets through what the server
// answers within the latency goal (Little's law), so a load the server
// handles never turns into the proxy's own 503s.
func TestProxyCapFromCapacity(t *testing.T) {
	a, _ := server.Lookup("gunicorn-gthread")
	in := goldenInput(t, a)
	in.Evidence.Capacity = &results.Capacity{GoalP99MS: 100, RPS: 1800}
	p, err := newPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Proxy.MaxConnections != 180 || !strings.Contains(p.Proxy.MaxWhy, "Little's law") {
		t.Errorf("max %d (%s), want 1800 req/s × 0.1 s = 180", p.Proxy.MaxConnections, p.Proxy.MaxWhy)
	}
	// A slow server's goal allows fewer than its floor: twice its threads.
	in.Evidence.Capacity = &results.Capacity{GoalP99MS: 100, RPS: 50}
	in.Evidence.Connections = 0
	if p, _ = newPlan(in); p.Proxy.MaxConnections != 2*p.Capacity {
		t.Errorf("max %d, want the floor %d", p.Proxy.MaxConnections, 2*p.Capacity)
	}
}

// tornado's serve.py binds a socket per process only when that was
// measured to help, and the script still compiles.
func TestRemedyInTornadoScript(t *testing.T) {
	a, _ := server.Lookup("tornado")
	for _, helped := range []bool{false, true} {
		in := goldenInput(t, a)
		in.Balance = &results.Balance{Trials: 5, Uneven: 5, WorstMaxOverFair: 3, Remedy: &results.RemedyResult{
			Argv: []string{"--reuse-port"}, Trials: 3, Helped: helped, Verdict: "with --reuse-port: helped"}}
		dir := t.TempDir()
		if _, err := Generate(dir, in); err != nil {
			t.Fatal(err)
		}
		script := filepath.Join(dir, "serve.py")
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), "reuse_port=REUSE_PORT") && strings.Contains(string(b), "\nREUSE_PORT = True\n"); got != helped {
			t.Errorf("helped %v: per-process sockets %v:\n%s", helped, got, b)
		}
		if !strings.Contains(string(b), "unevenly loaded in 5 of 5 trials") {
			t.Errorf("no note on the uneven workers:\n%s", b)
		}
		if out, err := exec.Command("/usr/bin/python3", "-m", "py_compile", script).CombinedOutput(); err != nil {
			t.Errorf("serve.py does not compile: %v\n%s", err, out)
		}
	}
}

// A run flagged for uneven workers gets the remedy in gunicorn.conf.py only
// when it was measured to help, and a comment saying what was measured
// either way; an even run gets neither.
func TestRemedyInConfig(t *testing.T) {
	a, _ := server.Lookup("gunicorn-gthread")
	flagged := func(helped bool) *results.Balance {
		return &results.Balance{Trials: 5, Uneven: 2, WorstMaxOverFair: 2.9, Remedy: &results.RemedyResult{
			Argv: []string{"--reuse-port"}, Trials: 3, Helped: helped, Verdict: "with --reuse-port: helped, uneven in 0 of 3 trials"}}
	}
	for _, tc := range []struct {
		name       string
		balance    *results.Balance
		note, line bool
	}{
		{"even", &results.Balance{Trials: 5}, false, false},
		{"helped", flagged(true), true, true},
		{"did not help", flagged(false), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := goldenInput(t, a)
			in.Balance = tc.balance
			dir := t.TempDir()
			if _, err := Generate(dir, in); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "gunicorn.conf.py"))
			if err != nil {
				t.Fatal(err)
			}
			conf := string(b)
			if got := strings.Contains(conf, "unevenly loaded in 2 of 5 trials"); got != tc.note {
				t.Errorf("note present %v, want %v:\n%s", got, tc.note, conf)
			}
			if got := strings.Contains(conf, "\nreuse_port = True\n"); got != tc.line {
				t.Errorf("reuse_port set %v, want %v:\n%s", got, tc.line, conf)
			}
		})
	}
}
