package check

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/load"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/pyapp"
	"github.com/wsgibench/wsgibench/internal/results"
)

func TestMain(m *testing.M) {
	proc.Main() // the servers' reaper re-executes the test binary
	m.Run()
}

func TestFromMix(t *testing.T) {
	mix := []load.Template{
		{Name: "read", Weight: 3, Method: "GET", Path: "/items/{rand:1:9}"},
		{Name: "create", Weight: 1, Method: "POST", Path: "/items", Header: []string{"Content-Type: application/json"},
			Body: `{"name":"item-{seq}"}`},
	}
	reqs, err := FromMix(mix, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 40 {
		t.Fatalf("got %d requests, want 40", len(reqs))
	}
	var gets, posts int
	for _, r := range reqs {
		switch r.Method {
		case "GET":
			gets++
			if !strings.HasPrefix(r.Target, "/items/") || strings.Contains(r.Target, "{") || !r.Safe() {
				t.Errorf("read rendered as %+v", r)
			}
		case "POST":
			posts++
			if !strings.HasPrefix(r.Body, `{"name":"item-`) || r.Safe() {
				t.Errorf("create rendered as %+v", r)
			}
			raw := string(r.raw())
			if !strings.Contains(raw, "Content-Type: application/json\r\n") || !strings.Contains(raw, "Content-Length: ") {
				t.Errorf("create on the wire lacks its headers:\n%s", raw)
			}
		}
	}
	if gets == 0 || posts == 0 {
		t.Errorf("the mix was not followed: %d GET, %d POST", gets, posts)
	}
	again, _ := FromMix(mix, 40, 1)
	for i := range reqs {
		if reqs[i].String() != again[i].String() || reqs[i].Body != again[i].Body {
			t.Fatalf("request %d differs between two renderings with one seed: %s vs %s", i, reqs[i], again[i])
		}
	}
}

func TestFromWorkloads(t *testing.T) {
	reqs, from, err := FromWorkloads(nil, false, 24, 1)
	if err != nil || len(reqs) == 0 || reqs[0].String() != "GET /" || !strings.Contains(from, "default") {
		t.Errorf("an app with no workload: %v %q %v, want GET / said to be the default", reqs, from, err)
	}
	reqs, _, err = FromWorkloads([]string{"POST /items", "GET /items"}, false, 24, 1)
	if err != nil || len(reqs) != 8 || reqs[0].String() != "POST /items" || reqs[1].String() != "GET /items" || reqs[2].String() != "POST /items" {
		t.Errorf("two workloads are not interleaved: %v %v", reqs, err)
	}
	if _, _, err := FromWorkloads([]string{"crud"}, false, 24, 1); err == nil {
		t.Error("the bundled crud workload was accepted for a user's app")
	}
	if _, _, err := FromWorkloads([]string{"nonsense"}, false, 24, 1); err == nil {
		t.Error("a malformed workload was accepted")
	}
}

func TestJudgeStall(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name            string
		threads, green  stall
		stalled, noWait bool
	}{
		{name: "blocking C wait", threads: stall{"GET /slow", 100 * ms, 130 * ms}, green: stall{"GET /slow", 100 * ms, 810 * ms}, stalled: true},
		{name: "patched wait overlaps", threads: stall{"GET /slow", 100 * ms, 130 * ms}, green: stall{"GET /slow", 100 * ms, 140 * ms}},
		{name: "CPU-bound serialises everywhere", threads: stall{"GET /cpu", 50 * ms, 420 * ms}, green: stall{"GET /cpu", 50 * ms, 400 * ms}},
		{name: "too short to judge", threads: stall{"GET /", ms, 2 * ms}, green: stall{"GET /", ms, 8 * ms}, noWait: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why, how := judgeStall(tc.threads, tc.green)
			if (why != "") != tc.stalled {
				t.Errorf("stalled = %q, want %v", why, tc.stalled)
			}
			if tc.noWait != strings.Contains(how, "no request waits") {
				t.Errorf("note = %q", how)
			}
		})
	}
}

// The real-server tests: each deliberately broken app in testdata must be
// flagged under the model it breaks and pass the others, and the bundled
// app must pass everything.

func python(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import gunicorn, gevent").Run(); err != nil {
		t.Skipf("%s cannot import gunicorn and gevent: %v", py, err)
	}
	return py
}

