package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/check"
	"github.com/wsgibench/wsgibench/internal/pgsql"
	"github.com/wsgibench/wsgibench/internal/proc"
	"github.com/wsgibench/wsgibench/internal/results"
)

const python = "/usr/bin/python3"

var binary string // wsgibench, built once by TestMain

func TestMain(m *testing.M) {
	proc.Main() // the servers' reaper re-executes the test binary
	dir, err := os.MkdirTemp("", "wsgibench-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wsgibench")
	build := exec.Command("go", "build", "-o", binary, "../cmd/wsgibench")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building wsgibench:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// example is one framework's app: where it is, its spec, and how to give
// it a fresh database.
type example struct {
	name, dir, app string
	// db prepares an empty-but-ready database at path (Django migrates;
	// Flask creates its schema at the first request).
	db func(t *testing.T, path string)
}

var examples = []example{
	{name: "flask", dir: "flask", app: "app:app", db: func(*testing.T, string) {}},
	{name: "django", dir: "django", app: "itemsite.wsgi:application", db: func(t *testing.T, path string) {
		cmd := exec.Command(python, "manage.py", "migrate", "--noinput")
		cmd.Dir = "django"
		cmd.Env = append(os.Environ(), "ITEMS_DB="+path, "PYTHONDONTWRITEBYTECODE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("manage.py migrate: %v\n%s", err, out)
		}
	}},
}

func needFramework(t *testing.T, module string) {
	t.Helper()
	if err := exec.Command(python, "-c", "import gunicorn, gevent, "+module).Run(); err != nil {
		t.Skipf("%s cannot import gunicorn, gevent and %s (scripts/setup.sh installs them)", python, module)
	}
}

// freshDB makes a migrated database and returns a function giving a new
// copy of it each call, so every server start begins from the same rows.
func freshDB(t *testing.T, ex example) func(context.Context) ([]string, error) {
	t.Helper()
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "template.db")
	ex.db(t, tmpl)
	n := 0
	return func(context.Context) ([]string, error) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("copy-%d.db", n))
		if data, err := os.ReadFile(tmpl); err == nil {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return nil, err
			}
		}
		return []string{"ITEMS_DB=" + path}, nil
	}
}

// TestExamplesRun runs each example through wsgibench run under five
// server modes (process, process+thread, greenlet, thread) from its
// scenario file (reads, lists, and create → read → update → delete on the
// id the create returned), its check included, and wants every server to
// answer every request with the status the scenario expects.
func TestExamplesRun(t *testing.T) {
	servers := []string{"gunicorn-sync", "gunicorn-gthread", "gunicorn-gevent", "waitress", "uwsgi"}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			needFramework(t, ex.name)
			env, err := freshDB(t, ex)(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "run", "--app", ex.app, "--chdir", ex.dir,
				"--scenario", filepath.Join(ex.dir, "scenario.yaml"), "--servers", strings.Join(servers, ","),
				"--workers", "2", "--threads", "2", "--connections", "4", "--duration", "1s", "--warmup", "200ms",
				"--trials", "1", "--no-capacity", "--no-probe", "--no-trouble", "--no-ceiling", "--out", out)
			cmd.Env = append(os.Environ(), env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("wsgibench run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			f, err := results.Read(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			served := map[string]bool{}
			for _, r := range f.Runs {
				if r.Error != "" || len(r.Trials) == 0 {
					t.Errorf("%s %s: no trial (%s)", r.Server, r.Shape, r.Error)
					continue
				}
				for _, tr := range r.Trials {
					if tr.Requests == 0 || tr.Errors.Total != 0 || tr.Errors.Unexpected != 0 || len(tr.CaptureMisses) > 0 {
						t.Errorf("%s %s: %d requests, errors %+v, unexpected %v, capture misses %v",
							r.Server, r.Shape, tr.Requests, tr.Errors, tr.UnexpectedByRequest, tr.CaptureMisses)
					}
					// The flows ran whole: the captured id was read,
					// updated and deleted.
					if fl := tr.Flows; fl == nil || fl.Completed == 0 {
						t.Errorf("%s %s: no lifecycle flow completed: %+v", r.Server, r.Shape, fl)
					}
				}
				served[r.Server] = true
			}
			if len(served) < 5 {
				t.Errorf("served by %d server modes, want 5: %v", len(served), served)
			}
			if !f.Check.Portable() {
				t.Errorf("the run's check did not pass the %s example: %+v", ex.name, f.Check)
			}
			if !strings.Contains(stdout.String(), "SAFE UNDER") {
				t.Errorf("run printed no portability table:\n%s", stdout.String())
			}
		})
	}
}

