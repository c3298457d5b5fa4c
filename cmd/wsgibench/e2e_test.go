package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// binary is wsgibench built once for the end-to-end tests, which run it as a
// user would: a separate process that can be interrupted or killed.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wsgibench-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wsgibench")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building wsgibench: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needServers(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real servers")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
}

// leftovers lists processes started by the wsgibench process pid (their
// environment carries WSGIBENCH_TAG=wsgibench-<pid>-…).
func leftovers(pid int) []string {
	prefix := []byte(fmt.Sprintf("WSGIBENCH_TAG=wsgibench-%d-", pid))
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.HasPrefix(kv, prefix) {
				cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
				break
			}
		}
	}
	return out
}

// waitNoLeftovers polls until no process of pid's runs is left.
func waitNoLeftovers(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := leftovers(pid)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server processes left %v after wsgibench ended:\n%s", within, strings.Join(left, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type cmdResult struct {
	stdout, stderr string
	code           int
	pid            int
	elapsed        time.Duration
}

func runBinary(t *testing.T, timeout time.Duration, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := cmdResult{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start), pid: cmd.Process.Pid}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running wsgibench: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wsgibench %v did not finish within %v", args, timeout)
	}
	return r
}

// TestRunEndToEnd: two servers, short trials; results.json and summary.md
// hold plausible numbers and report re-renders the same summary.
func TestRunEndToEnd(t *testing.T) {
	needServers(t)
	out := t.TempDir()
	// One quick trouble scenario and one shape: run's suites and the
	// default shapes are tested whole in package plan; here, that run
	// runs and records them.
	r := runBinary(t, 4*time.Minute, "run", "--servers", "gunicorn-sync,uwsgi", "--shapes", "2x2", "--duration", "1500ms", "--warmup", "300ms",
		"--trials", "2", "--connections", "8", "--capacity-probe", "700ms", "--trouble-cases", "hung-request", "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	f, err := results.Read(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Complete || f.Machine.CPUs < 1 || f.Python.Executable == "" {
		t.Errorf("file header implausible: complete=%v machine=%+v python=%+v", f.Complete, f.Machine, f.Python)
	}
	servers := map[string]bool{}
	for _, run := range f.Runs {
		servers[run.Server] = true
		if run.Error != "" || len(run.Trials) != 2 {
			t.Errorf("%s: error %q, %d trials", run.Key(), run.Error, len(run.Trials))
		}
		for _, tr := range run.Trials {
			if tr.Requests <= 0 || tr.LatencyMS.P50 <= 0 || tr.LatencyMS.P50 > tr.LatencyMS.P99 ||
				tr.RSSPeakBytes <= 0 || tr.CPUSeconds <= 0 {
				t.Errorf("%s trial %d implausible: requests=%d p50=%v p99=%v rss=%d cpu=%v", run.Key(), tr.Index,
					tr.Requests, tr.LatencyMS.P50, tr.LatencyMS.P99, tr.RSSPeakBytes, tr.CPUSeconds)
			}
		}
		if run.Server == "gunicorn-sync" && len(run.Trials) > 0 && run.Trials[0].ConnectionsOpened < run.Trials[0].Requests/2 {
			t.Errorf("gunicorn's sync worker closes every connection, yet only %d connections for %d requests",
				run.Trials[0].ConnectionsOpened, run.Trials[0].Requests)
		}
	}
	if !servers["gunicorn-sync"] || !servers["uwsgi"] {
		t.Errorf("servers in results: %v", servers)
	}
	if len(f.Ranking) == 0 || f.Verdict == nil {
		t.Errorf("no ranking in results.json")
	}
	if len(f.Robustness) != 2 || len(f.Conformance) != 2 {
		t.Errorf("%d servers with trouble results and %d with probes, want 2 and 2", len(f.Robustness), len(f.Conformance))
	}
	for _, rob := range f.Robustness {
		if len(rob.Scenarios) != 1 || rob.Scenarios[0].ID != "hung-request" || rob.Scenarios[0].Error != "" {
			t.Errorf("%s: trouble %+v, want hung-request only, run", rob.Server, rob.Scenarios)
		}
	}
	for _, run := range f.Runs {
		if run.Summary == nil {
			t.Errorf("%s: no summary (medians with CIs) in results.json", run.Key())
		}
	}
	for _, name := range []string{"report.html", "deploy/README.md", "deploy/varnish.vcl"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty: %v", name, err)
		}
	}
	summary, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	// report re-renders the same summary from results.json alone.
	again := t.TempDir()
	if r := runBinary(t, time.Minute, "report", filepath.Join(out, "results.json"), "--out", again); r.code != 0 {
		t.Fatalf("report: exit %d: %s", r.code, r.stderr)
	}
	summary2, _ := os.ReadFile(filepath.Join(again, "summary.md"))
	if !bytes.Equal(summary, summary2) {
		t.Errorf("report's summary.md differs from run's")
	}
	waitNoLeftovers(t, r.pid, 5*time.Second)
}

