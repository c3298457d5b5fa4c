package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/results"
)

// checkApps are internal/check's deliberately broken apps.
var checkApps, _ = filepath.Abs("../../internal/check/testdata")

func needGunicorn(t *testing.T) {
	t.Helper()
	needServers(t)
	if err := exec.Command("/usr/bin/python3", "-c", "import gunicorn, gevent").Run(); err != nil {
		t.Skip("/usr/bin/python3 cannot import gunicorn and gevent")
	}
}

// TestCheckCommand: an unsafe app prints the table and exits 1 naming the
// unsafe rows; a broken app fails in one line; nothing is left running.
func TestCheckCommand(t *testing.T) {
	needGunicorn(t)
	r := runBinary(t, 2*time.Minute, "check", "--app", "threadunsafe:application", "--chdir", checkApps,
		"--workload", "GET /items/{rand:1:50}")
	if r.code != 1 || !strings.Contains(r.stdout, "thread servers    UNSAFE") ||
		!strings.Contains(lastLine(r.stderr), "is not portable across WSGI servers: unsafe under thread") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	waitNoLeftovers(t, r.pid, 5*time.Second)
	for _, tc := range []struct{ app, want string }{
		{"raises:application", "RuntimeError: DATABASE_URL is not set"},
		{"fails:application", "GET / raised in a plain serial call: ZeroDivisionError"},
		{"fivehundred:application", "GET / answered 500 in a plain serial call"},
	} {
		r := runBinary(t, time.Minute, "check", "--app", tc.app, "--chdir", checkApps)
		if last := lastLine(r.stderr); r.code != 1 || !strings.HasPrefix(last, "wsgibench: ") || !strings.Contains(last, tc.want) {
			t.Errorf("%s: exit %d, last line %q, want %q", tc.app, r.code, last, tc.want)
		}
		waitNoLeftovers(t, r.pid, 5*time.Second)
	}
}

// TestRunDoesNotRecommendUnsafeModel: an app that keeps its items in
// process memory, run under a pre-fork server and a thread-only one: the
// check goes into results.json, and the pre-fork server is measured but
// not recommended, the reason in the verdict's notes.
func TestRunDoesNotRecommendUnsafeModel(t *testing.T) {
	needGunicorn(t)
	out := t.TempDir()
	r := runBinary(t, 3*time.Minute, "run", "--app", "memstate:application", "--chdir", checkApps,
		"--workload", "POST /items,GET /items", "--servers", "gunicorn-sync,waitress", "--workers", "2",
		"--duration", "1s", "--warmup", "0s", "--trials", "1", "--connections", "2",
		"--no-capacity", "--no-probe", "--no-trouble", "--no-ceiling", "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	f, err := results.Read(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if row := f.Check.Row(results.CheckProcess); row == nil || row.Verdict != results.CheckUnsafe {
		t.Fatalf("check in results.json: %+v", f.Check)
	}
	for _, rk := range f.Ranking {
		if rk.Server == "gunicorn-sync" {
			t.Errorf("gunicorn-sync ranked: %+v", rk)
		}
	}
	if f.Verdict == nil || !slices.ContainsFunc(f.Verdict.Notes, func(n string) bool {
		return strings.Contains(n, "not recommended: gunicorn-sync") && strings.Contains(n, "state kept in process memory")
	}) {
		t.Errorf("verdict notes do not say why gunicorn-sync is not recommended: %+v", f.Verdict)
	}
	if !strings.Contains(r.stdout, "process servers   UNSAFE") {
		t.Errorf("run did not print the check's table:\n%s", r.stdout)
	}
	waitNoLeftovers(t, r.pid, 5*time.Second)
}