func runApp(t *testing.T, app string, workloads []string, env ...string) *results.Check {
	t.Helper()
	res, err := tryApp(t, app, workloads, env...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tryApp(t *testing.T, app string, workloads []string, env ...string) (*results.Check, error) {
	t.Helper()
	py := python(t)
	reqs, from, err := FromWorkloads(workloads, false, 12, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	o := Options{Python: py, App: app, Dir: dir, Requests: reqs, RequestsFrom: from, Tag: "wsgibench-checktest-" + strings.ReplaceAll(t.Name(), "/", "-"),
		Env: func(context.Context) ([]string, error) { return env, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, o)
	if left := proc.Tagged(o.Tag); len(left) > 0 {
		t.Errorf("processes left running: %v", left)
	}
	return res, err
}

func verdicts(c *results.Check) map[string]string {
	out := map[string]string{}
	for _, m := range c.Models {
		out[m.Model] = m.Verdict
	}
	return out
}

func wantVerdicts(t *testing.T, c *results.Check, want map[string]string) {
	t.Helper()
	got := verdicts(c)
	for m, v := range want {
		if got[m] != v {
			t.Errorf("%s: %s, want %s; evidence: %+v", m, got[m], v, c.Row(m))
		}
	}
}

func evidenceHas(c *results.Check, model, text string) bool {
	if m := c.Row(model); m != nil {
		for _, e := range m.Evidence {
			if strings.Contains(e.What, text) {
				return true
			}
		}
	}
	return false
}

func TestThreadUnsafeAppFlagged(t *testing.T) {
	c := runApp(t, "threadunsafe:application", []string{"GET /items/{rand:1:50}"})
	wantVerdicts(t, c, map[string]string{results.CheckPEP3333: "safe", results.CheckProcess: "safe",
		results.CheckThread: "unsafe", results.CheckGreenlet: "unsafe"})
	if !evidenceHas(c, results.CheckThread, "at once") {
		t.Errorf("thread evidence does not show a differing answer: %+v", c.Row(results.CheckThread))
	}
}

func TestProcessMemoryStateFlagged(t *testing.T) {
	c := runApp(t, "memstate:application", []string{"POST /items", "GET /items"})
	wantVerdicts(t, c, map[string]string{results.CheckPEP3333: "safe", results.CheckProcess: "unsafe",
		results.CheckThread: "safe", results.CheckGreenlet: "safe"})
	if !evidenceHas(c, results.CheckProcess, "state kept in process memory") {
		t.Errorf("process evidence: %+v", c.Row(results.CheckProcess))
	}
}

func TestConnectionOpenedAtImportFlagged(t *testing.T) {
	c := runApp(t, "importconn:application", nil, "IMPORTCONN_DIR="+t.TempDir())
	wantVerdicts(t, c, map[string]string{results.CheckProcess: "unsafe", results.CheckThread: "safe"})
	if !evidenceHas(c, results.CheckProcess, "opened at import time") {
		t.Errorf("process evidence: %+v", c.Row(results.CheckProcess))
	}
}

func TestBlockingCallStallsGreenlets(t *testing.T) {
	c := runApp(t, "blocking:application", []string{"GET /slow"})
	wantVerdicts(t, c, map[string]string{results.CheckThread: "safe", results.CheckGreenlet: "unsafe", results.CheckProcess: "safe"})
	if !evidenceHas(c, results.CheckGreenlet, "blocks the event loop") {
		t.Errorf("greenlet evidence: %+v", c.Row(results.CheckGreenlet))
	}
}

func TestPEP3333ViolationNamed(t *testing.T) {
	c := runApp(t, "nonpep:application", nil)
	row := c.Row(results.CheckPEP3333)
	if row == nil || row.Verdict != "unsafe" || len(row.Evidence) == 0 || row.Evidence[0].Request != "GET /" ||
		!strings.Contains(row.Evidence[0].What, "string as your application iterator") {
		t.Errorf("PEP 3333 row: %+v", row)
	}
}

func TestBadAppsOneLine(t *testing.T) {
	for _, tc := range []struct{ app, want string }{
		{"raises:application", "RuntimeError: DATABASE_URL is not set"},
		{"fails:application", "GET / raised in a plain serial call: ZeroDivisionError"},
		{"nosuchmodule:application", "cannot import module 'nosuchmodule'"},
		{"fivehundred:application", "GET / answered 500 in a plain serial call (logged to wsgi.errors: KeyError: 'user')"},
	} {
		t.Run(tc.app, func(t *testing.T) {
			_, err := tryApp(t, tc.app, nil)
			var ae *AppError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line with %q", err, tc.want)
			}
		})
	}
}

func TestBundledAppPasses(t *testing.T) {
	py := python(t)
	work := t.TempDir()
	dir := filepath.Join(work, "app")
	if err := pyapp.Write(dir); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(work, "template.db")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pyapp.Seed(ctx, py, dir, tmpl); err != nil {
		t.Fatal(err)
	}
	n := 0
	env := func(context.Context) ([]string, error) {
		n++
		db := filepath.Join(work, "db"+string(rune('a'+n)))
		if err := pyapp.CopyDB(tmpl, db); err != nil {
			return nil, err
		}
		return []string{pyapp.EnvDB + "=" + db}, nil
	}
	reqs, from, err := FromWorkloads(nil, true, DefaultRequests, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Run(ctx, Options{Python: py, App: pyapp.Spec, Dir: dir, Requests: reqs, RequestsFrom: from, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Portable() {
		t.Errorf("the bundled app is not portable: %+v", c.Models)
	}
}