// TestBadInput: each mistake fails fast, with one line and a non-zero exit.
func TestBadInput(t *testing.T) {
	needServers(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	appDir := t.TempDir()
	os.WriteFile(filepath.Join(appDir, "hang.py"), []byte("def application(environ, start_response):\n    import time; time.sleep(3600)\n"), 0o644)
	for _, tc := range []struct {
		name   string
		args   []string
		want   string
		within time.Duration
	}{
		{"missing module", []string{"run", "--app", "nosuch:app", "--servers", "waitress"}, "nosuch", 20 * time.Second},
		{"missing callable", []string{"run", "--app", "hang:nope", "--chdir", appDir, "--servers", "waitress"}, "nope", 20 * time.Second},
		{"port in use", []string{"run", "--port", busyPort, "--servers", "waitress"}, "in use", 20 * time.Second},
		// Default readiness timeout and shapes: the acceptance says 20 s.
		{"never ready", []string{"run", "--app", "hang:application", "--chdir", appDir, "--servers", "waitress"},
			"never became ready", 20 * time.Second},
		{"app fails everywhere", []string{"run", "--app", "hang:application", "--chdir", appDir,
			"--servers", "waitress,cheroot,gunicorn-sync,uwsgi", "--ready-timeout", "2s"}, "the app itself is the likely cause", 20 * time.Second},
		{"unknown server", []string{"run", "--servers", "nosuchserver"}, "unknown server", 20 * time.Second},
		{"unknown workload", []string{"run", "--workload", "nosuch"}, "unknown workload", 20 * time.Second},
		{"not loopback", []string{"run", "--host", "10.0.0.1"}, "not a loopback address", 20 * time.Second},
		{"bad results file", []string{"report", "/nonexistent/results.json"}, "no such file", 5 * time.Second},
		{"unknown probe", []string{"probe", "--cases", "nosuch"}, `no probe "nosuch"`, 5 * time.Second},
		{"unknown trouble scenario", []string{"run", "--trouble-cases", "nosuch"}, `no trouble scenario "nosuch"`, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--out", t.TempDir())
			if tc.args[0] == "report" {
				args = tc.args
			}
			r := runBinary(t, tc.within+10*time.Second, args...)
			if r.code == 0 {
				t.Fatalf("exit 0; stderr:\n%s", r.stderr)
			}
			if r.elapsed > tc.within {
				t.Errorf("took %v, want under %v", r.elapsed, tc.within)
			}
			last := lastLine(r.stderr)
			if !strings.HasPrefix(last, "wsgibench: ") || !strings.Contains(last, tc.want) {
				t.Errorf("last line %q does not say %q; stderr:\n%s", last, tc.want, r.stderr)
			}
		})
	}
}

