package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
	"github.com/wsgibench/wsgibench/internal/server"
)

// runnerDir is where the benchmark's runner scripts live (embedded into
// the server package; read from disk here).
const runnerDir = "../server/runners"

// templateOnly are options serve.py may set that the benchmark's runner
// does not, because they only matter in production: the graceful stop
// (gevent's stop_timeout) and the warnings-only log level of a server that
// the benchmark runs with its output discarded.
var templateOnly = map[string]bool{".stop_timeout": true, "basicConfig(level)": true}

// serverOptions runs testdata/server_options.py on a script: the options
// it sets, key → value ("?" when computed at run time).
func serverOptions(t *testing.T, script string, helper ...string) map[string]string {
	t.Helper()
	out, err := run(t, 30*time.Second, systemPython, append([]string{"testdata/server_options.py", script}, helper...)...)
	if err != nil {
		t.Fatalf("server_options.py %s: %v\n%s", script, err, out)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(lastLine(out)), &m); err != nil {
		t.Fatalf("server_options.py %s: %v\n%s", script, err, out)
	}
	return m
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// optionDrift lists the options a runner and a serve.py disagree on: set
// by one and not the other, or set to different values. "?" (computed at
// run time: the address, the shape) matches any value.
func optionDrift(runner, serve map[string]string) []string {
	var out []string
	keys := maps.Clone(runner)
	maps.Copy(keys, serve)
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		r, inRunner := runner[k]
		s, inServe := serve[k]
		switch {
		case !inServe:
			out = append(out, fmt.Sprintf("%s = %s in the runner, not set by serve.py", k, r))
		case !inRunner && !templateOnly[k]:
			out = append(out, fmt.Sprintf("%s = %s in serve.py, not set by the runner (not measured)", k, s))
		case inRunner && r != s && r != "?" && s != "?":
			out = append(out, fmt.Sprintf("%s: runner %s, serve.py %s", k, r, s))
		}
	}
	return out
}

// recordDrift lists where a runner's options contradict its server's
// record: the backlog, the pool and the keep-alive the record states (and
// deploy and the fronts read) must be the ones the runner measured with.
func recordDrift(f server.Facts, opts map[string]string) []string {
	var out []string
	num := func(v string) (int, bool) { n, err := strconv.Atoi(v); return n, err == nil }
	var backlog, pool, keepAlive []string
	for k, v := range opts {
		switch {
		case k == "listen()" || strings.HasSuffix(k, "(backlog)") || strings.HasSuffix(k, "request_queue_size)") || k == "class.request_queue_size":
			if _, ok := num(v); ok {
				backlog = append(backlog, v)
			}
		case strings.HasSuffix(k, "(max_size)"):
			pool = append(pool, v)
		case strings.HasPrefix(v, "Pool(") && strings.HasSuffix(v, ")"):
			pool = append(pool, strings.TrimSuffix(strings.TrimPrefix(v, "Pool("), ")"))
		case k == "set_keepalive()" || strings.HasSuffix(k, "(idle_connection_timeout)"):
			keepAlive = append(keepAlive, v)
		}
	}
	check := func(what string, got []string, want string, required bool) {
		if required && len(got) == 0 {
			out = append(out, fmt.Sprintf("the record says %s %s, the runner does not set it", what, want))
		}
		for _, g := range got {
			if g != want {
				out = append(out, fmt.Sprintf("%s: the runner sets %s, the record says %s", what, g, want))
			}
		}
	}
	if f.Backlog > 0 {
		check("backlog", backlog, strconv.Itoa(f.Backlog), false)
	}
	check("pool", pool, strconv.Itoa(f.Pool.Size), f.Pool.Size > 0)
	if f.Idle.Close == server.CloseWhenIdle {
		check("keep-alive", keepAlive, server.Secs(f.Idle.Timeout.D()), f.Idle.Timeout.Set > 0)
	}
	return out
}

