package pyapp

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgibench/wsgibench/internal/pgsql"
	"github.com/wsgibench/wsgibench/internal/proc"
)

func TestMain(m *testing.M) {
	proc.Main() // the private PostgreSQL cluster runs under proc's reaper
	code := m.Run()
	if pg.db != nil {
		pg.db.Close()
	}
	os.Exit(code)
}

// pg is one private cluster, seeded by SeedPostgres, shared by the
// package's PostgreSQL tests; each test gets its own clone.
var pg struct {
	once   sync.Once
	db     *pgsql.DB
	driver string
	err    error
}

// postgres writes the app and returns it with a fresh clone of the seeded
// database. The cluster is started once, on first use, and stopped by
// TestMain.
func postgres(t *testing.T) (py, dir string, dsn pgsql.DSN) {
	t.Helper()
	py = python(t)
	if _, err := pgsql.FindBin(); err != nil {
		t.Skip(err)
	}
	dir = t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	pg.once.Do(func() {
		seedDir, err := os.MkdirTemp("", "wsgibench-pyapp-seed-")
		if err != nil {
			pg.err = err
			return
		}
		defer os.RemoveAll(seedDir)
		if pg.err = Write(seedDir); pg.err != nil {
			return
		}
		// The cluster lives as long as this context: the whole test binary.
		// Startup is bounded inside OpenPrivate.
		ctx := context.Background()
		began := time.Now()
		pg.db, pg.err = pgsql.OpenPrivate(ctx, pgsql.Options{}, func(ctx context.Context, dsn pgsql.DSN) error {
			var err error
			pg.driver, err = SeedPostgres(ctx, py, seedDir, dsn.String())
			return err
		})
		t.Logf("private cluster started and seeded in %v with %s", time.Since(began).Round(time.Millisecond), pg.driver)
	})
	if pg.err != nil {
		t.Fatal(pg.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := pg.db.Fresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return py, dir, dsn
}

// runPG runs a testdata script against the app on PostgreSQL.
func runPG(t *testing.T, py, dir string, dsn pgsql.DSN, script string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	abs, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := command(ctx, py, append([]string{abs}, args...)...)
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvDB+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, EnvDSN+"="+dsn.String(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in time:\n%s", script, out)
	}
	return string(out), err
}

// TestPostgresAppEndpoints runs test_app.py with each driver the app
// supports (psycopg 3 is the default when both are installed).
func TestPostgresAppEndpoints(t *testing.T) {
	for _, driver := range []string{"psycopg", "psycopg2"} {
		t.Run(driver, func(t *testing.T) {
			py, dir, dsn := postgres(t)
			check := command(context.Background(), py, "-c", "import "+driver)
			if err := check.Run(); err != nil {
				t.Skipf("%s has no %s", py, driver)
			}
			t.Setenv("WSGIBENCH_PG_DRIVER", driver)
			out, err := runPG(t, py, dir, dsn, "test_app.py")
			if err != nil {
				t.Fatalf("test_app.py on PostgreSQL failed: %v\n%s", err, out)
			}
			if !strings.Contains(out, "OK") {
				t.Fatalf("unexpected output:\n%s", out)
			}
			t.Logf("%s", lastLine(out))
		})
	}
}

func TestPostgresConcurrentWriters(t *testing.T) {
	py, dir, dsn := postgres(t)
	out, err := runPG(t, py, dir, dsn, "test_concurrency.py")
	if err != nil {
		t.Fatalf("test_concurrency.py on PostgreSQL failed: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(out))
}

// TestPostgresCloneStartsFromSeed: what the app wrote into one clone is
// not in the next one.
func TestPostgresCloneStartsFromSeed(t *testing.T) {
	py, dir, _ := postgres(t)
	td, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	script := `import wsgibench_app as m, wsgitest as w
r = w.call(m.application, "POST", "/items", body={"name": "x", "price_cents": 1, "qty": 1})
assert r.status == 201, r
assert w.call(m.application, "DELETE", "/items/1").status == 204
print(w.db_rows("SELECT count(*), max(id) FROM items")[0])`
	for _, c := range []struct {
		code string
		want string
	}{
		{script, "(10000, 10001)"},
		{`import wsgitest as w; print(w.db_rows("SELECT count(*), max(id) FROM items")[0])`, "(10000, 10000)"},
	} {
		_, _, dsn := postgres(t) // Fresh drops the previous clone and makes the next
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := command(ctx, py, "-c", c.code)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), EnvDSN+"="+dsn.String(), "PYTHONPATH="+dir+":"+td)
		out, err := cmd.CombinedOutput()
		cancel()
		if got := strings.TrimSpace(string(out)); err != nil || got != c.want {
			t.Errorf("%s holds %s (%v), want %s", dsn.Get("dbname"), got, err, c.want)
		}
	}
}

// TestPostgresGreenlets: under gevent each greenlet gets its own
// PostgreSQL connection, as on SQLite.
func TestPostgresGreenlets(t *testing.T) {
	py, dir, dsn := postgres(t)
	out, err := runPG(t, py, dir, dsn, "test_greenlets.py", "gevent")
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		t.Skip(strings.TrimSpace(out))
	}
	if err != nil {
		t.Fatalf("test_greenlets.py gevent on PostgreSQL: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
}