// crud is the create → read → update → delete traffic the check sends to
// the examples (check takes any list of requests; a workload spec cannot
// carry a body).
func crud() []check.Request {
	js := [][2]string{{"Content-Type", "application/json"}}
	var reqs []check.Request
	for i := range 3 {
		reqs = append(reqs, check.Request{Method: "POST", Target: "/items", Header: js,
			Body: fmt.Sprintf(`{"name":"new-%d","price_cents":%d,"qty":1}`, i, 100+i)})
	}
	for _, id := range []int{1, 2, 3, 51, 52} {
		reqs = append(reqs, check.Request{Method: "GET", Target: fmt.Sprintf("/items/%d", id)})
	}
	reqs = append(reqs,
		check.Request{Method: "PUT", Target: "/items/2", Header: js, Body: `{"name":"renamed","price_cents":1,"qty":9}`},
		check.Request{Method: "GET", Target: "/items/2"},
		check.Request{Method: "DELETE", Target: "/items/45"},
		check.Request{Method: "GET", Target: "/items/45"},
		check.Request{Method: "GET", Target: "/items?limit=5&offset=40"},
		check.Request{Method: "GET", Target: "/"},
	)
	return reqs
}

// TestExamplesPassCheck: both examples are portable, with writes in the
// traffic: PEP 3333 clean, and the same answers under processes, threads
// and greenlets.
func TestExamplesPassCheck(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			needFramework(t, ex.name)
			dir, _ := filepath.Abs(ex.dir)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			res, err := check.Run(ctx, check.Options{Python: python, App: ex.app, Dir: dir, Requests: crud(),
				RequestsFrom: "create, read, update, delete", Env: freshDB(t, ex)})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Portable() {
				t.Errorf("%s example not portable: %+v", ex.name, res.Models)
			}
		})
	}
}

// TestExamplesCRUDFlow: the API both examples document, with the id the
// create returned used by the read, update and delete that follow.
func TestExamplesCRUDFlow(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			needFramework(t, ex.name)
			env, err := freshDB(t, ex)(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			crudFlow(t, ex, env)
		})
	}
}

// TestDjangoOnPostgres: the Django example migrates into and serves from
// PostgreSQL (a private cluster) given ITEMS_PG_DSN.
func TestDjangoOnPostgres(t *testing.T) {
	ex := examples[1]
	needFramework(t, "django, psycopg2")
	if _, err := pgsql.FindBin(); err != nil {
		t.Skipf("no PostgreSQL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgsql.StartCluster(ctx, pgsql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	env := []string{"ITEMS_PG_DSN=" + c.Admin().String()}
	cmd := exec.CommandContext(ctx, python, "manage.py", "migrate", "--noinput")
	cmd.Dir = ex.dir
	cmd.Env = append(os.Environ(), append(env, "PYTHONDONTWRITEBYTECODE=1")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("manage.py migrate on PostgreSQL: %v\n%s", err, out)
	}
	crudFlow(t, ex, env)
}

// crudFlow serves ex under gunicorn (2 workers) with env and follows the
// create → read → update → delete flow with the created id.
func crudFlow(t *testing.T, ex example, env []string) {
	t.Helper()
	port, err := proc.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := proc.Start(ctx, proc.Spec{Argv: []string{python, "-m", "gunicorn", "-b", addr, "-w", "2", ex.app},
		Env: append(os.Environ(), env...), Dir: ex.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if err := proc.WaitHTTP(ctx, g, addr, "/", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	do := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
		}
		var obj map[string]any
		json.Unmarshal(data, &obj)
		return obj
	}
	created := do("POST", "/items", `{"name":"flow","price_cents":250,"qty":4}`, 201)
	id, ok := created["id"].(float64)
	if !ok || id < 51 {
		t.Fatalf("create returned %v, want an id after the 50 seeded", created)
	}
	path := fmt.Sprintf("/items/%d", int(id))
	if got := do("GET", path, "", 200); got["name"] != "flow" || got["qty"] != 4.0 {
		t.Errorf("read after create: %v", got)
	}
	do("PUT", path, `{"name":"renamed","price_cents":1,"qty":2}`, 200)
	if got := do("GET", path, "", 200); got["name"] != "renamed" || got["price_cents"] != 1.0 {
		t.Errorf("read after update: %v", got)
	}
	do("DELETE", path, "", 204)
	do("GET", path, "", 404)
	do("DELETE", path, "", 404)
	do("POST", "/items", `{"name":"no price"}`, 400)
}