// TestRunnersMatchDeploy: for every server started through a runner
// script, the serve.py deploy writes sets the same options as the runner
// the benchmark measured with (backlog, TCP_NODELAY, keep-alive, pool,
// logging, protocol), and both agree with the server's record. A runner
// edited without its template, or a template without its runner, fails
// here.
func TestRunnersMatchDeploy(t *testing.T) {
	need(t, systemPython)
	n := 0
	for _, a := range server.All() {
		if a.Facts.Deploy.Config != server.ConfigRunner {
			continue
		}
		n++
		t.Run(a.ID, func(t *testing.T) {
			runnerPath := filepath.Join(runnerDir, a.ID+".py")
			if _, err := os.Stat(runnerPath); err != nil {
				t.Fatalf("deployed through serve.py but has no runner: %v", err)
			}
			dir := t.TempDir()
			in := goldenInput(t, a)
			if rem := a.Facts.Workers.Remedy; rem.Has() {
				// The runner holds the remedy's code path too (tornado's
				// per-process sockets); serve.py has it when it helped.
				in.Balance = &results.Balance{Trials: 1, Uneven: 1, Remedy: &results.RemedyResult{Argv: rem.Argv, Trials: 1, Helped: true}}
			}
			if _, err := Generate(dir, in); err != nil {
				t.Fatal(err)
			}
			runner := serverOptions(t, runnerPath, filepath.Join(runnerDir, "wsgibench_runner.py"))
			serve := serverOptions(t, filepath.Join(dir, "serve.py"))
			if len(runner) == 0 && a.ID != "bjoern" {
				t.Errorf("no options found in %s: the extractor is not reading it", runnerPath)
			}
			for _, d := range optionDrift(runner, serve) {
				t.Errorf("runner and serve.py disagree: %s", d)
			}
			for _, d := range recordDrift(a.Facts, runner) {
				t.Errorf("runner and record disagree: %s", d)
			}
		})
	}
	if n == 0 {
		t.Fatal("no server is deployed through serve.py: the test checks nothing")
	}
}

// TestRunnerDriftCaught: the comparison catches the drifts it is there
// for: serve.py without TCP_NODELAY, a runner with another backlog, a
// runner whose pool is not the record's.
func TestRunnerDriftCaught(t *testing.T) {
	need(t, systemPython)
	a, _ := server.Lookup("gevent")
	dir := t.TempDir()
	if _, err := Generate(dir, goldenInput(t, a)); err != nil {
		t.Fatal(err)
	}
	serveSrc, _ := os.ReadFile(filepath.Join(dir, "serve.py"))
	runnerSrc, _ := os.ReadFile(filepath.Join(runnerDir, "gevent.py"))
	helper := filepath.Join(runnerDir, "wsgibench_runner.py")
	write := func(name, src, old, new string) string {
		t.Helper()
		if !strings.Contains(src, old) {
			t.Fatalf("%s lacks %q: update this test", name, old)
		}
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, []byte(strings.Replace(src, old, new, 1)), 0o644)
		return p
	}
	runner := serverOptions(t, filepath.Join(runnerDir, "gevent.py"), helper)

	noDelay := write("serve.py", string(serveSrc), "    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n", "")
	if d := optionDrift(runner, serverOptions(t, noDelay)); len(d) != 1 || !strings.Contains(d[0], "TCP_NODELAY") {
		t.Errorf("serve.py without TCP_NODELAY: drift %q, want one line about TCP_NODELAY", d)
	}
	backlog := write("gevent.py", string(runnerSrc), "r.nodelay_listener(args.host, args.port)", "r.nodelay_listener(args.host, args.port, backlog=2048)")
	changed := serverOptions(t, backlog, helper)
	if d := optionDrift(changed, serverOptions(t, filepath.Join(dir, "serve.py"))); len(d) != 1 || !strings.Contains(d[0], "2048") {
		t.Errorf("runner with backlog 2048: drift %q, want one line about it", d)
	}
	if d := recordDrift(a.Facts, changed); len(d) != 1 || !strings.Contains(d[0], "backlog") {
		t.Errorf("runner with backlog 2048: record drift %q, want one line about the backlog", d)
	}
	f := a.Facts
	f.Pool.Size = 500
	if d := recordDrift(f, runner); len(d) != 1 || !strings.Contains(d[0], "pool") {
		t.Errorf("record pool 500 against the runner's 1000: drift %q, want one line about the pool", d)
	}
}