// TestProbeCommand: wsgibench probe on one server writes the verdicts to
// results.json, summary.md and the terminal, and report re-renders them.
func TestProbeCommand(t *testing.T) {
	needServers(t)
	out := t.TempDir()
	r := runBinary(t, time.Minute, "probe", "--servers", "waitress", "--cases", "keep-alive,cl-and-te,environ", "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	f, err := results.Read(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Conformance) != 1 || len(f.Conformance[0].Cases) != 3 || len(f.Runs) != 0 {
		t.Fatalf("conformance %+v, %d runs", f.Conformance, len(f.Runs))
	}
	c := f.Conformance[0]
	if c.Server != "waitress" || c.Pass+c.Warn+c.Fail != 3 {
		t.Errorf("%+v", c)
	}
	if !strings.Contains(r.stdout, "waitress") || !strings.Contains(r.stdout, "SCORE") {
		t.Errorf("stdout lacks the table:\n%s", r.stdout)
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(md), "## Conformance") || strings.Contains(string(md), "## Verdict") {
		t.Errorf("summary.md of a probe run:\n%s", md)
	}
	again := t.TempDir()
	if rr := runBinary(t, 30*time.Second, "report", filepath.Join(out, "results.json"), "--out", again); rr.code != 0 {
		t.Fatalf("report: exit %d: %s", rr.code, rr.stderr)
	}
	md2, _ := os.ReadFile(filepath.Join(again, "summary.md"))
	if string(md2) != string(md) {
		t.Errorf("report re-rendered a different summary.md")
	}
	waitNoLeftovers(t, r.pid, 5*time.Second)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestInterrupt sends Ctrl-C (SIGINT) at several points of a run: no server
// process may be left, the exit status says interrupted, and every trial the
// progress log reported finished is in results.json.
func TestInterrupt(t *testing.T) {
	needServers(t)
	for _, after := range []time.Duration{300 * time.Millisecond, 2500 * time.Millisecond, 6 * time.Second} {
		t.Run(after.String(), func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(binary, "run", "--servers", "gunicorn-gthread,mod_wsgi,gevent", "--duration", "1s",
				"--warmup", "200ms", "--trials", "3", "--connections", "8", "--no-capacity", "--no-check", "--out", out)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(after)
			cmd.Process.Signal(syscall.SIGINT)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("wsgibench did not stop within 30 s of SIGINT\n%s", stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != 130 && code != 0 {
				t.Errorf("exit code %d, want 130 (interrupted)\n%s", code, stderr.String())
			}
			waitNoLeftovers(t, cmd.Process.Pid, 5*time.Second)
			finished := finishedTrials(stderr.String())
			f, err := results.Read(filepath.Join(out, "results.json"))
			if err != nil {
				if finished == 0 && os.IsNotExist(err) {
					return // interrupted before the first write: nothing finished, nothing lost
				}
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			n := 0
			for _, r := range f.Runs {
				n += len(r.Trials)
			}
			if n != finished {
				t.Errorf("log reported %d finished trials, results.json holds %d\n%s", finished, n, stderr.String())
			}
		})
	}
}

// TestKilled: SIGKILL gives wsgibench no chance to clean up; the servers
// must still go (each is watched by a reaper that notices its parent die).
func TestKilled(t *testing.T) {
	needServers(t)
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "--servers", "uwsgi", "--duration", "20s", "--warmup", "0s", "--trials", "1",
		"--connections", "4", "--no-capacity", "--out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(leftovers(cmd.Process.Pid)) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(leftovers(cmd.Process.Pid)) < 2 {
		cmd.Process.Kill()
		t.Fatalf("uwsgi never started\n%s", stderr.String())
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitNoLeftovers(t, cmd.Process.Pid, 10*time.Second)
}

// TestServersJSON: the listing is machine-readable and sees the installed set.
func TestServersJSON(t *testing.T) {
	needServers(t)
	r := runBinary(t, time.Minute, "servers", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var infos []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &infos); err != nil {
		t.Fatal(err)
	}
	avail := 0
	for _, i := range infos {
		for _, k := range []string{"id", "available", "version", "model", "reason"} {
			if _, ok := i[k]; !ok {
				t.Errorf("%v lacks %q", i["id"], k)
			}
		}
		if i["available"] == true {
			avail++
		}
	}
	if os.Getenv("CI") != "" && avail < 14 {
		t.Errorf("%d servers available after set-up, want ≥ 14", avail)
	}
	t.Logf("%d of %d servers available", avail, len(infos))
}

// trialLine is a finished trial's line in the log: "[3/86] waitress 1x3 crud
// trial 1/8   4650 req/s  p50 …". Other lines may say req/s too (the opening
// line names what the race is judged on).
var trialLine = regexp.MustCompile(`(?m)trial \d+/\d+ +\d+ req/s`)

// finishedTrials counts the finished trials a run's log reports.
func finishedTrials(log string) int { return len(trialLine.FindAllString(log, -1)) }
